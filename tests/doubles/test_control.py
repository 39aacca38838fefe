"""The control API under /__writer/: queue replies, read the journal and the verdict, reset, over HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cliutil import WAIT, Background

from writer_stream_testkit.doubles.control import CONDITIONS, call_journal, control_plan
from writer_stream_testkit.doubles.server import FakeWriterServer
from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.wire.call import Call

BODY = {"model": "palmyra-x5", "stream": True, "messages": [{"role": "user", "content": "Say hello"}]}
YAML = {"content-type": "application/yaml"}


@pytest.fixture
def server() -> Iterator[FakeWriterServer]:
    with FakeWriterServer() as double:
        yield double
        double.reset()  # each test reads the verdict itself


@pytest.fixture
def client(server: FakeWriterServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=WAIT) as http:
        yield http


def sse_contents(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        if line.startswith("data: {"):
            for choice in json.loads(line[6:])["choices"]:
                out.append(choice["delta"].get("content") or "")
    return [c for c in out if c]


def test_a_yaml_script_queued_through_the_control_api_is_streamed(
    server: FakeWriterServer, client: httpx.Client
) -> None:
    queued = client.post(
        "/__writer/replies", content="steps:\n- content: [Hello, ' world']\n- finish: stop\n", headers=YAML
    )
    assert queued.status_code == 201, queued.text
    assert queued.json() == {
        "queued": "StreamScript(model='palmyra-x5', 3 chunks, content='Hello world')",
        "times": 1,
        "pending": 1,
    }
    streamed = client.post("/v1/chat", json=BODY)
    assert streamed.status_code == 200
    assert sse_contents(streamed.text) == ["Hello", " world"]
    assert [c.path for c in server.calls] == ["/v1/chat"]  # control requests are never calls
    assert client.get("/__writer/verify").json() == {"ok": True, "error": None, "message": ""}


def test_the_same_structure_as_json_with_conditions_routes_a_fault_and_a_json_answer(
    server: FakeWriterServer, client: httpx.Client
) -> None:
    fault = {
        "reply": {"fault": {"http_error": {"status": 429, "message": "Slow down."}}},
        "model": "palmyra-x4",
    }
    assert client.post("/__writer/replies", json=fault).status_code == 201
    models = {"reply": {"kind": "json", "path": "/v1/models", "body": {"models": []}}, "times": 2}
    assert client.post("/__writer/replies", json=models).json()["times"] == 2
    assert client.post("/v1/chat", json=BODY).status_code == 500  # palmyra-x5: the fault waits for x4
    limited = client.post("/v1/chat", json={**BODY, "model": "palmyra-x4"})
    assert limited.status_code == 429
    assert client.get("/v1/models").json() == {"models": []}
    verdict = client.get("/__writer/verify")
    assert verdict.status_code == 409
    assert verdict.json()["ok"] is False
    assert verdict.json()["error"] == "UnexpectedRequestError"
    assert "POST /v1/chat (model='palmyra-x5'" in verdict.json()["message"]
    assert "never requested" in verdict.json()["message"]  # the second /v1/models answer


def test_the_journal_lists_each_request_with_its_body_and_whether_it_was_answered(
    server: FakeWriterServer, client: httpx.Client
) -> None:
    server.reply(StreamScript().content("Hi"))
    client.post("/v1/chat", json=BODY, headers={"x-trace": "1"})
    client.post("/v1/chat", content=b"not json")
    journal = client.get("/__writer/calls").json()
    assert journal["received"] == 2
    first, second = journal["calls"]
    assert (first["method"], first["path"], first["json"], first["answered"]) == (
        "POST",
        "/v1/chat",
        BODY,
        True,
    )
    assert ["x-trace", "1"] in first["headers"]
    assert (second["body"], second["json"], second["answered"]) == ("not json", None, False)
    assert (first["status"], second["status"]) == (200, 400)
    assert client.post("/__writer/reset").json() == {"reset": True}
    assert client.get("/__writer/calls").json() == {"received": 0, "calls": []}
    assert client.get("/__writer/verify").status_code == 200


@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        (b"", {}, "The body of POST /__writer/replies is empty; it must hold the reply to queue."),
        (b"steps: [", {}, "is not JSON (content-type not given); send JSON, or YAML with content-type"),
        (b"steps: [", YAML, "The body of POST /__writer/replies: not valid YAML"),
        (
            b"steps:\n" + b"- " * 3000 + b"x\n",  # block lists: PyYAML scans deep flow ones in quadratic time
            YAML,
            "The body of POST /__writer/replies nests lists or mappings too deeply to read",
        ),
        (b"model: !!python/name:os.system\n", YAML, "The body of POST /__writer/replies: could not"),
        (
            b'{"steps": ' + b"[" * 200 + b"]" * 200 + b"}",
            {"content-type": "application/json"},
            "The body of POST /__writer/replies is JSON nested more than 128 levels deep, deeper than "
            "writer-stream-testkit reads; send a reply whose lists and mappings nest at most 128 levels.",
        ),
        (b"[1, 2]", {"content-type": "application/json"}, "is list, not a mapping, so it holds no reply."),
        (b'{"kind": "chatt"}', {}, "unknown kind 'chatt'"),
        (b'{"fault": {"lightning": {}}}', {}, "unknown fault 'lightning'"),
        (
            b'{"fault": {"disconnect": {"after_chunks": 1}}}',
            {},
            "changes a stream rather than replacing the response; put it in a script's faults: list",
        ),
        (
            b'{"reply": {"steps": []}, "match": "x"}',
            {},
            "has match beside reply:, which reply() does not take",
        ),
        (b'{"reply": {"steps": []}, "times": 0}', {}, "times=0"),
        (b'{"reply": {"steps": []}, "model": 5}', {}, "has model: 5; model must be a string."),
    ],
)
def test_a_bad_control_body_gets_a_400_naming_the_problem_and_the_forms(
    server: FakeWriterServer, client: httpx.Client, body: bytes, headers: dict[str, str], message: str
) -> None:
    response = client.post("/__writer/replies", content=body, headers=headers)
    assert response.status_code == 400
    assert response.headers["x-should-retry"] == "false"
    description = response.json()["errors"][0]["description"]
    assert message in description
    assert "{fault: {http_error: {status: 429}}}" in description
    assert server.replies.pending == []
    assert server.calls == []


def test_unknown_control_paths_and_wrong_methods_are_named(client: httpx.Client) -> None:
    missing = client.get("/__writer/replys")
    assert missing.status_code == 404
    assert (
        "There is no control endpoint /__writer/replys. The control API has POST /__writer/replies"
        in (missing.json()["errors"][0]["description"])
    )
    wrong = client.get("/__writer/replies")
    assert wrong.status_code == 405
    assert "/__writer/replies takes POST, not GET." in wrong.json()["errors"][0]["description"]


def test_a_server_answering_from_another_source_refuses_to_queue() -> None:
    class Always:
        def take(self, call: Call) -> object:
            return StreamScript().content("x").plan(call)

    with FakeWriterServer(source=Always()) as server, httpx.Client(timeout=WAIT) as client:  # type: ignore[arg-type]
        refused = client.post(server.base_url + "/__writer/replies", json={"steps": []})
        journal = client.get(server.base_url + "/__writer/calls").json()
    assert refused.status_code == 409
    assert "a queued reply would never be used" in refused.json()["errors"][0]["description"]
    assert journal == {"received": 0, "calls": []}


def test_a_bug_in_a_control_action_is_a_500_not_a_crash() -> None:
    class Broken:
        @property
        def replies(self) -> object:
            raise KeyError("boom")

        def verify(self) -> None: ...

        def reset(self) -> None: ...

    call = Call.create(method="GET", url="http://x/__writer/calls")
    plan = control_plan(Broken(), call)  # type: ignore[arg-type]
    assert plan.status == 500
    assert "The control API failed to answer GET /__writer/calls: KeyError: 'boom'." in plan.body().decode()


def test_the_conditions_are_the_keyword_arguments_reply_takes_but_match() -> None:
    import inspect

    from writer_stream_testkit.doubles.replies import ReplyQueue

    taken = [n for n in inspect.signature(ReplyQueue.reply).parameters if n not in ("self", "item")]
    assert sorted(CONDITIONS) == sorted(n for n in taken if n != "match")
    assert call_journal(ReplyQueue()) == {"received": 0, "calls": []}


def test_every_json_form_in_the_docs_is_queued(server: FakeWriterServer, client: httpx.Client) -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "control.md").read_text(encoding="utf-8")
    block = re.search(r"```json\n(.*?)```", text, re.S)
    assert block is not None
    forms = block.group(1).splitlines()
    assert len(forms) == 5
    for form in forms:
        response = client.post("/__writer/replies", content=form.encode())
        assert response.status_code == 201, (form, response.text)
    assert len(server.replies.pending) == 6


def test_serve_takes_replies_through_the_control_api(tmp_path: Path) -> None:
    served = Background(["serve", "--port", "0"])
    try:
        with httpx.Client(base_url=served.url, timeout=WAIT) as client:
            queued = client.post("/__writer/replies", content=b"steps:\n- content: Hi\n", headers=YAML)
            assert queued.status_code == 201, queued.text
            assert sse_contents(client.post("/v1/chat", json=BODY).text) == ["Hi"]
            assert client.get("/__writer/verify").json()["ok"] is True
    finally:
        code, err = served.stop()
        served.kill()
    assert code == 0, err
    assert "Stopped after 1 request(s)." in err


def test_a_json_reply_takes_its_path_and_method_from_beside_reply(
    server: FakeWriterServer, client: httpx.Client
) -> None:
    """It answered 400 "a JSON reply needs path", though path was given as a condition."""
    form = {"reply": {"kind": "json", "body": {"id": "f1"}}, "path": "/v1/files/f1", "method": "GET"}
    queued = client.post("/__writer/replies", json=form)
    assert queued.status_code == 201, queued.text
    assert client.get("/v1/files/f1").json() == {"id": "f1"}
    assert client.get("/__writer/verify").json()["ok"] is True

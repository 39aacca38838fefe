"""Both doubles answer the whole Writer API: routed replies, JSON answers, computed replies."""

from __future__ import annotations

import asyncio
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import writerai

from writer_stream_testkit import (
    ApplicationScript,
    Call,
    CompletionScript,
    FakeWriterServer,
    Fault,
    QuestionScript,
    ReplyError,
    ScriptError,
    StreamScript,
    UnexpectedRequestError,
    WriterMock,
)

MODELS = {"models": [{"id": "palmyra-x5", "name": "Palmyra X5"}]}
MESSAGES = [{"role": "user", "content": "Say hello"}]
INPUTS = [{"id": "query", "value": ["hotels near Union Square"]}]


def queue_the_five(double: Any) -> None:
    double.reply(MODELS, path="/v1/models")
    double.reply(StreamScript().content("Hel", "lo"))
    double.reply(CompletionScript().text("Once", " upon"))
    double.reply(
        QuestionScript().answer("Paris", " is the capital").sources({"file_id": "f1", "snippet": "s"})
    )
    double.reply(ApplicationScript().title("Research").stage("s1", "Searching").content("Three", " hotels"))


EXPECTED = {
    "models": ["palmyra-x5"],
    "chat": ["Hel", "lo", None],
    "completions": ["", "Once", " upon"],
    "question": [
        ("Capital of France?", "Paris"),
        ("Capital of France?", " is the capital"),
        ("Capital of France?", ""),
    ],
    "application": [
        ("Research", None, None),
        (None, None, "Searching"),
        (None, "Three", None),
        (None, " hotels", None),
    ],
}


def five_calls_sync(client: writerai.Writer) -> dict[str, list[Any]]:
    seen: dict[str, list[Any]] = {"models": [m.id for m in client.models.list().models]}
    chat = client.chat.chat(model="palmyra-x5", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
    seen["chat"] = [c.choices[0].delta.content for c in chat]
    seen["completions"] = [
        c.value for c in client.completions.create(model="palmyra-x5", prompt="Hi", stream=True)
    ]
    answers = client.graphs.question(graph_ids=["g1"], question="Capital of France?", stream=True)
    seen["question"] = [(c.question, c.answer) for c in answers]  # type: ignore[attr-defined]
    agent = client.applications.generate_content(application_id="app-1", inputs=INPUTS, stream=True)  # type: ignore[arg-type]
    seen["application"] = [
        (c.delta.title, c.delta.content, c.delta.stages[0].content if c.delta.stages else None) for c in agent
    ]
    return seen


async def five_calls_async(client: writerai.AsyncWriter) -> dict[str, list[Any]]:
    seen: dict[str, list[Any]] = {"models": [m.id for m in (await client.models.list()).models]}
    chat = await client.chat.chat(model="palmyra-x5", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
    seen["chat"] = [c.choices[0].delta.content async for c in chat]
    completions = await client.completions.create(model="palmyra-x5", prompt="Hi", stream=True)
    seen["completions"] = [c.value async for c in completions]
    answers = await client.graphs.question(graph_ids=["g1"], question="Capital of France?", stream=True)
    seen["question"] = [(c.question, c.answer) async for c in answers]  # type: ignore[attr-defined]
    agent = await client.applications.generate_content(application_id="app-1", inputs=INPUTS, stream=True)  # type: ignore[arg-type]
    seen["application"] = [
        (c.delta.title, c.delta.content, c.delta.stages[0].content if c.delta.stages else None)
        async for c in agent
    ]
    return seen


@pytest.mark.parametrize("fixture", ["writer_mock", "writer_server"])
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_the_five_calls_are_answered_from_scripts_by_either_double(
    fixture: str, is_async: bool, request: pytest.FixtureRequest
) -> None:
    double = request.getfixturevalue(fixture)
    queue_the_five(double)
    base = {"base_url": double.base_url} if fixture == "writer_server" else {}
    if is_async:

        async def run() -> dict[str, list[Any]]:
            async with writerai.AsyncWriter(api_key="k", **base) as client:
                return await five_calls_async(client)

        seen = asyncio.run(run())
    else:
        with writerai.Writer(api_key="k", **base) as client:
            seen = five_calls_sync(client)
    assert seen == EXPECTED
    assert [f"{c.method} {c.path}" for c in double.calls] == [
        "GET /v1/models",
        "POST /v1/chat",
        "POST /v1/completions",
        "POST /v1/graphs/question",
        "POST /v1/applications/app-1",
    ]


@pytest.mark.parametrize("fixture", ["writer_mock", "writer_server"])
def test_a_computed_reply_answers_two_requests_differently(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    double = request.getfixturevalue(fixture)

    def echo(call: Call) -> StreamScript:
        return StreamScript().content("You said: ", call.json["messages"][-1]["content"])

    double.reply(echo, times=2)
    base = {"base_url": double.base_url} if fixture == "writer_server" else {}
    client = writerai.Writer(api_key="k", **base)
    texts = []
    for words in ("hello", "goodbye"):
        stream = client.chat.chat(
            model="palmyra-x5", messages=[{"role": "user", "content": words}], stream=True
        )
        texts.append("".join(c.choices[0].delta.content or "" for c in stream))
    assert texts == ["You said: hello", "You said: goodbye"]


def test_a_computed_reply_may_route_itself_and_return_json() -> None:
    def by_path(call: Call) -> Any:
        if call.path == "/v1/models":
            return MODELS
        return CompletionScript(empty_first=False).text(call.json["prompt"].upper())

    with WriterMock() as mock:
        mock.reply(by_path, path="*", times=2)
        client = writerai.Writer(api_key="k")
        assert client.models.list().models[0].id == "palmyra-x5"
        stream = client.completions.create(model="palmyra-x5", prompt="hi", stream=True)
        assert [c.value for c in stream] == ["HI"]


def test_json_and_httpx_replies_answer_their_path_and_method() -> None:
    files = {"data": [], "has_more": False}
    sse = httpx.Response(
        200, headers={"content-type": "text/event-stream"}, content=iter([b'data: {"value":"x"}\n\n'])
    )
    with WriterMock() as mock:
        mock.reply(files, path="/v1/files", method="GET")
        mock.reply(sse, path="/v1/completions")
        mock.reply(
            httpx.Response(404, json={"tpe": "NotFound", "errors": [], "extras": {}}),
            path="/v1/graphs/{id}",
            method="GET",
        )
        client = writerai.Writer(api_key="k")
        assert list(client.files.list()) == []
        assert [c.value for c in client.completions.create(model="m", prompt="p", stream=True)] == ["x"]
        with pytest.raises(writerai.NotFoundError):
            client.graphs.retrieve("g-1")


@pytest.mark.parametrize(
    ("item", "kwargs", "message"),
    [
        ({"models": []}, {}, r"a dict or list names no endpoint\. Pass path="),
        (
            {"data": []},
            {"path": "/v1/files"},
            r"serves that path with GET \(client.files.list\) and POST \(client.files.upload\). Pass method= too, such as method=.POST.",
        ),
        ({}, {"path": "/v1/unknown"}, "has no such path that the kit knows"),
        ({}, {"path": "v1/models"}, "starting with '/'"),
        ({}, {"path": "/v1/files?limit=2", "method": "GET"}, "without a query string"),
        (Fault.http_error(500), {"method": "GET"}, "needs path= too"),
        (CompletionScript(), {"path": "/v1/models"}, r"answers POST /v1/completions, not POST /v1/models"),
        (StreamScript, {}, r"queue an instance, such as StreamScript\(\)"),
        (Fault.disconnect(after_chunks=1), {}, "faults inside a stream go on a script"),
    ],
)
def test_reply_refuses_what_it_cannot_route(item: Any, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ScriptError, match=message):
        WriterMock().reply(item, **kwargs)


def test_a_script_may_narrow_its_endpoint_with_path() -> None:
    with WriterMock() as mock:
        mock.reply(ApplicationScript().content("for app-2"), path="/v1/applications/app-2")
        mock.reply(ApplicationScript().content("for any app"))
        client = writerai.Writer(api_key="k")
        first = client.applications.generate_content(application_id="app-1", inputs=INPUTS, stream=True)  # type: ignore[arg-type]
        second = client.applications.generate_content(application_id="app-2", inputs=INPUTS, stream=True)  # type: ignore[arg-type]
        assert [c.delta.content for c in first] == ["for any app"]
        assert [c.delta.content for c in second] == ["for app-2"]


def test_match_and_times_work_for_any_endpoint() -> None:
    with WriterMock() as mock:
        mock.reply(QuestionScript().answer("graph A"), match=lambda call: call.json["graph_ids"] == ["a"])
        mock.reply(QuestionScript().answer("graph B"), times=2)
        client = writerai.Writer(api_key="k")
        answers = [
            "".join(c.answer for c in client.graphs.question(graph_ids=[g], question="q", stream=True))  # type: ignore[attr-defined]
            for g in ("b", "a", "b")
        ]
        assert answers == ["graph B", "graph A", "graph B"]


def test_a_failing_computed_reply_answers_a_500_at_once_and_fails_verify() -> None:
    def broken(call: Call) -> StreamScript:
        raise KeyError("prompt")

    mock = WriterMock().reply(broken).start()
    client = writerai.Writer(api_key="k")
    with pytest.raises(
        writerai.InternalServerError, match=r"computed reply .*broken\(\) failed to answer POST /v1/chat"
    ):
        client.chat.chat(model="m", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
    mock.stop()
    assert len(mock.calls) == 1, "the SDK is told not to retry"
    with pytest.raises(ReplyError) as verdict:
        mock.verify()
    # the error first, then only the user's own frames: not 40 lines of the kit's internals
    lines = str(verdict.value).splitlines()
    assert lines[1].startswith("  - computed reply ")
    assert lines[1].endswith(
        "broken() answering POST /v1/chat (model='m', stream=True, 1 message, "
        "last user: 'Say hello'): KeyError: 'prompt'"
    )
    assert lines[2] == "  raised at (most recent call last):"
    assert "in broken" in str(verdict.value)
    assert "writer_stream_testkit/" not in str(verdict.value)


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (lambda call: CompletionScript(), r"returned CompletionScript.*which answers POST /v1/completions"),
        (lambda call: None, "returned None"),
        (lambda call: "text", "which is not a reply"),
    ],
)
def test_a_computed_reply_must_return_a_reply_for_the_request(function: Any, message: str) -> None:
    mock = WriterMock().reply(function).start()
    with pytest.raises(writerai.InternalServerError):
        writerai.Writer(api_key="k").chat.chat(model="m", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
    mock.stop()
    with pytest.raises(ReplyError, match=message):
        mock.verify()


def test_an_async_function_is_refused_without_leaving_a_coroutine_unawaited() -> None:
    async def later(call: Call) -> StreamScript:
        return StreamScript()

    mock = WriterMock().reply(later).start()
    with pytest.raises(writerai.InternalServerError):
        writerai.Writer(api_key="k").chat.chat(model="m", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
    mock.stop()
    with pytest.raises(ReplyError, match="returned an awaitable"):
        mock.verify()


def test_a_respx_route_answers_what_no_queued_reply_fits() -> None:
    with WriterMock() as mock, respx.mock(assert_all_called=True) as router:
        router.get("https://api.writer.com/v1/files").respond(json={"data": [], "has_more": False})
        mock.reply(MODELS, path="/v1/models")
        client = writerai.Writer(api_key="k")
        assert list(client.files.list()) == []
        assert client.models.list().models[0].name == "Palmyra X5"


def test_a_base_url_with_a_path_prefix_routes_below_the_prefix() -> None:
    with WriterMock(base_url="https://gateway.example/writer") as mock:
        mock.reply(MODELS, path="/v1/models")
        client = writerai.Writer(api_key="k", base_url="https://gateway.example/writer")
        assert client.models.list().models[0].id == "palmyra-x5"
        assert mock.calls[0].path == "/writer/v1/models"


def test_the_strict_miss_says_how_to_queue_for_the_endpoint() -> None:
    with (
        FakeWriterServer() as server,
        writerai.Writer(api_key="k", base_url=server.base_url, max_retries=0) as client,
    ):
        with pytest.raises(writerai.InternalServerError, match=r"CompletionScript\(\)\.text"):
            client.completions.create(model="m", prompt="p", stream=True)
        with pytest.raises(writerai.InternalServerError, match=r"GET /v1/files\?limit=2 \(no body\)"):
            client.files.list(limit=2)
        with pytest.raises(UnexpectedRequestError, match="POST /v1/completions"):
            server.verify()
        server.reset()


# --- serve --script with every kind --------------------------------------------------------------


@pytest.fixture
def serve_files(tmp_path: Path) -> Iterator[str]:
    files = {
        "models.yaml": "kind: json\npath: /v1/models\nbody: {models: [{id: palmyra-x5, name: Palmyra X5}]}\n",
        "story.yaml": CompletionScript().text("Once").to_yaml(),
        "graph.yaml": QuestionScript(question="Q").answer("A").to_yaml(),
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    command = [sys.executable, "-m", "writer_stream_testkit.cli", "serve", "--port", "0", "--script"]
    proc = subprocess.Popen(
        [*command, *(str(tmp_path / name) for name in files)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(proc.stdout.readline()), daemon=True).start()  # type: ignore[union-attr]
    try:
        yield lines.get(timeout=30).strip()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
        assert "Traceback" not in err


def test_serve_answers_each_endpoint_from_the_script_for_it(serve_files: str) -> None:
    with writerai.Writer(api_key="k", base_url=serve_files, max_retries=0) as client:
        for _ in range(2):
            assert client.models.list().models[0].id == "palmyra-x5"
            assert [c.value for c in client.completions.create(model="m", prompt="p", stream=True)] == [
                "",
                "Once",
            ]
            answers = client.graphs.question(graph_ids=["g"], question="Q", stream=True)
            assert [c.answer for c in answers] == ["A"]  # type: ignore[attr-defined]
        with pytest.raises(
            writerai.InternalServerError, match=r"No script answers POST /v1/chat.*GET /v1/models"
        ):
            client.chat.chat(model="m", messages=MESSAGES, stream=True)  # type: ignore[arg-type]


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_a_completions_stream_cut_over_a_socket_raises_what_a_cut_chat_stream_raises(
    writer_server: FakeWriterServer, is_async: bool
) -> None:
    cut = Fault.disconnect(after_chunks=2)
    writer_server.reply(CompletionScript().text("Hel", "lo", "!").with_fault(cut))
    writer_server.reply(StreamScript().content("Hel", "lo", "!").with_fault(cut))
    seen: list[type[BaseException]] = []

    async def read_async(client: writerai.AsyncWriter) -> None:
        for start in (
            lambda: client.completions.create(model="m", prompt="p", stream=True),
            lambda: client.chat.chat(model="m", messages=MESSAGES, stream=True),  # type: ignore[arg-type]
        ):
            with pytest.raises(httpx.RemoteProtocolError) as failed:
                async for _ in await start():  # type: ignore[attr-defined]
                    pass
            seen.append(type(failed.value))

    if is_async:

        async def run() -> None:
            async with writerai.AsyncWriter(api_key="k", base_url=writer_server.base_url) as client:
                await read_async(client)

        asyncio.run(run())
    else:
        with writerai.Writer(api_key="k", base_url=writer_server.base_url) as client:
            for start in (
                lambda: client.completions.create(model="m", prompt="p", stream=True),
                lambda: client.chat.chat(model="m", messages=MESSAGES, stream=True),  # type: ignore[arg-type]
            ):
                with pytest.raises(httpx.RemoteProtocolError) as failed:
                    for _ in start():  # type: ignore[attr-defined]
                        pass
                seen.append(type(failed.value))
    assert seen == [httpx.RemoteProtocolError, httpx.RemoteProtocolError]
    assert len(writer_server.calls) == 2, "neither stream is retried once it started"
    assert "prompt: 'p'" in writer_server.calls[0].describe()


def _routes_writerai_calls() -> set[tuple[str, str]]:
    """Every (method, path template) the installed writerai's resources call, read from its source."""
    import re

    root = Path(writerai.__file__).parent / "resources"
    call = re.compile(
        r'self\._(get|post|put|delete|patch|get_api_list)\(\s*(?:path_template\()?f?"(/v1/[^"]*)"'
    )
    return {
        ({"get_api_list": "GET"}.get(m.group(1), m.group(1).upper()), m.group(2))
        for source in root.rglob("*.py")
        for m in call.finditer(source.read_text(encoding="utf-8"))
    }


def test_the_route_tables_know_every_route_the_installed_writerai_calls() -> None:
    from writer_stream_testkit.wire.endpoints import WRITER_2_ROUTES, WRITER_ROUTES, endpoint_for

    called = _routes_writerai_calls()
    assert len(called) >= 30, called  # the reader found the SDK's calls
    known = {(route.method, route.path) for route in WRITER_ROUTES + WRITER_2_ROUTES}
    assert called - known == set()
    for method, path in called:
        if sum(1 for m, p in called if p == path) == 1:
            assert endpoint_for(path).method == method, path


@pytest.mark.parametrize(
    "path", ["/v1/tools/ai-detect", "/v1/tools/comprehend/medical", "/v1/tools/context-aware-splitting"]
)
def test_writerai_2s_tool_routes_are_post_without_method(path: str) -> None:
    """writerai 2.4.0 calls these (3.0.0 dropped them); an app on 2.x replies to them by path alone."""
    with WriterMock() as mock:
        mock.reply({"label": "human", "score": 0.9}, path=path)
        client = writerai.Writer(api_key="k")
        assert client.post(path, cast_to=object, body={"input": "text"}) == {"label": "human", "score": 0.9}
        assert (mock.calls[0].method, mock.calls[0].path) == ("POST", path)

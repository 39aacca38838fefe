"""A fixed JSON reply: the endpoint it answers, the same body stream or not, its summary, its YAML
form and the mistakes it names."""

from __future__ import annotations

import json

import pytest
from calls import call

from writer_stream_testkit.errors import ScriptError
from writer_stream_testkit.scripts.json_reply import JsonReply


def test_the_method_is_inferred_from_the_writer_api_or_given() -> None:
    assert str(JsonReply.to("/v1/models", {}).endpoint) == "GET /v1/models"
    assert str(JsonReply.to("/v1/custom", {}, method="POST").endpoint) == "POST /v1/custom"
    with pytest.raises(
        ScriptError, match=r"^Cannot route the JSON reply to path='/v1/nowhere': .* pass method="
    ):
        JsonReply.to("/v1/nowhere", {})


def test_every_request_gets_the_same_json_with_its_status() -> None:
    reply = JsonReply.to("/v1/chat", {"error": "busy"}, status=503)
    for stream in (True, False):
        plan = reply.plan(call(stream, "/v1/chat"))
        assert plan.status == 503
        assert dict(plan.headers) == {"content-type": "application/json"}
        assert plan.body() == b'{"error":"busy"}'


def test_the_body_is_a_copy_the_caller_cannot_change_afterwards() -> None:
    mine = {"models": [{"id": "palmyra-x5"}]}
    reply = JsonReply.to("/v1/models", mine)
    mine["models"].append({"id": "later"})
    assert json.loads(reply.plan(call(False, "/v1/models")).body()) == {"models": [{"id": "palmyra-x5"}]}


def test_the_summary_is_one_short_line() -> None:
    assert JsonReply.to("/v1/models", {"a": 1}).describe() == 'JSON reply (200, {"a":1})'
    long = JsonReply.to("/v1/models", {"models": ["x" * 60]}, status=201).describe()
    assert long == 'JSON reply (201, {"models":["' + "x" * 35 + "...)"


@pytest.mark.parametrize("status", [101, 199, 600, True, "200"])
def test_a_status_that_cannot_end_a_response_is_refused(status: object) -> None:
    with pytest.raises(
        ScriptError, match=rf"^JsonReply status={status!r} must be a final HTTP status from 200 to 599"
    ):
        JsonReply.to("/v1/models", {}, status=status)  # type: ignore[arg-type]


def test_the_yaml_form_has_the_status_only_when_not_200_and_reads_back() -> None:
    ok = JsonReply.to("/v1/models", {"models": []})
    assert ok.to_yaml() == "kind: json\npath: /v1/models\nmethod: GET\nbody:\n  models: []\n"
    missing = JsonReply.to("/v1/models", {"a": 1}, status=404)
    assert missing.to_yaml() == "kind: json\npath: /v1/models\nmethod: GET\nstatus: 404\nbody:\n  a: 1\n"
    assert JsonReply.from_yaml(missing.to_yaml()) == missing


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "path: /v1/models\nbody: 1\n",
            "<script YAML>: a JSON reply is a mapping with kind: json, path and body.",
        ),
        (
            "kind: json\npath: /v1/models\n",
            "<script YAML>: a JSON reply needs path (such as /v1/models) and body.",
        ),
        (
            "kind: json\npath: /v1/models\nbody: 1\ncolour: red\n",
            "<script YAML>: unknown key colour; a JSON reply has body, kind, method, path, status.",
        ),
    ],
)
def test_yaml_mistakes_are_named(text: str, message: str) -> None:
    with pytest.raises(ScriptError) as caught:
        JsonReply.from_yaml(text)
    assert str(caught.value) == message


def test_a_yaml_path_the_api_lacks_is_named_with_the_source() -> None:
    with pytest.raises(
        ScriptError, match=r"^<script YAML>: Cannot route the JSON reply to path='/v1/nowhere'"
    ):
        JsonReply.from_yaml("kind: json\npath: /v1/nowhere\nbody: 1\n")

"""What ``reply()`` accepts: each item becomes a reply and the endpoint it answers, or a sentence saying what to pass instead."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from recorded import chat_call

from writer_stream_testkit.doubles.reply_items import ComputedReply, as_reply, describe_reply
from writer_stream_testkit.errors import ScriptError
from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.scripts.faults import Fault
from writer_stream_testkit.scripts.plan import ResponsePlan, Write
from writer_stream_testkit.wire.endpoints import ANY, CHAT

MODELS = chat_call(url="https://api.writer.com/v1/models", method="GET")


def test_a_json_body_needs_a_path_and_then_answers_that_endpoint() -> None:
    with pytest.raises(ScriptError, match=r"a dict or list names no endpoint\. Pass path="):
        as_reply({"data": []}, path=None, method=None)
    reply, endpoint = as_reply({"data": []}, path="/v1/models", method=None)
    assert endpoint.matches("GET", "/v1/models")
    assert not endpoint.matches("POST", "/v1/chat")
    plan = reply.plan(MODELS)
    assert plan.status == 200
    assert json.loads(plan.body()) == {"data": []}


def test_a_method_alone_is_refused_because_it_names_no_endpoint() -> None:
    with pytest.raises(ScriptError, match=r"method='GET'\) needs path= too"):
        as_reply({"data": []}, path=None, method="GET")


def test_a_class_is_refused_with_the_instance_to_queue() -> None:
    with pytest.raises(
        ScriptError, match=r"Cannot queue the class StreamScript as a reply; .* StreamScript\(\)\."
    ):
        as_reply(StreamScript, path=None, method=None)


def test_a_script_answers_its_own_endpoint_and_path_may_not_move_it() -> None:
    script = StreamScript().content("hi").finish()
    reply, endpoint = as_reply(script, path=None, method=None)
    assert reply is script
    assert endpoint == CHAT
    with pytest.raises(ScriptError, match=r"leave path= out \(a script knows its endpoint\)"):
        as_reply(script, path="/v1/models", method=None)
    with pytest.raises(ScriptError, match=r"cannot answer method='GET'\. Leave method= out\."):
        as_reply(script, path=None, method="GET")


def test_a_plan_a_fault_and_a_callable_answer_chat_unless_path_says_otherwise() -> None:
    plan = ResponsePlan(status=202, steps=(Write(b"ok"),))
    reply, endpoint = as_reply(plan, path=None, method=None)
    assert endpoint == CHAT
    assert reply.plan(chat_call()) is plan
    assert as_reply(Fault.http_error(503), path=None, method=None)[1] == CHAT
    assert as_reply(lambda call: {"a": 1}, path="*", method=None)[1] == ANY


def test_an_httpx_response_keeps_its_status_headers_and_bytes_but_not_its_framing() -> None:
    response = httpx.Response(201, headers={"x-kept": "yes", "content-length": "2"}, content=b"hi")
    reply, endpoint = as_reply(response, path=None, method=None)
    plan = reply.plan(chat_call())
    assert endpoint == CHAT
    assert plan.status == 201
    assert ("x-kept", "yes") in plan.headers
    assert all(name.lower() != "content-length" for name, _ in plan.headers)
    assert plan.body() == b"hi"
    assert describe_reply(reply) == "httpx.Response(status=201, 2 bytes)"


def test_an_informational_status_is_refused_when_queued() -> None:
    with pytest.raises(ScriptError, match=r"^Cannot queue .* as a reply: "):
        as_reply(ResponsePlan(status=101), path=None, method=None)


def test_anything_else_is_refused_listing_what_a_reply_may_be() -> None:
    with pytest.raises(ScriptError, match=r"Cannot queue 42 as a reply\. Pass a script"):
        as_reply(42, path=None, method=None)


def answer_none(call: Any) -> None:
    return None


async def answer_later(call: Any) -> dict[str, int]:
    return {"a": 1}


def answer_a_number(call: Any) -> int:
    return 7


def answer_models(call: Any) -> dict[str, list[str]]:
    return {"data": ["palmyra-x5"]}


def answer_a_chat_script(call: Any) -> StreamScript:
    return StreamScript().content("hi").finish()


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (answer_none, r"computed reply answer_none\(\) returned None for POST /v1/chat"),
        (answer_later, r"returned an awaitable; computed replies are plain functions"),
        (answer_a_number, r"returned 7, which is not a reply"),
    ],
)
def test_a_computed_reply_that_returns_no_reply_says_what_it_returned(function: Any, message: str) -> None:
    computed = ComputedReply(function, ANY)
    with pytest.raises(ScriptError, match=message):
        computed.plan(chat_call())


def test_a_computed_reply_is_resolved_per_request_and_checked_against_its_path() -> None:
    assert json.loads(ComputedReply(answer_models, ANY).plan(MODELS).body()) == {"data": ["palmyra-x5"]}
    with pytest.raises(ScriptError, match=r"which answers POST /v1/chat, for a request to GET /v1/models"):
        ComputedReply(answer_a_chat_script, ANY).plan(MODELS)
    assert describe_reply(ComputedReply(answer_models, ANY)) == "computed reply answer_models()"

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import writerai

from writer_stream_testkit import FakeWriterServer, StreamScript, WriterMock
from writer_stream_testkit.doubles.replies import Reply, ReplyQueue
from writer_stream_testkit.errors import ScriptError, UnexpectedRequestError, UnusedRepliesError
from writer_stream_testkit.scripts.plan import ResponsePlan, Write
from writer_stream_testkit.wire.call import Call, Headers

URL = "https://api.writer.com/v1/chat"


def chat_call(
    *,
    model: str = "palmyra-x5",
    content: str = "Hi",
    stream: bool = True,
    tools: list[dict[str, Any]] | None = None,
) -> Call:
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": content}],
        "stream": stream,
    }
    if tools is not None:
        body["tools"] = tools
    return Call.create(
        method="post",
        url=URL,
        headers={"Content-Type": "application/json"},
        content=json.dumps(body).encode(),
    )


@dataclass(frozen=True)
class Named:
    """A reply whose body names it, so tests can see which reply answered."""

    name: str

    def plan(self, call: Call) -> ResponsePlan:
        kind = "stream" if call.stream else "json"
        return ResponsePlan(steps=(Write(f"{self.name}:{kind}".encode()),))

    def describe(self) -> str:
        return f"Named({self.name})"


def test_call_from_httpx_parses_path_headers_and_json() -> None:
    request = httpx.Request("POST", URL + "?x=1", json={"model": "m", "stream": True}, headers={"X-Up": "1"})
    call = Call.from_httpx(request)
    assert call.method == "POST"
    assert call.path == "/v1/chat"
    assert call.url == URL + "?x=1"
    assert call.headers["x-up"] == "1"
    assert call.headers["X-UP"] == "1"
    assert "content-type" in call.headers
    assert call.json == {"model": "m", "stream": True}
    assert call.stream is True


def test_call_with_non_json_body_has_json_none() -> None:
    call = Call.create(method="POST", url=URL, content=b"not json")
    assert call.json is None
    assert call.stream is False
    assert "non-JSON body of 8 bytes" in call.describe()


def test_headers_join_repeats_and_are_immutable() -> None:
    headers = Headers([("Accept", "a"), ("accept", "b")])
    assert headers["ACCEPT"] == "a, b"
    assert headers.raw == (("Accept", "a"), ("accept", "b"))
    assert len(headers) == 1
    assert headers == {"accept": "a, b"}
    with pytest.raises(AttributeError):
        headers.raw = ()


def test_take_renders_reply_for_stream_flag_and_records_call() -> None:
    queue = ReplyQueue()
    queue.reply(Named("a"))
    queue.reply(Named("b"))
    first = queue.take(chat_call(stream=True))
    second = queue.take(chat_call(stream=False))
    assert first.body() == b"a:stream"
    assert second.body() == b"b:json"
    assert [c.stream for c in queue.calls] == [True, False]
    queue.verify()


def test_calls_is_a_copy() -> None:
    queue = ReplyQueue()
    queue.reply(Named("a"))
    queue.take(chat_call())
    queue.calls.clear()
    assert len(queue.calls) == 1


def test_reply_matches_on_model_messages_tools_and_predicate() -> None:
    tools = [{"type": "function", "function": {"name": "get_weather"}}]
    queue = ReplyQueue()
    queue.reply(Named("by-model"), model="palmyra-x4")
    queue.reply(Named("by-messages"), messages=[{"role": "user", "content": "weather?"}])
    queue.reply(Named("by-callable"), messages=lambda ms: ms[-1]["content"].startswith("cal"))
    queue.reply(Named("by-tools"), tools=tools)
    queue.reply(Named("by-match"), match=lambda call: call.headers.get("content-type") == "application/json")
    assert queue.take(chat_call(content="calc")).body() == b"by-callable:stream"
    assert queue.take(chat_call(tools=tools)).body() == b"by-tools:stream"
    assert queue.take(chat_call(content="weather?")).body() == b"by-messages:stream"
    assert queue.take(chat_call(model="palmyra-x4")).body() == b"by-model:stream"
    assert queue.take(chat_call()).body() == b"by-match:stream"
    queue.verify()


def test_tuple_matchers_compare_like_json() -> None:
    queue = ReplyQueue()
    queue.reply(Named("a"), messages=({"role": "user", "content": "Hi"},))
    assert queue.take(chat_call()).body() == b"a:stream"


def test_first_matching_unused_reply_wins_and_times_counts_uses() -> None:
    queue = ReplyQueue()
    queue.reply(Named("twice"), times=2)
    queue.reply(Named("then"))
    bodies = [queue.take(chat_call()).body() for _ in range(3)]
    assert bodies == [b"twice:stream", b"twice:stream", b"then:stream"]
    assert queue.pending == []
    queue.verify()


def test_response_plan_is_usable_as_reply() -> None:
    queue = ReplyQueue()
    plan = ResponsePlan(status=503, steps=(Write(b"x"),))
    queue.reply(plan)
    assert queue.take(chat_call()) == plan


def test_no_match_gives_500_that_sdk_will_not_retry_and_names_request() -> None:
    queue = ReplyQueue()
    queue.reply(Named("x4-only"), model="palmyra-x4")
    plan = queue.take(chat_call(content="Tell me a joke"))
    assert plan.status == 500
    assert ("x-should-retry", "false") in plan.headers
    assert ("content-type", "application/json") in plan.headers
    body = json.loads(plan.body())
    assert body["tpe"] == "InternalServerError"
    assert body["extras"] == {}
    description = body["errors"][0]["description"]
    assert "POST /v1/chat" in description
    assert "'Tell me a joke'" in description
    assert "Named(x4-only) for POST /v1/chat when model == 'palmyra-x4' (1 of 1 left)" in description
    assert ".reply(" in description
    assert queue.unexpected == queue.calls


def test_verify_reports_unexpected_request() -> None:
    queue = ReplyQueue()
    queue.take(chat_call(content="hello there"))
    with pytest.raises(UnexpectedRequestError) as info:
        queue.verify()
    message = str(info.value)
    assert "1 request had no matching reply" in message
    assert "POST /v1/chat (model='palmyra-x5', stream=True, 1 message, last user: 'hello there')" in message
    assert "No replies were queued." in message
    assert "Queue a reply" in message


def test_verify_reports_unused_replies() -> None:
    queue = ReplyQueue()
    queue.reply(Named("a"), times=3)
    queue.reply(Named("b"), model="m")
    queue.take(chat_call())
    with pytest.raises(UnusedRepliesError) as info:
        queue.verify()
    message = str(info.value)
    assert "2 queued replies were never requested" in message
    assert "Named(a) for POST /v1/chat (2 of 3 left)" in message
    assert "Named(b) for POST /v1/chat when model == 'm' (1 of 1 left)" in message


def test_verify_reports_both_problems_in_one_message() -> None:
    queue = ReplyQueue()
    queue.reply(Named("a"), model="other")
    queue.take(chat_call())
    with pytest.raises(UnexpectedRequestError) as info:
        queue.verify()
    message = str(info.value)
    assert "had no matching reply" in message
    assert "never requested" in message


def test_calls_answered_by_another_source_are_recorded_but_not_checked() -> None:
    queue = ReplyQueue()
    call = chat_call()
    queue.record(call)
    assert queue.calls == [call]
    queue.verify()


def test_verify_flags_turn_each_check_off() -> None:
    queue = ReplyQueue()
    queue.reply(Named("a"), model="other")
    queue.take(chat_call())
    queue.verify(unexpected=False, unused=False)
    with pytest.raises(UnusedRepliesError, match="never requested") as unused:
        queue.verify(unexpected=False)
    assert "no matching reply" not in str(unused.value)
    with pytest.raises(UnexpectedRequestError) as unexpected:
        queue.verify(unused=False)
    assert "no matching reply" in str(unexpected.value)
    assert "never requested" not in str(unexpected.value)


def test_verify_reports_the_callers_problems_too() -> None:
    queue = ReplyQueue()
    own = AssertionError("the cassette was never played")
    with pytest.raises(AssertionError) as alone:
        queue.verify(also=[own])
    assert alone.value is own
    queue.reply(Named("a"))
    with pytest.raises(UnusedRepliesError) as together:
        queue.verify(also=[own])
    assert str(together.value).endswith("\n\nthe cassette was never played")


def test_reset_forgets_everything() -> None:
    queue = ReplyQueue()
    queue.reply(Named("a"))
    queue.take(chat_call(model="x"))
    queue.record(Call.create(method="GET", url=URL))
    queue.reset()
    assert queue.calls == []
    assert queue.pending == []
    assert queue.unexpected == []
    queue.verify()


@pytest.mark.parametrize("times", [0, -1, True, 1.5])
def test_reply_rejects_bad_times(times: Any) -> None:
    with pytest.raises(ScriptError, match="times="):
        ReplyQueue().reply(Named("a"), times=times)


def test_reply_rejects_non_reply() -> None:
    with pytest.raises(ScriptError, match=r"Cannot queue 'hello' as a reply\. Pass a script"):
        ReplyQueue().reply("hello")  # type: ignore[arg-type]


def test_reply_rejects_non_json_matcher() -> None:
    with pytest.raises(ScriptError, match="not JSON"):
        ReplyQueue().reply(Named("a"), messages=[{"content": object()}])


def test_reply_protocol_is_runtime_checkable() -> None:
    assert isinstance(Named("a"), Reply)
    assert not isinstance(object(), Reply)


def test_concurrent_takes_use_each_reply_exactly_once() -> None:
    queue = ReplyQueue()
    count = 200
    for i in range(count):
        queue.reply(Named(str(i)))
    barrier = threading.Barrier(8)
    results: list[bytes] = []
    results_lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        for _ in range(count // 8):
            body = queue.take(chat_call()).body()
            with results_lock:
                results.append(body)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == sorted(f"{i}:stream".encode() for i in range(count))
    assert len(queue.calls) == count
    queue.verify()


@pytest.mark.parametrize(
    ("content", "problem", "summary"),
    [
        (
            b"hello",
            "The request body is not JSON: Expecting value: line 1 column 1 (char 0).",
            "(non-JSON body of 5 bytes: b'hello')",
        ),
        (b"", "The request body is empty.", "(no body)"),
        (
            b"[1, 2]",
            "The request body is JSON but not an object: [1, 2].",
            "(JSON body that is not an object: [1, 2])",
        ),
        (
            b"null",
            "The request body is JSON but not an object: None.",
            "(JSON body that is not an object: None)",
        ),
    ],
)
def test_a_body_that_is_not_a_json_object_gets_a_400_without_using_a_reply(
    content: bytes, problem: str, summary: str
) -> None:
    queue = ReplyQueue()
    queue.reply(Named("kept"))
    call = Call.create(method="POST", url=URL, content=content)
    plan = queue.take(call)
    assert plan.status == 400
    assert ("x-should-retry", "false") in plan.headers
    body = json.loads(plan.body())
    assert body["tpe"] == "BadRequest"
    tail = (
        " The Writer API answers such a request with 400; send the request's parameters as one JSON "
        "object, as the Writer SDKs do."
    )
    assert body["errors"][0]["description"] == f"writer-stream-testkit: {problem}{tail}"
    assert queue.calls == queue.rejected == [call]
    assert queue.unexpected == []
    assert queue.take(chat_call()).body() == b"kept:stream"
    with pytest.raises(UnexpectedRequestError) as info:
        queue.verify(served_by="TheDouble")
    assert str(info.value) == (
        "1 request was refused by TheDouble before any reply could answer:\n"
        f"  - POST /v1/chat {summary} to {URL} got 400: {problem}{tail}"
    )


def test_refused_requests_come_before_unused_replies_and_obey_the_unexpected_flag() -> None:
    queue = ReplyQueue()
    queue.reply(Named("unused"))
    plan = queue.reject(
        Call.create(method="POST", url="https://elsewhere.test/v1/chat"), 500, "Not served here."
    )
    assert (plan.status, json.loads(plan.body())["errors"][0]["description"]) == (
        500,
        "writer-stream-testkit: Not served here.",
    )
    with pytest.raises(UnexpectedRequestError) as info:
        queue.verify()
    message = str(info.value)
    assert message.startswith(
        "1 request was refused by the double before any reply could answer:\n"
        "  - POST /v1/chat (no body) to https://elsewhere.test/v1/chat got 500: Not served here.\n\n"
        "1 queued reply was never requested"
    )
    with pytest.raises(UnusedRepliesError) as unused:
        queue.verify(unexpected=False)
    assert "refused" not in str(unused.value)
    queue.reset()
    assert queue.rejected == []
    queue.verify()


ADVICE = (
    "The path /v1/v1/chat repeats /v1: the client's base_url ends in /v1, and the Writer SDK adds /v1 itself."
)


def _mock() -> tuple[AbstractContextManager[Any], Callable[[Any], str]]:
    return WriterMock(), lambda double: "https://api.writer.com"


def _server() -> tuple[AbstractContextManager[Any], Callable[[Any], str]]:
    return FakeWriterServer(), lambda double: double.base_url


@pytest.mark.parametrize("make", [_mock, _server], ids=["mock", "server"])
def test_a_base_url_ending_in_v1_gets_the_advice_to_drop_it(make: Callable[[], Any]) -> None:
    double, base = make()
    with double as d:
        client = writerai.Writer(api_key="test-key", base_url=base(d) + "/v1", max_retries=0)
        with pytest.raises(writerai.InternalServerError) as failed:
            list(client.chat.chat(model="palmyra-x5", messages=[], stream=True))
        with pytest.raises(UnexpectedRequestError) as verdict:
            d.verify()
        d.reset()
    assert ADVICE in str(verdict.value)
    assert "Queue a reply" not in str(verdict.value), "no reply can fix a doubled /v1"
    # the client's own message carries the same advice, on one line
    assert ADVICE in failed.value.message
    assert "\\n" not in failed.value.message


def test_the_async_client_gets_the_same_advice() -> None:
    async def main() -> str:
        async with WriterMock() as mock:
            client = writerai.AsyncWriter(
                api_key="test-key", base_url="https://api.writer.com/v1", max_retries=0
            )
            with pytest.raises(writerai.InternalServerError) as failed:
                await client.chat.chat(model="palmyra-x5", messages=[], stream=True)
            mock.reset()
        return failed.value.message

    assert ADVICE in asyncio.run(main())


def test_the_strict_answer_reads_as_one_paragraph_in_the_clients_message() -> None:
    with WriterMock() as mock:
        mock.reply(StreamScript().content("hi"), model="palmyra-x4")
        client = writerai.Writer(api_key="test-key", max_retries=0)
        with pytest.raises(writerai.InternalServerError) as failed:
            list(client.chat.chat(model="palmyra-x5", messages=[], stream=True))
        mock.reset()
    message = failed.value.message
    assert (
        "writer-stream-testkit: 1 request had no matching reply: POST /v1/chat (model='palmyra-x5'" in message
    )
    assert "Queued replies: StreamScript(" in message
    assert "\\n" not in message

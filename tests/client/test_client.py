"""Our Writer client over httpx.MockTransport, sync and async, pinned against writerai.

Most tests run one reply through four clients: ours and the SDK's, each sync
and async. Where the SDK's behaviour is the contract (attempt counts,
exception classes, messages, what escapes mid-stream) the test asserts the
same outcome from writerai, so a change in either shows up here.
"""

from __future__ import annotations

import asyncio
import email.utils
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pydantic
import pytest
import writerai
from chunks import text_chunk
from hypothesis import given
from hypothesis import strategies as st

from writer_stream_testkit import errors
from writer_stream_testkit.client import AsyncStream, AsyncWriter, Stream, Writer
from writer_stream_testkit.wire.chunks import ChunkDecoder
from writer_stream_testkit.wire.types import ChatCompletion, ChatCompletionChunk

MESSAGES = [{"role": "user", "content": "Hi"}]
URL = "https://api.writer.com/v1/chat"


def data(payload: object) -> bytes:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return f"data: {text}\n\n".encode()


DONE = b"data: [DONE]\n\n"

COMPLETION = {
    "id": "chatcmpl-2",
    "object": "chat.completion",
    "created": 2,
    "model": "palmyra-x5",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Hello"}}],
}


class Body(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body delivered in the given reads, optionally failing after the last one."""

    def __init__(self, reads: list[bytes], fail: Exception | None = None) -> None:
        self.reads = reads
        self.fail = fail
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        yield from self.reads
        if self.fail is not None:
            raise self.fail

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.reads:
            yield piece
        if self.fail is not None:
            raise self.fail

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


Reply = Callable[[httpx.Request], httpx.Response]


def sse(
    *reads: bytes, status: int = 200, headers: dict[str, str] | None = None, fail: Exception | None = None
) -> Reply:
    """A reply factory: each request gets a fresh body with these reads."""

    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status,
            headers={"content-type": "text/event-stream", **(headers or {})},
            stream=Body(list(reads), fail),
        )

    return reply


def status(code: int, body: object = None, headers: dict[str, str] | None = None) -> Reply:
    def reply(request: httpx.Request) -> httpx.Response:
        if isinstance(body, (dict, list)):
            return httpx.Response(code, json=body, headers=headers)
        return httpx.Response(code, text=str(body or ""), headers=headers)

    return reply


def raising(exc: Exception) -> Reply:
    def reply(request: httpx.Request) -> httpx.Response:
        raise exc

    return reply


@dataclass
class Outcome:
    """What one client saw: the chunks before any error, the error, every request, every wait."""

    chunks: list[Any] = field(default_factory=list)
    error: Any = None
    requests: list[httpx.Request] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)
    result: Any = None
    response: httpx.Response | None = None

    @property
    def contents(self) -> list[str | None]:
        return [c.choices[0].delta.content for c in self.chunks]


KINDS = ["ours", "ours-async", "sdk", "sdk-async"]
OURS = ["ours", "ours-async"]


def run(
    kind: str,
    replies: list[Reply],
    *,
    monkeypatch: pytest.MonkeyPatch,
    stream: bool = True,
    max_retries: int = 2,
    options: dict[str, Any] | None = None,
    **call: Any,
) -> Outcome:
    """Send one chat request through the named client; replies are used in order, the last repeats."""
    outcome = Outcome()

    def handler(request: httpx.Request) -> httpx.Response:
        outcome.requests.append(request)
        return replies[min(len(outcome.requests), len(replies)) - 1](request)

    transport = httpx.MockTransport(handler)
    call = {"model": "palmyra-x5", "messages": MESSAGES, "stream": stream, **call}

    def record(seconds: float) -> None:
        outcome.sleeps.append(seconds)

    async def arecord(seconds: float) -> None:
        outcome.sleeps.append(seconds)

    monkeypatch.setattr("writerai._base_client.time.sleep", record)
    monkeypatch.setattr("writerai._base_client.anyio.sleep", arecord)

    if kind in ("ours", "sdk"):
        http = httpx.Client(transport=transport)
        if kind == "ours":
            client: Any = Writer(
                api_key="key", max_retries=max_retries, http_client=http, _sleep=record, **(options or {})
            )
        else:
            client = writerai.Writer(
                api_key="key", max_retries=max_retries, http_client=http, **(options or {})
            )
        with client:
            try:
                result = client.chat.chat(**call)
                outcome.result = result
                if stream:
                    outcome.response = result.response
                    for item in result:
                        outcome.chunks.append(item)
            except Exception as exc:
                outcome.error = exc
        return outcome

    async def main() -> None:
        http = httpx.AsyncClient(transport=transport)
        if kind == "ours-async":
            client: Any = AsyncWriter(
                api_key="key", max_retries=max_retries, http_client=http, _sleep=arecord, **(options or {})
            )
        else:
            client = writerai.AsyncWriter(
                api_key="key", max_retries=max_retries, http_client=http, **(options or {})
            )
        async with client:
            try:
                result = await client.chat.chat(**call)
                outcome.result = result
                if stream:
                    outcome.response = result.response
                    async for item in result:
                        outcome.chunks.append(item)
            except Exception as exc:
                outcome.error = exc

    asyncio.run(main())
    return outcome


@pytest.fixture
def each(monkeypatch: pytest.MonkeyPatch) -> Callable[..., dict[str, Outcome]]:
    """Run the same replies through all four clients."""

    def go(replies: list[Reply], kinds: list[str] = KINDS, **kwargs: Any) -> dict[str, Outcome]:
        return {kind: run(kind, replies, monkeypatch=monkeypatch, **kwargs) for kind in kinds}

    return go


Each = Callable[..., dict[str, Outcome]]


# --- ending a stream ------------------------------------------------------------------------------


def test_stream_stops_at_done_and_ignores_what_follows(each: Each) -> None:
    body = (
        data(text_chunk("a"))
        + data(text_chunk("b"))
        + DONE
        + data(text_chunk("after"))
        + b"data: {broken\n\n"
    )
    for kind, seen in each([sse(body[:7], body[7:50], body[50:])]).items():
        assert seen.error is None, kind
        assert seen.contents == ["a", "b"], kind
        assert seen.response is not None, kind
        assert seen.response.is_closed, kind


def test_done_is_any_data_starting_with_the_sentinel(each: Each) -> None:
    for kind, seen in each(
        [sse(data(text_chunk("a")) + b"data: [DONE] thanks\n\n" + data(text_chunk("b")))]
    ).items():
        assert seen.contents == ["a"], kind


def test_stream_ends_at_eof_without_done_and_drops_an_unterminated_event(each: Each) -> None:
    body = data(text_chunk("a")) + data(text_chunk("b")) + data(text_chunk("cut"))[:-2]
    for kind, seen in each([sse(body)]).items():
        assert seen.error is None, kind
        assert seen.contents == ["a", "b"], kind


def test_named_events_other_than_error_are_skipped(each: Each) -> None:
    body = (
        b"event: ping\ndata: {}\n\n"
        + data(text_chunk("a"))
        + b": keep-alive\n\n"
        + b"event: usage\ndata: 1\n\n"
        + DONE
    )
    for kind, seen in each([sse(body)]).items():
        assert seen.error is None, kind
        assert seen.contents == ["a"], kind


def test_chunks_are_validated_models_that_keep_unknown_fields() -> None:
    decoder = ChunkDecoder(httpx.Response(200, request=httpx.Request("POST", URL)), ChatCompletionChunk)
    [got] = decoder.feed(data(text_chunk("a", usage=None, novel={"x": 1})))
    assert isinstance(got, ChatCompletionChunk)
    assert got.model_extra == {"novel": {"x": 1}}


@given(cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12))
def test_chunks_do_not_depend_on_how_the_body_is_split(cuts: list[int]) -> None:
    body = (
        data(text_chunk("é☃"))
        + b"event: ping\r\ndata: x\r\n\r\n"
        + data(text_chunk("b"))
        + data(text_chunk("c"))
        + DONE
    )
    decoder = ChunkDecoder(httpx.Response(200, request=httpx.Request("POST", URL)), ChatCompletionChunk)
    got = []
    edges = [0, *sorted(c % (len(body) + 1) for c in cuts), len(body)]
    for start, end in itertools.pairwise(edges):
        got += decoder.feed(body[start:end])
    got += decoder.end()
    decoder.raise_error()
    assert [c.choices[0].delta.content for c in got] == ["é☃", "b", "c"]
    assert decoder.finished


# --- a 200 that never sends an event --------------------------------------------------------------

CHUNK_LINE = b"data: " + json.dumps(text_chunk("a")).encode()
NO_EVENT_BODIES = {
    "a JSON body": (json.dumps(COMPLETION).encode(), "application/json", "it is not an event stream"),
    "an HTML page": (b"<html>\n<body>\n\n<h1>Bad gateway</h1>\n</body>\n</html>\n", "text/html", "it is not"),
    "a stream with no newline at all": (CHUNK_LINE, "text/event-stream", "stopped inside its first event"),
    "a stream cut inside its first event": (CHUNK_LINE[:20] + b"\n", "text/event-stream", "stopped inside"),
    "an empty body": (b"", "text/event-stream", "the body was empty"),
    "comments only": (b": keep-alive\n\n: still here\n\n", "text/event-stream", "only comments"),
}


@pytest.mark.parametrize("name", NO_EVENT_BODIES)
def test_a_200_without_a_single_complete_event_is_an_error(each: Each, name: str) -> None:
    body, content_type, why = NO_EVENT_BODIES[name]
    seen = each([sse(body[:7], body[7:], headers={"content-type": content_type})])
    for kind in ["sdk", "sdk-async"]:  # the deviation: the SDK yields nothing and says nothing
        assert (seen[kind].chunks, seen[kind].error) == ([], None), kind
    for kind in OURS:
        error = seen[kind].error
        assert isinstance(error, errors.NotAnEventStreamError), kind
        assert isinstance(error, errors.APIResponseValidationError), kind
        assert seen[kind].chunks == [], kind
        message = str(error)
        assert message.startswith(
            f"The 200 response to POST {URL} (content-type {content_type}) ended without a single "
            "complete server-sent event: "
        ), message
        assert why in message, message
        assert "end with `data: [DONE]`" in message, message
        response = seen[kind].response
        assert response is not None, kind
        assert response.is_closed, kind


@pytest.mark.parametrize(
    "body",
    [
        data(text_chunk("a")),  # a complete chunk, then EOF without [DONE]
        data(text_chunk("a")) + data(text_chunk("cut"))[:-2],  # then a cut event
        b"event: ping\ndata: {}\n\n",  # a complete event the SDK skips
        DONE,  # no chunk at all, but a proper end
    ],
)
def test_a_stream_with_a_complete_event_ends_as_the_sdks_does(each: Each, body: bytes) -> None:
    seen = each([sse(body)])
    expected = dict.fromkeys(KINDS, (seen["sdk"].contents, None))
    assert {kind: (o.contents, o.error) for kind, o in seen.items()} == expected


def test_the_error_quotes_the_start_of_a_body_that_is_not_an_event_stream(each: Each) -> None:
    html = b"<!DOCTYPE html><title>502 Bad Gateway</title>" + b"x" * 500
    seen = each([sse(html, headers={"content-type": "text/html"})], kinds=OURS)
    for kind in OURS:
        message = str(seen[kind].error)
        assert "it begins b'<!DOCTYPE html><title>502 Bad Gateway</title>xxx" in message, message
        assert f"({len(html)} bytes in all)" in message, message


# --- errors inside a 200 stream -------------------------------------------------------------------


def test_error_event_raises_stream_error_event_with_the_servers_message(each: Each) -> None:
    payload = {"error": {"message": "Model overloaded", "type": "server_error"}}
    body = (
        data(text_chunk("a"))
        + b"event: error\ndata: "
        + json.dumps(payload).encode()
        + b"\n\n"
        + data(text_chunk("b"))
    )
    seen = each([sse(body)])
    for kind in OURS:
        error = seen[kind].error
        assert seen[kind].contents == ["a"], kind
        assert isinstance(error, errors.StreamErrorEvent), kind
        assert error.message == "Model overloaded"
        assert error.body == payload
        assert error.status_code == 200
        assert "event #2 of the stream from POST https://api.writer.com/v1/chat" in str(error)
        assert "Model overloaded" in str(error)
        assert len(seen[kind].requests) == 1  # an error inside the stream is not retried
    for kind in ("sdk", "sdk-async"):  # the SDK: a plain APIStatusError with the body's repr
        assert seen[kind].contents == ["a"]
        assert type(seen[kind].error) is writerai.APIStatusError
        assert isinstance(seen[kind].error, writerai.APIStatusError)
        assert seen[kind].error.body == payload


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ('{"message": "Rate limited upstream"}', "Rate limited upstream"),
        ('{"error": "boom"}', "boom"),
        ("upstream exploded", "upstream exploded"),
    ],
)
def test_error_event_message_is_found_wherever_the_server_put_it(
    payload: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = run("ours", [sse(b"event: error\ndata: " + payload.encode() + b"\n\n")], monkeypatch=monkeypatch)
    assert isinstance(seen.error, errors.StreamErrorEvent)
    assert seen.error.message == message


def test_error_payload_in_data_raises_where_the_sdk_yields_a_broken_chunk(each: Each) -> None:
    payload = {"error": {"message": "Context length exceeded", "code": 400}}
    seen = each([sse(data(text_chunk("a")) + data(payload) + DONE)])
    for kind in OURS:
        error = seen[kind].error
        assert seen[kind].contents == ["a"], kind
        assert isinstance(error, errors.StreamErrorEvent), kind
        assert isinstance(error, errors.APIStatusError)
        assert error.message == "Context length exceeded"
        assert error.body == payload
        assert 'a data payload of the form {"error": ...} at event #2' in str(error)
    for kind in ("sdk", "sdk-async"):  # the SDK yields it as a chunk without choices
        assert seen[kind].error is None
        assert len(seen[kind].chunks) == 2
        assert getattr(seen[kind].chunks[1], "choices", None) is None


def test_invalid_json_raises_malformed_chunk_error_quoting_the_line(each: Each) -> None:
    seen = each([sse(data(text_chunk("a")) + b"data: {not json\n\n" + DONE)])
    for kind in OURS:
        error = seen[kind].error
        assert seen[kind].contents == ["a"], kind
        assert isinstance(error, errors.MalformedChunkError), kind
        assert isinstance(error, errors.APIResponseValidationError)
        assert "'data: {not json'" in error.message
        assert "event #2 of the stream from POST https://api.writer.com/v1/chat" in error.message
        assert "not valid JSON" in error.message
        assert error.body == "{not json"
    for kind in ("sdk", "sdk-async"):
        assert isinstance(seen[kind].error, json.JSONDecodeError)


OFF_SCHEMA = {
    "id": "x",
    "object": "chat.completion.chunk",
    "created": 1,
    "model": "m",
    "choices": [{"index": 0, "delta": {"content": "a"}, "finish_reason": "eos"}],
}


def test_json_that_is_not_a_chunk_is_kept_as_given_by_default(each: Each) -> None:
    seen = each([sse(data(OFF_SCHEMA) + DONE)])
    for kind in KINDS:
        assert seen[kind].error is None, kind
        assert [c.choices[0].finish_reason for c in seen[kind].chunks] == ["eos"], kind
        assert seen[kind].chunks[0].to_dict() == OFF_SCHEMA, kind


def test_strict_response_validation_names_the_problem_fields(each: Each) -> None:
    seen = each([sse(data(OFF_SCHEMA) + DONE)], options={"_strict_response_validation": True})
    for kind in OURS:
        error = seen[kind].error
        assert isinstance(error, errors.MalformedChunkError), kind
        assert "choices.0.finish_reason: Input should be 'stop'" in error.message
        assert "_strict_response_validation=True" in error.message
        assert error.body == OFF_SCHEMA
        assert "event #1" in error.message
    for kind in ("sdk", "sdk-async"):  # the SDK's strict mode rejects it too, less clearly
        assert isinstance(seen[kind].error, writerai.APIResponseValidationError), kind


@pytest.mark.parametrize("payload", ["[1, 2]", "42", '"text"', "null"])
def test_json_that_is_not_an_object_is_a_malformed_chunk(
    monkeypatch: pytest.MonkeyPatch, payload: str
) -> None:
    for kind in OURS:
        seen = run(kind, [sse(data(payload) + DONE)], monkeypatch=monkeypatch)
        assert isinstance(seen.error, errors.MalformedChunkError), kind
        assert "it is JSON but not an object" in seen.error.message
    # The SDK hands such a value on as the "chunk" (None, an int, a list of chunks...).
    sdk = run("sdk", [sse(data(payload) + DONE)], monkeypatch=monkeypatch)
    assert sdk.error is None
    assert not isinstance(sdk.chunks[0], writerai.types.ChatCompletionChunk)


def test_a_long_malformed_line_is_quoted_cut_to_a_readable_length(monkeypatch: pytest.MonkeyPatch) -> None:
    line = "{" + "x" * 50_000
    seen = run("ours-async", [sse(data(line))], monkeypatch=monkeypatch)
    assert isinstance(seen.error, errors.MalformedChunkError)
    assert len(seen.error.message) < 600
    assert "more characters)" in seen.error.message
    assert "'data: {xxxx" in seen.error.message


# --- errors while reading the body ----------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
        httpx.ReadTimeout("The read operation timed out"),
        httpx.ReadError("[Errno 104] Connection reset by peer"),
    ],
    ids=["disconnect", "read-timeout", "reset"],
)
def test_transport_errors_mid_stream_escape_raw_and_are_not_retried(each: Each, failure: Exception) -> None:
    """Exactly the SDK's behaviour: httpx's own exception, after the chunks that arrived."""
    for kind, seen in each([sse(data(text_chunk("a")), data(text_chunk("b"))[:10], fail=failure)]).items():
        assert seen.error is failure, kind
        assert seen.contents == ["a"], kind
        assert len(seen.requests) == 1, kind
        assert seen.response is not None, kind
        assert seen.response.is_closed, kind


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (httpx.RemoteProtocolError("cut"), errors.APIConnectionError),
        (httpx.ReadTimeout("slow"), errors.APITimeoutError),
    ],
)
def test_body_errors_without_streaming_are_retried_then_wrapped(
    each: Each, failure: Exception, expected: type[Exception]
) -> None:
    """With stream=False the body is read inside the send, so the SDK retries and wraps."""
    seen = each([sse(b'{"id":', fail=failure)], stream=False, max_retries=1)
    for kind in OURS:
        assert type(seen[kind].error) is expected, kind
        assert seen[kind].error.__cause__ is failure
        assert len(seen[kind].requests) == 2
    for kind in ("sdk", "sdk-async"):
        assert type(seen[kind].error).__name__ == expected.__name__
        assert len(seen[kind].requests) == 2


# --- status errors and retries --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (400, errors.BadRequestError),
        (401, errors.AuthenticationError),
        (403, errors.PermissionDeniedError),
        (404, errors.NotFoundError),
        (409, errors.ConflictError),
        (422, errors.UnprocessableEntityError),
        (429, errors.RateLimitError),
        (500, errors.InternalServerError),
        (503, errors.InternalServerError),
        (418, errors.APIStatusError),
        (302, errors.APIStatusError),
    ],
)
def test_status_errors_have_the_sdks_class_message_and_body(
    each: Each, code: int, cls: type[Exception]
) -> None:
    body = {"error": {"message": "Nope", "type": "invalid_request_error"}}
    seen = each([status(code, body)], max_retries=0)
    sdk_error = seen["sdk"].error
    assert isinstance(sdk_error, writerai.APIStatusError)
    assert type(sdk_error).__name__ == cls.__name__
    for kind in OURS:
        error = seen[kind].error
        assert type(error) is cls, kind
        assert isinstance(error, errors.APIStatusError)
        assert error.message == sdk_error.message == f"Error code: {code} - {body}"
        assert error.body == sdk_error.body == body
        assert error.status_code == code
        assert error.response.is_closed


@pytest.mark.parametrize(
    ("text", "message"), [("  gateway says no  ", "gateway says no"), ("", "Error code: 400")]
)
def test_status_error_with_a_text_body_uses_the_text(each: Each, text: str, message: str) -> None:
    seen = each([status(400, text)], max_retries=0)
    for kind, outcome in seen.items():
        assert isinstance(outcome.error, (errors.BadRequestError, writerai.BadRequestError)), kind
        assert outcome.error.message == message, kind


@pytest.mark.parametrize("code", [408, 409, 429, 500, 502, 503])
def test_retryable_statuses_are_retried_until_success(each: Each, code: int) -> None:
    seen = each(
        [status(code, {"error": "busy"}), status(code, {"error": "busy"}), sse(data(text_chunk("ok")) + DONE)]
    )
    for kind, outcome in seen.items():
        assert outcome.error is None, kind
        assert outcome.contents == ["ok"], kind
        assert [r.headers["x-stainless-retry-count"] for r in outcome.requests] == ["0", "1", "2"], kind
        assert len(outcome.sleeps) == 2, kind
        assert 0.75 <= outcome.sleeps[0] <= 1.0, kind
        assert 1.5 <= outcome.sleeps[1] <= 2.0, kind


def test_retries_run_out_and_the_last_error_is_raised(each: Each) -> None:
    seen = each([status(503, {"error": "first"}), status(503, {"error": "last"})], max_retries=3)
    for kind, outcome in seen.items():
        assert type(outcome.error).__name__ == "InternalServerError", kind
        assert outcome.error.body == {"error": "last"}, kind
        assert len(outcome.requests) == 4, kind
        assert len(outcome.sleeps) == 3, kind


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "0.5", "retry-after-ms": "1500"}, 1.5),
    ],
)
def test_the_wait_comes_from_the_servers_retry_headers(
    each: Each, headers: dict[str, str], wait: float
) -> None:
    seen = each([status(429, {"error": "slow down"}, headers), sse(DONE)])
    for kind, outcome in seen.items():
        assert outcome.sleeps == [wait], kind
        assert len(outcome.requests) == 2, kind


def test_retry_after_as_an_http_date_is_honoured(each: Each) -> None:
    when = email.utils.formatdate(time.time() + 20, usegmt=True)
    seen = each([status(503, None, {"retry-after": when}), sse(DONE)])
    for kind, outcome in seen.items():
        [wait] = outcome.sleeps
        assert 17 < wait <= 20, kind


def test_a_wait_over_sixty_seconds_is_replaced_by_backoff(each: Each) -> None:
    seen = each([status(429, None, {"retry-after": "120"}), sse(DONE)])
    for kind, outcome in seen.items():
        [wait] = outcome.sleeps
        assert 0.75 <= wait <= 1.0, kind


def test_x_should_retry_false_stops_a_retryable_status(each: Each) -> None:
    seen = each([status(503, {"error": "final"}, {"x-should-retry": "false"}), sse(DONE)])
    for kind, outcome in seen.items():
        assert type(outcome.error).__name__ == "InternalServerError", kind
        assert len(outcome.requests) == 1, kind
        assert outcome.sleeps == [], kind


def test_x_should_retry_true_retries_a_client_error(each: Each) -> None:
    seen = each([status(400, None, {"x-should-retry": "true"}), sse(data(text_chunk("ok")) + DONE)])
    for kind, outcome in seen.items():
        assert outcome.contents == ["ok"], kind
        assert len(outcome.requests) == 2, kind


def test_a_non_retryable_status_is_raised_at_once(each: Each) -> None:
    seen = each([status(400, {"error": "bad"}), sse(DONE)])
    for kind, outcome in seen.items():
        assert type(outcome.error).__name__ == "BadRequestError", kind
        assert len(outcome.requests) == 1, kind


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (httpx.ConnectError("refused"), errors.APIConnectionError),
        (httpx.ConnectTimeout("connect timed out"), errors.APITimeoutError),
        (httpx.ReadTimeout("no headers"), errors.APITimeoutError),
    ],
)
def test_connection_failures_are_retried_then_wrapped(
    each: Each, failure: Exception, expected: type[Exception]
) -> None:
    seen = each([raising(failure)], max_retries=2)
    for kind, outcome in seen.items():
        assert type(outcome.error).__name__ == expected.__name__, kind
        assert len(outcome.requests) == 3, kind
        assert len(outcome.sleeps) == 2, kind
        assert outcome.error.__cause__ is failure, kind
    for kind in OURS:
        assert type(seen[kind].error) is expected
        assert seen[kind].error.request is seen[kind].requests[-1]


def test_a_connection_failure_then_success_recovers(each: Each) -> None:
    seen = each([raising(httpx.ConnectError("refused")), sse(data(text_chunk("ok")) + DONE)])
    for kind, outcome in seen.items():
        assert outcome.contents == ["ok"], kind
        [wait] = outcome.sleeps
        assert 0.75 <= wait <= 1.0, kind


def test_default_retry_budget_is_the_sdks_seven(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(500)

    client = Writer(
        api_key="k", http_client=httpx.Client(transport=httpx.MockTransport(handler)), _sleep=lambda s: None
    )
    with pytest.raises(errors.InternalServerError):
        client.chat.chat(model="m", messages=MESSAGES)
    assert len(calls) == 8


# --- stream=False ---------------------------------------------------------------------------------


def test_stream_false_returns_a_chat_completion(each: Each) -> None:
    seen = each([status(200, COMPLETION)], stream=False)
    for kind in OURS:
        result = seen[kind].result
        assert isinstance(result, ChatCompletion), kind
        assert result.choices[0].message.content == "Hello"
        assert json.loads(seen[kind].requests[0].content)["stream"] is False
    assert seen["sdk"].result.choices[0].message.content == "Hello"


def test_stream_left_out_is_left_out_of_the_body() -> None:
    expected = b'{"messages":[{"role":"user","content":"Hi"}],"model":"m"}'
    assert _sent(Writer, model="m", messages=MESSAGES).content == expected
    assert _sent(writerai.Writer, model="m", messages=MESSAGES).content == expected


def test_a_stream_false_body_that_is_not_a_completion_is_a_validation_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for body in ("not json", [1]):
        seen = run("ours", [status(200, body)], monkeypatch=monkeypatch, stream=False)
        assert isinstance(seen.error, errors.APIResponseValidationError)
        assert "POST https://api.writer.com/v1/chat" in seen.error.message
        assert "chat.completion" in seen.error.message
    strict = {"_strict_response_validation": True}
    seen = run("ours", [status(200, {"id": "x"})], monkeypatch=monkeypatch, stream=False, options=strict)
    assert isinstance(seen.error, errors.APIResponseValidationError)
    assert "chat.completion" in seen.error.message


def test_a_stream_false_body_off_the_schema_is_kept_as_given(each: Each) -> None:
    body = {
        "id": "x",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "finish_reason": "eos", "message": {"role": "tool", "content": "a"}}],
    }
    seen = each([status(200, body)], stream=False)
    for kind in KINDS:
        assert seen[kind].error is None, kind
        assert seen[kind].result.to_dict() == body, kind


# --- the request ----------------------------------------------------------------------------------


def _sent(cls: Any, **call: Any) -> httpx.Request:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=COMPLETION)

    is_async = cls in (AsyncWriter, writerai.AsyncWriter)
    transport = httpx.MockTransport(handler)

    if not is_async:
        with cls(api_key="key", http_client=httpx.Client(transport=transport)) as client:
            client.chat.chat(**call)
        return sent[0]

    async def main() -> None:
        async with cls(api_key="key", http_client=httpx.AsyncClient(transport=transport)) as client:
            await client.chat.chat(**call)

    asyncio.run(main())
    return sent[0]


VERSION_HEADERS = {"user-agent", "x-stainless-package-version"}


@pytest.mark.parametrize(("ours", "sdk"), [(Writer, writerai.Writer), (AsyncWriter, writerai.AsyncWriter)])
def test_request_matches_the_sdks_byte_for_byte_but_for_the_version(ours: Any, sdk: Any) -> None:
    call = {
        "model": "palmyra-x5",
        "messages": [{"role": "user", "content": "é ☃"}],
        "stream": True,
        "temperature": 0.3,
        "max_tokens": 50,
        "stop": ["\n"],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
        "extra_headers": {"X-Trace": "1"},
        "extra_body": {"custom": True},
        "extra_query": {"q": "v"},
        "timeout": 12.5,
    }
    a, b = _sent(ours, **call), _sent(sdk, **call)
    assert a.method == b.method == "POST"
    assert a.url == b.url == httpx.URL(URL + "?q=v")
    assert a.content == b.content
    ours_headers = [(k, v) for k, v in a.headers.items() if k not in VERSION_HEADERS]
    sdk_headers = [(k, v) for k, v in b.headers.items() if k not in VERSION_HEADERS]
    assert ours_headers == sdk_headers
    assert a.headers["authorization"] == "Bearer key"
    assert a.headers["x-stainless-read-timeout"] == "12.5"
    assert a.headers["user-agent"] == f"{ours.__name__}/Python 0.1.0"
    assert a.extensions["timeout"] == b.extensions["timeout"]


def test_default_timeout_is_the_sdks() -> None:
    request = _sent(Writer, model="m", messages=MESSAGES)
    assert (
        request.headers["x-stainless-read-timeout"]
        == _sent(writerai.Writer, model="m", messages=MESSAGES).headers["x-stainless-read-timeout"]
    )
    assert request.extensions["timeout"] == {"connect": 5.0, "read": 180, "write": 180, "pool": 180}


def test_a_custom_http_clients_timeout_is_kept_and_none_sends_no_header() -> None:
    http = httpx.Client(
        timeout=httpx.Timeout(7.0),
        transport=httpx.MockTransport(lambda r: httpx.Response(200, json=COMPLETION)),
    )
    assert (
        Writer(api_key="k", http_client=http).timeout
        == writerai.Writer(api_key="k", http_client=http).timeout
    )
    request = _sent(Writer, model="m", messages=MESSAGES, timeout=None)
    assert "x-stainless-read-timeout" not in request.headers
    assert request.extensions["timeout"] == {"connect": None, "read": None, "write": None, "pool": None}


def test_caller_set_retry_count_header_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = run(
        "ours",
        [status(500), sse(DONE)],
        monkeypatch=monkeypatch,
        extra_headers={"X-Stainless-Retry-Count": "99"},
    )
    assert [r.headers["x-stainless-retry-count"] for r in seen.requests] == ["99", "99"]


# --- configuration --------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [Writer, AsyncWriter, writerai.Writer, writerai.AsyncWriter])
def test_missing_api_key_is_the_sdks_error(cls: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WRITER_API_KEY", raising=False)
    with pytest.raises(
        (errors.WriterError, writerai.WriterError), match="WRITER_API_KEY environment variable"
    ):
        cls()


def test_environment_supplies_key_base_url_and_custom_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WRITER_API_KEY", "from-env")
    monkeypatch.setenv("WRITER_BASE_URL", "http://localhost:8123/proxy")
    monkeypatch.setenv("WRITER_CUSTOM_HEADERS", "X-Team: kit\nX-Env: test")
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=COMPLETION)

    client = Writer(http_client=httpx.Client(transport=httpx.MockTransport(handler)))
    assert client.api_key == "from-env"
    assert client.base_url == httpx.URL("http://localhost:8123/proxy/")
    client.chat.chat(model="m", messages=MESSAGES)
    assert sent[0].url == httpx.URL("http://localhost:8123/proxy/v1/chat")
    assert sent[0].headers["authorization"] == "Bearer from-env"
    assert (sent[0].headers["x-team"], sent[0].headers["x-env"]) == ("kit", "test")


SDK_MAJOR = int(writerai.__version__.split(".")[0])


def test_environment_headers_follow_writerai_3_whichever_sdk_is_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """writerai 3 reads WRITER_CUSTOM_HEADERS; 2.x read WRITER_SDK_HEADER_<NAME> instead. The kit is 3's."""
    monkeypatch.setenv("WRITER_CUSTOM_HEADERS", "X-Team: kit")
    monkeypatch.setenv("WRITER_SDK_HEADER_X_OLD_STYLE", "old")
    ours = _sent(Writer, model="m", messages=MESSAGES)
    sdk = _sent(writerai.Writer, model="m", messages=MESSAGES)
    assert (ours.headers.get("x-team"), ours.headers.get("x-old-style")) == ("kit", None)
    if SDK_MAJOR >= 3:
        assert (sdk.headers.get("x-team"), sdk.headers.get("x-old-style")) == ("kit", None)
    else:
        assert (sdk.headers.get("x-team"), sdk.headers.get("x-old-style")) == (None, "old")
    assert sdk.headers["x-stainless-package-version"] == writerai.__version__


def test_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WRITER_API_KEY", "from-env")
    monkeypatch.setenv("WRITER_BASE_URL", "http://env.invalid")
    client = Writer(api_key="given", base_url="http://given.invalid/v2/")
    assert (client.api_key, client.base_url) == ("given", httpx.URL("http://given.invalid/v2/"))
    client.close()
    assert client.is_closed()


def test_default_base_url_is_the_public_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WRITER_BASE_URL", raising=False)
    with Writer(api_key="k") as client, writerai.Writer(api_key="k") as sdk:
        assert client.base_url == sdk.base_url == httpx.URL("https://api.writer.com")
    assert client.is_closed()


def test_with_options_copies_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    client = Writer(api_key="k", max_retries=3, default_headers={"X-A": "1"})
    other = client.with_options(max_retries=0, default_headers={"X-B": "2"}, timeout=4.0)
    assert (other.api_key, other.max_retries, other.timeout) == ("k", 0, 4.0)
    assert other._custom_headers == {"X-A": "1", "X-B": "2"}
    assert client.max_retries == 3


def test_async_client_closes_its_http_client() -> None:
    async def main() -> AsyncWriter:
        async with AsyncWriter(api_key="k") as client:
            assert not client.is_closed()
        return client

    assert asyncio.run(main()).is_closed()


def test_http_client_of_the_wrong_kind_is_refused() -> None:
    with pytest.raises(TypeError, match=r"httpx\.Client"):
        Writer(api_key="k", http_client=httpx.AsyncClient())  # type: ignore[arg-type]


# --- the stream objects ---------------------------------------------------------------------------


def test_closing_a_stream_early_closes_the_response(monkeypatch: pytest.MonkeyPatch) -> None:
    body = Body([data(text_chunk("a")), data(text_chunk("b")), DONE])
    http = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, stream=body)))
    client = Writer(api_key="k", http_client=http)
    with client.chat.chat(model="m", messages=MESSAGES, stream=True) as stream:
        assert isinstance(stream, Stream)
        assert next(stream).choices[0].delta.content == "a"
    assert stream.response.is_closed
    assert body.closed


def test_async_stream_is_an_async_iterator_and_context_manager() -> None:
    body = Body([data(text_chunk("a")), data(text_chunk("b")), DONE])

    async def main() -> list[str | None]:
        http = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200, stream=body)))
        async with AsyncWriter(api_key="k", http_client=http) as client:
            stream = await client.chat.chat(model="m", messages=MESSAGES, stream=True)
            assert isinstance(stream, AsyncStream)
            async with stream:
                first = await stream.__anext__()
                rest = [c async for c in stream]
            assert stream.response.is_closed
        return [c.choices[0].delta.content for c in [first, *rest]]

    assert asyncio.run(main()) == ["a", "b"]
    assert body.closed


# --- chat.stream ----------------------------------------------------------------------------------


class Weather(pydantic.BaseModel):
    city: str
    degrees: int


STRICT_TOOL = {
    "type": "function",
    "function": {"name": "lookup", "parameters": {"type": "object"}, "strict": True},
}
ONE_CHUNK = sse(data(text_chunk("x")) + DONE)
LOOSE_TOOL = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}


def _stream_through(cls: Any, reply: Reply, **call: Any) -> tuple[httpx.Request, Any]:
    """Enter ``chat.stream`` on a client of ``cls``; the request sent and the final completion."""
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return reply(request)

    transport = httpx.MockTransport(handler)
    call = {"model": "palmyra-x5", "messages": MESSAGES, **call}
    if cls in (Writer, writerai.Writer):
        with (
            cls(api_key="key", http_client=httpx.Client(transport=transport)) as client,
            client.chat.stream(**call) as stream,
        ):
            return sent[0], stream.get_final_completion()

    async def main() -> Any:
        async with (
            cls(api_key="key", http_client=httpx.AsyncClient(transport=transport)) as client,
            client.chat.stream(**call) as stream,
        ):
            return await stream.get_final_completion()

    final = asyncio.run(main())
    return sent[0], final


@pytest.mark.parametrize(("ours", "sdk"), [(Writer, writerai.Writer), (AsyncWriter, writerai.AsyncWriter)])
def test_chat_stream_sends_the_sdks_helper_header_and_forces_streaming(ours: Any, sdk: Any) -> None:
    reply = sse(data(text_chunk("Hel")) + data(text_chunk("lo")) + DONE)
    (a, final), (b, sdk_final) = _stream_through(ours, reply), _stream_through(sdk, reply)
    assert a.headers["x-stainless-helper-method"] == b.headers["x-stainless-helper-method"] == "chat.stream"
    assert a.content == b.content
    assert json.loads(a.content)["stream"] is True
    assert final.choices[0].message.content == sdk_final.choices[0].message.content == "Hello"


def test_chat_stream_lets_the_caller_override_the_helper_header() -> None:
    request, _ = _stream_through(Writer, ONE_CHUNK, extra_headers={"X-Stainless-Helper-Method": "mine"})
    assert request.headers.get_list("x-stainless-helper-method") == ["mine"]


@pytest.mark.parametrize("cls", [Writer, AsyncWriter])
def test_chat_stream_sends_a_model_as_strict_json_schema_and_parses_into_it(cls: Any) -> None:
    reply = sse(data(text_chunk('{"city": "Oslo", ')) + data(text_chunk('"degrees": 4}')) + DONE)
    request, final = _stream_through(cls, reply, response_format=Weather, tools=[STRICT_TOOL])
    sent_format = json.loads(request.content)["response_format"]
    assert sent_format["type"] == "json_schema"
    assert sent_format["json_schema"]["name"] == "Weather"
    assert sent_format["json_schema"]["strict"] is True
    assert set(sent_format["json_schema"]["schema"]["properties"]) == {"city", "degrees"}
    assert json.loads(request.content)["tools"] == [STRICT_TOOL]
    assert final.choices[0].message.parsed == Weather(city="Oslo", degrees=4)


def test_chat_stream_passes_a_response_format_dict_through() -> None:
    response_format = {"type": "json_object"}
    request, final = _stream_through(
        Writer, sse(data(text_chunk("{}")) + DONE), response_format=response_format
    )
    assert json.loads(request.content)["response_format"] == response_format
    assert final.choices[0].message.parsed is None


def test_chat_stream_with_a_model_refuses_tools_that_cannot_be_parsed() -> None:
    client = Writer(api_key="k", http_client=httpx.Client(transport=httpx.MockTransport(sse(DONE))))
    with pytest.raises(ValueError, match="`lookup` is not strict"):
        client.chat.stream(model="m", messages=MESSAGES, response_format=Weather, tools=[LOOSE_TOOL])


def test_chat_stream_without_a_model_accepts_any_tools_as_the_sdk_does() -> None:
    request, _ = _stream_through(Writer, ONE_CHUNK, tools=iter([LOOSE_TOOL]))
    assert json.loads(request.content)["tools"] == [LOOSE_TOOL]
    sdk_request, _ = _stream_through(writerai.Writer, ONE_CHUNK, tools=[LOOSE_TOOL])
    assert request.content == sdk_request.content

"""The attempt loop, pinned against writerai: which statuses and failures are retried, how long it waits, what is raised when attempts run out, and how a stream=False body is read."""

from __future__ import annotations

import email.utils
import json
import time

import httpx
import pytest
import writerai
from chunks import text_chunk
from fourclients import COMPLETION, DONE, KINDS, MESSAGES, OURS, Each, data, raising, run, sse, status
from sdkparity import chat_call, through
from statuses import STATUS_CLASSES

from writer_stream_testkit import errors
from writer_stream_testkit.client import Writer
from writer_stream_testkit.wire.types import ChatCompletion


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


@pytest.mark.parametrize(("code", "cls"), STATUS_CLASSES)
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


def test_stream_false_returns_a_chat_completion(each: Each) -> None:
    seen = each([status(200, COMPLETION)], stream=False)
    for kind in OURS:
        result = seen[kind].result
        assert isinstance(result, ChatCompletion), kind
        assert result.choices[0].message.content == "Hello"
        assert json.loads(seen[kind].requests[0].content)["stream"] is False
    assert seen["sdk"].result.choices[0].message.content == "Hello"


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


# --- error bodies nested past the recursion limit -------------------------------------------------


@pytest.mark.parametrize("depth", [50, 100_000])
def test_an_error_body_nested_past_the_recursion_limit_is_the_sdks_status_error(depth: int) -> None:
    text = "[" * depth + "]" * depth
    seen = {
        kind: through(
            kind, chat_call(model="m", messages=MESSAGES), reply=lambda r: httpx.Response(400, text=text)
        )
        for kind in KINDS
    }
    ours, sdk = seen["ours"].error, seen["sdk"].error
    assert isinstance(ours, errors.BadRequestError)
    assert isinstance(sdk, writerai.BadRequestError)
    assert (ours.message, type(ours.body)) == (sdk.message, type(sdk.body))
    assert ours.body == sdk.body
    assert type(seen["ours-async"].error) is type(ours)
    assert seen["ours-async"].error.message == ours.message

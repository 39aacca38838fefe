"""Our Writer client over httpx.MockTransport, sync and async, pinned against writerai.

Most tests run one reply through four clients: ours and the SDK's, each sync
and async. Where the SDK's behaviour is the contract (attempt counts,
exception classes, messages, what escapes mid-stream) the test asserts the
same outcome from writerai, so a change in either shows up here.
"""

from __future__ import annotations

import json

import pytest
import writerai
from chunks import text_chunk
from fourclients import COMPLETION, DONE, KINDS, OURS, URL, Each, data, run, sse

from writer_stream_testkit import errors

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

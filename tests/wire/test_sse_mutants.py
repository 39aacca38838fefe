"""SSE decoding and encoding where mutation testing found no test looking: each test pins a behaviour
that a one-token change to ``wire/sse.py`` broke unseen (``python3 tasks.py mutate wire/sse.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest

from writer_stream_testkit.wire.sse import (
    ServerSentEvent,
    SSEDecoder,
    encode_chunk,
    encode_comment,
    encode_event,
)


def feed_all(decoder: SSEDecoder, pieces: Iterable[bytes]) -> list[ServerSentEvent]:
    return [event for piece in pieces for event in decoder.feed(piece)]


# --- a byte order mark is dropped only at the very start of the stream --------------------------------


def test_a_bom_at_the_start_of_a_later_feed_is_kept() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n\n") == [ServerSentEvent(data="a")]
    # Not the stream's start: "\ufeffdata" is an unknown field, so the block dispatches nothing.
    assert decoder.feed(b"\xef\xbb\xbfdata: b\n\n") == []
    assert decoder.feed(b"data: c\n\n") == [ServerSentEvent(data="c")]


def test_a_bom_after_an_empty_first_feed_is_still_the_streams_start() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"") == []
    assert decoder.feed(b"\xef\xbb\xbfdata: a\n\n") == [ServerSentEvent(data="a")]


def test_a_feed_holding_only_the_bom_is_dropped_whole() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"\xef\xbb\xbf") == []
    assert decoder.feed(b"data: a\n\n") == [ServerSentEvent(data="a")]
    decoder.flush()
    assert not decoder.incomplete


# --- the last event id -------------------------------------------------------------------------------


def test_last_event_id_is_unchanged_by_a_feed_that_ends_no_block() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"id: 1\ndata: a\n\n")
    assert decoder.feed(b"id: 2\ndata: b\n") == []
    assert decoder.last_event_id == "1"
    assert decoder.feed(b"\n") == [ServerSentEvent(data="b", id="2")]
    assert decoder.last_event_id == "2"


def test_an_id_line_split_across_feeds_is_reported_after_its_block() -> None:
    decoder = SSEDecoder()
    assert feed_all(decoder, [b"i", b"d: 4", b"2\nda", b"ta: x\n", b"\n"]) == [
        ServerSentEvent(data="x", id="42")
    ]
    assert decoder.last_event_id == "42"


# --- dataless_events=True: a bare event keeps its block's id and retry --------------------------------


def test_a_bare_event_carries_the_id_and_retry_of_its_block() -> None:
    decoder = SSEDecoder(dataless_events=True)
    events = decoder.feed(b"id: 5\nretry: 300\nevent: error\n\n")
    assert events == [ServerSentEvent(data="", event="error", id="5", retry=300)]
    assert (decoder.last_event_id, decoder.retry, decoder.event_count) == ("5", 300, 1)
    # The next block starts afresh: no event name, no retry; the id persists.
    assert decoder.feed(b"data: x\n\n") == [ServerSentEvent(data="x", event=None, id="5", retry=None)]


def test_a_bare_event_after_an_id_of_an_earlier_block_keeps_that_id() -> None:
    decoder = SSEDecoder(dataless_events=True)
    assert decoder.feed(b"id: 9\ndata: a\n\nevent: ping\n\n") == [
        ServerSentEvent(data="a", id="9"),
        ServerSentEvent(data="", event="ping", id="9"),
    ]


def test_a_data_line_split_across_feeds_leaves_the_stream_incomplete_until_its_blank_line() -> None:
    decoder = SSEDecoder()
    assert feed_all(decoder, [b"data: ab", b"cd\n"]) == []
    decoder.flush()
    assert decoder.incomplete  # a field line arrived, its block never ended
    decoder = SSEDecoder()
    assert feed_all(decoder, [b"data: ab", b"cd\n", b"\n"]) == [ServerSentEvent(data="abcd")]
    decoder.flush()
    assert not decoder.incomplete


# --- the encoders' messages name the function and the fix --------------------------------------------

LINE_ENDS = 'use "\\n", "\\r" or "\\r\\n".'


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: encode_event("x", newline="\n\n"),
            f"encode_event() got newline='\\n\\n', which is not an SSE line end; {LINE_ENDS}",
        ),
        (
            lambda: encode_event("x", event="a\nb"),
            "encode_event() got an event name containing a line break ('a\\nb'); an SSE field is one line, "
            "so remove the CR/LF from the event name.",
        ),
        (
            lambda: encode_event("x", id="a\rb"),
            "encode_event() got an id containing a line break ('a\\rb'); an SSE field is one line, "
            "so remove the CR/LF from the id.",
        ),
        (
            lambda: encode_event("x", id="a\0b"),
            "encode_event() got an id containing NUL ('a\\x00b'); decoders ignore such an id, "
            "so remove the NUL character.",
        ),
        (
            lambda: encode_event("x", retry=-1),
            "encode_event() got retry=-1; retry is a reconnection delay in milliseconds, "
            "so pass a non-negative int.",
        ),
        (
            lambda: encode_chunk("{}", newline="\t"),
            f"encode_chunk() got newline='\\t', which is not an SSE line end; {LINE_ENDS}",
        ),
        (
            lambda: encode_chunk('{"a":\r1}'),
            "encode_chunk() got a chunk string containing a line break ('{\"a\":\\r1}'); an SSE field is "
            "one line, so remove the CR/LF from the chunk string.",
        ),
        (
            lambda: encode_chunk({"x": float("inf")}),
            "encode_chunk() could not serialise the chunk as JSON (Out of range float values are not JSON "
            "compliant); pass only JSON values (dict, list, str, finite numbers, bool, None), e.g. a "
            "pydantic model's .model_dump(mode='json').",
        ),
        (
            lambda: encode_comment(newline=" "),
            f"encode_comment() got newline=' ', which is not an SSE line end; {LINE_ENDS}",
        ),
        (
            lambda: encode_comment("a\rb"),
            "encode_comment() got a comment containing a line break ('a\\rb'); an SSE field is one line, "
            "so remove the CR/LF from the comment.",
        ),
    ],
)
def test_an_encoder_refusal_says_which_function_what_and_how_to_fix_it(
    call: Callable[[], object], message: str
) -> None:
    with pytest.raises(ValueError) as raised:
        call()
    assert str(raised.value) == message


def test_an_unserialisable_chunk_keeps_its_error_type_and_message() -> None:
    with pytest.raises(TypeError) as raised:
        encode_chunk({"x": {1, 2}})
    assert str(raised.value) == (
        "encode_chunk() could not serialise the chunk as JSON (Object of type set is not JSON serializable); "
        "pass only JSON values (dict, list, str, finite numbers, bool, None), e.g. a pydantic model's "
        ".model_dump(mode='json')."
    )
    assert isinstance(raised.value.__cause__, TypeError)


# --- the decoder's state before anything is dispatched ---------------------------------------------


def test_a_fresh_decoder_reports_nothing_yet() -> None:
    decoder = SSEDecoder()
    assert (decoder.last_event_id, decoder.retry, decoder.incomplete) == (None, None, False)
    assert decoder.incomplete is False
    assert decoder.feed(b"data: a") == []  # no block has ended
    assert (decoder.last_event_id, decoder.retry) == (None, None)


def test_a_later_data_line_split_across_feeds_joins_its_block() -> None:
    decoder = SSEDecoder()
    assert feed_all(decoder, [b"data: a\ndata: bb", b"b\ndata: c", b"c\n\n"]) == [
        ServerSentEvent(data="a\nbbb\ncc")
    ]


def test_feeding_after_flush_or_feeding_text_says_what_to_do() -> None:
    closed = SSEDecoder()
    closed.flush()
    with pytest.raises(RuntimeError) as after_flush:
        closed.feed(b"data: a\n\n")
    assert str(after_flush.value) == (
        "SSEDecoder.feed() was called after flush(); a decoder reads one stream, "
        "so create a new SSEDecoder for the next one."
    )
    with pytest.raises(TypeError) as text:
        SSEDecoder().feed("data: a\n\n")  # type: ignore[arg-type]
    assert str(text.value) == (
        "SSEDecoder.feed() takes bytes, not str; pass the raw response bytes "
        "or encode the text first with text.encode('utf-8')."
    )


def test_a_line_whose_later_piece_looks_like_data_is_not_a_data_line() -> None:
    decoder = SSEDecoder()
    # "x" + "data: y" is one line, "xdata: y": an unknown field, so nothing is dispatched.
    assert feed_all(decoder, [b"x", b"data: y\n\n"]) == []
    assert feed_all(decoder, [b"da", b"ta: z\n\n"]) == [ServerSentEvent(data="z")]

from __future__ import annotations

from collections.abc import Iterable
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from writerai._streaming import SSEDecoder as SDKDecoder

from writer_stream_testkit.wire.sse import (
    DONE,
    DONE_DATA,
    ServerSentEvent,
    SSEDecoder,
    encode_chunk,
    encode_comment,
    encode_event,
)

RECORDINGS = sorted((Path(__file__).parents[1] / "data" / "recorded-sse").glob("*.sse"))
NEWLINES = ("\n", "\r", "\r\n")


def decode(pieces: Iterable[bytes]) -> tuple[list[ServerSentEvent], bool]:
    """Feed every piece, flush, and return the events and the `incomplete` flag."""
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    for piece in pieces:
        events += decoder.feed(piece)
    events += decoder.flush()
    return events, decoder.incomplete


def split_at(body: bytes, cuts: Iterable[int]) -> list[bytes]:
    bounds = [0, *sorted(set(cuts)), len(body)]
    return [body[start:end] for start, end in pairwise(bounds)]


def one_byte_at_a_time(body: bytes) -> list[bytes]:
    return [body[index : index + 1] for index in range(len(body))]


def datas(body: bytes) -> list[str]:
    return [event.data for event in decode([body])[0]]


# --- line ends -----------------------------------------------------------------------


def test_lf_cr_and_crlf_each_end_a_line() -> None:
    assert datas(b"data: a\n\ndata: b\r\rdata: c\r\n\r\ndata: d\n\r") == ["a", "b", "c", "d"]


def test_crlf_split_across_feeds_is_one_line_end() -> None:
    # Were CR and LF two line ends, the LF would be a blank line dispatching "a" alone.
    events, _ = decode([b"data: a\r", b"\ndata: b\r\n\r\n"])
    assert [event.data for event in events] == ["a\nb"]


def test_cr_then_empty_feeds_then_lf_is_still_one_line_end() -> None:
    events, _ = decode([b"data: a\r", b"", b"\n", b"data: b\r", b"\r"])
    assert [event.data for event in events] == ["a\nb"]


# --- byte order mark -------------------------------------------------------------------


def test_leading_bom_is_skipped() -> None:
    assert datas(b"\xef\xbb\xbfdata: x\n\n") == ["x"]


def test_leading_bom_split_across_feeds_is_skipped() -> None:
    events, _ = decode([b"\xef", b"\xbb", b"\xbfdata: x\n\n"])
    assert [event.data for event in events] == ["x"]


def test_bom_after_the_start_of_the_stream_is_kept() -> None:
    # Later, U+FEFF is just a character: it makes "\ufeffdata" an unknown field name.
    assert datas(b"data: x\n\n\xef\xbb\xbfdata: y\n\ndata: \xef\xbb\xbfz\n\n") == ["x", "\ufeffz"]


# --- fields ------------------------------------------------------------------------------


def test_comment_lines_are_ignored() -> None:
    assert datas(b": hello\ndata: x\n:\n: data: y\n\n") == ["x"]


def test_only_one_space_after_the_colon_is_stripped() -> None:
    assert datas(b"data:x\n\ndata: x\n\ndata:  x\n\ndata:\tx\n\n") == ["x", "x", " x", "\tx"]


def test_line_without_colon_is_a_field_with_empty_value() -> None:
    events, _ = decode([b"event\ndata\n\n"])
    assert events == [ServerSentEvent(data="", event=None)]  # an empty event name is the default


def test_multiline_data_is_joined_with_newlines() -> None:
    assert datas(b"data: a\ndata:b\ndata\ndata: \n\n") == ["a\nb\n\n"]


def test_event_field_names_the_event_and_resets_after_dispatch() -> None:
    events, _ = decode([b"event: ping\ndata: 1\n\ndata: 2\n\n"])
    assert [(event.data, event.event) for event in events] == [("1", "ping"), ("2", None)]


def test_last_event_id_persists_across_events() -> None:
    decoder = SSEDecoder()
    events = decoder.feed(b"data: a\n\nid: 7\ndata: b\n\ndata: c\n\nid\ndata: d\n\n")
    assert [event.id for event in events] == [None, "7", "7", ""]
    assert decoder.last_event_id == ""


def test_id_containing_nul_is_ignored() -> None:
    events, _ = decode([b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n"])
    assert [event.id for event in events] == ["1", "1"]


def test_retry_is_used_only_when_all_ascii_digits() -> None:
    decoder = SSEDecoder()
    body = "retry: 1500\ndata: a\n\nretry: 15x\ndata: b\n\nretry:  20\ndata: c\n\nretry: ١٢\ndata: d\n\n"
    events = decoder.feed(body.encode())
    assert [event.retry for event in events] == [1500, None, None, None]
    assert decoder.retry == 1500


def test_retry_too_long_for_int_is_ignored_without_crashing() -> None:
    events, _ = decode([b"retry: " + b"9" * 10_000 + b"\ndata: a\n\n"])
    assert events == [ServerSentEvent(data="a")]


def test_retry_in_a_block_without_data_still_updates_the_decoder() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"retry: 250\n\ndata: a\n\n") == [ServerSentEvent(data="a")]
    assert decoder.retry == 250


def test_unknown_fields_are_ignored_and_names_are_case_sensitive() -> None:
    assert datas(b"foo: bar\nDATA: x\nData: y\ndata: z\n\n") == ["z"]


def test_blank_line_dispatches_the_event() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n") == []
    assert decoder.feed(b"\n") == [ServerSentEvent(data="a")]


def test_block_without_data_produces_no_event_and_forgets_its_event_name() -> None:
    events, _ = decode([b"event: ping\n\nid: 3\n\nretry: 10\n\n: hi\n\n\n\ndata: x\n\n"])
    assert events == [ServerSentEvent(data="x", event=None, id="3", retry=None)]


def test_empty_data_field_still_produces_an_event() -> None:
    assert datas(b"data:\n\n") == [""]


# --- text decoding -------------------------------------------------------------------------


def test_utf8_character_split_across_feeds_decodes_whole() -> None:
    body = "data: €😀\n\n".encode()
    for cut in range(len(body)):
        events, _ = decode([body[:cut], body[cut:]])
        assert [event.data for event in events] == ["€😀"], f"cut at byte {cut}"


def test_invalid_utf8_is_replaced_with_replacement_character() -> None:
    assert datas(b"data: a\xffb\n\ndata: \xe2\x82\n\ndata: \xe2\x82x\n\n") == [
        "a\ufffdb",
        "\ufffd",
        "\ufffdx",
    ]


def test_json_parses_the_data() -> None:
    assert ServerSentEvent(data='{"a": [1, "é"]}').json() == {"a": [1, "é"]}


# --- end of stream -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "tail",
    [
        b"data: b\n",
        b"data: b",
        b"event: x\n",
        b"id: 4\n",
        b"data: \xe2\x82",
        b":comment without its line end",
    ],
)
def test_flush_discards_a_partial_event_and_sets_incomplete(tail: bytes) -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n\n" + tail) == [ServerSentEvent(data="a")]
    assert not decoder.incomplete
    assert decoder.flush() == []
    assert decoder.incomplete


@pytest.mark.parametrize(
    "body", [b"", b"data: a\n\n", b"data: a\n\n: keep-alive\n", b"data: a\r\r", b"\xef\xbb\xbf", b"\n\n\n"]
)
def test_flush_after_a_complete_stream_is_not_incomplete(body: bytes) -> None:
    decoder = SSEDecoder()
    decoder.feed(body)
    assert decoder.flush() == []
    assert not decoder.incomplete


def test_flush_twice_is_harmless() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: a")
    assert decoder.flush() == []
    assert decoder.flush() == []
    assert decoder.incomplete


def test_feed_after_flush_is_refused_with_advice() -> None:
    decoder = SSEDecoder()
    decoder.flush()
    with pytest.raises(RuntimeError, match=r"after flush\(\).*create a new SSEDecoder"):
        decoder.feed(b"data: a\n\n")


def test_feed_refuses_str_with_advice() -> None:
    with pytest.raises(TypeError, match=r"takes bytes, not str.*encode"):
        SSEDecoder().feed("data: a\n\n")  # type: ignore[arg-type]


def test_counts_events_and_bytes_for_error_messages() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: a\n\ndata: b\n\nda")
    decoder.feed(b"ta: c\n\n")
    assert (decoder.event_count, decoder.byte_count) == (3, 27)


# --- encoders ------------------------------------------------------------------------------


def test_encode_chunk_writes_compact_json_on_one_data_line() -> None:
    assert encode_chunk({"a": "é\n", "b": [1, None]}) == 'data: {"a":"é\\n","b":[1,null]}\n\n'.encode()


def test_encode_chunk_sends_a_string_as_is() -> None:
    assert encode_chunk(DONE_DATA) == DONE
    assert encode_chunk('{"x":1}', newline="\r\n") == b'data: {"x":1}\r\n\r\n'


def test_done_is_the_encoded_done_event() -> None:
    assert encode_event(DONE_DATA) == DONE
    assert datas(DONE) == [DONE_DATA]


@pytest.mark.parametrize(
    ("chunk", "error"), [({"x": float("nan")}, ValueError), ({"x": object()}, TypeError)]
)
def test_encode_chunk_names_json_it_cannot_write(chunk: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error, match=r"could not serialise the chunk as JSON.*model_dump"):
        encode_chunk(chunk)


def test_encode_chunk_refuses_a_string_with_line_breaks() -> None:
    with pytest.raises(ValueError, match="chunk string containing a line break"):
        encode_chunk('{"a":\n1}')


def test_encode_event_writes_fields_then_data_lines_with_the_chosen_newline() -> None:
    encoded = encode_event("a\nb", event="e", id="1", retry=5, newline="\r\n")
    assert encoded == b"event: e\r\nid: 1\r\nretry: 5\r\ndata: a\r\ndata: b\r\n\r\n"


def test_encode_event_turns_cr_in_data_into_line_breaks() -> None:
    assert encode_event("a\rb\r\nc") == b"data: a\ndata: b\ndata: c\n\n"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"newline": "\n\n"}, "not an SSE line end"),
        ({"event": "a\nb"}, "event name containing a line break"),
        ({"id": "a\rb"}, "id containing a line break"),
        ({"id": "a\0b"}, "id containing NUL"),
        ({"retry": -1}, "non-negative int"),
        ({"retry": True}, "non-negative int"),
    ],
)
def test_encode_event_refuses_what_cannot_be_decoded_back(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        encode_event("x", **kwargs)  # type: ignore[arg-type]


def test_encode_comment_writes_a_line_that_decodes_to_nothing() -> None:
    assert encode_comment() == b":\n"
    assert encode_comment("keep-alive", newline="\r") == b": keep-alive\r"
    with pytest.raises(ValueError, match="comment containing a line break"):
        encode_comment("a\nb")
    events, incomplete = decode([encode_comment("ping") + encode_comment() + DONE])
    assert (events, incomplete) == ([ServerSentEvent(data=DONE_DATA)], False)


# --- properties ----------------------------------------------------------------------------

line_text = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=12)
field_line = st.one_of(
    st.builds(lambda value: f"data: {value}", line_text),
    st.builds(lambda value: f"data:{value}", line_text),
    st.just("data"),
    st.builds(lambda value: f"event: {value}", line_text),
    st.builds(lambda value: f"id: {value}", line_text),
    st.builds(lambda value: f"retry: {value}", st.integers(0, 10**6).map(str) | line_text),
    st.builds(lambda value: f":{value}", line_text),
    st.builds(lambda value: f"{value}", line_text),
)


@st.composite
def sse_streams(draw: st.DrawFn) -> bytes:
    """Streams of fields and blank lines with mixed line ends, non-ASCII and bad bytes."""
    lines = draw(st.lists(st.one_of(field_line, st.just("")), max_size=30))
    parts = [b"\xef\xbb\xbf"] if draw(st.booleans()) else []
    for line in lines:
        parts.append(line.encode())
        if draw(st.integers(0, 9)) == 0:
            parts.append(draw(st.sampled_from([b"\xff", b"\xe2\x82", b"\xc3"])))
        parts.append(draw(st.sampled_from(NEWLINES)).encode())
    if draw(st.booleans()):
        parts.append(draw(field_line).encode())  # an unfinished last line
    return b"".join(parts)


@settings(max_examples=300, deadline=None)
@given(body=sse_streams(), cuts=st.lists(st.integers(0, 400), max_size=20))
def test_any_split_of_a_stream_decodes_like_the_whole(body: bytes, cuts: list[int]) -> None:
    whole = decode([body])
    assert decode(split_at(body, (cut for cut in cuts if cut <= len(body)))) == whole
    assert decode(one_byte_at_a_time(body)) == whole


event_names = st.none() | line_text
event_ids = st.none() | line_text.filter(lambda text: "\0" not in text)
event_datas = st.text(st.characters(codec="utf-8", exclude_characters="\r"), max_size=40)


@settings(max_examples=300, deadline=None)
@given(
    events=st.lists(
        st.tuples(
            event_datas, event_names, event_ids, st.none() | st.integers(0, 10**9), st.sampled_from(NEWLINES)
        ),
        max_size=8,
    ),
    cuts=st.lists(st.integers(0, 600), max_size=10),
)
def test_encoded_events_decode_back_to_the_same_events(
    events: list[tuple[str, str | None, str | None, int | None, str]], cuts: list[int]
) -> None:
    body = b"".join(
        encode_event(data, event=event, id=id_, retry=retry, newline=newline)
        for data, event, id_, retry, newline in events
    )
    expected = []
    last_id = None
    for data, event, id_, retry, _ in events:
        last_id = id_ if id_ is not None else last_id  # the spec keeps the last id
        # An empty event name means the default event, as WHATWG and the SDK say.
        expected.append(ServerSentEvent(data=data, event=event or None, id=last_id, retry=retry))
    assert decode(split_at(body, (cut for cut in cuts if cut <= len(body)))) == (expected, False)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | line_text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(line_text, children, max_size=3),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(
    chunks=st.lists(st.dictionaries(line_text, json_values, max_size=4), max_size=6),
    newline=st.sampled_from(NEWLINES),
)
def test_encoded_chunks_decode_back_to_the_same_json(chunks: list[dict[str, object]], newline: str) -> None:
    body = b"".join(encode_chunk(chunk, newline=newline) for chunk in chunks)
    events, incomplete = decode(one_byte_at_a_time(body))
    assert [event.json() for event in events] == chunks
    assert not incomplete


# --- differential against the official SDK ---------------------------------------------------


def sdk_datas(body: bytes, size: int) -> list[str]:
    reads = [body[start : start + size] for start in range(0, len(body), size)]
    return [event.data for event in SDKDecoder().iter_bytes(iter(reads)) if event.data]


@pytest.mark.parametrize("recording", RECORDINGS, ids=lambda path: path.name)
@pytest.mark.parametrize("size", [4096, 1])
def test_recorded_streams_decode_like_the_sdk(recording: Path, size: int) -> None:
    body = recording.read_bytes()
    events, incomplete = decode(body[start : start + size] for start in range(0, len(body), size))
    assert [event.data for event in events] == sdk_datas(body, size)
    assert not incomplete
    assert all(event.data == DONE_DATA or isinstance(event.json(), dict) for event in events)
    assert (events[-1].data == DONE_DATA) == (recording.name != "plain-text-no-done.sse")


def test_recordings_are_present() -> None:
    assert len(RECORDINGS) >= 10, "tests/data/recorded-sse/*.sse is missing; restore it from git."


def test_sdk_comparison_would_see_a_difference() -> None:
    """Guard the differential test: the SDK keeps a data-less block's event, we drop it."""
    body = b"event: ping\n\ndata: a\n\n"
    assert [event.event for event in SDKDecoder().iter_bytes(iter([body]))] == ["ping", None]
    assert [event.event for event in decode([body])[0]] == [None]


def test_last_event_id_is_reported_once_its_block_is_dispatched() -> None:
    # WHATWG: `id:` sets the buffer when parsed; the stream's last event ID takes it at dispatch.
    decoder = SSEDecoder()
    assert decoder.feed(b"id: 1\ndata: a\n\nid: 2\ndata: b\n") == [ServerSentEvent(data="a", id="1")]
    assert decoder.last_event_id == "1"
    assert decoder.feed(b"\n") == [ServerSentEvent(data="b", id="2")]
    assert decoder.last_event_id == "2"


def test_a_block_without_data_still_sets_the_last_event_id() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"id: 7\n\n") == []
    assert decoder.last_event_id == "7"


def test_the_id_of_a_cut_last_block_is_never_reported() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"id: 1\ndata: a\n\nid: 2\ndata: cut")
    decoder.flush()
    assert (decoder.incomplete, decoder.last_event_id) == (True, "1")


def test_an_empty_event_name_is_the_default_event() -> None:
    events, _ = decode([b"event:\ndata: a\n\nevent: \ndata: b\n\nevent: x\nevent:\ndata: c\n\n"])
    assert [(e.data, e.event) for e in events] == [("a", None), ("b", None), ("c", None)]


def test_dataless_events_dispatches_a_named_block_without_data_only_when_asked() -> None:
    stream = b"event: error\n\nid: 1\n\nretry: 5\n\n: comment\n\ndata: x\n\n"
    assert [(e.data, e.event) for e in SSEDecoder().feed(stream)] == [("x", None)]
    decoder = SSEDecoder(dataless_events=True)
    assert [(e.data, e.event, e.id) for e in decoder.feed(stream)] == [("", "error", None), ("x", None, "1")]
    assert decoder.event_count == 2

"""Framing: the bytes a stream was read in become recorded events, by the same SSE parser that decodes them."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from recorded import (
    URL,
    recorded_request,
    roundtrip,
)

from writer_stream_testkit.cassettes.dump import dump_cassette
from writer_stream_testkit.cassettes.files import save_cassette
from writer_stream_testkit.cassettes.framing import body_from_reads, frame_stream
from writer_stream_testkit.cassettes.load import load_cassette, parse_cassette
from writer_stream_testkit.cassettes.model import (
    CassetteContent,
    Interaction,
    RecordedEvent,
    RecordedRequest,
    RecordedResponse,
)
from writer_stream_testkit.wire.sse import ServerSentEvent, SSEDecoder


def test_crlf_block_with_several_fields_is_one_event_with_its_name() -> None:
    block = b'event: error\r\ndata: {"error":"overloaded"}\r\n\r\n'
    reads = [(block, 0.1), (b"data: [DONE]\r\n\r\n", 0.2)]
    events = frame_stream(reads)
    assert [(e.event, e.data) for e in events] == [("error", '{"error":"overloaded"}'), (None, "[DONE]")]
    assert events[0].raw == block
    assert RecordedResponse(status=200, events=events).reads() == reads


def test_a_retry_too_long_for_int_is_ignored_as_the_decoder_ignores_it(tmp_path: Path) -> None:
    block = b"retry: " + b"9" * 5000 + b"\ndata: x\n\n"
    (event,) = frame_stream([(block, 0.1)])
    assert (event.data, event.retry, event.raw) == ("x", None, block)
    response = RecordedResponse(status=200, headers=(("content-type", "text/event-stream"),), events=(event,))
    path = tmp_path / "c.yaml"
    save_cassette(path, CassetteContent((Interaction(RecordedRequest("POST", URL), response),)))
    assert load_cassette(path).interactions[0].response.reads() == [(block, 0.1)]


_FIELD_NAMES = st.sampled_from(["data", "event", "id", "retry", "dat", "Data", ""])


_VALUES = st.text(
    alphabet=st.sampled_from(["a", "é", "中", " ", ":", "0", "7", "\x00", "\ufeff", "\ufffd"]), max_size=6
) | st.sampled_from(["[DONE]", "123", "9" * 5000, "-1", "1.5"])


_LINES = st.one_of(
    st.builds(
        lambda name, sep, value: f"{name}{sep}{value}",
        _FIELD_NAMES,
        st.sampled_from([":", ": ", ""]),
        _VALUES,
    ),
    st.builds(lambda text: f":{text}", _VALUES),  # a comment
    st.just(""),  # a blank line: the end of a block
)


@st.composite
def sse_streams(draw: st.DrawFn) -> list[tuple[bytes, float]]:
    """Any SSE byte stream: random fields, comments, blank lines and line ends, split into random reads."""
    lines = draw(st.lists(st.tuples(_LINES, st.sampled_from(["\n", "\r", "\r\n"])), max_size=14))
    stream = "".join(line + end for line, end in lines).encode()
    if draw(st.booleans()):
        stream = "\ufeff".encode() + stream
    stream += draw(st.sampled_from([b"", b"data: cut", b"\xc3", b"id: 9\n", b"\r"]))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(stream) - 1)), max_size=6)))
    pieces = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    return [(piece, round(0.01 * (i + 1), 4)) for i, piece in enumerate(pieces) if piece]


def _as_decoded(events: tuple[RecordedEvent, ...]) -> list[ServerSentEvent]:
    """The events a client decodes from a recording: each block's id persists, as the spec says."""
    out: list[ServerSentEvent] = []
    last_id: str | None = None
    for event in events:
        if event.id is not None:
            last_id = event.id
        if event.data is not None:
            out.append(ServerSentEvent(event.data, event.event, last_id, event.retry))
    return out


@given(sse_streams())
@settings(max_examples=400, deadline=None)
def test_framing_any_sse_stream_keeps_its_bytes_and_the_decoders_events(
    reads: list[tuple[bytes, float]],
) -> None:
    events = frame_stream(reads)
    assert RecordedResponse(status=200, events=events).reads() == reads
    decoder = SSEDecoder()
    expected = [e for data, _ in reads for e in decoder.feed(data)]
    assert _as_decoded(events) == expected
    response = RecordedResponse(status=200, headers=(("content-type", "text/event-stream"),), events=events)
    text = dump_cassette(CassetteContent((Interaction(RecordedRequest("POST", URL), response),)))
    loaded = parse_cassette(text, source="mem.yaml").interactions[0].response
    assert loaded.reads() == reads
    assert _as_decoded(loaded.events or ()) == expected


# --- reads to events and back ---------------------------------------------------------------------


def test_one_event_per_read_is_stored_as_data_and_time_only() -> None:
    reads = [(b'data: {"a":1}\n\n', 0.1), (b"data: [DONE]\n\n", 0.2)]
    events = frame_stream(reads)
    assert events == (RecordedEvent(data='{"a":1}', t=0.1), RecordedEvent(data="[DONE]", t=0.2))
    assert RecordedResponse(status=200, events=events).reads() == reads


def test_reads_split_inside_and_across_events_are_kept() -> None:
    stream = b'data: {"a":1}\n\ndata: {"b":2}\n\ndata: [DONE]\n\n'
    reads = [(stream[:5], 0.1), (stream[5:20], 0.2), (stream[20:], 0.3)]
    events = frame_stream(reads)
    assert events[0].cuts == ((5, 0.1),)
    assert events[1].joined
    assert events[1].cuts == ((5, 0.2),)
    assert RecordedResponse(status=200, events=events).reads() == reads


def test_non_canonical_framing_keeps_raw_bytes() -> None:
    reads = [(b": keep-alive\n\n", 0.1), (b"data:x\r\n\r\n", 0.2), (b"event: error\ndata: {}\n\n", 0.3)]
    events = frame_stream(reads)
    assert events[0].data is None
    assert events[0].raw == b": keep-alive\n\n"
    assert events[1].data == "x"
    assert events[1].raw == b"data:x\r\n\r\n"
    assert events[2].event == "error"
    assert events[2].raw is None
    assert RecordedResponse(status=200, events=events).reads() == reads


def test_unfinished_tail_of_a_cut_stream_is_kept_raw() -> None:
    reads = [(b"data: [DO", 0.1)]
    (event,) = frame_stream(reads)
    assert event.data is None
    assert event.raw == b"data: [DO"


@given(
    st.lists(
        st.tuples(
            st.binary(max_size=40)
            | st.sampled_from([b"data: x\n\n", b"\r\n", b"\r", b"\n", b"data: \xc3", b"\xa9\n\n"]),
            st.floats(0, 100, allow_nan=False),
        ),
        max_size=12,
    )
)
@settings(max_examples=300, deadline=None)
def test_framing_then_yaml_reproduces_every_read(reads: list[tuple[bytes, float]]) -> None:
    reads = [(data, round(t, 4)) for data, t in reads if data]
    response = RecordedResponse(
        status=200, headers=(("content-type", "text/event-stream"),), events=frame_stream(reads)
    )
    content = CassetteContent((Interaction(recorded_request(), response),))
    loaded = roundtrip(content)
    assert loaded.interactions[0].response.reads() == reads


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60))
@settings(max_examples=300, deadline=None)
def test_event_data_survives_yaml_verbatim(text: str) -> None:
    events = (RecordedEvent(data=text.replace("\r", "").replace("\n", ""), t=0.5),)
    content = CassetteContent((Interaction(recorded_request(), RecordedResponse(status=200, events=events)),))
    assert roundtrip(content) == content


def test_plain_bodies_keep_reads_and_non_utf8_bytes() -> None:
    reads = [(b'{"id":', 0.1), (b'"x"}', 0.2)]
    body, t, cuts = body_from_reads(reads)
    response = RecordedResponse(status=400, body=body, body_t=t, body_cuts=cuts)
    assert response.reads() == reads
    binary = RecordedResponse(status=200, body=b"\xff\xfe", body_t=0.1)
    content = CassetteContent(
        (Interaction(recorded_request(), response), Interaction(recorded_request(), binary))
    )
    assert "body_b64" in dump_cassette(content)
    assert roundtrip(content) == content

"""Framing: the bytes a stream was read in become recorded events, by the same SSE parser that decodes them."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from writer_stream_testkit.cassettes.dump import dump_cassette
from writer_stream_testkit.cassettes.files import save_cassette
from writer_stream_testkit.cassettes.framing import frame_stream
from writer_stream_testkit.cassettes.load import load_cassette, parse_cassette
from writer_stream_testkit.cassettes.model import (
    CassetteContent,
    Interaction,
    RecordedEvent,
    RecordedRequest,
    RecordedResponse,
)
from writer_stream_testkit.wire.sse import ServerSentEvent, SSEDecoder

URL = "https://api.writer.com/v1/chat"


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

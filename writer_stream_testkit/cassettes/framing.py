"""Framing a recorded byte stream into SSE events, and back into the reads it came in."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

from ..wire.sse import SSEDecoder, encode_event
from .model import RecordedEvent

# --- framing: a byte stream split into SSE blocks ------------------------------------------------

# A line ends at CRLF, a CR not followed by LF, or LF (as sse.SSEDecoder reads them). The
# lookahead keeps a CRLF whole: without it, `\r` then `\n` reads as a blank line and splits
# a block with several CRLF-ended fields in two.
_LINE_END = re.compile(rb"\r\n|\r(?!\n)|\n")
_BLANK_LINE = re.compile(rb"(?:\r\n|\r(?!\n)|\n)(?:\r\n|\r(?!\n)|\n)")


def _block_end(stream: bytes, pos: int) -> int:
    """Where the block starting at ``pos`` ends: just after the blank line ending it, or at the end."""
    lone = _LINE_END.match(stream, pos)
    if lone is not None:  # a blank line straight after the last block: a block of its own
        return lone.end()
    found = _BLANK_LINE.search(stream, pos)
    return len(stream) if found is None else found.end()


def parse_block(
    block: bytes, *, at_start: bool = False
) -> tuple[str | None, str | None, str | None, int | None]:
    """(data, event, id, retry) of one block, read by ``sse.SSEDecoder`` so both agree on every field.

    ``data`` is None when the block dispatches no event; ``id`` is the block's own
    valid ``id:`` (kept even then, since it becomes the stream's last event ID), and
    an unfinished block (the tail of a cut stream) yields nothing, as a decoder
    discards it. ``at_start`` says the block starts the stream, where a decoder drops a BOM.
    """
    decoder = SSEDecoder()
    # Anywhere but the start, a block follows a blank line: feeding one first tells the
    # decoder it is mid-stream (a BOM there is an ordinary character) and changes nothing else.
    events = decoder.feed(block if at_start else b"\n" + block)
    decoder.flush()
    if decoder.incomplete:
        return None, None, None, None
    if not events:
        return None, None, decoder.last_event_id, None
    first = events[0]
    return first.data, first.event, first.id, first.retry


def _block_event(
    block: bytes, t: float, cuts: tuple[tuple[int, float], ...], joined: bool, *, at_start: bool
) -> RecordedEvent:
    if (
        block.startswith(b"data: ")
        and block.endswith(b"\n\n")
        and b"\n" not in block[6:-2]
        and b"\r" not in block
    ):
        try:
            return RecordedEvent(data=block[6:-2].decode(), t=t, cuts=cuts, joined=joined)
        except UnicodeDecodeError:
            pass
    data, event, id_, retry = parse_block(block, at_start=at_start)
    raw: bytes | None = block
    if data is not None:
        try:
            if encode_event(data, event=event, id=id_, retry=retry) == block:
                raw = None
        except ValueError:
            pass
    return RecordedEvent(data=data, t=t, event=event, id=id_, retry=retry, raw=raw, cuts=cuts, joined=joined)


def frame_stream(reads: Sequence[tuple[bytes, float]]) -> tuple[RecordedEvent, ...]:
    """Split the reads of an SSE body into events, remembering where each read ended and when.

    The inverse of :meth:`RecordedResponse.reads`: ``frame_stream(r)`` replays as ``r``
    (empty reads dropped, since they put nothing on the wire).
    """
    reads = [(data, t) for data, t in reads if data]
    stream = b"".join(data for data, _ in reads)
    ends = list(itertools.accumulate(len(data) for data, _ in reads))
    events: list[RecordedEvent] = []
    pos = 0
    index = 0  # the read holding the byte at `pos`
    while pos < len(stream):
        while ends[index] <= pos:
            index += 1
        data, t = reads[index]
        # The usual case, decided without searching the stream: the block starts a read that
        # is exactly one `data: ...\n\n` block (one line, no CR). It ends with that read,
        # whatever follows, so it has no cuts, is not joined, and is its data alone.
        if (
            ends[index] - len(data) == pos
            and data.startswith(b"data: ")
            and data.find(b"\n") == len(data) - 2
            and data.endswith(b"\n\n")
            and b"\r" not in data
        ):
            try:
                text = data[6:-2].decode()
            except UnicodeDecodeError:
                pass  # kept raw, below
            else:
                events.append(RecordedEvent(text, t))
                pos = ends[index]
                continue
        end = _block_end(stream, pos)
        last = index  # the read that delivered the block's last byte
        while ends[last] < end:
            last += 1
        cuts = tuple((ends[i] - pos, reads[i][1]) for i in range(index, last))
        joined = pos > 0 and (index == 0 or ends[index - 1] != pos)
        events.append(_block_event(stream[pos:end], reads[last][1], cuts, joined, at_start=pos == 0))
        pos = end
    return tuple(events)


def body_from_reads(
    reads: Sequence[tuple[bytes, float]],
) -> tuple[bytes, float, tuple[tuple[int, float], ...]]:
    """A plain body from its reads: the bytes, the last arrival time, inner read boundaries."""
    reads = [(data, t) for data, t in reads if data]
    if not reads:
        return b"", 0.0, ()
    cuts: list[tuple[int, float]] = []
    total = 0
    for data, t in reads[:-1]:
        total += len(data)
        cuts.append((total, t))
    return b"".join(d for d, _ in reads), reads[-1][1], tuple(cuts)

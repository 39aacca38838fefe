"""Frames and faults to a plan: the fixed order in which faults compose.

Several faults on one script compose in a fixed order, whatever order they
were given in, so the result never depends on how a test lists them (``STAGES`` below):

0. **replace**: ``http_error`` and ``connection_refused`` are the whole response;
   the first given wins and the stream's other faults do not apply.
1. **content**: which blocks are sent. Anchored insertions go after the
   script's ``k``-th chunk (``after_chunks=k`` counts only the script's own
   ``data:`` chunks, never inserted blocks, and ``0`` means before the first);
   at one anchor the order is keep-alive comment, malformed chunks, then the
   error event. An error event ends the stream: every later block, ``[DONE]``
   included, is dropped. Then ``missing_done`` drops ``[DONE]`` and
   ``data_after_done`` appends its blocks at the very end, in the order given.
2. **line ends**: ``crlf`` (or ``split_mid_crlf``) turns every line end into CRLF.
3. **splits**: the bytes stay the same, only write boundaries move. With no
   split each SSE block is one write; with splits the boundaries are the union
   of every split's boundaries (``sizes`` cycle through the list).
4. **timing**: a stall is a pause at its anchor; ``delay(each=s)`` pauses
   before every write; ``delay(first_byte=s)`` delays the status line.
5. **disconnect**: the earliest disconnect cuts the body there (after the
   anchor's insertions and pauses, or half-way into the next block with
   ``mid_chunk=True``) and nothing after it is sent.

A stall or disconnect anchored after an error event has no effect: the stream
has already ended. For ``stream: false`` requests only the replacing faults
and ``delay`` apply; the others describe SSE and are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence

from ..wire.sse import DONE_DATA
from . import plan as _plan
from .faults import (
    AnchoredFault,
    ConnectionRefused,
    CrlfLineEnds,
    DataAfterDone,
    Delay,
    Disconnect,
    ErrorEvent,
    Fault,
    Frame,
    HttpError,
    KeepAlive,
    MalformedChunk,
    MissingDone,
    Split,
    Stall,
    fault_error,
)
from .plan import JSON_HEADERS, SSE_HEADERS, LazySteps, Pause, PlanStep, ResponsePlan, Write

FRAME_CACHE_BYTES = 512 * 1024
"""The most encoded bytes of one script's stream kept for reuse (:class:`EncodedFrames`)."""

_BLOCK_OVERHEAD = 128
"""About what a kept block costs beside its bytes (its ``Block`` and ``Write``), counted in the bound."""


# --- The order -------------------------------------------------------------------------------------

STAGES: tuple[tuple[str, tuple[type[Fault], ...]], ...] = (
    ("replace", (HttpError, ConnectionRefused)),
    ("content", (KeepAlive, MalformedChunk, ErrorEvent, MissingDone, DataAfterDone)),
    ("line ends", (CrlfLineEnds,)),
    ("splits", (Split,)),
    ("timing", (Delay, Stall)),
    ("disconnect", (Disconnect,)),
)
"""The stages faults compose in (the module docstring says what each does), beside the code that walks them."""


def stage_of(fault: Fault) -> int:
    """The index of ``fault``'s stage in ``STAGES``."""
    for index, (_, kinds) in enumerate(STAGES):
        if isinstance(fault, kinds):
            return index
    raise TypeError(f"{type(fault).__name__} has no stage in scripts.render.STAGES; add it to the table.")


# --- The engine ------------------------------------------------------------------------------------


def _replacement(faults: Sequence[Fault]) -> ResponsePlan | None:
    for fault in faults:
        if isinstance(fault, (HttpError, ConnectionRefused)):
            return fault.response()
    return None


def _head_delay(faults: Sequence[Fault]) -> float:
    return sum(f.first_byte for f in faults if isinstance(f, Delay))


def _each_delay(faults: Sequence[Fault]) -> float:
    return sum(f.each for f in faults if isinstance(f, Delay))


def json_plan(body: bytes, faults: Sequence[Fault]) -> ResponsePlan:
    """A ``stream: false`` response: the replacing fault if any, else the JSON body; delays apply."""
    plan = _replacement(faults)
    head_delay = _head_delay(faults)
    if plan is None:
        each = _each_delay(faults)
        steps: tuple[PlanStep, ...] = ((Pause(each),) if each else ()) + (Write(body),)
        return ResponsePlan(status=200, headers=JSON_HEADERS, steps=steps, head_delay=head_delay)
    return _with_head_delay(plan, head_delay)


def _with_head_delay(plan: ResponsePlan, head_delay: float) -> ResponsePlan:
    if not head_delay:
        return plan
    return ResponsePlan(
        status=plan.status,
        headers=plan.headers,
        steps=plan.steps,
        head_delay=plan.head_delay + head_delay,
        refuse=plan.refuse,
        reason=plan.reason,
    )


class Block:
    """A script's SSE block already encoded (with ``\n`` line ends): what a response reuses."""

    __slots__ = ("kind", "wire")

    def __init__(self, kind: str, wire: bytes) -> None:
        self.kind = kind
        self.wire = wire

    def encode(self, newline: str = "\n") -> bytes:
        # A block's only line breaks are its line ends: encoding split every other one.
        return self.wire if newline == "\n" else self.wire.replace(b"\n", newline.encode())


class FrameSource:
    """A script's SSE blocks, made afresh on each pass, so a plan never holds the whole body.

    ``make()`` yields the frames (or blocks already encoded); ``kinds()`` yields only
    their kinds, cheaply (no JSON), which is all the checks that must fail before the
    first byte need.
    """

    __slots__ = ("kinds", "make")

    def __init__(
        self, make: Callable[[], Iterable[Frame | Block]], kinds: Callable[[], Iterable[str]]
    ) -> None:
        self.make = make
        self.kinds = kinds

    @classmethod
    def of(cls, frames: Sequence[Frame]) -> FrameSource:
        """Frames already built, as a source."""
        return cls(lambda: frames, lambda: (f.kind for f in frames))


class EncodedFrames:
    """A script's SSE blocks encoded once and shared by every response that sends them.

    A fixed script answers many requests with the same bytes; rebuilding and
    re-encoding its chunks for each one cost a server most of its time. The first
    plan encodes and keeps the blocks, stopping at :data:`FRAME_CACHE_BYTES`; every
    response reuses them, and a script with no faults reuses its ``Write`` steps too.
    A stream over the bound is never kept: it is made afresh on each pass, one block
    at a time, as before (a pass that does run to the end within the bound keeps it).

    ``swap`` makes a per-request copy: each ``(placeholder, value)`` is replaced in
    every block, which is how a request's own text (a question) joins a kept stream.
    """

    __slots__ = ("_blocks", "_kinds", "_make", "_over", "_writes")

    def __init__(self, make: Callable[[], Iterable[Frame]], kinds: Callable[[], Iterable[str]]) -> None:
        self._make = make
        self._kinds = kinds
        self._blocks: tuple[Block, ...] | None = None
        self._writes: tuple[Write, ...] | None = None
        self._over = False

    def blocks(self) -> Iterator[Block]:
        """The blocks in order: the kept ones, or made now (and kept if this pass ends within the bound)."""
        kept = self._blocks
        return iter(kept) if kept is not None else self._making()

    def _making(self) -> Iterator[Block]:
        kept: list[Block] | None = None if self._over else []
        size = 0
        for frame in self._make():
            block = Block(frame.kind, frame.encode())
            if kept is not None:
                size += len(block.wire) + _BLOCK_OVERHEAD
                if size > FRAME_CACHE_BYTES:
                    kept, self._over = None, True
                else:
                    kept.append(block)
            yield block
        if kept is not None:
            self._blocks = tuple(kept)

    def kept(self) -> bool:
        """Whether the blocks are kept: made now if need be, stopping as soon as they pass the bound."""
        if self._blocks is None and not self._over:
            for _ in self._making():
                if self._over:
                    break
        return self._blocks is not None

    def source(self, swap: Sequence[tuple[bytes, bytes]] = ()) -> FrameSource:
        """The blocks as a :class:`FrameSource` for :func:`apply_faults`, with ``swap`` made."""
        if not swap:
            return FrameSource(self.blocks, self.kinds)
        return FrameSource(lambda: (Block(b.kind, _swapped(b.wire, swap)) for b in self.blocks()), self.kinds)

    def kinds(self) -> Iterator[str]:
        kept = self._blocks
        return (b.kind for b in kept) if kept is not None else iter(self._kinds())

    def plan(self, faults: Sequence[Fault], swap: Sequence[tuple[bytes, bytes]] = ()) -> ResponsePlan:
        """The response: the kept ``Write`` steps as they are when nothing changes the stream.

        The first plan keeps the blocks before it answers (at most the bound's worth of
        encoding, once), so many requests arriving at once all reuse them.
        """
        blocks = self._blocks if self.kept() else None
        if faults or blocks is None:
            return apply_faults(self.source(swap), faults)
        if swap:
            steps: Sequence[PlanStep] = tuple(Write(_swapped(b.wire, swap)) for b in blocks)
        else:
            if self._writes is None:
                self._writes = tuple(Write(b.wire) for b in blocks)
            steps = self._writes
        return ResponsePlan(status=200, headers=SSE_HEADERS, steps=steps)


def _swapped(data: bytes, swap: Sequence[tuple[bytes, bytes]]) -> bytes:
    for placeholder, value in swap:
        data = data.replace(placeholder, value)
    return data


def apply_faults(
    frames: Sequence[Frame] | FrameSource, faults: Sequence[Fault], *, newline: str = "\n"
) -> ResponsePlan:
    """Turn a script's SSE blocks and its faults into the exact response to send.

    See the module docstring for the order the faults apply in. Everything that can
    be wrong with the faults is checked here, at once; the steps themselves are
    :class:`~writer_stream_testkit.scripts.plan.LazySteps`, rendered block by block
    as they are sent, so memory does not grow with the script's size.
    """
    source = frames if isinstance(frames, FrameSource) else FrameSource.of(frames)
    replacement = _replacement(faults)
    if replacement is not None:
        return _with_head_delay(replacement, _head_delay(faults))
    ordered = sorted(faults, key=stage_of)  # stable: same-kind faults keep their order
    # The shape of the body, from the kinds alone (no JSON), and only when a fault is
    # anchored: how many chunks, and which block each named anchor falls before.
    named = {f.after_chunks for f in ordered if isinstance(f, AnchoredFault)}
    chunk_count = block_count = 0
    anchors: dict[int, int] = {}
    if named:
        kinds = list(source.kinds())
        chunk_count = kinds.count("chunk")
        for item in _content(Frame(kind=kind) for kind in kinds)(ordered):
            if not isinstance(item, int):
                block_count += 1
            elif item in named:
                anchors[item] = block_count
    for fault in ordered:
        if isinstance(fault, AnchoredFault) and fault.after_chunks > chunk_count:
            raise fault_error(
                fault.name,
                f"got after_chunks={fault.after_chunks} but the script sends only {chunk_count} chunk"
                f"{'' if chunk_count == 1 else 's'}",
                f"use an after_chunks from 0 to {chunk_count}, or add chunks to the script.",
            )

    # 2. line ends
    if any(isinstance(f, CrlfLineEnds) or (isinstance(f, Split) and f.mid_crlf) for f in ordered):
        newline = "\r\n"
    splits = [f for f in ordered if isinstance(f, Split)]
    if any(split.mid_utf8 for split in splits) and not _has_multibyte(source, ordered, newline):
        raise fault_error(
            "split_mid_utf8",
            "found no multi-byte UTF-8 character in the stream",
            "add non-ASCII text to the script, e.g. .content('h\u00e9llo \u2603').",
        )
    # 4. timing and 5. disconnect, as markers at block indexes
    stalls: dict[int, list[float]] = {}
    for fault in ordered:
        if isinstance(fault, Stall) and fault.after_chunks in anchors:
            stalls.setdefault(anchors[fault.after_chunks], []).append(fault.seconds)
    cut: tuple[int, bool] | None = None  # (block index, half-way into it)
    for fault in ordered:
        if isinstance(fault, Disconnect) and fault.after_chunks in anchors:
            block = anchors[fault.after_chunks]
            if fault.mid_chunk and block >= block_count:
                raise fault_error(
                    "disconnect",
                    f"with mid_chunk=True and after_chunks={fault.after_chunks} found no block "
                    "after that point to cut into",
                    "use a smaller after_chunks, or mid_chunk=False.",
                )
            here = (block, fault.mid_chunk)
            cut = here if cut is None else min(cut, here)
    body = _Body(source, ordered, newline, splits, stalls, cut, _each_delay(ordered))
    return ResponsePlan(
        status=200,
        headers=SSE_HEADERS,
        steps=LazySteps(body.steps),
        head_delay=_head_delay(ordered),
        reason=", ".join(f.describe() for f in ordered),
    )


def _has_multibyte(source: FrameSource, faults: Sequence[Fault], newline: str) -> bool:
    """Whether the body holds a multi-byte UTF-8 character (a lead byte, 0xC0 or above)."""
    for item in _content(source.make())(faults):
        if not isinstance(item, int) and _LEAD_BYTE.search(item.encode(newline)):
            return True
    return False


_LEAD_BYTE = re.compile(rb"[\xc0-\xff]")
_CRLF = re.compile(rb"\r\n")


class _Body:
    """Renders the body's steps block by block: what ``apply_faults`` decided, as bytes.

    A write ends at every cut point: each block's start when no split is given,
    else every split's boundaries (``sizes`` cycling from the first byte, after a
    UTF-8 lead byte, inside a CRLF), and every stall's offset; nothing is sent at
    or past the disconnect's offset. Only the bytes of the write being built are
    held, so a block is encoded, cut and let go before the next one is made.
    """

    def __init__(
        self,
        source: FrameSource,
        faults: Sequence[Fault],
        newline: str,
        splits: Sequence[Split],
        stalls: dict[int, list[float]],
        cut: tuple[int, bool] | None,
        each: float,
    ) -> None:
        self._source = source
        self._faults = faults
        self._newline = newline
        self._splits = splits
        self._stalls = stalls
        self._cut = cut
        self._each = each

    def steps(self) -> Iterator[PlanStep]:
        return self._blocks() if not self._splits else self._split()

    def _blocks(self) -> Iterator[PlanStep]:
        """No split: each block is one write (the common case, so it takes the short way)."""
        newline, stalls, each, cut = self._newline, self._stalls, self._each, self._cut
        last = b""  # the block before this one, sent once the next is known not to be cut off
        last_pauses: list[float] = []
        index = 0
        for item in _content(self._source.make())(self._faults):
            if isinstance(item, int):
                continue
            data = item.encode(newline)
            if last:
                yield from (Pause(s) for s in last_pauses)
                if each:
                    yield Pause(each)
                yield Write(last)
            last_pauses = stalls.get(index, [])
            ending = cut is not None and cut[0] == index
            index += 1
            if ending:
                assert cut is not None
                half = data[: len(data) // 2] if cut[1] else b""
                if half:
                    yield from (Pause(s) for s in last_pauses)
                    if each:
                        yield Pause(each)
                    yield Write(half)
                if not half or len(data) // 2 == 0:
                    yield from (Pause(s) for s in last_pauses)
                yield _plan.Disconnect()
                return
            last = data
        if last:
            yield from (Pause(s) for s in last_pauses)
            if each:
                yield Pause(each)
            yield Write(last)
        if cut is not None:  # cut after the last block
            if last:
                yield from (Pause(s) for s in stalls.get(index, ()))
            else:
                yield from (Pause(s) for s in stalls.get(0, ()))
            yield _plan.Disconnect()
        elif last:
            yield from (Pause(s) for s in stalls.get(index, ()))

    def _split(self) -> Iterator[PlanStep]:
        """With splits: writes end at the splits' boundaries and the stalls, across blocks."""
        sizes = [split.sizes for split in self._splits if split.sizes]
        size_at = [0] * len(sizes)  # the next boundary of each sizes split
        size_turn = [0] * len(sizes)
        for i, cycle in enumerate(sizes):
            size_at[i] = cycle[0]
        mid_utf8 = any(split.mid_utf8 for split in self._splits)
        mid_crlf = any(split.mid_crlf for split in self._splits)
        pauses: dict[int, list[float]] = {}  # byte offset -> stall seconds
        pending = bytearray()  # the write being built: bytes from `start` up to `pos`
        start = pos = 0
        previous_cr = False

        def write(stop: int) -> Iterator[PlanStep]:
            # The write of bytes start..stop, after the pauses due before it.
            yield from (Pause(s) for s in pauses.get(start, ()))
            if self._each:
                yield Pause(self._each)
            yield Write(bytes(pending))

        index = 0
        for item in _content(self._source.make())(self._faults):
            if isinstance(item, int):
                continue
            data = item.encode(self._newline)
            block_start = pos
            if index in self._stalls:
                pauses[block_start] = self._stalls[index]
            limit = block_start + len(data)
            ending = self._cut is not None and self._cut[0] == index
            if ending:
                assert self._cut is not None
                limit = block_start + (len(data) // 2 if self._cut[1] else 0)
            points: set[int] = set()
            if index in self._stalls or not self._splits:
                points.add(block_start)
            for i, cycle in enumerate(sizes):
                while size_at[i] < block_start + len(data):
                    points.add(size_at[i])
                    size_turn[i] += 1
                    size_at[i] += cycle[size_turn[i] % len(cycle)]
            if mid_utf8:
                points.update(block_start + m.start() + 1 for m in _LEAD_BYTE.finditer(data))
            if mid_crlf:
                points.update(block_start + m.start() + 1 for m in _CRLF.finditer(data))
                if previous_cr and data[:1] == b"\n":
                    points.add(block_start)
                previous_cr = data[-1:] == b"\r"
            for point in sorted(p for p in points if 0 < p < limit):
                pending += data[pos - block_start : point - block_start]
                pos = point
                yield from write(point)
                pending.clear()
                start = point
            pending += data[pos - block_start : limit - block_start]
            pos = limit
            index += 1
            if ending:
                break
        end = pos
        if end > 0:
            yield from write(end)
        if self._cut is not None:
            if self._cut[0] >= index:  # cut after the last block: at the very end
                pauses.setdefault(end, self._stalls.get(self._cut[0], []))
            yield from (Pause(s) for s in pauses.get(end, ()))
            yield _plan.Disconnect()
        elif end > 0:
            yield from (Pause(s) for s in self._stalls.get(index, ()))


def _content(
    frames: Iterable[Frame | Block],
) -> Callable[[Sequence[Fault]], Iterator[Frame | Block | int]]:
    """The blocks to send, with each anchor ``k`` (an int) just before the block after it."""

    def blocks(faults: Sequence[Fault]) -> Iterator[Frame | Block | int]:
        keep_alives = [f for f in faults if isinstance(f, KeepAlive)]
        inserted: dict[int, list[Fault]] = {}
        for fault in faults:
            if isinstance(fault, (MalformedChunk, ErrorEvent)):
                inserted.setdefault(fault.after_chunks, []).append(fault)
        for group in inserted.values():
            group.sort(key=lambda f: isinstance(f, ErrorEvent))  # malformed chunks first, then the error
        missing_done = any(isinstance(f, MissingDone) for f in faults)
        ended = False

        def at_anchor(k: int) -> Iterator[Frame | Block | int]:
            nonlocal ended
            for keep_alive in keep_alives:
                if k > 0 and k % keep_alive.every == 0:
                    yield Frame(comment=keep_alive.comment, kind="inserted")
            for fault in inserted.get(k, ()):
                if isinstance(fault, MalformedChunk):
                    yield Frame(data=fault.data, kind="inserted")
                elif isinstance(fault, ErrorEvent):
                    yield fault.frame()
                    ended = True
            yield k

        count = 0
        yield from at_anchor(0)
        for frame in frames:
            if ended:
                break
            if frame.kind == "done" and missing_done:
                continue
            yield frame
            if frame.kind == "chunk":
                count += 1
                yield from at_anchor(count)
        if not ended:
            yield from (Frame(data=f.data, kind="inserted") for f in faults if isinstance(f, DataAfterDone))

    return blocks


def done_frame() -> Frame:
    """The ``data: [DONE]`` block that ends a stream."""
    return Frame(data=DONE_DATA, kind="done")

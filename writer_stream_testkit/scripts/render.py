"""Frames and faults to a plan: the fixed order in which faults compose."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..wire.sse import DONE_DATA
from . import plan as _plan
from .faults import (
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
    _Anchored,
    _fail,
)
from .plan import JSON_HEADERS, SSE_HEADERS, Pause, ResponsePlan, Step, Write

if TYPE_CHECKING:
    pass


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
        steps: tuple[Step, ...] = ((Pause(each),) if each else ()) + (Write(body),)
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


def apply_faults(frames: Sequence[Frame], faults: Sequence[Fault], *, newline: str = "\n") -> ResponsePlan:
    """Turn a script's SSE blocks and its faults into the exact response to send.

    See the module docstring for the order the faults apply in.
    """
    replacement = _replacement(faults)
    if replacement is not None:
        return _with_head_delay(replacement, _head_delay(faults))
    ordered = sorted(faults, key=lambda f: f.order)  # stable: same-kind faults keep their order
    chunk_count = sum(1 for f in frames if f.kind == "chunk")
    for fault in ordered:
        if isinstance(fault, _Anchored) and fault.after_chunks > chunk_count:
            raise _fail(
                fault.name,
                f"got after_chunks={fault.after_chunks} but the script sends only {chunk_count} chunk"
                f"{'' if chunk_count == 1 else 's'}",
                f"use an after_chunks from 0 to {chunk_count}, or add chunks to the script.",
            )

    # 1. content
    blocks, anchors = _content(frames, ordered)

    # 2. line ends
    if any(isinstance(f, CrlfLineEnds) or (isinstance(f, Split) and f.mid_crlf) for f in ordered):
        newline = "\r\n"
    encoded = [b.encode(newline) for b in blocks]
    starts = [0]
    for data in encoded:
        starts.append(starts[-1] + len(data))
    body = b"".join(encoded)

    # 3. splits
    splits = [f for f in ordered if isinstance(f, Split)]
    if splits:
        cuts: set[int] = set()
        for split in splits:
            cuts |= split.boundaries(body)
    else:
        cuts = set(starts[1:-1])

    # 4. timing and 5. disconnect, as markers at byte offsets
    pauses: dict[int, list[float]] = {}
    for fault in ordered:
        if isinstance(fault, Stall) and fault.after_chunks in anchors:
            pauses.setdefault(starts[anchors[fault.after_chunks]], []).append(fault.seconds)
    cut_at: int | None = None
    for fault in ordered:
        if isinstance(fault, Disconnect) and fault.after_chunks in anchors:
            block = anchors[fault.after_chunks]
            offset = starts[block]
            if fault.mid_chunk:
                if block >= len(encoded):
                    raise _fail(
                        "disconnect",
                        f"with mid_chunk=True and after_chunks={fault.after_chunks} found no block "
                        "after that point to cut into",
                        "use a smaller after_chunks, or mid_chunk=False.",
                    )
                offset += len(encoded[block]) // 2
            cut_at = offset if cut_at is None else min(cut_at, offset)

    end = len(body) if cut_at is None else cut_at
    points = sorted({p for p in cuts | set(pauses) if 0 < p < end} | {0, end})
    each = _each_delay(ordered)
    steps: list[Step] = []
    for start, stop in itertools.pairwise(points):
        steps.extend(Pause(s) for s in pauses.get(start, ()))
        if each:
            steps.append(Pause(each))
        steps.append(Write(body[start:stop]))
    if cut_at is not None:
        steps.extend(Pause(s) for s in pauses.get(end, ()))
        steps.append(_plan.Disconnect())
    elif end in pauses and end > 0:
        steps.extend(Pause(s) for s in pauses[end])
    return ResponsePlan(
        status=200,
        headers=SSE_HEADERS,
        steps=tuple(steps),
        head_delay=_head_delay(ordered),
        reason=", ".join(f.describe() for f in ordered),
    )


def _content(frames: Sequence[Frame], faults: Sequence[Fault]) -> tuple[list[Frame], dict[int, int]]:
    """The blocks to send, and for each anchor ``k`` the index of the block after it."""
    keep_alives = [f for f in faults if isinstance(f, KeepAlive)]
    inserted: dict[int, list[Fault]] = {}
    for fault in faults:
        if isinstance(fault, (MalformedChunk, ErrorEvent)):
            inserted.setdefault(fault.after_chunks, []).append(fault)
    for group in inserted.values():
        group.sort(key=lambda f: isinstance(f, ErrorEvent))  # malformed chunks first, then the error

    blocks: list[Frame] = []
    anchors: dict[int, int] = {}
    ended = False

    def at_anchor(k: int) -> None:
        nonlocal ended
        for keep_alive in keep_alives:
            if k > 0 and k % keep_alive.every == 0:
                blocks.append(Frame(comment=keep_alive.comment, kind="inserted"))
        for fault in inserted.get(k, ()):
            if isinstance(fault, MalformedChunk):
                blocks.append(Frame(data=fault.data, kind="inserted"))
            elif isinstance(fault, ErrorEvent):
                blocks.append(fault.frame())
                ended = True
        anchors[k] = len(blocks)

    count = 0
    at_anchor(0)
    for frame in frames:
        if ended:
            break
        if frame.kind == "done" and any(isinstance(f, MissingDone) for f in faults):
            continue
        blocks.append(frame)
        if frame.kind == "chunk":
            count += 1
            at_anchor(count)
    if not ended:
        blocks.extend(Frame(data=f.data, kind="inserted") for f in faults if isinstance(f, DataAfterDone))
    return blocks, anchors


def done_frame() -> Frame:
    """The ``data: [DONE]`` block that ends a stream."""
    return Frame(data=DONE_DATA, kind="done")

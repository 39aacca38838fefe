"""How a double applies a fault kind: to the first attempt of each streaming request, nothing used up.

:func:`fault_stream` is pure: a streamed ``ResponsePlan`` (scripted or replayed
from a cassette, any endpoint) and a kind in, the faulted plan out, with the
recorded pauses kept. :class:`Injector` is the hook the doubles consult
(:mod:`..doubles.faulting`): it tells a first attempt from a retry by the
request's method, path and body, answers the first with the fault, lets every
retry through to the reply the test queued or recorded, and logs each attempt
with its time for the judge.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from ..doubles.faulting import FaultHook
from ..scripts.faults import ConnectionRefused, HttpError
from ..scripts.plan import Disconnect, LazySteps, Pause, ResponsePlan, Step, Write, writer_error_body
from ..wire.call import Call
from .kinds import KINDS, Kind

__all__ = ["Attempt", "Faulted", "Injector", "Observer", "fault_stream", "is_streaming"]

_BLOCK_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")
_MALFORMED = b'data: {"id": \n\n'
_STALL_END = object()


@dataclass(frozen=True)
class _StallPause:
    """The stall's silence: ``seconds`` from the moment the stream reaches it (see :func:`_lazy`)."""

    seconds: float


@dataclass(frozen=True)
class Faulted:
    """The faulted plan, or ``None`` with the reason the kind cannot apply to this stream."""

    plan: ResponsePlan | None
    note: str


@dataclass(frozen=True)
class _Block:
    start: int
    end: int
    kind: str  # "chunk", "done", "end" (a chunk with a finish_reason) or "other"


def is_streaming(call: Call) -> bool:
    """Whether ``call`` asks for a stream: every Writer streaming endpoint says ``"stream": true``."""
    return isinstance(call.json, dict) and call.json.get("stream") is True


def _is_stream(plan: ResponsePlan) -> bool:
    content_type = next((v for k, v in plan.headers if k.lower() == "content-type"), "")
    return not plan.refuse and plan.status == 200 and content_type.startswith("text/event-stream")


def _blocks(body: bytes) -> list[_Block]:
    out: list[_Block] = []
    start = 0
    for match in _BLOCK_END.finditer(body):
        text = body[start : match.start()]
        out.append(_Block(start, match.end(), _block_kind(text)))
        start = match.end()
    return out


def _block_kind(text: bytes) -> str:
    lines = text.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    data = b"\n".join(line[5:].lstrip(b" ") for line in lines if line.startswith(b"data:"))
    if not any(line.startswith(b"data:") for line in lines) or any(
        line.startswith(b"event:") and line[6:].strip() == b"error" for line in lines
    ):
        return "other"
    if data.strip() == b"[DONE]":
        return "done"
    try:
        chunk = json.loads(data)
    except ValueError:
        return "chunk"
    choices = chunk.get("choices") if isinstance(chunk, dict) else None
    if isinstance(choices, list) and any(isinstance(c, dict) and c.get("finish_reason") for c in choices):
        return "end"
    return "chunk"


def _rebuild(
    steps: Sequence[Step], inserts: Mapping[int, Sequence[object]], stop: int | None
) -> list[Step | object]:
    """The steps with ``inserts`` placed at body offsets (splitting writes there), cut at ``stop``."""
    points = sorted(set(inserts) | ({stop} if stop is not None else set()))
    out: list[Step | object] = []
    pos = 0
    index = 0

    def reach(upto: int) -> bool:
        """Place every point at or before ``upto``; ``True`` when the stream stops there."""
        nonlocal index
        while index < len(points) and points[index] <= upto:
            out.extend(inserts.get(points[index], ()))
            if points[index] == stop:
                return True
            index += 1
        return False

    for step in steps:
        if isinstance(step, Write):
            data = step.data
            while data:
                if reach(pos):
                    return out
                upcoming = points[index] if index < len(points) else None
                take = len(data) if upcoming is None else min(len(data), upcoming - pos)
                out.append(Write(data[:take]))
                data = data[take:]
                pos += take
        elif isinstance(step, Disconnect):
            break
        else:
            out.append(step)
    else:
        reach(pos)
        return out
    if not reach(pos):
        out.append(Disconnect())
    return out


def fault_stream(
    kind: Kind, plan: ResponsePlan, *, timeout: float, on_stall_end: Callable[[], None] = lambda: None
) -> Faulted:
    """``plan`` with ``kind`` applied at its documented place, or why it cannot be.

    The anchor of the kinds that break a stream is after half its chunks (rounded
    down). A stall pauses ``timeout`` seconds; if the client is still reading then,
    ``on_stall_end`` is called and the kit cuts the connection itself.
    """
    if not _is_stream(plan):
        return Faulted(None, "the reply is not a stream")
    steps = list(plan.steps)
    body = plan.body()
    blocks = _blocks(body)
    chunks = [b for b in blocks if b.kind in ("chunk", "end")]
    if not chunks:
        return Faulted(None, "the stream has no chunk to fault")
    anchor_index = len(chunks) // 2
    anchor = chunks[anchor_index - 1].end if anchor_index else chunks[0].start
    crlf = b"\r\n" in body
    name = kind.name
    inserts: dict[int, Sequence[object]] = {}
    stop: int | None = None
    where = f"after {anchor_index} of {len(chunks)} chunks"
    if name == "disconnect":
        inserts, stop = {anchor: [Disconnect()]}, anchor
        note = f"connection dropped {where}"
    elif name == "truncate":
        if not any(b.kind == "end" for b in blocks if b.start >= anchor):
            # [DONE] alone is no marker an app can check: the SDK consumes it and reads on the same without it
            return Faulted(
                None,
                "this stream has no finish chunk (a finish_reason), the only end marker an app can "
                "check, so a cut cannot be told from its end: truncate is not judged here",
            )
        stop = anchor
        note = f"stream ended cleanly {where}, before its finish chunk and [DONE]"
    elif name == "malformed":
        inserts = {anchor: [Write(_MALFORMED.replace(b"\n", b"\r\n") if crlf else _MALFORMED)]}
        note = f"a chunk that is not JSON {where}"
    elif name == "error-event":
        data = json.dumps(writer_error_body(500, "Stream failed (injected by the resilience run)."))
        nl = "\r\n" if crlf else "\n"
        inserts, stop = {anchor: [Write(f"event: error{nl}data: {data}{nl}{nl}".encode())]}, anchor
        note = f"an error event {where}; the stream ended there"
    elif name == "stall":
        inserts, stop = {anchor: [_StallPause(timeout), _STALL_END, Disconnect()]}, anchor
        note = f"the stream stalled {where} for up to {timeout:g} s"
    elif name == "split-utf8":
        offsets = [i + 1 for i, byte in enumerate(body) if byte >= 0xC0]
        if offsets:
            note = f"{len(offsets)} multi-byte characters split after their first byte"
        else:
            offsets = [s_start + len(s.data) // 2 for s_start, s in _writes(steps) if len(s.data) > 1]
            note = "no multi-byte character: every write split in two"
        inserts = dict.fromkeys(offsets, ())
    elif name == "keep-alive":
        comment = b":\r\n\r\n" if crlf else b":\n\n"
        inserts = {b.start: [Write(comment)] for b in blocks}
        note = f"a keep-alive comment before each of {len(blocks)} blocks"
    elif name == "crlf":
        return Faulted(_with_steps(plan, _crlf(steps)), "every line end sent as CRLF")
    else:
        return Faulted(None, f"{name} does not change a stream")
    rebuilt = _rebuild(steps, inserts, stop)
    return Faulted(_with_steps(plan, _lazy(rebuilt, on_stall_end)), note)


def _writes(steps: Sequence[Step]) -> Iterator[tuple[int, Write]]:
    pos = 0
    for step in steps:
        if isinstance(step, Write):
            yield pos, step
            pos += len(step.data)


def _crlf(steps: Sequence[Step]) -> list[Step | object]:
    out: list[Step | object] = []
    pending_cr = False
    for step in steps:
        if isinstance(step, Write):
            data = step.data
            fixed = re.sub(rb"(?<!\r)\n", b"\r\n", data)
            if pending_cr and data.startswith(b"\n"):
                fixed = data[:1] + re.sub(rb"(?<!\r)\n", b"\r\n", data[1:])
            pending_cr = data.endswith(b"\r")
            out.append(Write(fixed))
        else:
            out.append(step)
    return out


def _lazy(
    steps: list[Step | object], on_stall_end: Callable[[], None], clock: Callable[[], float] = time.monotonic
) -> LazySteps:
    def make() -> Iterator[Step]:
        started = clock()
        pauses = 0.0
        stalled_at, stall = 0.0, 0.0
        for step in steps:
            if isinstance(step, _StallPause):
                # Doubles wait by deadlines from the request's arrival; the time the client took
                # to read this far is added, so the silence lasts the full stall from here.
                behind = max(0.0, clock() - started - pauses)
                stalled_at, stall = clock(), step.seconds
                yield Pause(step.seconds + behind)
                continue
            if step is _STALL_END:
                # The executor asks for the step after the stall: the client is still waiting.
                # (Reading the steps all at once, to measure the body, takes no time and is no hang.)
                if clock() - stalled_at >= 0.9 * stall:
                    on_stall_end()
                continue
            assert isinstance(step, (Write, Pause, Disconnect))
            if isinstance(step, Pause):
                pauses += step.seconds
            yield step

    return LazySteps(make)


def _with_steps(plan: ResponsePlan, steps: list[Step | object] | LazySteps) -> ResponsePlan:
    lazy = steps if isinstance(steps, LazySteps) else _lazy(steps, lambda: None)
    headers = tuple((k, v) for k, v in plan.headers if k.lower() != "content-length")
    return ResponsePlan(
        status=plan.status,
        headers=headers,
        steps=lazy,
        head_delay=plan.head_delay,
        reason=f"{plan.reason} (faulted by the resilience run)",
    )


@dataclass(frozen=True)
class Attempt:
    """One streaming request as the injector saw it; ``at`` is seconds from the test's first request."""

    at: float
    method: str
    path: str
    status: int | None
    note: str
    request: int
    """Which distinct request (method, path and body) this is an attempt of, from 0."""
    number: int
    """1 for the first attempt, 2 for the first retry, ..."""
    faulted: bool


@dataclass
class Injector(FaultHook):
    """The fault hook for one test and one kind; thread-safe, since a server answers on its own thread."""

    kind: Kind
    timeout: float = 10.0
    clock: Callable[[], float] = time.monotonic
    attempts: list[Attempt] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Why the kind could not apply to a stream (e.g. no end marker to truncate)."""
    hung: bool = False
    closed: bool = False
    _keys: dict[tuple[str, str, bytes], int] = field(default_factory=dict)
    _counts: dict[int, int] = field(default_factory=dict)
    _start: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def for_kind(cls, name: str, *, timeout: float = 10.0) -> Injector:
        return cls(KINDS[name], timeout=timeout)

    @property
    def streamed(self) -> bool:
        """Whether the test made any streaming request."""
        return bool(self.attempts)

    def close(self) -> None:
        """The test is over: a stall that ends from now on no longer counts as a hang."""
        with self._lock:
            self.closed = True

    def _stall_ended(self) -> None:
        with self._lock:
            if not self.closed:
                self.hung = True

    def answer(self, call: Call, peek: Callable[[], ResponsePlan | None]) -> ResponsePlan | None:
        if not is_streaming(call):
            return None
        now = self.clock()
        with self._lock:
            if self._start is None:
                self._start = now
            request = self._keys.setdefault((call.method, call.path, call.content), len(self._keys))
            number = self._counts[request] = self._counts.get(request, 0) + 1
        at = now - (self._start or now)
        if number > 1:
            self._log(
                Attempt(
                    at,
                    call.method,
                    call.path,
                    None,
                    f"retry {number - 1}: answered as the test set up",
                    request,
                    number,
                    False,
                )
            )
            return None
        fault = self.kind.fault
        if isinstance(fault, (HttpError, ConnectionRefused)):
            replaced = fault.response()
            status = None if replaced.refuse else replaced.status
            self._log(
                Attempt(
                    at, call.method, call.path, status, f"{self.kind.name} injected", request, number, True
                )
            )
            return replaced
        plan = peek()
        if plan is None:
            self._log(
                Attempt(
                    at,
                    call.method,
                    call.path,
                    None,
                    "no reply to fault: answered as usual",
                    request,
                    number,
                    False,
                )
            )
            return None
        faulted = fault_stream(self.kind, plan, timeout=self.timeout, on_stall_end=self._stall_ended)
        if faulted.plan is None:
            with self._lock:
                self.notes.append(faulted.note)
            self._log(
                Attempt(
                    at,
                    call.method,
                    call.path,
                    plan.status,
                    f"not faulted: {faulted.note}",
                    request,
                    number,
                    False,
                )
            )
            return None
        self._log(
            Attempt(
                at,
                call.method,
                call.path,
                200,
                f"{self.kind.name} injected: {faulted.note}",
                request,
                number,
                True,
            )
        )
        return faulted.plan

    def _log(self, attempt: Attempt) -> None:
        with self._lock:
            self.attempts.append(attempt)


@dataclass
class Observer(FaultHook):
    """The hook of a test's plain run in a resilience session: it injects nothing and notes whether it streamed."""

    streamed: bool = False

    def answer(self, call: Call, peek: Callable[[], ResponsePlan | None]) -> ResponsePlan | None:
        if is_streaming(call):
            self.streamed = True
        return None

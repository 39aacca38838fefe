"""Run a ``ResponsePlan`` in-process, failing exactly as a real connection would.

The plan's timing is walked by two small generators, :func:`head_steps` and
:func:`body_steps`, that yield bytes to deliver and seconds to wait, and raise
the httpx exception a real socket would produce at the same point. They decide
everything and sleep nowhere, so the sync and async faces (``time.sleep`` vs
``anyio.sleep``) share them and differ only in how they wait.

The exceptions (class, message, and the httpcore error they are chained from)
are those httpx 0.28 / httpcore 1.0 / h11 raise when a real loopback socket is
cut, stalled or refused; they differ between the sync and async network
backends, and so do ours. ``tests/sdk/test_fault_fidelity.py`` compares the two
against a real socket, so a change in httpx shows up as a failing test.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from typing import TypeVar

import anyio
import h11
import httpcore
import httpx

from ..scripts.plan import Disconnect, Pause, ResponsePlan, Schedule, Write, header_bytes
from .framing import frame

__all__ = [
    "GeneratorStream",
    "PlanStream",
    "aarrival",
    "arrival",
    "arun_head",
    "body_steps",
    "build_response",
    "head_steps",
    "read_timeout",
    "run_head",
]

BodyAction = bytes | float
"""What the engine asks its face to do: deliver these bytes, or wait this many seconds."""


def read_timeout(request: httpx.Request) -> float | None:
    """The read timeout the client set for this request, or ``None`` for no limit."""
    timeout = request.extensions.get("timeout")
    if isinstance(timeout, dict):
        value = timeout.get("read")
        return None if value is None else float(value)
    return None


_E = TypeVar("_E", bound=httpx.TransportError)


def _as_httpx(
    error_class: type[_E], core_class: type[Exception], low: Exception, request: httpx.Request
) -> _E:
    """``low`` as httpx raises it: wrapped by httpcore, then mapped to httpx, chained the same way.

    httpcore raises inside ``except`` (so ``low`` is its suppressed context) and
    httpx raises ``from`` the httpcore error.
    """
    core = core_class(low)
    core.__context__ = low
    core.__suppress_context__ = True
    error = error_class(str(core), request=request)
    error.__cause__ = core
    return error


def _read_timeout_error(request: httpx.Request, *, is_async: bool) -> httpx.ReadTimeout:
    # The sync backend re-raises socket.timeout("timed out"); anyio raises a bare TimeoutError.
    low = TimeoutError() if is_async else TimeoutError("timed out")
    return _as_httpx(httpx.ReadTimeout, httpcore.ReadTimeout, low, request)


def _connect_error(request: httpx.Request, *, is_async: bool) -> httpx.ConnectError:
    low: OSError
    if is_async:
        # anyio tries every resolved address and reports them all failing at once.
        low = OSError("All connection attempts failed")
    else:
        low = ConnectionRefusedError(errno.ECONNREFUSED, os.strerror(errno.ECONNREFUSED))
    return _as_httpx(httpx.ConnectError, httpcore.ConnectError, low, request)


def _cut_error(request: httpx.Request, received: int, expected: int | None) -> httpx.RemoteProtocolError:
    # h11's wording: a chunked body cut anywhere, or a Content-Length body cut short.
    detail = (
        "incomplete chunked read" if expected is None else f"received {received} bytes, expected {expected}"
    )
    low = h11.RemoteProtocolError(f"peer closed connection without sending complete message body ({detail})")
    return _as_httpx(httpx.RemoteProtocolError, httpcore.RemoteProtocolError, low, request)


class _ClientTimer(float):
    """A wait that is the client's read timer running out (a timeout follows it).

    It is slept in full from now, plus ``Schedule.EARLY``, never shortened by the
    recorded clock: a timeout must not fire before the client's timeout has passed.
    """


def _left(schedule: Schedule, seconds: float, now: float) -> float:
    """How long a face sleeps for the engine's wait of ``seconds``."""
    if seconds.__class__ is _ClientTimer:
        return seconds + Schedule.EARLY
    return schedule.wait(seconds, now)


def head_steps(plan: ResponsePlan, request: httpx.Request, *, is_async: bool) -> Iterator[float]:
    """Waits before the status line; raises if the client would never get one.

    A refused connection fails at once; a ``head_delay`` past the read timeout
    waits the timeout, then fails as the client's own timer would.
    """
    if plan.refuse:
        raise _connect_error(request, is_async=is_async)
    if plan.head_delay > 0:
        limit = read_timeout(request)
        if limit is not None and plan.head_delay > limit:
            yield _ClientTimer(limit)
            raise _read_timeout_error(request, is_async=is_async)
        yield plan.head_delay


def body_steps(plan: ResponsePlan, request: httpx.Request, *, is_async: bool) -> Iterator[BodyAction]:
    """The body as the client reads it: each write as its own piece, waits between them.

    Waits add up until the next byte arrives, because the read timeout is measured
    from the last byte the client received; once they pass it the read times out.
    A body declared with ``Content-Length`` is cut to that length, and ends in an
    error if it falls short, as h11 reports it.
    """
    framing = frame(plan.status, plan.headers, method=request.method)
    if not framing.has_body:
        return  # HEAD, 1xx, 204, 304: no body in HTTP (framing.py), as FakeWriterServer sends it
    limit = read_timeout(request)
    expected = framing.length
    received = 0
    idle = 0.0
    for step in plan.steps:
        if isinstance(step, Write):
            data = step.data
            if expected is not None:
                data = data[: max(expected - received, 0)]
            if not data:
                continue  # an empty write puts nothing on the wire
            received += len(data)
            idle = 0.0
            yield data
        elif isinstance(step, Pause):
            if limit is not None and idle + step.seconds > limit:
                yield _ClientTimer(limit - idle)
                raise _read_timeout_error(request, is_async=is_async)
            idle += step.seconds
            yield step.seconds
        elif isinstance(step, Disconnect):
            raise _cut_error(request, received, expected)
    if expected is not None and received < expected:
        raise _cut_error(request, received, expected)


def arrival() -> float:
    """The moment a request reached a sync double, on the clock :func:`run_head` schedules by."""
    return time.monotonic()


def aarrival() -> float:
    """The moment a request reached an async double, on the clock :func:`arun_head` schedules by."""
    return anyio.current_time()


def run_head(plan: ResponsePlan, request: httpx.Request, arrived: float | None = None) -> Schedule:
    """Wait out the head of the response on a sync client (or raise its failure).

    Waits are measured from ``arrived`` (:func:`arrival`, taken before the reply was
    chosen and built, which takes time too), or from now. Returns the schedule, so the
    body's waits are deadlines from the same start.
    """
    schedule = Schedule(time.monotonic() if arrived is None else arrived)
    for seconds in head_steps(plan, request, is_async=False):
        left = _left(schedule, seconds, time.monotonic())
        if left > 0:
            time.sleep(left)
    return schedule


async def arun_head(plan: ResponsePlan, request: httpx.Request, arrived: float | None = None) -> Schedule:
    """Wait out the head of the response on an async client (or raise its failure)."""
    schedule = Schedule(anyio.current_time() if arrived is None else arrived)
    for seconds in head_steps(plan, request, is_async=True):
        left = _left(schedule, seconds, anyio.current_time())
        if left > 0:
            await anyio.sleep(left)
    return schedule


class GeneratorStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body either client kind can read, played by a generator the stream keeps.

    Keeping the generator lets ``close()`` / ``aclose()`` close it, so its
    ``finally`` runs when the client stops reading early (after ``[DONE]``, or
    by abandoning the response). Subclasses write ``_play`` and ``_aplay``.
    """

    def __init__(self) -> None:
        self._sync: Generator[bytes, None, None] | None = None
        self._async: AsyncGenerator[bytes, None] | None = None

    def __iter__(self) -> Iterator[bytes]:
        self._sync = self._play()
        return self._sync

    def __aiter__(self) -> AsyncIterator[bytes]:
        self._async = self._aplay()
        return self._async

    def _play(self) -> Generator[bytes, None, None]:
        raise NotImplementedError

    def _aplay(self) -> AsyncGenerator[bytes, None]:
        raise NotImplementedError

    def close(self) -> None:
        """Stop playing: the client closed the response."""
        if self._sync is not None:
            self._sync.close()

    async def aclose(self) -> None:
        """Stop playing: the client closed the response."""
        if self._async is not None:
            await self._async.aclose()


class PlanStream(GeneratorStream):
    """A response body that plays a plan: one class, so either client kind can read it."""

    def __init__(self, plan: ResponsePlan, request: httpx.Request, schedule: Schedule | None = None) -> None:
        super().__init__()
        self._plan = plan
        self._request = request
        self._schedule = schedule

    def _play(self) -> Generator[bytes, None, None]:
        schedule = self._schedule or Schedule(time.monotonic())
        for step in body_steps(self._plan, self._request, is_async=False):
            if isinstance(step, bytes):
                yield step
            else:
                left = _left(schedule, step, time.monotonic())
                if left > 0:
                    time.sleep(left)

    async def _aplay(self) -> AsyncGenerator[bytes, None]:
        schedule = self._schedule or Schedule(anyio.current_time())
        for step in body_steps(self._plan, self._request, is_async=True):
            if isinstance(step, bytes):
                yield step
            else:
                left = _left(schedule, step, anyio.current_time())
                if left > 0:
                    await anyio.sleep(left)


def build_response(
    plan: ResponsePlan, request: httpx.Request, schedule: Schedule | None = None
) -> httpx.Response:
    """The response a real server would send for ``plan``, carrying ``request``.

    The framing headers are :func:`.framing.frame`'s, as ``FakeWriterServer`` sends
    them: without a ``Content-Length`` the body is chunked, as a streaming server
    (uvicorn included) sends it; a 204 or 304 has no body at all. ``schedule`` (from
    :func:`run_head`) times the body's waits from the same start as the head's.
    """
    framing = frame(plan.status, plan.headers, method=request.method)
    return httpx.Response(
        plan.status,
        headers=[(header_bytes(name), header_bytes(value)) for name, value in framing.headers],
        stream=PlanStream(plan, request, schedule),
        request=request,
    )

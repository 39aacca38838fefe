"""What a reply sends, step by step: the one description every double executes.

A ``StreamScript`` with its faults, a ``Fault`` on its own, and a recorded
cassette interaction all render to a :class:`ResponsePlan`. The in-process
mock and the loopback server are then two small executors of the same plan,
so a test body behaves the same against either.
"""

from __future__ import annotations

import json as _json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, overload


@dataclass(frozen=True, slots=True)
class Write:
    """Send these bytes as one write, flushed, so the client sees the boundary."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Pause:
    """Wait before the next step. Longer than the client's read timeout, it is a stall."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Disconnect:
    """Drop the connection here, mid-body, as a crashed upstream or a cut network would."""


PlanStep = Write | Pause | Disconnect


class LazySteps(Sequence[PlanStep]):
    """A plan's steps, made afresh each time they are iterated, so a long body is never held whole.

    A script's plan is served to many requests at once; built as a tuple, each
    response would hold the whole body (several copies of it) before its first
    byte. Executors only iterate, one step at a time. Indexing, ``len`` and ``==``
    build the steps as a tuple first, for tests and error messages.
    """

    __slots__ = ("_make",)

    def __init__(self, make: Callable[[], Iterator[PlanStep]]) -> None:
        self._make = make

    def __iter__(self) -> Iterator[PlanStep]:
        return self._make()

    def __len__(self) -> int:
        return sum(1 for _ in self._make())

    @overload
    def __getitem__(self, index: int) -> PlanStep: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[PlanStep, ...]: ...
    def __getitem__(self, index: int | slice) -> PlanStep | tuple[PlanStep, ...]:
        return tuple(self._make())[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (tuple, LazySteps)):
            return tuple(self._make()) == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self._make()))

    def __repr__(self) -> str:
        return f"LazySteps({tuple(self._make())!r})"


@dataclass(frozen=True, slots=True)
class ResponsePlan:
    """A complete response: status, headers, then the body as steps.

    ``head_delay`` is the wait before the status line (time to first byte);
    ``refuse`` means no response at all: the connection is refused.
    """

    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    steps: Sequence[PlanStep] = ()
    """A tuple, or :class:`LazySteps` that are made as they are sent."""
    head_delay: float = 0.0
    refuse: bool = False
    reason: str = field(default="", compare=False)
    """A short description of where the plan came from, for error messages."""
    unanswered: bool = field(default=False, compare=False)
    """Whether this is the kit's own refusal (:func:`error_plan`): no reply, script or recording answered."""

    def body(self) -> bytes:
        """All bytes the plan writes, ignoring pauses, up to any disconnect."""
        out = bytearray()
        for step in self.steps:
            if isinstance(step, Disconnect):
                break
            if isinstance(step, Write):
                out += step.data
        return bytes(out)

    def writes(self) -> Iterator[bytes]:
        """The written pieces in order, ignoring pauses, up to any disconnect."""
        for step in self.steps:
            if isinstance(step, Disconnect):
                return
            if isinstance(step, Write):
                yield step.data

    @property
    def completes(self) -> bool:
        """Whether the body runs to its end, with no disconnect."""
        return not self.refuse and not any(isinstance(s, Disconnect) for s in self.steps)


SSE_HEADERS: tuple[tuple[str, str], ...] = (("content-type", "text/event-stream"),)
JSON_HEADERS: tuple[tuple[str, str], ...] = (("content-type", "application/json"),)

# Writer's documented error types by status (dev.writer.com, "Understand error codes").
_ERROR_TYPES: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "The request is invalid: check the required fields and their types."),
    401: ("Unauthorized", "Missing or invalid API key."),
    403: ("Forbidden", "The API key does not have permission to access this resource."),
    404: ("NotFound", "The requested resource does not exist."),
    409: ("Conflict", "The request conflicts with the current state of the resource."),
    410: ("Gone", "The resource was permanently removed."),
    413: ("PayloadTooLarge", "The request body is too large."),
    422: ("UnprocessableEntity", "The request is semantically invalid."),
    429: ("TooManyRequests", "Rate limit exceeded. Please wait and try your request again later."),
    500: ("InternalServerError", "An unexpected error occurred within our systems."),
    502: ("BadGateway", "The server received an invalid response from an upstream server."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable. Please retry later."),
    504: ("GatewayTimeout", "The server did not receive a timely response from an upstream server."),
}


def writer_error_body(status: int, message: str | None = None) -> dict[str, Any]:
    """Writer's error JSON, ``{"tpe", "errors": [{"description", "key", "extras"}], "extras"}``.

    This is the ``ErrorObject`` shape in the SDK's types and the format Writer
    documents for every endpoint; ``tpe`` is the documented type for the status.
    """
    tpe, default = _ERROR_TYPES.get(status, ("BadRequest" if status < 500 else "InternalServerError", ""))
    key = "error." + re.sub(r"(?<!^)(?=[A-Z])", "_", tpe).lower()
    description = message if message is not None else default or f"HTTP {status} error."
    return {"tpe": tpe, "errors": [{"description": description, "key": key, "extras": {}}], "extras": {}}


def error_plan(status: int, description: str) -> ResponsePlan:
    """A Writer-shaped JSON error (:func:`writer_error_body`) that the SDK will not retry.

    ``x-should-retry: false`` makes ``writerai`` and this kit's clients fail at
    once, so a mistake in the test shows as its own message, not as retries.
    """
    body = _json.dumps(writer_error_body(status, f"writer-stream-testkit: {description}")).encode()
    return ResponsePlan(
        status=status,
        headers=(
            ("content-type", "application/json"),
            ("content-length", str(len(body))),
            ("x-should-retry", "false"),
        ),
        steps=(Write(body),),
        reason=description,
        unanswered=True,
    )


class Schedule:
    """The plan's waits as deadlines on one clock, from the moment the request arrived.

    Each wait ends ``seconds`` after the previous one was *due*, not after it ended, so
    time lost to a late wake-up or to the client's own work is made up by the next
    wait instead of adding up: a replay at recorded pace ends when the recording did
    (10,000 reads 66 µs apart would otherwise drift by every sleep's overshoot).

    A deadline less than ``EARLY`` away is not slept for: the write goes out up to
    0.5 ms early instead. Sleeping that little costs more than it waits (the kernel's
    timer slack alone is 50 µs), and on a busy machine each sleep risks losing the CPU
    for milliseconds; the next deadline is still measured from this one.
    """

    __slots__ = ("due",)

    EARLY: ClassVar[float] = 0.0005

    def __init__(self, start: float) -> None:
        self.due = start

    def wait(self, seconds: float, now: float) -> float:
        """Move the deadline on by ``seconds``; how long to sleep for it from ``now`` (0: none)."""
        self.due += seconds
        left = self.due - now
        return left if left >= self.EARLY else 0.0


def header_bytes(value: str) -> bytes:
    """The bytes both doubles send for a plan's header value: Latin-1, else UTF-8.

    Latin-1 maps each character below U+0100 to the byte of the same number, so
    a cassette replays any bytes an upstream sent (they reach the plan as the
    Latin-1 text of those bytes); a value with other characters goes out as UTF-8.
    """
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogateescape")

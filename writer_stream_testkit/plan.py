"""What a reply sends, step by step: the one description every double executes.

A ``StreamScript`` with its faults, a ``Fault`` on its own, and a recorded
cassette interaction all render to a :class:`ResponsePlan`. The in-process
mock and the loopback server are then two small executors of the same plan,
so a test body behaves the same against either.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["Disconnect", "Pause", "ResponsePlan", "Step", "Write"]


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


Step = Write | Pause | Disconnect


@dataclass(frozen=True, slots=True)
class ResponsePlan:
    """A complete response: status, headers, then the body as steps.

    ``head_delay`` is the wait before the status line (time to first byte);
    ``refuse`` means no response at all: the connection is refused.
    """

    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    steps: tuple[Step, ...] = ()
    head_delay: float = 0.0
    refuse: bool = False
    reason: str = field(default="", compare=False)
    """A short description of where the plan came from, for error messages."""

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

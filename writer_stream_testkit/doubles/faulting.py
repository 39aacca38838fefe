"""The one place a resilience run reaches every double: a process-wide fault hook.

A resilience run injects a fault into whatever streams a test receives, from
doubles the test makes itself as well as the fixtures. Rather than thread an
option through every constructor, the reply queue and cassette replay ask
:func:`active` as they answer; it is ``None`` outside a resilience run, so a
plain run pays one global read per request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..scripts.plan import ResponsePlan
    from ..wire.call import Call

__all__ = ["FaultHook", "active", "install", "uninstall"]


class FaultHook(Protocol):
    """What a double asks before answering a request."""

    def answer(self, call: Call, peek: Callable[[], ResponsePlan | None]) -> ResponsePlan | None:
        """A faulted plan to send instead (nothing queued or recorded is used up), or ``None``: answer as usual.

        ``peek`` gives the plan the double would send, without using up the reply.
        """
        ...


_lock = threading.Lock()
_active: FaultHook | None = None


def active() -> FaultHook | None:
    """The hook of the resilience run in progress, if any."""
    return _active


def install(hook: FaultHook) -> None:
    """Make ``hook`` answer first for every double in the process, until :func:`uninstall`."""
    global _active
    with _lock:
        _active = hook


def uninstall(hook: FaultHook) -> None:
    """Remove ``hook`` (a no-op when another hook has replaced it)."""
    global _active
    with _lock:
        if _active is hook:
            _active = None

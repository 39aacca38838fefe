"""How a double answers a request, written once: a generator that asks its face for what it cannot do.

Answering is the same decision for ``WriterMock``, ``Cassette`` and ``FakeWriterServer``:
pick the reply, compute it, fall back to the user's respx routes, record, or refuse.
What differs is how each waits (inline, ``await``, or a worker thread off the server's
event loop). So the decision is a generator, as httpx writes ``auth_flow``: it yields a
:class:`Need` each time it must do I/O or run user code, and its face sends back the
result (or throws in the exception). :func:`drive` and :func:`adrive` are the two faces;
the server passes :func:`adrive` its own ``fulfil`` to run user code in a thread.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["Flow", "Need", "UserCodeCrashed", "adrive", "drive", "fulfil"]

T = TypeVar("T")


@dataclass(frozen=True)
class Need:
    """One thing the flow cannot do itself: ``run()`` from a sync face, ``await arun()`` from an async one.

    ``user_code`` marks the test's own code (a computed reply), which may block or call
    the double: the server runs it off its event loop; in-process it runs inline, on
    the test's own thread. ``what`` names it for messages.
    """

    run: Callable[[], Any]
    arun: Callable[[], Awaitable[Any]] | None = None
    user_code: bool = False
    what: str = ""


Flow = Generator[Need, Any, T]
"""An answering flow that returns ``T`` (a plan, or a response the face hands back as it is)."""


class UserCodeCrashed(Exception):
    """A ``BaseException`` (``pytest.fail()``, say) raised by user code on a thread that is not the test's.

    On the server's worker thread it can reach no test, so it becomes an ``Exception``
    (the original is the ``__cause__``) that the flow turns into a 500 and a failure
    in ``verify()``, like any other error in a computed reply.
    """


def drive(flow: Flow[T]) -> T:
    """Run ``flow`` from a sync face: every need is run inline."""
    try:
        need = next(flow)
        while True:
            try:
                result = need.run()
            except Exception as exc:
                need = flow.throw(exc)
            else:
                need = flow.send(result)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


async def fulfil(need: Need) -> Any:
    """The async face's way to meet a need: ``await arun()``, or ``run()`` when it has no async twin."""
    if need.arun is not None:
        return await need.arun()
    return need.run()


async def adrive(flow: Flow[T], meet: Callable[[Need], Awaitable[Any]] = fulfil) -> T:
    """Run ``flow`` from an async face; ``meet`` does each need (by default :func:`fulfil`)."""
    try:
        need = next(flow)
        while True:
            try:
                result = await meet(need)
            except Exception as exc:
                need = flow.throw(exc)
            else:
                need = flow.send(result)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]

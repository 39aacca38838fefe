"""Where ``FakeWriterServer`` gets its answers: a plan source (a queue, a cassette) or a live one (a proxy).

The protocols live apart from the server so a cassette or a proxy names what it plugs into
without importing the server itself.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ..scripts.plan import ResponsePlan
from ..wire.call import Call

__all__ = ["LiveResponse", "LiveSource", "PlanSource", "cassette_source"]


@runtime_checkable
class PlanSource(Protocol):
    """Where the server gets the response for each request: a ``ReplyQueue`` by default.

    This is the hook for cassettes: anything with ``take(call)`` can answer requests.
    """

    def take(self, call: Call) -> ResponsePlan:
        """Record ``call`` and return the plan that answers it."""
        ...


@dataclass(frozen=True)
class LiveResponse:
    """A response sent while it is still being produced (a recording proxy's upstream stream).

    A ``ResponsePlan`` is fixed before the first byte; a proxy cannot know its
    body in advance. Each piece ``body`` yields is written and flushed as one
    HTTP chunk the moment it arrives. Raising ``ConnectionError`` cuts the
    connection (the client sees the stream end early, as the upstream's did).
    When the response ends, however it ends (even before the body started),
    the server closes ``body`` and then awaits ``close``.
    """

    status: int
    headers: Sequence[tuple[str, str]]
    """Values are sent as :func:`~writer_stream_testkit.scripts.plan.header_bytes` encodes them."""
    body: AsyncGenerator[bytes, None]
    close: Callable[[], Awaitable[None]] | None = None


@runtime_checkable
class LiveSource(Protocol):
    """A reply source that may answer with a :class:`LiveResponse`; the hook the record proxy uses."""

    async def respond(self, call: Call) -> ResponsePlan | LiveResponse:
        """Record ``call`` and return a plan, or a response that streams as it is produced."""
        ...


def cassette_source(cassette: object) -> PlanSource:
    """Turn ``cassette=`` into the server's reply source (the hook cassette replay plugs into)."""
    if isinstance(cassette, PlanSource):
        return cassette
    raise NotImplementedError(
        f"FakeWriterServer cannot replay {type(cassette).__name__} objects yet: a cassette "
        "must provide take(call) -> ResponsePlan. Queue replies with .reply(...) instead."
    )

"""The respx router behind ``with Cassette(...)``: replay through the plan executor, or tee upstream.

The router only routes: a request for another host goes to the user's respx routes,
then to the cassette's answer for hosts it does not own; a request for the Writer API
gets the cassette's replay decision, or, when that says record, the recorder's tee to
the upstream. What it asks of its cassette is :class:`Intercepted`, a handful of plain
callables the ``Cassette`` hands it, so no module reaches into the cassette's own rooms.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from ..doubles.flow import Flow, Need
from ..doubles.hosts import DoubleRouter, pass_through
from ..scripts.plan import ResponsePlan
from ..wire.call import Call
from . import recorder

__all__ = ["CassetteRouter", "Intercepted"]


@dataclass(frozen=True)
class Intercepted:
    """What the router asks of the cassette it routes for."""

    name: str
    """The cassette as messages name it (``Cassette path``)."""
    upstream: str | None
    """Where recordings come from (``None``: the host the request went to)."""
    owns: Callable[[httpx.URL], bool]
    """Whether a URL is the Writer API as the cassette knows it."""
    unowned: Callable[[httpx.Request], ResponsePlan]
    """The answer to a request for another host no respx route took (or ``PassThrough``)."""
    choose: Callable[[Call], ResponsePlan | None]
    """The replay decision's plan for a request (a replay or a miss); ``None``: record it."""
    started: Callable[[recorder.Capture], None]
    """Keeps a recording as it starts, for saving."""
    upstream_failed: Callable[[httpx.Request, httpx.TransportError], ResponsePlan]
    """The answer when the upstream never started a response."""


class CassetteRouter(DoubleRouter):
    """One started cassette's respx router (see :class:`~..doubles.hosts.DoubleRouter`)."""

    def __init__(self, cassette: Intercepted) -> None:
        super().__init__("Cassette", cassette.name)
        self._cassette = cassette

    def claims(self, request: httpx.Request) -> bool:
        # The recorder's own upstream request is not this cassette's: an outer double may serve it.
        return not request.extensions.get(recorder.UPSTREAM_MARK) and self._cassette.owns(request.url)

    def flow(self, request: httpx.Request) -> Flow[ResponsePlan | httpx.Response]:
        cassette = self._cassette
        if request.extensions.get(recorder.UPSTREAM_MARK):
            raise pass_through(request, cassette.name, "it is the recorder's own upstream request")
        if not cassette.owns(request.url):
            answer = yield self.ask_routes(request)
            if answer is not None:
                return answer  # type: ignore[no-any-return]
            yield Need(request.read, request.aread)
            return cassette.unowned(request)
        yield Need(request.read, request.aread)
        plan = cassette.choose(Call.from_httpx(request))
        if plan is not None:
            return plan
        try:
            recorded: httpx.Response = yield Need(
                functools.partial(
                    recorder.record, request, upstream=cassette.upstream, on_start=cassette.started
                ),
                functools.partial(
                    recorder.arecord, request, upstream=cassette.upstream, on_start=cassette.started
                ),
            )
        except httpx.TransportError as error:
            return cassette.upstream_failed(request, error)
        return recorded

"""The cassette model: recorded requests, events and responses, as frozen values."""

from __future__ import annotations

import json as _json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, Final, Literal, TypeAlias, cast
from urllib.parse import urlsplit

from ..scripts.plan import ResponsePlan
from ..wire.call import Call
from ..wire.sse import encode_event
from .timing import render_plan

FORMAT_VERSION: Final = 1

RecordMode: TypeAlias = Literal["none", "once", "new_episodes", "all", "rewrite"]
RECORD_MODES: Final[tuple[RecordMode, ...]] = ("none", "once", "new_episodes", "all", "rewrite")

Timing: TypeAlias = Literal["fast", "recorded"] | float
"""``"fast"``: no waits; ``"recorded"``: the recorded gaps; a number: the recorded gaps times it."""


def _canonical(data: str, event: str | None, id: str | None, retry: int | None) -> bytes:
    if event is None and id is None and retry is None and "\n" not in data and "\r" not in data:
        return b"data: " + data.encode() + b"\n\n"
    return encode_event(data, event=event, id=id, retry=retry)


# --- the model ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """The request as recorded: credentials already redacted, body parsed when it is JSON."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    json: Any = None
    """The body parsed as JSON; ``None`` when the body is empty or not JSON (see ``body``)."""
    body: str | None = None
    """The body as text when it is not JSON; ``None`` otherwise."""

    @property
    def path(self) -> str:
        return urlsplit(self.url).path or "/"

    @property
    def content(self) -> bytes:
        """The body bytes, re-serialised: what a matcher compares with an incoming request."""
        if self.json is not None:
            return _json.dumps(self.json, separators=(",", ":"), ensure_ascii=False).encode()
        return (self.body or "").encode()

    def as_call(self) -> Call:
        """This request as a ``Call``, so matchers can compare two recordings with each other."""
        return Call.create(method=self.method, url=self.url, headers=self.headers, content=self.content)

    def describe(self) -> str:
        return self.as_call().describe()


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """One SSE block of a recorded stream, and where the network reads fell around it.

    ``data`` is ``None`` for a block that dispatches no event (a comment, a
    stray blank line, or the unfinished tail of a cut stream); ``raw`` holds the
    block's exact bytes whenever they differ from the canonical
    ``encode_event(data, event=, id=, retry=)`` (CRLF line ends, a comment,
    ``data:`` without the space), so replay is byte-exact while the common case
    stays one clean line. ``t`` is when the block's last byte arrived; ``cuts``
    are read boundaries inside the block as (byte offset, arrival time);
    ``joined`` means the block arrived in the same read as the end of the one before.
    """

    data: str | None
    t: float = 0.0
    event: str | None = None
    id: str | None = None
    retry: int | None = None
    raw: bytes | None = None
    cuts: tuple[tuple[int, float], ...] = ()
    joined: bool = False

    def framing(self) -> bytes:
        """The block's bytes on the wire."""
        if self.raw is not None:
            return self.raw
        return _canonical(cast(str, self.data), self.event, self.id, self.retry)


@dataclass(frozen=True, slots=True)
class RecordedResponse:
    """Status, headers and the body: SSE ``events``, or a plain ``body`` (JSON, error text)."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    t: float = 0.0
    """When the status line and headers arrived."""
    events: tuple[RecordedEvent, ...] | None = None
    body: bytes | None = None
    body_t: float = 0.0
    body_cuts: tuple[tuple[int, float], ...] = ()
    complete: bool = True
    """False when the stream was cut by the upstream or abandoned by the client part-way."""

    def reads(self) -> list[tuple[bytes, float]]:
        """The body as the client read it: (bytes, arrival time) per network read."""
        if self.events is None:
            body = self.body or b""
            if not body:
                return []
            return _split_at(body, self.body_cuts, self.body_t)
        reads: list[tuple[bytes, float]] = []
        for event in self.events:
            frame = event.framing()
            pieces = _split_at(frame, event.cuts, event.t)
            if event.joined and reads and pieces:
                head, t = pieces[0]
                reads[-1] = (reads[-1][0] + head, t)
                pieces = pieces[1:]
            reads.extend(pieces)
        return reads


def _split_at(data: bytes, cuts: Sequence[tuple[int, float]], end_t: float) -> list[tuple[bytes, float]]:
    out: list[tuple[bytes, float]] = []
    pos = 0
    for offset, t in cuts:
        out.append((data[pos:offset], t))
        pos = offset
    out.append((data[pos:], end_t))
    return out


_EVENTS_SLOT: Any = RecordedResponse.__dict__["events"]
"""The ``events`` slot of ``RecordedResponse``, which :class:`DeferredEventsResponse` fills on first use."""
_RESPONSE_FIELDS = tuple(f.name for f in fields(RecordedResponse))


class DeferredEventsResponse(RecordedResponse):
    """A ``RecordedResponse`` whose events, already read and checked, are built when first used.

    The fast loader reads and validates every event line of a long stream at load
    (so every error still names its place then), but building 10,000 event objects
    is most of a load's cost and a test that never replays that stream never needs
    them. Equal to the eagerly built response, in every way a caller can see.
    """

    __slots__ = ("_build",)

    @classmethod
    def deferred(
        cls, head: RecordedResponse, build: Callable[[], tuple[RecordedEvent, ...]]
    ) -> DeferredEventsResponse:
        """``head`` (status, headers, times) with events ``build()`` makes on first use."""
        made = cls(status=head.status, headers=head.headers, t=head.t, events=(), complete=head.complete)
        object.__setattr__(made, "_build", build)
        return made

    @property
    def events(self) -> tuple[RecordedEvent, ...] | None:
        build = getattr(self, "_build", None)
        if build is not None:
            _EVENTS_SLOT.__set__(self, build())
            object.__setattr__(self, "_build", None)
        return cast("tuple[RecordedEvent, ...] | None", _EVENTS_SLOT.__get__(self, RecordedResponse))

    @events.setter
    def events(self, value: tuple[RecordedEvent, ...] | None) -> None:  # the dataclass __init__
        _EVENTS_SLOT.__set__(self, value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RecordedResponse):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in _RESPONSE_FIELDS)

    __hash__ = RecordedResponse.__hash__


@dataclass(frozen=True, slots=True)
class Interaction:
    """One recorded request and its response; a ``Reply`` (``plan(call)``) like any script."""

    request: RecordedRequest
    response: RecordedResponse

    def plan(self, call: Call | None = None, *, timing: Timing = "fast") -> ResponsePlan:
        """The recorded response as steps: one write per recorded read, waits per ``timing``."""
        return render_plan(self.response, timing=timing)

    def describe(self) -> str:
        events = self.response.events
        what = (
            f"{len(events)} events" if events is not None else f"{len(self.response.body or b'')} body bytes"
        )
        return f"recorded {self.request.method} {self.request.path} -> {self.response.status}, {what}"


@dataclass(frozen=True, slots=True)
class CassetteContent:
    """What a cassette file holds: its interactions in order, and free-form metadata."""

    interactions: tuple[Interaction, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        object.__setattr__(self, "interactions", tuple(self.interactions))
        object.__setattr__(self, "meta", MappingProxyType(dict(self.meta)))

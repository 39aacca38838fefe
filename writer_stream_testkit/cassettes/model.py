"""The cassette model: recorded requests, events and responses, as frozen values."""

from __future__ import annotations

import base64
import binascii
import json as _json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Literal, TypeAlias, cast
from urllib.parse import urlsplit

from ..scripts.plan import ResponsePlan
from ..wire.call import Call
from ..wire.sse import encode_event

FORMAT_VERSION: Final = 1

RecordMode: TypeAlias = Literal["none", "once", "new_episodes", "all", "rewrite"]
RECORD_MODES: Final[tuple[RecordMode, ...]] = ("none", "once", "new_episodes", "all", "rewrite")

Timing: TypeAlias = Literal["fast", "recorded"] | float
"""``"fast"``: no waits; ``"recorded"``: the recorded gaps; a number: the recorded gaps times it."""


def _canonical(data: str, event: str | None, id: str | None, retry: int | None) -> bytes:
    if event is None and id is None and retry is None and "\n" not in data and "\r" not in data:
        return b"data: " + data.encode() + b"\n\n"
    return encode_event(data, event=event, id=id, retry=retry)


# --- header values: any bytes, stored as printable ASCII ------------------------------------------

_ESCAPE_START: Final = "=?unknown-8bit?b?"
_ESCAPE_END: Final = "?="
_PLAIN_HEADER_VALUE = re.compile(r"(?:[\x21-\x7e]+(?:[ \t]+[\x21-\x7e]+)*)?")
"""A value both doubles send exactly as written: printable ASCII, spaces and tabs only inside."""
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


def header_to_cassette(raw: bytes) -> str:
    """A response header value as a cassette stores it: as itself when it is plain printable ASCII.

    Any other bytes an upstream sends (UTF-8 text such as ``café``, Latin-1, bytes
    that are no text at all) are stored as an RFC 2047 encoded word with the RFC
    1428 charset ``unknown-8bit``: ``=?unknown-8bit?b?<base64 of the bytes>?=``,
    printable ASCII every loader and editor keeps intact. A plain value that
    happens to look like one is escaped too, so reading back is never ambiguous.
    """
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        text = None
    if text is not None and _PLAIN_HEADER_VALUE.fullmatch(text) and _escaped(text) is None:
        return text
    return _ESCAPE_START + base64.b64encode(raw).decode("ascii") + _ESCAPE_END


def header_from_cassette(stored: str) -> bytes:
    """The bytes a double sends for a stored header value (the inverse of :func:`header_to_cassette`).

    An escaped value gives back its bytes; any other value is sent as its
    Latin-1 bytes, or UTF-8 where it has characters Latin-1 lacks (see
    :func:`~writer_stream_testkit.scripts.plan.header_bytes`).
    """
    raw = _escaped(stored)
    if raw is not None:
        return raw
    try:
        return stored.encode("latin-1")
    except UnicodeEncodeError:
        return stored.encode("utf-8", "surrogateescape")


def _escaped(stored: str) -> bytes | None:
    """The bytes of an escaped value; ``None`` for a plain one, or one whose bytes no header can carry."""
    if not (stored.startswith(_ESCAPE_START) and stored.endswith(_ESCAPE_END)):
        return None
    try:
        raw = base64.b64decode(stored[len(_ESCAPE_START) : -len(_ESCAPE_END)], validate=True)
    except (binascii.Error, ValueError):
        return None
    return None if _CONTROL.search(raw) else raw


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


@dataclass(frozen=True, slots=True)
class Interaction:
    """One recorded request and its response; a ``Reply`` (``plan(call)``) like any script."""

    request: RecordedRequest
    response: RecordedResponse

    def plan(self, call: Call | None = None, *, timing: Timing = "fast") -> ResponsePlan:
        """The recorded response as steps: one write per recorded read, waits per ``timing``."""
        from .timing import render_plan  # timing imports this module

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

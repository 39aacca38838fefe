"""SSE-aware cassettes: record a real Writer session once, replay it offline in every later run.

A cassette is one YAML file per test (format in ``docs/cassettes.md``). Unlike a
vcrpy cassette it understands server-sent events: each event's ``data`` is kept
verbatim as a readable string, with the time it arrived, and the bytes the
client read (network read boundaries included) are reproduced exactly on
replay. Everything here but :class:`Cassette` itself is pure or plain file
I/O: the model, framing a byte stream into events, the YAML codec and its
validation, atomic locked writes, matching, record-mode decisions, and
rendering an interaction into a :class:`~writer_stream_testkit.plan.ResponsePlan`.
"""

from __future__ import annotations

import base64
import contextlib
import difflib
import getpass
import hashlib
import itertools
import json as _json
import math
import os
import re
import stat
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import IO, Any, ClassVar, Final, Literal, TypeAlias, cast
from urllib.parse import parse_qsl, urlsplit

import httpx
import respx
import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from . import recorder as _recorder
from ._execute import arun_head, build_response, run_head
from ._hosts import (
    BaseURLs,
    aanswer_from_later,
    answer_from_later,
    guess_base,
    http_url,
    is_loopback,
    pass_through,
)
from ._redact import Redaction, secret_from_headers
from ._replies import Call, error_plan, verify_at_exit
from .errors import CassetteError, CassetteFormatError, CassetteMissError, CassetteRecordError
from .plan import Disconnect, Pause, ResponsePlan, Step, Write
from .sse import DONE_DATA, SSEDecoder, encode_event

__all__ = [
    "FORMAT_VERSION",
    "Cassette",
    "CassetteContent",
    "Interaction",
    "Matcher",
    "RecordMode",
    "RecordedEvent",
    "RecordedRequest",
    "RecordedResponse",
    "Timing",
    "decide",
    "dump_cassette",
    "frame_stream",
    "load_cassette",
    "merge_for_save",
    "parse_cassette",
    "save_cassette",
]

FORMAT_VERSION: Final = 1

RecordMode: TypeAlias = Literal["none", "once", "new_episodes", "all", "rewrite"]
RECORD_MODES: Final[tuple[RecordMode, ...]] = ("none", "once", "new_episodes", "all", "rewrite")

Timing: TypeAlias = Literal["fast", "recorded"] | float
"""``"fast"``: no waits; ``"recorded"``: the recorded gaps; a number: the recorded gaps times it."""

_HEADER_COMMENT = (
    "# writer-stream-testkit cassette: HTTP interactions with the Writer API, replayed in tests.\n"
    "# Each event's `data` is verbatim; `t` is seconds since the request was sent. Format and\n"
    "# editing rules: docs/cassettes.md. Credentials were redacted before this file was written.\n"
)


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


# --- framing: a byte stream split into SSE blocks ------------------------------------------------

# A line ends at CRLF, a CR not followed by LF, or LF (as sse.SSEDecoder reads them). The
# lookahead keeps a CRLF whole: without it, `\r` then `\n` reads as a blank line and splits
# a block with several CRLF-ended fields in two.
_LINE_END = re.compile(rb"\r\n|\r(?!\n)|\n")
_BLANK_LINE = re.compile(rb"(?:\r\n|\r(?!\n)|\n)(?:\r\n|\r(?!\n)|\n)")


def _canonical(data: str, event: str | None, id: str | None, retry: int | None) -> bytes:
    if event is None and id is None and retry is None and "\n" not in data and "\r" not in data:
        return b"data: " + data.encode() + b"\n\n"
    return encode_event(data, event=event, id=id, retry=retry)


def _block_end(stream: bytes, pos: int) -> int:
    """Where the block starting at ``pos`` ends: just after the blank line ending it, or at the end."""
    lone = _LINE_END.match(stream, pos)
    if lone is not None:  # a blank line straight after the last block: a block of its own
        return lone.end()
    found = _BLANK_LINE.search(stream, pos)
    return len(stream) if found is None else found.end()


def _parse_block(
    block: bytes, *, at_start: bool = False
) -> tuple[str | None, str | None, str | None, int | None]:
    """(data, event, id, retry) of one block, read by ``sse.SSEDecoder`` so both agree on every field.

    ``data`` is None when the block dispatches no event; ``id`` is the block's own
    valid ``id:`` (kept even then, since it becomes the stream's last event ID), and
    an unfinished block (the tail of a cut stream) yields nothing, as a decoder
    discards it. ``at_start`` says the block starts the stream, where a decoder drops a BOM.
    """
    decoder = SSEDecoder()
    # Anywhere but the start, a block follows a blank line: feeding one first tells the
    # decoder it is mid-stream (a BOM there is an ordinary character) and changes nothing else.
    events = decoder.feed(block if at_start else b"\n" + block)
    decoder.flush()
    if decoder.incomplete:
        return None, None, None, None
    if not events:
        return None, None, decoder.last_event_id, None
    first = events[0]
    return first.data, first.event, first.id, first.retry


def _block_event(
    block: bytes, t: float, cuts: tuple[tuple[int, float], ...], joined: bool, *, at_start: bool
) -> RecordedEvent:
    if (
        block.startswith(b"data: ")
        and block.endswith(b"\n\n")
        and b"\n" not in block[6:-2]
        and b"\r" not in block
    ):
        try:
            return RecordedEvent(data=block[6:-2].decode(), t=t, cuts=cuts, joined=joined)
        except UnicodeDecodeError:
            pass
    data, event, id_, retry = _parse_block(block, at_start=at_start)
    raw: bytes | None = block
    if data is not None:
        try:
            if encode_event(data, event=event, id=id_, retry=retry) == block:
                raw = None
        except ValueError:
            pass
    return RecordedEvent(data=data, t=t, event=event, id=id_, retry=retry, raw=raw, cuts=cuts, joined=joined)


def frame_stream(reads: Sequence[tuple[bytes, float]]) -> tuple[RecordedEvent, ...]:
    """Split the reads of an SSE body into events, remembering where each read ended and when.

    The inverse of :meth:`RecordedResponse.reads`: ``frame_stream(r)`` replays as ``r``
    (empty reads dropped, since they put nothing on the wire).
    """
    reads = [(data, t) for data, t in reads if data]
    stream = b"".join(data for data, _ in reads)
    ends = list(itertools.accumulate(len(data) for data, _ in reads))
    events: list[RecordedEvent] = []
    pos = 0
    index = 0  # the read holding the byte at `pos`
    while pos < len(stream):
        while ends[index] <= pos:
            index += 1
        data, t = reads[index]
        # The usual case, decided without searching the stream: the block starts a read that
        # is exactly one `data: ...\n\n` block (one line, no CR). It ends with that read,
        # whatever follows, so it has no cuts, is not joined, and is its data alone.
        if (
            ends[index] - len(data) == pos
            and data.startswith(b"data: ")
            and data.find(b"\n") == len(data) - 2
            and data.endswith(b"\n\n")
            and b"\r" not in data
        ):
            try:
                text = data[6:-2].decode()
            except UnicodeDecodeError:
                pass  # kept raw, below
            else:
                events.append(RecordedEvent(text, t))
                pos = ends[index]
                continue
        end = _block_end(stream, pos)
        last = index  # the read that delivered the block's last byte
        while ends[last] < end:
            last += 1
        cuts = tuple((ends[i] - pos, reads[i][1]) for i in range(index, last))
        joined = pos > 0 and (index == 0 or ends[index - 1] != pos)
        events.append(_block_event(stream[pos:end], reads[last][1], cuts, joined, at_start=pos == 0))
        pos = end
    return tuple(events)


def body_from_reads(
    reads: Sequence[tuple[bytes, float]],
) -> tuple[bytes, float, tuple[tuple[int, float], ...]]:
    """A plain body from its reads: the bytes, the last arrival time, inner read boundaries."""
    reads = [(data, t) for data, t in reads if data]
    if not reads:
        return b"", 0.0, ()
    cuts: list[tuple[int, float]] = []
    total = 0
    for data, t in reads[:-1]:
        total += len(data)
        cuts.append((total, t))
    return b"".join(d for d, _ in reads), reads[-1][1], tuple(cuts)


# --- timing and plans -----------------------------------------------------------------------------


def parse_timing(text: str) -> Timing:
    """A ``timing`` option written as text (command line, ini file): ``fast``, ``recorded`` or a factor.

    Raises ``ValueError`` with :func:`timing_factor`'s sentence when it is none of them.
    """
    timing: Timing
    if text == "fast":
        timing = "fast"
    elif text == "recorded":
        timing = "recorded"
    else:
        try:
            timing = float(text)
        except ValueError:
            timing = -1.0  # not a number: let timing_factor explain what is accepted
    timing_factor(timing)
    return timing


def timing_factor(timing: Timing) -> float:
    """The multiplier applied to every recorded wait; validates the ``timing=`` option."""
    if timing == "fast":
        return 0.0
    if timing == "recorded":
        return 1.0
    if isinstance(timing, (int, float)) and not isinstance(timing, bool) and 0 <= timing < math.inf:
        return float(timing)
    raise ValueError(
        f"timing={timing!r} is not a replay timing; use 'fast' (no waits, the default), "
        "'recorded' (the gaps as recorded), or a number >= 0 that scales the recorded gaps "
        "(0.5 replays twice as fast)."
    )


def render_plan(response: RecordedResponse, *, timing: Timing = "fast", reason: str = "") -> ResponsePlan:
    """A recorded response as a plan: a write per recorded read, pauses from the time offsets."""
    factor = timing_factor(timing)
    steps: list[Step] = []
    previous = response.t
    for data, t in response.reads():
        gap = (t - previous) * factor
        if gap > 0:
            steps.append(Pause(gap))
        steps.append(Write(data))
        previous = max(previous, t)
    if not response.complete:
        steps.append(Disconnect())
    return ResponsePlan(
        status=response.status,
        headers=response.headers,
        steps=tuple(steps),
        head_delay=response.t * factor,
        reason=reason or "a cassette recording",
    )


# --- from a capture to an interaction (record time, redaction included) --------------------------


def interaction_from_capture(capture: _recorder.Capture, redaction: Redaction) -> Interaction:
    """The cassette entry for one captured exchange, with every secret already removed."""
    redaction = redaction.with_secrets(secret_from_headers(capture.headers))
    body_text = capture.content.decode("utf-8", "replace")
    parsed: Any = None
    text: str | None = None
    if capture.content:
        try:
            parsed = _json.loads(capture.content)
        except ValueError:
            text = redaction.text(body_text)
    request = RecordedRequest(
        method=capture.method,
        url=redaction.text(capture.url),
        headers=_lower(
            redaction.headers((k, v) for k, v in capture.headers if k.lower() not in _TRANSPORT_HEADERS)
        ),
        json=redaction.json(parsed),
        body=text,
    )
    headers = _lower(redaction.headers(capture.response_headers))
    reads = _redact_reads(capture.reads, redaction)
    is_sse = any(k == "content-type" and v.startswith("text/event-stream") for k, v in headers)
    if is_sse:
        events = frame_stream(reads)
        # A client that stops at `data: [DONE]` (the SDK does) has read the whole stream.
        done = bool(events) and events[-1].data == DONE_DATA
        response = RecordedResponse(
            status=capture.status,
            headers=headers,
            t=round(capture.head_t, 4),
            events=events,
            complete=capture.complete or done,
        )
    else:
        body, body_t, cuts = body_from_reads(reads)
        response = RecordedResponse(
            status=capture.status,
            headers=headers,
            t=round(capture.head_t, 4),
            body=body,
            body_t=body_t,
            body_cuts=cuts,
            complete=capture.complete,
        )
    return Interaction(request, response)


_TRANSPORT_HEADERS = frozenset(
    {"host", "content-length", "connection", "accept-encoding", "transfer-encoding"}
)
"""Request headers that describe one connection, not the request: left out of the recording."""


def _lower(pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple((k.lower(), v) for k, v in pairs)


def _redact_reads(reads: Sequence[tuple[bytes, float]], redaction: Redaction) -> list[tuple[bytes, float]]:
    """Scrub the whole body at once, so a secret split across two reads is still found."""
    reads = [(data, round(t, 4)) for data, t in reads if data]
    if not redaction.may_change(b"".join(data for data, _ in reads)):
        return reads
    pieces = [data.decode("utf-8", "surrogateescape") for data, _ in reads]
    text = "".join(pieces)
    ends: list[int] = []
    total = 0
    for piece in pieces:
        total += len(piece)
        ends.append(total)
    scrubbed, moved = redaction.text_keeping_offsets(text, ends)
    if scrubbed == text:
        return reads
    out: list[tuple[bytes, float]] = []
    start = 0
    for (_, t), end in zip(reads, moved, strict=True):
        out.append((scrubbed[start:end].encode("utf-8", "surrogateescape"), t))
        start = end
    return out


# --- YAML: writing --------------------------------------------------------------------------------


class _Flow(dict[str, Any]):
    """A mapping written on one line: one event per line keeps diffs to the events that changed."""


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    pass


def _represent_flow(dumper: yaml.SafeDumper, value: _Flow) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", value.items(), flow_style=True)


_Dumper.add_representer(_Flow, _represent_flow)


def _text_or_b64(data: bytes, key: str, out: dict[str, Any]) -> None:
    try:
        out[key] = data.decode("utf-8")
    except UnicodeDecodeError:
        out[key + "_b64"] = base64.b64encode(data).decode("ascii")


def _headers_out(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in pairs:
        if name in out:
            previous = out[name]
            out[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            out[name] = value
    return out


def _cuts_out(cuts: Sequence[tuple[int, float]]) -> list[list[float]]:
    return [[offset, t] for offset, t in cuts]


def _event_out(event: RecordedEvent) -> _Flow:
    out = _Flow(t=event.t)
    if event.event is not None:
        out["event"] = event.event
    if event.id is not None:
        out["id"] = event.id
    if event.retry is not None:
        out["retry"] = event.retry
    if event.data is not None:
        out["data"] = event.data
    if event.raw is not None:
        _text_or_b64(event.raw, "raw", out)
    if event.cuts:
        out["cuts"] = _cuts_out(event.cuts)
    if event.joined:
        out["joined"] = True
    return out


def _interaction_out(interaction: Interaction, events_at: str) -> dict[str, Any]:
    """The interaction as YAML data; a non-empty ``events`` list is the placeholder ``events_at``."""
    req = interaction.request
    request: dict[str, Any] = {"method": req.method, "url": req.url, "headers": _headers_out(req.headers)}
    if req.json is not None:
        request["json"] = req.json
    elif req.body is not None:
        request["body"] = req.body
    res = interaction.response
    response: dict[str, Any] = {"status": res.status, "t": res.t, "headers": _headers_out(res.headers)}
    if not res.complete:
        response["complete"] = False
    if res.events is not None:
        response["events"] = events_at if res.events else []  # see dump_cassette
    else:
        _text_or_b64(res.body or b"", "body", response)
        response["body_t"] = res.body_t
        if res.body_cuts:
            response["body_cuts"] = _cuts_out(res.body_cuts)
    return {"request": request, "response": response}


def _yaml(value: Any) -> str:
    return yaml.dump(
        value, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=2**31 - 1, default_flow_style=False
    )


def _float_text(value: float) -> str:
    """A float as PyYAML writes it (``1.0e-05``, never ``1e-05``, which YAML 1.1 reads as a string)."""
    text = repr(float(value))
    return text.replace("e", ".0e") if "e" in text and "." not in text else text


def _event_line(event: RecordedEvent) -> str:
    """One event as its line in the ``events:`` list.

    The common event (time and printable data) is written directly, in the
    single-quoted style PyYAML itself picks for it; anything else goes through
    the emitter. The round-trip tests hold the two to the same output.
    """
    data = event.data
    if (
        data is not None
        and event.raw is None
        and event.event is None
        and event.id is None
        and event.retry is None
        and not event.cuts
        and not event.joined
        and data.isprintable()
    ):
        quoted = data.replace("'", "''")
        return f"    - {{t: {_float_text(event.t)}, data: '{quoted}'}}\n"
    return "    " + _yaml([_event_out(event)])


_EVENTS_AT = "__writer_stream_testkit_events_{}__"


def dump_cassette(content: CassetteContent) -> str:
    """The YAML text of a cassette: block style, one line per event, keys in a fixed order."""
    document: dict[str, Any] = {"version": FORMAT_VERSION}
    if content.meta:
        document["meta"] = dict(content.meta)
    # Events are written line by line (10,000 of them go through the emitter slowly), into
    # a placeholder the emitter leaves where the list belongs.
    interactions = [_interaction_out(x, _EVENTS_AT.format(i)) for i, x in enumerate(content.interactions)]
    streams = [(i, x.response.events) for i, x in enumerate(content.interactions) if x.response.events]
    document["interactions"] = interactions
    text = _yaml(document)
    for index, events in streams:
        placeholder = f"    events: {_EVENTS_AT.format(index)}\n"
        text = text.replace(placeholder, "    events:\n" + "".join(_event_line(e) for e in events), 1)
    return _HEADER_COMMENT + text


# --- YAML: reading and validating -----------------------------------------------------------------

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[valid-type,misc]
    """The safe loader with tag resolution short-cut for what cassettes hold most: quoted text and keys.

    The parser asks for a tag for every scalar; a quoted one is always a string, and
    the few distinct keys are resolved once and remembered.
    """

    _known: ClassVar[dict[str, str]] = {}

    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:
            if not implicit[0] and implicit[1]:
                return _STR
            if implicit[0] and len(value) <= 12:
                tag = self._known.get(value)
                if tag is None:
                    tag = super().resolve(kind, value, implicit)
                    if len(self._known) < 256 and not value[:1].isdigit():
                        self._known[value] = tag
                return tag
        return cast(str, super().resolve(kind, value, implicit))


_STR = "tag:yaml.org,2002:str"
_SAFE_SCALAR_TAGS = frozenset(
    {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"}
)
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


def _where(node: Node) -> str:
    mark = node.start_mark
    return f"line {mark.line + 1}, column {mark.column + 1}"


class _Builder:
    """Nodes to Python values, refusing any tag but plain YAML data.

    Faster than PyYAML's constructor (strings, the bulk of a cassette, need no
    work) and stricter: a ``!!python/...`` tag, a timestamp or a merge key is
    an error, not an object.
    """

    def __init__(self, source: str, loader: yaml.SafeLoader) -> None:
        self._source = source
        self._loader = loader
        self._building: set[int] = set()
        self._done: dict[int, Any] = {}

    def build(self, node: Node) -> Any:
        if node.__class__ is ScalarNode:
            if node.tag == _STR:
                return node.value
            if node.tag in _SAFE_SCALAR_TAGS:
                try:
                    return self._loader.construct_object(node, deep=True)
                except ValueError:  # an integer with more digits than int() will read
                    text = node.value if len(node.value) <= 20 else node.value[:20] + "..."
                    raise CassetteFormatError(
                        f"Cassette {self._source} has the number {text} at {_where(node)}, which is too long "
                        "to read; write a shorter number there, or record the cassette again."
                    ) from None
            raise self._refuse(node)
        key = id(node)
        if key in self._done:
            return self._done[key]
        if key in self._building:
            raise CassetteFormatError(
                f"Cassette {self._source} refers to itself through a YAML alias at {_where(node)}; "
                "a cassette is plain data, so replace the alias with the value it stands for."
            )
        self._building.add(key)
        value: Any
        if node.__class__ is MappingNode and node.tag == _MAP:
            value = {}
            for key_node, value_node in node.value:
                name = self.build(key_node)
                if isinstance(name, (dict, list)):
                    raise CassetteFormatError(
                        f"Cassette {self._source} has a mapping key that is not a scalar at "
                        f"{_where(key_node)}; write keys as plain strings."
                    )
                value[name] = self.build(value_node)
        elif node.__class__ is SequenceNode and node.tag == _SEQ:
            value = [self.build(item) for item in node.value]
        else:
            raise self._refuse(node)
        self._building.discard(key)
        self._done[key] = value
        return value

    def _refuse(self, node: Node) -> CassetteFormatError:
        return CassetteFormatError(
            f"Cassette {self._source} uses the YAML tag {node.tag!r} at {_where(node)}, which cassettes "
            "do not allow: they are loaded as plain data (strings, numbers, booleans, null, lists, "
            "mappings), never as Python objects. Remove the tag, or quote the value if it is text."
        )


def _yaml_problem(error: yaml.MarkedYAMLError, source: str) -> str:
    """PyYAML's account of a syntax error, with each place given as ``FILE, line L, column C``.

    PyYAML names the stream it parsed (``"<unicode string>"``), not the file.
    """
    parts: list[str] = []
    for text, mark in ((error.context, error.context_mark), (error.problem, error.problem_mark)):
        if text is None and mark is None:
            continue
        where = f" at {source}, line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        parts.append(f"{text or 'error'}{where}")
    if error.note:
        parts.append(error.note)
    return "; ".join(parts) or type(error).__name__


def _yaml_data(text: str, source: str) -> Any:
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            raise CassetteFormatError(
                f"Cassette {source} is not valid YAML: {_yaml_problem(exc, source)}. Fix the syntax at "
                "that place, or delete the file and record it again."
            ) from None
        except yaml.YAMLError as exc:
            raise CassetteFormatError(
                f"Cassette {source} is not valid YAML ({exc}); delete it and record it again."
            ) from None
        if node is None:
            return None
        try:
            return _Builder(source, loader).build(node)
        except yaml.YAMLError as exc:
            raise CassetteFormatError(
                f"Cassette {source} has a value that cannot be read ({exc}); fix it or record the cassette again."
            ) from None
    finally:
        loader.dispose()


class _Check:
    """Shape checks that name the file and the place (``interactions[3].response.status``)."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, problem: str, fix: str) -> CassetteFormatError:
        return CassetteFormatError(f"Cassette {self.source}: {where} {problem}. {fix}")

    def mapping(
        self, value: Any, where: str, allowed: Iterable[str], required: Iterable[str] = ()
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"must be a mapping, not {_kind(value)}", "Check its indentation.")
        unknown = [k for k in value if k not in allowed]
        if unknown:
            known = ", ".join(allowed)
            raise self.fail(
                f"{where}.{unknown[0]}",
                "is not a field cassettes know",
                f"Use only {known} there (check the spelling).",
            )
        for name in required:
            if name not in value:
                raise self.fail(f"{where}.{name}", "is missing", "Add it, or record the cassette again.")
        return value

    def string(self, value: Any, where: str) -> str:
        if not isinstance(value, str):
            raise self.fail(where, f"must be a string, not {_kind(value)}", "Quote the value.")
        return value

    def number(self, value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise self.fail(
                where, f"must be a number of seconds >= 0, not {value!r}", "Write a plain number like 0.25."
            )
        if not math.isfinite(value):  # .inf would replay as an endless pause, .nan as no time at all
            raise self.fail(
                where,
                f"must be a finite number of seconds, not {value!r}",
                "Write the time as a plain number like 0.25.",
            )
        return float(value)

    def integer(self, value: Any, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(where, f"must be a whole number, not {value!r}", "Write a plain integer.")
        return value

    def boolean(self, value: Any, where: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(where, f"must be true or false, not {value!r}", "Write true or false.")
        return value

    def blob(self, entry: Mapping[str, Any], key: str, where: str) -> bytes | None:
        if key in entry:
            return self.string(entry[key], f"{where}.{key}").encode("utf-8")
        if key + "_b64" in entry:
            encoded = self.string(entry[key + "_b64"], f"{where}.{key}_b64")
            try:
                return base64.b64decode(encoded, validate=True)
            except ValueError:
                raise self.fail(
                    f"{where}.{key}_b64", "is not valid base64", "Record the cassette again."
                ) from None
        return None

    def headers(self, value: Any, where: str) -> tuple[tuple[str, str], ...]:
        if value is None:
            return ()
        if not isinstance(value, dict):
            raise self.fail(
                where,
                f"must be a mapping of header names to values, not {_kind(value)}",
                "Check its indentation.",
            )
        out: list[tuple[str, str]] = []
        for name, item in value.items():
            name = self.string(name, f"{where} key")
            values = item if isinstance(item, list) else [item]
            for i, single in enumerate(values):
                spot = f"{where}.{name}" + (f"[{i}]" if isinstance(item, list) else "")
                out.append((name.lower(), self.string(single, spot)))
        return tuple(out)

    def cuts(self, value: Any, where: str, size: int) -> tuple[tuple[int, float], ...]:
        if not isinstance(value, list):
            raise self.fail(
                where,
                f"must be a list of [offset, t] pairs, not {_kind(value)}",
                "Record the cassette again.",
            )
        out: list[tuple[int, float]] = []
        previous = 0
        for i, pair in enumerate(value):
            spot = f"{where}[{i}]"
            if not isinstance(pair, list) or len(pair) != 2:
                raise self.fail(
                    spot, f"must be an [offset, t] pair, not {pair!r}", "Record the cassette again."
                )
            offset = self.integer(pair[0], f"{spot}[0]")
            if not previous < offset < size:
                raise self.fail(
                    f"{spot}[0]",
                    f"is offset {offset}, outside the {size} bytes it splits (or not after the cut before it)",
                    "If you edited the event's data, delete its `cuts` so it replays as one read.",
                )
            previous = offset
            out.append((offset, self.number(pair[1], f"{spot}[1]")))
        return tuple(out)


def _kind(value: Any) -> str:
    if value is None:
        return "empty (null)"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


_EVENT_KEYS = ("t", "event", "id", "retry", "data", "raw", "raw_b64", "cuts", "joined")
_REQUEST_KEYS = ("method", "url", "headers", "json", "body")
_RESPONSE_KEYS = ("status", "t", "headers", "complete", "events", "body", "body_b64", "body_t", "body_cuts")


def _event_in(check: _Check, entry: Any, where: str, *, first: bool = False) -> RecordedEvent:
    if not isinstance(entry, dict):
        raise check.fail(
            where,
            f"must be a mapping like {{t: 0.1, data: '...'}}, not {_kind(entry)}",
            "Check the list item.",
        )
    if len(entry) <= 2 and "data" in entry and "t" in entry:  # the common case, checked quickly
        data, t = entry["data"], entry["t"]
        if data.__class__ is str and t.__class__ in (float, int) and 0 <= t < math.inf:
            return RecordedEvent(data=data, t=float(t))
    check.mapping(entry, where, _EVENT_KEYS)
    t = check.number(entry.get("t", 0.0), f"{where}.t")
    data = None if entry.get("data") is None else check.string(entry["data"], f"{where}.data")
    event = None if entry.get("event") is None else check.string(entry["event"], f"{where}.event")
    id_ = None if entry.get("id") is None else check.string(entry["id"], f"{where}.id")
    retry = None if entry.get("retry") is None else check.integer(entry["retry"], f"{where}.retry")
    raw = check.blob(entry, "raw", where)
    joined = check.boolean(entry.get("joined", False), f"{where}.joined")
    if raw is None:
        if data is None:
            raise check.fail(
                where, "has neither `data` nor `raw`", "Give the event its data, or delete the entry."
            )
        try:
            frame = encode_event(data, event=event, id=id_, retry=retry)
        except ValueError as exc:
            raise check.fail(
                where, f"cannot be encoded as SSE ({exc})", "Fix the field named there."
            ) from None
    else:
        frame = raw
        parsed = _parse_block(raw, at_start=first)
        if data is not None and parsed[0] != data:
            raise check.fail(
                f"{where}.data",
                f"is {data!r} but the event's `raw` bytes carry {parsed[0]!r}",
                "Edit both together, or delete `raw` to replay the canonical `data: ...` framing.",
            )
    cuts = check.cuts(entry.get("cuts", []), f"{where}.cuts", len(frame))
    return RecordedEvent(data=data, t=t, event=event, id=id_, retry=retry, raw=raw, cuts=cuts, joined=joined)


def _interaction_in(check: _Check, entry: Any, where: str) -> Interaction:
    check.mapping(entry, where, ("request", "response"), ("request", "response"))
    req = check.mapping(entry["request"], f"{where}.request", _REQUEST_KEYS, ("method", "url"))
    if "json" in req and "body" in req:
        raise check.fail(
            f"{where}.request", "has both `json` and `body`", "Keep one: `json` for a JSON body."
        )
    request = RecordedRequest(
        method=check.string(req["method"], f"{where}.request.method").upper(),
        url=check.string(req["url"], f"{where}.request.url"),
        headers=check.headers(req.get("headers"), f"{where}.request.headers"),
        json=req.get("json"),
        body=None if req.get("body") is None else check.string(req["body"], f"{where}.request.body"),
    )
    res = check.mapping(entry["response"], f"{where}.response", _RESPONSE_KEYS, ("status",))
    status = check.integer(res["status"], f"{where}.response.status")
    if not 100 <= status <= 599:
        raise check.fail(
            f"{where}.response.status", f"is {status}, not an HTTP status", "Use a status from 100 to 599."
        )
    has_body = "body" in res or "body_b64" in res
    if has_body == ("events" in res):
        raise check.fail(
            f"{where}.response",
            "must have exactly one of `events` (an SSE stream) and `body` (any other body)",
            "Keep the one that matches the response's content-type.",
        )
    head = RecordedResponse(
        status=status,
        headers=check.headers(res.get("headers"), f"{where}.response.headers"),
        t=check.number(res.get("t", 0.0), f"{where}.response.t"),
        complete=check.boolean(res.get("complete", True), f"{where}.response.complete"),
    )
    if "events" in res:
        events = res["events"]
        if not isinstance(events, list):
            raise check.fail(
                f"{where}.response.events", f"must be a list, not {_kind(events)}", "Check its indentation."
            )
        prefix = f"{where}.response.events"
        parsed = tuple(_event_in(check, e, f"{prefix}[{i}]", first=i == 0) for i, e in enumerate(events))
        return Interaction(request, replace(head, events=parsed))
    body = check.blob(res, "body", f"{where}.response") or b""
    return Interaction(
        request,
        replace(
            head,
            body=body,
            body_t=check.number(res.get("body_t", 0.0), f"{where}.response.body_t"),
            body_cuts=check.cuts(res.get("body_cuts", []), f"{where}.response.body_cuts", len(body)),
        ),
    )


def parse_cassette(text: str, *, source: str = "<string>") -> CassetteContent:
    """Validate cassette YAML text; every error names ``source`` and the place in it."""
    data = _yaml_data(text, source)
    check = _Check(source)
    if not isinstance(data, dict):
        raise check.fail(
            "the top level",
            f"must be a mapping with `version` and `interactions`, not {_kind(data)}",
            "Record the cassette again.",
        )
    check.mapping(data, "the top level", ("version", "meta", "interactions"), ("version",))
    version = data["version"]
    if version != FORMAT_VERSION:
        raise CassetteFormatError(
            f"Cassette {source} has version: {version!r}, but this writer-stream-testkit reads version "
            f"{FORMAT_VERSION} only. Upgrade writer-stream-testkit, or record the cassette again."
        )
    meta = {} if data.get("meta") is None else data["meta"]
    if not isinstance(meta, dict):
        raise check.fail("meta", f"must be a mapping, not {_kind(meta)}", "Write meta as key: value lines.")
    interactions = [] if data.get("interactions") is None else data["interactions"]
    if not isinstance(interactions, list):
        raise check.fail(
            "interactions", f"must be a list, not {_kind(interactions)}", "Start each one with `- request:`."
        )
    return CassetteContent(
        interactions=tuple(
            _interaction_in(check, e, f"interactions[{i}]") for i, e in enumerate(interactions)
        ),
        meta=meta,
    )


def load_cassette(path: str | os.PathLike[str]) -> CassetteContent:
    """Read and validate a cassette file (``yaml.CSafeLoader`` when available, plain data only)."""
    file = Path(path)
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise CassetteError(
            f"Cassette {file} does not exist. Record it with record_mode='once' (or "
            "--writer-record-mode=once), or check the path."
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CassetteFormatError(
            f"Cassette {file} is not UTF-8 text (byte {exc.start} is invalid); cassettes are YAML in "
            "UTF-8, so record it again."
        ) from None
    return parse_cassette(text, source=str(file))


# --- files: atomic writes, an inter-process lock -------------------------------------------------


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":
        return  # Windows cannot open a directory; os.replace there is already durable enough
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` with ``data`` so a reader sees the old file or the new one, never half.

    Temp file in the same directory, flushed and fsynced, ``os.replace`` over the
    target, then the directory fsynced so the rename itself survives a crash.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            mode = target.stat().st_mode & 0o777
        except FileNotFoundError:
            mode = 0o644
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(target.parent)


def lock_path(path: str | os.PathLike[str]) -> Path:
    """The file locked while a cassette is read, merged and rewritten.

    It lives in a directory of the temp directory private to this user, keyed by
    the cassette's absolute path, so no lock files appear beside cassettes (where
    they would get committed) and none is ever deleted while another process may
    be waiting on it. Every process of one user on one machine (pytest-xdist
    workers included) agrees on the same file; other users get their own
    directory, so one user's locks never block another's saves.
    """
    sidecar = _lock_name(path)
    with contextlib.suppress(FileExistsError):  # whatever is there, the check below looks at it
        os.mkdir(sidecar.parent, 0o700)
    _check_lock_directory(sidecar.parent, os.path.abspath(os.fspath(path)))
    return sidecar


def _lock_name(path: str | os.PathLike[str]) -> Path:
    resolved = os.path.abspath(os.fspath(path))
    digest = hashlib.sha256(resolved.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return Path(tempfile.gettempdir()) / f"writer-stream-testkit-locks-{_user_tag()}" / f"{digest}.lock"


def _user_tag() -> str:
    """This user, for the lock directory's name: the numeric user id, else the user name."""
    getuid = getattr(os, "getuid", None)
    if getuid is not None:
        return str(getuid())
    try:
        name = getpass.getuser()
    except Exception:  # getpass raises OSError, or KeyError before Python 3.13, when it finds no name
        name = "user"
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "user"


def _check_lock_directory(directory: Path, cassette: str) -> None:
    """Refuse a lock directory that is a symlink, not a directory, or someone else's.

    The temp directory is shared: another user could have put a link or a
    directory of their own at the name, to read or block our locks.
    """
    info = os.lstat(directory)
    problem = None
    if stat.S_ISLNK(info.st_mode):
        problem = "a symbolic link, not a directory"
    elif not stat.S_ISDIR(info.st_mode):
        problem = "not a directory"
    elif hasattr(os, "getuid") and info.st_uid != os.getuid():
        problem = f"owned by user id {info.st_uid}, not by this user (user id {os.getuid()})"
    if problem is not None:
        raise CassetteError(
            f"Cassette {cassette} cannot be locked for saving: its lock directory {directory} is {problem}. "
            "The temp directory is shared, so the lock directory must be a real directory owned by this "
            "user. Remove that path (it is recreated as needed) or set TMPDIR to a directory you own, and "
            "run again."
        )


_NOFOLLOW: Final = getattr(os, "O_NOFOLLOW", 0)


@contextlib.contextmanager
def locked(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive inter-process lock on ``path``'s sidecar lock file.

    Threads of one process also exclude each other, since POSIX record locks
    do not. The lock file is left in place: deleting it would let two
    processes lock different files of the same name. It is opened without
    following a symlink (where the platform allows), so a link planted in its
    place fails instead of locking, or creating, some other file.
    """
    with _THREAD_LOCK:
        try:
            sidecar = lock_path(path)
            fd = os.open(sidecar, os.O_RDWR | os.O_CREAT | _NOFOLLOW | getattr(os, "O_BINARY", 0), 0o600)
            handle = os.fdopen(fd, "r+b")
        except OSError as error:
            raise _lock_error(path, error) from error
        with handle:
            try:
                _lock_file(handle)
            except OSError as error:
                raise _lock_error(path, error) from error
            try:
                yield
            finally:
                _unlock_file(handle)


def _lock_error(path: str | os.PathLike[str], error: OSError) -> CassetteError:
    return CassetteError(
        f"Cassette {os.path.abspath(os.fspath(path))} cannot be locked for saving: opening or locking its "
        f"lock file {_lock_name(path)} failed ({type(error).__name__}: {error}). Check that this user can "
        "create and write that file (it must not be a symbolic link), or set TMPDIR to a directory you "
        "own, and run again."
    )


_THREAD_LOCK = threading.RLock()

if sys.platform == "win32":  # pragma: no cover - exercised on Windows CI only
    import msvcrt

    def _lock_file(handle: IO[bytes]) -> None:
        handle.seek(0)
        while True:
            try:
                msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
                return
            except OSError:
                continue

    def _unlock_file(handle: IO[bytes]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock_file(handle: IO[bytes]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)

    def _unlock_file(handle: IO[bytes]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def save_cassette(path: str | os.PathLike[str], content: CassetteContent) -> None:
    """Write ``content`` to ``path`` atomically (no lock: see :func:`update_cassette`)."""
    write_atomic(path, dump_cassette(content).encode("utf-8"))


def update_cassette(
    path: str | os.PathLike[str],
    change: Callable[[CassetteContent | None], CassetteContent | None],
    *,
    read: bool = True,
) -> CassetteContent | None:
    """Read, change and rewrite a cassette under its lock, so concurrent writers merge, not clobber.

    ``change`` gets the file as it is now (``None`` if absent, or if ``read`` is
    false because the new content does not depend on it) and returns what to
    write, or ``None`` to leave the file alone.
    """
    with locked(path):
        current = load_cassette(path) if read and Path(path).exists() else None
        new = change(current)
        if new is not None:
            save_cassette(path, new)
        return new


# --- matching -------------------------------------------------------------------------------------

MatchFunction: TypeAlias = Callable[[Call, RecordedRequest], bool]


@dataclass(frozen=True, slots=True)
class Matcher:
    """A named test of an incoming call against a recorded request; combine with ``&``, ``|``, ``~``."""

    name: str
    test: MatchFunction

    def __call__(self, call: Call, recorded: RecordedRequest) -> bool:
        return bool(self.test(call, recorded))

    def __and__(self, other: Matcher | MatchFunction) -> Matcher:
        right = as_matcher(other)
        return Matcher(f"({self.name} & {right.name})", lambda c, r: self(c, r) and right(c, r))

    def __or__(self, other: Matcher | MatchFunction) -> Matcher:
        right = as_matcher(other)
        return Matcher(f"({self.name} | {right.name})", lambda c, r: self(c, r) or right(c, r))

    def __invert__(self) -> Matcher:
        return Matcher(f"~{self.name}", lambda c, r: not self(c, r))


def as_matcher(value: Matcher | MatchFunction) -> Matcher:
    """A plain ``(call, recorded_request) -> bool`` callable, named after itself."""
    if isinstance(value, Matcher):
        return value
    if not callable(value):
        raise TypeError(
            f"{value!r} is not a matcher; pass a callable (call, recorded_request) -> bool, or a Matcher."
        )
    return Matcher(getattr(value, "__name__", "custom"), value)


_MATCH_ON = ("method", "scheme", "host", "port", "path", "query", "url", "body")


def _query(url: str, ignored: frozenset[str]) -> list[tuple[str, str]]:
    return sorted(
        (k, v) for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True) if k not in ignored
    )


def _drop(value: Any, path: Sequence[str]) -> Any:
    """A copy of a JSON value without the field at ``path`` (``*`` matches every key or index)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        out = dict(value)
        for key in list(out) if head == "*" else [head]:
            if key in out:
                if rest:
                    out[key] = _drop(out[key], rest)
                else:
                    del out[key]
        return out
    if isinstance(value, list):
        if head == "*":
            return [_drop(v, rest) for v in value] if rest else []
        if head.isdigit() and int(head) < len(value):
            index = int(head)
            if not rest:
                return value[:index] + value[index + 1 :]
            return [*value[:index], _drop(value[index], rest), *value[index + 1 :]]
    return value


@dataclass(frozen=True, slots=True)
class _Rules:
    """What counts as "the same request": built-in fields, ignored paths, custom matchers."""

    match_on: tuple[str, ...]
    body_ignore: tuple[tuple[str, ...], ...]
    query_ignore: frozenset[str]
    custom: tuple[Matcher, ...]

    @classmethod
    def build(
        cls,
        match_on: Sequence[str],
        ignore_fields: Sequence[str],
        matchers: Sequence[Matcher | MatchFunction],
    ) -> _Rules:
        for name in match_on:
            if name not in _MATCH_ON:
                raise ValueError(
                    f"match_on={tuple(match_on)!r} names {name!r}, which is not a request field; use any of "
                    f"{', '.join(_MATCH_ON)}, and pass matchers=[...] for anything else."
                )
        body: list[tuple[str, ...]] = []
        query: set[str] = set()
        for dotted in ignore_fields:
            scope, _, rest = dotted.partition(".")
            if scope == "body" and rest:
                body.append(tuple(rest.split(".")))
            elif scope == "query" and rest and "." not in rest:
                query.add(rest)
            else:
                raise ValueError(
                    f"ignore_fields entry {dotted!r} is not a field path; write 'body.<key>[.<key>...]' "
                    "(e.g. 'body.metadata.request_id', 'body.messages.*.name') or 'query.<param>'."
                )
        return cls(tuple(match_on), tuple(body), frozenset(query), tuple(as_matcher(m) for m in matchers))

    def body(self, value: Any) -> Any:
        for path in self.body_ignore:
            value = _drop(value, path)
        return value

    def field_matches(self, name: str, call: Call, recorded: RecordedRequest) -> bool:
        a, b = urlsplit(call.url), urlsplit(recorded.url)
        if name == "method":
            return call.method.upper() == recorded.method.upper()
        if name == "scheme":
            return a.scheme == b.scheme
        if name == "host":
            return a.hostname == b.hostname
        if name == "port":
            return a.port == b.port
        if name == "path":
            return call.path == recorded.path
        if name == "query":
            return _query(call.url, self.query_ignore) == _query(recorded.url, self.query_ignore)
        if name == "url":
            return (a.scheme, a.netloc, a.path) == (b.scheme, b.netloc, b.path) and _query(
                call.url, self.query_ignore
            ) == _query(recorded.url, self.query_ignore)
        # body
        if call.json is not None or recorded.json is not None:
            return bool(self.body(call.json) == self.body(recorded.json))
        return call.content.decode("utf-8", "replace") == (recorded.body or "")

    def failures(self, call: Call, recorded: RecordedRequest) -> list[str]:
        """The names of the rules this pair breaks; empty means they match."""
        failed = [name for name in self.match_on if not self.field_matches(name, call, recorded)]
        failed += [m.name for m in self.custom if not m(call, recorded)]
        return failed

    def matches(self, call: Call, recorded: RecordedRequest) -> bool:
        return all(self.field_matches(n, call, recorded) for n in self.match_on) and all(
            m(call, recorded) for m in self.custom
        )


def _pretty_body(value: Any, text: str | None) -> list[str]:
    if value is None:
        return (text or "").splitlines() or ["(no body)"]
    return _json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).splitlines()


def miss_message(
    source: str,
    call: Call,
    interactions: Sequence[Interaction],
    played: Sequence[int],
    rules: _Rules,
    record_mode: RecordMode,
    *,
    file_exists: bool = True,
) -> str:
    """A full account of a replay miss: the request, the closest recording as a diff, the fix."""
    lines = [f"Cassette {source} has no unplayed recording that matches {call.describe()}."]
    if not file_exists:
        lines[0] = f"Cassette {source} does not exist, so nothing can replay {call.describe()}."
    best: tuple[float, int] | None = None
    path_only = False
    incoming = rules.body(call.json)
    incoming_text = (
        _json.dumps(incoming, sort_keys=True)
        if incoming is not None
        else call.content.decode("utf-8", "replace")
    )
    for index, interaction in enumerate(interactions):
        recorded = interaction.request
        failed = rules.failures(call, recorded)
        stored = rules.body(recorded.json)
        stored_text = _json.dumps(stored, sort_keys=True) if stored is not None else (recorded.body or "")
        similarity = difflib.SequenceMatcher(None, incoming_text, stored_text, autojunk=False).ratio()
        score = (len(rules.match_on) + len(rules.custom) - len(failed)) + similarity
        if best is None or score > best[0]:
            best = (score, index)
    if best is None:
        if file_exists:
            lines.append("The cassette holds no interactions at all.")
    else:
        index = best[1]
        recorded = interactions[index].request
        failed = rules.failures(call, recorded)
        if not failed:
            lines.append(
                f"interactions[{index}] ({recorded.method} {recorded.url}) matches it but was already "
                "replayed, and each recording replays once. Record the repeat, or pass "
                "allow_playback_repeats=True to replay recordings more than once."
            )
        elif failed == ["path"]:
            path_only = True
            lines.append(
                f"The closest recording is interactions[{index}] ({recorded.method} {recorded.url}), which "
                f"differs only in its path: this request went to {call.path}, the recording to "
                f"{recorded.path}. The client's base URL (base_url= or WRITER_BASE_URL) has a different "
                "path prefix from the one the cassette was recorded with."
            )
        else:
            lines.append(
                f"The closest recording is interactions[{index}] ({recorded.method} {recorded.url}), which "
                f"differs in: {', '.join(failed)}."
            )
            ignored = [".".join(("body", *p)) for p in rules.body_ignore]
            note = f" (ignoring {', '.join(ignored)})" if ignored else ""
            diff = difflib.unified_diff(
                _pretty_body(rules.body(recorded.json), recorded.body),
                _pretty_body(
                    incoming, None if call.json is not None else call.content.decode("utf-8", "replace")
                ),
                fromfile=f"interactions[{index}].request body (recorded){note}",
                tofile="this request's body",
                lineterm="",
            )
            text = "\n".join(diff)
            lines.append(text if text else "Their bodies are equal; the difference is elsewhere.")
        if index in played and failed:
            lines.append(f"(interactions[{index}] was already replayed once in this run.)")
    suggested = "new_episodes" if record_mode in ("none", "once") else record_mode
    if not file_exists and record_mode == "none":
        lines.append(
            "The cassette is in record_mode='none', which only replays. To record it, run with "
            "--writer-record-mode=once or Cassette(..., record_mode='once') (recording needs a real "
            "WRITER_API_KEY), or check the cassette path."
        )
        return "\n".join(lines)
    if path_only:
        lines.append(
            "Point the client at the base URL the cassette was recorded with, or match without the path "
            "with Cassette(..., match_on=('method', 'body')) (the marker takes the same keyword)."
        )
        return "\n".join(lines)
    lines.append(
        f"The cassette is in record_mode={record_mode!r}, which does not record this request. To record it, run with "
        f"--writer-record-mode={suggested} or Cassette(..., record_mode={suggested!r}); if the difference does not "
        "matter, leave it out of matching with ignore_fields=['body.<field>'] or a custom matcher."
    )
    return "\n".join(lines)


# --- record modes: pure decisions -----------------------------------------------------------------

Action: TypeAlias = Literal["replay", "record", "miss"]


def check_record_mode(mode: str) -> RecordMode:
    if mode not in RECORD_MODES:
        raise ValueError(
            f"record_mode={mode!r} is not a record mode; use one of {', '.join(map(repr, RECORD_MODES))} "
            "(default 'none': replay only)."
        )
    return mode


def loads_existing(mode: RecordMode) -> bool:
    """Whether a run in ``mode`` reads the cassette already on disk (``rewrite`` starts afresh)."""
    return mode != "rewrite"


def decide(mode: RecordMode, *, file_existed: bool, matched: bool) -> Action:
    """What to do with one request, as vcrpy (and pytest-recording for ``rewrite``) would.

    ``matched`` means an unplayed recording loaded from the file fits the request.
    """
    if mode in ("all", "rewrite"):
        return "record"
    if matched:
        return "replay"
    if mode == "new_episodes" or (mode == "once" and not file_existed):
        return "record"
    return "miss"


def merge_for_save(
    mode: RecordMode,
    *,
    loaded: Sequence[Interaction],
    recorded: Sequence[Interaction],
    on_disk: Sequence[Interaction] | None,
    same: Callable[[RecordedRequest, RecordedRequest], bool],
) -> tuple[Interaction, ...] | None:
    """The interactions to write at the end of a run, or ``None`` to leave the file alone.

    ``on_disk`` is the file as re-read under the lock at save time, so writers
    running concurrently merge: each appends only what it recorded, and
    ``all`` replaces only the recordings it re-recorded.
    """
    if mode == "none":
        return None
    if mode == "rewrite":
        return tuple(recorded)
    if not recorded:
        return None
    base = list(on_disk or ())
    if mode == "all":
        kept = [old for old in base if not any(same(new.request, old.request) for new in recorded)]
        return (*kept, *recorded)
    # once / new_episodes: append what this run recorded, minus what other writers added meanwhile
    theirs = base[len(loaded) :] if base[: len(loaded)] == list(loaded) else base
    unclaimed = list(theirs)
    new: list[Interaction] = []
    for interaction in recorded:
        twin = next((i for i, old in enumerate(unclaimed) if same(interaction.request, old.request)), None)
        if twin is None:
            new.append(interaction)
        else:
            del unclaimed[twin]
    return (*base, *new)


def save_recorded(
    cassette: Cassette, *, loaded: Sequence[Interaction], recorded: Sequence[Interaction]
) -> None:
    """Merge what a run recorded into ``cassette``'s file as it is now, under its lock.

    Shared by :meth:`Cassette.save` and the CLI's record proxy, so both decide
    "the same request" and merge metadata alike. Both sides of each comparison
    are recordings, already redacted, so the cassette's rules apply directly.
    """
    mode = cassette.record_mode

    def same(a: RecordedRequest, b: RecordedRequest) -> bool:
        return cassette._rules.matches(b.as_call(), a)

    def change(current: CassetteContent | None) -> CassetteContent | None:
        merged = merge_for_save(
            mode,
            loaded=loaded,
            recorded=recorded,
            on_disk=None if current is None else current.interactions,
            same=same,
        )
        if merged is None:
            return None
        meta = dict(current.meta) if current is not None else {}
        meta.update(cassette.meta)
        return CassetteContent(merged, meta)

    update_cassette(cassette.path, change, read=mode != "rewrite")


def check_upstream(url: str, *, option: str) -> str:
    """``url`` if it is an absolute http(s) URL with a host, else a ``ValueError`` naming ``option``.

    Checked when a cassette or the record proxy is built, so a typo fails at once
    instead of sending every recorded request nowhere.
    """
    if http_url(url) is None:
        raise ValueError(
            f"{option} is not an http(s) base URL; pass an absolute one such as https://api.writer.com or "
            "http://127.0.0.1:8000 (no path after the host unless the API lives under one)."
        )
    return url


# --- the cassette in use --------------------------------------------------------------------------


class Cassette:
    """One cassette file in use: replays recorded interactions, records new ones per ``record_mode``.

    As a context manager (sync or async) it intercepts the Writer API in-process
    through respx, for ``writerai`` and this kit's clients alike; in record modes
    requests go to ``upstream`` (default: the real API) and each chunk reaches
    the caller as it arrives while being recorded. Leaving the block saves
    (atomically, merged under a lock) and fails on any request the cassette could
    not answer. ``FakeWriterServer(cassette=Cassette(...))`` replays it over a socket.

    "The Writer API" is decided as ``WriterMock`` decides it: each ``base_url``
    given, ``WRITER_BASE_URL`` when the cassette is built and at each request,
    and ``https://api.writer.com``. A request to another host goes to any other
    respx router; if none answers, a loopback host passes through (the test's
    own server) and any other gets a non-retryable 500 naming the fix and fails
    the block, so the SDK never retries it for minutes.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        record_mode: RecordMode = "none",
        match_on: Sequence[str] = ("method", "path", "body"),
        ignore_fields: Sequence[str] = (),
        matchers: Sequence[Matcher | MatchFunction] = (),
        allow_playback_repeats: bool = False,
        redact: Iterable[str | re.Pattern[str] | tuple[str | re.Pattern[str], str]] = (),
        redact_headers: Iterable[str] = (),
        api_key: str | None = None,
        timing: Timing = "fast",
        upstream: str | None = None,
        base_url: str | Sequence[str] | None = None,
        meta: Mapping[str, Any] | None = None,
        assert_all_played: bool = False,
    ) -> None:
        self.path = Path(path)
        self.record_mode: RecordMode = check_record_mode(record_mode)
        self._rules = _Rules.build(match_on, ignore_fields, matchers)
        self.allow_playback_repeats = allow_playback_repeats
        secrets = [s for s in (api_key, os.environ.get("WRITER_API_KEY")) if s]
        self.redaction = Redaction.build(secrets=secrets, patterns=redact, headers=redact_headers)
        timing_factor(timing)
        self.timing: Timing = timing
        self.upstream = (
            None
            if upstream is None
            else check_upstream(upstream, option=f"upstream={upstream!r} (--writer-upstream in pytest)")
        )
        self._hosts = BaseURLs(base_url)
        self.meta = dict(meta or {})
        self.assert_all_played = assert_all_played
        self._lock = threading.Lock()
        self._loaded: tuple[Interaction, ...] | None = None
        self._file_existed = False
        self._play_counts: list[int] = []
        self._captures: list[_recorder.Capture] = []
        self._saved: tuple[Interaction, ...] = ()
        self._misses: list[str] = []
        self._record_failures: list[str] = []
        self._calls: list[Call] = []
        self._router: _Router | None = None

    # --- loading and the replay state -------------------------------------------------------------

    def load(self) -> tuple[Interaction, ...]:
        """The interactions read from the file (once; ``rewrite`` reads nothing)."""
        with self._lock:
            if self._loaded is None:
                self._file_existed = self.path.exists()
                if self._file_existed and loads_existing(self.record_mode):
                    content = load_cassette(self.path)
                    self._loaded = content.interactions
                    self.meta = {**content.meta, **self.meta}
                else:
                    self._loaded = ()
                self._play_counts = [0] * len(self._loaded)
            return self._loaded

    @property
    def interactions(self) -> tuple[Interaction, ...]:
        """The recordings this run can replay."""
        return self.load()

    @property
    def calls(self) -> list[Call]:
        """Every request the cassette was asked to answer, in order."""
        with self._lock:
            return list(self._calls)

    @property
    def play_counts(self) -> list[int]:
        """How often each loaded interaction has been replayed in this run."""
        self.load()
        with self._lock:
            return list(self._play_counts)

    def _scrub_call(self, call: Call) -> Call:
        """The call as its recording would hold it: same secrets removed, so bodies compare equal."""
        redaction = self.redaction.with_secrets(secret_from_headers(call.headers.raw))
        if call.json is None:
            return call
        body = redaction.json(call.json)
        if body == call.json:
            return call
        return replace(call, json=body, content=_json.dumps(body).encode())

    def matches(self, call: Call, recorded: RecordedRequest) -> bool:
        """Whether ``call`` matches ``recorded`` under this cassette's rules, secrets scrubbed as in replay.

        Public so reply sources outside this class (the CLI's directory server and
        record proxy) decide "same request" exactly as the cassette does.
        """
        return self._rules.matches(self._scrub_call(call), recorded)

    def _choose(self, call: Call) -> tuple[Action, ResponsePlan | None]:
        interactions = self.load()
        scrubbed = self._scrub_call(call)
        with self._lock:
            self._calls.append(call)
            found: int | None = None
            for index, interaction in enumerate(interactions):
                if self._play_counts[index] == 0 and self._rules.matches(scrubbed, interaction.request):
                    found = index
                    break
            if found is None and self.allow_playback_repeats and self.record_mode not in ("all", "rewrite"):
                found = next(
                    (i for i, x in enumerate(interactions) if self._rules.matches(scrubbed, x.request)), None
                )
            action = decide(self.record_mode, file_existed=self._file_existed, matched=found is not None)
            if action == "replay":
                assert found is not None
                self._play_counts[found] += 1
                return action, render_plan(
                    interactions[found].response,
                    timing=self.timing,
                    reason=f"{self.path} interactions[{found}]",
                )
            if action == "record":
                return action, None
            message = miss_message(
                str(self.path),
                scrubbed,
                interactions,
                [i for i, n in enumerate(self._play_counts) if n],
                self._rules,
                self.record_mode,
                file_exists=self._file_existed,
            )
            self._misses.append(message)
            return action, error_plan(500, message)

    def take(self, call: Call) -> ResponsePlan:
        """The recorded answer to ``call`` (the reply-source hook ``FakeWriterServer`` calls)."""
        _, plan = self._choose(call)
        if plan is not None:
            return plan
        message = (
            f"Cassette {self.path} would record {call.describe()} (record_mode={self.record_mode!r}), but "
            "FakeWriterServer(cassette=...) only replays. To record a client in another process, use the "
            "writer_server fixture with @pytest.mark.writer_cassette (it records through a proxy when the "
            "record mode may record) or `writer-stream-testkit record --upstream URL --cassette FILE`; "
            "in-process, wrap the code in `with Cassette(...):`."
        )
        with self._lock:
            self._misses.append(message)
        return error_plan(500, message)

    def plan(self, call: Call) -> ResponsePlan:
        """The ``Reply`` protocol: the same as :meth:`take`."""
        return self.take(call)

    def _started(self, capture: _recorder.Capture) -> None:
        with self._lock:
            self._captures.append(capture)

    def _recording_failed(self, message: str) -> ResponsePlan:
        """Note that a request could not be recorded (``verify`` then fails) and answer it with a 502.

        The 502 carries ``x-should-retry: false``: a client retrying an upstream
        it cannot reach only waits minutes for the same error, without the reason.
        """
        with self._lock:
            self._record_failures.append(message)
        return error_plan(502, message)

    def _upstream_failed(self, request: httpx.Request, error: httpx.TransportError) -> ResponsePlan:
        """The in-process recorder's answer when the upstream never started a response."""
        url = request.url
        upstream = self.upstream or f"{url.scheme}://{url.netloc.decode('ascii')}"
        return self._recording_failed(
            f"Recording into cassette {self.path} failed for {Call.from_httpx(request).describe()}: the "
            f"upstream {upstream} did not answer ({_recorder.describe_error(error)}), so nothing was recorded for "
            "it. Check the cassette's upstream= (--writer-upstream in pytest) and that the upstream is "
            "up and reachable; the client got a 502 it does not retry."
        )

    # --- ending a run -----------------------------------------------------------------------------

    def recorded(self) -> tuple[Interaction, ...]:
        """What this run has recorded so far, redacted, in request order."""
        with self._lock:
            captures = list(self._captures)
        return tuple(interaction_from_capture(c, self.redaction) for c in captures if c.responded)

    def save(self) -> None:
        """Write what this run recorded, merged with the file as it is now, under the file's lock.

        A response still being read is not saved: its recording would be cut
        short and replay as a broken stream. The rest is saved, then
        :class:`CassetteRecordError` names the open one; it is saved by a later
        ``save()`` once it ends.
        """
        loaded = self.load()
        with self._lock:
            captures = list(self._captures)
        finished: list[_recorder.Capture] = []
        still_open: list[_recorder.Capture] = []
        for capture in captures:  # `done` read once each, so a capture is either saved whole or reported
            (finished if capture.done or not capture.responded else still_open).append(capture)
        recorded = tuple(interaction_from_capture(c, self.redaction) for c in finished if c.responded)
        mode = self.record_mode
        earlier = self._saved  # what earlier saves of this run wrote: the file holds it already
        if mode == "rewrite":
            # Nothing finished (or nothing ran): leave the old recording rather than blank it.
            if recorded or not (still_open or not (earlier or captures or self._calls)):
                save_recorded(self, loaded=loaded, recorded=(*earlier, *recorded))
        elif mode == "all" and recorded:
            save_recorded(self, loaded=loaded, recorded=(*earlier, *recorded))
        elif mode != "none" and recorded:
            save_recorded(self, loaded=(*loaded, *earlier), recorded=recorded)
        self._saved = (*earlier, *recorded)
        with self._lock:
            # Only what was saved: a capture another thread added meanwhile waits for the next save.
            self._captures = [c for c in self._captures if all(c is not f for f in finished)]
        if still_open:
            raise CassetteRecordError("\n\n".join(self._open_stream_message(c) for c in still_open))

    def _open_stream_message(self, capture: _recorder.Capture) -> str:
        request = interaction_from_capture(capture, self.redaction).request
        return (
            f"Cassette {self.path} did not save the recording of {request.describe()}: its stream was begun "
            "inside the `with Cassette(...)` block and was still open when the block ended, so only part of "
            "it had been recorded. Consume or close the stream inside the `with` block (read it to the end, "
            "or open it with `with client.chat.chat(..., stream=True) as stream:`); the cassette's other "
            "recordings were saved."
        )

    def verify(self) -> None:
        """Fail if any request went unanswered or could not be recorded.

        Raises :class:`CassetteRecordError` when a recording failed (listing any misses too),
        otherwise :class:`CassetteMissError` for misses.

        With ``assert_all_played=True``, recordings never replayed fail it too.
        """
        with self._lock:
            misses = list(self._misses)
            failures = list(self._record_failures)
            counts = list(self._play_counts)
        problems: list[str] = []
        if failures:
            count = len(failures)
            problems.append(
                (f"Recording failed for {count} requests:\n\n" if count > 1 else "") + "\n\n".join(failures)
            )
        if misses:
            count = len(misses)
            problems.append(
                (f"{count} requests found no recording:\n\n" if count > 1 else "") + "\n\n".join(misses)
            )
        if problems:
            raise (CassetteRecordError if failures else CassetteMissError)("\n\n".join(problems))
        if self.assert_all_played and self.record_mode not in ("all", "rewrite"):
            unplayed = [i for i, n in enumerate(counts) if n == 0]
            if unplayed:
                raise CassetteMissError(
                    f"Cassette {self.path} has recordings this run never replayed: "
                    f"{', '.join(f'interactions[{i}]' for i in unplayed)}. Make the requests the test "
                    "expects, re-record with record_mode='rewrite', or drop assert_all_played=True."
                )

    def reset(self) -> None:
        """Forget plays, calls and misses (the server calls this); the file is untouched."""
        with self._lock:
            self._play_counts = [0] * len(self._loaded or ())
            self._calls.clear()
            self._misses.clear()
            self._record_failures.clear()

    # --- interception -----------------------------------------------------------------------------

    def _owns(self, url: httpx.URL) -> bool:
        return self._hosts.owner(url) is not None

    def _unowned(self, request: httpx.Request) -> ResponsePlan:
        """The answer to a request for a host this cassette does not own, that no other respx router took.

        A loopback host passes through (the test's own server); any other gets a
        non-retryable 500 and fails :meth:`verify`, since raising here would make
        the SDK retry for minutes.
        """
        if is_loopback(request.url.host):
            raise pass_through(request, f"Cassette {self.path}")
        call = Call.from_httpx(request)
        guess = guess_base(request.url)
        served = ", ".join(base.url for base in self._hosts.now())
        message = (
            f"Cassette {self.path} does not answer {call.describe()} sent to {request.url}: it "
            f"answers only the Writer API at {served}, and no respx route matched the request. If the "
            f"code under test calls the Writer API at {guess}, pass that base URL as "
            f"Cassette(..., base_url={guess!r}) (the writer_cassette marker takes the same keyword); "
            "otherwise mock the request with a respx route."
        )
        with self._lock:
            self._calls.append(call)
            self._misses.append(message)
        return error_plan(500, message)

    def start(self) -> Cassette:
        """Load the file and start intercepting; prefer ``with Cassette(...):``, which also saves and verifies.

        Starting a started cassette is refused: a second router would stay
        registered after ``stop()`` and go on intercepting.
        """
        if self._router is not None:
            raise CassetteError(
                f"Cassette {self.path} is already started, and a cassette intercepts requests once: start() or "
                "`with` was used on it again before stop(). Use one `with Cassette(...)` block (the "
                "writer_cassette fixture's cassette is already started, so do not enter it again), or call "
                "stop() before starting it again."
            )
        self.load()
        self._router = _Router(self)
        self._router.start()
        return self

    def stop(self) -> None:
        """Stop intercepting, without saving or verifying."""
        if self._router is not None:
            self._router.stop(quiet=True)
            self._router = None

    def __enter__(self) -> Cassette:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        try:
            self.save()
        except CassetteRecordError as error:
            with self._lock:
                self._record_failures.append(str(error))
        verify_at_exit(self.verify, exc)

    async def __aenter__(self) -> Cassette:
        return self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)


class _Router(respx.MockRouter):
    """The respx router behind ``with Cassette(...)``: replay through the plan executor, or tee upstream."""

    def __init__(self, cassette: Cassette) -> None:
        super().__init__(assert_all_called=False, assert_all_mocked=True)
        self._cassette = cassette

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.extensions.get(_recorder.UPSTREAM_MARK):
            raise pass_through(
                request, f"Cassette {self._cassette.path}", "it is the recorder's own upstream request"
            )
        cassette = self._cassette
        if cassette._owns(request.url):
            request.read()
            _, plan = cassette._choose(Call.from_httpx(request))
            if plan is None:
                try:
                    return _recorder.record(request, upstream=cassette.upstream, on_start=cassette._started)
                except httpx.TransportError as error:
                    plan = cassette._upstream_failed(request, error)
        else:
            answer = answer_from_later(self, request)
            if answer is not None:
                return answer
            request.read()
            plan = cassette._unowned(request)
        run_head(plan, request)
        return build_response(plan, request)

    async def async_handler(self, request: httpx.Request) -> httpx.Response:
        if request.extensions.get(_recorder.UPSTREAM_MARK):
            raise pass_through(
                request, f"Cassette {self._cassette.path}", "it is the recorder's own upstream request"
            )
        cassette = self._cassette
        if cassette._owns(request.url):
            await request.aread()
            _, plan = cassette._choose(Call.from_httpx(request))
            if plan is None:
                try:
                    return await _recorder.arecord(
                        request, upstream=cassette.upstream, on_start=cassette._started
                    )
                except httpx.TransportError as error:
                    plan = cassette._upstream_failed(request, error)
        else:
            answer = await aanswer_from_later(self, request)
            if answer is not None:
                return answer
            await request.aread()
            plan = cassette._unowned(request)
        await arun_head(plan, request)
        return build_response(plan, request)

"""Reading a cassette: the safe YAML loader and the validation that names each problem's place."""

from __future__ import annotations

import base64
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from ..errors import CassetteError, CassetteFormatError
from ..wire.call import MAX_JSON_DEPTH, deeper_than
from ..wire.sse import encode_event
from .fast_load import PendingEvents, fast_data
from .framing import parse_block
from .headers import PLAIN_HEADER_VALUE
from .model import (
    FORMAT_VERSION,
    CassetteContent,
    DeferredEventsResponse,
    Interaction,
    RecordedEvent,
    RecordedRequest,
    RecordedResponse,
)
from .yaml_read import LONGEST_TIME, yaml_data


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
        if value > LONGEST_TIME:  # waiting that long at replay overflows the clock (1e300)
            raise self.fail(
                where,
                f"is {value!r} seconds, more than the {LONGEST_TIME:,.0f} (one day) a recording can last",
                "Write the time the event arrived, in seconds since the request, like 0.25.",
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

    def served_headers(self, value: Any, where: str) -> tuple[tuple[str, str], ...]:
        """Response headers, refused where no double can send them as written.

        httpx (in-process) cannot encode a non-ASCII value and h11 (the server) refuses
        a control character, a line break or a name that is not an HTTP token, so a
        cassette holding one would replay differently, or not at all, in each double.
        """
        pairs = self.headers(value, where)
        lengths = [text for name, text in pairs if name == "content-length"]
        if len(lengths) > 1 or not all(_DIGITS.fullmatch(text) for text in lengths):
            raise self.fail(
                f"{where}.content-length",
                f"is {(lengths[0] if len(lengths) == 1 else lengths)!r}, not one plain whole number of bytes "
                "(digits only: no sign, underscore or space)",
                "Write the body's length in digits, like 14, or delete the header so the body is sent chunked.",
            )
        for name, text in pairs:
            if not _TOKEN.fullmatch(name):
                raise self.fail(
                    f"{where} key {name!r}",
                    "is not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~ only)",
                    "Fix the name, or delete the header.",
                )
            if not PLAIN_HEADER_VALUE.fullmatch(text):
                raise self.fail(
                    f"{where}.{name}",
                    f"is {text!r}, which no HTTP response can carry as written (only printable ASCII, "
                    "spaces and tabs inside, no line breaks)",
                    "Write the value in printable ASCII on one line, or delete the header.",
                )
        return pairs

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


_TOKEN = re.compile(r"[-!#$%&'*+.^_`|~0-9a-zA-Z]+")
_DIGITS = re.compile(r"[0-9]+")
"""A ``content-length`` both doubles read alike: ``int()`` takes ``+14``, ``1_4`` and ``-5``, h11 does not."""


def _kind(value: Any) -> str:
    if value is None:
        return "empty (null)"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


_NO_BODY = frozenset({204, 304})
"""Statuses whose response has no body (RFC 9110): a client reads none whatever follows."""
_EVENT_KEYS = ("t", "event", "id", "retry", "data", "raw", "raw_b64", "cuts", "joined")
_REQUEST_KEYS = ("method", "url", "headers", "json", "body")
_RESPONSE_KEYS = ("status", "t", "headers", "complete", "events", "body", "body_b64", "body_t", "body_cuts")


def _event_in(check: _Check, entry: Any, where: str, *, first: bool = False) -> RecordedEvent:
    if entry.__class__ is RecordedEvent:  # read by the fast path, which checked it already
        return entry
    if not isinstance(entry, dict):
        raise check.fail(
            where,
            f"must be a mapping like {{t: 0.1, data: '...'}}, not {_kind(entry)}",
            "Check the list item.",
        )
    if len(entry) <= 2 and "data" in entry and "t" in entry:  # the common case, checked quickly
        data, t = entry["data"], entry["t"]
        if data.__class__ is str and t.__class__ in (float, int) and 0 <= t <= LONGEST_TIME:
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
        parsed = parse_block(raw, at_start=first)
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
    if deeper_than(req.get("json"), MAX_JSON_DEPTH):
        raise check.fail(
            f"{where}.request.json",
            f"nests lists and mappings more than {MAX_JSON_DEPTH} levels deep, deeper than any request "
            "body the doubles read",
            "Flatten the body there, or record the cassette again (such a body is recorded as text).",
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
    if not 200 <= status <= 599:
        problem = "an interim (1xx) status, which never ends a response" if 100 <= status < 200 else ""
        raise check.fail(
            f"{where}.response.status",
            f"is {status}, not an HTTP status" if not problem else f"is {status}, {problem}",
            "Use a final status from 200 to 599.",
        )
    has_body = "body" in res or "body_b64" in res
    if has_body == ("events" in res):
        raise check.fail(
            f"{where}.response",
            "must have exactly one of `events` (an SSE stream) and `body` (any other body)",
            "Keep the one that matches the response's content-type.",
        )
    if status in _NO_BODY and (res.get("events") or res.get("body") or res.get("body_b64")):
        raise check.fail(
            f"{where}.response",
            f"has status {status}, which carries no body in HTTP, but holds "
            + ("events" if res.get("events") else "a body"),
            "Empty it (`events: []` or `body: ''`), or change the status.",
        )
    head = RecordedResponse(
        status=status,
        headers=check.served_headers(res.get("headers"), f"{where}.response.headers"),
        t=check.number(res.get("t", 0.0), f"{where}.response.t"),
        complete=check.boolean(res.get("complete", True), f"{where}.response.complete"),
    )
    if "events" in res:
        events = res["events"]
        prefix = f"{where}.response.events"
        if events.__class__ is PendingEvents:  # read and checked by the fast path: built on first use
            checked = {
                i: _event_in(check, e, f"{prefix}[{i}]", first=i == 0) for i, e in events.others.items()
            }
            return Interaction(request, DeferredEventsResponse.deferred(head, partial(events.build, checked)))
        if not isinstance(events, list):
            raise check.fail(
                f"{where}.response.events", f"must be a list, not {_kind(events)}", "Check its indentation."
            )
        prefix = f"{where}.response.events"
        parsed = tuple(
            e if e.__class__ is RecordedEvent else _event_in(check, e, f"{prefix}[{i}]", first=i == 0)
            for i, e in enumerate(events)
        )
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
    """Validate cassette YAML text; every error names ``source`` and the place in it.

    A file laid out as the kit writes it is read by a fast path (see :func:`fast_data`);
    anything else, and any file the fast path is unsure of, by the full YAML loader.
    Both give the same content and the same errors.
    """
    data = fast_data(text, source)
    if data is None:
        data = yaml_data(text, source)
    return _content(data, source)


def _content(data: Any, source: str) -> CassetteContent:
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

"""Reading a cassette: the safe YAML loader and the validation that names each problem's place."""

from __future__ import annotations

import base64
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, cast

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..errors import CassetteError, CassetteFormatError
from ..wire.sse import encode_event
from .framing import _parse_block
from .model import (
    FORMAT_VERSION,
    CassetteContent,
    Interaction,
    RecordedEvent,
    RecordedRequest,
    RecordedResponse,
)

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

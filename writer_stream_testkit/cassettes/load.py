"""Reading a cassette: the safe YAML loader and the validation that names each problem's place."""

from __future__ import annotations

import base64
import gc
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields, replace
from pathlib import Path
from typing import Any, ClassVar, Final, TypeVar, cast

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

# --- limits ---------------------------------------------------------------------------------------

ALIAS_EXPANSION_LIMIT: Final = 1_000_000
"""How much YAML aliases may add to a file: each use of ``*name`` counts the size of what it
stands for (characters of text, plus one per list item, mapping entry and value). A few
repeated values pass; an alias bomb (a 700-byte file standing for gigabytes) is refused."""

LONGEST_TIME: Final = 86_400.0
"""The largest time offset (seconds since the request) a cassette may hold: one day. A larger
one cannot be a recording, and waiting for it at replay overflows the clock."""

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


def _expanded_size(node: Node, memo: dict[int, float], active: set[int]) -> float:
    """The size ``node`` stands for with every alias in it expanded: characters of text plus one
    per item, entry and value (memoised by node, so linear); infinite for a node that contains itself."""
    key = id(node)
    size = memo.get(key)
    if size is not None:
        return size
    if node.__class__ is ScalarNode:
        size = len(node.value) + 1
    else:
        if key in active:
            return math.inf
        active.add(key)
        if node.__class__ is MappingNode:
            size = 1 + sum(
                _expanded_size(k, memo, active) + _expanded_size(v, memo, active) for k, v in node.value
            )
        else:
            size = 1 + sum(_expanded_size(item, memo, active) for item in node.value)
        active.discard(key)
    memo[key] = size
    return size


def alias_expansion(node: Node) -> float:
    """How much the aliases in a composed YAML document add to it (``inf`` when one contains itself)."""
    seen: set[int] = set()
    own = 0
    stack = [node]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if item.__class__ is ScalarNode:
            own += len(item.value) + 1
        else:
            own += 1
            if item.__class__ is MappingNode:
                stack.extend(part for pair in item.value for part in pair)
            else:
                stack.extend(item.value)
    return _expanded_size(node, {}, set()) - own


class _Builder:
    """Nodes to Python values, refusing any tag but plain YAML data.

    Faster than PyYAML's constructor (strings, the bulk of a cassette, need no
    work) and stricter: a ``!!python/...`` tag, a timestamp or a merge key is
    an error, not an object.
    """

    def __init__(
        self,
        source: str,
        loader: yaml.SafeLoader,
        *,
        scalar_aliases: bool = True,
        tags: Mapping[str, Any] = {},
    ) -> None:
        self._source = source
        self._loader = loader
        self._building: set[int] = set()
        self._done: dict[int, Any] = {}
        self._sizes: dict[int, float] = {}
        # A scalar can only be an alias's target where an alias can appear at all: the
        # text has a `*`. Tracking every scalar costs a set insertion each, so only then.
        self._scalars: set[int] | None = set() if scalar_aliases else None
        self._tags = tags
        self.markers: list[tuple[str, int]] | None = None
        """When a list, (value, line) of each fast-path placeholder met as a block mapping's value."""
        self.expansion = 0.0
        """What the aliases met so far add to the document (see ``ALIAS_EXPANSION_LIMIT``)."""

    def _aliased(self, node: Node) -> None:
        """Count one more use of ``node`` (an alias to it) against the expansion budget."""
        self.expansion += _expanded_size(node, self._sizes, set())
        if self.expansion > ALIAS_EXPANSION_LIMIT:
            raise CassetteFormatError(
                f"Cassette {self._source} uses YAML aliases that stand for more than "
                f"{ALIAS_EXPANSION_LIMIT:,} characters of data (one is the value at {_where(node)}, used "
                "again through an alias); "
                "files with aliases that expand that far are refused, since reading them would take "
                "unbounded memory. Write the values out instead of using aliases (cassettes the kit "
                "writes never use them), or record the cassette again."
            )

    def build(self, node: Node) -> Any:
        if node.__class__ is ScalarNode:
            if self._scalars is not None:
                key = id(node)
                if key in self._scalars:
                    self._aliased(node)
                else:
                    self._scalars.add(key)
            if node.tag == _STR:
                return node.value
            if node.tag in self._tags:
                return self._tags[node.tag](self._loader, node)
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
            self._aliased(node)
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
                if (
                    self.markers is not None
                    and value_node.__class__ is ScalarNode
                    and value_node.value.startswith(_FAST_MARK)
                    and not value_node.style  # plain: None (PyYAML) or "" (libyaml)
                    and node.flow_style is False
                ):
                    self.markers.append((value_node.value, value_node.start_mark.line))
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
    """The plain data of one YAML document, or ``CassetteFormatError`` naming the file and place."""
    return _yaml_node_data(text, source)[0]


def _yaml_node_data(
    text: str,
    source: str,
    *,
    loader_class: type[yaml.SafeLoader] | None = None,
    tags: Mapping[str, Any] = {},
    markers: list[tuple[str, int]] | None = None,
) -> tuple[Any, float]:
    """The data of one YAML document and how much its aliases expanded it."""
    loader = (loader_class or _Loader)(text)
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
            return None, 0
        builder = _Builder(source, loader, scalar_aliases="*" in text, tags=tags)
        builder.markers = markers
        try:
            return builder.build(node), builder.expansion
        except yaml.YAMLError as exc:
            raise CassetteFormatError(
                f"Cassette {source} has a value that cannot be read ({exc}); fix it or record the cassette again."
            ) from None
    finally:
        loader.dispose()


# --- the fast path: files laid out as the kit writes them -----------------------------------------

_FAST_MARK = "__writer_stream_testkit_fast_events_"
_EVENTS_BLOCK = re.compile(r"^    events:\n((?:    - \{[^\n]*\}\n)+)(?=[^ \t\r\n#]|\Z)", re.M)
"""An ``events:`` list as the kit writes it: one ``- {...}`` line per event, at the indentation
`dump_cassette` uses, ended by the next top-level line (the next interaction) or the file's end."""
_FAST_EVENT = re.compile(r"^    - \{(?:t: ([0-9.e+-]+), data: '(.*)'|(.*))\}$", re.M)
"""An event line: the common one as `dump._event_line` writes it, ``    - {t: T, data: 'D'}``
(``T`` and ``D`` captured), or any other (captured whole). Loose, so one C-level scan reads
every line of a block; :func:`_fast_events` then holds ``T`` and ``D`` to the strict forms."""
_CONTROL = bytes(range(0x0A)) + bytes(range(0x0B, 0x20)) + b"\x7f"
"""ASCII characters that YAML refuses or reads as a line break, and the tab: all unprintable."""
_FAST_TIMES = re.compile(r"(?:(?:0|[1-9][0-9]*|[0-9]+\.[0-9]+(?:e[-+][0-9]+)?)\n)*")
"""Times, one per line, that YAML 1.1 and Python's ``float`` read as the same number."""


def _event_factory() -> Callable[[str, float], RecordedEvent]:
    """``make(data, t)``: a plain ``RecordedEvent``, built about twice as fast as its ``__init__``.

    The frozen dataclass's ``__init__`` sets each of its eight slots through
    ``object.__setattr__``; setting them through their slot descriptors skips the
    name lookups. It is checked against the dataclass's fields here, at import, so a
    new field fails loudly instead of being left unset.
    """
    names = tuple(f.name for f in fields(RecordedEvent))
    defaults = tuple(f.default for f in fields(RecordedEvent))
    if names != ("data", "t", "event", "id", "retry", "raw", "cuts", "joined"):  # pragma: no cover
        raise RuntimeError(f"RecordedEvent's fields changed ({names}); update load._event_factory")
    slots = RecordedEvent.__dict__
    set_data, set_t, *rest = (slots[name].__set__ for name in names)
    set_event, set_id, set_retry, set_raw, set_cuts, set_joined = rest
    event, id_, retry, raw, cuts, joined = defaults[2:]
    new = object.__new__

    def make(data: str, t: float) -> RecordedEvent:
        made = new(RecordedEvent)
        set_data(made, data)
        set_t(made, t)
        set_event(made, event)
        set_id(made, id_)
        set_retry(made, retry)
        set_raw(made, raw)
        set_cuts(made, cuts)
        set_joined(made, joined)
        return made

    return make


_make_event = _event_factory()


def _lines_events(lines: list[str], source: str) -> list[Any] | None:
    """Event lines the fast path does not read, read by the full loader as one list.

    ``None`` (read the whole file instead) unless each line is exactly one item and no
    alias is used, so each reads as it does in the file.
    """
    if not lines:
        return []
    try:
        value, expansion = _yaml_node_data("\n".join(lines), source)
    except CassetteFormatError:
        return None  # the full loader names the place in the file
    if expansion or not isinstance(value, list) or len(value) != len(lines):
        return None
    return value


def _common_event(t: str, quoted: str, printable: bool) -> RecordedEvent | None:
    """The event of a common line, or ``None`` when the full loader must read the line.

    ``quoted`` must be single-quoted YAML text (a lone ``'`` ends it, so the line is
    something else) of printable characters (YAML folds or refuses some others), and
    ``t`` at most ``LONGEST_TIME``. ``printable`` says the block was checked already.
    """
    if "'" in quoted:
        if "'" in quoted.replace("''", ""):
            return None
        quoted = quoted.replace("''", "'")
    seconds = float(t)
    if seconds > LONGEST_TIME or not (printable or quoted.isprintable()):
        return None
    return _make_event(quoted, seconds)


def _fast_events(text: str, start: int, end: int, source: str) -> list[Any] | None:
    """The events of one block: common lines as events, the others read by the full loader.

    One C-level scan splits every line into its time and text (or marks it as another
    kind); the other lines are read together by the full loader, in one list.
    """
    found = _FAST_EVENT.findall(text, start, end)  # one match per line: the block is all `- {...}` lines
    block = text[start:end]
    # Printable ASCII (and line ends) throughout: every event's text is printable, checked once.
    printable = block.isascii() and len(block.encode("ascii").translate(None, _CONTROL)) == len(block)
    # A common line has a time (`t` is never empty then); another line only its whole text.
    strict = _FAST_TIMES.fullmatch("".join(t + "\n" for t, _, _ in found if t)) is not None
    events: list[Any] = []
    others: list[str] = []
    for t, quoted, other in found:
        event = None
        if t and (strict or _FAST_TIMES.fullmatch(t + "\n")):
            event = _common_event(t, quoted, printable)
        if event is not None:
            events.append(event)
        else:
            events.append(len(others))  # an index into `others`, read below
            others.append(f"    - {{t: {t}, data: '{quoted}'}}" if t else f"    - {{{other}}}")
    if not others:
        return events
    read = _lines_events(others, source)
    if read is None:
        return None
    return [read[e] if e.__class__ is int else e for e in events]


_T = TypeVar("_T")


def _without_gc(work: Callable[..., _T], *args: Any) -> _T:
    """``work(*args)`` with the cyclic garbage collector paused, as ``timeit`` runs code.

    Building 10,000 events allocates 10,000 tracked objects, which sets off dozens of
    collections that walk every object of the process (a test process holds many)
    and find nothing to free: events hold strings and numbers, never cycles. That was
    a third of the load time. Reference counting still frees everything as usual.
    """
    if not gc.isenabled():
        return work(*args)
    gc.disable()
    try:
        return work(*args)
    finally:
        gc.enable()


def _fast_data(text: str, source: str) -> Any:
    """The file's data with its event lists read without the YAML parser, or ``None``.

    Each ``events:`` block the kit wrote is read line by line (a regular expression for
    the common line, the full loader for the block's other lines) and replaced, for the
    YAML parser, by a placeholder and as many blank lines, so everything else is parsed
    as before at the same line numbers. The result is used only when the placeholders
    came back exactly where they were put, as the value of a response's ``events`` in
    a block mapping, and no alias was used; otherwise the full loader reads the file.
    """
    blocks: list[list[Any]] = []
    expected: list[tuple[str, int]] = []
    pieces: list[str] = []
    done = 0
    line = 0
    for match in _EVENTS_BLOCK.finditer(text):
        start, end = match.span(1)
        events = _without_gc(_fast_events, text, start, end, source)
        if events is None:
            return None
        lines = len(events)  # one line per event
        line += text.count("\n", done, match.start())
        mark = f"{_FAST_MARK}{len(blocks)}"
        expected.append((mark, line))
        pieces += (text[done : match.start()], f"    events: {mark}\n", "\n" * lines)
        blocks.append(events)
        line += 1 + lines
        done = end
    if not blocks:
        return None  # nothing to gain over the full loader
    pieces.append(text[done:])
    rest = "".join(pieces)
    if rest.count(_FAST_MARK) != len(blocks):  # the file holds the placeholder text itself
        return None
    found: list[tuple[str, int]] = []
    try:
        data, expansion = _yaml_node_data(rest, source, markers=found)
    except CassetteFormatError:
        return None
    if expansion or found != expected:
        return None
    used = 0
    interactions = data.get("interactions") if isinstance(data, dict) else None
    for entry in interactions if isinstance(interactions, list) else ():
        response = entry.get("response") if isinstance(entry, dict) else None
        events = response.get("events") if isinstance(response, dict) else None
        if events.__class__ is str and events == f"{_FAST_MARK}{used}":
            response["events"] = blocks[used]  # type: ignore[index]
            used += 1
    return data if used == len(blocks) else None


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
        for name, text in pairs:
            if not _TOKEN.fullmatch(name):
                raise self.fail(
                    f"{where} key {name!r}",
                    "is not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~ only)",
                    "Fix the name, or delete the header.",
                )
            if not _FIELD_VALUE.fullmatch(text):
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
_FIELD_VALUE = re.compile(r"(?:[\x21-\x7e]+(?:[ \t]+[\x21-\x7e]+)*)?")
"""A header value both doubles send unchanged: printable ASCII, inner spaces and tabs (RFC 9110)."""


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

    A file laid out as the kit writes it is read by a fast path (see :func:`_fast_data`);
    anything else, and any file the fast path is unsure of, by the full YAML loader.
    Both give the same content and the same errors.
    """
    data = _fast_data(text, source)
    if data is None:
        data = _yaml_data(text, source)
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

"""The fast path for cassettes laid out as the kit writes them: event lines read without the YAML parser.

Anything it does not recognise is left to the full reader (``yaml_read``), and both give the same data.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable
from dataclasses import fields
from typing import Any, TypeVar

from ..errors import CassetteFormatError
from .model import (
    RecordedEvent,
)
from .yaml_read import _FAST_MARK, LONGEST_TIME, _yaml_node_data

# --- the fast path: files laid out as the kit writes them -----------------------------------------

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

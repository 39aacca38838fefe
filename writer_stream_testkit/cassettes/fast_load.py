"""The fast path for cassettes laid out as the kit writes them: event lines read without the YAML parser.

Anything it does not recognise is left to the full reader (``yaml_read``), and both give the same data.
"""

from __future__ import annotations

import gc
import itertools
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import fields
from typing import Any, TypeVar

from ..errors import CassetteFormatError
from .model import (
    RecordedEvent,
)
from .yaml_read import FAST_MARK, LONGEST_TIME, names_an_anchor, yaml_node_data

# --- the fast path: files laid out as the kit writes them -----------------------------------------

_EVENTS_HEAD = "\n    events:\n    - {"
"""Where an ``events:`` list as the kit writes it starts: one ``- {...}`` line per event, at the
indentation `dump_cassette` uses."""
_BLOCK_END = re.compile(r"\n(?!    - \{)")
"""The end of an events block's last line: the first line after it that is not an event line."""
_NEXT_TOP_LEVEL = re.compile(r"[^ \t\r\n#]")
"""What must follow a block (the next interaction, a top-level key) or the file's end, so the
list ends where its lines do and nothing the YAML parser would read into it is skipped."""
_FAST_EVENT = re.compile(r"^    - \{(?:t: ([0-9.e+-]+), data: '(.*)'|(.*))\}$", re.M)
"""An event line: the common one as `dump._event_line` writes it, ``    - {t: T, data: 'D'}``
(``T`` and ``D`` captured), or any other (captured whole). Loose, so one C-level scan reads
every line of a block; :func:`_fast_events` then holds ``T`` and ``D`` to the strict forms."""
_CONTROL = bytes(range(0x0A)) + bytes(range(0x0B, 0x20)) + b"\x7f"
"""ASCII characters that YAML refuses or reads as a line break, and the tab: all unprintable."""
_LINE_OR_CONTROL = _CONTROL + b"\n"
_FAST_TIMES = re.compile(r"(?:(?:0|[1-9][0-9]*|[0-9]+\.[0-9]+(?:e[-+][0-9]+)?)\n)*")
"""Times, one per line, that YAML 1.1 and Python's ``float`` read as the same number."""
_BOUNDED = r"(?:(?:0|[1-9][0-9]{0,3}|[1-7][0-9]{4}|8[0-5][0-9]{3}|86[0-3][0-9]{2})(?:\.[0-9]+(?:e-[0-9]+)?)?|86400(?:\.0+)?)"
_BOUNDED_TIMES = re.compile(rf"(?:{_BOUNDED}\n)*")
"""``_FAST_TIMES`` that are also at most ``LONGEST_TIME`` (86400), told from their digits alone."""
_BOUNDED_TIME = re.compile(_BOUNDED)
_CUT_EVENT = re.compile(
    r"t: ([0-9.e+-]+), data: '(.*)', cuts: \[((?:\[[0-9]+, [0-9.e+-]+\], )*\[[0-9]+, [0-9.e+-]+\])\]"
)
"""An event line with read boundaries inside it, as `dump._event_line` writes it (inside its braces)."""
_CUT = re.compile(r"\[([0-9]+), ([0-9.e+-]+)\]")


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
    alias is used or anchor named, so each reads as it does in the file.
    """
    if not lines:
        return []
    text = "\n".join(lines)
    if names_an_anchor(text):
        return None  # named again elsewhere in the file, or used there: only the full loader sees both
    try:
        value, expansion = yaml_node_data(text, source)
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


class PendingEvents:
    """A block's events, every line read (and the common ones checked), built when the stream is first used.

    ``others`` are the lines that are not the common ``{t: T, data: 'D'}``, read by the
    full loader but not yet checked: ``load`` checks them (naming their place) and
    passes the result to :meth:`build`.
    """

    __slots__ = ("_texts", "_times", "others")

    def __init__(self, texts: Sequence[str], times: Sequence[str], others: dict[int, Any]) -> None:
        self._texts = texts
        self._times = times
        self.others = others

    def __len__(self) -> int:
        return len(self._times)

    def build(self, checked: dict[int, RecordedEvent]) -> tuple[RecordedEvent, ...]:
        """The events, the ``checked`` others in their places."""

        def make() -> tuple[RecordedEvent, ...]:
            events = list(map(_make_event, self._texts, map(float, self._times)))
            for index, event in checked.items():
                events[index] = event
            return tuple(events)

        return _without_gc(make)


def _printable_lines(text: str, start: int, end: int) -> int:
    """The number of lines in ``text[start:end]`` if it is printable ASCII apart from its line ends, else -1.

    Read in pieces of 64 KiB, so a stream of megabytes is checked without megabyte copies
    (each a fresh mapping of memory the kernel must fault in, which costs more than the check).
    """
    lines = 0
    for at in range(start, end, _PIECE):
        piece = text[at : min(at + _PIECE, end)]
        if not piece.isascii():
            return -1
        data = piece.encode("ascii")
        kept = len(data.translate(None, _LINE_OR_CONTROL))
        breaks = data.count(b"\n")
        if kept + breaks != len(data):
            return -1
        lines += breaks
    return lines


_PIECE = 1 << 16


def _fast_events(text: str, start: int, end: int, source: str) -> list[Any] | PendingEvents | None:
    """The events of one block: common lines as events, the others read by the full loader.

    One C-level scan splits every line into its time and text (or marks it as another
    kind); ``None`` when a line of the block is not an event line at all (the full
    loader reads the file then). When every line is common, printable and plainly
    quoted (a recording's usual block), the events are built column-wise, with no
    Python-level loop; otherwise line by line, the other lines read together by the
    full loader, in one list.
    """
    found = _FAST_EVENT.findall(text, start, end)  # at most one match per line
    # Printable ASCII and one line end per match throughout (so every line is `    - {...}` and
    # every event's text is printable), checked in one pass.
    printable = _printable_lines(text, start, end) == len(found)
    if not printable and len(found) != text.count("\n", start, end):
        return None  # a line that is not `    - {...}`
    times, quoted, other = zip(*found, strict=True)
    # A common line has a time (`t` is never empty then); another line only its whole text.
    common = all(times) and not any(other)
    stamped = times if common else [t for t in times if t]
    strict = not stamped or _FAST_TIMES.fullmatch("\n".join(stamped) + "\n") is not None
    if strict and printable:
        pending = _pending(times, quoted, other, common, source)
        if pending is not None:
            return pending
    events: list[Any] = []
    others: list[str] = []
    for t, text_, line in found:
        event = None
        if t and (strict or _FAST_TIMES.fullmatch(t + "\n")):
            event = _common_event(t, text_, printable)
        if event is not None:
            events.append(event)
        else:
            events.append(len(others))  # an index into `others`, read below
            others.append(f"    - {{t: {t}, data: '{text_}'}}" if t else f"    - {{{line}}}")
    if not others:
        return events
    read = _lines_events(others, source)
    if read is None:
        return None
    return [read[e] if e.__class__ is int else e for e in events]


def _pending(
    times: Sequence[str], quoted: Sequence[str], other: Sequence[str], common: bool, source: str
) -> PendingEvents | None:
    """A printable block with strict times, read column by column; ``None`` to read it line by line.

    The common lines' texts and times are read at C speed (a recording's usual
    block has no Python-level loop at all) and their times bounded by their digits;
    an event with read boundaries inside it is read here too, and the few other lines
    (a comment, an id, a hand edit) by the full loader, together, for ``load`` to check
    and place.
    """
    texts: Sequence[str] = quoted
    if any(map(operator.contains, quoted, itertools.repeat("'"))):  # a quote inside some event's text
        if any("'" in q.replace("''", "") for q in quoted if "'" in q):
            return None  # a lone quote ends the text: the line is something else
        texts = [q.replace("''", "'") if "'" in q else q for q in quoted]
    others: dict[int, Any] = {}
    if not common:
        at = list(itertools.compress(range(len(times)), map(operator.not_, times)))
        rest: list[int] = []
        for i in at:
            event = _cut_event(other[i])
            if event is None:
                rest.append(i)
            else:
                others[i] = event
        if rest:
            read = _lines_events([f"    - {{{other[i]}}}" for i in rest], source)
            if read is None:
                return None
            others.update(zip(rest, read, strict=True))
        times = list(times)
        for i in at:
            times[i] = "0"  # a placeholder: the event at i is built already
    if _BOUNDED_TIMES.fullmatch("\n".join(times) + "\n") is None and max(map(float, times)) > LONGEST_TIME:
        return None
    return PendingEvents(texts, times, others)


def _cut_event(line: str) -> RecordedEvent | None:
    """A common event with read boundaries inside it (``{t: T, data: 'D', cuts: [[O, T], ...]}``), or ``None``.

    ``None`` (the full loader reads the line, and ``load`` names any problem) unless
    every part is in the strict form and the cuts fall inside the event's bytes in order.
    """
    match = _CUT_EVENT.fullmatch(line)
    if match is None:
        return None
    t, quoted, cut_text = match.groups()
    if "'" in quoted:
        if "'" in quoted.replace("''", ""):
            return None
        quoted = quoted.replace("''", "'")
    if not quoted.isprintable() or _BOUNDED_TIME.fullmatch(t) is None:
        return None
    size = len(quoted.encode("utf-8")) + len("data: \n\n")
    cuts: list[tuple[int, float]] = []
    previous = 0
    for offset_text, at in _CUT.findall(cut_text):
        offset = int(offset_text)
        if not previous < offset < size or _BOUNDED_TIME.fullmatch(at) is None or offset_text[0] == "0":
            return None
        cuts.append((offset, float(at)))
        previous = offset
    return RecordedEvent(data=quoted, t=float(t), cuts=tuple(cuts))


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


def fast_data(text: str, source: str) -> Any:
    """The file's data with its event lists read without the YAML parser, or ``None``.

    Each ``events:`` block the kit wrote is read line by line (a regular expression for
    the common line, the full loader for the block's other lines) and replaced, for the
    YAML parser, by a placeholder and as many blank lines, so everything else is parsed
    as before at the same line numbers. The result is used only when the placeholders
    came back exactly where they were put, as the value of a response's ``events`` in
    a block mapping, and no alias was used; otherwise the full loader reads the file.
    """
    blocks: list[list[Any] | PendingEvents] = []
    expected: list[tuple[str, int]] = []
    pieces: list[str] = []
    done = 0
    line = 0
    head = text.find(_EVENTS_HEAD)
    while head >= 0:
        begin = head + 1  # the `    events:` line
        start = begin + len("    events:\n")
        stop = _BLOCK_END.search(text, start)
        end = len(text) if stop is None else stop.start() + 1
        if end < len(text) and _NEXT_TOP_LEVEL.match(text, end) is None:
            return None  # the list goes on in a form the fast path does not read
        events = _without_gc(_fast_events, text, start, end, source)
        if events is None:
            return None
        lines = len(events)  # one line per event
        line += text.count("\n", done, begin)
        mark = f"{FAST_MARK}{len(blocks)}"
        expected.append((mark, line))
        pieces += (text[done:begin], f"    events: {mark}\n", "\n" * lines)
        blocks.append(events)
        line += 1 + lines
        done = end
        head = text.find(_EVENTS_HEAD, end - 1)
    if not blocks:
        return None  # nothing to gain over the full loader
    pieces.append(text[done:])
    rest = "".join(pieces)
    if rest.count(FAST_MARK) != len(blocks):  # the file holds the placeholder text itself
        return None
    found: list[tuple[str, int]] = []
    try:
        data, expansion = yaml_node_data(rest, source, markers=found)
    except CassetteFormatError:
        return None
    if expansion or found != expected:
        return None
    used = 0
    interactions = data.get("interactions") if isinstance(data, dict) else None
    for entry in interactions if isinstance(interactions, list) else ():
        response = entry.get("response") if isinstance(entry, dict) else None
        events = response.get("events") if isinstance(response, dict) else None
        if events.__class__ is str and events == f"{FAST_MARK}{used}":
            response["events"] = blocks[used]  # type: ignore[index]
            used += 1
    return data if used == len(blocks) else None

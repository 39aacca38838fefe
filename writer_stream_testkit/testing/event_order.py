"""``assert_event_order``: event types against a small pattern language (``+ * ?``, groups, ``|``)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence

from ..errors import StreamContractError
from ._fields import get_field
from .contract import EVENT_TYPES

# --- assert_event_order ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Name:
    name: str


@dataclasses.dataclass(frozen=True)
class _Seq:
    items: tuple[_Node, ...]


@dataclasses.dataclass(frozen=True)
class _Alt:
    options: tuple[_Node, ...]


@dataclasses.dataclass(frozen=True)
class _Repeat:
    item: _Node
    quantifier: str


_Node = _Name | _Seq | _Alt | _Repeat
_TOKEN = re.compile(r"\s*(?:([A-Za-z_][\w.]*)|([()|+*?])|(,))")


def _parse_pattern(text: str) -> _Node:
    tokens: list[str] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None:
            raise ValueError(
                f"The event-order pattern {text!r} has an unexpected character at offset {position}."
            )
        token = match.group(1) or match.group(2)
        if token:
            tokens.append(token)
        position = match.end()
    parser = _PatternParser(tokens, text)
    node = parser.alternation()
    if parser.position != len(tokens):
        raise ValueError(f"The event-order pattern {text!r} has an unmatched {tokens[parser.position]!r}.")
    return node


class _PatternParser:
    def __init__(self, tokens: list[str], text: str) -> None:
        self.tokens, self.text, self.position = tokens, text, 0

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def alternation(self) -> _Node:
        options = [self.sequence()]
        while self.peek() == "|":
            self.position += 1
            options.append(self.sequence())
        return options[0] if len(options) == 1 else _Alt(tuple(options))

    def sequence(self) -> _Node:
        items: list[_Node] = []
        while (token := self.peek()) is not None and token not in "|)":
            items.append(self.repeat())
        return items[0] if len(items) == 1 else _Seq(tuple(items))

    def repeat(self) -> _Node:
        item = self.atom()
        while (token := self.peek()) is not None and token in "+*?":
            self.position += 1
            item = _Repeat(item, token)
        return item

    def atom(self) -> _Node:
        token = self.peek()
        self.position += 1
        if token == "(":
            inner = self.alternation()
            if self.peek() != ")":
                raise ValueError(f"The event-order pattern {self.text!r} has an unclosed '('.")
            self.position += 1
            return inner
        if token is None or token in "+*?|)":
            raise ValueError(
                f"The event-order pattern {self.text!r} has {token or 'its end'!r} where an event type belongs."
            )
        if token not in EVENT_TYPES:
            known = ", ".join(sorted(EVENT_TYPES))
            raise ValueError(
                f"The event-order pattern names {token!r}, which is not an event type; known types: {known}."
            )
        return _Name(token)


def _show(node: _Node, nested: bool = False) -> str:
    if isinstance(node, _Name):
        return node.name
    if isinstance(node, _Repeat):
        inner = _show(node.item, nested=True)
        return f"{inner}{node.quantifier}"
    if isinstance(node, _Alt):
        return "(" + " | ".join(_show(option) for option in node.options) + ")"
    text = " ".join(_show(item, nested=True) for item in node.items)
    return f"({text})" if nested else text


class _NFA:
    """A Thompson automaton over event type names: its state sets give the first mismatch directly."""

    def __init__(self, node: _Node) -> None:
        self.epsilon: list[list[int]] = []
        self.edges: list[list[tuple[str, int]]] = []
        self.start, self.accept = self.build(node)

    def state(self) -> int:
        self.epsilon.append([])
        self.edges.append([])
        return len(self.epsilon) - 1

    def build(self, node: _Node) -> tuple[int, int]:
        if isinstance(node, _Name):
            start, end = self.state(), self.state()
            self.edges[start].append((node.name, end))
            return start, end
        if isinstance(node, _Seq):
            start = end = self.state()
            for item in node.items:
                item_start, item_end = self.build(item)
                self.epsilon[end].append(item_start)
                end = item_end
            return start, end
        start, end = self.state(), self.state()
        if isinstance(node, _Alt):
            for option in node.options:
                option_start, option_end = self.build(option)
                self.epsilon[start].append(option_start)
                self.epsilon[option_end].append(end)
            return start, end
        item_start, item_end = self.build(node.item)
        self.epsilon[start].append(item_start)
        self.epsilon[item_end].append(end)
        if node.quantifier in "*?":
            self.epsilon[start].append(end)
        if node.quantifier in "*+":
            self.epsilon[item_end].append(item_start)
        return start, end

    def closure(self, states: Iterable[int]) -> frozenset[int]:
        seen = set(states)
        stack = list(seen)
        while stack:
            for target in self.epsilon[stack.pop()]:
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
        return frozenset(seen)

    def expected(self, states: frozenset[int]) -> list[str]:
        names = {name for state in states for name, _ in self.edges[state]}
        return sorted(names)

    def first_mismatch(self, names: Sequence[str]) -> tuple[int, list[str]] | None:
        """None on a full match, else the position that fails and the names that would fit there."""
        states = self.closure([self.start])
        for position, name in enumerate(names):
            following = self.closure(
                target for s in states for label, target in self.edges[s] if label == name
            )
            if not following:
                return position, self.expected(states)
            states = following
        if self.accept in states:
            return None
        return len(names), self.expected(states)


def assert_event_order(
    events: Iterable[object], pattern: str | Sequence[str], *, skip_chunks: bool = True
) -> None:
    """Assert that the events' types, in order, match a small regex-like pattern over type names.

    ``pattern`` is a string or a list of strings (joined with spaces) of event type names,
    separated by spaces or commas, with ``+`` (one or more), ``*`` (zero or more), ``?``
    (optional), ``( ... )`` groups and ``|`` (either side):
    ``["content.delta+", "content.done"]`` or ``"(content.delta logprobs.content.delta)+ content.done"``.
    The whole sequence must match. Chunk events are skipped by default because they interleave
    with every delta and would make every pattern ``(chunk content.delta)+``; pass
    ``skip_chunks=False`` to match them too (then name ``chunk`` in the pattern). A pattern that
    names ``chunk`` while chunks are skipped is refused rather than silently never matching.
    Items of ``events`` may be events or bare type strings.
    """
    text = pattern if isinstance(pattern, str) else " ".join(pattern)
    node = _parse_pattern(text)
    if skip_chunks and re.search(r"(?<![\w.])chunk(?![\w.])", text):
        raise ValueError(
            "The event-order pattern names 'chunk', but skip_chunks=True removes chunk events before "
            "matching; pass skip_chunks=False to match them."
        )
    typed = [
        (index, event if isinstance(event, str) else str(get_field(event, "type")))
        for index, event in enumerate(events)
    ]
    kept = [(index, name) for index, name in typed if not (skip_chunks and name == "chunk")]
    mismatch = _NFA(node).first_mismatch([name for _, name in kept])
    if mismatch is None:
        return
    position, expected = mismatch
    wanted = " or ".join(expected) if expected else "nothing more"
    if position < len(kept):
        index, name = kept[position]
        where = f"Event {index} is {name}, but the pattern expects {wanted} there."
    else:
        last = f"after event {kept[-1][0]}" if kept else "before any event"
        where = f"The events end {last}, but the pattern expects {wanted} next."
    skipped = "chunk events skipped, " if skip_chunks else ""
    lines = [
        "The event types do not match the expected order.",
        where,
        f"expected: {_show(node)}",
        f"actual ({skipped}consecutive repeats folded):",
        *_folded(kept, position),
    ]
    raise StreamContractError("\n".join(lines))


def _folded(kept: list[tuple[int, str]], mismatch: int) -> list[str]:
    """One line per run of equal types, with a run boundary and a marker at the mismatch."""
    runs: list[tuple[int, int, str, int, bool]] = []
    for position, (index, name) in enumerate(kept):
        starts = not runs or runs[-1][2] != name or position == mismatch
        if starts:
            runs.append((index, index, name, 1, position == mismatch))
        else:
            first, _, _, count, marked = runs[-1]
            runs[-1] = (first, index, name, count + 1, marked)
    lines = []
    for first, last, name, count, marked in runs:
        span = str(first) if count == 1 else f"{first}-{last}"
        repeat = f" \u00d7{count}" if count > 1 else ""
        lines.append(f"  {'>' if marked else ' '}{span:>9}  {name}{repeat}")
    if mismatch >= len(kept):
        lines.append(f"  >{'(end)':>9}")
    return lines

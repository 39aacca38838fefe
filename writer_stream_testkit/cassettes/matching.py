"""Matching a request against recordings, and the miss message that shows the closest one."""

from __future__ import annotations

import collections
import difflib
import itertools
import json as _json
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeAlias
from urllib.parse import parse_qsl, urlsplit

from ..wire.call import Call
from .model import Interaction, RecordedRequest, RecordMode

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
class MatchRules:
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
    ) -> MatchRules:
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


# --- bounded closeness and diffs: a miss costs time linear in the bodies ------------------------

SIMILARITY_CAP: Final = 2_000
"""Characters of each body compared one by one for closeness; past it, only what differs from the
common start and end is, and only this much of it."""
MATCH_WORK_BUDGET: Final = 1_000_000
"""Character pairs one closeness comparison may examine (about 50 ms); past it, characters are
counted instead of aligned. Ordinary prompts of 2,000 characters take under a million."""
CLOSEST_CANDIDATES: Final = 16
"""Recordings whose closeness is measured exactly; the others are ranked by length alone."""
DIFF_LINE_CAP: Final = 400
"""Characters shown of one diff line; a longer line is shown around the first difference."""
DIFF_LINES_CAP: Final = 200
"""Lines of each body a miss diff compares, counted from the first line that differs."""


def _common_prefix(a: str, b: str) -> int:
    """The length of the longest common start of ``a`` and ``b``, found a block at a time."""
    size = min(len(a), len(b))
    at = 0
    while at < size:
        end = min(at + 4096, size)
        if a[at:end] != b[at:end]:
            while a[at] == b[at]:
                at += 1
            return at
        at = end
    return size


def _common_suffix(a: str, b: str, limit: int) -> int:
    """The length of the longest common end of ``a`` and ``b``, at most ``limit``."""
    size = min(len(a), len(b), limit)
    at = 0
    while at < size:
        end = min(at + 4096, size)
        if a[len(a) - end : len(a) - at] != b[len(b) - end : len(b) - at]:
            while a[len(a) - at - 1] == b[len(b) - at - 1]:
                at += 1
            return at
        at = end
    return size


class _OverBudget(Exception):
    pass


class _BoundedMatcher(difflib.SequenceMatcher):  # type: ignore[type-arg]
    """``SequenceMatcher(autojunk=False)`` that gives up past a budget of element pairs examined.

    Its worst case is cubic (a run of one character against a near copy): 500
    backslashes take a second. Each ``find_longest_match`` examines at most the
    occurrences in ``b`` of every element of its slice of ``a``; that count is
    charged before the call, so the work done never exceeds the budget. The
    elements are characters of a body, or any hashable items (event shapes).
    """

    def __init__(self, a: Sequence[Hashable], b: Sequence[Hashable], budget: int) -> None:
        self._budget = budget
        self._charges: list[int] | None = None
        self._a = a
        super().__init__(None, a, b, autojunk=False)

    def find_longest_match(
        self, alo: int = 0, ahi: int | None = None, blo: int = 0, bhi: int | None = None
    ) -> difflib.Match:
        if self._charges is None:
            b2j = self.b2j  # type: ignore[attr-defined]
            self._charges = list(itertools.accumulate((len(b2j.get(c, ())) for c in self._a), initial=0))
        top = len(self._a) if ahi is None else ahi
        self._budget -= self._charges[top] - self._charges[alo]
        if self._budget < 0:
            raise _OverBudget
        return super().find_longest_match(alo, ahi, blo, bhi)


Opcode: TypeAlias = tuple[str, int, int, int, int]


def bounded_opcodes(a: Sequence[Hashable], b: Sequence[Hashable]) -> list[Opcode]:
    """``SequenceMatcher(None, a, b, autojunk=False).get_opcodes()``, near-linear whatever the input.

    The common start and end are equal as they stand; only the middle between them
    is aligned, with the work capped at :data:`MATCH_WORK_BUDGET` element pairs, past
    which the middle is one ``replace`` (every element of it shown, none aligned).
    """
    size = min(len(a), len(b))
    head = next((i for i in range(size) if a[i] != b[i]), size)
    tail = 0
    while tail < size - head and a[len(a) - 1 - tail] == b[len(b) - 1 - tail]:
        tail += 1
    a_mid, b_mid = a[head : len(a) - tail], b[head : len(b) - tail]
    try:
        middle = _BoundedMatcher(a_mid, b_mid, MATCH_WORK_BUDGET).get_opcodes() if a_mid and b_mid else []
    except _OverBudget:
        middle = [("replace", 0, len(a_mid), 0, len(b_mid))]
    if not middle and (a_mid or b_mid):
        middle = [("delete" if a_mid else "insert", 0, len(a_mid), 0, len(b_mid))]
    ops: list[Opcode] = [("equal", 0, head, 0, head)] if head else []
    ops.extend((tag, i1 + head, i2 + head, j1 + head, j2 + head) for tag, i1, i2, j1, j2 in middle)
    if tail:
        ops.append(("equal", len(a) - tail, len(a), len(b) - tail, len(b)))
    return ops


def _matched(a: str, b: str) -> int:
    """Characters of ``a`` and ``b`` that align (``SequenceMatcher``), or, past the budget, that both have."""
    try:
        return sum(block.size for block in _BoundedMatcher(a, b, MATCH_WORK_BUDGET).get_matching_blocks())
    except _OverBudget:
        return sum((collections.Counter(a) & collections.Counter(b)).values())


def similarity(a: str, b: str) -> float:
    """How alike two bodies are, from 0 to 1: ``SequenceMatcher(autojunk=False).ratio()`` for ordinary ones.

    That ratio costs up to cubic time, so its work is capped (:data:`MATCH_WORK_BUDGET`),
    and past :data:`SIMILARITY_CAP` characters the common start and end count as
    matched and only the first ``SIMILARITY_CAP`` characters of each differing
    middle are compared.
    """
    total = len(a) + len(b)
    if not total:
        return 1.0
    if len(a) <= SIMILARITY_CAP and len(b) <= SIMILARITY_CAP:
        return 2.0 * _matched(a, b) / total
    head = _common_prefix(a, b)
    tail = _common_suffix(a, b, min(len(a), len(b)) - head)
    middle = _matched(a[head : len(a) - tail][:SIMILARITY_CAP], b[head : len(b) - tail][:SIMILARITY_CAP])
    return 2.0 * (head + tail + middle) / total


def closest(incoming: str, candidates: Sequence[tuple[int, str]]) -> int | None:
    """The index of the candidate (rules passed, body text) closest to ``incoming``; the first on a tie.

    Exact for every candidate that could win: candidates are tried best bound
    first (rules passed plus the most a body of that length could match), and
    :func:`similarity` runs for at most :data:`CLOSEST_CANDIDATES` of them.
    """
    if not candidates:
        return None

    def bound(index: int) -> float:
        passed, text = candidates[index]
        total = len(incoming) + len(text)
        return passed + (2.0 * min(len(incoming), len(text)) / total if total else 1.0)

    order = sorted(range(len(candidates)), key=lambda i: (-bound(i), i))
    best: tuple[float, int] | None = None
    for tried, index in enumerate(order):
        if best is not None and (bound(index) < best[0] or tried >= CLOSEST_CANDIDATES):
            break
        score = candidates[index][0] + similarity(incoming, candidates[index][1])
        if best is None or score > best[0] or (score == best[0] and index < best[1]):
            best = (score, index)
    assert best is not None
    return best[1]


def bounded_diff(old: Sequence[str], new: Sequence[str], *, fromfile: str, tofile: str) -> str:
    """``difflib.unified_diff`` of two bodies' lines, kept readable and cheap for any size.

    Ordinary bodies give exactly the unified diff. Past :data:`DIFF_LINES_CAP`
    lines, equal lines before the first difference are left out (and said so);
    a line longer than :data:`DIFF_LINE_CAP` is shown around the first difference.
    """
    skipped = 0
    note: list[str] = []
    if max(len(old), len(new)) > DIFF_LINES_CAP:
        while skipped < min(len(old), len(new)) and old[skipped] == new[skipped]:
            skipped += 1
        skipped = max(0, skipped - 3)  # keep the usual three lines of context
        old, new = old[skipped : skipped + DIFF_LINES_CAP], new[skipped : skipped + DIFF_LINES_CAP]
        note.append(
            f"(The bodies are long: the first {skipped} equal lines are left out, so line numbers count "
            f"from line {skipped + 1}, and at most {DIFF_LINES_CAP} lines of each are compared.)"
        )
    first = next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), None)
    column = 0 if first is None else _common_prefix(old[first], new[first])
    lines = difflib.unified_diff(old, new, fromfile=fromfile, tofile=tofile, lineterm="")
    shown = [_clip(line, column) for line in lines]
    return "\n".join([*note, *shown]) if shown else ""


def _clip(line: str, column: int) -> str:
    """A diff line (marker first) cut to :data:`DIFF_LINE_CAP` characters around ``column``."""
    if len(line) <= DIFF_LINE_CAP + 1 or line.startswith(("---", "+++", "@@")):
        return line
    marker, text = line[0], line[1:]
    start = max(0, min(column - DIFF_LINE_CAP // 4, len(text) - DIFF_LINE_CAP))
    end = start + DIFF_LINE_CAP
    before = f"[{start} characters left out]" if start else ""
    after = f"[{len(text) - end} characters left out]" if end < len(text) else ""
    return f"{marker}{before}{text[start:end]}{after}"


def miss_message(
    source: str,
    call: Call,
    interactions: Sequence[Interaction],
    played: Sequence[int],
    rules: MatchRules,
    record_mode: RecordMode,
    *,
    file_exists: bool = True,
) -> str:
    """A full account of a replay miss: the request, the closest recording as a diff, the fix.

    Its cost is linear in the bodies (see :func:`similarity` and :func:`bounded_diff`).
    """
    lines = [f"Cassette {source} has no unplayed recording that matches {call.describe()}."]
    if not file_exists:
        lines[0] = f"Cassette {source} does not exist, so nothing can replay {call.describe()}."
    path_only = False
    incoming = rules.body(call.json)
    incoming_text = (
        _json.dumps(incoming, sort_keys=True)
        if incoming is not None
        else call.content.decode("utf-8", "replace")
    )
    candidates: list[tuple[int, str]] = []
    for interaction in interactions:
        recorded = interaction.request
        failed = rules.failures(call, recorded)
        stored = rules.body(recorded.json)
        stored_text = _json.dumps(stored, sort_keys=True) if stored is not None else (recorded.body or "")
        candidates.append((len(rules.match_on) + len(rules.custom) - len(failed), stored_text))
    index = closest(incoming_text, candidates)
    if index is None:
        if file_exists:
            lines.append("The cassette holds no interactions at all.")
    else:
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
            text = bounded_diff(
                _pretty_body(rules.body(recorded.json), recorded.body),
                _pretty_body(
                    incoming, None if call.json is not None else call.content.decode("utf-8", "replace")
                ),
                fromfile=f"interactions[{index}].request body (recorded){note}",
                tofile="this request's body",
            )
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

"""The resilience report as one self-contained HTML page: a colour grid of tests by faults.

Pure: the report mapping (the fixed JSON contract of ``--writer-resilience-json``) in, one
string out. The page loads nothing (inline style and script, system fonts, and a
Content-Security-Policy that forbids every fetch), so it opens offline from a CI artifact.
Every value from the report is escaped: node ids, reasons and notes come from the user's
tests and may hold anything. Unknown fields and verdict names are shown, never fatal, so a
newer run's report still renders here.

Each cell is a link to its result's entry in the list under the grid (so the page reads
without script too); the script turns a click, Enter or Space into a dialog showing the
verdict, its reason and fix, and every attempt with its time.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeGuard

from .html_assets import CSS, DIALOG, SCRIPT

__all__ = ["FORMAT", "VERSION", "render_html"]

FORMAT: Final = "writer-stream-testkit/resilience"
"""The ``format`` a report names; another one is still drawn, under a warning."""

VERSION: Final = 1
"""The report version this page was made for."""


@dataclass(frozen=True)
class Style:
    """How one verdict looks: the cell's short label, its colour class, and its weight.

    ``rank`` picks the result a cell shows when a (test, fault) has several (workers
    merged twice, say); a failing verdict always outranks the rest. ``failing`` is the
    default when the report's own verdict table does not say.
    """

    label: str
    css: str
    rank: int
    failing: bool


# The verdicts the run names, failing ones first: the order the counts are shown in.
STYLES: Final[Mapping[str, Style]] = {
    "truncated-accepted": Style("trunc", "v-truncated", 9, True),
    "crashed": Style("crash", "v-crashed", 9, True),
    "hung": Style("hung", "v-hung", 9, True),
    "retried-non-retryable": Style("re-4xx", "v-retried", 9, True),
    "ignored-retry-after": Style("early", "v-early", 9, True),
    "retry-storm": Style("storm", "v-storm", 9, True),
    "corrupted": Style("corrupt", "v-corrupted", 9, True),
    "gave-up": Style("gave up", "v-gave-up", 5, False),
    "ok": Style("ok", "v-ok", 2, False),
    "not-applicable": Style("n/a", "v-na", 1, False),
}
UNKNOWN: Final = Style("?", "v-unknown", 3, False)
ABSENT: Final = Style("\u00b7", "v-absent", 0, False)
_FAILING_RANK: Final = 10
_WARNING: Final = "gave-up"

# Fields of the contract; anything else in a result or an attempt is shown as it is.
_RESULT_FIELDS: Final = frozenset(
    {"test", "fault", "verdict", "reason", "fix", "attempts", "attempt_log", "outcome", "duration", "worker"}
)
_ATTEMPT_FIELDS: Final = frozenset({"at", "method", "path", "status", "note"})
_REPORT_FIELDS: Final = frozenset(
    {"format", "version", "seed", "faults", "tests", "verdicts", "counts", "results"}
)
_EXTRA_LIMIT: Final = 2000  # characters of an unknown field's value shown


@dataclass(frozen=True)
class Verdict:
    """A verdict name with what the report says about it."""

    name: str
    meaning: str
    failing: bool
    style: Style

    @property
    def rank(self) -> int:
        return _FAILING_RANK if self.failing else self.style.rank

    @property
    def label(self) -> str:
        """What its cell shows: the short label, or an unknown verdict's name, cut to fit."""
        if self.style is not UNKNOWN:
            return self.style.label
        return self.name if len(self.name) <= 8 else f"{self.name[:7]}\u2026"


@dataclass(frozen=True)
class Result:
    """One (test, fault) result, with the anchor its cell links to."""

    anchor: str
    test: str
    fault: str
    verdict: Verdict
    fields: Mapping[str, Any]


@dataclass(frozen=True)
class Page:
    """Everything the page shows, computed before a single tag is written."""

    tests: tuple[str, ...]
    faults: tuple[str, ...]
    results: tuple[Result, ...]
    cells: Mapping[tuple[str, str], tuple[Result, ...]]
    verdicts: Mapping[str, Verdict]
    counts: tuple[tuple[Verdict, int], ...]
    seed: object
    notes: tuple[str, ...]
    extra: tuple[tuple[str, Any], ...]

    def shown(self, test: str, fault: str) -> Result | None:
        """The result a cell shows: the most serious of its results, the first among equals."""
        found = self.cells.get((test, fault), ())
        return max(found, key=lambda r: r.verdict.rank) if found else None

    def problems(self, results: Iterable[Result]) -> int:
        return sum(1 for r in results if r.verdict.failing)

    def row_problems(self, test: str) -> int:
        return sum(1 for fault in self.faults if (r := self.shown(test, fault)) and r.verdict.failing)

    def column_problems(self, fault: str) -> int:
        return sum(1 for test in self.tests if (r := self.shown(test, fault)) and r.verdict.failing)

    @property
    def failing(self) -> tuple[Result, ...]:
        return tuple(r for r in self.results if r.verdict.failing)

    @property
    def absent(self) -> int:
        return sum(1 for t in self.tests for f in self.faults if (t, f) not in self.cells)


def render_html(report: Mapping[str, Any]) -> str:
    """The report as one self-contained HTML page (no network, inline style and script)."""
    page = read_report(report)
    failing = page.failing
    failing_tests = len({r.test for r in failing})
    if failing:
        title = f"{_plural(len(failing), 'failing verdict')} in {failing_tests} of {_plural(len(page.tests), 'test')}"
    else:
        title = f"no failing verdict in {_plural(len(page.tests), 'test')}"
    parts = [
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
        "form-action 'none'\">\n",
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        '<meta name="color-scheme" content="light dark">\n',
        f"<title>Resilience: {_text(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n",
        _header(page, title),
        _grid(page),
        _legend(page),
        _results(page),
        _run_details(page),
        "</main>\n",
        DIALOG,
        f"<script>{SCRIPT}</script>\n</body>\n</html>\n",
    ]
    return "".join(parts)


# --- Reading the report ---------------------------------------------------------------------------


def read_report(report: Mapping[str, Any]) -> Page:
    """The report's data as a :class:`Page`, tolerating missing, extra and ill-typed fields."""
    notes: list[str] = []
    fmt, version = report.get("format"), report.get("version")
    if fmt != FORMAT or version != VERSION:
        notes.append(
            f"This report says it is {fmt!r} version {version!r}; this page was made for {FORMAT!r} "
            f"version {VERSION}, so some of it may be missing here. Open it with the kit that wrote it."
        )
    table = report.get("verdicts")
    table = table if isinstance(table, Mapping) else {}
    verdicts: dict[str, Verdict] = {}

    def verdict(name: object) -> Verdict:
        key = name if isinstance(name, str) else str(name)
        if key not in verdicts:
            style = STYLES.get(key, UNKNOWN)
            about = table.get(key)
            about = about if isinstance(about, Mapping) else {}
            failing = about.get("failing", style.failing)
            meaning = about.get("meaning", "")
            if style is UNKNOWN and not meaning:
                meaning = "A verdict this page does not know (a newer kit may have written the report)."
            verdicts[key] = Verdict(key, str(meaning), failing is True, style)
        return verdicts[key]

    for name in STYLES:
        if name in table:
            verdict(name)
    for name in table:
        verdict(name)

    tests = _names(report.get("tests"))
    faults = _names(report.get("faults"))
    raw = report.get("results")
    entries: Sequence[Any] = raw if isinstance(raw, list) else []
    results: list[Result] = []
    skipped = 0
    for entry in entries:
        if not isinstance(entry, Mapping):
            skipped += 1
            continue
        test, fault = _name(entry.get("test")), _name(entry.get("fault"))
        results.append(Result(f"r-{len(results)}", test, fault, verdict(entry.get("verdict")), entry))
        if test not in tests:
            tests.append(test)
        if fault not in faults:
            faults.append(fault)
    if skipped:
        notes.append(
            f"{_plural(skipped, 'result')} in the report {'is' if skipped == 1 else 'are'} not "
            "an object and left out."
        )
    cells: dict[tuple[str, str], tuple[Result, ...]] = {}
    for result in results:
        key = (result.test, result.fault)
        cells[key] = (*cells.get(key, ()), result)

    counted = report.get("counts")
    if isinstance(counted, Mapping):
        pairs = [(verdict(name), n) for name, n in counted.items() if isinstance(n, int)]
    else:
        tally: dict[str, int] = {}
        for result in results:
            tally[result.verdict.name] = tally.get(result.verdict.name, 0) + 1
        pairs = [(verdict(name), n) for name, n in tally.items()]
    known = list(STYLES)
    pairs.sort(key=lambda p: (known.index(p[0].name) if p[0].name in known else len(known), p[0].name))
    extra = tuple((str(k), v) for k, v in report.items() if k not in _REPORT_FIELDS)
    return Page(
        tests=tuple(tests),
        faults=tuple(faults),
        results=tuple(results),
        cells=cells,
        verdicts=verdicts,
        counts=tuple(pairs),
        seed=report.get("seed"),
        notes=tuple(notes),
        extra=extra,
    )


def _name(value: object) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _names(value: object) -> list[str]:
    """A list of names without repeats, in order; anything but a list reads as empty."""
    if not isinstance(value, list):
        return []
    return list(dict.fromkeys(_name(v) for v in value))


# --- Writing it -----------------------------------------------------------------------------------


def _header(page: Page, title: str) -> str:
    seed = (
        f"seed {_text(page.seed)} (pass it again to replay the run exactly)"
        if page.seed is not None
        else "no seed: every fault at its documented place"
    )
    out = [
        "<header>\n<h1>Resilience report</h1>\n",
        f'<p class="sub">{_plural(len(page.tests), "test")} &times; {_plural(len(page.faults), "fault")}'
        f" &middot; {_plural(len(page.results), 'result')} &middot; {seed}</p>\n",
    ]
    out.extend(f'<p class="note" role="note">{_text(note)}</p>\n' for note in page.notes)
    warnings = [r for r in page.results if r.verdict.name == _WARNING and not r.verdict.failing]
    if page.failing:
        status, words = "bad", f"{title[:1].upper()}{title[1:]}: the app mishandled these faults."
    elif warnings:
        status, words = "warn", f"No failing verdict; {_plural(len(warnings), 'warning')} to look at."
    else:
        status, words = "good", "No failing verdict: every test's app handled every fault it met."
    out.append(f'<p class="status {status}" id="status">{_text(words)}</p>\n')
    out.append('<ul class="counts" aria-label="Verdict counts">\n')
    for verdict, n in page.counts:
        zero = " zero" if n == 0 else ""
        out.append(
            f'<li class="chip {verdict.style.css}{zero}" title="{_text(verdict.meaning)}" '
            f'data-verdict="{_text(verdict.name)}"><b>{n}</b> {_text(verdict.name)}</li>\n'
        )
    if page.absent:
        out.append(f'<li class="chip v-absent"><b>{page.absent}</b> not run</li>\n')
    out.append("</ul>\n</header>\n")
    return "".join(out)


def _grid(page: Page) -> str:
    out = [
        '<section aria-labelledby="grid-h">\n<h2 id="grid-h">Tests by faults</h2>\n',
        '<div class="toolbar"><label><input type="checkbox" id="only-problems"> only tests with problems</label>'
        '<label>filter <input type="search" id="filter" placeholder="part of a node id" '
        'autocomplete="off"></label><span id="shown" aria-live="polite"></span></div>\n',
        '<div class="grid-wrap"><table class="grid" id="grid">\n<thead><tr><th class="corner" scope="col">test</th>',
    ]
    out.extend(
        f'<th scope="col" class="fault" data-fault="{_text(f)}"><span>{_text(f)}</span></th>'
        for f in page.faults
    )
    out.append('<th scope="col" class="count">problems</th></tr></thead>\n<tbody>\n')
    for test in page.tests:
        problems = page.row_problems(test)
        out.append(
            f'<tr data-test="{_text(test)}" data-problems="{problems}">'
            f'<th scope="row" class="test" title="{_text(test)}">{_nodeid(test)}</th>'
        )
        for fault in page.faults:
            out.append(f'<td data-fault="{_text(fault)}">{_cell(page, test, fault)}</td>')
        out.append(f'<td class="count{" bad" if problems else ""}">{problems or ""}</td></tr>\n')
    out.append('</tbody>\n<tfoot><tr><th scope="row" class="test">problems per fault</th>')
    for fault in page.faults:
        n = page.column_problems(fault)
        out.append(f'<td class="count{" bad" if n else ""}">{n or ""}</td>')
    total = len({r.test for r in page.failing})
    out.append(f'<td class="count{" bad" if total else ""}">{total or ""}</td></tr></tfoot>\n')
    out.append("</table></div>\n</section>\n")
    return "".join(out)


def _cell(page: Page, test: str, fault: str) -> str:
    shown = page.shown(test, fault)
    if shown is None:
        label = f"{test} under {fault}: not run"
        return (
            f'<span class="cell v-absent" tabindex="-1" title="not run under this fault" '
            f'aria-label="{_text(label)}">{ABSENT.label}</span>'
        )
    found = page.cells[(test, fault)]
    verdict = shown.verdict
    label = f"{test} under {fault}: {verdict.name}"
    more = f" +{len(found) - 1}" if len(found) > 1 else ""
    reason = _name(shown.fields.get("reason"))
    tip = f"{fault}: {verdict.name}" + (f" \u2014 {reason}" if reason else "")
    return (
        f'<a class="cell {verdict.style.css}" href="#{shown.anchor}" '
        f'data-results="{" ".join(r.anchor for r in found)}" data-verdict="{_text(verdict.name)}" '
        f'aria-haspopup="dialog" aria-label="{_text(label)}" title="{_text(tip)}">'
        f"{_text(verdict.label)}{more}</a>"
    )


def _legend(page: Page) -> str:
    out = [
        '<section aria-labelledby="legend-h">\n<h2 id="legend-h">What the verdicts mean</h2>\n<dl class="legend">\n'
    ]
    for verdict in page.verdicts.values():
        kind = "fails the run" if verdict.failing else ("a warning" if verdict.name == _WARNING else "")
        out.append(
            f'<dt><span class="badge {verdict.style.css}">{_text(verdict.name)}</span></dt>'
            f"<dd>{_text(verdict.meaning)}{f' <em>({kind})</em>' if kind else ''}</dd>\n"
        )
    out.append(
        f'<dt><span class="badge v-absent">{ABSENT.label} not run</span></dt>'
        "<dd>The test was not run under this fault.</dd>\n</dl>\n</section>\n"
    )
    return "".join(out)


def _results(page: Page) -> str:
    out = ['<section aria-labelledby="results-h">\n<h2 id="results-h">Every result, test by test</h2>\n']
    by_test: dict[str, list[Result]] = {}
    for result in page.results:
        by_test.setdefault(result.test, []).append(result)
    for test in page.tests:
        results = by_test.get(test)
        if not results:
            continue
        out.append(f'<h3 class="test-h">{_nodeid(test)}</h3>\n')
        for result in results:
            verdict = result.verdict
            opened = " open" if verdict.failing else ""
            reason = _name(result.fields.get("reason"))
            out.append(
                f'<details id="{result.anchor}" class="result"{opened}><summary>'
                f'<span class="badge {verdict.style.css}">{_text(verdict.name)}</span> '
                f'<span class="fault-name">{_text(result.fault)}</span>'
                f"{f' <span class=summary-reason>{_text(reason)}</span>' if reason else ''}</summary>\n"
                f"{_detail(result)}</details>\n"
            )
    out.append("</section>\n")
    return "".join(out)


def _detail(result: Result) -> str:
    """The body a cell's dialog shows: verdict, reason, fix, the test's outcome, then every attempt."""
    fields, verdict = result.fields, result.verdict
    rows = [
        ("test", f"<code>{_text(result.test)}</code>"),
        ("fault", _text(result.fault)),
        ("why", _text(fields.get("reason", "")) or '<span class="muted">no reason given</span>'),
        ("fix", _text(fields.get("fix", "")) or '<span class="muted">nothing to fix</span>'),
    ]
    outcome = fields.get("outcome")
    ran = []
    if outcome is not None:
        ran.append(f'<span class="outcome-{_text(outcome)}">{_text(outcome)}</span>')
    if fields.get("duration") is not None:
        ran.append(f"in {_seconds(fields.get('duration'))}")
    if fields.get("worker") is not None:
        ran.append(f"on worker {_text(fields.get('worker'))}")
    if ran:
        rows.append(("test run", " ".join(ran)))
    rows.extend((key, _extra(value)) for key, value in fields.items() if key not in _RESULT_FIELDS)
    out = [
        '<div class="detail-body">\n',
        f'<p class="verdict-line"><span class="badge {verdict.style.css}">{_text(verdict.name)}</span> '
        f"{_text(verdict.meaning)}</p>\n<dl>",
        *(f"<dt>{_text(k)}</dt><dd>{v}</dd>" for k, v in rows),
        "</dl>\n",
        _attempts(fields),
        "</div>\n",
    ]
    return "".join(out)


def _attempts(fields: Mapping[str, Any]) -> str:
    log = fields.get("attempt_log")
    entries = [e for e in log if isinstance(e, Mapping)] if isinstance(log, list) else []
    count = fields.get("attempts")
    n = count if isinstance(count, int) and not isinstance(count, bool) else len(entries)
    heading = f"<h4>{_plural(n, 'attempt')}</h4>\n"
    if not entries:
        return heading + '<p class="muted">The double logged no request for this test under this fault.</p>\n'
    out = [
        heading,
        '<table class="attempts"><thead><tr><th>#</th><th>at</th><th>after the previous</th>'
        "<th>request</th><th>status</th><th>note</th></tr></thead><tbody>\n",
    ]
    previous: object = None
    for number, entry in enumerate(entries, 1):
        at = entry.get("at")
        gap = _seconds(at - previous, sign=True) if _finite(at) and _finite(previous) else ""
        previous = at
        note = [_text(entry.get("note", "") or "")]
        note.extend(
            f'<span class="extra">{_text(k)}: {_extra(v)}</span>'
            for k, v in entry.items()
            if k not in _ATTEMPT_FIELDS
        )
        status = entry.get("status")
        request = " ".join(_text(entry.get(k, "")) for k in ("method", "path") if entry.get(k) is not None)
        status_css = _status_class(status)
        out.append(
            f"<tr><td>{number}</td><td>{_seconds(at)}</td><td>{gap}</td><td><code>{request}</code></td>"
            f'<td class="{status_css}">{_text(status) if status is not None else "&mdash;"}</td>'
            f"<td>{' '.join(p for p in note if p)}</td></tr>\n"
        )
    out.append("</tbody></table>\n")
    return "".join(out)


def _run_details(page: Page) -> str:
    if not page.extra:
        return ""
    rows = "".join(f"<dt>{_text(k)}</dt><dd>{_extra(v)}</dd>" for k, v in page.extra)
    return (
        '<section aria-labelledby="run-h">\n<h2 id="run-h">More about this run</h2>\n'
        f'<dl class="run-details">{rows}</dl>\n</section>\n'
    )


# --- Small pieces ---------------------------------------------------------------------------------

# C0 controls (but tab, LF, CR) and DEL are not allowed in HTML text: each shows as U+FFFD.
_CONTROLS: Final = {c: "\ufffd" for c in (*range(32), 127) if chr(c) not in "\t\n\r"}


def _text(value: object) -> str:
    """Any value as escaped HTML text, safe in an element and in a quoted attribute."""
    text = value if isinstance(value, str) else str(value)
    text = text.translate(_CONTROLS)
    if not text.isascii():
        text = text.encode("utf-8", "replace").decode("utf-8")  # a lone surrogate has no UTF-8 form
    return html.escape(text, quote=True)


def _nodeid(test: str) -> str:
    """A node id as its file (dimmed) and its test (bold), so the test's name stands out."""
    path, sep, name = test.partition("::")
    if not sep:
        return f'<span class="name">{_text(test)}</span>'
    return f'<span class="path">{_text(path)}::</span><wbr><span class="name">{_text(name)}</span>'


def _finite(value: object) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _seconds(value: object, *, sign: bool = False) -> str:
    if _finite(value):
        return f"{value:+.3f} s" if sign else f"{value:.3f} s"
    return "&mdash;" if value is None else _text(value)


def _status_class(status: object) -> str:
    if isinstance(status, int) and not isinstance(status, bool):
        return "status-ok" if status < 400 else "status-bad"
    return "status-none"


def _extra(value: object) -> str:
    """An unknown field's value: a string as itself, anything else as JSON, cut at a readable length."""
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
        except (TypeError, ValueError):
            text = repr(value)
    if len(text) > _EXTRA_LIMIT:
        text = f"{text[:_EXTRA_LIMIT]}\u2026 ({len(text) - _EXTRA_LIMIT} more characters)"
    return f'<span class="extra-value">{_text(text)}</span>'


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"

"""The resilience report's HTML page: the string itself, then the page in a real headless Chromium.

The string tests parse the page with the standard library's HTML parser (what a browser
builds from it, minus layout), so they check structure and escaping, not spelling. The
browser tests open the file in Debian's Chromium through Playwright: one browser for the
module, one fresh page per test.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from writer_stream_testkit.resilience.html import FORMAT, STYLES, VERSION, render_html

FAULTS = ["rate-limit", "server-error", "bad-request", "disconnect", "truncate", "stall"]
TESTS = [
    "tests/test_app.py::test_weather_answer",
    "tests/test_app.py::TestTools::test_tool_call[palmyra-x5]",
    "tests/test_kg.py::test_question_sources",
]
MEANINGS = {
    "ok": (False, "The app retried where it should, or the fault reached the test as an error."),
    "truncated-accepted": (True, "A cut stream was not retried and no error reached the test."),
    "retried-non-retryable": (True, "A 400/401/403/404/422 was sent again."),
    "ignored-retry-after": (True, "A retry came sooner than Retry-After said."),
    "retry-storm": (True, "More attempts than the client's retries allow."),
    "hung": (True, "A stalled stream was still waited on after the timeout."),
    "crashed": (True, "The test died on a Python error in the app's own code."),
    "corrupted": (True, "A harmless fault changed the test's outcome."),
    "gave-up": (False, "A retryable fault was never retried."),
    "not-applicable": (False, "The fault does not apply to this test's streams."),
}


def attempt(at: float, status: int | None, note: str = "", **extra: Any) -> dict[str, Any]:
    return {"at": at, "method": "POST", "path": "/v1/chat", "status": status, "note": note, **extra}


def result(test: str, fault: str, verdict: str, **fields: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "test": test,
        "fault": fault,
        "verdict": verdict,
        "reason": f"{verdict} under {fault}",
        "fix": f"fix for {verdict}",
        "attempts": 1,
        "attempt_log": [attempt(0.0, 200)],
        "outcome": "passed",
        "duration": 0.25,
        "worker": None,
    }
    entry.update(fields)
    return entry


def make_report(results: list[Any], **top: Any) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for entry in results:
        if isinstance(entry, dict):
            counts[entry["verdict"]] = counts.get(entry["verdict"], 0) + 1
    report: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "seed": None,
        "faults": list(FAULTS),
        "tests": list(TESTS),
        "verdicts": {name: {"failing": f, "meaning": m} for name, (f, m) in MEANINGS.items()},
        "counts": counts,
        "results": results,
    }
    report.update(top)
    return report


def full_report() -> dict[str, Any]:
    """Every test under every fault, one cell left out and one not applicable, a few bad verdicts."""
    special = {
        (TESTS[0], "rate-limit"): result(
            TESTS[0],
            "rate-limit",
            "ignored-retry-after",
            reason="The retry came 0.002 s after a 429 that asked for 1 s.",
            fix="Honour Retry-After: let the SDK retry, or sleep for the header's seconds.",
            attempts=2,
            attempt_log=[attempt(0.0, 429, "retry-after: 1"), attempt(0.002, 200, "stream sent whole")],
            outcome="passed",
        ),
        (TESTS[1], "truncate"): result(
            TESTS[1],
            "truncate",
            "truncated-accepted",
            reason="The stream ended before its finish chunk and the test passed with 'Sunny and'.",
            fix="Check finish_reason before using the text.",
        ),
        (TESTS[2], "bad-request"): result(
            TESTS[2],
            "bad-request",
            "crashed",
            reason="KeyError: 'error' raised in app/client.py, line 12.",
            fix="Read Writer's error body (errors[0].description), not OpenAI's.",
            outcome="failed",
        ),
        (TESTS[2], "server-error"): result(TESTS[2], "server-error", "gave-up", outcome="failed"),
        (TESTS[1], "stall"): result(TESTS[1], "stall", "not-applicable"),
    }
    results = []
    for test in TESTS:
        for fault in FAULTS:
            if (test, fault) == (TESTS[0], "stall"):
                continue  # absent: not run
            results.append(special.get((test, fault)) or result(test, fault, "ok"))
    return make_report(results)


# --- A small DOM, enough to ask the page what a browser would ---------------------------------------

VOID = frozenset({"meta", "input", "wbr", "br", "img", "link", "hr"})


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.walk()

    def find(self, tag: str, **attrs: str) -> list[Node]:
        def matches(node: Node) -> bool:
            for key, value in attrs.items():
                have = node.attrs.get(key.rstrip("_").replace("_", "-"))
                if have is None or (value not in have.split() if key == "class_" else have != value):
                    return False
            return True

        return [n for n in self.walk() if n.tag == tag and matches(n)]


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        assert self.stack[-1].tag == tag, (
            f"</{tag}> closes <{self.stack[-1].tag}>: the page is not well nested"
        )
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(page: str) -> Node:
    builder = _Builder()
    builder.feed(page)
    builder.close()
    assert [n.tag for n in builder.stack] == ["#document"], "some element was never closed"
    return builder.root


def grid_rows(doc: Node) -> list[Node]:
    (grid,) = doc.find("table", id="grid")
    (body,) = grid.find("tbody")
    return body.find("tr")


def cell_of(doc: Node, test: str, fault: str) -> Node:
    (row,) = [r for r in grid_rows(doc) if r.attrs["data-test"] == test]
    (td,) = [td for td in row.find("td") if td.attrs.get("data-fault") == fault]
    (cell,) = [n for n in td.walk() if "cell" in n.attrs.get("class", "").split()]
    return cell


def detail_of(doc: Node, cell: Node) -> Node:
    anchor = cell.attrs["href"].removeprefix("#")
    (details,) = doc.find("details", id=anchor)
    return details


# --- The string -------------------------------------------------------------------------------------


def test_every_test_and_fault_has_its_cell_in_order() -> None:
    doc = parse(render_html(full_report()))
    rows = grid_rows(doc)
    assert [r.attrs["data-test"] for r in rows] == TESTS
    for row in rows:
        assert [td.attrs["data-fault"] for td in row.find("td") if "data-fault" in td.attrs] == FAULTS
    header = [th.text() for th in doc.find("th", class_="fault")]
    assert header == FAULTS


def test_each_cell_shows_its_verdict_and_links_to_its_result() -> None:
    report = full_report()
    doc = parse(render_html(report))
    for entry in report["results"]:
        cell = cell_of(doc, entry["test"], entry["fault"])
        assert cell.tag == "a"
        assert cell.attrs["data-verdict"] == entry["verdict"]
        assert STYLES[entry["verdict"]].css in cell.attrs["class"].split()
        assert cell.text() == STYLES[entry["verdict"]].label
        details = detail_of(doc, cell)
        text = details.text()
        assert entry["reason"] in text
        assert entry["fix"] in text
        assert entry["test"] in text
    absent = cell_of(doc, TESTS[0], "stall")
    assert absent.tag == "span"
    assert "v-absent" in absent.attrs["class"]
    assert absent.attrs["aria-label"] == f"{TESTS[0]} under stall: not run"
    na = cell_of(doc, TESTS[1], "stall")
    assert "v-na" in na.attrs["class"]
    assert na.text() == "n/a"


def test_a_cells_result_lists_every_attempt_with_its_time() -> None:
    doc = parse(render_html(full_report()))
    details = detail_of(doc, cell_of(doc, TESTS[0], "rate-limit"))
    assert "2 attempts" in [h.text() for h in details.find("h4")]
    (table,) = details.find("table", class_="attempts")
    rows = [[td.text() for td in tr.find("td")] for tr in table.find("tbody")[0].find("tr")]
    assert rows == [
        ["1", "0.000 s", "", "POST /v1/chat", "429", "retry-after: 1"],
        ["2", "0.002 s", "+0.002 s", "POST /v1/chat", "200", "stream sent whole"],
    ]


def test_counts_and_status_line() -> None:
    report = full_report()
    doc = parse(render_html(report))
    chips = {
        li.attrs["data-verdict"]: li.text()
        for li in doc.find("li", class_="chip")
        if "data-verdict" in li.attrs
    }
    assert chips == {name: f"{n} {name}" for name, n in report["counts"].items()}
    assert [li.text() for li in doc.find("li", class_="v-absent")] == ["1 not run"]
    (status,) = doc.find("p", id="status")
    assert "bad" in status.attrs["class"]
    assert status.text().startswith("3 failing verdicts in 3 of 3 tests")
    # Per row and per column: the failing verdicts, gave-up and n/a not among them.
    problems = [r.find("td", class_="count")[0].text() for r in grid_rows(doc)]
    assert problems == ["1", "1", "1"]
    (foot,) = doc.find("tfoot")
    assert [td.text() for td in foot.find("td")] == ["1", "", "1", "", "1", "", "3"]


def test_counts_are_computed_when_the_report_has_none() -> None:
    report = full_report()
    del report["counts"]
    doc = parse(render_html(report))
    chips = {
        li.attrs["data-verdict"]: li.text()
        for li in doc.find("li", class_="chip")
        if "data-verdict" in li.attrs
    }
    assert chips["ok"] == f"{sum(r['verdict'] == 'ok' for r in report['results'])} ok"
    assert chips["crashed"] == "1 crashed"


def test_a_clean_run_says_so_and_a_warning_is_not_a_failure() -> None:
    clean = make_report([result(t, f, "ok") for t in TESTS for f in FAULTS])
    (status,) = parse(render_html(clean)).find("p", id="status")
    assert status.attrs["class"] == "status good"
    warned = make_report([*clean["results"][1:], result(TESTS[0], FAULTS[0], "gave-up")])
    (status,) = parse(render_html(warned)).find("p", id="status")
    assert status.attrs["class"] == "status warn"
    assert "1 warning" in status.text()


def test_the_reports_own_table_decides_what_fails() -> None:
    report = make_report([result(TESTS[0], FAULTS[0], "gave-up")])
    report["verdicts"]["gave-up"]["failing"] = True  # a run configured to fail on gave-up
    doc = parse(render_html(report))
    (status,) = doc.find("p", id="status")
    assert status.text().startswith("1 failing verdict in 1 of 3 tests")


HOSTILE = [
    "<script>document.title='pwned'</script>",
    '"><img src=x onerror="alert(1)">',
    "' onmouseover='alert(1)",
    "</textarea></dialog></table>&amp;&lt;",
    "nul\x00 and bell\x07 and lone \ud800 surrogate",
    "-->]]><!--",
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_every_string_from_the_report_is_escaped(hostile: str) -> None:
    test = f"tests/test_x.py::test_{hostile}"
    fault = f"fault-{hostile}"
    report = make_report(
        [
            result(
                test,
                fault,
                f"verdict-{hostile}",
                reason=hostile,
                fix=hostile,
                outcome=hostile,
                worker=hostile,
                duration=hostile,
                attempt_log=[
                    {
                        "at": hostile,
                        "method": hostile,
                        "path": hostile,
                        "status": hostile,
                        "note": hostile,
                        hostile: hostile,
                    }
                ],
                **{hostile: hostile},
            )
        ],
        tests=[test],
        faults=[fault],
        seed=hostile,
        counts={hostile: 1},
        verdicts={hostile: {"failing": True, "meaning": hostile}},
        **{hostile: hostile},
    )
    page = render_html(report)
    page.encode("utf-8")  # strict: a lone surrogate never reaches the file
    doc = parse(page)
    assert len(doc.find("script")) == 1
    assert doc.find("img") == []
    assert not [n for n in doc.walk() if any(k.startswith("on") for k in n.attrs)]
    shown = hostile.replace("\x00", "\ufffd").replace("\x07", "\ufffd").replace("\ud800", "?")
    (row,) = grid_rows(doc)
    assert row.attrs["data-test"] == f"tests/test_x.py::test_{shown}"
    cell = cell_of(doc, f"tests/test_x.py::test_{shown}", f"fault-{shown}")
    assert cell.attrs["aria-label"] == f"tests/test_x.py::test_{shown} under fault-{shown}: verdict-{shown}"
    details = detail_of(doc, cell).text()
    assert details.count(shown) >= 6  # reason, fix, outcome, worker, an extra field, the note...


@given(st.text())
def test_any_text_round_trips_through_the_page(text: str) -> None:
    report = make_report([result(TESTS[0], FAULTS[0], "ok", reason=text)])
    doc = parse(render_html(report))
    shown = "".join(
        "\ufffd"
        if (ord(c) < 32 and c not in "\t\n\r") or c == "\x7f"
        else "?"
        if 0xD800 <= ord(c) < 0xE000
        else c
        for c in text
    )
    details = detail_of(doc, cell_of(doc, TESTS[0], FAULTS[0]))
    (dl,) = details.find("dl")
    fields = dict(zip([dt.text() for dt in dl.find("dt")], [dd.text() for dd in dl.find("dd")], strict=True))
    # The parser turns a lone CR (or CRLF) into LF, as a browser does.
    expected = shown.replace("\r\n", "\n").replace("\r", "\n") or "no reason given"
    assert fields["why"].replace("\r\n", "\n").replace("\r", "\n") == expected


def test_the_page_fetches_nothing() -> None:
    page = render_html(full_report())
    doc = parse(page)
    for node in doc.walk():
        for name in ("src", "href", "action", "srcset", "poster", "data"):
            value = node.attrs.get(name)
            assert value is None or value.startswith("#"), (
                f"<{node.tag} {name}={value!r}> would load something"
            )
    assert doc.find("link") == []
    (csp,) = [m for m in doc.find("meta") if m.attrs.get("http-equiv") == "Content-Security-Policy"]
    assert "default-src 'none'" in csp.attrs["content"]
    assert "http:" not in page
    assert "https:" not in page
    assert "@import" not in page
    assert "url(" not in page


def test_unknown_verdicts_fields_and_ill_typed_entries_render() -> None:
    report = make_report(
        [
            result(TESTS[0], FAULTS[0], "flaky", extra_field={"why": ["nested", 1]}, attempts="two"),
            result(
                TESTS[0],
                FAULTS[1],
                "ok",
                attempt_log=[attempt(0.0, None, "refused"), "not an attempt", attempt(float("nan"), 503)],
            ),
            "not a result",
            result("tests/test_new.py::test_added", "brand-new-fault", "ok"),
        ],
        extra_top={"timeout": 10},
    )
    doc = parse(render_html(report))
    flaky = cell_of(doc, TESTS[0], FAULTS[0])
    assert "v-unknown" in flaky.attrs["class"]
    assert flaky.text() == "flaky"
    text = detail_of(doc, flaky).text()
    assert 'extra_field{"why": ["nested", 1]}' in text
    log = detail_of(doc, cell_of(doc, TESTS[0], FAULTS[1]))
    rows = [[td.text() for td in tr.find("td")] for tr in log.find("tbody")[0].find("tr")]
    assert [r[4] for r in rows] == ["\u2014", "503"]
    assert rows[1][1] == "nan"
    # A result naming a test or fault the lists do not have still gets its row and column.
    assert cell_of(doc, "tests/test_new.py::test_added", "brand-new-fault").attrs["data-verdict"] == "ok"
    assert cell_of(doc, TESTS[1], "brand-new-fault").attrs["class"].split()[-1] == "v-absent"
    notes = [p.text() for p in doc.find("p", class_="note")]
    assert notes == ["1 result in the report is not an object and left out."]
    (more,) = doc.find("dl", class_="run-details")
    assert more.text() == 'extra_top{"timeout": 10}'


def test_a_report_of_another_format_renders_under_a_warning() -> None:
    report = full_report()
    report["version"] = 2
    notes = [p.text() for p in parse(render_html(report)).find("p", class_="note")]
    assert len(notes) == 1
    assert "version 2" in notes[0]
    assert f"version {VERSION}" in notes[0]


def test_an_empty_report_renders() -> None:
    doc = parse(render_html({}))
    assert grid_rows(doc) == []
    (status,) = doc.find("p", id="status")
    assert "good" in status.attrs["class"]


def test_a_cell_with_several_results_shows_the_worst_and_opens_them_all() -> None:
    report = make_report(
        [
            result(TESTS[0], FAULTS[0], "ok"),
            result(TESTS[0], FAULTS[0], "hung"),
            result(TESTS[0], FAULTS[0], "ok"),
        ]
    )
    doc = parse(render_html(report))
    cell = cell_of(doc, TESTS[0], FAULTS[0])
    assert cell.attrs["data-verdict"] == "hung"
    assert cell.text() == "hung +2"
    assert cell.attrs["data-results"].split() == ["r-0", "r-1", "r-2"]
    assert cell.attrs["href"] == "#r-1"


# --- In a real browser --------------------------------------------------------------------------------

CHROMIUM = Path(os.environ.get("WRITER_TESTKIT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _no_browser(reason: str) -> None:
    """Skip, saying why; fail instead where the test command found a browser (it must run there)."""
    if os.environ.get("WRITER_TESTKIT_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} The test command installed a browser, so this test must run.")
    pytest.skip(reason)


# The browser tests share one Chromium: under `--dist loadgroup` (as tasks.py runs the suite)
# xdist sends them to one worker, which launches it once.
IN_ONE_BROWSER = pytest.mark.xdist_group("browser")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    why_not = os.environ.get("WRITER_TESTKIT_NO_BROWSER")
    if not CHROMIUM.exists():
        _no_browser(
            f"No Chromium at {CHROMIUM}: {why_not or 'it is not installed'}. `python3 tasks.py test` installs "
            "Debian's chromium with apt-get when it runs as root; elsewhere install it yourself "
            "(or point WRITER_TESTKIT_CHROMIUM at one)."
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _no_browser("Playwright for Python is not installed; it comes with the test tools in .ci/sdk3.txt.")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Opened:
    page: Any
    requests: list[str]
    problems: list[str]


@pytest.fixture
def open_report(browser: Any, tmp_path: Path) -> Iterator[Any]:
    contexts: list[Any] = []

    def open_(report: Mapping[str, Any]) -> Opened:
        path = tmp_path / f"report-{len(contexts)}.html"
        path.write_text(render_html(report), encoding="utf-8")
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        opened = Opened(page, [], [])
        page.on("request", lambda r: opened.requests.append(r.url))
        page.on(
            "console", lambda m: opened.problems.append(m.text) if m.type in ("error", "warning") else None
        )
        page.on("pageerror", lambda e: opened.problems.append(str(e)))
        page.goto(path.as_uri())
        return opened

    yield open_
    for context in contexts:
        context.close()


@IN_ONE_BROWSER
def test_the_grid_renders_every_cell_in_a_browser(open_report: Any, tmp_path: Path) -> None:
    opened = open_report(full_report())
    page = opened.page
    rows = page.locator("#grid tbody tr")
    assert rows.count() == len(TESTS)
    for i, test in enumerate(TESTS):
        row = rows.nth(i)
        assert row.locator("th").inner_text().replace("\n", "") == test
        assert row.locator("td[data-fault] .cell").count() == len(FAULTS)
        for fault in FAULTS:
            assert row.locator(f'td[data-fault="{fault}"] .cell').is_visible()
    # The colours say it before the words do: ok is green, a failing verdict red, not run blank.
    ok = page.locator(f'#grid tr[data-test="{TESTS[0]}"] td[data-fault="server-error"] .cell')
    bad = page.locator(f'#grid tr[data-test="{TESTS[1]}"] td[data-fault="truncate"] .cell')
    absent = page.locator(f'#grid tr[data-test="{TESTS[0]}"] td[data-fault="stall"] .cell')
    colour = "el => getComputedStyle(el).backgroundColor"
    assert ok.evaluate(colour) == "rgb(214, 238, 216)"
    assert bad.evaluate(colour) == "rgb(198, 40, 40)"
    assert absent.evaluate(colour) == "rgba(0, 0, 0, 0)"
    page.screenshot(path=str(tmp_path / "grid.png"), full_page=True)
    assert all(url.startswith("file://") for url in opened.requests), opened.requests
    assert opened.problems == []


@IN_ONE_BROWSER
def test_clicking_a_cell_shows_its_reason_fix_and_attempts(open_report: Any, tmp_path: Path) -> None:
    opened = open_report(full_report())
    page = opened.page
    dialog = page.locator("dialog#detail")
    assert not dialog.is_visible()
    page.locator(f'#grid tr[data-test="{TESTS[0]}"] td[data-fault="rate-limit"] .cell').click()
    assert dialog.is_visible()
    assert dialog.locator("h2").inner_text() == f"{TESTS[0]} under rate-limit: ignored-retry-after"
    text = dialog.inner_text()
    assert "The retry came 0.002 s after a 429 that asked for 1 s." in text
    assert "Honour Retry-After" in text
    rows = dialog.locator("table.attempts tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).locator("td").all_inner_texts() == [
        "1",
        "0.000 s",
        "",
        "POST /v1/chat",
        "429",
        "retry-after: 1",
    ]
    assert rows.nth(1).locator("td").nth(2).inner_text() == "+0.002 s"
    page.screenshot(path=str(tmp_path / "dialog.png"))
    page.locator("#detail-close").click()
    assert not dialog.is_visible()
    # Another cell shows its own result, not the last one's.
    page.locator(f'#grid tr[data-test="{TESTS[2]}"] td[data-fault="bad-request"] .cell').click()
    assert "KeyError: 'error'" in dialog.inner_text()
    assert "Retry-After" not in dialog.inner_text()
    assert opened.problems == []


@IN_ONE_BROWSER
def test_the_keyboard_opens_and_closes_a_cell(open_report: Any) -> None:
    page = open_report(full_report()).page
    dialog = page.locator("dialog#detail")
    first = page.locator(f'#grid tr[data-test="{TESTS[0]}"] td[data-fault="rate-limit"] .cell')
    first.focus()
    page.keyboard.press("Enter")
    assert dialog.is_visible()
    page.keyboard.press("Escape")
    assert not dialog.is_visible()
    assert first.evaluate("el => el === document.activeElement")  # focus goes back to the cell
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press(" ")
    assert dialog.is_visible()
    assert dialog.locator("h2").inner_text() == f"{TESTS[1]} under truncate: truncated-accepted"


@IN_ONE_BROWSER
def test_the_filters_hide_rows(open_report: Any) -> None:
    report = full_report()
    report["results"] = [r for r in report["results"] if r["test"] != TESTS[0] or r["verdict"] == "ok"]
    page = open_report(report).page
    rows = page.locator("#grid tbody tr")
    page.locator("#only-problems").check()
    assert [rows.nth(i).is_visible() for i in range(3)] == [False, True, True]
    assert page.locator("#shown").inner_text() == "showing 2 of 3 tests"
    page.locator("#only-problems").uncheck()
    page.locator("#filter").fill("test_kg")
    assert [rows.nth(i).is_visible() for i in range(3)] == [False, False, True]


@IN_ONE_BROWSER
def test_hostile_strings_stay_text_in_a_browser(open_report: Any) -> None:
    report = copy.deepcopy(full_report())
    hostile = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
    report["tests"][0] = f"tests/test_app.py::test_{hostile}"
    for entry in report["results"]:
        if entry["test"] == TESTS[0]:
            entry["test"] = report["tests"][0]
            entry["reason"] = hostile
    opened = open_report(report)
    page = opened.page
    assert page.evaluate("window.pwned === undefined")
    assert (
        page.locator("#grid tbody tr").first.locator("th").inner_text().replace("\n", "")
        == report["tests"][0]
    )
    page.locator("#grid tbody tr").first.locator("a.cell").first.click()
    assert hostile in page.locator("dialog#detail").inner_text()
    assert page.evaluate("window.pwned === undefined")
    assert all(url.startswith("file://") for url in opened.requests), opened.requests

"""The report: one JSON document for every renderer, the terminal grid, and the plain run left alone."""

from __future__ import annotations

import json
from typing import Any

import pytest

from writer_stream_testkit.resilience.report import (
    FORMAT,
    VERDICTS,
    build_report,
    failing_results,
    terminal_lines,
)


def row(test: str, fault: str, verdict: str, **extra: Any) -> dict[str, Any]:
    return {
        "test": test,
        "fault": fault,
        "verdict": verdict,
        "reason": "why",
        "fix": "Do this.",
        "attempts": 1,
        "attempt_log": [{"at": 0.0, "method": "POST", "path": "/v1/chat", "status": 429, "note": "injected"}],
        "outcome": "passed",
        "duration": 0.1,
        "worker": None,
        **extra,
    }


def test_the_document_has_the_fixed_names_counts_and_order() -> None:
    report = build_report(
        [
            row("t.py::b", "stall", "hung"),
            row("t.py::a", "truncate", "ok"),
            row("t.py::b", "rate-limit", "ok"),
        ],
        faults=("rate-limit", "truncate", "stall"),
        seed=7,
    )
    assert report["format"] == FORMAT
    assert report["version"] == 1
    assert report["seed"] == 7
    assert report["tests"] == ["t.py::b", "t.py::a"]
    assert [(r["test"], r["fault"]) for r in report["results"]] == [
        ("t.py::b", "rate-limit"),
        ("t.py::b", "stall"),
        ("t.py::a", "truncate"),
    ]
    assert report["counts"] == {"ok": 2, "hung": 1}
    assert report["verdicts"]["truncated-accepted"] == {
        "failing": True,
        "meaning": VERDICTS["truncated-accepted"].meaning,
    }
    assert report["verdicts"]["gave-up"]["failing"] is False
    json.dumps(report)  # plain JSON throughout


def test_a_test_failing_without_faults_is_not_called_corrupted() -> None:
    report = build_report(
        [row("t.py::a", "keep-alive", "corrupted")], faults=("keep-alive",), baseline_failed=["t.py::a"]
    )
    assert report["results"][0]["verdict"] == "not-applicable"
    assert failing_results(report) == []


def test_the_terminal_grid_marks_each_cell_and_lists_each_failing_verdict_with_its_fix() -> None:
    report = build_report(
        [
            row("t.py::a", "rate-limit", "ok"),
            row("t.py::a", "truncate", "truncated-accepted"),
            row("t.py::b", "rate-limit", "gave-up"),
        ],
        faults=("rate-limit", "truncate"),
    )
    lines = terminal_lines(report)
    assert lines[0] == "faults: 1 rate-limit, 2 truncate"
    assert any(line.startswith("t.py::a") and line.split()[1:] == [".", "T"] for line in lines)
    assert any(line.startswith("t.py::b") and line.split()[1:] == ["g"] for line in lines)
    assert "1 failing verdict:" in lines
    assert "  t.py::a under truncate: truncated-accepted: why." in lines
    assert "    fix: Do this." in lines
    assert any(line.startswith("  warning: t.py::b under rate-limit: gave-up") for line in lines)
    expected = build_report(
        [row("t.py::a", "truncate", "truncated-accepted", expected=True)], faults=("truncate",)
    )
    assert "no failing verdict" in terminal_lines(expected)[-1]


def test_the_all_good_line_is_said_only_when_every_fault_was_met() -> None:
    """A gave-up warning or a failing verdict a marker expects is no "met every fault correctly"."""
    clean = terminal_lines(build_report([row("t.py::a", "rate-limit", "ok")], faults=("rate-limit",)))
    assert clean[-1] == "no failing verdict: every test's app met every injected fault correctly"
    for rows in (
        [row("t.py::a", "rate-limit", "ok"), row("t.py::b", "rate-limit", "gave-up")],
        [row("t.py::a", "truncate", "truncated-accepted", expected=True)],
    ):
        lines = terminal_lines(build_report(rows, faults=("rate-limit", "truncate")))
        assert not any("met every injected fault correctly" in line for line in lines), lines
        assert any(line.startswith("no failing verdict (") for line in lines), lines


PROJECT = """
import writerai
from writer_stream_testkit import StreamScript
from writer_stream_testkit.doubles import faulting

def test_streams(writer_mock):
    assert faulting.active() is None
    writer_mock.reply(StreamScript().content("hi").finish("stop"))
    list(writerai.Writer(api_key="k").chat.chat(model="m", messages=[], stream=True))
"""


def test_without_the_switch_the_run_is_the_plain_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain=PROJECT)
    result = pytester.runpytest("-p", "no:xdist", "-p", "no:cacheprovider", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["test_plain.py::test_streams", "1 test collected*"])
    result = pytester.runpytest("-p", "no:xdist", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*resilience*")


def test_the_marker_opts_out_and_bad_options_stop_the_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_opt=PROJECT.replace(
            "def test_streams", "import pytest\n@pytest.mark.writer_resilience(skip=True)\ndef test_streams"
        ).replace("    assert faulting.active() is None\n", "")
    )
    result = pytester.runpytest(
        "-p", "no:xdist", "-p", "no:cacheprovider", "--writer-resilience", "--collect-only", "-q"
    )
    assert [line for line in result.stdout.lines if "::" in line] == ["test_opt.py::test_streams"]
    result = pytester.runpytest("-p", "no:xdist", "--writer-resilience", "--writer-resilience-faults=stal")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--writer-resilience-faults names 'stal', which is not a fault kind; use some of*"]
    )


def test_tests_that_never_streamed_are_remembered_and_not_repeated(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_mixed=PROJECT.replace("    assert faulting.active() is None\n", "")
        + "\n\ndef test_plain():\n    pass\n"
    )
    first = pytester.runpytest(
        "-p", "no:xdist", "--writer-resilience", "--writer-resilience-faults=keep-alive"
    )
    first.assert_outcomes(passed=3, skipped=1)  # test_plain[fault=keep-alive] skipped: it never streamed
    again = pytester.runpytest(
        "-p",
        "no:xdist",
        "--writer-resilience",
        "--writer-resilience-faults=keep-alive",
        "--collect-only",
        "-q",
    )
    listed = [line for line in again.stdout.lines if line.startswith("test_mixed.py::")]
    assert listed == [
        "test_mixed.py::test_streams",
        "test_mixed.py::test_plain",
        "test_mixed.py::test_streams[fault=keep-alive]",
    ]


def test_the_html_report_is_written_by_the_renderer(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_page=PROJECT.replace("    assert faulting.active() is None\n", ""))
    out = pytester.path / "r.html"
    result = pytester.runpytest(
        "-p",
        "no:xdist",
        "--writer-resilience",
        "--writer-resilience-faults=keep-alive",
        f"--writer-resilience-html={out}",
    )
    result.assert_outcomes(passed=2)
    assert "<html" in out.read_text(encoding="utf-8").lower()


def test_unittest_cases_are_left_as_they_are(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_cases="""
        import unittest

        class Case(unittest.TestCase):
            def test_one(self):
                pass
        """
    )
    result = pytester.runpytest(
        "-p",
        "no:xdist",
        "-p",
        "no:cacheprovider",
        "--writer-resilience",
        "--writer-resilience-faults=keep-alive",
    )
    result.assert_outcomes(passed=1)


def test_the_header_says_how_many_fault_items_were_added(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_two=PROJECT.replace("    assert faulting.active() is None\n", "")
        + "\n\ndef test_plain():\n    pass\n"
    )
    result = pytester.runpytest(
        "-p",
        "no:xdist",
        "-p",
        "no:cacheprovider",
        "--writer-resilience",
        "--writer-resilience-faults=keep-alive,crlf",
        "--collect-only",
    )
    result.stdout.fnmatch_lines(
        ["writer-resilience: 4 fault items added to 2 tests (keep-alive, crlf; timeout 10 s)"]
    )


def test_a_failing_verdict_does_not_show_the_kits_own_check_as_how_the_test_ended(
    pytester: pytest.Pytester,
) -> None:
    """The faulted attempt uses up no reply, so a double's own strictness may fire; it is not the app's doing."""
    pytester.makepyfile(
        test_own="""
        import writerai
        from writer_stream_testkit import FakeWriterServer, StreamScript

        def test_joins():
            with FakeWriterServer() as server:
                server.reply(StreamScript().content("a", "b", "c", "d").finish("stop"))
                client = writerai.Writer(api_key="k", base_url=server.base_url)
                stream = client.chat.chat(model="m", messages=[], stream=True)
                "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        """
    )
    result = pytester.runpytest(
        "-p",
        "no:xdist",
        "-p",
        "no:cacheprovider",
        "--writer-resilience",
        "--writer-resilience-faults=truncate",
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["writer-resilience: truncated-accepted under the truncate fault: *"])
    result.stdout.no_fnmatch_line("*def verify(*")
    result.stdout.no_fnmatch_line("The test ended with:")

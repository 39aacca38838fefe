"""The resilience run end to end: a downstream project's apps, each with one bug, and correct ones.

Chat through ``writer_mock`` (scripts), a Knowledge Graph question stream over a
socket (``writer_server``), and a cassette recorded before the run; each bug
must get exactly its verdict and the correct apps none that fails, and
``-n 2`` must give the same report.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import writerai
from downstream import APP, EXPECTED, TESTS

from writer_stream_testkit import Cassette, FakeWriterServer, StreamScript

pytestmark = pytest.mark.timeout(300)

SCRIPT = StreamScript().content("Sunny", " and", " warm \u2600", " d\u00e9j\u00e0 vu").finish("stop")


def _project(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(app=APP, test_apps=TESTS)
    cassette = pytester.path / "cassettes" / "chat.yaml"
    with FakeWriterServer() as upstream:
        upstream.reply(SCRIPT)
        with Cassette(cassette, record_mode="once", upstream=upstream.base_url):
            stream = writerai.Writer(api_key="recording-key-123").chat.chat(
                model="palmyra-x5", messages=[{"role": "user", "content": "weather?"}], stream=True
            )
            assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert cassette.exists()


def _verdicts(report: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(r["test"].split("::")[-1], r["fault"]): r["verdict"] for r in report["results"]}


def _run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    out = pytester.path / "resilience.json"
    result = pytester.runpytest_subprocess(
        "--writer-resilience",
        "--writer-resilience-timeout=1",
        f"--writer-resilience-json={out}",
        "-p",
        "no:cacheprovider",
        *args,
        timeout=240,
    )
    return result, json.loads(out.read_text(encoding="utf-8"))


def _check(report: dict[str, Any]) -> None:
    verdicts = _verdicts(report)
    wrong = {
        key: (verdict, EXPECTED.get(key, "ok"))
        for key, verdict in verdicts.items()
        if verdict != EXPECTED.get(key, "ok")
    }
    assert wrong == {}, f"(test, fault): (got, expected): {wrong}"
    missing = set(EXPECTED) - set(verdicts)
    assert missing == set()
    tests = {key[0] for key in verdicts}
    assert "test_no_stream" not in tests
    assert "test_plain_code" not in tests
    assert {key[1] for key in verdicts if key[0] == "test_correct"} == set(report["faults"])
    for row in report["results"]:
        assert all((row["reason"], row["fix"], row["attempt_log"])), row
        assert row["outcome"] in ("passed", "failed", "error")


def test_each_bug_gets_its_verdict_and_correct_apps_none(pytester: pytest.Pytester) -> None:
    _project(pytester)
    result, report = _run(pytester, "-p", "no:xdist")
    _check(report)
    assert report["format"] == "writer-stream-testkit/resilience"
    assert report["version"] == 1
    failing = {k for k, v in report["verdicts"].items() if v["failing"]}
    expected_failures = sum(1 for v in EXPECTED.values() if v in failing)
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == expected_failures
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*writer-stream-testkit resilience*", "*truncated-accepted*"])
    # the plain run is all green: only fault items fail
    result.stdout.no_fnmatch_line("FAILED test_apps.py::test_correct -*")
    result.stdout.no_fnmatch_line("FAILED test_apps.py::test_naive -*")


def test_under_xdist_the_same_verdicts_merge_from_both_workers_and_the_run_fails(
    pytester: pytest.Pytester,
) -> None:
    """The serial run's expectations, under ``-n 2`` (a test of its own, so the suite's workers run both at once).

    With ``filterwarnings = error``, as many suites (and this one) run: syrupy checks under
    xdist that every item run was collected, and fault items it had not seen once warned
    "selected test(s) missing from collected items", an INTERNALERROR at the end of the
    run before any report was written.
    """
    _project(pytester)
    pytester.makeini("[pytest]\nfilterwarnings = error\n")
    result, report = _run(pytester, "-p", "xdist", "-n", "2")
    result.stdout.no_fnmatch_line("*missing from collected items*")
    result.stdout.no_fnmatch_line("*INTERNALERROR*")
    _check(report)
    assert {r["worker"] for r in report["results"]} == {"gw0", "gw1"}
    failing = {k for k, v in report["verdicts"].items() if v["failing"]}
    assert result.ret == 1
    assert result.parseoutcomes()["failed"] == sum(1 for v in EXPECTED.values() if v in failing)

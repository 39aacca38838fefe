"""The resilience report: verdicts as data first, rendered last (terminal grid, JSON).

:func:`build_report` makes the one JSON document every renderer reads (the
terminal summary here, the HTML page in ``resilience.html``, other tools):
``{"format", "version", "seed", "faults", "tests", "verdicts", "counts", "results"}``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FORMAT",
    "VERDICTS",
    "VerdictInfo",
    "build_report",
    "failing_results",
    "plural",
    "terminal_lines",
]

FORMAT = "writer-stream-testkit/resilience"


@dataclass(frozen=True)
class VerdictInfo:
    failing: bool
    meaning: str
    mark: str
    """One character for the terminal grid."""


VERDICTS: dict[str, VerdictInfo] = {
    "ok": VerdictInfo(
        False,
        "the app met the fault correctly: it retried and passed, or the fault reached the test as an error",
        ".",
    ),
    "truncated-accepted": VerdictInfo(
        True,
        "a cut or truncated stream was not retried and no error reached "
        "the test: the app used half an answer",
        "T",
    ),
    "retried-non-retryable": VerdictInfo(True, "a 400/401/403/404/422 was sent again", "N"),
    "ignored-retry-after": VerdictInfo(
        True, "a retry came sooner than Retry-After / retry-after-ms said", "A"
    ),
    "retry-storm": VerdictInfo(True, "more attempts than the client's retries allow", "S"),
    "hung": VerdictInfo(True, "a stalled stream was still being waited on at the resilience timeout", "H"),
    "crashed": VerdictInfo(True, "the test died on a Python error raised in the app's own code", "C"),
    "corrupted": VerdictInfo(
        True, "a fault that changes nothing for a correct client changed the test's outcome", "X"
    ),
    "gave-up": VerdictInfo(
        False, "a retryable fault (429, 5xx, refused connection) was never retried (a warning)", "g"
    ),
    "not-applicable": VerdictInfo(False, "the test streamed nothing this fault could apply to", "-"),
}


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def build_report(
    results: Iterable[Mapping[str, Any]],
    *,
    faults: Sequence[str],
    seed: int | None = None,
    baseline_failed: Iterable[str] = (),
) -> dict[str, Any]:
    """The report document from every (test, fault) result, merged from every worker.

    A test that fails without any fault (``baseline_failed``) cannot be judged
    on outcome alone, so its ``corrupted`` verdicts become ``not-applicable``.
    """
    failed_plain = set(baseline_failed)
    rows: list[dict[str, Any]] = []
    for result in results:
        row = dict(result)
        if row["verdict"] == "corrupted" and row["test"] in failed_plain:
            row["verdict"] = "not-applicable"
            row["reason"] = "the test fails without any fault too, so a changed outcome says nothing"
            row["fix"] = "Fix the test's plain failure first."
        rows.append(row)
    order = {name: i for i, name in enumerate(faults)}
    tests = list(dict.fromkeys(row["test"] for row in rows))
    rows.sort(key=lambda r: (tests.index(r["test"]), order.get(r["fault"], len(order))))
    counts = Counter(row["verdict"] for row in rows)
    return {
        "format": FORMAT,
        "version": 1,
        "seed": seed,
        "faults": list(faults),
        "tests": tests,
        "verdicts": {
            name: {"failing": info.failing, "meaning": info.meaning} for name, info in VERDICTS.items()
        },
        "counts": {name: counts[name] for name in VERDICTS if counts[name]},
        "results": rows,
    }


def failing_results(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [r for r in report["results"] if VERDICTS[r["verdict"]].failing and not r.get("expected")]


def terminal_lines(report: Mapping[str, Any], *, width: int = 100) -> list[str]:
    """The summary: a grid of tests by faults (one mark per cell), counts, then each failing verdict."""
    faults: list[str] = report["faults"]
    cells = {(r["test"], r["fault"]): r for r in report["results"]}
    tests: list[str] = report["tests"]
    if not tests:
        return ["no test streamed through a double, so nothing was judged"]
    name_width = min(max(len(t) for t in tests), max(20, width - 3 * len(faults) - 2))
    lines = ["faults: " + ", ".join(f"{i + 1} {f}" for i, f in enumerate(faults))]
    lines.append(" " * (name_width + 2) + "".join(f"{i + 1:>2} " for i in range(len(faults))))
    for test in tests:
        label = test if len(test) <= name_width else "…" + test[-(name_width - 1) :]
        marks = "".join(
            f" {VERDICTS[cells[(test, f)]['verdict']].mark} " if (test, f) in cells else "   " for f in faults
        )
        lines.append(f"{label:<{name_width}}  {marks}")
    legend = "  ".join(f"{info.mark} {name}" for name, info in VERDICTS.items())
    lines.append(f"legend: {legend}")
    counts = report["counts"]
    lines.append("counts: " + ", ".join(f"{n} {name}" for name, n in counts.items()))
    failing = failing_results(report)
    if failing:
        lines.append(f"{plural(len(failing), 'failing verdict')}:")
        for r in failing:
            lines.append(f"  {r['test']} under {r['fault']}: {r['verdict']}: {r['reason']}.")
            lines.append(f"    fix: {r['fix']}")
    warned = [r for r in report["results"] if r["verdict"] == "gave-up"]
    if not failing:
        expected = sum(1 for r in report["results"] if VERDICTS[r["verdict"]].failing)
        caveats = [f"{expected} expected by the tests' markers"] if expected else []
        caveats += [f"{plural(len(warned), 'warning')} below"] if warned else []
        lines.append(
            f"no failing verdict ({', '.join(caveats)})"
            if caveats
            else "no failing verdict: every test's app met every injected fault correctly"
        )
    for r in warned:
        lines.append(f"  warning: {r['test']} under {r['fault']}: gave-up: {r['reason']}.")
    return lines

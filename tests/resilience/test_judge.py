"""The verdict table: each rule on the facts that make it, and who raised an error."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from writer_stream_testkit.resilience.judge import RULES, STORM_BOUND, Facts, Frame, error_origin, judge
from writer_stream_testkit.resilience.report import VERDICTS

SITE = "/venv/lib/python3.11/site-packages"


def facts(kind: str, **changes: Any) -> Facts:
    base: dict[str, Any] = {
        "kind": kind,
        "streamed": True,
        "faulted": 1,
        "attempts": 1,
        "retry_gap": None,
        "hung": False,
        "outcome": "passed",
        "origin": "none",
    }
    return Facts(**{**base, **changes})


CASES = [
    (facts("rate-limit", streamed=False, faulted=0), "not-applicable"),
    (facts("truncate", faulted=0, notes=("no finish chunk",)), "not-applicable"),
    (facts("stall", hung=True, outcome="failed", origin="sdk"), "hung"),
    (facts("disconnect", faulted=STORM_BOUND + 1, outcome="failed", origin="assertion"), "retry-storm"),
    (facts("server-error", attempts=STORM_BOUND + 1, retry_gap=0.05), "retry-storm"),
    (
        facts("bad-request", attempts=2, retry_gap=0.0, outcome="failed", origin="sdk"),
        "retried-non-retryable",
    ),
    (facts("rate-limit", attempts=2, retry_gap=0.001), "ignored-retry-after"),
    (facts("rate-limit", attempts=2, retry_gap=0.15), "ok"),
    (facts("rate-limit", outcome="failed", origin="sdk"), "gave-up"),
    (facts("refused", outcome="failed", origin="assertion"), "gave-up"),
    (facts("server-error", attempts=2, retry_gap=0.02, outcome="failed", origin="assertion"), "corrupted"),
    (facts("bad-request", outcome="failed", origin="app-crash", error="KeyError: 'error'"), "crashed"),
    (facts("bad-request", outcome="failed", origin="sdk"), "ok"),
    (facts("truncate"), "truncated-accepted"),
    (facts("truncate", outcome="failed", origin="assertion"), "truncated-accepted"),
    (facts("truncate", outcome="failed", origin="app-defined"), "ok"),
    (facts("disconnect", outcome="failed", origin="sdk"), "ok"),
    (facts("disconnect", attempts=2, retry_gap=0.0), "ok"),
    (facts("malformed", attempts=2, retry_gap=0.0), "ok"),  # a successful retry after a malformed chunk
    # retried, then failed on the test's own assertion: the retry went wrong (parts of the cut attempt
    # kept), not "not retried", which truncated-accepted says
    (facts("disconnect", attempts=2, retry_gap=0.0, outcome="failed", origin="assertion"), "corrupted"),
    (facts("server-error", attempts=2, retry_gap=0.02), "ok"),
    (facts("disconnect", origin="kit-check", outcome="error"), "truncated-accepted"),
    (facts("malformed", outcome="failed", origin="app-crash", error="JSONDecodeError"), "crashed"),
    (facts("split-utf8"), "ok"),
    (facts("keep-alive", outcome="failed", origin="app-crash"), "corrupted"),
    (facts("split-utf8", outcome="failed", origin="assertion"), "corrupted"),
]


@pytest.mark.parametrize(
    ("case", "verdict"), CASES, ids=[f"{c.kind}-{v}-{i}" for i, (c, v) in enumerate(CASES)]
)
def test_each_rule_gives_its_verdict_with_a_reason_and_a_fix(case: Facts, verdict: str) -> None:
    got = judge(case)
    assert got.name == verdict
    assert got.reason
    assert got.reason[0].islower()
    assert got.fix.endswith(".")


def test_every_verdict_in_the_table_is_a_named_verdict_and_each_is_reached() -> None:
    assert {rule.verdict for rule in RULES} == set(VERDICTS)
    assert {verdict for _, verdict in CASES} == set(VERDICTS)


def _origin(type_name: str, type_module: str, frames: list[Frame], *, assertion: bool = False) -> str:
    return error_origin(
        type_name=type_name,
        type_module=type_module,
        type_file=f"{SITE}/{type_module.replace('.', '/')}.py"
        if type_module not in sys.stdlib_module_names
        else "",
        frames=frames,
        is_assertion=assertion,
    )


APP = Frame("app", "/project/app.py")
TEST = Frame("test_app", "/project/test_app.py")
SDK = Frame("writerai._streaming", f"{SITE}/writerai/_streaming.py")
JSON = Frame("json.decoder", "/usr/lib/python3.11/json/decoder.py")


def test_who_raised_decides_between_the_sdk_the_app_and_the_test() -> None:
    # the SDK's own error, and a stdlib error raised inside the SDK: the fault reached the test
    assert _origin("RemoteProtocolError", "httpx", [TEST, APP, SDK]) == "sdk"
    assert _origin("JSONDecodeError", "json.decoder", [TEST, APP, SDK, JSON]) == "sdk"
    # the app's code parsing half a tool call, or reading Writer's body as OpenAI's: a crash
    assert _origin("JSONDecodeError", "json.decoder", [TEST, APP, JSON]) == "app-crash"
    assert _origin("KeyError", "builtins", [TEST, APP]) == "app-crash"
    # the app's own exception class: its deliberate "incomplete"
    app_error = error_origin(
        type_name="IncompleteAnswer",
        type_module="app",
        type_file="/project/app.py",
        frames=[TEST, APP],
        is_assertion=False,
    )
    assert app_error == "app-defined"
    assert _origin("AssertionError", "builtins", [TEST], assertion=True) == "assertion"
    assert (
        _origin("UnusedRepliesError", "writer_stream_testkit.errors", [TEST], assertion=True) == "kit-check"
    )
    contract = Frame(
        "writer_stream_testkit.testing.contract", "/kit/writer_stream_testkit/testing/contract.py"
    )
    assert (
        _origin("StreamContractError", "writer_stream_testkit.errors", [TEST, contract], assertion=True)
        == "assertion"
    )

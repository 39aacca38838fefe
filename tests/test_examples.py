"""examples/ is documentation, so the suite runs it: a broken example is a failing test."""

from __future__ import annotations

from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_the_async_example_passes_as_a_user_would_run_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_async_uses=(EXAMPLES / "test_async_uses.py").read_text(encoding="utf-8"))
    result = pytester.runpytest("-W", "error", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)

"""Python code run in a fresh interpreter, where nothing of the kit is imported yet."""

from __future__ import annotations

import subprocess
import sys


def run_fresh(code: str) -> str:
    """Run ``code`` with ``python -c`` and return its stdout, stripped; a failure shows its stderr."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()

#!/usr/bin/env python3
"""Project tasks that need nothing but Python: ``python3 tasks.py demo`` and ``python3 tasks.py test``.

Each task creates ``.venv`` on first use and reinstalls the project only when
``pyproject.toml`` changes, so a fresh clone needs no other set-up step.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".installed"


def _run(*cmd: str | os.PathLike[str]) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], cwd=ROOT, check=True)


def ensure_venv() -> None:
    """Create .venv and install the project with its test extras, once per pyproject.toml version."""
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not PY.exists():
        print(f"Creating {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if not STAMP.exists() or STAMP.read_text() != wanted:
        _run(PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", ".[test]")
        STAMP.write_text(wanted)


def demo() -> None:
    ensure_venv()
    _run(PY, "-m", "writer_stream_testkit.demo")


def test() -> None:
    ensure_venv()
    _run(PY, "-m", "ruff", "check", ".")
    _run(PY, "-m", "ruff", "format", "--check", ".")
    _run(PY, "-m", "mypy")
    workers = os.environ.get("WRITER_TESTKIT_WORKERS", "2")
    _run(PY, "-m", "pytest", "-n", workers, "-q")


def bench() -> None:
    ensure_venv()
    for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        _run(PY, script)


TASKS = {"demo": demo, "test": test, "bench": bench}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in TASKS:
        sys.exit(f"usage: python3 tasks.py {{{'|'.join(TASKS)}}}")
    try:
        TASKS[sys.argv[1]]()
    except subprocess.CalledProcessError as exc:
        sys.exit(exc.returncode)

"""The resilience run's cost (issue 18): at most (kinds + 1) x the plain run x 1.25; a stall at most the timeout.

A downstream project of 16 tests, each streaming 300 chunks through ``writer_mock`` to
a correct app on writerai (about 50 ms each, like a real streaming test), is run by
pytest in a fresh process three ways, best of two each:

- the plain run (the kit installed, no switch);
- ``--writer-resilience`` with every default kind but ``refused`` and ``stall``, whose cost
  is the client's own waiting, not the kit's: writerai backs off about a second before
  retrying a refused connection, and a stall costs what the client's read timeout says.
  ``rate-limit`` is in: its 0.1 s wait is the one the kit asks for. Target: the run costs at
  most (kinds + 1) x the plain run x 1.25.
- ``stall`` alone on a client with no read timeout, ``--writer-resilience-timeout=1``: each
  stall item's duration (from the JSON report) less its plain test's is at most the timeout.

Wall time of the whole pytest process (start-up included, as a user sees it). Run:
``python benchmarks/bench_resilience.py`` (exit 1 over target).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from writer_stream_testkit.resilience.kinds import DEFAULT_KINDS

TESTS = 16
CHUNKS = 200
TIMEOUT = 1.0
KINDS = [k for k in DEFAULT_KINDS if k not in ("refused", "stall")]

APP = f"""
import httpx
import pytest
import writerai
from writer_stream_testkit import StreamScript

PIECES = ["w{{}} ".format(i) for i in range({CHUNKS})]
SCRIPT = StreamScript().content(*PIECES).finish("stop")


class Incomplete(Exception):
    pass


def answer(client):
    parts, finish = [], None
    for chunk in client.chat.chat(model="palmyra-x5", messages=[{{"role": "user", "content": "hi"}}], stream=True):
        if chunk.choices:
            parts.append(chunk.choices[0].delta.content or "")
            finish = chunk.choices[0].finish_reason or finish
    if finish is None:
        raise Incomplete("cut")
    return "".join(parts)


@pytest.mark.parametrize("n", range({TESTS}))
def test_stream(writer_mock, n):
    writer_mock.reply(SCRIPT)
    client = writerai.Writer(api_key="k", timeout=httpx.Timeout(30, read=None if n == 0 else 5))
    assert answer(client) == "".join(PIECES)
"""


def _run(project: Path, *args: str) -> float:
    best = float("inf")
    for _ in range(2):
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider", *args],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=600,
        )
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            print(result.stdout[-3000:], result.stderr[-2000:])
            sys.exit(f"the pytest run {' '.join(args) or '(plain)'} failed")
        best = min(best, elapsed)
    return best


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / "test_app.py").write_text(APP, encoding="utf-8")
        plain = _run(project)
        resilience = _run(project, "--writer-resilience", f"--writer-resilience-faults={','.join(KINDS)}")
        report = project / "stall.json"
        _run(
            project,
            "--writer-resilience",
            "--writer-resilience-faults=stall",
            f"--writer-resilience-timeout={TIMEOUT:g}",
            f"--writer-resilience-json={report}",
            "--writer-resilience-fail-on=never",
            "-k",
            "stream[0",
        )
        rows = json.loads(report.read_text(encoding="utf-8"))["results"]
    budget = (len(KINDS) + 1) * plain * 1.25
    ratio = resilience / plain
    print(f"plain run, {TESTS} tests x {CHUNKS} chunks: {plain:.2f} s")
    print(
        f"resilience run, {len(KINDS)} kinds ({', '.join(KINDS)}): {resilience:.2f} s = {ratio:.2f}x the plain run "
        f"(target <= {(len(KINDS) + 1) * 1.25:.2f}x, {budget:.2f} s)"
    )
    stall = [r for r in rows if r["fault"] == "stall"]
    worst = max(r["duration"] for r in stall)
    print(
        f"a stall on a client with no read timeout: verdict {stall[0]['verdict']}, item {worst:.2f} s "
        f"(target <= the timeout, {TIMEOUT:g} s, plus the test's own {plain / TESTS:.2f} s)"
    )
    failed = resilience > budget or stall[0]["verdict"] != "hung" or worst > TIMEOUT + plain / TESTS + 0.25
    if failed:
        print("MISSED a target")
        sys.exit(1)


if __name__ == "__main__":
    main()

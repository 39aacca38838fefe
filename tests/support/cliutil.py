"""Running the command line in a subprocess, as a user does: one-shot commands and long-running servers."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from writer_stream_testkit.cli import main

ROOT = Path(__file__).resolve().parents[2]
WAIT = 20.0
"""The most any one step may take before the test fails instead of hanging."""
KEY = "sk-planted-KEY-4a5b6c7d8e9f0123"
BODY = {"model": "palmyra-x5", "stream": True, "messages": [{"role": "user", "content": "Say hello"}]}


def wait_for(condition: Any, what: str) -> None:
    """Poll an observable condition, bounded: for effects another process makes on its own schedule."""
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def stream_raw(url: str, body: Any = BODY, key: str = KEY) -> tuple[list[bytes], list[float], int]:
    """POST and read the raw body: the pieces, when each arrived (since the request), the status."""
    pieces: list[bytes] = []
    times: list[float] = []
    with httpx.Client(timeout=WAIT) as client:
        started = time.perf_counter()
        with client.stream(
            "POST", url + "/v1/chat", json=body, headers={"authorization": f"Bearer {key}"}
        ) as response:
            for piece in response.iter_raw():
                pieces.append(piece)
                times.append(time.perf_counter() - started)
    return pieces, times, response.status_code


def cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "WRITER_API_KEY"}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "writer_stream_testkit.cli", *args],
        capture_output=True,
        text=True,
        timeout=WAIT,
        env=cli_env(),
    )


class Background:
    """A long-running subcommand (serve, record): its URL from stdout's first line, stopped by SIGINT."""

    def __init__(self, args: Sequence[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "writer_stream_testkit.cli", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=cli_env(),
        )
        lines: queue.Queue[str] = queue.Queue()
        assert self.proc.stdout is not None
        stdout = self.proc.stdout
        threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
        try:
            self.url = lines.get(timeout=WAIT).strip()
        except queue.Empty:
            self.proc.kill()
            raise AssertionError(f"{args[0]} printed no URL within {WAIT} s") from None
        assert self.url.startswith("http://127.0.0.1:"), self.proc.communicate(timeout=WAIT)

    def stop(self) -> tuple[int, str]:
        """SIGINT, as Ctrl-C would; returns the exit code and stderr."""
        self.proc.send_signal(signal.SIGINT)
        _, err = self.proc.communicate(timeout=WAIT)
        return self.proc.returncode, err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate(timeout=WAIT)


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run a command in this process: its exit code, stdout and stderr."""
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err

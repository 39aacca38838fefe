"""Installing npm packages for the Node checks, once per machine, under a lock.

The packages go into a directory under ``.cache/`` (gitignored), locked so parallel
xdist workers do not install them twice. Without ``node``/``npm``, or when npm cannot
install them (offline), the caller's test skips and says why.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

__all__ = ["install_lock", "npm_install"]


@contextmanager
def install_lock(path: Path, timeout: float = 300.0) -> Iterator[None]:
    """An exclusive lock on ``path`` across processes: fcntl on POSIX, msvcrt on Windows."""
    with path.open("a+b") as handle:
        if sys.platform == "win32":
            import msvcrt

            deadline = time.monotonic() + timeout
            while True:
                try:
                    msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            try:
                yield
            finally:
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def npm_install(directory: Path, packages: list[str], installed: Path, why: str) -> None:
    """``npm install packages`` into ``directory`` unless ``installed`` exists; skip, saying why, if it cannot."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip(f"node and npm are needed {why}; install Node.js.")
    directory.mkdir(parents=True, exist_ok=True)
    with install_lock(directory / ".install.lock"):
        if installed.exists():
            return
        package = directory / "package.json"
        if not package.exists():
            package.write_text('{"name": "writer-stream-testkit-node-check", "private": true}\n')
        try:
            done = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", *packages],
                cwd=directory,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
        except subprocess.TimeoutExpired:
            pytest.skip(
                f"npm install {' '.join(packages)} took more than 300 s; check the network and retry."
            )
        if done.returncode != 0 or not installed.exists():
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            pytest.skip(f"npm could not install {' '.join(packages)} into {directory}: {' / '.join(tail)}")

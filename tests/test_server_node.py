"""FakeWriterServer serves the official Node SDK (npm ``writer-sdk``) as well as Python clients.

The SDK is installed once per machine into ``.cache/node-writer-sdk`` (gitignored),
under a file lock so parallel xdist workers do not install it twice. Without
``node``/``npm``, or when npm cannot install it (offline), the tests skip and say why.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from writer_stream_testkit.doubles.replies import Reply
from writer_stream_testkit.doubles.server import FakeWriterServer
from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.scripts.faults import Fault

ROOT = Path(__file__).resolve().parent.parent
SDK_DIR = ROOT / ".cache" / "node-writer-sdk"
SDK_ENTRY = SDK_DIR / "node_modules" / "writer-sdk" / "index.mjs"
SCRIPT_JS = Path(__file__).resolve().parent / "node" / "stream.mjs"
MODEL = "palmyra-x5"
MESSAGES = [{"role": "user", "content": "Say hello."}]
SCRIPT = StreamScript().content("Héllo").content(" wörld").content(" ☃").finish("stop")


@contextmanager
def _install_lock(path: Path, timeout: float = 300.0) -> Iterator[None]:
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


@pytest.fixture(scope="session")
def node_sdk() -> Path:
    """The path of writer-sdk's ESM entry point, installing the package on first use."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip(
            "node and npm are needed to check FakeWriterServer against the Node SDK; install Node.js."
        )
    SDK_DIR.mkdir(parents=True, exist_ok=True)
    with _install_lock(SDK_DIR / ".install.lock"):
        if not SDK_ENTRY.is_file():
            package = SDK_DIR / "package.json"
            if not package.exists():
                package.write_text('{"name": "writer-stream-testkit-node-check", "private": true}\n')
            try:
                done = subprocess.run(
                    [npm, "install", "--no-audit", "--no-fund", "writer-sdk"],
                    cwd=SDK_DIR,
                    capture_output=True,
                    text=True,
                    timeout=300,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                pytest.skip("npm install writer-sdk took more than 300 s; check the network and retry.")
            if done.returncode != 0 or not SDK_ENTRY.is_file():
                tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
                pytest.skip(f"npm could not install writer-sdk into {SDK_DIR}: {' / '.join(tail)}")
    return SDK_ENTRY


def run_node(sdk: Path, base_url: str, mode: str, **params: Any) -> dict[str, Any]:
    """Run tests/node/stream.mjs against ``base_url`` and return the JSON it printed."""
    config = {
        "baseURL": base_url,
        "mode": mode,
        "timeoutMs": 10_000,
        "params": {"model": MODEL, "messages": MESSAGES, **params},
    }
    done = subprocess.run(
        ["node", str(SCRIPT_JS), str(sdk), json.dumps(config)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"node exited with {done.returncode}:\n{done.stderr}"
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_node_stream_helper_emits_the_scripted_events(node_sdk: Path) -> None:
    with FakeWriterServer() as server:
        server.reply(SCRIPT)
        result = run_node(node_sdk, server.base_url, "helper")
    contents = [e for e in result["events"] if e["type"] == "content"]
    assert [e["delta"] for e in contents] == ["Héllo", " wörld", " ☃"]
    assert contents[-1]["snapshot"] == "Héllo wörld ☃"
    assert {"type": "content.done", "content": "Héllo wörld ☃"} in result["events"]
    assert result["content"] == "Héllo wörld ☃"
    assert result["finish_reason"] == "stop"
    (call,) = server.calls
    assert call.json["stream"] is True
    assert call.headers["authorization"] == "Bearer test-key"


def test_node_reads_a_stream_split_byte_by_byte_with_crlf_and_keep_alives(node_sdk: Path) -> None:
    script = SCRIPT.with_fault(Fault.split(one_byte=True), Fault.crlf(), Fault.keep_alive(every=1))
    with FakeWriterServer() as server:
        server.reply(script)
        result = run_node(node_sdk, server.base_url, "raw")
    assert result["chunks"] == SCRIPT.chunks()


def test_node_gets_the_completion_for_stream_false(node_sdk: Path) -> None:
    with FakeWriterServer() as server:
        server.reply(SCRIPT)
        result = run_node(node_sdk, server.base_url, "nonstream")
    assert result["completion"] == SCRIPT.completion()


@pytest.mark.parametrize(
    ("fault", "name", "status"),
    [
        (Fault.http_error(429, message="Slow down.", retry_after_ms=1), "RateLimitError", 429),
        (Fault.connection_refused(), "APIConnectionError", None),
    ],
    ids=["http_error", "connection_refused"],
)
def test_node_sees_replacing_faults_as_its_own_errors(
    node_sdk: Path, fault: Reply, name: str, status: int | None
) -> None:
    with FakeWriterServer() as server:
        server.reply(fault)
        result = run_node(node_sdk, server.base_url, "helper")
    assert result["error"]["name"] == name
    assert result["error"]["status"] == status


def test_node_sees_a_disconnect_as_an_error_not_a_short_answer(node_sdk: Path) -> None:
    with FakeWriterServer() as server:
        server.reply(SCRIPT.with_fault(Fault.disconnect(after_chunks=1, mid_chunk=True)))
        result = run_node(node_sdk, server.base_url, "helper")
    assert "error" in result, f"the SDK finished a cut stream without an error: {result}"
    assert result["error"]["status"] is None

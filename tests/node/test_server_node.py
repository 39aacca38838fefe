"""FakeWriterServer serves the official Node SDK (npm ``writer-sdk``) as well as Python clients.

The SDK is installed once per machine into ``.cache/node-writer-sdk`` (gitignored) by
``nodeutil.npm_install``. Without ``node``/``npm``, or when npm cannot install it
(offline), the tests skip and say why.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from nodeutil import npm_install

from writer_stream_testkit.doubles.replies import Reply
from writer_stream_testkit.doubles.server import FakeWriterServer
from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.scripts.faults import Fault

ROOT = Path(__file__).resolve().parents[2]
SDK_DIR = ROOT / ".cache" / "node-writer-sdk"
SDK_ENTRY = SDK_DIR / "node_modules" / "writer-sdk" / "index.mjs"
SCRIPT_JS = Path(__file__).resolve().parent / "stream.mjs"
MODEL = "palmyra-x5"
MESSAGES = [{"role": "user", "content": "Say hello."}]
SCRIPT = StreamScript().content("Héllo").content(" wörld").content(" ☃").finish("stop")


@pytest.fixture(scope="session")
def node_sdk() -> Path:
    """The path of writer-sdk's ESM entry point, installing the package on first use."""
    npm_install(SDK_DIR, ["writer-sdk"], SDK_ENTRY, "to check FakeWriterServer against the Node SDK")
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


def test_node_queues_a_script_and_a_fault_through_serve_s_control_api_and_reads_the_verdict(
    node_sdk: Path,
) -> None:
    from cliutil import Background

    served = Background(["serve", "--port", "0"])
    try:
        done = subprocess.run(
            ["node", str(SCRIPT_JS.parent / "control.mjs"), str(node_sdk), served.url],
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=60,
            check=False,
        )
    finally:
        code, err = served.stop()
        served.kill()
    assert done.returncode == 0, f"node exited with {done.returncode}:\n{done.stderr}"
    result = json.loads(done.stdout)
    assert [q["status"] for q in result["queued"]] == [201, 201]
    assert result["queued"][1]["body"] == {
        "queued": "http_error(status=429, message='Slow down.')",
        "times": 1,
        "pending": 2,
    }
    assert result["content"] == "Hello from Node"
    assert result["fault"] == {"name": "RateLimitError", "status": 429}
    journal = result["journal"]["body"]
    assert journal["received"] == 2
    assert [(c["method"], c["path"], c["json"]["model"], c["answered"]) for c in journal["calls"]] == [
        ("POST", "/v1/chat", "palmyra-x5", True),
        ("POST", "/v1/chat", "palmyra-x4", True),
    ]
    assert ["authorization", "Bearer test-key"] in journal["calls"][0]["headers"]
    assert result["clean"] == {"status": 200, "body": {"ok": True, "error": None, "message": ""}}
    assert result["dirty"]["status"] == 409
    assert result["dirty"]["body"]["error"] == "UnexpectedRequestError"
    assert "GET /v1/models" in result["dirty"]["body"]["message"]
    assert result["reset"] == {"status": 200, "body": {"reset": True}}
    assert result["after"]["status"] == 200
    assert code == 0, err

"""``verify`` suggests re-recording a drifted cassette the way it was made: usually the pytest flag."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
from cliutil import BODY, KEY, ROOT, WAIT, run_cli, run_main

from writer_stream_testkit.cassettes.cassette import Cassette
from writer_stream_testkit.cassettes.tools import how_to_rerecord
from writer_stream_testkit.doubles.server import FakeWriterServer
from writer_stream_testkit.scripts.chat import StreamScript


def drifted(path: Path, upstream: FakeWriterServer, meta: dict[str, str] | None = None) -> None:
    """Record a plain answer into ``path``, then queue a live answer with a tool call: drift."""
    upstream.reply(StreamScript().content("Sunny").finish())
    with (
        Cassette(path, record_mode="once", upstream=upstream.base_url, meta=meta),
        httpx.Client(base_url="https://api.writer.com", timeout=WAIT) as client,
    ):
        client.post("/v1/chat", json=BODY)
    upstream.reply(StreamScript().content("Checking").tool_call("get_weather", {"city": "Paris"}).finish())


def test_verify_suggests_the_pytest_flag_for_a_cassette_a_test_recorded(
    tmp_path: Path, upstream: FakeWriterServer, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.yaml"
    drifted(path, upstream)
    code, out, _ = run_main(capsys, "verify", str(path), "--upstream", upstream.base_url)
    assert code == 1
    assert out.rstrip().endswith(
        f"Re-record the cassette to accept the new behaviour (run the tests that use {path} with "
        "`pytest --writer-record-mode=all` and a real WRITER_API_KEY), or fix the code the recording describes."
    )
    assert "writer-stream-testkit record" not in out


def test_verify_suggests_the_record_proxy_for_a_cassette_the_proxy_recorded(
    tmp_path: Path, upstream: FakeWriterServer, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.yaml"
    drifted(path, upstream, meta={"recorded_with": "writer-stream-testkit record"})
    code, out, _ = run_main(capsys, "verify", str(path), "--upstream", upstream.base_url)
    assert code == 1
    assert (
        f"(writer-stream-testkit record --upstream URL --cassette {path} --record-mode all, with the client "
        "that made it)" in out
    )


def test_a_converted_vcrpy_cassette_is_re_recorded_with_vcrpy_or_pytest() -> None:
    hint = how_to_rerecord("c.yaml", {"converted_from": "vcrpy cassette v.yaml"})
    assert "record it again with vcrpy and `writer-stream-testkit convert --force`" in hint
    assert "`pytest --writer-record-mode=all`" in hint


def record_cassette(path: Path, upstream: FakeWriterServer, script: StreamScript) -> None:
    upstream.reply(script)
    with (
        Cassette(path, record_mode="once", upstream=upstream.base_url),
        httpx.Client(base_url="https://api.writer.com", timeout=WAIT) as client,
    ):
        client.post("/v1/chat", json=BODY, headers={"authorization": f"Bearer {KEY}"})


def test_verify_reports_no_drift_when_only_the_text_changed(
    tmp_path: Path, upstream: FakeWriterServer, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.yaml"
    record_cassette(path, upstream, StreamScript().content("Hello", " there").finish())
    upstream.reply(StreamScript(id="new").content("Hi", " the", "re").finish())
    code, out, err = run_main(capsys, "verify", str(path), "--upstream", upstream.base_url, "--api-key", KEY)
    assert code == 0, out + err
    assert out.splitlines()[1].endswith(": same")
    assert "note: text of choice 0 differs (not drift): recorded 'Hello there', live 'Hi there'" in out
    assert out.rstrip().endswith("No drift: all 1 interactions stream the same shape as recorded.")
    assert upstream.calls[-1].headers["authorization"] == f"Bearer {KEY}"
    assert upstream.calls[-1].json == BODY


def test_verify_reports_drift_with_the_event_index_and_exits_1(
    tmp_path: Path, upstream: FakeWriterServer
) -> None:
    path = tmp_path / "c.yaml"
    record_cassette(path, upstream, StreamScript().content("Sunny").finish())
    upstream.reply(StreamScript().content("Checking").tool_call("get_weather", {"city": "Paris"}).finish())
    result = run_cli("verify", str(path), "--upstream", upstream.base_url)
    assert result.returncode == 1, result.stderr
    assert ": DRIFT" in result.stdout
    assert "the event shapes first differ at recorded event #1 / live event #1" in result.stdout
    assert "    +       #1    choice 0: tool_call[0] get_weather\n" in result.stdout
    assert "1 of 1 interactions drifted ([0])." in result.stdout


def test_verify_says_when_the_upstream_cannot_be_reached(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(ROOT / "cassettes" / "hello-stream.yaml", tmp_path / "c.yaml")
    with FakeWriterServer() as gone:
        dead_url = gone.base_url
    code, _, err = run_main(capsys, "verify", str(tmp_path / "c.yaml"), "--upstream", dead_url)
    assert code == 2
    assert f"The upstream {dead_url} did not answer interactions[0] (POST /v1/chat): ConnectError" in err

"""``verify`` suggests re-recording a drifted cassette the way it was made: usually the pytest flag."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from cliutil import WAIT, run_main

from writer_stream_testkit.cassettes.cassette import Cassette
from writer_stream_testkit.cassettes.tools import how_to_rerecord
from writer_stream_testkit.doubles.server import FakeWriterServer
from writer_stream_testkit.scripts.chat import StreamScript

BODY = {"model": "palmyra-x5", "stream": True, "messages": [{"role": "user", "content": "Say hello"}]}


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

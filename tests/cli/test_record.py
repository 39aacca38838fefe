"""`record`: the recording proxy as a user runs it, in a subprocess, and what it reports when recording fails."""

from __future__ import annotations

from pathlib import Path

from cliutil import KEY, Background, stream_raw, wait_for

from writer_stream_testkit.cassettes.cassette import Cassette
from writer_stream_testkit.doubles.server import FakeWriterServer
from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.scripts.faults import Fault


def test_record_proxy_streams_each_chunk_as_it_arrives_and_saves_a_replayable_redacted_cassette(
    tmp_path: Path, upstream: FakeWriterServer
) -> None:
    path = tmp_path / "rec" / "proxy.yaml"
    pieces_out = ["One", " two", " three", " four", " five", " six"]
    upstream.reply(StreamScript().content(*pieces_out).finish().with_fault(Fault.delay(each=0.05)))
    proxy = Background(["record", "--upstream", upstream.base_url, "--cassette", str(path), "--port", "0"])
    try:
        pieces, times, status = stream_raw(proxy.url)
        assert status == 200
        # Eight events, 50 ms apart upstream: a tee hands the first over long before the last exists.
        assert len(pieces) >= 6
        assert times[-1] - times[0] > 0.25
        wait_for(path.exists, "the cassette to be saved after the response")  # saved before shutdown
    finally:
        code, err = proxy.stop() if proxy.proc.poll() is None else (proxy.proc.returncode, "")
        proxy.kill()
    assert code == 0, err
    assert "recorded: POST /v1/chat -> 200, 8 events" in err
    assert "Recorded 1 interaction(s) into" in err
    text = path.read_text()
    assert KEY not in text
    assert "authorization: <redacted>" in text
    assert upstream.calls[0].headers["authorization"] == f"Bearer {KEY}"  # forwarded, never written

    with FakeWriterServer(cassette=Cassette(path)) as replay:
        again, _, status = stream_raw(replay.base_url, key="sk-another-key-entirely")
    assert status == 200
    assert b"".join(again) == b"".join(pieces)


def test_record_with_an_unreachable_upstream_reports_it_and_exits_1(tmp_path: Path) -> None:
    with FakeWriterServer() as gone:
        dead_url = gone.base_url
    path = tmp_path / "c.yaml"
    proxy = Background(["record", "--upstream", dead_url, "--cassette", str(path), "--port", "0"])
    try:
        _, _, status = stream_raw(proxy.url)
    finally:
        code, err = proxy.stop() if proxy.proc.poll() is None else (proxy.proc.returncode, "")
        proxy.kill()
    assert status == 502
    assert code == 1
    assert f"The record proxy could not reach the upstream {dead_url} for POST /v1/chat" in err
    assert "writer-stream-testkit record: error: recording failed, so the cassette is incomplete:" in err
    assert not path.exists()

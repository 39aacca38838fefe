"""`convert`: a vcrpy cassette becomes the kit's, and a bad or hostile one is refused in one sentence."""

from __future__ import annotations

from pathlib import Path

import pytest
from cliutil import KEY, run_main, stream_raw

from writer_stream_testkit.cassettes.cassette import Cassette
from writer_stream_testkit.cassettes.load import load_cassette
from writer_stream_testkit.doubles.server import FakeWriterServer
from writer_stream_testkit.scripts.chat import StreamScript


def test_convert_will_not_overwrite_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "v.yaml").write_text("interactions: []\nversion: 1\n")
    (tmp_path / "out.yaml").write_text("keep me")
    code, _, err = run_main(capsys, "convert", str(tmp_path / "v.yaml"), "--out", str(tmp_path / "out.yaml"))
    assert code == 2
    assert "already exists; pass --force to overwrite it" in err
    assert (tmp_path / "out.yaml").read_text() == "keep me"


def test_convert_imports_a_cassette_vcrpy_recorded_from_httpx(
    tmp_path: Path, upstream: FakeWriterServer, capsys: pytest.CaptureFixture[str]
) -> None:
    vcr = pytest.importorskip("vcr")
    upstream.reply(StreamScript().content("Hello", " from", " vcrpy").finish())
    vcr_path = tmp_path / "vcr.yaml"
    with vcr.use_cassette(str(vcr_path), record_mode="all"):
        original, _, _ = stream_raw(upstream.base_url)
    assert KEY in vcr_path.read_text()  # vcrpy wrote the key; the conversion must not

    out = tmp_path / "ours.yaml"
    code, _, err = run_main(capsys, "convert", str(vcr_path), "--out", str(out))
    assert code == 0, err
    assert "Converted 1 interaction(s) (1 SSE stream(s))" in err
    assert KEY not in out.read_text()
    (interaction,) = load_cassette(out).interactions
    assert interaction.response.events is not None
    assert len(interaction.response.events) == 5
    with FakeWriterServer(cassette=Cassette(out)) as replay:
        again, _, status = stream_raw(replay.base_url)
    assert status == 200
    assert b"".join(again) == b"".join(original)


def test_convert_refuses_a_hostile_vcr_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hostile = tmp_path / "evil.yaml"
    hostile.write_text("interactions:\n- !!python/object/apply:os.system ['touch pwned']\nversion: 1\n")
    code, _, err = run_main(capsys, "convert", str(hostile), "--out", str(tmp_path / "o.yaml"))
    assert code == 2
    assert f"The vcrpy cassette {hostile} uses a YAML tag that is not plain data" in err
    assert not (tmp_path / "o.yaml").exists()
    assert not (tmp_path / "pwned").exists()

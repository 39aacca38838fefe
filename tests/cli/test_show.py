"""``show`` given a script file instead of a cassette says so, and how to look at a script."""

from __future__ import annotations

from pathlib import Path

import pytest
from cliutil import ROOT, run_main

from writer_stream_testkit.scripts.chat import StreamScript


def test_show_on_a_chat_script_says_it_is_a_script_and_how_to_look_at_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "chat.yaml"
    path.write_text(StreamScript().content("Hi").to_yaml(), encoding="utf-8")
    code, _, err = run_main(capsys, "show", str(path))
    assert code == 2
    assert err == (
        f"writer-stream-testkit show: error: {path} is a chat script (it answers POST /v1/chat), not a "
        "cassette: `show` prints recorded interactions. To watch what the script streams, serve it with "
        f"`writer-stream-testkit serve --script {path}` and send it a request; `writer-stream-testkit docs "
        "scripts` describes the format.\n"
    )


def test_show_on_an_application_script_names_its_kind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "app.yaml"
    path.write_text("kind: application\nsteps:\n  - content: Hi\n", encoding="utf-8")
    code, _, err = run_main(capsys, "show", str(path))
    assert code == 2
    assert (
        f"{path} is an application script (it answers POST /v1/applications/{{application_id}}), not a" in err
    )


def test_every_kind_of_script_has_a_name_in_the_message() -> None:
    from writer_stream_testkit.cli.show import WHAT_SCRIPT
    from writer_stream_testkit.scripts.load import KINDS

    assert sorted(WHAT_SCRIPT) == sorted(KINDS)


def test_show_on_a_broken_file_that_is_no_script_either_keeps_the_cassette_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "odd.yaml"
    path.write_text("version: 1\ninteractions: 3\n", encoding="utf-8")
    code, _, err = run_main(capsys, "show", str(path))
    assert code == 2
    assert err.startswith(f"writer-stream-testkit show: error: Cassette {path}")
    assert "script" not in err


def test_show_on_an_empty_mapping_says_it_is_neither_a_cassette_nor_a_script(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file holding only {} was called "a chat script"."""
    path = tmp_path / "empty.yaml"
    path.write_text("{}\n", encoding="utf-8")
    code, _, err = run_main(capsys, "show", str(path))
    assert code == 2
    assert err == (
        f"writer-stream-testkit show: error: {path} holds an empty mapping ({{}}), which is neither a cassette "
        "(it would have version and interactions) nor a script (it would have steps, and kind: for any but "
        "a chat script). Record a cassette with `writer-stream-testkit record`, or see `writer-stream-testkit "
        "docs scripts` to write a script.\n"
    )


def test_show_of_a_missing_file_says_so_and_suggests_the_record_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run_main(capsys, "show", "nonexistent.yaml")
    assert code == 2
    assert err == (
        "writer-stream-testkit show: error: Cassette nonexistent.yaml does not exist. Check the path, or "
        "record it first with `writer-stream-testkit record --upstream URL --cassette nonexistent.yaml`.\n"
    )
    assert "record_mode" not in err


def test_show_prints_the_example_cassette(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(capsys, "show", str(ROOT / "cassettes" / "cut-stream.yaml"))
    assert code == 0
    assert "[0] POST https://api.writer.com/v1/chat" in out
    assert "!! incomplete: the stream was cut here" in out

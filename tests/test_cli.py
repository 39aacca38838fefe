"""The command line's entry point: it lists and explains every subcommand, and a usage error is one sentence with exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from cliutil import run_cli, run_main

from writer_stream_testkit.cli import build_parser

# --- help and usage errors ------------------------------------------------------------------------


def test_the_console_script_lists_every_subcommand() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for name in ("serve", "record", "show", "convert", "verify"):
        assert f"    {name} " in result.stdout


@pytest.mark.parametrize("command", ["serve", "record", "show", "convert", "verify"])
def test_each_subcommand_explains_itself(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(capsys, command, "--help")
    assert code == 0
    assert out.startswith(f"usage: writer-stream-testkit {command} ")
    subparsers = build_parser()._subparsers
    assert subparsers is not None
    description = next(
        p.description
        for action in subparsers._group_actions
        for name, p in getattr(action, "choices", {}).items()
        if name == command
    )
    assert description
    assert description.endswith(".")
    assert description.split()[0] in out.replace("\n", " ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "missing.yaml"], "Cassette missing.yaml does not exist."),
        (["serve", "--cassettes", "nowhere"], "--cassettes nowhere is not a directory;"),
        (["serve", "--script", "x.yaml", "--timing", "slow"], "--timing slow is not a replay timing;"),
        (["record", "--upstream", "api.writer.com", "--cassette", "c.yaml"], "is not an http(s) base URL;"),
        (["verify", "c.yaml", "--upstream", "ftp://x"], "--upstream ftp://x is not an http(s) base URL;"),
        (["convert", "missing.yaml", "--out", "o.yaml"], "The vcrpy cassette missing.yaml does not exist;"),
        (["serve", "--allow-repeats"], "--allow-repeats replays cassettes, so it needs --cassettes DIR."),
        (["verify", "missing.yaml", "--upstream", "http://x"], "Cassette missing.yaml does not exist."),
    ],
)
def test_usage_errors_are_sentences_with_exit_code_2(
    args: list[str],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run_main(capsys, *args)
    assert code == 2
    assert err.startswith(f"writer-stream-testkit {args[0]}: error: ")
    assert message in err
    assert err.rstrip().endswith(".")


def test_a_usage_error_in_a_subprocess_exits_2() -> None:
    result = run_cli("show", "no/such/file.yaml")
    assert result.returncode == 2
    assert "Cassette no/such/file.yaml does not exist." in result.stderr

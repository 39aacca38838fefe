"""What every command shares: a bad argument is one line on stderr and exit 2, never a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
from cliutil import BODY, ROOT, WAIT, run_cli, run_main

from writer_stream_testkit.cli import _shared
from writer_stream_testkit.doubles.server import FakeWriterServer
from writer_stream_testkit.scripts.plan import ResponsePlan
from writer_stream_testkit.wire.call import Call


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["show", "."],
            "Cassette . is a directory, not a file; pass the path of one *.yaml file in it (serve a whole "
            "directory with `writer-stream-testkit serve --cassettes .`).",
        ),
        (["verify", ".", "--upstream", "http://127.0.0.1:9"], "Cassette . is a directory, not a file;"),
        (
            ["record", "--upstream", "http://127.0.0.1:9", "--cassette", "."],
            "--cassette . is a directory, not a file; pass the path of one *.yaml file in it.",
        ),
        (
            ["record", "--upstream", "http://127.0.0.1:9", "--cassette", "c.yaml", "--port", "70000"],
            "--port 70000",
        ),
        (
            ["verify", "c.yaml", "--upstream", "http://127.0.0.1:9", "--timeout", "nan"],
            "--timeout nan must be",
        ),
        (
            ["verify", "c.yaml", "--upstream", "http://127.0.0.1:9", "--timeout", "inf"],
            "--timeout inf must be",
        ),
        (["convert", "c.yaml", "--out", ".", "--force"], "--out . is a directory, not a file;"),
        (
            ["convert", ".", "--out", "out.yaml"],
            "The vcrpy cassette . is a directory, not a file; pass the path of one *.yaml file in it.",
        ),
    ],
)
def test_a_bad_argument_is_one_sentence_and_exit_2(
    args: list[str],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copy(ROOT / "cassettes" / "hello-stream.yaml", tmp_path / "c.yaml")
    code, _, err = run_main(capsys, *args)
    assert code == 2
    assert err.startswith(f"writer-stream-testkit {args[0]}: error: ")
    assert message in err
    assert err.count("\n") == 1
    assert err.rstrip().endswith(".")


def test_an_unreadable_cassette_is_a_usage_error_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Simulated: the suite may run as root, who reads files whatever their mode."""
    path = tmp_path / "c.yaml"
    shutil.copy(ROOT / "cassettes" / "hello-stream.yaml", path)

    def refuse(file: Path) -> None:
        raise PermissionError(13, "Permission denied", str(file))

    monkeypatch.setattr(_shared, "load_cassette", refuse)
    code, _, err = run_main(capsys, "show", str(path))
    assert code == 2
    assert err == (
        f"writer-stream-testkit show: error: Cassette {path} cannot be read (Permission denied); "
        "check its permissions.\n"
    )


def test_a_directory_given_to_show_exits_2_from_the_console_script(tmp_path: Path) -> None:
    result = run_cli("show", str(tmp_path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"Cassette {tmp_path} is a directory, not a file;" in result.stderr


def test_a_server_crash_while_serving_is_reported_on_stderr_with_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from writer_stream_testkit.cli._shared import finish

    class Broken:
        def take(self, call: Call) -> ResponsePlan:
            raise KeyError("the reply source broke")

    with FakeWriterServer(source=Broken()) as server, httpx.Client(timeout=WAIT) as client:
        assert client.post(server.base_url + "/v1/chat", json=BODY).status_code == 500
        code = finish(server, "serve")
        server.reset()  # reported: leaving the block has nothing more to verify
    err = capsys.readouterr().err
    assert code == 1
    assert "writer-stream-testkit serve: error: the server failed while answering" in err
    assert "KeyError: 'the reply source broke'" in err

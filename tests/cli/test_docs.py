"""`docs`: lists the documents that ship in the package and prints one; an unknown name is a usage error naming the real ones."""

from __future__ import annotations

import pytest
from cliutil import ROOT

from writer_stream_testkit.cli import docs_directory, main


def test_docs_lists_the_documents(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["docs"]) == 0
    out = capsys.readouterr().out
    for name in ("cassettes", "scripts", "deviations", "ARCHITECTURE"):
        assert f"writer-stream-testkit docs {name}" in out
    assert out.splitlines()[1] == "  writer-stream-testkit docs README", (
        "the README first: where a user starts"
    )


@pytest.mark.parametrize("name", ["README", "readme", "README.md"])
def test_docs_prints_the_readme(capsys: pytest.CaptureFixture[str], name: str) -> None:
    assert main(["docs", name]) == 0
    assert capsys.readouterr().out == (ROOT / "README.md").read_text(encoding="utf-8")


def test_docs_prints_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["docs", "cassettes"]) == 0
    assert capsys.readouterr().out == (docs_directory() / "cassettes.md").read_text(encoding="utf-8")


def test_an_unknown_document_is_a_usage_error_listing_the_real_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["docs", "nope"])
    assert exited.value.code == 2
    assert "There is no document called 'nope'; choose one of" in capsys.readouterr().err

"""What a user installing the wheel gets: the license text, the documents, and links that resolve."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import writer_stream_testkit
from writer_stream_testkit.cli import docs_directory

ROOT = Path(__file__).resolve().parent.parent


def test_every_pointer_to_a_document_names_one_that_ships() -> None:
    """Messages and files a user sees point at `writer-stream-testkit docs NAME`, and NAME exists."""
    shipped = {p.stem for p in docs_directory().glob("*.md")} | {"README"}
    package = Path(writer_stream_testkit.__file__).parent
    named = set()
    for path in package.rglob("*.py"):
        named |= set(re.findall(r"writer-stream-testkit docs ([A-Za-z_]+)", path.read_text(encoding="utf-8")))
    assert named, "nothing points at the shipped documents"
    assert named <= shipped


def test_the_version_has_one_source() -> None:
    assert 'dynamic = ["version"]' in (ROOT / "pyproject.toml").read_text()
    assert re.fullmatch(r"\d+\.\d+\.\d+", writer_stream_testkit.__version__)


@pytest.mark.timeout(240)
def test_the_wheel_carries_the_license_and_the_documents(tmp_path: Path) -> None:
    # The build backend pyproject.toml names, through its PEP 517 hook, as pip calls it (the
    # test environment installs it, so no isolated build environment is made for each run).
    built = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, hatchling.build as backend; backend.build_wheel(sys.argv[1])",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=200,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("writer_stream_testkit-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        license_name = next(n for n in names if n.endswith("/licenses/LICENSE"))
        assert "Apache License" in archive.read(license_name).decode()
        assert "writer_stream_testkit/docs/cassettes.md" in names
        assert "writer_stream_testkit/docs/README.md" in names
        metadata = archive.read(next(n for n in names if n.endswith("/METADATA"))).decode()
        archive.extractall(tmp_path / "site")
    assert "License-Expression: Apache-2.0" in metadata
    # from the unpacked wheel, far from any checkout, `docs` finds the copies inside the package
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    shown = subprocess.run(
        [sys.executable, "-m", "writer_stream_testkit.cli", "docs", "cassettes"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == (ROOT / "docs" / "cassettes.md").read_text(encoding="utf-8")
    readme = subprocess.run(
        [sys.executable, "-m", "writer_stream_testkit.cli", "docs", "README"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert readme.returncode == 0, readme.stderr
    assert readme.stdout == (ROOT / "README.md").read_text(encoding="utf-8")

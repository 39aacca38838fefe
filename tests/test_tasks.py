"""``tasks.py bench`` runs every benchmark, then fails if any of them missed a target."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_tasks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tasks_under_test", ROOT / "tasks.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def fake_benchmarks(root: Path, codes: dict[str, int]) -> None:
    (root / "benchmarks").mkdir()
    for name, code in codes.items():
        (root / "benchmarks" / name).write_text(
            f"import sys\nprint('{name} ran')\nsys.exit({code})\n", encoding="utf-8"
        )


@pytest.mark.timeout(60)
def test_bench_runs_every_benchmark_and_exits_1_when_one_missed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    tasks = load_tasks()
    fake_benchmarks(tmp_path, {"bench_a.py": 0, "bench_b.py": 1, "bench_c.py": 0, "helper.py": 1})
    monkeypatch.setattr(tasks, "ROOT", tmp_path)
    monkeypatch.setattr(tasks, "PY", Path(sys.executable))
    monkeypatch.setattr(tasks, "ensure_venv", lambda: None)
    with pytest.raises(SystemExit) as exited:
        tasks.bench()
    assert exited.value.code == 1
    out = capfd.readouterr().out
    assert [line for line in out.splitlines() if line.endswith(" ran")] == [
        "bench_a.py ran",
        "bench_b.py ran",
        "bench_c.py ran",
    ]
    assert "bench_b.py                   FAILED (exit 1)" in out
    assert "FAILED: 1 of 3 benchmarks missed a target: bench_b.py." in out


@pytest.mark.timeout(60)
def test_bench_passes_when_every_benchmark_met_its_targets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    tasks = load_tasks()
    fake_benchmarks(tmp_path, {"bench_a.py": 0, "bench_b.py": 0})
    monkeypatch.setattr(tasks, "ROOT", tmp_path)
    monkeypatch.setattr(tasks, "PY", Path(sys.executable))
    monkeypatch.setattr(tasks, "ensure_venv", lambda: None)
    tasks.bench()
    assert "OK: all 2 benchmarks met their targets." in capfd.readouterr().out


def test_the_2x_run_names_folders_only() -> None:
    """A new SDK-facing test joins the 2.x run by living in one of its folders, never by a line in a list."""
    tasks = load_tasks()
    files = [path for path in tasks.SDK2_TESTS if not (ROOT / path).is_dir()]
    assert files == [], (
        f"SDK2_TESTS in tasks.py names {files}, which are not folders; move the tests that must run on "
        "writer-sdk 2.x into tests/sdk (or another folder in the list) and name the folder."
    )

#!/usr/bin/env python3
"""Project tasks that need nothing but Python: ``python3 tasks.py demo``, ``test`` and ``bench``.

Two virtual environments, each created on first use and reinstalled only when
``pyproject.toml`` or its requirements file under ``.ci/`` changes, so a fresh
clone needs no other set-up step:

* ``.venv`` (``.ci/sdk3.txt``): the kit, its test tools and writer-sdk 3.x. Lint,
  ``mypy`` and the whole suite run here.
* ``.venv-sdk2`` (``.ci/sdk2.txt``): writer-sdk 2.x with the two integrations that pin
  it (``langchain-writer``, ``strands-agents``). The fidelity and fault suites and
  ``tests/integrations`` run here, alongside lint and ``mypy``, so the second SDK
  major costs little wall time.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent
CI = ROOT / ".ci"

# What runs against writer-sdk 2.x, by folder: the suites that compare the kit with the SDK
# (tests/sdk), the client that mirrors it (tests/client) and the integrations that pin 2.x.
# Everything else does not depend on the SDK's major version.
SDK2_TESTS = (
    # Folders only: a test that must also hold writer-sdk 2.x to its word lives in one of these.
    "tests/sdk",
    "tests/client",
    "tests/integrations",
)


@dataclass(frozen=True)
class Env:
    """A virtual environment installed from one requirements file."""

    path: Path
    requirements: Path
    includes: tuple[Path, ...] = ()
    """Requirements files that ``requirements`` reads with ``-r``: a change to them reinstalls too."""

    @property
    def python(self) -> Path:
        return (
            self.path
            / ("Scripts" if os.name == "nt" else "bin")
            / ("python.exe" if os.name == "nt" else "python")
        )

    def ensure(self) -> None:
        """Create the environment and install its requirements, once per version of them."""
        digest = hashlib.sha256()
        for source in (ROOT / "pyproject.toml", self.requirements, *self.includes):
            digest.update(source.read_bytes())
        wanted = digest.hexdigest()
        stamp = self.path / ".installed"
        if not self.python.exists():
            print(f"Creating {self.path} ...", flush=True)
            venv.EnvBuilder(with_pip=True).create(self.path)
        if not stamp.exists() or stamp.read_text() != wanted:
            _run(
                self.python,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
                self.requirements,
            )
            stamp.write_text(wanted)


MAIN = Env(ROOT / ".venv", CI / "sdk3.txt")
SDK2 = Env(ROOT / ".venv-sdk2", CI / "sdk2.txt")
MUTATE = Env(ROOT / ".venv-mutate", CI / "mutate.txt", (CI / "sdk3.txt",))
PY = MAIN.python


def _run(*cmd: str | os.PathLike[str]) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], cwd=ROOT, check=True)


PYCACHE = ROOT / ".cache" / "pycache"


def keep_bytecode() -> None:
    """Let the test run's Python processes reuse compiled bytecode, kept under ``.cache/``.

    With ``PYTHONDONTWRITEBYTECODE`` set (some CI images and shells set it), every process
    the run starts (two xdist workers, the 2.x run, each pytester subprocess) recompiled
    the test files, their assertion rewrites and every library it imports from source:
    about a fifth of the suite's CPU time. ``PYTHONPYCACHEPREFIX`` keeps the ``.pyc`` files
    out of the source tree, as the variable's users want.
    """
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ.setdefault("PYTHONPYCACHEPREFIX", str(PYCACHE))


CHROMIUM = Path("/usr/bin/chromium")


def ensure_browser() -> str | None:
    """Debian's Chromium for the HTML report's browser test; why there is none, or ``None``.

    Installed with apt-get only when it is missing and we are root; this never fails the
    run: with no browser, the test skips and says the reason returned here.
    """
    if CHROMIUM.exists():
        return None
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "tasks.py installs it only when it runs as root"
    if shutil.which("apt-get") is None:
        return "there is no apt-get here to install it with"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
            print("+", " ".join(cmd), flush=True)
            subprocess.run(cmd, check=True, env=env, timeout=900, stdout=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"apt-get could not install chromium ({exc})"
    return None if CHROMIUM.exists() else f"apt-get installed chromium, but not at {CHROMIUM}"


def ensure_venv() -> None:
    MAIN.ensure()


def demo() -> None:
    ensure_venv()
    _run(PY, "-m", "writer_stream_testkit.demo")


def test() -> None:
    """Lint, type-check and test on writer-sdk 3.x, and the SDK-facing suites on 2.x alongside."""
    started = time.monotonic()
    keep_bytecode()
    MAIN.ensure()
    SDK2.ensure()
    # The HTML report's browser test must run where a browser could be installed, and skip
    # saying why where it could not.
    no_browser = ensure_browser()
    if no_browser is None:
        os.environ["WRITER_TESTKIT_REQUIRE_BROWSER"] = "1"
    else:
        os.environ["WRITER_TESTKIT_NO_BROWSER"] = no_browser
    sdk2_cmd = [
        str(SDK2.python),
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:xdist",
        "-p",
        "no:cacheprovider",
        *SDK2_TESTS,
    ]
    # The integrations must run here, never be skipped for a missing package.
    env = {**os.environ, "WRITER_TESTKIT_REQUIRE_INTEGRATIONS": "1"}
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as log:
        print("+ (in the background)", " ".join(sdk2_cmd), flush=True)
        sdk2 = subprocess.Popen(sdk2_cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        failed: subprocess.CalledProcessError | None = None
        try:
            _run(PY, "-m", "ruff", "check", ".")
            _run(PY, "-m", "ruff", "format", "--check", ".")
            _run(PY, "-m", "mypy")
            # One worker more than there are cores: about a quarter of the suite's time is spent
            # waiting (retry back-offs, read timeouts, stalls, subprocesses, a browser), and the
            # third worker runs while another waits. Measured on 2 cores, warm: 2 workers 99-106 s,
            # 3 workers 88-89 s, 4 workers 99 s (each worker also collects the suite).
            workers = os.environ.get("WRITER_TESTKIT_WORKERS", str(min(os.cpu_count() or 1, 8) + 1))
            _run(
                PY, "-m", "pytest", "-n", workers, "--dist", "loadgroup", "-q", "--ignore=tests/integrations"
            )
        except subprocess.CalledProcessError as exc:
            failed = exc
        finally:
            code = sdk2.wait()
            log.seek(0)
            print(f"\n--- writer-sdk 2.x ({SDK2.path.name}): {' '.join(sdk2_cmd[1:])}", flush=True)
            print(log.read().rstrip(), flush=True)
    print(f"\n{'FAILED' if failed or code else 'OK'} in {time.monotonic() - started:.0f} s", flush=True)
    if failed is not None:
        raise failed
    if code:
        raise subprocess.CalledProcessError(code, sdk2_cmd)


# The tests that exercise each module, for `tasks.py mutate MODULE` (for any other module, name
# the test files after it). The differential tests count: they are how the helpers are checked.
MUTATION_TESTS: dict[str, tuple[str, ...]] = {
    "wire/sse.py": ("tests/wire/test_sse.py", "tests/wire/test_sse_mutants.py"),
    "cassettes/redact.py": ("tests/cassettes/test_redact.py", "tests/cassettes/test_redact_mutants.py"),
    "scripts/render.py": (
        "tests/scripts/test_faults.py",
        "tests/sdk/test_split_streams.py",
        "tests/scripts/test_render.py",
        "tests/scripts/test_render_mutants.py",
    ),
    "helpers/accumulate.py": (
        "tests/helpers/test_accumulate.py",
        "tests/helpers/test_events.py",
        "tests/sdk/test_differential.py",
        "tests/helpers/test_accumulate_mutants.py",
    ),
}
MUTANTS = ROOT / ".mutants"
PACKAGE = "writer_stream_testkit"


def mutate(module: str, *tests: str) -> None:
    """Mutation-test one module of the package with the tests that cover it (mutmut, in .venv-mutate).

    mutmut works in a scratch copy under ``.mutants/`` (the work tree is never touched);
    the run prints killed and survived counts, then each surviving mutant's diff: a
    behaviour no test pins down. ``WRITER_TESTKIT_MUTATE_CHILDREN`` sets how many mutants
    run at once (default 1: the machine is shared); ``WRITER_TESTKIT_MUTANTS`` (a mutmut name
    pattern, e.g. ``*accumulate_delta*``) runs only a sample, scored on the mutants it checked.
    """
    relative = module.replace("\\", "/").removeprefix(f"{PACKAGE}/")
    if not relative.endswith(".py"):
        relative = relative.replace(".", "/") + ".py"
    if not (ROOT / PACKAGE / relative).is_file():
        sys.exit(f"There is no module {PACKAGE}/{relative}; name one like wire/sse.py or wire.sse.")
    selected = tests or MUTATION_TESTS.get(relative, ())
    if not selected:
        sys.exit(
            f"No tests are listed for {relative} in MUTATION_TESTS; name the test files that cover it: "
            f"python3 tasks.py mutate {relative} tests/test_x.py ..."
        )
    missing = [t for t in selected if not (ROOT / t).exists()]
    if missing:
        sys.exit(f"These test files do not exist: {', '.join(missing)}.")
    MUTATE.ensure()
    scratch = MUTANTS / relative.removesuffix(".py").replace("/", ".")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    for name in (PACKAGE, "tests", "docs"):
        shutil.copytree(ROOT / name, scratch / name, ignore=skip)
    settings = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    if "\n[tool.mutmut]\n" not in settings:
        sys.exit("pyproject.toml has no [tool.mutmut] table; mutate reads its settings from there.")
    chosen = (
        f'only_mutate = ["{PACKAGE}/{relative}"]\n'
        f"pytest_add_cli_args_test_selection = [{', '.join(repr(t) for t in selected)}]\n"
    )
    (scratch / "pyproject.toml").write_text(
        settings.replace("\n[tool.mutmut]\n", f"\n[tool.mutmut]\n{chosen}")
    )
    mutmut = MUTATE.python.parent / "mutmut"
    children = os.environ.get("WRITER_TESTKIT_MUTATE_CHILDREN", "1")
    started = time.monotonic()
    sample = [f"{PACKAGE}.{relative.removesuffix('.py').replace('/', '.')}.{p}" for p in _sample()]
    print(f"+ (in {scratch}) mutmut run --max-children {children} {' '.join(sample)}", flush=True)
    # Hypothesis's "mutate" profile (tests/conftest.py): fewer examples, derandomized, no database.
    hypothesis = {**os.environ, "WRITER_TESTKIT_HYPOTHESIS": "mutate"}
    subprocess.run(
        [str(mutmut), "run", "--max-children", children, *sample], cwd=scratch, check=True, env=hypothesis
    )
    listed = subprocess.run(
        [str(mutmut), "results", "--all", "true"], cwd=scratch, check=True, capture_output=True, text=True
    ).stdout
    by_status: dict[str, list[str]] = {}
    for line in listed.splitlines():
        name, colon, status = line.strip().rpartition(": ")
        if colon and name:
            by_status.setdefault(status, []).append(name)
    by_status.pop("not checked", None)  # outside the sample
    total = sum(len(names) for names in by_status.values())
    killed = len(by_status.get("killed", ()))
    survivors = by_status.get("survived", [])
    counts = ", ".join(f"{len(names)} {status}" for status, names in sorted(by_status.items()))
    score = f"{100 * killed / total:.1f}%" if total else "n/a"
    summary = f"{PACKAGE}/{relative}: {total} mutants: {counts}; killed {killed}/{total} = {score}"
    print(f"\n{summary}\n(tests: {' '.join(selected)}; {time.monotonic() - started:.0f} s)", flush=True)
    for name in survivors:  # what no test pins down; some may be equivalent (no behaviour changes)
        print(subprocess.run([str(mutmut), "show", name], cwd=scratch, capture_output=True, text=True).stdout)
    if survivors:
        print(f"{summary}\n(each surviving mutant above: mutmut show NAME, run in {scratch})", flush=True)
        print("The mutants known to be equivalent (no behaviour changes) are listed in docs/mutation.md.")


def _sample() -> list[str]:
    pattern = os.environ.get("WRITER_TESTKIT_MUTANTS", "").strip()
    return [pattern] if pattern else []


AIMOCK = ROOT / "benchmarks" / "node_modules" / "@copilotkit" / "aimock"


def ensure_node_peers() -> None:
    """The Node peers the server bench compares with (``benchmarks/package.json``), where npm is.

    Installed once into ``benchmarks/node_modules`` (git ignores it); without Node or npm, or
    offline, the bench says which comparison it skipped and why.
    """
    npm = shutil.which("npm")
    if AIMOCK.is_dir() or npm is None or shutil.which("node") is None:
        return
    print(f"Installing the Node peers of the server bench into {AIMOCK.parents[1]} ...", flush=True)
    done = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--no-package-lock"],
        cwd=ROOT / "benchmarks",
        check=False,
        timeout=600,
    )
    if done.returncode:
        print(f"npm install exited {done.returncode}; the server bench will skip aimock.", flush=True)


def bench() -> None:
    """Run every ``benchmarks/bench_*.py``; exit 1 at the end if any of them missed a target.

    Each script prints its targets beside their references, measured in the same run,
    and exits 1 on a miss; all of them run whatever the others said, then a summary.
    """
    ensure_venv()
    ensure_node_peers()
    results: list[tuple[str, int]] = []
    started = time.monotonic()
    for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        print(f"\n+ {PY} {script.relative_to(ROOT)}", flush=True)
        results.append((script.name, subprocess.run([str(PY), str(script)], cwd=ROOT).returncode))
    print(f"\n--- benchmarks ({time.monotonic() - started:.0f} s)")
    for name, code in results:
        print(f"{name:<28} {'OK' if code == 0 else f'FAILED (exit {code})'}")
    failed = [name for name, code in results if code]
    if failed:
        print(f"FAILED: {len(failed)} of {len(results)} benchmarks missed a target: {', '.join(failed)}.")
        raise SystemExit(1)
    print(f"OK: all {len(results)} benchmarks met their targets.")


TASKS = {"demo": demo, "test": test, "bench": bench}

if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "mutate":
        run = functools.partial(mutate, *sys.argv[2:])
    elif len(sys.argv) == 2 and sys.argv[1] in TASKS:
        run = TASKS[sys.argv[1]]
    else:
        sys.exit(
            f"usage: python3 tasks.py {{{'|'.join(TASKS)}}}, or python3 tasks.py mutate MODULE [TEST_FILE ...]"
        )
    try:
        run()
    except subprocess.CalledProcessError as exc:
        sys.exit(exc.returncode)

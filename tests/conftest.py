"""Suite-wide settings and the fixtures shared by several wings.

Hypothesis runs with no per-example deadline and without the too-slow health
check: CI machines here have two noisy cores, and speed is measured by the
benchmarks, never by timing a test. The number of examples is unchanged.

``tasks.py mutate`` sets ``WRITER_TESTKIT_HYPOTHESIS=mutate``: each surviving mutant
runs every test that reaches it, so that profile takes fewer examples, derandomized
(a mutant is killed or not, the same on every run), with no example database (one
mutant's failing example must not decide the next one's fate) and no shrinking (a
killed mutant needs a failure, not the smallest one). mutmut forks each mutant from a
process that already ran the tests, so the package's caches are emptied at the start of
each run: a result cached from the original code must not answer for a mutant.
"""

import gc
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings

from writer_stream_testkit.doubles.server import FakeWriterServer

# Every server this suite talks to is a loopback one over plain HTTP, so no test needs the
# CA bundle that httpx loads for each client it makes (certifi's, about 25 ms of CPU per
# `writerai.Writer()` or `httpx.Client()`: the SDK, server and client tests took twice the CPU). This file holds one
# self-signed certificate, trusted by nothing: a TLS connection attempted by mistake fails to
# verify instead of reaching a real host. Set here, it reaches pytester and CLI subprocesses too.
os.environ["SSL_CERT_FILE"] = str(Path(__file__).parent / "data" / "loopback-only-ca.pem")
os.environ.pop("SSL_CERT_DIR", None)

settings.register_profile(
    "writer-stream-testkit",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "mutate",
    parent=settings.get_profile("writer-stream-testkit"),
    max_examples=20,
    derandomize=True,
    database=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
)
settings.load_profile(os.environ.get("WRITER_TESTKIT_HYPOTHESIS", "writer-stream-testkit"))


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under ``tasks.py mutate``, empty every ``functools`` cache of the package (see the module docstring)."""
    if os.environ.get("WRITER_TESTKIT_HYPOTHESIS") != "mutate":
        return
    for name, module in list(sys.modules.items()):
        if name.startswith("writer_stream_testkit"):
            for value in list(vars(module).values()):
                clear = getattr(value, "cache_clear", None)
                if callable(clear):
                    clear()


def pytest_configure(config: pytest.Config) -> None:
    # pytest-xdist registers it too; this keeps --strict-markers happy under -p no:xdist.
    config.addinivalue_line("markers", "xdist_group(name): run these tests on one xdist worker")


@pytest.fixture
def server() -> Iterator[FakeWriterServer]:
    """A fake Writer API on a loopback port, for the test to queue replies on and send requests to."""
    with FakeWriterServer() as fake:
        yield fake


@pytest.fixture
def each(monkeypatch: pytest.MonkeyPatch) -> Callable[..., dict[str, Any]]:
    """Run the same replies through four clients, the kit's and writerai's, sync and async (tests/support/fourclients.py)."""
    from fourclients import each_client  # imports writerai: only the tests that ask for it pay for that

    return each_client(monkeypatch)


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester project as a user's: no Writer key or base URL, no xdist worker, warnings as errors."""
    monkeypatch.delenv("WRITER_API_KEY", raising=False)
    monkeypatch.delenv("WRITER_BASE_URL", raising=False)
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT"):
        monkeypatch.delenv(name, raising=False)
    pytester.makeini("[pytest]\nfilterwarnings = error\naddopts = -p no:cacheprovider\n")
    return pytester


@pytest.fixture
def upstream() -> Iterator[FakeWriterServer]:
    """A stand-in for the real API that recording runs send requests to (``--writer-upstream``)."""
    with FakeWriterServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _collect_what_an_inner_run_left(request: pytest.FixtureRequest) -> Iterator[None]:
    """After an in-process ``pytester`` run, collect the clients its simulated app left open.

    The inner test files are a user's code: a ``writerai.Writer`` they build against
    ``writer_server`` and never close keeps a pooled socket. Collected later, inside some
    unrelated test of this suite, its ``ResourceWarning`` became that test's failure under
    ``filterwarnings = error``. The kit's own code is not exempt anywhere else. A full
    collection costs tens of milliseconds, so only tests that ran pytest in this process
    (``inline_run``, under every in-process ``runpytest``) pay it.
    """
    if "pytester" not in request.fixturenames:
        yield
        return
    pytester: pytest.Pytester = request.getfixturevalue("pytester")
    inline_run = pytester.inline_run
    ran: list[bool] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        ran.append(True)
        return inline_run(*args, **kwargs)

    pytester.inline_run = counted  # type: ignore[method-assign]
    yield
    if ran:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()

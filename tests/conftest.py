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
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, Phase, settings

from writer_stream_testkit.doubles.server import FakeWriterServer

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
    ``filterwarnings = error``. The kit's own code is not exempt anywhere else.
    """
    yield
    if "pytester" in request.fixturenames:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()

"""Suite-wide settings and the fixtures shared by several wings.

Hypothesis runs with no per-example deadline and without the too-slow health
check: CI machines here have two noisy cores, and speed is measured by the
benchmarks, never by timing a test. The number of examples is unchanged.
"""

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from writer_stream_testkit.doubles.server import FakeWriterServer

settings.register_profile(
    "writer-stream-testkit",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("writer-stream-testkit")


@pytest.fixture
def upstream() -> Iterator[FakeWriterServer]:
    """A stand-in for the real API that recording runs send requests to (``--writer-upstream``)."""
    with FakeWriterServer() as server:
        yield server

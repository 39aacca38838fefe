"""Writer's own integrations, run unchanged against the kit's doubles.

``langchain-writer`` pins writer-sdk<3, so these tests live in their own environment:
``.venv-sdk2``, which ``python3 tasks.py test`` builds from ``.ci/sdk2.txt`` and runs them
in. Anywhere else the modules skip, saying why; with ``WRITER_TESTKIT_REQUIRE_INTEGRATIONS=1``
(which ``tasks.py`` sets) a missing package is an error instead, so CI never skips them.
"""

from __future__ import annotations

import importlib.util
import os

import pytest

from writer_stream_testkit import FakeWriterServer, WriterMock

PACKAGES = {"langchain_writer": "langchain-writer", "strands": "strands-agents[writer]"}
MISSING = [dist for module, dist in PACKAGES.items() if importlib.util.find_spec(module) is None]
if MISSING and os.environ.get("WRITER_TESTKIT_REQUIRE_INTEGRATIONS"):
    raise RuntimeError(
        f"WRITER_TESTKIT_REQUIRE_INTEGRATIONS is set but {', '.join(MISSING)} cannot be imported, so the "
        "integration tests would be skipped; install .ci/sdk2.txt into this environment (python3 tasks.py "
        "test does) or unset the variable."
    )


@pytest.fixture(params=["writer_mock", "writer_server"])
def double(request: pytest.FixtureRequest) -> WriterMock | FakeWriterServer:
    """Each test runs against the in-process mock and the loopback server alike."""
    value: WriterMock | FakeWriterServer = request.getfixturevalue(request.param)
    return value

"""The resilience run on a LangChain app (writer-sdk 2.x): langchain-writer's quiet truncation, judged.

``ChatWriter.stream`` returns the pieces of a stream cut before its finish chunk with no
error, so an app that joins them shows half an answer: ``truncated-accepted``. An app that
checks the finish reason itself gets ``ok``.
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip(
    "langchain_writer",
    reason="langchain-writer is not installed here: it pins writer-sdk 2.x and runs in .venv-sdk2, "
    "which `python3 tasks.py test` builds from .ci/sdk2.txt",
)

APP = """
from langchain_writer import ChatWriter


class Incomplete(Exception):
    pass


def llm(base_url):
    return ChatWriter(model="palmyra-x5", api_key="test", base_url=base_url, timeout=5)


def naive(base_url):
    return "".join(chunk.content for chunk in llm(base_url).stream("weather?"))


def careful(base_url):
    chunks = list(llm(base_url).stream("weather?"))
    full = chunks[0]
    for chunk in chunks[1:]:
        full = full + chunk
    if full.response_metadata.get("finish_reason") is None:
        raise Incomplete("the answer was cut before its finish chunk")
    return full.content
"""

TESTS = """
import pytest
import app
from writer_stream_testkit import StreamScript

SCRIPT = StreamScript().content("Sunny", " and", " warm").finish("stop")
pytestmark = pytest.mark.writer_resilience(faults=["truncate", "disconnect", "rate-limit"])


@pytest.mark.parametrize("fn", ["naive", "careful"])
def test_mock(writer_mock, fn):
    writer_mock.reply(SCRIPT)
    assert getattr(app, fn)(writer_mock.base_url) == "Sunny and warm"


@pytest.mark.parametrize("fn", ["naive", "careful"])
def test_server(writer_server, fn):
    writer_server.reply(SCRIPT)
    assert getattr(app, fn)(writer_server.base_url) == "Sunny and warm"
"""


@pytest.mark.timeout(240)
def test_a_langchain_app_gets_its_verdicts(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(app=APP, test_lc=TESTS)
    out = pytester.path / "r.json"
    result = pytester.runpytest_subprocess(
        "-p",
        "no:xdist",
        "-p",
        "no:cacheprovider",
        "--writer-resilience",
        f"--writer-resilience-json={out}",
        timeout=200,
    )
    verdicts = {
        (r["test"].split("::")[-1], r["fault"]): r["verdict"] for r in json.loads(out.read_text())["results"]
    }
    expected = {
        (f"{test}[{fn}]", fault): "truncated-accepted" if (fn, fault) == ("naive", "truncate") else "ok"
        for test in ("test_mock", "test_server")
        for fn in ("naive", "careful")
        for fault in ("truncate", "disconnect", "rate-limit")
    }
    assert verdicts == expected
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        ["FAILED test_lc.py::test_mock?naive-fault=truncate? - writer-resilience: trunc*"]
    )

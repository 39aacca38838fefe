"""A downstream project for the resilience run: apps with each bug, one correct app, and their tests.

Shared by the pytester tests of the run (plain, ``-n 2``) and the benchmark.
"""

from __future__ import annotations

APP = r'''
import json

import httpx
import writerai


class IncompleteAnswer(Exception):
    """The app's own way of saying the answer is incomplete."""


MESSAGES = [{"role": "user", "content": "weather?"}]


def client(**options):
    options.setdefault("timeout", httpx.Timeout(5, read=0.5))
    return writerai.Writer(api_key="k", **options)


def _chat(c, messages=MESSAGES):
    stream = c.chat.chat(model="palmyra-x5", messages=messages, stream=True)
    parts, finish = [], None
    for chunk in stream:
        if chunk.choices:
            parts.append(chunk.choices[0].delta.content or "")
            finish = chunk.choices[0].finish_reason or finish
    if finish is None:
        raise IncompleteAnswer("the stream ended before its finish chunk")
    return "".join(parts)


def correct(c):
    return _chat(c)


def naive(c):
    stream = c.chat.chat(model="palmyra-x5", messages=MESSAGES, stream=True)
    return "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)


def retry_loop(c):
    for _ in range(3):
        try:
            return _chat(c)
        except writerai.APIError:
            continue
    raise RuntimeError("gave up after 3 attempts")


def openai_errors(c):
    try:
        return _chat(c)
    except writerai.APIStatusError as error:
        return "error: " + error.body["error"]["message"]


def storm(c):
    messages = list(MESSAGES)
    for attempt in range(20):
        try:
            return _chat(c, messages)
        except (writerai.APIError, httpx.HTTPError, IncompleteAnswer):
            messages = [*messages, {"role": "user", "content": f"try again ({attempt})"}]
    return ""


def gives_up(c):
    try:
        return _chat(c)
    except writerai.APIError:
        return "Sorry, the assistant is unavailable."


def raw_sse(base_url):
    text = ""
    body = {"model": "palmyra-x5", "messages": MESSAGES, "stream": True}
    with httpx.stream("POST", base_url + "/v1/chat", json=body, headers={"authorization": "Bearer k"}) as r:
        for piece in r.iter_raw():
            for line in piece.decode("utf-8", errors="replace").splitlines():
                if line.startswith("data: ") and line[6:] != "[DONE]":
                    text += json.loads(line[6:])["choices"][0]["delta"].get("content") or ""
    return text


def ask_graph(c):
    stream = c.graphs.question(graph_ids=["g1"], question="capital?", stream=True)
    return "".join(chunk.answer for chunk in stream)
'''

TESTS = r"""
import httpx
import pytest

import app
from writer_stream_testkit import QuestionScript, StreamScript

ANSWER = "Sunny and warm \u2600 d\u00e9j\u00e0 vu"
SCRIPT = StreamScript().content("Sunny", " and", " warm \u2600", " d\u00e9j\u00e0 vu").finish("stop")
CUTS = ["disconnect", "truncate", "malformed", "error-event", "stall"]


def test_correct(writer_mock):
    writer_mock.reply(SCRIPT)
    assert app.correct(app.client()) == ANSWER


@pytest.mark.writer_resilience(faults=["truncate", "disconnect", "keep-alive"])
def test_naive(writer_mock):
    writer_mock.reply(SCRIPT)
    assert app.naive(app.client()) == ANSWER


@pytest.mark.writer_resilience(faults=["rate-limit", "bad-request"])
def test_retry_loop(writer_mock):
    writer_mock.reply(SCRIPT)
    assert app.retry_loop(app.client(max_retries=0)) == ANSWER


@pytest.mark.writer_resilience(faults=["bad-request", "server-error"])
def test_openai_errors(writer_mock):
    writer_mock.reply(SCRIPT)
    assert app.openai_errors(app.client()) == ANSWER


@pytest.mark.writer_resilience(faults=["disconnect"])
def test_storm(writer_mock):
    writer_mock.reply(SCRIPT)
    assert app.storm(app.client()) == ANSWER


@pytest.mark.writer_resilience(faults=["stall"])
def test_no_read_timeout(writer_mock):
    writer_mock.reply(SCRIPT)
    assert app.correct(app.client(timeout=None)) == ANSWER


@pytest.mark.writer_resilience(faults=["rate-limit"])
def test_gives_up(writer_mock):
    writer_mock.reply(SCRIPT)
    assert app.gives_up(app.client(max_retries=0)) == ANSWER


@pytest.mark.writer_resilience(faults=["split-utf8", "keep-alive"])
def test_raw_sse(writer_mock):
    writer_mock.reply(SCRIPT)
    assert app.raw_sse("https://api.writer.com") == ANSWER


def test_graph_question(writer_server):
    writer_server.reply(QuestionScript().answer("Paris", " is", " the", " capital"))
    assert app.ask_graph(app.client(base_url=writer_server.base_url)) == "Paris is the capital"


@pytest.mark.writer_resilience(faults=CUTS + ["bad-request", "rate-limit"])
@pytest.mark.writer_cassette("chat.yaml")
def test_replayed(writer_cassette):
    assert app.correct(app.client()) == ANSWER


@pytest.mark.writer_resilience(faults=["truncate", "bad-request"])
@pytest.mark.writer_cassette("chat.yaml")
def test_replayed_naive(writer_cassette):
    assert app.naive(app.client()) == ANSWER


def test_no_stream(writer_mock):
    writer_mock.reply({"id": "g1", "name": "docs"}, path="/v1/graphs/g1", method="GET")
    assert httpx.get("https://api.writer.com/v1/graphs/g1").json()["name"] == "docs"


def test_plain_code():
    assert 1 + 1 == 2
"""

EXPECTED = {
    ("test_naive", "truncate"): "truncated-accepted",
    ("test_naive", "disconnect"): "ok",
    ("test_naive", "keep-alive"): "ok",
    ("test_retry_loop", "rate-limit"): "ignored-retry-after",
    ("test_retry_loop", "bad-request"): "retried-non-retryable",
    ("test_openai_errors", "bad-request"): "crashed",
    ("test_openai_errors", "server-error"): "ok",
    ("test_storm", "disconnect"): "retry-storm",
    ("test_no_read_timeout", "stall"): "hung",
    ("test_gives_up", "rate-limit"): "gave-up",
    ("test_raw_sse", "split-utf8"): "corrupted",
    ("test_raw_sse", "keep-alive"): "ok",
    ("test_graph_question", "truncate"): "not-applicable",
    ("test_replayed_naive", "truncate"): "truncated-accepted",
    ("test_replayed_naive", "bad-request"): "ok",
}
"""Every verdict that is not ``ok`` for the correct apps (test_correct, test_graph_question, test_replayed)."""

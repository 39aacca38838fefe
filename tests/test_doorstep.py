"""What a new user meets first when a test goes wrong: the kit's own words, readable, and the right fix."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
import writerai

from writer_stream_testkit import FakeWriterServer, StreamScript, UnexpectedRequestError, WriterMock
from writer_stream_testkit.doubles.replies import one_paragraph

ADVICE = (
    "The path /v1/v1/chat repeats /v1: the client's base_url ends in /v1, and the Writer SDK adds /v1 itself."
)


def _mock() -> tuple[AbstractContextManager[Any], Callable[[Any], str]]:
    return WriterMock(), lambda double: "https://api.writer.com"


def _server() -> tuple[AbstractContextManager[Any], Callable[[Any], str]]:
    return FakeWriterServer(), lambda double: double.base_url


@pytest.mark.parametrize("make", [_mock, _server], ids=["mock", "server"])
def test_a_base_url_ending_in_v1_gets_the_advice_to_drop_it(make: Callable[[], Any]) -> None:
    double, base = make()
    with double as d:
        client = writerai.Writer(api_key="test-key", base_url=base(d) + "/v1", max_retries=0)
        with pytest.raises(writerai.InternalServerError) as failed:
            list(client.chat.chat(model="palmyra-x5", messages=[], stream=True))
        with pytest.raises(UnexpectedRequestError) as verdict:
            d.verify()
        d.reset()
    assert ADVICE in str(verdict.value)
    assert "Queue a reply" not in str(verdict.value), "no reply can fix a doubled /v1"
    # the client's own message carries the same advice, on one line
    assert ADVICE in failed.value.message
    assert "\\n" not in failed.value.message


def test_the_async_client_gets_the_same_advice() -> None:
    async def main() -> str:
        async with WriterMock() as mock:
            client = writerai.AsyncWriter(
                api_key="test-key", base_url="https://api.writer.com/v1", max_retries=0
            )
            with pytest.raises(writerai.InternalServerError) as failed:
                await client.chat.chat(model="palmyra-x5", messages=[], stream=True)
            mock.reset()
        return failed.value.message

    assert ADVICE in asyncio.run(main())


def test_the_strict_answer_reads_as_one_paragraph_in_the_clients_message() -> None:
    with WriterMock() as mock:
        mock.reply(StreamScript().content("hi"), model="palmyra-x4")
        client = writerai.Writer(api_key="test-key", max_retries=0)
        with pytest.raises(writerai.InternalServerError) as failed:
            list(client.chat.chat(model="palmyra-x5", messages=[], stream=True))
        mock.reset()
    message = failed.value.message
    assert (
        "writer-stream-testkit: 1 request had no matching reply: POST /v1/chat (model='palmyra-x5'" in message
    )
    assert "Queued replies: StreamScript(" in message
    assert "\\n" not in message


def test_one_paragraph_joins_bullets_and_keeps_sentences() -> None:
    text = "2 requests had no matching reply:\n  - POST /a\n  - GET /b\nNo replies were queued.\nFix it"
    assert one_paragraph(text) == (
        "2 requests had no matching reply: POST /a; GET /b. No replies were queued. Fix it."
    )


@pytest.mark.parametrize("status", [204, 304])
def test_an_empty_204_or_304_is_framed_alike_by_both_doubles(status: int) -> None:
    import httpx

    from writer_stream_testkit.scripts.plan import ResponsePlan

    plan = ResponsePlan(status=status, headers=(), steps=())
    seen = []
    with WriterMock() as mock:
        mock.reply(plan, path="/v1/files/x", method="DELETE")
        seen.append(httpx.delete("https://api.writer.com/v1/files/x"))
    with FakeWriterServer() as server:
        server.reply(plan, path="/v1/files/x", method="DELETE")
        seen.append(httpx.delete(server.base_url + "/v1/files/x", timeout=5.0))
    for response in seen:
        assert response.status_code == status
        assert "transfer-encoding" not in response.headers
        assert response.content == b""


def test_serve_script_hands_out_each_endpoints_scripts_in_their_own_turn() -> None:
    import httpx

    from writer_stream_testkit import CompletionScript
    from writer_stream_testkit.cli.serve import Cycle

    scripts = [StreamScript().content("A"), StreamScript().content("B"), CompletionScript().text("C")]
    chat = {"model": "palmyra-x5", "messages": [], "stream": False}
    answers = []
    with FakeWriterServer(source=Cycle(scripts)) as server, httpx.Client(base_url=server.base_url) as client:
        for path in ("/v1/chat", "/v1/completions", "/v1/chat", "/v1/chat"):
            body = chat if path == "/v1/chat" else {"model": "palmyra-x5", "prompt": "p", "stream": False}
            reply = client.post(path, json=body, timeout=5.0).json()
            answers.append(
                reply["choices"][0].get("message", {}).get("content") or reply["choices"][0].get("text")
            )
    assert answers == ["A", "C", "B", "A"]


def test_a_head_request_gets_no_body_from_either_double() -> None:
    import httpx

    seen = []
    with WriterMock() as mock:
        mock.reply({"ok": 1}, path="*")
        seen.append(httpx.head("https://api.writer.com/v1/models"))
    with FakeWriterServer() as server:
        server.reply({"ok": 1}, path="*")
        seen.append(httpx.head(server.base_url + "/v1/models", timeout=5.0))
    assert [(r.status_code, r.content) for r in seen] == [(200, b""), (200, b"")]


def test_a_request_without_a_model_is_described_without_one() -> None:
    from writer_stream_testkit import Call

    question = Call.create(
        method="POST",
        url="https://api.writer.com/v1/graphs/question",
        content=b'{"question": "Why?", "stream": true}',
    )
    assert question.describe() == "POST /v1/graphs/question (stream=True, question: 'Why?')"

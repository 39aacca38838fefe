"""``langchain-writer``'s ``ChatWriter``, unchanged, against the kit's doubles and default scripts.

ChatWriter reads ``finish_reason``, usage and tool-call pieces only from deltas that carry
``role: "assistant"``, so these pass only because scripts put the role on every delta, as
Writer's API does. ChatWriter has no timeout by default (it passes ``timeout=None`` to the
SDK); every client here sets one, so a stalled stream fails the test instead of hanging it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip(
    "langchain_writer",
    reason="langchain-writer is not installed here: it pins writer-sdk 2.x and runs in .venv-sdk2, "
    "which `python3 tasks.py test` builds from .ci/sdk2.txt",
)

import writerai
from langchain_core.messages import AIMessageChunk, BaseMessageChunk
from langchain_writer import ChatWriter
from pydantic import BaseModel
from wireshape import reference_shaped

from writer_stream_testkit import FakeWriterServer, Fault, StreamScript, WriterMock

TIMEOUT = 10.0
HELLO = StreamScript().content("Hel", "lo").usage(prompt_tokens=5, completion_tokens=3)
WEATHER = StreamScript().tool_call("GetWeather", ['{"city": ', '"SF"}'])


class GetWeather(BaseModel):
    """Get the current weather in a city."""

    city: str


@pytest.fixture
def chat(double: WriterMock | FakeWriterServer) -> Iterator[Callable[..., ChatWriter]]:
    """Build ChatWriters on the double; their sync clients are closed at teardown (ChatWriter never
    closes them, and a connection kept alive after a 429 would otherwise leak)."""
    made: list[ChatWriter] = []

    def make(**options: Any) -> ChatWriter:
        llm = ChatWriter(
            model="palmyra-x5", api_key="test", base_url=double.base_url, timeout=TIMEOUT, **options
        )
        made.append(llm)
        return llm

    yield make
    for llm in made:
        llm.client.close()


def merged(chunks: list[BaseMessageChunk]) -> Any:
    assert chunks, "the stream yielded nothing"
    total: Any = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    return total


def assert_hello(chunks: list[BaseMessageChunk]) -> None:
    assert all(isinstance(c, AIMessageChunk) for c in chunks), [type(c).__name__ for c in chunks]
    full = merged(chunks)
    assert full.content == "Hello"
    assert full.response_metadata["finish_reason"] == "stop"
    assert full.response_metadata["model_name"] == "palmyra-x5"
    assert full.usage_metadata == {"input_tokens": 5, "output_tokens": 3, "total_tokens": 8}


def test_stream_gets_text_finish_reason_and_usage(
    double: WriterMock | FakeWriterServer, chat: Callable[..., ChatWriter]
) -> None:
    double.reply(HELLO)
    assert_hello(list(chat().stream("hi")))
    sent = double.calls[-1].json
    assert (sent["model"], sent["stream"], sent["stream_options"]) == (
        "palmyra-x5",
        True,
        {"include_usage": True},
    )


def test_astream_gets_text_finish_reason_and_usage(
    double: WriterMock | FakeWriterServer, chat: Callable[..., ChatWriter]
) -> None:
    double.reply(HELLO)

    async def collect() -> list[BaseMessageChunk]:
        llm = chat()
        try:
            return [chunk async for chunk in llm.astream("hi")]
        finally:
            await llm.async_client.close()  # on the loop that used it

    assert_hello(asyncio.run(collect()))


def test_bound_tool_call_arrives_with_its_arguments_and_finish_reason(
    double: WriterMock | FakeWriterServer, chat: Callable[..., ChatWriter]
) -> None:
    double.reply(WEATHER)
    chunks = list(chat().bind_tools([GetWeather]).stream("What is the weather in SF?"))
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    full = merged(chunks)
    call_id = WEATHER.chunks()[0]["choices"][0]["delta"]["tool_calls"][0]["id"]
    assert full.tool_calls == [
        {"name": "GetWeather", "args": {"city": "SF"}, "id": call_id, "type": "tool_call"}
    ]
    assert full.response_metadata["finish_reason"] == "tool_calls"
    assert [t["function"]["name"] for t in double.calls[-1].json["tools"]] == ["GetWeather"]


@pytest.mark.parametrize("double", ["writer_server"], indirect=True)
def test_the_openai_convention_loses_chatwriters_arguments(
    double: FakeWriterServer, chat: Callable[..., ChatWriter]
) -> None:
    """Why the role is on every delta by default: with it on the first only, ChatWriter drops the rest."""
    double.reply(StreamScript(role_on="first").tool_call("GetWeather", ['{"city": ', '"SF"}']))
    full = merged(list(chat().bind_tools([GetWeather]).stream("weather?")))
    assert full.tool_calls[0]["args"] == {}
    assert "finish_reason" not in full.response_metadata


def test_a_429_is_retried_by_the_sdk_underneath(
    double: WriterMock | FakeWriterServer, chat: Callable[..., ChatWriter]
) -> None:
    double.reply(Fault.http_error(429, retry_after_ms=1))
    double.reply(HELLO)
    assert_hello(list(chat(max_retries=1).stream("hi")))
    assert [c.headers["x-stainless-retry-count"] for c in double.calls] == ["0", "1"]


def test_429s_past_max_retries_raise_the_sdks_rate_limit_error(
    double: WriterMock | FakeWriterServer, chat: Callable[..., ChatWriter]
) -> None:
    double.reply(Fault.http_error(429, retry_after_ms=1), times=2)
    with pytest.raises(writerai.RateLimitError):
        list(chat(max_retries=1).stream("hi"))
    assert len(double.calls) == 2


@pytest.mark.parametrize("script", [HELLO, WEATHER], ids=["text", "tool-call"])
def test_the_reference_examples_delta_shape_reads_as_the_minimal_one(
    double: WriterMock | FakeWriterServer, chat: Callable[..., ChatWriter], script: StreamScript
) -> None:
    """Why the minimal delta can stay the default: ChatWriter reads both shapes alike (docs/scripts.md)."""
    llm = chat().bind_tools([GetWeather])
    double.reply(script)
    minimal = merged(list(llm.stream("hi")))
    double.reply(reference_shaped(script))
    widened = merged(list(llm.stream("hi")))
    assert (widened.content, widened.tool_calls, widened.usage_metadata) == (
        minimal.content,
        minimal.tool_calls,
        minimal.usage_metadata,
    )
    assert widened.response_metadata["finish_reason"] == minimal.response_metadata["finish_reason"]

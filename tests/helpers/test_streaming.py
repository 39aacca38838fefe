"""``client.chat.stream()``'s streams and managers over any chunk stream: the request made only on
enter, events and the final completion from one engine, the response closed on exit, and the async
twin behaving the same."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pydantic
import pytest
import writerai
from chunks import text_chunk

from writer_stream_testkit.errors import LengthFinishReasonError
from writer_stream_testkit.helpers.streaming import (
    AsyncChatCompletionStream,
    AsyncChatCompletionStreamManager,
    ChatCompletionStream,
    ChatCompletionStreamManager,
)

CHUNKS = [text_chunk('{"city": '), text_chunk('"SF"}', "stop")]


class City(pydantic.BaseModel):
    city: str


class Chunks:
    """A chunk stream as the client returns it: a response, the chunks, and close()."""

    def __init__(self, chunks: list[dict[str, Any]]) -> None:
        self.response = httpx.Response(200, headers={"content-type": "text/event-stream"})
        self.chunks = chunks
        self.read = 0
        self.closed = False

    def __iter__(self) -> Iterator[Any]:
        for chunk in self.chunks:
            self.read += 1
            yield chunk

    def close(self) -> None:
        self.closed = True


class AsyncChunks:
    """The async client's chunk stream: the same, iterated and closed with await."""

    def __init__(self, chunks: list[dict[str, Any]]) -> None:
        self.response = httpx.Response(200, headers={"content-type": "text/event-stream"})
        self.chunks = chunks
        self.read = 0
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[Any]:
        for chunk in self.chunks:
            self.read += 1
            yield chunk

    async def close(self) -> None:
        self.closed = True


def test_the_manager_makes_the_request_only_when_entered_and_closes_it_on_exit() -> None:
    made: list[Chunks] = []

    def request() -> Chunks:
        made.append(Chunks(CHUNKS))
        return made[-1]

    ChatCompletionStreamManager(request)  # never entered: no request
    assert made == []
    with ChatCompletionStreamManager[City](request, response_format=City) as stream:
        assert len(made) == 1
        assert stream.response is made[0].response
        types = [event.type for event in stream]
    assert made[0].closed
    assert types == ["chunk", "content.delta", "chunk", "content.delta", "content.done"]
    assert stream.current_completion_snapshot.choices[0].message.content == '{"city": "SF"}'


def test_the_response_is_closed_when_the_body_raises() -> None:
    raw = Chunks(CHUNKS)
    with pytest.raises(RuntimeError, match="app failed"), ChatCompletionStreamManager(lambda: raw):
        raise RuntimeError("app failed")
    assert raw.closed


def test_the_final_completion_reads_the_rest_and_parses_it() -> None:
    raw = Chunks(CHUNKS)
    stream: ChatCompletionStream[City] = ChatCompletionStream(raw_stream=raw, response_format=City)
    first = next(stream)
    assert first.type == "chunk"
    assert raw.read == 1  # lazily, one chunk at a time
    completion = stream.get_final_completion()
    assert raw.read == 2
    assert completion.choices[0].message.parsed == City(city="SF")
    assert list(stream) == []  # nothing left to read
    assert stream.until_done() is stream


def test_writerais_left_out_markers_mean_no_format_and_no_tools() -> None:
    manager = ChatCompletionStreamManager(
        lambda: Chunks(CHUNKS), response_format=writerai.omit, input_tools=writerai.omit
    )
    with manager as stream:
        assert stream.get_final_completion().choices[0].message.parsed is None


def test_a_length_stop_with_a_format_raises_while_streaming() -> None:
    cut = [text_chunk('{"ci'), text_chunk("", "length")]
    raw = Chunks(cut)
    with (
        pytest.raises(LengthFinishReasonError),
        ChatCompletionStreamManager(lambda: raw, response_format=City) as stream,
    ):
        list(stream)
    assert raw.closed


def test_the_async_twin_gives_the_same_events_and_completion() -> None:
    made: list[AsyncChunks] = []

    async def request() -> AsyncChunks:
        made.append(AsyncChunks(CHUNKS))
        return made[-1]

    async def run() -> tuple[list[str], Any]:
        async with AsyncChatCompletionStreamManager[City](request(), response_format=City) as stream:
            assert stream.response is made[0].response
            types = [event.type async for event in stream]
            return types, await stream.get_final_completion()

    types, completion = asyncio.run(run())
    assert made[0].closed
    assert types == ["chunk", "content.delta", "chunk", "content.delta", "content.done"]
    assert completion.choices[0].message.parsed == City(city="SF")


def test_the_async_stream_reads_lazily_and_closes_as_a_context_manager() -> None:
    raw = AsyncChunks(CHUNKS)

    async def run() -> Any:
        async with AsyncChatCompletionStream[City](raw_stream=raw, response_format=City) as stream:
            first = await stream.__anext__()
            assert first.type == "chunk"
            assert raw.read == 1
            assert await stream.until_done() is stream
            return stream.current_completion_snapshot

    snapshot = asyncio.run(run())
    assert raw.closed
    assert snapshot.choices[0].finish_reason == "stop"

"""Stream and AsyncStream: closing early closes the response; the async one is an async iterator and a context manager."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from chunks import text_chunk
from fourclients import DONE, MESSAGES, Body, data

from writer_stream_testkit.client import AsyncStream, AsyncWriter, Stream, Writer


def test_closing_a_stream_early_closes_the_response(monkeypatch: pytest.MonkeyPatch) -> None:
    body = Body([data(text_chunk("a")), data(text_chunk("b")), DONE])
    http = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, stream=body)))
    client = Writer(api_key="k", http_client=http)
    with client.chat.chat(model="m", messages=MESSAGES, stream=True) as stream:
        assert isinstance(stream, Stream)
        assert next(stream).choices[0].delta.content == "a"
    assert stream.response.is_closed
    assert body.closed


def test_async_stream_is_an_async_iterator_and_context_manager() -> None:
    body = Body([data(text_chunk("a")), data(text_chunk("b")), DONE])

    async def main() -> list[str | None]:
        http = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200, stream=body)))
        async with AsyncWriter(api_key="k", http_client=http) as client:
            stream = await client.chat.chat(model="m", messages=MESSAGES, stream=True)
            assert isinstance(stream, AsyncStream)
            async with stream:
                first = await stream.__anext__()
                rest = [c async for c in stream]
            assert stream.response.is_closed
        return [c.choices[0].delta.content for c in [first, *rest]]

    assert asyncio.run(main()) == ["a", "b"]
    assert body.closed

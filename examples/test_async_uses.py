"""Async tests with the kit's fixtures: the README's "Async tests" example, runnable.

The fixtures need nothing special in an ``async def`` test; a plugin that runs coroutines
does that part. anyio's pytest plugin comes with httpx, so it is used here: mark the test
with ``@pytest.mark.anyio`` and choose the asyncio backend (``AsyncWriter`` runs on asyncio).
"""

from __future__ import annotations

import httpx
import pytest
import writerai

from writer_stream_testkit import FakeWriterServer, Fault, StreamScript, WriterMock

MESSAGES: list[writerai.types.chat_chat_params.Message] = [{"role": "user", "content": "hi"}]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_streams_async(writer_mock: WriterMock) -> None:
    writer_mock.reply(StreamScript().content("Hel", "lo").finish())
    client = writerai.AsyncWriter(api_key="test")
    async with client.chat.stream(model="palmyra-x5", messages=MESSAGES) as stream:
        text = "".join([event.delta async for event in stream if event.type == "content.delta"])
    assert text == "Hello"


@pytest.mark.anyio
async def test_a_cut_stream_raises_in_async_code_too(writer_mock: WriterMock) -> None:
    writer_mock.reply(StreamScript().content("a", "b", "c").with_fault(Fault.disconnect(after_chunks=2)))
    client = writerai.AsyncWriter(api_key="test", max_retries=0)
    with pytest.raises(httpx.RemoteProtocolError):
        async for _ in await client.chat.chat(model="palmyra-x5", messages=MESSAGES, stream=True):
            pass


@pytest.mark.anyio
async def test_over_a_socket(writer_server: FakeWriterServer) -> None:
    writer_server.reply(StreamScript().content("Hi").finish())
    client = writerai.AsyncWriter(api_key="test", base_url=writer_server.base_url)
    chunks = [
        chunk async for chunk in await client.chat.chat(model="palmyra-x5", messages=MESSAGES, stream=True)
    ]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hi"

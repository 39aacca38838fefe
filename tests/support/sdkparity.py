"""The kit's client beside writerai's on one action: the requests each sent and what the action returned or raised."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pydantic
import writerai
from chunks import text_chunk

from writer_stream_testkit.client import AsyncWriter, Writer

SDK_MAJOR = int(writerai.__version__.split(".")[0])

CLIENTS: dict[str, Any] = {
    "ours": Writer,
    "ours-async": AsyncWriter,
    "sdk": writerai.Writer,
    "sdk-async": writerai.AsyncWriter,
}
MARKERS = ["NOT_GIVEN", "not_given", "omit"]
"""writerai's three ways to say \"leave this field out\", by their names in the writerai module."""
VERSION_HEADERS = {"user-agent", "x-stainless-package-version"}


def completion(content: str) -> dict[str, Any]:
    """A ``stream: false`` answer whose message is ``content``."""
    return {
        "id": "chatcmpl-2",
        "object": "chat.completion",
        "created": 2,
        "model": "palmyra-x5",
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}
        ],
    }


class Body(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body read piece by piece, so a response left unread stays open."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __iter__(self) -> Iterator[bytes]:
        yield self.data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.data


def answer(request: httpx.Request, content: str = '{"city": "Oslo", "degrees": 4}') -> httpx.Response:
    """A stream for ``stream: true``, else one completion; both carry a rate-limit header."""
    headers = {"x-ratelimit-remaining-requests": "41"}
    if json.loads(request.content).get("stream"):
        sse = f"data: {json.dumps(text_chunk(content, 'stop'))}\n\ndata: [DONE]\n\n".encode()
        return httpx.Response(200, headers={**headers, "content-type": "text/event-stream"}, stream=Body(sse))
    return httpx.Response(
        200,
        headers={**headers, "content-type": "application/json"},
        stream=Body(json.dumps(completion(content)).encode()),
    )


@dataclass
class Seen:
    """What one client did: the requests it sent, and what the action returned or raised."""

    requests: list[httpx.Request] = field(default_factory=list)
    result: Any = None
    error: BaseException | None = None

    @property
    def body(self) -> dict[str, Any]:
        return json.loads(self.requests[-1].content)  # type: ignore[no-any-return]

    def headers(self) -> list[tuple[str, str]]:
        return [(k, v) for k, v in self.requests[-1].headers.items() if k not in VERSION_HEADERS]


def through(
    kind: str,
    act: Callable[[Any], Any],
    reply: Callable[[httpx.Request], httpx.Response] = answer,
    **options: Any,
) -> Seen:
    """Run ``act(client)`` on a fresh client of ``kind``; an awaitable result is awaited in the loop."""
    seen = Seen()

    def handler(request: httpx.Request) -> httpx.Response:
        seen.requests.append(request)
        return reply(request)

    transport = httpx.MockTransport(handler)
    options = {"api_key": "key", "max_retries": 0, **options}
    if not kind.endswith("async"):
        with CLIENTS[kind](http_client=httpx.Client(transport=transport), **options) as client:
            try:
                seen.result = act(client)
            except Exception as exc:
                seen.error = exc
        return seen

    async def main() -> None:
        async with CLIENTS[kind](http_client=httpx.AsyncClient(transport=transport), **options) as client:
            try:
                result = act(client)
                seen.result = await result if inspect.isawaitable(result) else result
            except Exception as exc:
                seen.error = exc

    asyncio.run(main())
    return seen


def chat_call(**call: Any) -> Callable[[Any], Any]:
    """``client.chat.chat(**call)``, a stream read to the end: its chunks' contents."""

    def act(client: Any) -> Any:
        result = client.chat.chat(**call)
        if not inspect.isawaitable(result):
            return [c.choices[0].delta.content for c in result] if call.get("stream") is True else result

        async def read() -> Any:
            got = await result
            if call.get("stream") is True:
                return [c.choices[0].delta.content async for c in got]
            return got

        return read()

    return act


def stream_call(**call: Any) -> Callable[[Any], Any]:
    """``client.chat.stream(**call)`` entered and read: the final completion's content and parsed."""

    def act(client: Any) -> Any:
        manager = client.chat.stream(**call)
        if hasattr(manager, "__enter__"):
            with manager as stream:
                final = stream.get_final_completion()
                return final.choices[0].message.content, final.choices[0].message.parsed

        async def read() -> Any:
            async with manager as stream:
                final = await stream.get_final_completion()
                return final.choices[0].message.content, final.choices[0].message.parsed

        return read()

    return act


class Weather(pydantic.BaseModel):
    """The response format the parse tests ask for."""

    city: str
    degrees: int

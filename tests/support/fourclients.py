"""One chat call through four clients over httpx.MockTransport: the kit's and writerai's, each sync and async."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import writerai

from writer_stream_testkit.client import AsyncWriter, Writer

MESSAGES = [{"role": "user", "content": "Hi"}]
URL = "https://api.writer.com/v1/chat"


def data(payload: object) -> bytes:
    """One SSE data event carrying ``payload`` (JSON unless it is already text)."""
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return f"data: {text}\n\n".encode()


DONE = b"data: [DONE]\n\n"

COMPLETION = {
    "id": "chatcmpl-2",
    "object": "chat.completion",
    "created": 2,
    "model": "palmyra-x5",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Hello"}}],
}


class Body(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body delivered in the given reads, optionally failing after the last one."""

    def __init__(self, reads: list[bytes], fail: Exception | None = None) -> None:
        self.reads = reads
        self.fail = fail
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        yield from self.reads
        if self.fail is not None:
            raise self.fail

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.reads:
            yield piece
        if self.fail is not None:
            raise self.fail

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


Reply = Callable[[httpx.Request], httpx.Response]


def sse(
    *reads: bytes, status: int = 200, headers: dict[str, str] | None = None, fail: Exception | None = None
) -> Reply:
    """A reply factory: each request gets a fresh body with these reads."""

    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status,
            headers={"content-type": "text/event-stream", **(headers or {})},
            stream=Body(list(reads), fail),
        )

    return reply


def status(code: int, body: object = None, headers: dict[str, str] | None = None) -> Reply:
    """A reply factory: this status with a JSON body (a dict or list) or a text one."""

    def reply(request: httpx.Request) -> httpx.Response:
        if isinstance(body, (dict, list)):
            return httpx.Response(code, json=body, headers=headers)
        return httpx.Response(code, text=str(body or ""), headers=headers)

    return reply


def raising(exc: Exception) -> Reply:
    """A reply factory whose request fails with ``exc`` before any response."""

    def reply(request: httpx.Request) -> httpx.Response:
        raise exc

    return reply


@dataclass
class Outcome:
    """What one client saw: the chunks before any error, the error, every request, every wait."""

    chunks: list[Any] = field(default_factory=list)
    error: Any = None
    requests: list[httpx.Request] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)
    result: Any = None
    response: httpx.Response | None = None

    @property
    def contents(self) -> list[str | None]:
        return [c.choices[0].delta.content for c in self.chunks]


KINDS = ["ours", "ours-async", "sdk", "sdk-async"]
OURS = ["ours", "ours-async"]


def run(
    kind: str,
    replies: list[Reply],
    *,
    monkeypatch: pytest.MonkeyPatch,
    stream: bool = True,
    max_retries: int = 2,
    options: dict[str, Any] | None = None,
    **call: Any,
) -> Outcome:
    """Send one chat request through the named client; replies are used in order, the last repeats."""
    outcome = Outcome()

    def handler(request: httpx.Request) -> httpx.Response:
        outcome.requests.append(request)
        return replies[min(len(outcome.requests), len(replies)) - 1](request)

    transport = httpx.MockTransport(handler)
    call = {"model": "palmyra-x5", "messages": MESSAGES, "stream": stream, **call}

    def record(seconds: float) -> None:
        outcome.sleeps.append(seconds)

    async def arecord(seconds: float) -> None:
        outcome.sleeps.append(seconds)

    monkeypatch.setattr("writerai._base_client.time.sleep", record)
    monkeypatch.setattr("writerai._base_client.anyio.sleep", arecord)

    if kind in ("ours", "sdk"):
        http = httpx.Client(transport=transport)
        if kind == "ours":
            client: Any = Writer(
                api_key="key", max_retries=max_retries, http_client=http, _sleep=record, **(options or {})
            )
        else:
            client = writerai.Writer(
                api_key="key", max_retries=max_retries, http_client=http, **(options or {})
            )
        with client:
            try:
                result = client.chat.chat(**call)
                outcome.result = result
                if stream:
                    outcome.response = result.response
                    for item in result:
                        outcome.chunks.append(item)
            except Exception as exc:
                outcome.error = exc
        return outcome

    async def main() -> None:
        http = httpx.AsyncClient(transport=transport)
        if kind == "ours-async":
            client: Any = AsyncWriter(
                api_key="key", max_retries=max_retries, http_client=http, _sleep=arecord, **(options or {})
            )
        else:
            client = writerai.AsyncWriter(
                api_key="key", max_retries=max_retries, http_client=http, **(options or {})
            )
        async with client:
            try:
                result = await client.chat.chat(**call)
                outcome.result = result
                if stream:
                    outcome.response = result.response
                    async for item in result:
                        outcome.chunks.append(item)
            except Exception as exc:
                outcome.error = exc

    asyncio.run(main())
    return outcome


def each_client(monkeypatch: pytest.MonkeyPatch) -> Callable[..., dict[str, Outcome]]:
    """Run the same replies through all four clients (the ``each`` fixture)."""

    def go(replies: list[Reply], kinds: list[str] = KINDS, **kwargs: Any) -> dict[str, Outcome]:
        return {kind: run(kind, replies, monkeypatch=monkeypatch, **kwargs) for kind in kinds}

    return go


Each = Callable[..., dict[str, Outcome]]

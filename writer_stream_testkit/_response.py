"""What ``with_raw_response`` and ``with_streaming_response`` hand out: the HTTP response beside
what the call would have returned.

Apps use these to read headers the parsed result drops (rate limits, request ids), as with
writerai's ``APIResponse``: ``.headers``, ``.status_code``, ``.retries_taken``, and
``.parse()`` for the ``ChatCompletion``, ``Stream`` or ``ParsedChatCompletion`` the plain
call returns. The streaming kind leaves the body unread until something reads it.
"""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType
from typing import Any, Generic, TypeVar

import httpx

__all__ = [
    "RAW_RESPONSE_HEADER",
    "APIResponse",
    "AsyncAPIResponse",
    "AsyncResponseContextManager",
    "ResponseContextManager",
]

R = TypeVar("R")

RAW_RESPONSE_HEADER = "X-Stainless-Raw-Response"
"""The header writerai sends with these calls: ``raw`` or ``stream``."""

_UNPARSED: Any = object()


class BaseAPIResponse(Generic[R]):
    """The response of one call and how to turn it into the call's result."""

    http_response: httpx.Response
    retries_taken: int
    """How many retries the call took; 0 when the first attempt answered."""

    def __init__(
        self,
        *,
        raw: httpx.Response,
        parse: Callable[[httpx.Response], R],
        stream: bool,
        cast_to: object,
        retries_taken: int,
    ) -> None:
        self.http_response = raw
        self.retries_taken = retries_taken
        self._parse = parse
        self._is_sse_stream = stream
        self._cast_to = cast_to
        self._parsed: R = _UNPARSED

    @property
    def headers(self) -> httpx.Headers:
        return self.http_response.headers

    @property
    def http_request(self) -> httpx.Request:
        return self.http_response.request

    @property
    def status_code(self) -> int:
        return self.http_response.status_code

    @property
    def url(self) -> httpx.URL:
        return self.http_response.url

    @property
    def method(self) -> str:
        return self.http_request.method

    @property
    def http_version(self) -> str:
        return self.http_response.http_version

    @property
    def elapsed(self) -> datetime.timedelta:
        return self.http_response.elapsed

    @property
    def is_closed(self) -> bool:
        """Whether the body is closed; read it to the end or ``close()`` it, or the connection leaks."""
        return self.http_response.is_closed

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} [{self.status_code} {self.http_response.reason_phrase}] "
            f"type={self._cast_to}>"
        )

    def _parsed_once(self) -> R:
        if self._parsed is _UNPARSED:
            self._parsed = self._parse(self.http_response)
        return self._parsed


class APIResponse(BaseAPIResponse[R]):
    """writerai's ``APIResponse`` for :class:`~writer_stream_testkit.client.Writer`."""

    def parse(self) -> R:
        """What the plain call returns; a body not yet read is read first (unless it is a stream)."""
        if not self._is_sse_stream:
            self.read()
        return self._parsed_once()

    def read(self) -> bytes:
        return self.http_response.read()

    def text(self) -> str:
        self.read()
        return self.http_response.text

    def json(self) -> object:
        self.read()
        return self.http_response.json()

    def close(self) -> None:
        self.http_response.close()

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]:
        yield from self.http_response.iter_bytes(chunk_size)

    def iter_text(self, chunk_size: int | None = None) -> Iterator[str]:
        yield from self.http_response.iter_text(chunk_size)

    def iter_lines(self) -> Iterator[str]:
        yield from self.http_response.iter_lines()


class AsyncAPIResponse(BaseAPIResponse[R]):
    """The async twin of :class:`APIResponse`: reading the body is awaited, parsing is the same."""

    async def parse(self) -> R:
        if not self._is_sse_stream:
            await self.read()
        return self._parsed_once()

    async def read(self) -> bytes:
        return await self.http_response.aread()

    async def text(self) -> str:
        await self.read()
        return self.http_response.text

    async def json(self) -> object:
        await self.read()
        return self.http_response.json()

    async def close(self) -> None:
        await self.http_response.aclose()

    async def iter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        async for chunk in self.http_response.aiter_bytes(chunk_size):
            yield chunk

    async def iter_text(self, chunk_size: int | None = None) -> AsyncIterator[str]:
        async for chunk in self.http_response.aiter_text(chunk_size):
            yield chunk

    async def iter_lines(self) -> AsyncIterator[str]:
        async for chunk in self.http_response.aiter_lines():
            yield chunk


class ResponseContextManager(Generic[R]):
    """``with_streaming_response``: the request is sent on entry and the response closed on exit."""

    def __init__(self, request: Callable[[], APIResponse[R]]) -> None:
        self._request = request
        self._response: APIResponse[R] | None = None

    def __enter__(self) -> APIResponse[R]:
        self._response = self._request()
        return self._response

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._response is not None:
            self._response.close()


class AsyncResponseContextManager(Generic[R]):
    """The async twin of :class:`ResponseContextManager`: the request is awaited on entry."""

    def __init__(self, request: Awaitable[AsyncAPIResponse[R]]) -> None:
        self._request = request
        self._response: AsyncAPIResponse[R] | None = None

    async def __aenter__(self) -> AsyncAPIResponse[R]:
        self._response = await self._request
        return self._response

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._response is not None:
            await self._response.close()

"""The chunks of one streamed response, read as they arrive: ``Stream`` and its async twin.

Both feed one :class:`~writer_stream_testkit.wire.chunks.ChunkDecoder`; they differ only
in how they read the body.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import Generic, TypeVar

import httpx
import pydantic
from typing_extensions import Self

from .wire.chunks import ChunkDecoder

__all__ = ["AsyncStream", "ModelT", "Stream"]

ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)


class Stream(Generic[ModelT]):
    """The chunks of one streamed response, read as they arrive.

    Iterate it once. The response is closed when the stream ends, fails, or
    is closed early. Errors while reading the body (a dropped connection, a
    read timeout) are httpx's own exceptions, exactly as the SDK lets them
    through.
    """

    response: httpx.Response

    def __init__(self, *, cast_to: type[ModelT], response: httpx.Response, strict: bool = False) -> None:
        self.response = response
        self._decoder = ChunkDecoder(response, cast_to, strict=strict)
        self._iterator = self._stream()

    def __next__(self) -> ModelT:
        return next(self._iterator)

    def __iter__(self) -> Iterator[ModelT]:
        return self._iterator

    def _stream(self) -> Iterator[ModelT]:
        decoder = self._decoder
        response = self.response
        try:
            for data in response.iter_bytes():
                chunks = decoder.feed(data)
                if chunks:
                    yield from chunks
                if decoder.finished:
                    break
            else:
                yield from decoder.end()
            decoder.raise_error()
        finally:
            response.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the response and release the connection, even if the stream was not read to the end."""
        self.response.close()


class AsyncStream(Generic[ModelT]):
    """The async twin of :class:`Stream`: the same decoder, read with ``aiter_bytes``."""

    response: httpx.Response

    def __init__(self, *, cast_to: type[ModelT], response: httpx.Response, strict: bool = False) -> None:
        self.response = response
        self._decoder = ChunkDecoder(response, cast_to, strict=strict)
        self._iterator = self._stream()

    async def __anext__(self) -> ModelT:
        return await self._iterator.__anext__()

    def __aiter__(self) -> AsyncIterator[ModelT]:
        return self._iterator

    async def _stream(self) -> AsyncIterator[ModelT]:
        decoder = self._decoder
        response = self.response
        try:
            async for data in response.aiter_bytes():
                for chunk in decoder.feed(data):
                    yield chunk
                if decoder.finished:
                    break
            else:
                for chunk in decoder.end():
                    yield chunk
            decoder.raise_error()
        finally:
            await response.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the response and release the connection, even if the stream was not read to the end."""
        await self.response.aclose()

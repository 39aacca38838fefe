"""``client.chat.stream()``'s streams and context managers: thin shells over the engine.

Both faces drive one ``ChatCompletionStreamState``; the sync and async classes
differ only where they await. Shapes follow ``writerai.lib.streaming.chat``.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar

import httpx

from ..wire.types import ChatCompletionChunk, ParsedChatCompletion
from .accumulate import ChatCompletionStreamState
from .events import ChatCompletionStreamEvent
from .parsing import ToolParam, format_or_none, tools_or_none

__all__ = [
    "AsyncChatCompletionStream",
    "AsyncChatCompletionStreamManager",
    "ChatCompletionStream",
    "ChatCompletionStreamManager",
]

ResponseFormatT = TypeVar("ResponseFormatT")
_S = TypeVar("_S", bound="ChatCompletionStream[Any]")
_AS = TypeVar("_AS", bound="AsyncChatCompletionStream[Any]")


class RawStream(Protocol):
    """What the stream wraps: the client's ``Stream[ChatCompletionChunk]``."""

    response: httpx.Response

    def __iter__(self) -> Iterator[ChatCompletionChunk]: ...

    def close(self) -> None: ...


class AsyncRawStream(Protocol):
    """What the async stream wraps: the client's ``AsyncStream[ChatCompletionChunk]``."""

    response: httpx.Response

    def __aiter__(self) -> AsyncIterator[ChatCompletionChunk]: ...

    async def close(self) -> None: ...


class _StreamBase(Generic[ResponseFormatT]):
    """What both faces share: the engine and the read-only views of it."""

    def __init__(
        self, *, response: httpx.Response, response_format: Any, input_tools: Iterable[ToolParam]
    ) -> None:
        self._response = response
        self._state: ChatCompletionStreamState[ResponseFormatT] = ChatCompletionStreamState(
            input_tools=input_tools, response_format=response_format
        )

    @property
    def response(self) -> httpx.Response:
        """The HTTP response the chunks come from."""
        return self._response

    @property
    def current_completion_snapshot(self) -> ParsedChatCompletion[object]:
        """The completion accumulated so far (the same object, updated, all stream long)."""
        return self._state.current_completion_snapshot


class ChatCompletionStream(_StreamBase[ResponseFormatT]):
    """Iterates stream-helper events over a chunk stream and accumulates the completion."""

    def __init__(
        self, *, raw_stream: RawStream, response_format: Any = None, input_tools: Iterable[ToolParam] = ()
    ) -> None:
        super().__init__(
            response=raw_stream.response, response_format=response_format, input_tools=input_tools
        )
        self._raw_stream = raw_stream
        self._iterator = self.__stream__()

    def __stream__(self) -> Iterator[ChatCompletionStreamEvent[ResponseFormatT]]:
        handle = self._state.handle_chunk
        for chunk in self._raw_stream:
            yield from handle(chunk)

    def __next__(self) -> ChatCompletionStreamEvent[ResponseFormatT]:
        return next(self._iterator)

    def __iter__(self) -> Iterator[ChatCompletionStreamEvent[ResponseFormatT]]:
        return self._iterator

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the response and release the connection; the events read so far stay usable."""
        self._raw_stream.close()

    def until_done(self: _S) -> _S:
        """Read the rest of the stream."""
        for _ in self._iterator:
            pass
        return self

    def get_final_completion(self) -> ParsedChatCompletion[ResponseFormatT]:
        """Read the rest of the stream and return the parsed completion."""
        self.until_done()
        return self._state.get_final_completion()


class AsyncChatCompletionStream(_StreamBase[ResponseFormatT]):
    """The async twin of :class:`ChatCompletionStream`, over the same engine."""

    def __init__(
        self,
        *,
        raw_stream: AsyncRawStream | Any,
        response_format: Any = None,
        input_tools: Iterable[ToolParam] = (),
    ) -> None:
        super().__init__(
            response=raw_stream.response, response_format=response_format, input_tools=input_tools
        )
        self._raw_stream = raw_stream
        self._iterator = self.__stream__()

    async def __stream__(self) -> AsyncIterator[ChatCompletionStreamEvent[ResponseFormatT]]:
        handle = self._state.handle_chunk
        chunks: AsyncIterable[ChatCompletionChunk] = self._raw_stream
        async for chunk in chunks:
            for event in handle(chunk):
                yield event

    async def __anext__(self) -> ChatCompletionStreamEvent[ResponseFormatT]:
        return await self._iterator.__anext__()

    def __aiter__(self) -> AsyncIterator[ChatCompletionStreamEvent[ResponseFormatT]]:
        return self._iterator

    async def __aenter__(self: _AS) -> _AS:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the response and release the connection; the events read so far stay usable."""
        await self._raw_stream.close()

    async def until_done(self: _AS) -> _AS:
        """Read the rest of the stream."""
        async for _ in self._iterator:
            pass
        return self

    async def get_final_completion(self) -> ParsedChatCompletion[ResponseFormatT]:
        """Read the rest of the stream and return the parsed completion."""
        await self.until_done()
        return self._state.get_final_completion()


class ChatCompletionStreamManager(Generic[ResponseFormatT]):
    """What ``client.chat.stream()`` returns: opens the request on enter, closes the response on exit.

    ``api_request`` performs the streaming request and returns the chunk stream; it is
    only called on ``__enter__``, so nothing leaks if the manager is never entered.
    """

    def __init__(
        self,
        api_request: Callable[[], RawStream],
        *,
        response_format: Any = None,
        input_tools: Iterable[ToolParam] = (),
    ) -> None:
        self._api_request = api_request
        self._response_format = format_or_none(response_format)
        self._input_tools = tools_or_none(input_tools)
        self._stream: ChatCompletionStream[ResponseFormatT] | None = None

    def __enter__(self) -> ChatCompletionStream[ResponseFormatT]:
        self._stream = ChatCompletionStream(
            raw_stream=self._api_request(),
            response_format=self._response_format,
            input_tools=self._input_tools,
        )
        return self._stream

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._stream is not None:
            self._stream.close()


class AsyncChatCompletionStreamManager(Generic[ResponseFormatT]):
    """The async twin of :class:`ChatCompletionStreamManager`; ``api_request`` is an awaitable."""

    def __init__(
        self,
        api_request: Awaitable[AsyncRawStream | Any],
        *,
        response_format: Any = None,
        input_tools: Iterable[ToolParam] = (),
    ) -> None:
        self._api_request = api_request
        self._response_format = format_or_none(response_format)
        self._input_tools = tools_or_none(input_tools)
        self._stream: AsyncChatCompletionStream[ResponseFormatT] | None = None

    async def __aenter__(self) -> AsyncChatCompletionStream[ResponseFormatT]:
        self._stream = AsyncChatCompletionStream(
            raw_stream=await self._api_request,
            response_format=self._response_format,
            input_tools=self._input_tools,
        )
        return self._stream

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._stream is not None:
            await self._stream.close()

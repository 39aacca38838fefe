"""The kit's own Writer client: ``Writer``/``AsyncWriter`` with ``chat.chat`` and ``chat.stream``.

It mirrors the official SDK (``writerai``) where user code can tell: the
constructor and its environment variables, the request it sends (URL, JSON
body, headers including the ``X-Stainless-*`` family), the retry policy, the
exception classes and messages, and what escapes while a stream is read
(httpx's own exceptions, untouched). Like the SDK it keeps a chunk off the
schema as given, unless ``_strict_response_validation=True``. It differs where
the SDK is silent or crashes: a data line that is not a JSON object raises
:class:`~writer_stream_testkit.errors.MalformedChunkError`, and an error sent
inside a stream is raised as :class:`~writer_stream_testkit.errors.StreamErrorEvent`
instead of surfacing later as a ``TypeError``.

The shared machinery is in :mod:`._base_client`; this module holds only the two faces.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, overload

import anyio
import httpx
from typing_extensions import Self, Unpack

from ._base_client import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    NOT_GIVEN,
    AsyncStream,
    ChatParams,
    Stream,
    _async_library,
    _BaseWriter,
    _chat_body,
    _check_params,
    _completion,
    _exchange,
    _NotGiven,
    _Read,
    _Send,
    _Sleep,
    _stream_arguments,
)
from .wire.types import ChatCompletion, ChatCompletionChunk

if TYPE_CHECKING:
    # Imported where used: streaming.py builds on this module's Stream classes.
    from .helpers.streaming import AsyncChatCompletionStreamManager, ChatCompletionStreamManager

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "NOT_GIVEN",
    "AsyncChat",
    "AsyncStream",
    "AsyncWriter",
    "Chat",
    "ChatParams",
    "Stream",
    "Writer",
]


# --- the sync client ------------------------------------------------------------------------------


class Writer(_BaseWriter[httpx.Client]):
    """A synchronous Writer client, constructed and used like ``writerai.Writer``.

    ``api_key`` defaults to ``WRITER_API_KEY`` and ``base_url`` to
    ``WRITER_BASE_URL`` (else ``https://api.writer.com``). As in the SDK,
    ``_strict_response_validation=True`` validates every chunk and completion
    against the schema (raising ``MalformedChunkError``) instead of keeping what
    the server sent as given. ``_sleep`` replaces ``time.sleep`` between retries,
    so a test can record the waits instead of taking them.
    """

    _http_class = httpx.Client

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | httpx.URL | None = None,
        timeout: float | httpx.Timeout | _NotGiven | None = NOT_GIVEN,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        default_query: Mapping[str, object] | None = None,
        http_client: httpx.Client | None = None,
        _strict_response_validation: bool = False,
        _sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            default_query=default_query,
            http_client=http_client,
            _strict_response_validation=_strict_response_validation,
        )
        self._sleep = _sleep
        self.chat = Chat(self)

    def _send(self, build: Callable[[int], httpx.Request], *, stream: bool) -> httpx.Response:
        """Carry out :func:`_exchange` with blocking calls."""
        exchange = _exchange(build, self.max_retries)
        outcome: httpx.Response | Exception | None = None
        while True:
            try:
                action = exchange.send(outcome)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            outcome = None
            if isinstance(action, _Send):
                try:
                    outcome = self._http.send(action.request, stream=stream)
                except Exception as exc:
                    outcome = exc
            elif isinstance(action, _Sleep):
                self._sleep(action.seconds)
            elif isinstance(action, _Read):
                action.response.read()
            else:
                action.response.close()

    def close(self) -> None:
        """Close the underlying HTTP client; the client is unusable afterwards."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class Chat:
    """``client.chat``: the chat endpoint, plain or streamed."""

    def __init__(self, client: Writer) -> None:
        self._client = client

    @overload
    def chat(
        self,
        *,
        stream: Literal[False] | _NotGiven = ...,
        response_format: Mapping[str, Any] | _NotGiven = ...,
        **params: Unpack[ChatParams],
    ) -> ChatCompletion: ...

    @overload
    def chat(
        self,
        *,
        stream: Literal[True],
        response_format: Mapping[str, Any] | _NotGiven = ...,
        **params: Unpack[ChatParams],
    ) -> Stream[ChatCompletionChunk]: ...

    @overload
    def chat(
        self,
        *,
        stream: bool,
        response_format: Mapping[str, Any] | _NotGiven = ...,
        **params: Unpack[ChatParams],
    ) -> ChatCompletion | Stream[ChatCompletionChunk]: ...

    def chat(
        self,
        *,
        stream: bool | _NotGiven = NOT_GIVEN,
        response_format: Mapping[str, Any] | _NotGiven = NOT_GIVEN,
        **params: Unpack[ChatParams],
    ) -> ChatCompletion | Stream[ChatCompletionChunk]:
        """POST ``/v1/chat``: a ``ChatCompletion``, or with ``stream=True`` a ``Stream`` of chunks."""
        _check_params(params, "Chat.chat")
        client = self._client
        build = client._request_builder(_chat_body(params, response_format, stream), params)
        response = client._send(build, stream=bool(stream))
        if stream:
            return Stream(
                cast_to=ChatCompletionChunk, response=response, strict=client._strict_response_validation
            )
        return _completion(response, strict=client._strict_response_validation)

    def stream(
        self,
        *,
        response_format: type[Any] | Mapping[str, Any] | _NotGiven = NOT_GIVEN,
        **params: Unpack[ChatParams],
    ) -> ChatCompletionStreamManager[Any]:
        """``chat.chat(stream=True)`` wrapped in the SDK's event API; use it as a context manager."""
        from .helpers.streaming import ChatCompletionStreamManager

        _check_params(params, "Chat.stream")
        params, body_format, parse_as = _stream_arguments(response_format, params)

        def request() -> Stream[ChatCompletionChunk]:
            stream: Stream[ChatCompletionChunk] = self.chat(
                stream=True, response_format=body_format, **params
            )
            return stream

        return ChatCompletionStreamManager(
            request, response_format=parse_as, input_tools=params.get("tools", ())
        )


# --- the async client -----------------------------------------------------------------------------


async def _anyio_sleep(seconds: float) -> None:
    await anyio.sleep(seconds)


class AsyncWriter(_BaseWriter[httpx.AsyncClient]):
    """The asynchronous twin of :class:`Writer`; ``_sleep`` replaces ``anyio.sleep``."""

    _http_class = httpx.AsyncClient
    _sleep: Callable[[float], Awaitable[None]]

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | httpx.URL | None = None,
        timeout: float | httpx.Timeout | _NotGiven | None = NOT_GIVEN,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        default_query: Mapping[str, object] | None = None,
        http_client: httpx.AsyncClient | None = None,
        _strict_response_validation: bool = False,
        _sleep: Callable[[float], Awaitable[None]] = _anyio_sleep,
    ) -> None:
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            default_query=default_query,
            http_client=http_client,
            _strict_response_validation=_strict_response_validation,
        )
        self._sleep = _sleep
        self.chat = AsyncChat(self)

    def _async_header(self) -> str:
        return f"async:{_async_library()}"

    async def _send(self, build: Callable[[int], httpx.Request], *, stream: bool) -> httpx.Response:
        """Carry out :func:`_exchange` with awaits."""
        exchange = _exchange(build, self.max_retries)
        outcome: httpx.Response | Exception | None = None
        while True:
            try:
                action = exchange.send(outcome)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            outcome = None
            if isinstance(action, _Send):
                try:
                    outcome = await self._http.send(action.request, stream=stream)
                except Exception as exc:
                    outcome = exc
            elif isinstance(action, _Sleep):
                await self._sleep(action.seconds)
            elif isinstance(action, _Read):
                await action.response.aread()
            else:
                await action.response.aclose()

    async def close(self) -> None:
        """Close the underlying HTTP client; the client is unusable afterwards."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class AsyncChat:
    """``client.chat`` of :class:`AsyncWriter`."""

    def __init__(self, client: AsyncWriter) -> None:
        self._client = client

    @overload
    def chat(
        self,
        *,
        stream: Literal[False] | _NotGiven = ...,
        response_format: Mapping[str, Any] | _NotGiven = ...,
        **params: Unpack[ChatParams],
    ) -> Coroutine[Any, Any, ChatCompletion]: ...

    @overload
    def chat(
        self,
        *,
        stream: Literal[True],
        response_format: Mapping[str, Any] | _NotGiven = ...,
        **params: Unpack[ChatParams],
    ) -> Coroutine[Any, Any, AsyncStream[ChatCompletionChunk]]: ...

    @overload
    def chat(
        self,
        *,
        stream: bool,
        response_format: Mapping[str, Any] | _NotGiven = ...,
        **params: Unpack[ChatParams],
    ) -> Coroutine[Any, Any, ChatCompletion | AsyncStream[ChatCompletionChunk]]: ...

    def chat(
        self,
        *,
        stream: bool | _NotGiven = NOT_GIVEN,
        response_format: Mapping[str, Any] | _NotGiven = NOT_GIVEN,
        **params: Unpack[ChatParams],
    ) -> Coroutine[Any, Any, ChatCompletion | AsyncStream[ChatCompletionChunk]]:
        """POST ``/v1/chat``: a ``ChatCompletion``, or with ``stream=True`` an ``AsyncStream`` of chunks.

        A plain function returning the coroutine, so a wrong keyword raises at the call,
        before any ``await``, as it does for the SDK's ``async def``.
        """
        _check_params(params, "AsyncChat.chat")
        return self._chat(stream, response_format, params)

    async def _chat(
        self, stream: bool | _NotGiven, response_format: Mapping[str, Any] | _NotGiven, params: ChatParams
    ) -> ChatCompletion | AsyncStream[ChatCompletionChunk]:
        client = self._client
        build = client._request_builder(_chat_body(params, response_format, stream), params)
        response = await client._send(build, stream=bool(stream))
        if stream:
            return AsyncStream(
                cast_to=ChatCompletionChunk, response=response, strict=client._strict_response_validation
            )
        return _completion(response, strict=client._strict_response_validation)

    def stream(
        self,
        *,
        response_format: type[Any] | Mapping[str, Any] | _NotGiven = NOT_GIVEN,
        **params: Unpack[ChatParams],
    ) -> AsyncChatCompletionStreamManager[Any]:
        """``chat.chat(stream=True)`` wrapped in the SDK's event API; use it with ``async with``."""
        from .helpers.streaming import AsyncChatCompletionStreamManager

        _check_params(params, "AsyncChat.stream")
        params, body_format, parse_as = _stream_arguments(response_format, params)
        request = self.chat(stream=True, response_format=body_format, **params)
        return AsyncChatCompletionStreamManager(
            request, response_format=parse_as, input_tools=params.get("tools", ())
        )

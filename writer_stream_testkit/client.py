"""The kit's own Writer client: ``Writer``/``AsyncWriter`` with ``chat.chat``, ``chat.stream``,
``chat.parse`` and their ``with_raw_response`` / ``with_streaming_response`` forms.

It mirrors the official SDK (``writerai``, 2.x and 3.x) where user code can tell: the
constructor and its environment variables, ``copy()``, writerai's ``NOT_GIVEN`` / ``omit``
markers, the argument checks made before sending, the request it sends (URL, JSON
body, headers including the ``X-Stainless-*`` family), the retry policy, the
exception classes and messages, and what escapes while a stream is read
(httpx's own exceptions, untouched). Like the SDK it keeps a chunk off the
schema as given, unless ``_strict_response_validation=True``. It differs where
the SDK is silent or crashes: a data line that is not a JSON object raises
:class:`~writer_stream_testkit.errors.MalformedChunkError`, and an error sent
inside a stream is raised as :class:`~writer_stream_testkit.errors.StreamErrorEvent`
instead of surfacing later as a ``TypeError``.

The shared machinery is in private modules: :mod:`._arguments` (what a call takes),
:mod:`._config` (options and requests), :mod:`._attempts` (the attempt loop) and
:mod:`._streams`; this module holds only the two faces.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

import anyio
import httpx
from typing_extensions import Self, Unpack

from ._arguments import (
    ChatParams,
    check_chat_call,
    check_helper_call,
    stream_arguments,
)
from ._attempts import Read, Send, Sleep, attempt_loop
from ._chat_call import ChatCall, chat_call, parse_call
from ._config import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    BaseWriter,
    async_library,
)
from ._response import (
    APIResponse,
    AsyncAPIResponse,
    AsyncResponseContextManager,
    ResponseContextManager,
)
from ._sentinels import NOT_GIVEN, NotGiven
from ._streams import AsyncStream, Stream
from .helpers.parsing import tools_or_none
from .wire.types import ChatCompletion, ChatCompletionChunk, ParsedChatCompletion

if TYPE_CHECKING:
    # Imported where used: streaming.py builds on this module's Stream classes.
    from .helpers.streaming import AsyncChatCompletionStreamManager, ChatCompletionStreamManager

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "NOT_GIVEN",
    "APIResponse",
    "AsyncAPIResponse",
    "AsyncChat",
    "AsyncStream",
    "AsyncWriter",
    "Chat",
    "ChatParams",
    "Stream",
    "Writer",
]

T = TypeVar("T")


# --- the sync client ------------------------------------------------------------------------------


class Writer(BaseWriter[httpx.Client]):
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
        timeout: float | httpx.Timeout | NotGiven | None = NOT_GIVEN,
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

    def _send(self, build: Callable[[int], httpx.Request], *, stream: bool) -> tuple[httpx.Response, int]:
        """Carry out :func:`attempt_loop` with blocking calls: the response and the retries it took."""
        exchange = attempt_loop(build, self.max_retries)
        outcome: httpx.Response | Exception | None = None
        while True:
            try:
                action = exchange.send(outcome)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            outcome = None
            if isinstance(action, Send):
                try:
                    outcome = self._http.send(action.request, stream=stream)
                except Exception as exc:
                    outcome = exc
            elif isinstance(action, Sleep):
                self._sleep(action.seconds)
            elif isinstance(action, Read):
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
    """``client.chat``: the chat endpoint, plain, streamed or parsed."""

    def __init__(self, client: Writer) -> None:
        self._client = client

    @functools.cached_property
    def with_raw_response(self) -> ChatWithRawResponse:
        """The same calls returning an :class:`APIResponse` (headers, status, retries) around the result."""
        return ChatWithRawResponse(self)

    @functools.cached_property
    def with_streaming_response(self) -> ChatWithStreamingResponse:
        """The same calls as context managers whose :class:`APIResponse` body is read only on demand."""
        return ChatWithStreamingResponse(self)

    @overload
    def chat(
        self,
        *,
        stream: Literal[False] | NotGiven = ...,
        response_format: Mapping[str, Any] | NotGiven = ...,
        **params: Unpack[ChatParams],
    ) -> ChatCompletion: ...

    @overload
    def chat(
        self,
        *,
        stream: Literal[True],
        response_format: Mapping[str, Any] | NotGiven = ...,
        **params: Unpack[ChatParams],
    ) -> Stream[ChatCompletionChunk]: ...

    @overload
    def chat(
        self,
        *,
        stream: bool,
        response_format: Mapping[str, Any] | NotGiven = ...,
        **params: Unpack[ChatParams],
    ) -> ChatCompletion | Stream[ChatCompletionChunk]: ...

    def chat(
        self,
        *,
        stream: bool | NotGiven = NOT_GIVEN,
        response_format: Mapping[str, Any] | NotGiven = NOT_GIVEN,
        **params: Unpack[ChatParams],
    ) -> ChatCompletion | Stream[ChatCompletionChunk]:
        """POST ``/v1/chat``: a ``ChatCompletion``, or with ``stream=True`` a ``Stream`` of chunks."""
        check_chat_call(params, "Chat.chat")
        result: ChatCompletion | Stream[ChatCompletionChunk] = self._respond(
            chat_call(self._client, stream, response_format, params, Stream)
        ).parse()
        return result

    def parse(
        self, *, response_format: type[T] | NotGiven = NOT_GIVEN, **params: Unpack[ChatParams]
    ) -> ParsedChatCompletion[T]:
        """``chat.chat`` with a class as ``response_format``: the completion with ``parsed`` filled."""
        result: ParsedChatCompletion[T] = self._respond(
            parse_call(self._client, "Chat.parse", response_format, params, Stream)
        ).parse()
        return result

    def _respond(self, call: ChatCall) -> APIResponse[Any]:
        response, retries = self._client._send(call.build, stream=call.send_streaming)
        return APIResponse(
            raw=response, parse=call.parse, stream=call.sse, cast_to=ChatCompletion, retries_taken=retries
        )

    def stream(
        self,
        *,
        response_format: type[Any] | Mapping[str, Any] | NotGiven = NOT_GIVEN,
        **params: Unpack[ChatParams],
    ) -> ChatCompletionStreamManager[Any]:
        """``chat.chat(stream=True)`` wrapped in the SDK's event API; use it as a context manager."""
        from .helpers.streaming import ChatCompletionStreamManager

        check_helper_call(params, "Chat.stream")
        params, body_format, parse_as = stream_arguments(response_format, params)

        def request() -> Stream[ChatCompletionChunk]:
            stream: Stream[ChatCompletionChunk] = self.chat(
                stream=True, response_format=body_format, **params
            )
            return stream

        return ChatCompletionStreamManager(
            request, response_format=parse_as, input_tools=tools_or_none(params.get("tools"))
        )


class ChatWithRawResponse:
    """``client.chat.with_raw_response``: ``chat`` and ``parse`` returning an :class:`APIResponse`."""

    def __init__(self, chat: Chat) -> None:
        self._chat = chat

    def chat(
        self,
        *,
        stream: bool | NotGiven = NOT_GIVEN,
        response_format: Mapping[str, Any] | NotGiven = NOT_GIVEN,
        **params: Unpack[ChatParams],
    ) -> APIResponse[Any]:
        check_chat_call(params, "Chat.chat")
        return self._chat._respond(
            chat_call(self._chat._client, stream, response_format, params, Stream, mode="raw")
        )

    def parse(
        self, *, response_format: type[T] | NotGiven = NOT_GIVEN, **params: Unpack[ChatParams]
    ) -> APIResponse[ParsedChatCompletion[T]]:
        call = parse_call(self._chat._client, "Chat.parse", response_format, params, Stream, mode="raw")
        return self._chat._respond(call)


class ChatWithStreamingResponse:
    """``client.chat.with_streaming_response``: the request is sent when the block is entered."""

    def __init__(self, chat: Chat) -> None:
        self._chat = chat

    def chat(
        self,
        *,
        stream: bool | NotGiven = NOT_GIVEN,
        response_format: Mapping[str, Any] | NotGiven = NOT_GIVEN,
        **params: Unpack[ChatParams],
    ) -> ResponseContextManager[Any]:
        check_chat_call(params, "Chat.chat")
        call = chat_call(self._chat._client, stream, response_format, params, Stream, mode="stream")
        return ResponseContextManager(functools.partial(self._chat._respond, call))

    def parse(
        self, *, response_format: type[T] | NotGiven = NOT_GIVEN, **params: Unpack[ChatParams]
    ) -> ResponseContextManager[ParsedChatCompletion[T]]:
        call = parse_call(self._chat._client, "Chat.parse", response_format, params, Stream, mode="stream")
        return ResponseContextManager(functools.partial(self._chat._respond, call))


# --- the async client -----------------------------------------------------------------------------


async def _anyio_sleep(seconds: float) -> None:
    await anyio.sleep(seconds)


class AsyncWriter(BaseWriter[httpx.AsyncClient]):
    """The asynchronous twin of :class:`Writer`; ``_sleep`` replaces ``anyio.sleep``."""

    _http_class = httpx.AsyncClient
    _sleep: Callable[[float], Awaitable[None]]

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | httpx.URL | None = None,
        timeout: float | httpx.Timeout | NotGiven | None = NOT_GIVEN,
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
        return f"async:{async_library()}"

    async def _send(
        self, build: Callable[[int], httpx.Request], *, stream: bool
    ) -> tuple[httpx.Response, int]:
        """Carry out :func:`attempt_loop` with awaits: the response and the retries it took."""
        exchange = attempt_loop(build, self.max_retries)
        outcome: httpx.Response | Exception | None = None
        while True:
            try:
                action = exchange.send(outcome)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            outcome = None
            if isinstance(action, Send):
                try:
                    outcome = await self._http.send(action.request, stream=stream)
                except Exception as exc:
                    outcome = exc
            elif isinstance(action, Sleep):
                await self._sleep(action.seconds)
            elif isinstance(action, Read):
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

    @functools.cached_property
    def with_raw_response(self) -> AsyncChatWithRawResponse:
        """The same calls returning an :class:`AsyncAPIResponse` (headers, status, retries) around the result."""
        return AsyncChatWithRawResponse(self)

    @functools.cached_property
    def with_streaming_response(self) -> AsyncChatWithStreamingResponse:
        """The same calls as ``async with`` blocks whose response body is read only on demand."""
        return AsyncChatWithStreamingResponse(self)

    @overload
    def chat(
        self,
        *,
        stream: Literal[False] | NotGiven = ...,
        response_format: Mapping[str, Any] | NotGiven = ...,
        **params: Unpack[ChatParams],
    ) -> Coroutine[Any, Any, ChatCompletion]: ...

    @overload
    def chat(
        self,
        *,
        stream: Literal[True],
        response_format: Mapping[str, Any] | NotGiven = ...,
        **params: Unpack[ChatParams],
    ) -> Coroutine[Any, Any, AsyncStream[ChatCompletionChunk]]: ...

    @overload
    def chat(
        self,
        *,
        stream: bool,
        response_format: Mapping[str, Any] | NotGiven = ...,
        **params: Unpack[ChatParams],
    ) -> Coroutine[Any, Any, ChatCompletion | AsyncStream[ChatCompletionChunk]]: ...

    def chat(
        self,
        *,
        stream: bool | NotGiven = NOT_GIVEN,
        response_format: Mapping[str, Any] | NotGiven = NOT_GIVEN,
        **params: Unpack[ChatParams],
    ) -> Coroutine[Any, Any, ChatCompletion | AsyncStream[ChatCompletionChunk]]:
        """POST ``/v1/chat``: a ``ChatCompletion``, or with ``stream=True`` an ``AsyncStream`` of chunks.

        A plain function returning the coroutine, so a wrong or missing argument raises at
        the call, before any ``await``, as it does for the SDK's ``async def``.
        """
        check_chat_call(params, "AsyncChat.chat")
        return self._result(chat_call(self._client, stream, response_format, params, AsyncStream))

    def parse(
        self, *, response_format: type[T] | NotGiven = NOT_GIVEN, **params: Unpack[ChatParams]
    ) -> Coroutine[Any, Any, ParsedChatCompletion[T]]:
        """``chat.chat`` with a class as ``response_format``: the completion with ``parsed`` filled."""
        return self._result(parse_call(self._client, "AsyncChat.parse", response_format, params, AsyncStream))

    async def _result(self, call: ChatCall) -> Any:
        return await (await self._respond(call)).parse()

    async def _respond(self, call: ChatCall) -> AsyncAPIResponse[Any]:
        response, retries = await self._client._send(call.build, stream=call.send_streaming)
        return AsyncAPIResponse(
            raw=response, parse=call.parse, stream=call.sse, cast_to=ChatCompletion, retries_taken=retries
        )

    def stream(
        self,
        *,
        response_format: type[Any] | Mapping[str, Any] | NotGiven = NOT_GIVEN,
        **params: Unpack[ChatParams],
    ) -> AsyncChatCompletionStreamManager[Any]:
        """``chat.chat(stream=True)`` wrapped in the SDK's event API; use it with ``async with``."""
        from .helpers.streaming import AsyncChatCompletionStreamManager

        check_helper_call(params, "AsyncChat.stream")
        params, body_format, parse_as = stream_arguments(response_format, params)
        request = self.chat(stream=True, response_format=body_format, **params)
        return AsyncChatCompletionStreamManager(
            request, response_format=parse_as, input_tools=tools_or_none(params.get("tools"))
        )


class AsyncChatWithRawResponse:
    """``client.chat.with_raw_response`` of :class:`AsyncWriter`."""

    def __init__(self, chat: AsyncChat) -> None:
        self._chat = chat

    def chat(
        self,
        *,
        stream: bool | NotGiven = NOT_GIVEN,
        response_format: Mapping[str, Any] | NotGiven = NOT_GIVEN,
        **params: Unpack[ChatParams],
    ) -> Coroutine[Any, Any, AsyncAPIResponse[Any]]:
        check_chat_call(params, "AsyncChat.chat")
        return self._chat._respond(
            chat_call(self._chat._client, stream, response_format, params, AsyncStream, mode="raw")
        )

    def parse(
        self, *, response_format: type[T] | NotGiven = NOT_GIVEN, **params: Unpack[ChatParams]
    ) -> Coroutine[Any, Any, AsyncAPIResponse[ParsedChatCompletion[T]]]:
        call = parse_call(
            self._chat._client, "AsyncChat.parse", response_format, params, AsyncStream, mode="raw"
        )
        return self._chat._respond(call)


class AsyncChatWithStreamingResponse:
    """``client.chat.with_streaming_response`` of :class:`AsyncWriter`: sent when the block is entered."""

    def __init__(self, chat: AsyncChat) -> None:
        self._chat = chat

    def chat(
        self,
        *,
        stream: bool | NotGiven = NOT_GIVEN,
        response_format: Mapping[str, Any] | NotGiven = NOT_GIVEN,
        **params: Unpack[ChatParams],
    ) -> AsyncResponseContextManager[Any]:
        check_chat_call(params, "AsyncChat.chat")
        call = chat_call(self._chat._client, stream, response_format, params, AsyncStream, mode="stream")
        return AsyncResponseContextManager(self._chat._respond(call))

    def parse(
        self, *, response_format: type[T] | NotGiven = NOT_GIVEN, **params: Unpack[ChatParams]
    ) -> AsyncResponseContextManager[ParsedChatCompletion[T]]:
        call = parse_call(
            self._chat._client, "AsyncChat.parse", response_format, params, AsyncStream, mode="stream"
        )
        return AsyncResponseContextManager(self._chat._respond(call))

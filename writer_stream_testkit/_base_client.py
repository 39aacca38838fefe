"""What both Writer clients share: streams over a response, the attempt loop written once as
a generator of I/O actions, configuration and request building.

Everything that decides lives in pure code: :mod:`._retry` (whether and how long to wait),
:mod:`.wire.chunks` (bytes to chunks) and :func:`_exchange` (the attempt loop). ``Writer``
and ``AsyncWriter`` only carry those actions out, the one with calls and the other with awaits.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import platform
import sys
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypedDict, TypeVar, cast

import httpx
import pydantic
from typing_extensions import Required, Self

from . import _retry
from ._sentinels import NOT_GIVEN, NotGiven, is_left_out
from .errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    WriterError,
    status_error_class,
)
from .helpers.parsing import type_to_response_format_param, validate_input_tools
from .wire.chunks import ChunkDecoder
from .wire.construct import construct_loosely
from .wire.types import ChatCompletion

if TYPE_CHECKING:
    # Imported where used: streaming.py builds on this module's Stream classes.
    pass


DEFAULT_MAX_RETRIES = _retry.DEFAULT_MAX_RETRIES
DEFAULT_TIMEOUT = _retry.DEFAULT_TIMEOUT

_HTTPX_DEFAULT_TIMEOUT = httpx.Timeout(5.0)
_CHAT_PATH = b"v1/chat"

_ModelT = TypeVar("_ModelT", bound=pydantic.BaseModel)


class ChatParams(TypedDict, total=False):
    """What ``chat.chat`` and ``chat.stream`` take besides ``stream`` and ``response_format``.

    The body fields are the SDK's ``chat_chat_params``; a field left out is
    left out of the JSON. The ``extra_*`` keys and ``timeout`` shape the
    request itself, as in the SDK.
    """

    messages: Required[Iterable[Mapping[str, Any]]]
    model: Required[str]
    logprobs: bool
    max_tokens: int
    n: int
    stop: Iterable[str] | str
    stream_options: Mapping[str, Any]
    temperature: float
    tool_choice: Mapping[str, Any]
    tools: Iterable[Mapping[str, Any]]
    top_p: float
    extra_headers: Mapping[str, str] | None
    extra_query: Mapping[str, object] | None
    extra_body: Mapping[str, object] | None
    timeout: float | httpx.Timeout | None


_PARAM_NAMES = ChatParams.__required_keys__ | ChatParams.__optional_keys__


def _check_params(params: Mapping[str, object], method: str) -> None:
    """Refuse a keyword the SDK's signature lacks, as Python refuses it there (a typo must not vanish)."""
    for name in params:
        if name not in _PARAM_NAMES:
            raise TypeError(f"{method}() got an unexpected keyword argument {name!r}")


REQUIRED = ("messages", "model")
"""The arguments every chat call needs; writerai refuses a call without them before sending anything."""


def check_chat_call(params: Mapping[str, object], method: str) -> None:
    """``chat.chat``'s checks in writerai's order: its ``required_args`` first, then the signature."""
    if not all(name in params for name in REQUIRED):
        raise TypeError(
            "Missing required arguments; Expected either ('messages' and 'model') or "
            "('messages', 'model' and 'stream') arguments to be given"
        )
    _check_params(params, method)


def check_helper_call(
    params: Mapping[str, object],
    method: str,
    required: tuple[str, ...] = REQUIRED,
    *,
    also: Iterable[str] = (),
    refused: Iterable[str] = (),
) -> None:
    """``chat.stream`` / ``chat.parse``: Python's own signature checks, worded as Python words them.

    ``also`` names the required arguments given outside ``params``; ``refused`` the
    ``ChatParams`` keys that this method's signature in writerai lacks.
    """
    _check_params(params, method)
    for name in refused:
        if name in params:
            raise TypeError(f"{method}() got an unexpected keyword argument {name!r}")
    given = {*params, *also}
    missing = [repr(name) for name in required if name not in given]
    if missing:
        names = (
            missing[0]
            if len(missing) == 1
            else f"{missing[0]} and {missing[1]}"
            if len(missing) == 2
            else f"{', '.join(missing[:-1])}, and {missing[-1]}"
        )
        plural = "argument" if len(missing) == 1 else "arguments"
        raise TypeError(f"{method}() missing {len(missing)} required keyword-only {plural}: {names}")


_BODY_ORDER = (
    "messages",
    "model",
    "logprobs",
    "max_tokens",
    "n",
    "response_format",
    "stop",
    "stream",
    "stream_options",
    "temperature",
    "tool_choice",
    "tools",
    "top_p",
)
"""The body keys in the order the SDK writes them, so our request bytes equal its own."""


# --- streams --------------------------------------------------------------------------------------


class Stream(Generic[_ModelT]):
    """The chunks of one streamed response, read as they arrive.

    Iterate it once. The response is closed when the stream ends, fails, or
    is closed early. Errors while reading the body (a dropped connection, a
    read timeout) are httpx's own exceptions, exactly as the SDK lets them
    through.
    """

    response: httpx.Response

    def __init__(self, *, cast_to: type[_ModelT], response: httpx.Response, strict: bool = False) -> None:
        self.response = response
        self._decoder = ChunkDecoder(response, cast_to, strict=strict)
        self._iterator = self._stream()

    def __next__(self) -> _ModelT:
        return next(self._iterator)

    def __iter__(self) -> Iterator[_ModelT]:
        return self._iterator

    def _stream(self) -> Iterator[_ModelT]:
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


class AsyncStream(Generic[_ModelT]):
    """The async twin of :class:`Stream`: the same decoder, read with ``aiter_bytes``."""

    response: httpx.Response

    def __init__(self, *, cast_to: type[_ModelT], response: httpx.Response, strict: bool = False) -> None:
        self.response = response
        self._decoder = ChunkDecoder(response, cast_to, strict=strict)
        self._iterator = self._stream()

    async def __anext__(self) -> _ModelT:
        return await self._iterator.__anext__()

    def __aiter__(self) -> AsyncIterator[_ModelT]:
        return self._iterator

    async def _stream(self) -> AsyncIterator[_ModelT]:
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


# --- the attempt loop, once, as I/O actions ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Send:
    request: httpx.Request


@dataclass(frozen=True, slots=True)
class _Sleep:
    seconds: float


@dataclass(frozen=True, slots=True)
class _Read:
    response: httpx.Response


@dataclass(frozen=True, slots=True)
class _Close:
    response: httpx.Response


_Action = _Send | _Sleep | _Read | _Close
_Exchange = Generator[_Action, "httpx.Response | Exception | None", tuple[httpx.Response, int]]


def _exchange(build: Callable[[int], httpx.Request], max_retries: int) -> _Exchange:
    """The SDK's attempt loop: send, and on a retryable failure wait and send again.

    Yields the I/O to perform and receives its outcome: for ``_Send`` the
    response or the exception the send raised, for the others None. Returns
    the first 2xx response and how many retries it took; raises the SDK's error once
    retries run out.
    """
    for retries_taken in range(max_retries + 1):
        remaining = max_retries - retries_taken
        request = build(retries_taken)
        outcome = yield _Send(request)
        if isinstance(outcome, Exception):
            if remaining > 0:
                yield _Sleep(_retry.retry_delay(retries_taken, None))
                continue
            if isinstance(outcome, httpx.TimeoutException):
                raise APITimeoutError(request=request) from outcome
            raise APIConnectionError(request=request) from outcome
        assert outcome is not None
        response = outcome
        if response.is_success:
            return response, retries_taken
        if remaining > 0 and _retry.should_retry_status(response.status_code, response.headers):
            yield _Close(response)
            yield _Sleep(_retry.retry_delay(retries_taken, response.headers))
            continue
        if not response.is_closed:
            yield _Read(response)
        raise _status_error(response) from None
    raise AssertionError("unreachable: the last attempt always returns or raises")


def _status_error(response: httpx.Response) -> APIStatusError:
    """The SDK's exception for an error response: its class, message format and decoded body."""
    body: object
    if response.is_closed and not response.is_stream_consumed:
        body = None
        message = f"Error code: {response.status_code}"
    else:
        text = response.text.strip()
        body = text
        try:
            body = json.loads(text)
            message = f"Error code: {response.status_code} - {body}"
        except (ValueError, RecursionError):
            # A body nested past the recursion limit is the SDK's error too: raw text as message.
            message = text or f"Error code: {response.status_code}"
    return status_error_class(response.status_code)(message, response=response, body=body)


def _completion(response: httpx.Response, *, strict: bool = False) -> ChatCompletion:
    """The body of a ``stream: false`` reply as a ``ChatCompletion``.

    As for chunks, a JSON object off the schema is kept as given (the SDK builds
    it without validating) unless ``strict`` (``_strict_response_validation``).
    """
    try:
        return ChatCompletion.model_validate_json(response.content, strict=None if strict else True)
    except pydantic.ValidationError as exc:
        if not strict:
            try:
                body = json.loads(response.content)
            except ValueError:
                body = None
            if isinstance(body, dict):
                return construct_loosely(ChatCompletion, body)
        text = response.text
        shown = text if len(text) <= 200 else f"{text[:160]}… ({len(text) - 160} more characters)"
        request = response.request
        raise APIResponseValidationError(
            response,
            text,
            message=(
                f"The {response.status_code} reply to {request.method} {request.url} is not a chat "
                f"completion: {exc.errors(include_url=False)[0]['msg']}; the body was {shown!r}. "
                "A `stream: false` reply must be one JSON chat.completion object; fix the server, "
                "script or cassette that sent it."
            ),
        ) from None


# --- configuration and request building, shared by both clients --------------------------------------


def _json_default(value: object) -> object:
    """Encode what the SDK's encoder encodes beyond plain JSON: models, dates, other iterables."""
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(exclude_unset=True, mode="json", by_alias=True)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Iterable) and not isinstance(value, (str, bytes, Mapping)):
        return list(value)
    raise TypeError(
        f"A request field holds a {type(value).__name__}, which cannot be sent as JSON; "
        "pass dicts, lists, str, numbers, bool or None (or a pydantic model)."
    )


def _encode_body(body: Mapping[str, object]) -> bytes:
    return json.dumps(
        body, default=_json_default, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode()


@functools.cache
def _platform_headers(version: str) -> tuple[tuple[str, str], ...]:
    """The ``X-Stainless-*`` description of this process, as the SDK sends it."""
    system = platform.system().lower()
    os_name = {
        "darwin": "MacOS",
        "windows": "Windows",
        "linux": "Linux",
        "freebsd": "FreeBSD",
        "openbsd": "OpenBSD",
    }.get(system, f"Other:{system}" if system else "Unknown")
    machine = platform.machine().lower()
    if machine in ("arm64", "aarch64"):
        arch = "arm64"
    elif machine == "x86_64":
        arch = "x64"
    elif machine == "arm":
        arch = "arm"
    elif sys.maxsize <= 2**32:
        arch = "x32"
    else:
        arch = f"other:{machine}" if machine else "unknown"
    return (
        ("X-Stainless-Lang", "python"),
        ("X-Stainless-Package-Version", version),
        ("X-Stainless-OS", os_name),
        ("X-Stainless-Arch", arch),
        ("X-Stainless-Runtime", platform.python_implementation()),
        ("X-Stainless-Runtime-Version", platform.python_version()),
    )


def _async_library() -> str:
    """What the SDK puts after ``async:`` in ``X-Stainless-Async``."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        return "asyncio"
    trio = sys.modules.get("trio")
    if trio is not None:
        try:
            trio.lowlevel.current_task()
        except RuntimeError:
            pass
        else:
            return "trio"
    return "false"


def _env_headers() -> dict[str, str]:
    """``WRITER_CUSTOM_HEADERS``: one ``Name: value`` per line, as the SDK reads it."""
    parsed: dict[str, str] = {}
    for line in os.environ.get("WRITER_CUSTOM_HEADERS", "").split("\n"):
        name, colon, value = line.partition(":")
        if colon:
            parsed[name.strip()] = value.strip()
    return parsed


_HttpT = TypeVar("_HttpT", httpx.Client, httpx.AsyncClient)


class _BaseWriter(Generic[_HttpT]):
    """Configuration and request building: everything both clients do without I/O."""

    api_key: str
    max_retries: int
    timeout: float | httpx.Timeout | None
    _http: _HttpT
    _http_class: type[_HttpT]
    _sleep: Callable[[float], object]

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | httpx.URL | None,
        timeout: float | httpx.Timeout | NotGiven | None,
        max_retries: int,
        default_headers: Mapping[str, str] | None,
        default_query: Mapping[str, object] | None,
        http_client: _HttpT | None,
        _strict_response_validation: bool,
    ) -> None:
        kind = self._http_class
        if http_client is not None and not isinstance(http_client, kind):
            raise TypeError(
                f"Invalid `http_client` argument; Expected an instance of `httpx.{kind.__name__}` but got "
                f"{type(http_client)}"
            )
        if api_key is None:
            api_key = os.environ.get("WRITER_API_KEY")
        if api_key is None:
            raise WriterError(
                "The api_key client option must be set either by passing api_key to the client "
                "or by setting the WRITER_API_KEY environment variable"
            )
        if max_retries is None:  # callers without type checks
            raise TypeError(
                "max_retries cannot be None. If you want to disable retries, pass `0`; if you want "
                "the default behavior, pass `writer_stream_testkit.client.DEFAULT_MAX_RETRIES`."
            )
        if base_url is None:
            # As in writerai, a set but empty WRITER_BASE_URL is the base URL: every request then
            # fails to connect, and nothing falls back to the real API.
            base_url = os.environ.get("WRITER_BASE_URL")
        if base_url is None:
            base_url = "https://api.writer.com"
        if is_left_out(timeout):
            if http_client is not None and http_client.timeout != _HTTPX_DEFAULT_TIMEOUT:
                timeout = http_client.timeout
            else:
                timeout = DEFAULT_TIMEOUT

        self.api_key = api_key
        self.base_url = base_url
        self.timeout = cast("float | httpx.Timeout | None", timeout)
        self.max_retries = max_retries
        self._strict_response_validation = _strict_response_validation
        self._custom_headers = {**_env_headers(), **(default_headers or {})}
        self._custom_query = dict(default_query or {})
        self._http = http_client or kind(
            timeout=self.timeout, limits=_retry.DEFAULT_CONNECTION_LIMITS, follow_redirects=True
        )

    @property
    def base_url(self) -> httpx.URL:
        return self._base_url

    @base_url.setter
    def base_url(self, url: str | httpx.URL) -> None:
        url = httpx.URL(url)
        if not url.raw_path.endswith(b"/"):
            url = url.copy_with(raw_path=url.raw_path + b"/")
        self._base_url = url
        self._chat_url = url.copy_with(raw_path=url.raw_path + _CHAT_PATH)

    def _default_headers(self) -> dict[str, str]:
        from ._version import __version__

        return {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": f"{type(self).__name__}/Python {__version__}",
            **dict(_platform_headers(__version__)),
            "Authorization": f"Bearer {self.api_key}",
            **self._custom_headers,
            "X-Stainless-Async": self._async_header(),
            **self._custom_headers,
        }

    def _async_header(self) -> str:
        return "false"

    def _request_builder(
        self, body: Mapping[str, object], params: ChatParams
    ) -> Callable[[int], httpx.Request]:
        """A function from the retry count to the request of that attempt.

        The body is serialised once; only the ``x-stainless-retry-count`` header
        changes between attempts, as in the SDK.
        """
        extra_body = params.get("extra_body")
        content = _encode_body({**body, **extra_body} if extra_body else body)
        extra_headers = params.get("extra_headers") or {}
        merged = {**self._default_headers(), **extra_headers}
        # writerai's `omit` as a header's value removes that header (a default one too).
        headers = httpx.Headers(
            {name: value for name, value in merged.items() if not is_left_out(value)}, encoding="utf-8"
        )
        given = {name.lower() for name in extra_headers}
        given_timeout = params.get("timeout", NOT_GIVEN)
        timeout = (
            self.timeout
            if is_left_out(given_timeout)
            else cast("float | httpx.Timeout | None", given_timeout)
        )
        read = timeout.read if isinstance(timeout, httpx.Timeout) else timeout
        read_timeout = None if read is None or "x-stainless-read-timeout" in given else str(read)
        count_given = "x-stainless-retry-count" in given
        query = {**self._custom_query, **(params.get("extra_query") or {})}
        url = self._chat_url
        extensions = {"sni_hostname": url.host.replace("_", "-")} if "_" in url.host else None
        http = self._http

        def build(retries_taken: int) -> httpx.Request:
            attempt_headers = headers.copy()
            if not count_given:
                attempt_headers["x-stainless-retry-count"] = str(retries_taken)
            if read_timeout is not None:
                attempt_headers["x-stainless-read-timeout"] = read_timeout
            return http.build_request(
                "POST",
                url,
                headers=attempt_headers,
                params=query or None,  # type: ignore[arg-type]
                content=content,
                timeout=timeout,
                extensions=extensions,
            )

        return build

    def copy(
        self,
        *,
        api_key: str | None = None,
        base_url: str | httpx.URL | None = None,
        timeout: float | httpx.Timeout | NotGiven | None = NOT_GIVEN,
        http_client: _HttpT | None = None,
        max_retries: int | NotGiven = NOT_GIVEN,
        default_headers: Mapping[str, str] | None = None,
        set_default_headers: Mapping[str, str] | None = None,
        default_query: Mapping[str, object] | None = None,
        set_default_query: Mapping[str, object] | None = None,
        _extra_kwargs: Mapping[str, Any] = {},
    ) -> Self:
        """A new client with this one's options except those given, as writerai's ``copy``.

        ``default_headers`` / ``default_query`` add to this client's, ``set_default_*``
        replace them. An empty ``api_key`` or ``base_url`` keeps this client's; the HTTP
        client is shared. As in writerai the copy validates responses strictly only when
        asked (``_extra_kwargs={"_strict_response_validation": True}``); the kit's ``_sleep``
        is kept.
        """
        if default_headers is not None and set_default_headers is not None:
            raise ValueError(
                "The `default_headers` and `set_default_headers` arguments are mutually exclusive"
            )
        if default_query is not None and set_default_query is not None:
            raise ValueError("The `default_query` and `set_default_query` arguments are mutually exclusive")
        headers: Mapping[str, str] = self._custom_headers
        if default_headers is not None:
            headers = {**headers, **default_headers}
        elif set_default_headers is not None:
            headers = set_default_headers
        query: Mapping[str, object] = self._custom_query
        if default_query is not None:
            query = {**query, **default_query}
        elif set_default_query is not None:
            query = set_default_query
        kwargs: dict[str, Any] = {
            "api_key": api_key or self.api_key,
            "base_url": base_url or self.base_url,
            "timeout": self.timeout if is_left_out(timeout) else timeout,
            "http_client": http_client or self._http,
            # None is passed on, so the constructor refuses it as writerai's does.
            "max_retries": self.max_retries if is_left_out(max_retries) else max_retries,
            "default_headers": headers,
            "default_query": query,
            "_sleep": self._sleep,
            **_extra_kwargs,
        }
        return type(self)(**kwargs)

    with_options = copy

    def is_closed(self) -> bool:
        return self._http.is_closed


def _chat_body(params: ChatParams, response_format: object, stream: object) -> dict[str, object]:
    """The JSON body in the SDK's key order, with left-out fields left out."""
    given: Mapping[str, object] = {**params, "response_format": response_format, "stream": stream}
    return {key: given[key] for key in _BODY_ORDER if key in given and not is_left_out(given[key])}


def given_tools(params: ChatParams) -> list[Mapping[str, Any]]:
    """The request's tools as a list ([] when left out), read once: a generator is sent and parsed alike."""
    tools = params.get("tools", NOT_GIVEN)
    return [] if is_left_out(tools) else list(cast("Iterable[Mapping[str, Any]]", tools))


def stream_arguments(
    response_format: type[Any] | Mapping[str, Any] | NotGiven, params: ChatParams
) -> tuple[ChatParams, Mapping[str, Any] | NotGiven, type[Any] | None]:
    """``chat.stream``'s request parameters, the body's ``response_format``, and the class to parse into.

    Like the SDK's ``stream``, it marks the request with
    ``X-Stainless-Helper-Method: chat.stream`` (a caller's own value wins). A
    response_format class is sent as its strict JSON schema and, as the SDK's
    ``parse`` does before parsing, the tools must then be strict function tools.
    A response_format dict is sent as given and parses nothing.
    """
    params = params.copy()
    params["extra_headers"] = {
        "X-Stainless-Helper-Method": "chat.stream",
        **(params.get("extra_headers") or {}),
    }
    if "tools" in params and not is_left_out(params["tools"]):
        params["tools"] = given_tools(params)  # read twice below, so no one-shot iterators
    if isinstance(response_format, type):
        validate_input_tools(given_tools(params))
        body_format = cast("Mapping[str, Any]", type_to_response_format_param(response_format))
        return params, body_format, response_format
    return params, response_format, None


def parse_arguments(
    response_format: type[Any] | Mapping[str, Any], params: ChatParams
) -> tuple[ChatParams, Mapping[str, Any]]:
    """``chat.parse``'s request parameters and the body's ``response_format``, as writerai's ``parse``.

    The tools must be strict function tools (checked before anything is sent), and the
    class is sent as its strict JSON schema.
    """
    params = params.copy()
    if "tools" in params and not is_left_out(params["tools"]):
        params["tools"] = given_tools(params)
    validate_input_tools(given_tools(params))
    return params, cast("Mapping[str, Any]", type_to_response_format_param(response_format))

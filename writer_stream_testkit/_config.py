"""Configuration and request building, everything both clients do without I/O.

The constructor's options and environment variables, the headers writerai sends (the
``X-Stainless-*`` family among them), the request of each attempt, and ``copy()``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import platform
import sys
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

import httpx
import pydantic
from typing_extensions import Self

from . import _retry
from ._sentinels import NOT_GIVEN, NotGiven, is_left_out
from .errors import WriterError

if TYPE_CHECKING:
    from ._arguments import ChatParams

__all__ = [
    "CHAT_PATH",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "HTTPX_DEFAULT_TIMEOUT",
    "BaseWriter",
    "HttpT",
    "async_library",
    "encode_body",
    "env_headers",
    "json_default",
    "platform_headers",
]

DEFAULT_MAX_RETRIES = _retry.DEFAULT_MAX_RETRIES
DEFAULT_TIMEOUT = _retry.DEFAULT_TIMEOUT

HTTPX_DEFAULT_TIMEOUT = httpx.Timeout(5.0)
CHAT_PATH = b"v1/chat"


def json_default(value: object) -> object:
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


def encode_body(body: Mapping[str, object]) -> bytes:
    return json.dumps(
        body, default=json_default, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode()


@functools.cache
def platform_headers(version: str) -> tuple[tuple[str, str], ...]:
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


def async_library() -> str:
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


def env_headers() -> dict[str, str]:
    """``WRITER_CUSTOM_HEADERS``: one ``Name: value`` per line, as the SDK reads it."""
    parsed: dict[str, str] = {}
    for line in os.environ.get("WRITER_CUSTOM_HEADERS", "").split("\n"):
        name, colon, value = line.partition(":")
        if colon:
            parsed[name.strip()] = value.strip()
    return parsed


HttpT = TypeVar("HttpT", httpx.Client, httpx.AsyncClient)


class BaseWriter(Generic[HttpT]):
    """Configuration and request building: everything both clients do without I/O."""

    api_key: str
    max_retries: int
    timeout: float | httpx.Timeout | None
    _http: HttpT
    _http_class: type[HttpT]
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
        http_client: HttpT | None,
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
            if http_client is not None and http_client.timeout != HTTPX_DEFAULT_TIMEOUT:
                timeout = http_client.timeout
            else:
                timeout = DEFAULT_TIMEOUT

        self.api_key = api_key
        self.base_url = base_url
        self.timeout = cast("float | httpx.Timeout | None", timeout)
        self.max_retries = max_retries
        self._strict_response_validation = _strict_response_validation
        self._custom_headers = {**env_headers(), **(default_headers or {})}
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
        self._chat_url = url.copy_with(raw_path=url.raw_path + CHAT_PATH)

    def _default_headers(self) -> dict[str, str]:
        from ._version import __version__

        return {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": f"{type(self).__name__}/Python {__version__}",
            **dict(platform_headers(__version__)),
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
        fields = {**body, **extra_body} if extra_body else body
        # As writerai merges extra_body: a top-level marker there leaves that key out (one of the
        # body's too); one nested deeper is refused by the encoder, as in writerai.
        content = encode_body({key: value for key, value in fields.items() if not is_left_out(value)})
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
        http_client: HttpT | None = None,
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

"""``WriterMock``: the Writer API, answered in-process through respx.

The mock claims only requests to the Writer base URLs. ``POST {base}/v1/chat``
is answered from a :class:`~writer_stream_testkit._replies.ReplyQueue` and the
plan it returns is played by :mod:`._execute`, so pauses, stalls, disconnects
and refused connections reach the client as the httpx exceptions a real socket
would raise. Requests to other hosts are left to any other respx router in
play (respx's own strictness applies to them); other Writer paths go to the
user's respx routes if one matches, else get a Writer-shaped 404.

Why not raise on an unexpected request: an exception raised inside the
transport is retried by the SDK and resurfaces as ``APIConnectionError``, which
hides the cause. The mock answers a non-retryable error naming the request
instead, and :meth:`WriterMock.verify` fails the test when the block ends.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import httpx
import respx
from respx.models import AllMockedAssertionError

from ._execute import arun_head, build_response, run_head
from ._replies import Call, QueuedDouble
from .errors import ScriptError
from .plan import ResponsePlan, Write

__all__ = ["DEFAULT_BASE_URL", "WriterMock"]

DEFAULT_BASE_URL = "https://api.writer.com"
"""Where ``writerai.Writer()`` sends requests when neither ``base_url`` nor ``WRITER_BASE_URL`` is set."""

CHAT_PATH = "/v1/chat"

_F = TypeVar("_F", bound=Callable[..., Any])


@dataclass(frozen=True)
class _Base:
    """One intercepted base URL: scheme, host, port and path prefix, compared as httpx parses them."""

    url: str
    scheme: str
    host: str
    port: int | None
    prefix: str

    @classmethod
    def parse(cls, url: str) -> _Base:
        parsed = httpx.URL(url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ScriptError(
                f"Cannot mock the Writer API at base_url={url!r}: it must be an absolute http(s) URL "
                "such as 'https://api.writer.com', exactly as the client is given it."
            )
        prefix = parsed.path.rstrip("/")
        return cls(
            str(parsed.copy_with(path=prefix or "/")).rstrip("/"),
            parsed.scheme,
            parsed.host,
            parsed.port,
            prefix,
        )

    def owns(self, url: httpx.URL) -> bool:
        if (url.scheme, url.host, url.port) != (self.scheme, self.host, self.port):
            return False
        return url.path == self.prefix or url.path.startswith(self.prefix + "/")


class _Router(respx.MockRouter):
    """A respx router that hands every request to its ``WriterMock``.

    respx calls ``handler`` from sync clients and ``async_handler`` from async
    ones, which is exactly the split the plan executor needs to know how to wait.
    """

    def __init__(self, mock: WriterMock) -> None:
        super().__init__(assert_all_called=False, assert_all_mocked=True)
        self._mock = mock

    def _later_routers(self) -> list[respx.Router]:
        """Routers registered after this one: respx has not offered them the request yet."""
        routers: list[respx.Router] = list(self.Mocker.routers) if self.Mocker else []
        return routers[routers.index(self) + 1 :] if self in routers else []

    def handler(self, request: httpx.Request) -> httpx.Response:
        base = self._mock._owner(request)
        if not self._mock._is_chat(request, base):
            for router in self._later_routers():
                try:
                    return router.handler(request)
                except AllMockedAssertionError:
                    continue
        plan = self._mock._plan_for(request, base)
        run_head(plan, request)
        return build_response(plan, request)

    async def async_handler(self, request: httpx.Request) -> httpx.Response:
        base = self._mock._owner(request)
        if not self._mock._is_chat(request, base):
            for router in self._later_routers():
                try:
                    return await router.async_handler(request)
                except AllMockedAssertionError:
                    continue
        plan = self._mock._plan_for(request, base)
        await arun_head(plan, request)
        return build_response(plan, request)


class WriterMock(QueuedDouble):
    """The Writer API, in-process: queue replies, run the code under test, check the calls.

    Intercepts ``writerai.Writer`` / ``AsyncWriter`` and this kit's clients (any
    httpx client on the default transport) for ``https://api.writer.com``, for
    ``WRITER_BASE_URL`` when it is set (the SDK reads it too), and for every
    ``base_url`` given. Strict by default, like respx: a request with no queued
    reply (``assert_all_mocked``) and a reply never requested
    (``assert_all_called``) fail :meth:`verify`, which runs when a ``with`` block
    or decorated function ends without an exception.
    """

    def __init__(
        self,
        *,
        base_url: str | Sequence[str] | None = None,
        assert_all_called: bool = True,
        assert_all_mocked: bool = True,
    ) -> None:
        given = [base_url] if isinstance(base_url, str) else list(base_url or ())
        env = os.environ.get("WRITER_BASE_URL")
        urls = [*given, *([env] if env else []), DEFAULT_BASE_URL]
        bases: list[_Base] = []
        for url in urls:
            base = _Base.parse(url)
            if base not in bases:
                bases.append(base)
        super().__init__()
        self._bases = tuple(bases)
        self._assert_all_called = assert_all_called
        self._assert_all_mocked = assert_all_mocked
        self._router = _Router(self)

    # --- the WriterDouble face (reply, calls, reset and the with block come from QueuedDouble) ----

    @property
    def base_url(self) -> str:
        """The base URL to give a client: the first one passed, else ``WRITER_BASE_URL``, else the default."""
        return self._bases[0].url

    @property
    def base_urls(self) -> tuple[str, ...]:
        """Every base URL this mock answers for."""
        return tuple(base.url for base in self._bases)

    def verify(self) -> None:
        """Fail if a request had no reply or a queued reply was never used, as configured.

        Raises :class:`UnexpectedRequestError` or :class:`UnusedRepliesError`
        (both ``AssertionError``) naming the requests and the replies queued.
        """
        self._queue.verify(
            unexpected=self._assert_all_mocked,
            unused=self._assert_all_called,
            served_by="WriterMock",
            advice=(
                f"WriterMock serves only POST {{base}}{CHAT_PATH}. Mock other Writer endpoints with "
                "your own respx routes, which WriterMock defers to."
            ),
        )

    # --- context manager and decorator ------------------------------------------------------------

    def start(self) -> WriterMock:
        """Start intercepting; prefer ``with WriterMock() as mock:``, which also verifies."""
        self._router.start()
        return self

    def stop(self) -> None:
        """Stop intercepting, without verifying."""
        self._router.stop(quiet=True)

    def __call__(self, func: _F) -> _F:
        """Decorate a sync or async function to run inside this mock, verifying after it.

        As with ``@respx.mock``, the mock is passed as ``writer_mock=`` when the
        function has a parameter of that name; pytest then does not treat it as
        a fixture request.
        """
        signature = inspect.signature(func)
        inject = "writer_mock" in signature.parameters
        target: Callable[..., Any] = functools.partial(func, writer_mock=self) if inject else func

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                async with self:
                    return await cast(Callable[..., Awaitable[Any]], target)(*args, **kwargs)

            wrapper: Callable[..., Any] = async_wrapper
        else:

            @functools.wraps(func)
            def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
                with self:
                    return target(*args, **kwargs)

            wrapper = sync_wrapper
        if inject:
            params = [p for name, p in signature.parameters.items() if name != "writer_mock"]
            wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        return cast(_F, wrapper)

    # --- request handling (called by _Router) -----------------------------------------------------

    def _owner(self, request: httpx.Request) -> _Base:
        for base in self._bases:
            if base.owns(request.url):
                return base
        hosts = ", ".join(self.base_urls)
        raise AllMockedAssertionError(
            f"RESPX: {request!r} not mocked! WriterMock answers only the Writer API at {hosts}, "
            "and no other respx route matched this request. Mock it with respx, let it through with "
            "respx.route(host=...).pass_through(), or pass its base URL to WriterMock(base_url=...)."
        )

    @staticmethod
    def _is_chat(request: httpx.Request, base: _Base) -> bool:
        return request.method == "POST" and request.url.path == base.prefix + CHAT_PATH

    def _plan_for(self, request: httpx.Request, base: _Base) -> ResponsePlan:
        call = Call.from_httpx(request)
        if self._is_chat(request, base):
            return self._queue.take(call)
        self._queue.record(call, stray=True)
        return _not_found_plan(call, base)


def _not_found_plan(call: Call, base: _Base) -> ResponsePlan:
    body = {
        "tpe": "NotFoundError",
        "errors": [
            {
                "description": (
                    f"writer-stream-testkit: WriterMock serves only POST {base.url}{CHAT_PATH}, "
                    f"not {call.method} {call.path}. Mock this endpoint with a respx route."
                ),
                "key": "writer_stream_testkit.not_mocked",
                "extras": {},
            }
        ],
        "extras": {},
    }
    data = json.dumps(body).encode()
    return ResponsePlan(
        status=404,
        headers=(
            ("content-type", "application/json"),
            ("content-length", str(len(data))),
            ("x-should-retry", "false"),
        ),
        steps=(Write(data),),
        reason="WriterMock does not serve this endpoint",
    )

"""Which requests an in-process double claims: the Writer base URLs it owns, and what it leaves alone.

``WriterMock`` and ``Cassette`` both intercept every httpx request through respx
and must agree on what "the Writer API" is: the base URLs given to them, then
``WRITER_BASE_URL`` as it was when the double was built and as it is at each
request (the SDK reads it when a client is created, which may be later), then
the default. A request to another host is first offered to the respx routers
registered after the double; when none answers, a loopback host passes through
(it is the test's own server, such as a ``FakeWriterServer``), and any other
host is the double's to refuse with a non-retryable error. Raising inside the
transport instead would make ``writerai`` retry for minutes.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass

import httpx
import respx
from respx.models import AllMockedAssertionError, PassThrough, Route

from ..errors import ScriptError

__all__ = [
    "CHAT_PATH",
    "DEFAULT_BASE_URL",
    "Base",
    "BaseURLs",
    "aanswer_from_later",
    "answer_from_later",
    "guess_base",
    "http_url",
    "is_loopback",
    "pass_through",
]

CHAT_PATH = "/v1/chat"
"""The chat endpoint, below a base URL (every endpoint is in ``wire.endpoints``)."""

DEFAULT_BASE_URL = "https://api.writer.com"
"""Where ``writerai.Writer()`` sends requests when neither ``base_url`` nor ``WRITER_BASE_URL`` is set."""


def http_url(url: object) -> httpx.URL | None:
    """``url`` parsed, if it is an absolute http(s) URL with a host; ``None`` otherwise."""
    try:
        parsed = httpx.URL(url) if isinstance(url, str) else None
    except httpx.InvalidURL:
        return None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        return None
    return parsed


@dataclass(frozen=True)
class Base:
    """One intercepted base URL: scheme, host, port and path prefix, compared as httpx parses them."""

    url: str
    scheme: str
    host: str
    port: int | None
    prefix: str

    @classmethod
    def parse(cls, url: str) -> Base:
        parsed = http_url(url)
        if parsed is None:
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


class BaseURLs:
    """The base URLs one double answers for: given ones, ``WRITER_BASE_URL`` then and now, the default."""

    def __init__(self, given: str | Sequence[str] | None = None) -> None:
        urls = [given] if isinstance(given, str) else list(given or ())
        bases: list[Base] = []
        for url in urls:
            base = Base.parse(url)
            if base not in bases:
                bases.append(base)
        self._given = bases
        env = os.environ.get("WRITER_BASE_URL")
        self._env_at_start = Base.parse(env) if env else None

    def add(self, url: str) -> None:
        """Answer for ``url`` too, from now on."""
        base = Base.parse(url)
        if base not in self._given:
            self._given = [*self._given, base]

    def now(self) -> list[Base]:
        """The given base URLs, then ``WRITER_BASE_URL`` as it was at the start and as it is now, then the default."""
        bases = list(self._given)
        if self._env_at_start is not None and self._env_at_start not in bases:
            bases.append(self._env_at_start)
        env = os.environ.get("WRITER_BASE_URL")
        for url in [*([env] if env else []), DEFAULT_BASE_URL]:
            try:
                base = Base.parse(url)
            except ScriptError:  # set to nonsense mid-test: the client cannot use it either
                continue
            if base not in bases:
                bases.append(base)
        return bases

    def owner(self, url: httpx.URL) -> Base | None:
        """The base URL ``url`` falls under, or ``None`` when it is not the Writer API as this double knows it."""
        for base in self.now():
            if base.owns(url):
                return base
        return None


def guess_base(url: httpx.URL) -> str:
    """The base URL a client probably used for ``url``: everything before ``/v1/``, else the origin."""
    path = url.path
    cut = path.find("/v1/")
    return str(url.copy_with(path=path[:cut] if cut > 0 else "/", query=None, fragment=None)).rstrip("/")


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine (``localhost``, ``127.0.0.0/8``, ``::1``)."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def pass_through(
    request: httpx.Request, double: str, because: str = "loopback hosts are the test's own servers"
) -> PassThrough:
    """The exception that makes respx send ``request`` on to the network, saying which double let it and why."""
    return PassThrough(
        f"{double} lets {request.method} {request.url} through: {because}.", request=request, origin=Route()
    )


def _later_routers(router: respx.MockRouter) -> list[respx.Router]:
    """Routers registered after ``router``: respx has not offered them the request yet.

    respx offers a request to its routers in turn and stops at the first that
    answers, so a double that defers asks the later ones itself, and answers
    only if none does.
    """
    routers: list[respx.Router] = list(router.Mocker.routers) if router.Mocker else []
    return routers[routers.index(router) + 1 :] if router in routers else []


def answer_from_later(router: respx.MockRouter, request: httpx.Request) -> httpx.Response | None:
    """The first answer a respx router registered after ``router`` gives ``request``, or ``None``."""
    for later in _later_routers(router):
        try:
            return later.handler(request)
        except AllMockedAssertionError:
            continue
    return None


async def aanswer_from_later(router: respx.MockRouter, request: httpx.Request) -> httpx.Response | None:
    """:func:`answer_from_later` for async clients, whose routers answer through ``async_handler``."""
    for later in _later_routers(router):
        try:
            return await later.async_handler(request)
        except AllMockedAssertionError:
            continue
    return None

"""Which requests an in-process double claims: the Writer base URLs it owns, and what it leaves alone.

``WriterMock`` and ``Cassette`` both intercept every httpx request through respx
and must agree on what "the Writer API" is: the base URLs given to them, then
``WRITER_BASE_URL`` as it was when the double was built and as it is at each
request (the SDK reads it when a client is created, which may be later), then
the default. When doubles are nested, the innermost one started that serves a
request's host answers it (:class:`DoubleRouter`). A request to another host is
first offered to the user's respx routers; when none answers, a loopback host
passes through (it is the test's own server, such as a ``FakeWriterServer``),
and any other host is the innermost double's to refuse with a non-retryable
error. Raising inside the transport instead would make ``writerai`` retry for
minutes.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import httpx
import respx
from respx.models import AllMockedAssertionError, PassThrough, Route

from ..errors import ScriptError
from ..scripts.plan import ResponsePlan
from .execute import aarrival, arrival, arun_head, build_response, run_head
from .flow import Flow, Need, adrive, drive

__all__ = [
    "DEFAULT_BASE_URL",
    "Base",
    "BaseURLs",
    "DoubleRouter",
    "IgnoredHosts",
    "aanswer_from_routes",
    "answer_from_routes",
    "guess_base",
    "http_url",
    "is_loopback",
    "pass_through",
    "running_doubles",
]


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
        env = os.environ.get("WRITER_BASE_URL")
        urls = [*([self._env_at_start.url] if self._env_at_start else []), *([env] if env else [])]
        for url in [*urls, DEFAULT_BASE_URL]:
            try:
                base = Base.parse(url)
            except ScriptError:  # set to nonsense mid-test: the client cannot use it either
                continue
            # the writer_server fixture points WRITER_BASE_URL at its server: that server answers it
            if base not in bases and (url == DEFAULT_BASE_URL or not running_doubles.serves(httpx.URL(url))):
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


def _effective_port(url: httpx.URL) -> int:
    return url.port if url.port is not None else (443 if url.scheme == "https" else 80)


class IgnoredHosts:
    """Hosts a cassette leaves alone (``ignore_hosts=``): ``"host"`` (any port), ``"host:port"``, or a URL.

    They are not the Writer API, so their requests pass through, never recorded
    and never refused; vcrpy and pytest-recording users know the option by this name.
    """

    def __init__(self, entries: Sequence[str] = ()) -> None:
        if isinstance(entries, str):
            entries = [entries]
        hosts: list[tuple[str, int | None]] = []
        for entry in entries:
            parsed = http_url(entry if "://" in str(entry) else f"http://{entry}")
            if not isinstance(entry, str) or parsed is None or parsed.path not in ("", "/"):
                raise ValueError(
                    f"ignore_hosts entry {entry!r} is not a host; write 'localhost', '127.0.0.1:8000', "
                    "'[::1]:8000' or 'http://127.0.0.1:8000', with no path."
                )
            explicit = "://" not in entry and entry.rsplit("]", 1)[-1].count(":") == 1
            port = _effective_port(parsed) if parsed.port is not None or explicit else None
            hosts.append((parsed.host, port))
        self._hosts = tuple(hosts)

    def covers(self, url: httpx.URL) -> bool:
        """Whether ``url`` goes to an ignored host."""
        return any(
            url.host == host and (port is None or _effective_port(url) == port) for host, port in self._hosts
        )


class RunningDoubles:
    """The ports this process's ``FakeWriterServer``s listen on: loopback hosts that are the kit's own.

    A recording cassette lets a request to one of them pass through quietly (a
    test driving its ``writer_server`` while recording is fine); a request to
    any other loopback host it does not own would vanish from the recording, so
    the cassette fails instead (see ``Cassette._unowned``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ports: Counter[int] = Counter()

    def add(self, port: int) -> None:
        with self._lock:
            self._ports[port] += 1

    def discard(self, port: int) -> None:
        with self._lock:
            if self._ports[port] > 1:
                self._ports[port] -= 1
            else:
                self._ports.pop(port, None)

    def serves(self, url: httpx.URL) -> bool:
        """Whether ``url`` goes to one of the kit's running servers (a loopback host on one of their ports)."""
        if not is_loopback(url.host):
            return False
        with self._lock:
            return _effective_port(url) in self._ports


running_doubles = RunningDoubles()
"""Every ``FakeWriterServer`` running in this process, by port; servers add and remove themselves."""


def pass_through(
    request: httpx.Request, double: str, because: str = "loopback hosts are the test's own servers"
) -> PassThrough:
    """The exception that makes respx send ``request`` on to the network, saying which double let it and why."""
    return PassThrough(
        f"{double} lets {request.method} {request.url} through: {because}.", request=request, origin=Route()
    )


class DoubleRouter(respx.MockRouter):
    """The respx router behind one in-process double; among nested doubles, the innermost answers.

    respx offers a request to its routers in the order they started and stops at
    the first that answers, and a double answers whatever it is offered, so left
    to respx the outermost double would answer everything. Instead the double
    respx asks hands the request to the innermost started double that serves its
    host (:meth:`claims`), else to the innermost double of all, which refuses it
    or lets it through; the outer doubles take over again as the inner ones stop.
    Subclasses write :meth:`flow`, once; :meth:`answer` and :meth:`aanswer` drive it
    for sync and async clients and play the plan it returns.
    """

    def __init__(self, kind: str, name: str | None = None) -> None:
        super().__init__(assert_all_called=False, assert_all_mocked=True)
        self.kind = kind
        """The double's class name, ``WriterMock`` or ``Cassette``."""
        self.name = name or kind
        """The double as messages name it (``WriterMock``, ``Cassette path``)."""
        self._shadowed_by: dict[str, int] = {}  # inner double -> requests it took from this one

    def claims(self, request: httpx.Request) -> bool:
        """Whether this double serves ``request`` (its host is the Writer API as the double knows it)."""
        raise NotImplementedError

    def flow(self, request: httpx.Request) -> Flow[ResponsePlan | httpx.Response]:
        """How this double answers ``request``, written once for both client kinds (see :mod:`.flow`).

        It returns the plan to play, or a response to hand back as it is (a user's
        respx route answered, or the recorder's tee); raising ``PassThrough`` lets the
        request through to the network.
        """
        raise NotImplementedError

    def ask_routes(self, request: httpx.Request) -> Need:
        """The need to offer ``request`` to the user's respx routes: their answer, or ``None``."""
        return Need(
            functools.partial(answer_from_routes, self, request),
            functools.partial(aanswer_from_routes, self, request),
        )

    def answer(self, request: httpx.Request) -> httpx.Response:
        """This double's answer to a request from a sync client."""
        arrived = arrival()
        outcome = drive(self.flow(request))
        if isinstance(outcome, httpx.Response):
            return outcome
        return build_response(outcome, request, run_head(outcome, request, arrived))

    async def aanswer(self, request: httpx.Request) -> httpx.Response:
        """This double's answer to a request from an async client."""
        arrived = aarrival()
        outcome = await adrive(self.flow(request))
        if isinstance(outcome, httpx.Response):
            return outcome
        return build_response(outcome, request, await arun_head(outcome, request, arrived))

    def handler(self, request: httpx.Request) -> httpx.Response:
        return self._answerer(request).answer(request)

    async def async_handler(self, request: httpx.Request) -> httpx.Response:
        return await self._answerer(request).aanswer(request)

    def _answerer(self, request: httpx.Request) -> DoubleRouter:
        """The innermost started double that claims ``request``, else the innermost of all."""
        doubles = [r for r in _routers(self) if isinstance(r, DoubleRouter)] or [self]
        claiming = [d for d in doubles if d.claims(request)]
        chosen = claiming[-1] if claiming else doubles[-1]
        for shadowed in claiming[:-1]:
            shadowed._shadowed_by[chosen.name] = shadowed._shadowed_by.get(chosen.name, 0) + 1
        return chosen

    def shadowed_note(self) -> str:
        """A sentence saying which doubles started inside this one answered in its place, or ``""``."""
        if not self._shadowed_by:
            return ""
        count = sum(self._shadowed_by.values())
        names = ", ".join(self._shadowed_by)
        one = len(self._shadowed_by) == 1
        return (
            f"While this {self.kind} was active, {count} request{'s' if count > 1 else ''} went to "
            f"{'a double' if one else 'doubles'} started inside it ({names}), which "
            f"{'answers' if one else 'answer'} in its place while {'it is' if one else 'they are'} active."
        )


def _routers(router: respx.Router) -> list[respx.Router]:
    """Every router started on ``router``'s respx mocker, in the order they started."""
    return list(router.Mocker.routers) if isinstance(router, respx.MockRouter) and router.Mocker else []


def _user_routers(router: respx.Router) -> list[respx.Router]:
    """The user's respx routers that respx has not offered the request yet.

    respx stops at the first double it offers a request to (a double always
    answers or lets the request through), so the routers started after it have
    not seen the request; those started before it have, and declined it.
    """
    routers = _routers(router)
    first = next((i for i, r in enumerate(routers) if isinstance(r, DoubleRouter)), len(routers))
    return [r for r in routers[first + 1 :] if not isinstance(r, DoubleRouter)]


def answer_from_routes(router: respx.Router, request: httpx.Request) -> httpx.Response | None:
    """The first answer the user's respx routes give ``request`` (see :func:`_user_routers`), or ``None``."""
    for later in _user_routers(router):
        try:
            return later.handler(request)
        except AllMockedAssertionError:
            continue
    return None


async def aanswer_from_routes(router: respx.Router, request: httpx.Request) -> httpx.Response | None:
    """:func:`answer_from_routes` for async clients, whose routers answer through ``async_handler``."""
    for later in _user_routers(router):
        try:
            return await later.async_handler(request)
        except AllMockedAssertionError:
            continue
    return None

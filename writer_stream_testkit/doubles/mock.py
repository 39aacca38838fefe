"""``WriterMock``: the Writer API, answered in-process through respx.

The mock claims requests to the Writer base URLs. Any method and path below a
base URL is answered from a :class:`~writer_stream_testkit.doubles.replies.ReplyQueue`
when a queued reply fits it, and the plan it returns is played by :mod:`.execute`,
so pauses, stalls, disconnects and refused connections reach the client as the
httpx exceptions a real socket would raise. A request no queued reply fits goes
to the user's respx routes if one matches, else gets the strict 500 naming its
method and path. Requests to other hosts go to any other respx router in
play; when none answers, loopback hosts pass through to the network (they are
the test's own servers, such as a ``FakeWriterServer``) and any other host gets
a Writer-shaped 500 naming the request and the base URL to pass.

Why not raise on an unexpected request: an exception raised inside the
transport is retried by the SDK (7 times, with backoff) and resurfaces as
``APIConnectionError``, which hides the cause. The mock answers a non-retryable
error naming the request instead, and :meth:`WriterMock.verify` fails the test
when the block ends.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar, cast

import httpx

from ..scripts.plan import ResponsePlan
from ..wire.call import Call
from .base import QueuedDouble
from .flow import Flow
from .guard import guard
from .hosts import (
    DEFAULT_BASE_URL,
    Base,
    BaseURLs,
    DoubleRouter,
    guess_base,
    is_loopback,
    pass_through,
)

__all__ = ["DEFAULT_BASE_URL", "WriterMock"]


_F = TypeVar("_F", bound=Callable[..., Any])


class _Router(DoubleRouter):
    """The respx router that hands every request it answers to its ``WriterMock``.

    respx calls ``handler`` from sync clients and ``async_handler`` from async
    ones; both drive the one :meth:`flow` (see :mod:`.flow`). A queued reply that
    fits the request comes first; otherwise the user's respx routes get it, and
    the mock answers only if none does.
    """

    def __init__(self, mock: WriterMock) -> None:
        super().__init__("WriterMock")
        self._mock = mock

    def claims(self, request: httpx.Request) -> bool:
        return self._mock._owner(request) is not None

    def flow(self, request: httpx.Request) -> Flow[ResponsePlan | httpx.Response]:
        mock = self._mock
        base = mock._owner(request)
        if base is not None:
            # The percent-decoded path below the base URL, as the server routes it too.
            path = request.url.path[len(base.prefix) :]
            plan = yield from mock._queue.answering(Call.from_httpx(request), path=path)
            if plan is not None:
                return plan
        answer = yield self.ask_routes(request)
        if answer is not None:
            return answer  # type: ignore[no-any-return]
        return mock._unanswered(request, base)


class WriterMock(QueuedDouble):
    """The Writer API, in-process: queue replies, run the code under test, check the calls.

    Intercepts ``writerai.Writer`` / ``AsyncWriter`` and this kit's clients (any
    httpx client on the default transport) for ``https://api.writer.com``, for
    ``WRITER_BASE_URL`` (read when the mock is created and again at each request,
    as the SDK reads it when a client is created), and for every ``base_url``
    given here or to :meth:`add_base_url`. Strict by default, like respx: a
    request with no queued reply (``assert_all_mocked``) and a reply never
    requested (``assert_all_called``) fail :meth:`verify`, which runs when a
    ``with`` block or decorated function ends without an exception.

    A request to any other host that no other respx router answers gets a
    Writer-shaped 500 with ``x-should-retry: false`` at once, naming the request
    and the base URL to pass, and fails :meth:`verify`. Loopback hosts
    (``127.0.0.1``, ``::1``, ``localhost``) are the exception: they are the
    test's own servers (a ``FakeWriterServer``, say), never the Writer API, so
    requests to them that no router answers pass through to the network.

    Use it as ``with WriterMock() as mock:``, ``async with``, or as a decorator
    with parentheses, ``@WriterMock()``. Started inside another ``WriterMock`` or
    a ``Cassette``, it answers for the hosts it serves until it stops; the outer
    double answers again after.
    """

    def __init__(
        self,
        function: None = None,
        /,
        *,
        base_url: str | Sequence[str] | None = None,
        assert_all_called: bool = True,
        assert_all_mocked: bool = True,
    ) -> None:
        if function is not None:
            name = getattr(function, "__qualname__", None) or repr(function)
            raise TypeError(
                f"WriterMock was applied to {name} without parentheses. WriterMock is a class, so "
                f"write @WriterMock() (or @WriterMock(base_url=...)) above {name}, not @WriterMock."
            )
        hosts = BaseURLs(base_url)
        super().__init__()
        self._hosts = hosts
        self._assert_all_called = assert_all_called
        self._assert_all_mocked = assert_all_mocked
        self._router = _Router(self)
        self._holding = 0  # guard holds taken by start() and not yet given back by stop()

    # --- the WriterDouble face (reply, calls, reset and the with block come from QueuedDouble) ----

    @property
    def base_url(self) -> str:
        """The base URL to give a client: the first one given (here or to ``add_base_url``), else
        ``WRITER_BASE_URL``, else the default."""
        return self._bases()[0].url

    @property
    def base_urls(self) -> tuple[str, ...]:
        """Every base URL this mock answers for, as of now."""
        return tuple(base.url for base in self._bases())

    def add_base_url(self, url: str) -> WriterMock:
        """Answer for ``url`` too, from now on, even while started; returns the mock, so calls chain.

        For code under test that talks to the Writer API through a proxy or a
        regional host. The ``writer_base_urls`` ini key does this for the
        ``writer_mock`` fixture.
        """
        self._hosts.add(url)
        return self

    def verify(self) -> None:
        """Fail if a request had no reply or a queued reply was never used, as configured.

        Raises :class:`UnexpectedRequestError` or :class:`UnusedRepliesError`
        (both ``AssertionError``) naming the requests and the replies queued.
        """
        try:
            self._queue.verify(
                unexpected=self._assert_all_mocked,
                unused=self._assert_all_called,
                served_by="WriterMock",
            )
        except AssertionError as problem:
            note = self._router.shadowed_note()
            if note:
                problem.args = (f"{problem}\n{note}",)
            raise

    # --- context manager and decorator ------------------------------------------------------------

    def start(self) -> WriterMock:
        """Start intercepting; prefer ``with WriterMock() as mock:``, which also verifies."""
        self._router.start()
        guard.hold()
        self._holding += 1
        return self

    def stop(self) -> None:
        """Stop intercepting, without verifying."""
        self._router.stop(quiet=True)
        if self._holding:
            self._holding -= 1
            guard.release()

    def __call__(self, func: _F) -> _F:
        """Decorate a sync or async function to run inside this mock, verifying after it.

        As with ``@respx.mock``, the mock is passed as ``writer_mock=`` when the
        function has a parameter of that name; pytest then does not treat it as
        a fixture request. Each call starts with no calls or unexpected requests
        left from the previous one (parametrized tests stay independent); replies
        queued before decorating are consumed by the calls in turn, so queue
        per-call replies inside the function.
        """
        signature = inspect.signature(func)
        inject = "writer_mock" in signature.parameters
        target: Callable[..., Any] = functools.partial(func, writer_mock=self) if inject else func

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                self._queue.reset(replies=False)
                async with self:
                    return await cast(Callable[..., Awaitable[Any]], target)(*args, **kwargs)

            wrapper: Callable[..., Any] = async_wrapper
        else:

            @functools.wraps(func)
            def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
                self._queue.reset(replies=False)
                with self:
                    return target(*args, **kwargs)

            wrapper = sync_wrapper
        if inject:
            params = [p for name, p in signature.parameters.items() if name != "writer_mock"]
            wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        return cast(_F, wrapper)

    # --- request handling (called by _Router) -----------------------------------------------------

    def _bases(self) -> list[Base]:
        """The given base URLs, then ``WRITER_BASE_URL`` as it was at the start and as it is now, then the default."""
        return self._hosts.now()

    def _owner(self, request: httpx.Request) -> Base | None:
        """The base URL ``request`` falls under, or ``None`` when this mock does not serve its host."""
        return self._hosts.owner(request.url)

    def _unanswered(self, request: httpx.Request, base: Base | None) -> ResponsePlan:
        """The answer to a request neither the queue nor a later respx router answered."""
        if base is None and is_loopback(request.url.host):
            raise pass_through(request, "WriterMock")
        call = Call.from_httpx(request)
        if base is None:
            return self._queue.reject(call, 500, self._unserved_message(request.url))
        return self._queue.miss(call)

    def _unserved_message(self, url: httpx.URL) -> str:
        guess = guess_base(url)
        served = ", ".join(self.base_urls)
        return (
            f"A request went to {url}, which this mock does not serve: WriterMock answers only for "
            f"{served}, and no respx route matched it. If the code under test calls the Writer API at "
            f"{guess}, pass that base URL: WriterMock(base_url={guess!r}), "
            f"writer_mock.add_base_url({guess!r}), or a line under the writer_base_urls ini key for the "
            "writer_mock fixture. Otherwise mock the request with a respx route."
        )

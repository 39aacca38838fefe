"""``QueuedDouble``: the face both doubles show (reply, calls, verify, the with block)."""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, ClassVar, Protocol, TypeVar

from ..wire.call import Call
from .replies import MessagesMatcher, ReplyQueue, warn_if_slow_retry

# --- the face both doubles show -------------------------------------------------------------------


class WriterDouble(Protocol):
    """What ``WriterMock`` and ``FakeWriterServer`` share, so one test body runs against either."""

    @property
    def base_url(self) -> str: ...

    @property
    def calls(self) -> list[Call]: ...

    def reply(
        self,
        item: object,
        *,
        path: str | None = None,
        method: str | None = None,
        model: str | None = None,
        messages: MessagesMatcher | None = None,
        tools: Sequence[Mapping[str, Any]] | None = None,
        match: Callable[[Call], bool] | None = None,
        times: int = 1,
        last_user: str | None = None,
    ) -> object: ...

    def verify(self) -> None: ...

    def reset(self) -> None: ...


def verify_at_exit(
    verify: Callable[[], None],
    exc: BaseException | None,
    *,
    catch: tuple[type[Exception], ...] = (AssertionError,),
) -> None:
    """Verify as a ``with`` block ends: raise if the block succeeded, else annotate its exception.

    The test's own exception is never masked, but when the double saw why it
    happened (an unexpected request, say) the problem is added as a note.
    """
    if exc is None:
        verify()
        return
    try:
        verify()
    except catch as problem:
        if hasattr(exc, "add_note"):
            exc.add_note(f"writer-stream-testkit: {problem}")


_D = TypeVar("_D", bound="QueuedDouble")


class QueuedDouble(abc.ABC):
    """The :class:`WriterDouble` face over one :class:`ReplyQueue`, shared by both doubles.

    Subclasses move the bytes (``start``/``stop``) and say how they verify; the
    replies, the calls and the ``with`` block (verify on a clean exit) live here.
    """

    _queue: ReplyQueue
    _exit_problems: ClassVar[tuple[type[Exception], ...]] = (AssertionError,)
    """What ``verify`` may raise that becomes a note on the test's own exception."""

    def __init__(self) -> None:
        self._queue = ReplyQueue()

    @property
    @abc.abstractmethod
    def base_url(self) -> str:
        """The base URL to give a client."""

    def reply(
        self: _D,
        item: object,
        *,
        path: str | None = None,
        method: str | None = None,
        model: str | None = None,
        messages: MessagesMatcher | None = None,
        tools: Sequence[Mapping[str, Any]] | None = None,
        match: Callable[[Call], bool] | None = None,
        times: int = 1,
        last_user: str | None = None,
    ) -> _D:
        """Queue ``item`` for the next ``times`` requests to its endpoint that fit every matcher;
        returns the double, so replies chain.

        ``item`` is a script (it knows its endpoint), a dict or list (a JSON answer,
        routed with ``path=``), an ``httpx.Response``, a replacing ``Fault``, a
        ``ResponsePlan``, or a callable that computes one of these from the ``Call``.
        Items that name no endpoint answer ``POST /v1/chat`` unless ``path=`` (and
        ``method=``, inferred when the Writer API has one for the path) say otherwise.
        ``messages=`` compares the request's whole ``messages`` list (or calls a
        predicate with it); ``last_user=`` compares only the text of its last user
        message, which is what most tests mean.
        Paths are matched percent-decoded, by both doubles alike (``path="/v1/files/my file"``
        answers ``/v1/files/my%20file``). Predicates (``match=``, a callable ``messages=``) may
        read ``calls``; one that raises answers a non-retryable 500 and fails ``verify()``.
        On ``FakeWriterServer`` a computed reply runs on a thread of its own, so it may block
        or call the server without holding up other requests.
        """
        self._queue.reply(
            item,
            path=path,
            method=method,
            model=model,
            messages=messages,
            tools=tools,
            match=match,
            times=times,
            last_user=last_user,
        )
        warn_if_slow_retry(item, stacklevel=3)  # at the test's .reply(...) line
        return self

    @property
    def calls(self) -> list[Call]:
        """Every request received, in arrival order, answered or not (a copy)."""
        return self._queue.calls

    @abc.abstractmethod
    def verify(self) -> None:
        """Fail if a request went unanswered or a queued reply went unused."""

    def reset(self) -> None:
        """Forget every queued reply and every recorded request, to reuse the double from a clean slate."""
        self._queue.reset()

    @abc.abstractmethod
    def start(self: _D) -> _D:
        """Start answering; prefer ``with``, which also verifies."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop answering, without verifying."""

    def __enter__(self: _D) -> _D:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        verify_at_exit(self.verify, exc, catch=self._exit_problems)

    async def __aenter__(self: _D) -> _D:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)

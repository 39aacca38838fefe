"""The reply queue shared by every double: queued replies in, response plans out.

``WriterMock`` (in-process, through respx) and ``FakeWriterServer`` (a real
socket, another thread) differ only in how they move bytes. Deciding which
reply answers which request, remembering every request, and failing the test
when requests and replies do not pair up is the same job for both, so it
lives here, behind a lock, with no I/O.
"""

from __future__ import annotations

import functools
import json as _json
import threading
import warnings
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from ..errors import (
    ReplyError,
    ScriptError,
    SlowRetryWarning,
    UnexpectedRequestError,
    UnusedRepliesError,
)
from ..scripts.faults import HttpError
from ..scripts.plan import ResponsePlan, error_plan
from ..wire.call import Call, short_repr
from ..wire.endpoints import Endpoint
from .faulting import active as active_fault
from .flow import Flow, Need, drive
from .framing import informational_problem
from .reply_items import ComputedReply, Reply, as_reply, describe_reply
from .verdicts import failed_message, failure_text, one_paragraph, rejected_message, unexpected_message

__all__ = [
    "MessagesMatcher",
    "Outcome",
    "Reply",
    "ReplyQueue",
    "describe_reply",
    "last_user_text",
    "warn_if_slow_retry",
]


MessagesMatcher = Sequence[Mapping[str, Any]] | Callable[[Any], bool]


@dataclass
class _Entry:
    item: Reply
    endpoint: Endpoint
    model: str | None
    messages: Callable[[Any], bool] | list[Any] | None
    tools: list[Any] | None
    match: Callable[[Call], bool] | None
    times: int
    used: int = 0
    last_user: str | None = None

    @property
    def left(self) -> int:
        return self.times - self.used

    def matches(self, call: Call, path: str) -> bool:
        if not self.endpoint.matches(call.method, path):
            return False
        body = call.json if isinstance(call.json, dict) else None
        if self.model is not None and (body is None or body.get("model") != self.model):
            return False
        if self.messages is not None:
            if body is None:
                return False
            got = body.get("messages")
            if callable(self.messages):
                if not self.messages(got):
                    return False
            elif got != self.messages:
                return False
        if self.tools is not None and (body is None or body.get("tools") != self.tools):
            return False
        if self.last_user is not None and (body is None or last_user_text(body) != self.last_user):
            return False
        return self.match is None or bool(self.match(call))

    def describe(self) -> str:
        conditions = []
        if self.model is not None:
            conditions.append(f"model == {self.model!r}")
        if self.messages is not None:
            conditions.append(
                "messages match a predicate"
                if callable(self.messages)
                else f"messages == {short_repr(self.messages)}"
            )
        if self.tools is not None:
            conditions.append(f"tools == {short_repr(self.tools)}")
        if self.last_user is not None:
            conditions.append(f"the last user message == {short_repr(self.last_user)}")
        if self.match is not None:
            conditions.append(f"match={getattr(self.match, '__name__', 'predicate')}")
        when = " when " + " and ".join(conditions) if conditions else ""
        return f"{describe_reply(self.item)} for {self.endpoint}{when} ({self.left} of {self.times} left)"


def warn_if_slow_retry(reply: object, *, stacklevel: int) -> None:
    """Warn, at the user's ``reply(...)`` line, about a 429 that will make the SDK back off for seconds.

    Called by the Python face of the doubles only: a reply queued through the control
    API or a script file has no Python line to warn at.
    """
    faults = [reply] if isinstance(reply, HttpError) else list(getattr(reply, "faults", ()))
    for fault in faults:
        if isinstance(fault, HttpError) and fault.status == 429 and not fault.gives_a_wait():
            warnings.warn(
                SlowRetryWarning(
                    f"{fault.describe()} gives no retry wait, so writerai sleeps its own backoff (about 1, 2, "
                    "4 ... s) before each of its retries. For a fast test pass retry_after_ms=1 (or a small "
                    "retry_after=), or give the client max_retries=0; if the wait is the point, expect this "
                    "warning with pytest.warns(SlowRetryWarning)."
                ),
                stacklevel=stacklevel,
            )
            return


def last_user_text(body: Mapping[str, Any]) -> str | None:
    """The text of the last ``role: user`` message (its text parts joined), or ``None`` when there is none."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return None
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return "".join(p.get("text", "") for p in content if isinstance(p, dict))
            return content if isinstance(content, str) else None
    return None


def _plain(value: Any, name: str) -> Any:
    """JSON-shaped copy (tuples -> lists) so matchers compare like the decoded request body."""
    try:
        return _json.loads(_json.dumps(value))
    except (TypeError, ValueError) as exc:
        raise ScriptError(
            f"Cannot match on {name}={short_repr(value)}: it is not JSON ({exc}). Pass it "
            "exactly as the request body holds it, or match with a callable instead."
        ) from None


class Outcome:
    """What one recorded request got: its status once answered, and whether a reply answered it.

    ``status`` is ``None`` while the request is still being answered; ``answered`` is
    false when the double refused it (no reply, script or recording fitted, or the
    reply failed), which is what ``GET /__writer/calls`` reports.
    """

    __slots__ = ("answered", "call", "status")

    def __init__(self, call: Call) -> None:
        self.call = call
        self.status: int | None = None
        self.answered = False


class ReplyQueue:
    """Queued replies, the calls received, and the bookkeeping that makes tests strict.

    Thread-safe: the fake server takes replies on its own thread while the test
    thread queues and verifies. ``history=N`` keeps only the last ``N`` requests
    (and the last ``N`` of each kind of problem), for a server that runs for days;
    ``received`` still counts them all. The default keeps everything, as a test
    reading ``calls`` needs.
    """

    def __init__(self, *, history: int | None = None) -> None:
        if history is not None and (isinstance(history, bool) or not isinstance(history, int) or history < 1):
            raise ScriptError(
                f"Cannot keep a history of {history!r} requests: pass a whole number of at least 1, "
                "or None to keep every request."
            )
        self.history = history
        """How many requests ``calls`` keeps (the latest); ``None`` keeps them all."""
        self.received = 0
        """How many requests were recorded in all, including any ``history`` let go."""
        self._lock = threading.Lock()
        self._entries: list[_Entry] = []
        self._calls: deque[Outcome] = deque(maxlen=history)
        self._unexpected: deque[Call] = deque(maxlen=history)
        self._rejected: deque[tuple[Call, int, str]] = deque(maxlen=history)
        self._failed: deque[tuple[Call, str, str]] = deque(maxlen=history)

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
    ) -> None:
        """Queue ``item`` to answer the next ``times`` requests to its endpoint that fit every matcher.

        Requests take the first unused reply whose endpoint and matchers all fit, in
        the order queued. What ``item`` may be, and which endpoint it answers unless
        ``path=``/``method=`` say, is in :mod:`.reply_items`.
        """
        reply, endpoint = as_reply(item, path=path, method=method)
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise ScriptError(
                f"Cannot queue a reply with times={times!r}: times is how many requests the "
                "reply answers and must be a whole number of at least 1."
            )
        if tools is not None and (isinstance(tools, (str, bytes)) or not isinstance(tools, Sequence)):
            raise ScriptError(
                f"Cannot match on tools={short_repr(tools)}: pass the list of tool "
                "definitions exactly as the request sends them."
            )
        if last_user is not None and not isinstance(last_user, str):
            raise ScriptError(
                f"Cannot match on last_user={short_repr(last_user)}: pass the text of the last user "
                "message as a string, or match the whole list with messages=."
            )
        entry = _Entry(
            item=reply,
            endpoint=endpoint,
            model=model,
            messages=messages if messages is None or callable(messages) else _plain(messages, "messages"),
            tools=None if tools is None else _plain(tools, "tools"),
            match=match,
            times=times,
            last_user=last_user,
        )
        with self._lock:
            self._entries.append(entry)

    def take(self, call: Call, *, path: str | None = None) -> ResponsePlan:
        """Record ``call`` and return the plan of the first unused reply that matches it.

        ``path`` is the request's path below the base URL (by default ``call.path``).
        No match gives a 500 with ``x-should-retry: false`` (so the SDK does not retry)
        whose Writer-shaped body names the request; ``verify()`` then fails the test.
        """
        return drive(self.taking(call, path=path))

    def taking(self, call: Call, *, path: str | None = None) -> Flow[ResponsePlan]:
        """:meth:`take` as a flow (see :mod:`.flow`), for a face that runs computed replies its own way."""
        plan = yield from self.answering(call, path=path)
        return self.miss(call) if plan is None else plan

    def answer(self, call: Call, *, path: str | None = None) -> ResponsePlan | None:
        """The plan of the first unused reply that matches ``call`` (recording it), or ``None``,
        recording nothing, so the caller may ask elsewhere and then call :meth:`miss`.

        A streaming endpoint's request whose body is not a JSON object gets the 400 the
        real API gives it, without using up a reply, and fails ``verify()`` too.
        """
        return drive(self.answering(call, path=path))

    def answering(self, call: Call, *, path: str | None = None) -> Flow[ResponsePlan | None]:
        """:meth:`answer` as a flow: a computed reply is a :class:`~.flow.Need` its face runs.

        Routing uses the percent-decoded path (``/v1/files/my%20file`` is
        ``/v1/files/my file``), in both doubles. The user's predicates (``match=``,
        ``messages=``) are needs too, run outside the queue's lock (the server runs them
        off its event loop, as computed replies), so one may read ``calls``, block or call
        the server; one that raises answers a 500 the client does not retry, and fails ``verify()``.
        """
        path = unquote(call.path) if path is None else path
        problem = call.body_problem(path)
        if problem is not None:
            return self.reject(call, 400, problem)
        hook = active_fault()
        if hook is not None:
            # The hook may peek, which runs predicates and computed replies: user code, run where
            # the face runs it (off the server's event loop), never inline here.
            faulted: ResponsePlan | None = yield Need(
                functools.partial(hook.answer, call, functools.partial(self.peek, call, path)),
                user_code=True,
                what=f"the fault hook peeking at the reply to {call.describe()}",
            )
            if faulted is not None:
                return faulted
        chosen, failure = yield from self._choosing(call, path, use=True)
        if failure is not None:
            assert chosen is not None
            with self._lock:
                self._add(call)
            return self.fail(call, chosen.describe(), failure)
        if chosen is None:
            return None
        item = chosen.item
        try:
            if isinstance(item, ComputedReply):
                item = yield Need(
                    functools.partial(item.resolve, call, path), user_code=True, what=describe_reply(item)
                )
            plan = item.plan(call)
            problem = informational_problem(plan.status)
            if problem is not None:
                raise ScriptError(problem)
            self.settle(call, plan.status, answered=True)
            return plan
        except Exception as exc:
            return self.fail(call, describe_reply(item), exc)

    def _choosing(self, call: Call, path: str, *, use: bool) -> Flow[tuple[_Entry | None, Exception | None]]:
        """The one matching loop: the first unused reply whose matchers all fit ``call``.

        With ``use``, the reply is used up and ``call`` recorded (answering); without,
        nothing changes (peeking). Predicates are needs, run outside the lock by the
        face. Returns the reply, and the exception its predicate raised, if one did.
        """
        while True:
            with self._lock:
                candidates = [e for e in self._entries if e.left > 0]
            chosen: _Entry | None = None
            for entry in candidates:
                try:
                    if entry.match is not None or callable(entry.messages):  # user code: its face runs it
                        fits = yield Need(
                            functools.partial(entry.matches, call, path),
                            user_code=True,
                            what=entry.describe(),
                        )
                    else:
                        fits = entry.matches(call, path)
                except Exception as exc:
                    return entry, exc
                if fits:
                    chosen = entry
                    break
            if chosen is None or not use:
                return chosen, None
            with self._lock:
                if chosen.left > 0:  # another request may have used it up while the predicates ran
                    chosen.used += 1
                    self._add(call)
                    return chosen, None

    def fail(self, call: Call, reply: str, exc: BaseException) -> ResponsePlan:
        """Record that ``reply`` raised ``exc`` for ``call`` (``verify()`` shows it); return the 500.

        Called with the exception being handled, or one that never was raised
        (a computed reply still running when the server stopped).
        """
        with self._lock:
            self._failed.append((call, reply, failure_text(exc)))
            self._settle(call, 500, answered=False)
        said = f"{type(exc).__name__}: {exc}".rstrip()
        return error_plan(
            500,
            f"The reply {reply} failed to answer {call.describe()}: {said}{'' if said.endswith('.') else '.'} "
            "See verify() for the traceback, and fix the reply or its match=/messages= predicate.",
        )

    def peek(self, call: Call, path: str | None = None) -> ResponsePlan | None:
        """The plan the next matching reply would give ``call``, using up and recording nothing.

        A fault hook (a resilience run, chaos) faults this plan on a first attempt, so the
        retry still gets the reply itself. ``None`` when no reply fits, or when finding or
        computing it raises (the request is then answered as usual, which reports that).
        It drives :meth:`peeking` inline: the hook that calls it runs where user code runs.
        """
        return drive(self.peeking(call, path))

    def peeking(self, call: Call, path: str | None = None) -> Flow[ResponsePlan | None]:
        """:meth:`peek` as a flow: the matching loop :meth:`answering` uses, with nothing used up."""
        path = unquote(call.path) if path is None else path
        try:
            chosen, failure = yield from self._choosing(call, path, use=False)
            if chosen is None or failure is not None:
                return None
            item = chosen.item
            if isinstance(item, ComputedReply):
                item = yield Need(
                    functools.partial(item.resolve, call, path), user_code=True, what=describe_reply(item)
                )
            return item.plan(call)
        except Exception:
            return None

    def miss(self, call: Call) -> ResponsePlan:
        """Record ``call`` as unexpected (no reply matched it) and return the strict 500 naming it."""
        with self._lock:
            self._add(call, 500)
            self._unexpected.append(call)
            message = unexpected_message([call], self._entries)
        return error_plan(500, one_paragraph(message))

    def reject(self, call: Call, status: int, problem: str) -> ResponsePlan:
        """Record ``call`` as refused and return the Writer-shaped error that tells the client why.

        For requests no reply may answer: a body that is not JSON, a host the double
        does not serve. ``problem`` (full sentences saying how to fix it) goes in the
        error body and, with the request, in what ``verify()`` raises.
        """
        with self._lock:
            self._add(call, status)
            self._rejected.append((call, status, problem))
        return error_plan(status, problem)

    def record(self, call: Call) -> None:
        """Record ``call`` answered without the queue, by another reply source (a cassette, the proxy).

        Its outcome is not known yet: the server calls :meth:`settle` once the source has answered.
        """
        with self._lock:
            self._add(call)

    def settle(self, call: Call, status: int, *, answered: bool) -> None:
        """Note what the recorded ``call`` got: its ``status``, and whether a reply (not a refusal) answered it."""
        with self._lock:
            self._settle(call, status, answered=answered)

    def _settle(self, call: Call, status: int, *, answered: bool) -> None:
        for outcome in reversed(self._calls):  # the request is almost always among the last few
            if outcome.call is call:
                outcome.status, outcome.answered = status, answered
                return

    def _add(self, call: Call, refused: int | None = None) -> None:
        """Journal ``call``; ``refused`` is the status of the refusal it already got, if any."""
        outcome = Outcome(call)
        outcome.status = refused
        self._calls.append(outcome)
        self.received += 1

    @property
    def calls(self) -> list[Call]:
        """Every request received so far (the last ``history`` when that is set), in order (a copy)."""
        with self._lock:
            return [outcome.call for outcome in self._calls]

    @property
    def outcomes(self) -> list[tuple[Call, int | None, bool]]:
        """``calls`` with what each got: ``(call, status, answered)``; status ``None`` while it is answered."""
        with self._lock:
            return [(o.call, o.status, o.answered) for o in self._calls]

    @property
    def unexpected(self) -> list[Call]:
        """The requests that no queued reply matched (a copy)."""
        with self._lock:
            return list(self._unexpected)

    @property
    def pending(self) -> list[Reply]:
        """The replies not yet used up, once per remaining use, in queue order."""
        with self._lock:
            return [e.item for e in self._entries for _ in range(e.left)]

    @property
    def rejected(self) -> list[Call]:
        """The requests refused with an error by :meth:`reject` (a copy)."""
        with self._lock:
            return [call for call, _, _ in self._rejected]

    def verify(
        self,
        *,
        unexpected: bool = True,
        unused: bool = True,
        served_by: str = "the double",
        also: Sequence[AssertionError] = (),
    ) -> None:
        """Fail if a request had no reply, or if a queued reply was never requested.

        Every problem goes into one error, so a test sees them all at once:
        requests no reply matched and refused requests (both checked when
        ``unexpected``), replies never used (when ``unused``), then ``also``,
        problems the caller found itself (a cassette source's own check).
        ``served_by`` names the double.
        The error is an :class:`UnexpectedRequestError` when any request went
        unanswered; otherwise the first problem's own class.
        """
        with self._lock:
            unmatched = list(self._unexpected) if unexpected else []
            rejected = list(self._rejected) if unexpected else []
            failed = list(self._failed)
            unused_entries = [e for e in self._entries if e.left > 0] if unused else []
            entries = list(self._entries)
        problems: list[AssertionError] = []
        if failed:
            problems.append(ReplyError(failed_message(failed)))
        if unmatched:
            problems.append(UnexpectedRequestError(unexpected_message(unmatched, entries)))
        if rejected:
            problems.append(UnexpectedRequestError(rejected_message(rejected, served_by)))
        if unused_entries:
            count = len(unused_entries)
            lines = "\n".join(f"  - {e.describe()}" for e in unused_entries)
            problems.append(
                UnusedRepliesError(
                    f"{count} queued repl{'y was' if count == 1 else 'ies were'} never requested:\n"
                    f"{lines}\nMake the requests the test expects, or remove the replies it does not need."
                )
            )
        problems.extend(also)
        if not problems:
            return
        if len(problems) == 1:
            raise problems[0]
        kind = (
            UnexpectedRequestError
            if any(isinstance(p, UnexpectedRequestError) for p in problems)
            else type(problems[0])
        )
        raise kind("\n\n".join(str(p) for p in problems))

    def reset(self, *, replies: bool = True) -> None:
        """Forget every call, unexpected and refused request, and (unless ``replies=False``) every reply."""
        with self._lock:
            if replies:
                self._entries.clear()
            self._calls.clear()
            self.received = 0
            self._unexpected.clear()
            self._rejected.clear()
            self._failed.clear()

"""What ``reply()`` accepts, each turned into a reply with the endpoint it answers.

* A script (``StreamScript``, ``CompletionScript``, ``QuestionScript``,
  ``ApplicationScript``) answers its own endpoint; ``path=`` may only narrow it
  (an ``ApplicationScript()`` to one application's path).
* A ``dict`` or ``list`` is a JSON answer with status 200, and must say where it
  goes with ``path=`` (``method=`` is inferred when the Writer API serves the
  path with one method). A JSON body names no endpoint, and a chat script
  already answers ``stream: false`` chat requests, so a bare body is most often
  a forgotten ``path=``: refusing it at once beats an unexpected request later.
* A ``Fault`` that replaces the response, a ``ResponsePlan``, an
  ``httpx.Response`` and a callable answer ``POST /v1/chat`` unless ``path=``
  says otherwise, as they always did when the doubles served only chat;
  ``path="*"`` answers any request.
* A callable receives the :class:`Call` and returns any of the above; it is
  evaluated per request (respx's ``side_effect``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import httpx

from ..errors import ScriptError
from ..scripts.json_reply import JsonReply
from ..scripts.plan import ResponsePlan, Write
from ..wire.call import Call, _short
from ..wire.endpoints import ANY, CHAT, Endpoint, endpoint_for
from .framing import informational_problem

__all__ = ["ComputedReply", "Reply", "as_reply", "describe_reply"]


@runtime_checkable
class Reply(Protocol):
    """Anything that can answer a request: a script, a fault, a cassette interaction."""

    def plan(self, call: Call) -> ResponsePlan:
        """The complete response to send for this request."""
        ...


def describe_reply(item: object) -> str:
    """A one-line name for a reply, for the lists in error messages."""
    describe = getattr(item, "describe", None)
    if callable(describe):
        return str(describe())
    return _short.repr(item)


@dataclass(frozen=True)
class _FixedPlan:
    """A ready-made ``ResponsePlan`` used as a reply: the same response for any request."""

    response: ResponsePlan

    def plan(self, call: Call) -> ResponsePlan:
        return self.response

    def describe(self) -> str:
        return f"ResponsePlan(status={self.response.status}, {len(self.response.steps)} steps)"


_DROPPED_HEADERS = frozenset({"content-length", "transfer-encoding", "content-encoding", "connection"})


@dataclass(frozen=True)
class _HttpxResponse:
    """An ``httpx.Response`` used as a reply: its status, headers and body, each body chunk one write.

    The body is kept decoded, so ``content-encoding`` goes, and the framing
    headers are the double's to set.
    """

    status: int
    headers: tuple[tuple[str, str], ...]
    pieces: tuple[bytes, ...]

    @classmethod
    def of(cls, response: httpx.Response) -> _HttpxResponse:
        try:
            pieces: tuple[bytes, ...] = (response.content,)
        except httpx.ResponseNotRead:
            try:
                pieces = tuple(response.iter_bytes())
            except RuntimeError:
                raise ScriptError(
                    "Cannot queue an httpx.Response whose body is an async stream: the double reads it "
                    "when it is queued. Build it with content=b'...' or a sync iterator of bytes."
                ) from None
        # The Latin-1 text of the bytes given: header_bytes() sends the same bytes back, where
        # httpx's decoded text (UTF-8 when it can) would be re-encoded as Latin-1.
        headers = tuple(
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in response.headers.raw
            if k.decode("latin-1").lower() not in _DROPPED_HEADERS
        )
        return cls(response.status_code, headers, tuple(p for p in pieces if p))

    def plan(self, call: Call) -> ResponsePlan:
        return ResponsePlan(
            status=self.status,
            headers=self.headers,
            steps=tuple(Write(p) for p in self.pieces),
            reason=self.describe(),
        )

    def describe(self) -> str:
        return f"httpx.Response(status={self.status}, {sum(map(len, self.pieces))} bytes)"


@dataclass(frozen=True)
class ComputedReply:
    """A callable that computes the reply from each request it answers."""

    function: Callable[[Call], Any]
    endpoint: Endpoint

    def resolve(self, call: Call, path: str) -> Reply:
        """Call the function and check that what it returned is a reply for this request."""
        name = self.describe()
        result = self.function(call)
        if inspect.isawaitable(result):
            close = getattr(result, "close", None)
            if callable(close):
                close()  # never awaited: close it so Python does not warn
            raise ScriptError(
                f"{name} returned an awaitable; computed replies are plain functions (def, not async def) "
                "that return a reply at once."
            )
        if result is None:
            raise ScriptError(
                f"{name} returned None for {call.describe()}; return a reply: a script, a dict or list "
                "(a JSON answer), an httpx.Response, a Fault or a ResponsePlan."
            )
        if isinstance(result, (dict, list)):
            return JsonReply(result, ANY)
        if isinstance(result, ResponsePlan):
            return _FixedPlan(result)
        if isinstance(result, httpx.Response):
            return _HttpxResponse.of(result)
        if not isinstance(result, Reply) or isinstance(result, type):
            raise ScriptError(
                f"{name} returned {_short.repr(result)}, which is not a reply; return a script, a dict or "
                "list (a JSON answer), an httpx.Response, a Fault that replaces the response, or a ResponsePlan."
            )
        own = getattr(result, "endpoint", None)
        if isinstance(own, Endpoint) and not own.matches(call.method, path):
            raise ScriptError(
                f"{name} returned {describe_reply(result)}, which answers {own}, for a request to "
                f"{call.method} {path}; return a reply for that endpoint."
            )
        return result

    def plan(self, call: Call) -> ResponsePlan:
        return self.resolve(call, call.path).plan(call)

    def describe(self) -> str:
        name = getattr(self.function, "__qualname__", None) or repr(self.function)
        return f"computed reply {name}()"


def _narrowed(own: Endpoint, path: str | None, method: str | None, what: str) -> Endpoint:
    """A script's endpoint, narrowed by ``path=``/``method=`` when they fit inside it."""
    if path is None:
        if method is not None and method.upper() != own.method:
            raise ScriptError(f"{what} answers {own}; it cannot answer method={method!r}. Leave method= out.")
        return own
    given = endpoint_for(path, method or own.method, what=what)
    if given.path == "*" or not own.matches(given.method, given.path.replace("{", "x").replace("}", "")):
        raise ScriptError(
            f"{what} answers {own}, not {given}; leave path= out (a script knows its endpoint), or queue "
            "a reply of the kind that endpoint sends."
        )
    return given


def as_reply(item: object, *, path: str | None, method: str | None) -> tuple[Reply, Endpoint]:
    """``item`` as a reply and the endpoint it answers; see the module docstring for the rules."""
    if method is not None and path is None:
        own = getattr(item, "endpoint", None)
        if not isinstance(own, Endpoint):
            raise ScriptError(
                f"reply(..., method={method!r}) needs path= too, such as path='/v1/models': the method alone "
                "does not say which endpoint the reply answers."
            )
    if isinstance(item, type):
        raise ScriptError(
            f"Cannot queue the class {item.__name__} as a reply; queue an instance, such as {item.__name__}()."
        )
    status = item.status if isinstance(item, ResponsePlan) else None
    status = item.status_code if isinstance(item, httpx.Response) else status
    problem = None if status is None else informational_problem(status)
    if problem is not None:
        raise ScriptError(f"Cannot queue {_short.repr(item)} as a reply: {problem}")
    if isinstance(item, ResponsePlan):
        return _FixedPlan(item), _route(path, method, "the ResponsePlan")
    if isinstance(item, (dict, list)):
        if path is None:
            raise ScriptError(
                f"Cannot tell which request the JSON reply {_short.repr(item)} answers: a dict or list names "
                "no endpoint. Pass path= (and method= when the path has several), such as "
                "reply({...}, path='/v1/models') for client.models.list(); path='*' answers any request."
            )
        return JsonReply(item, ANY), _route(path, method, "the JSON reply")
    if isinstance(item, httpx.Response):
        return _HttpxResponse.of(item), _route(path, method, "the httpx.Response")
    if isinstance(item, Reply):
        own = getattr(item, "endpoint", None)
        if isinstance(own, Endpoint):
            return item, _narrowed(own, path, method, describe_reply(item))
        return item, _route(path, method, describe_reply(item))
    if callable(item):
        computed = ComputedReply(item, _route(path, method, "the computed reply"))
        return computed, computed.endpoint
    raise ScriptError(
        f"Cannot queue {_short.repr(item)} as a reply. Pass a script (StreamScript, CompletionScript, "
        "QuestionScript, ApplicationScript), a dict or list (a JSON answer, with path=), an httpx.Response, "
        "a Fault that replaces the response (Fault.http_error, Fault.connection_refused; faults inside a "
        "stream go on a script with .with_fault), a ResponsePlan, or a callable that returns one of these."
    )


def _route(path: str | None, method: str | None, what: str) -> Endpoint:
    return CHAT if path is None else endpoint_for(path, method, what=what)

"""The control API under ``/__writer/``: a suite in any language queues replies and reads the verdict.

``FakeWriterServer`` (and so ``writer-stream-testkit serve``) hands every request
whose path starts with ``/__writer/`` to :func:`control_plan`, which turns it into
an action on the double and a response plan; control requests are never
recorded as calls and never answered by a reply.

- ``POST /__writer/replies`` queues one reply: a script's YAML form (as
  ``application/yaml``, or the same structure as JSON), ``{fault: ...}`` for a
  fault that replaces the response, or ``{reply: ..., path, method, model,
  messages, tools, times}`` for a reply with the conditions ``reply()`` takes.
- ``GET /__writer/calls``: the journal of requests, as JSON.
- ``GET /__writer/verify``: ``verify()``'s verdict, 200 when clean, 409 with the message.
- ``POST /__writer/reset``: forget every reply and every request.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol

from ..errors import ScriptError
from ..scripts.base import read_yaml
from ..scripts.faults import fault_from_yaml
from ..scripts.load import script_from_doc
from ..scripts.plan import ResponsePlan, Write, error_plan
from ..wire.call import Call
from .replies import ReplyQueue
from .reply_items import describe_reply

__all__ = ["CONDITIONS", "CONTROL_PREFIX", "Controlled", "call_journal", "control_plan", "is_control"]

CONTROL_PREFIX: Final = "/__writer/"
"""Paths the control API owns; the Writer API has none under it."""

CONDITIONS: Final = ("path", "method", "model", "messages", "tools", "times", "last_user")
"""The keyword arguments of ``reply()`` a control request may give (``match=`` is Python-only)."""

_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")

_FORMS = (
    "Send a script's YAML form (kind: chat, completion, question, application or json; no kind: a chat "
    "script), {fault: {http_error: {status: 429}}} for a fault that replaces the response, or "
    "{reply: ..., path: ..., method: ..., model: ..., messages: [...], tools: [...], times: N} to add "
    "the conditions reply() takes; as JSON, or as YAML with content-type: application/yaml."
)


class Controlled(Protocol):
    """What the control API needs of a double: its queue, ``verify()`` and ``reset()``."""

    @property
    def replies(self) -> ReplyQueue: ...

    def verify(self) -> None: ...

    def reset(self) -> None: ...


def is_control(call: Call) -> bool:
    """Whether ``call`` is for the control API rather than the Writer API."""
    return call.path.startswith(CONTROL_PREFIX)


def control_plan(double: Controlled, call: Call, *, queue_answers: bool = True) -> ResponsePlan:
    """Do what the control request ``call`` asks of ``double`` and say how it went.

    ``queue_answers`` is false when the double answers from another source (a
    directory of cassettes, scripts cycled by ``serve --script``, the record
    proxy): queued replies would never be used there, so queuing is refused.
    """
    route = ROUTES.get(call.path)
    if route is None:
        return error_plan(404, f"There is no control endpoint {call.path}. {_listing()}")
    method, action = route
    if call.method != method:
        return error_plan(405, f"{call.path} takes {method}, not {call.method}. {_listing()}")
    if action is _queue and not queue_answers:
        return error_plan(
            409,
            "This server answers every request from its own source (serve --script cycling its scripts, "
            "serve --cassettes, or the record proxy), so a queued reply would never be used. Start "
            "`writer-stream-testkit serve` with no --script and no --cassettes (or with --times N) to "
            "queue replies through the control API.",
        )
    try:
        return action(double, call)
    except Exception as exc:  # a bug here must not look like the client's mistake, nor crash the server
        return error_plan(
            500,
            f"The control API failed to answer {call.method} {call.path}: {type(exc).__name__}: {exc}. "
            "Please report this as a bug.",
        )


def _queue(double: Controlled, call: Call) -> ResponsePlan:
    where = f"The body of {call.method} {call.path}"
    try:
        doc = _body(call, where)
        item, conditions = _reply(doc, where)
        double.replies.reply(item, **conditions)
    except ScriptError as exc:
        return error_plan(400, f"{exc} {_FORMS}" if str(exc).endswith(".") else f"{exc}. {_FORMS}")
    return _json(
        201,
        {
            "queued": describe_reply(item),
            "times": conditions.get("times", 1),
            "pending": len(double.replies.pending),
        },
    )


def _body(call: Call, where: str) -> object:
    if not call.content.strip():
        raise ScriptError(f"{where} is empty; it must hold the reply to queue.")
    content_type = call.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in _YAML_TYPES:
        try:
            text = call.content.decode("utf-8")
        except UnicodeDecodeError:
            raise ScriptError(f"{where} is not UTF-8 text, so it cannot be YAML.") from None
        doc, _ = read_yaml(text if "\n" in text else text + "\n", where=where)  # one line is never a path
        return doc
    if call.json is None:
        raise ScriptError(
            f"{where} is not JSON (content-type {content_type or 'not given'}); send JSON, or YAML with "
            "content-type: application/yaml."
        )
    return call.json


def _reply(doc: object, where: str) -> tuple[object, dict[str, Any]]:
    """The item to queue and the conditions to queue it with."""
    if not isinstance(doc, Mapping):
        raise ScriptError(f"{where} is {type(doc).__name__}, not a mapping, so it holds no reply.")
    conditions: dict[str, Any] = {}
    if "reply" in doc:
        unknown = sorted(str(k) for k in doc if k != "reply" and k not in CONDITIONS)
        if unknown:
            raise ScriptError(
                f"{where} has {', '.join(unknown)} beside reply:, which reply() does not take; the conditions "
                f"are {', '.join(CONDITIONS)}."
            )
        conditions = {k: v for k, v in doc.items() if k != "reply"}
        for name in ("path", "method", "model", "last_user"):
            if name in conditions and not isinstance(conditions[name], str):
                raise ScriptError(f"{where} has {name}: {conditions[name]!r}; {name} must be a string.")
        doc = doc["reply"]
        if not isinstance(doc, Mapping):
            raise ScriptError(f"{where} has reply: {type(doc).__name__}; a reply is a mapping.")
    if set(doc) == {"fault"}:
        fault = fault_from_yaml(doc["fault"], f"{where}, fault")
        if not fault.replaces:
            raise ScriptError(
                f"{where} queues the fault {doc['fault']!r} alone, but it changes a stream rather than "
                "replacing the response; put it in a script's faults: list, such as "
                "{steps: [{content: Hi}], faults: [{disconnect: {after_chunks: 1}}]}."
            )
        return fault, conditions
    return script_from_doc(dict(doc), where), conditions


def _calls(double: Controlled, call: Call) -> ResponsePlan:
    return _json(200, call_journal(double.replies))


def call_journal(queue: ReplyQueue) -> dict[str, Any]:
    """The requests ``queue`` holds, as JSON a client in any language reads (bodies as text and as JSON)."""
    unexpected = {id(c) for c in queue.unexpected}
    refused = {id(c) for c in queue.rejected}
    calls = queue.calls
    return {
        "received": queue.received,
        "calls": [
            {
                "method": c.method,
                "path": c.path,
                "url": c.url,
                "headers": [list(pair) for pair in c.headers.raw],
                "body": c.content.decode("utf-8", "replace"),
                "json": c.json,
                "answered": id(c) not in unexpected and id(c) not in refused,
            }
            for c in calls
        ],
    }


def _verify(double: Controlled, call: Call) -> ResponsePlan:
    try:
        double.verify()
    except (AssertionError, RuntimeError) as exc:
        return _json(409, {"ok": False, "error": type(exc).__name__, "message": str(exc)})
    return _json(200, {"ok": True, "error": None, "message": ""})


def _reset(double: Controlled, call: Call) -> ResponsePlan:
    double.reset()
    return _json(200, {"reset": True})


ROUTES: Final[dict[str, tuple[str, Callable[[Controlled, Call], ResponsePlan]]]] = {
    "/__writer/replies": ("POST", _queue),
    "/__writer/calls": ("GET", _calls),
    "/__writer/verify": ("GET", _verify),
    "/__writer/reset": ("POST", _reset),
}
"""Each control endpoint: the method it takes and what it does."""


def _listing() -> str:
    return "The control API has " + ", ".join(f"{m} {p}" for p, (m, _) in ROUTES.items()) + "."


def _json(status: int, value: object) -> ResponsePlan:
    body = json.dumps(value, ensure_ascii=False).encode()
    headers = (("content-type", "application/json"), ("content-length", str(len(body))))
    return ResponsePlan(status=status, headers=headers, steps=(Write(body),), reason=f"control API {status}")

"""What a double's verdict says: each message of ``verify()`` and of a miss's 500, built from the queue.

Kept apart from the queue (``doubles/replies.py``), which decides; this module only words.
Every message names the requests and replies concerned and says how to fix the test.
"""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from ..errors import TestkitError
from ..wire.call import Call
from ..wire.endpoints import CHAT, COMPLETIONS, QUESTION, Endpoint, application
from .reply_items import Reply, describe_reply

__all__ = [
    "QueuedReply",
    "failed_message",
    "failure_text",
    "one_paragraph",
    "rejected_message",
    "unexpected_message",
]


class QueuedReply(Protocol):
    """A reply waiting in the queue, as the messages read it."""

    item: Reply
    endpoint: Endpoint
    messages: Any

    @property
    def left(self) -> int: ...

    def describe(self) -> str: ...


def unexpected_message(calls: Sequence[Call], entries: Sequence[QueuedReply]) -> str:
    """Why requests found no reply, the queue as it stands, and how to queue one."""
    requests = "\n".join(f"  - {c.describe()}" for c in calls)
    if entries:
        queued = "\n".join(f"  - {e.describe()}" for e in entries)
        queued = f"Queued replies:\n{queued}"
    else:
        queued = "No replies were queued."
    noun = "request" if len(calls) == 1 else "requests"
    doubled = [c for c in calls if DOUBLED_V1 in c.path]
    if doubled:
        # the client's base_url ends in /v1: no reply can fix that, so say what will
        return (
            f"{len(calls)} {noun} had no matching reply:\n{requests}\n{queued}\n"
            f"The path {doubled[0].path} repeats /v1: the client's base_url ends in /v1, and the "
            "Writer SDK adds /v1 itself. Give the client the base URL with no path after the host "
            "(base_url='https://api.writer.com', or the double's base_url as it is)."
        )
    hints = sorted({_hint(c) for c in calls})
    elsewhere = _elsewhere(calls, entries)
    if any(e.left > 0 and isinstance(e.messages, list) for e in entries):
        elsewhere += (
            "messages= compares the whole messages list, every message in order (system prompt and "
            "history included); to match on the last user message alone, pass last_user='...' instead.\n"
        )
    return (
        f"{elsewhere}{len(calls)} {noun} had no matching reply:\n{requests}\n{queued}\n"
        f"Queue a reply for it: {'; '.join(hints)}. If you did, check the endpoint and the "
        "model=, messages=, tools= and match= conditions of the replies you queued."
    )


DOUBLED_V1 = "/v1/v1/"


def one_paragraph(message: str) -> str:
    """A message's lines as one paragraph, for an HTTP error body.

    The client shows the body's JSON ``repr`` in its exception, where line breaks
    become ``\\n``; bullet lists read better there as ``a; b``. ``verify()`` keeps the
    multi-line form.
    """
    out: list[str] = []
    for line in message.splitlines():
        if line.startswith("  - "):
            item = line[4:].strip()
            out[-1] += (" " if out[-1].endswith(":") else "; ") + item
        elif line.strip():
            out.append(line.strip())
    return " ".join(part if part.endswith((".", ":")) else part + "." for part in out)


_HINTS = (
    (CHAT, ".reply(StreamScript().content(...))"),
    (COMPLETIONS, ".reply(CompletionScript().text(...))"),
    (QUESTION, ".reply(QuestionScript().answer(...))"),
    (application(None), ".reply(ApplicationScript().content(...))"),
)


def _elsewhere(calls: Sequence[Call], entries: Sequence[QueuedReply]) -> str:
    """A sentence for each unused reply that waits at another endpoint than an unmatched request's.

    The usual cause: a ``Fault`` (or a response, or a callable) answers ``POST /v1/chat``
    unless ``path=`` says otherwise, so a fault meant for another endpoint waits at the chat.
    """
    lines = []
    for entry in entries:
        if entry.left <= 0 or entry.endpoint.path == "*":
            continue
        for call in calls:
            tail = call.path[call.path.find("/v1/") :] if "/v1/" in call.path else call.path
            if entry.endpoint.matches(call.method, tail):
                continue
            own = getattr(entry.item, "endpoint", None)
            fix = (
                f"queue the script for {tail} instead ({_hint(call)})"
                if isinstance(own, Endpoint)
                else f"route it with reply(..., path={tail!r}, method={call.method!r}), or put a fault on that "
                "endpoint's script (such as CompletionScript().with_fault(Fault.http_error(500)))"
            )
            lines.append(
                f"The queued {describe_reply(entry.item)} waits for {entry.endpoint}, not {call.method} {tail}: {fix}."
            )
            break
    return "".join(f"{line}\n" for line in lines[:3])


def _hint(call: Call) -> str:
    """How to queue a reply for ``call``: the script for a streaming endpoint, else a routed JSON body."""
    cut = call.path.find("/v1/")
    tail = call.path[cut:] if cut >= 0 else call.path
    for endpoint, hint in _HINTS:
        if endpoint.matches(call.method, tail):
            return hint
    return f".reply({{...}}, path={tail!r}, method={call.method!r})"


_KIT = str(Path(__file__).resolve().parent.parent)


def failure_text(exc: BaseException) -> str:
    """Why a reply failed, the exception first: a kit error is its message alone, and any other
    error is followed by the frames of the user's own code only (the kit's would bury it)."""
    headline = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, TestkitError):
        return headline
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith(_KIT)]
    if not frames:
        return headline
    where = "".join(traceback.format_list(frames)).rstrip()
    return f"{headline}\n  raised at (most recent call last):\n{where}"


def failed_message(failed: Sequence[tuple[Call, str, str]]) -> str:
    parts = [f"  - {reply} answering {call.describe()}: {text.rstrip()}" for call, reply, text in failed]
    noun = "reply" if len(failed) == 1 else "replies"
    return (
        f"{len(failed)} queued {noun} failed to answer, so the client got a 500 instead:\n"
        + "\n".join(parts)
        + "\nFix the computed reply, the script or the match=/messages= predicate, so it returns a reply "
        "for the request."
    )


def rejected_message(rejected: Sequence[tuple[Call, int, str]], served_by: str) -> str:
    lines = "\n".join(
        f"  - {call.describe()} to {call.url} got {status}: {problem}" for call, status, problem in rejected
    )
    noun = "request was" if len(rejected) == 1 else "requests were"
    return f"{len(rejected)} {noun} refused by {served_by} before any reply could answer:\n{lines}"

"""Any reply file, whatever it answers: the ``kind:`` key picks the class (no key: a chat script)."""

from __future__ import annotations

import difflib
import os
from typing import Union

from ..errors import ScriptError
from .application import ApplicationScript
from .base import read_yaml
from .chat import StreamScript
from .completion import CompletionScript
from .json_reply import JsonReply
from .question import QuestionScript

AnyScript = Union[StreamScript, CompletionScript, QuestionScript, ApplicationScript, JsonReply]  # noqa: UP007

KINDS: dict[str, type[AnyScript]] = {
    "chat": StreamScript,
    "completion": CompletionScript,
    "question": QuestionScript,
    "application": ApplicationScript,
    "json": JsonReply,
}


def script_from_yaml(source: str | os.PathLike[str]) -> AnyScript:
    """Read a script or JSON reply from YAML text or a file; ``kind:`` says which (default ``chat``).

    A file that fails as the kind it names (or as a chat script, when it names none)
    but reads as another kind says so: a missing or wrong ``kind:`` is the usual cause.
    """
    doc, where = read_yaml(source)
    return script_from_doc(doc, where)


def script_from_doc(doc: object, where: str) -> AnyScript:
    """A script or JSON reply from its YAML form already read (JSON alike); ``where`` names it in errors."""
    given = doc.get("kind") if isinstance(doc, dict) else None
    kind = "chat" if given is None else given
    cls = KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        close = difflib.get_close_matches(str(kind), list(KINDS), n=1)
        guess = f" (did you mean {close[0]!r}?)" if close else ""
        raise ScriptError(
            f"{where}: unknown kind {kind!r}{guess}; use one of {', '.join(KINDS)} (no kind: key means chat)."
        )
    try:
        return cls._from_checked_doc(doc, where)
    except ScriptError as error:
        fits = [
            other
            for other in KINDS
            if other not in (kind, "json") and isinstance(doc, dict) and _reads_as(other, doc, where)
        ]
        if not fits:
            raise
        said = (
            f"says kind: {kind}" if given is not None else "has no kind: key, so it was read as a chat script"
        )
        fix = f"make it kind: {fits[0]}" if given is not None else f"add kind: {fits[0]} as its first line"
        raise ScriptError(
            f"{where} {said}, but it is a {fits[0]} script: {fix}. (Read as {kind}, it failed: {error})"
        ) from None


def _reads_as(kind: str, doc: dict[str, object], where: str) -> bool:
    try:
        KINDS[kind]._from_checked_doc({**doc, "kind": kind}, where)
    except ScriptError:
        return False
    return True

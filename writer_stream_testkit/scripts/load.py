"""Any reply file, whatever it answers: the ``kind:`` key picks the class (no key: a chat script)."""

from __future__ import annotations

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
    """Read a script or JSON reply from YAML text or a file; ``kind:`` says which (default ``chat``)."""
    doc, where = read_yaml(source)
    return script_from_doc(doc, where)


def script_from_doc(doc: object, where: str) -> AnyScript:
    """A script or JSON reply from its YAML form already read (JSON alike); ``where`` names it in errors."""
    kind = doc.get("kind", "chat") if isinstance(doc, dict) else "chat"
    cls = KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ScriptError(f"{where}: unknown kind {kind!r}; use one of {', '.join(KINDS)}.")
    return cls._from_checked_doc(doc, where)

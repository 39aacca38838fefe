"""Checks and copies of the plain values every script kind takes (text pieces, choice indexes, JSON).

One private module with plain names, so the script kinds share them without reaching into each other's rooms.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from typing import Any

from ..errors import ScriptError

__all__ = ["choice_index", "json_value", "plain_copy", "text_pieces"]


def text_pieces(pieces: Iterable[object], what: str, where: str) -> tuple[str, ...]:
    """The pieces as a tuple of strings; anything else is the script's mistake, named at ``where``."""
    out: list[str] = []
    for piece in pieces:
        if not isinstance(piece, str):
            raise ScriptError(f"{where}: every {what} piece must be a string, but got {piece!r}.")
        out.append(piece)
    return tuple(out)


def choice_index(choice: object, where: str) -> int:
    """``choice`` checked as a choice index (a non-negative int, not a bool)."""
    if isinstance(choice, bool) or not isinstance(choice, int) or choice < 0:
        raise ScriptError(f"{where}: choice={choice!r} is not a choice index; pass 0, 1, 2, ...")
    return choice


def json_value(value: object, where: str) -> Any:
    """``value`` as plain JSON (a fresh copy), so a script never holds the caller's mutable objects."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ScriptError(f"{where}: {value!r} is not plain JSON ({exc}).") from None


def plain_copy(value: Any) -> Any:
    """A deep copy with tuples as lists: what a step holds, handed out as the wire's JSON shape."""
    return copy.deepcopy(list(value) if isinstance(value, tuple) else value)

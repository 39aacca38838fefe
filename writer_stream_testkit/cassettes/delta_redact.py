"""Redaction across a recorded stream's deltas: a secret the model streams back in pieces.

The recorder scrubs a stream's bytes whole, so a secret split across network reads
is found; but a model that streams a secret back sends it as text split across
several chunks (``"sk-12"`` in one chat delta, ``"3456789"`` in the next), each a
JSON event of its own, and no byte pattern spans them. Here each text channel of
the stream (a chat choice's ``delta.content``, an application's ``delta.content``,
a completion's ``value``, a question's ``answer``) is joined, redacted as one text,
and cut back into its pieces the way read boundaries are kept: a piece that held
part of a secret keeps the replacement (the first) or nothing of it (the rest).
"""

from __future__ import annotations

import itertools
import json as _json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..wire.sse import DONE_DATA, encode_event
from .model import RecordedEvent
from .redact import Redaction

__all__ = ["redact_deltas"]


@dataclass(frozen=True, slots=True)
class _Piece:
    """One streamed text: the event it is in, where in the chunk, and the text."""

    event: int
    path: tuple[str | int, ...]
    text: str


def _pieces(chunk: Any) -> Iterator[tuple[tuple[Any, ...], tuple[str | int, ...], str]]:
    """(channel, path, text) of each streamed text in a parsed chunk of any of the four streams."""
    if not isinstance(chunk, dict):
        return
    choices = chunk.get("choices")
    if isinstance(choices, list):  # chat
        for i, choice in enumerate(choices):
            delta = choice.get("delta") if isinstance(choice, dict) else None
            if isinstance(delta, dict) and isinstance(delta.get("content"), str):
                yield ("chat", choice.get("index", i)), ("choices", i, "delta", "content"), delta["content"]
        return
    delta = chunk.get("delta")
    if isinstance(delta, dict) and isinstance(delta.get("content"), str):  # application
        yield ("application",), ("delta", "content"), delta["content"]
    if isinstance(chunk.get("value"), str):  # completion
        yield ("completion",), ("value",), chunk["value"]
    data = chunk.get("data")
    body, prefix = (data, ("data",)) if isinstance(data, dict) else (chunk, ())
    if isinstance(body.get("answer"), str):  # question, flat or wrapped in data
        yield ("question",), (*prefix, "answer"), body["answer"]


def _set(chunk: Any, path: tuple[str | int, ...], text: str) -> None:
    target = chunk
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = text


def _dumped(chunk: Any, like: str) -> str:
    """``chunk`` as JSON written as ``like`` was (compact or not, ASCII-escaped or not), as near as can be."""
    ascii_only = like.isascii()
    compact = _json.dumps(chunk, separators=(",", ":"), ensure_ascii=ascii_only)
    spaced = _json.dumps(chunk, ensure_ascii=ascii_only)
    return spaced if ", " in like and '": ' in like and ", " not in compact else compact


_TEXT_FIELD = re.compile(r'"(?:content|value|answer)"\s*:\s*"((?:[^"\\]|\\.)*)"')
"""A streamed text field's JSON string, escapes and all: what a split key could be in."""


def _may_hold_a_split_secret(events: Sequence[RecordedEvent], redaction: Redaction) -> bool:
    """Whether the joined text fields of ``events`` could hold a secret (a byte search, no JSON parsing).

    The secrets' byte patterns match their escaped forms too, so the JSON strings are
    searched as written; a stream holding no secret (nearly every one) costs one
    C-level scan instead of parsing every chunk.
    """
    joined = "".join(_TEXT_FIELD.findall("\n".join(e.data for e in events if e.data)))
    return redaction.may_change(joined.encode("utf-8", "surrogateescape"))


def redact_deltas(events: Sequence[RecordedEvent], redaction: Redaction) -> tuple[RecordedEvent, ...]:
    """``events`` with every secret and pattern found across each stream channel's joined text removed.

    Events that lose nothing are returned as they were (the same objects, so exact
    bytes stay exact); a changed event is written again as JSON, without its
    ``raw`` framing, keeping the read boundaries that still fall inside it.
    """
    if not redaction.secrets and not redaction.patterns:
        return tuple(events)
    if not redaction.patterns and not _may_hold_a_split_secret(events, redaction):
        return tuple(events)
    parsed: dict[int, Any] = {}
    channels: dict[tuple[Any, ...], list[_Piece]] = {}
    for index, event in enumerate(events):
        data = event.data
        if data is None or data == DONE_DATA or not data.startswith("{"):
            continue
        try:
            chunk = _json.loads(data)
        except ValueError:
            continue
        for channel, path, text in _pieces(chunk):
            parsed[index] = chunk
            channels.setdefault(channel, []).append(_Piece(index, path, text))
    changed: set[int] = set()
    for pieces in channels.values():
        if len(pieces) < 2:
            continue  # a secret in one piece was found in the bytes already
        joined = "".join(p.text for p in pieces)
        ends = list(itertools.accumulate(len(p.text) for p in pieces))
        scrubbed, moved = redaction.text_keeping_offsets(joined, ends)
        if scrubbed == joined:
            continue
        start = 0
        for piece, end in zip(pieces, moved, strict=True):
            text = scrubbed[start:end]
            start = end
            if text != piece.text:
                _set(parsed[piece.event], piece.path, text)
                changed.add(piece.event)
    if not changed:
        return tuple(events)
    out = list(events)
    for index in changed:
        event = events[index]
        assert event.data is not None
        data = _dumped(parsed[index], event.data)
        size = len(encode_event(data, event=event.event, id=event.id, retry=event.retry))
        out[index] = replace(event, data=data, raw=None, cuts=tuple(c for c in event.cuts if c[0] < size))
    return tuple(out)

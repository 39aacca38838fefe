"""What one streamed chunk of any Writer endpoint says, read from its shape alone.

Writer streams from four endpoints, each with its own chunk: chat
(``choices[].delta``), completions (``{"value": ...}``), the knowledge-graph
question (``answer``/``sources``/``subqueries``/``references``, flat as the
docs and Writer's own framework send it, or wrapped in ``data`` as the OpenAPI
spec has it) and applications (``delta.content``/``stages``/``title``). The
``show`` command, ``writer_snapshot`` transcripts and ``verify`` all need the
same three answers about a chunk: which stream it belongs to, the text it adds,
and what else it carries. This module gives them, pure, for ``writerai``
objects and plain dicts alike, so a recording, a live stream and an SDK object
read the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import pydantic

__all__ = ["ChunkView", "StreamKind", "StreamSummary", "as_plain", "summarise", "view_chunk"]

StreamKind: TypeAlias = Literal["chat", "completion", "question", "application"]


@dataclass(frozen=True, slots=True)
class ChunkView:
    """One chunk as the tools read it.

    ``fields`` are the other things the chunk carries, as plain values, in a
    fixed order (``None`` and empty ones left out). ``shape`` is what stays the
    same between two runs of one request (which fields are present, not their
    text); ``verify`` compares it.
    """

    kind: StreamKind
    text: str
    fields: tuple[tuple[str, Any], ...] = ()
    shape: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StreamSummary:
    """A whole stream accumulated: its kind, all its text, and what it ended with."""

    kind: StreamKind
    text: str
    fields: tuple[tuple[str, Any], ...] = ()


def as_plain(chunk: object) -> object:
    """A model as the dict it was parsed from (wire names, fields it never had left out); anything else as is."""
    if isinstance(chunk, pydantic.BaseModel):
        return chunk.model_dump(mode="json", exclude_unset=True, by_alias=True)
    return chunk


def _dict(value: object) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _present(value: object) -> bool:
    return value is not None and value != [] and value != {}


def _chat(chunk: dict[str, Any]) -> ChunkView:
    choices = sorted((_dict(c) for c in chunk.get("choices") or []), key=lambda c: str(c.get("index")))
    text = "".join(str(_dict(c.get("delta")).get("content") or "") for c in choices)
    fields: list[tuple[str, Any]] = []
    finish = {c.get("index"): c["finish_reason"] for c in choices if c.get("finish_reason")}
    if finish:
        fields.append(("finish_reason", finish))
    calls = [
        {k: v for k, v in (("index", call.get("index")), *_dict(call.get("function")).items()) if v}
        for c in choices
        for call in (_dict(c.get("delta")).get("tool_calls") or [])
        if isinstance(call, Mapping)
    ]
    if calls:
        fields.append(("tool_calls", calls))
    if _present(chunk.get("usage")):
        fields.append(("usage", chunk["usage"]))
    return ChunkView("chat", text, tuple(fields))


def _completion(chunk: dict[str, Any]) -> ChunkView:
    value = chunk.get("value")
    others = [(k, v) for k, v in chunk.items() if k != "value" and v is not None]
    shape = ["completion: value" if value else "completion: empty value"]
    shape.extend(f"completion: {k}" for k, _ in others)
    return ChunkView("completion", str(value or ""), tuple(others), tuple(shape))


_QUESTION_PARTS = ("sources", "subqueries", "references")


def _question(chunk: dict[str, Any]) -> ChunkView:
    data = chunk.get("data")
    wrapped = isinstance(data, Mapping)
    body = _dict(data) if wrapped else chunk
    label = "question (in data)" if wrapped else "question"
    answer = body.get("answer")
    fields = tuple((name, body[name]) for name in _QUESTION_PARTS if _present(body.get(name)))
    shape = [f"{label}: answer"] if answer else [f"{label}: no answer"]
    for name, value in fields:
        if name == "references" and isinstance(value, Mapping):
            shape.extend(f"{label}: references.{k}" for k in sorted(value) if _present(value[k]))
        else:
            shape.append(f"{label}: {name}")
    return ChunkView("question", str(answer or ""), fields, tuple(shape))


def _application(chunk: dict[str, Any]) -> ChunkView:
    delta = _dict(chunk.get("delta"))
    fields: list[tuple[str, Any]] = []
    shape: list[str] = []
    if delta.get("title") is not None:
        fields.append(("title", delta["title"]))
        shape.append("application: title")
    stages = [_dict(s) for s in delta.get("stages") or []]
    if stages:
        fields.append(("stages", stages))
        shape.extend(
            "application: stage with sources" if _present(s.get("sources")) else "application: stage"
            for s in stages
        )
    if delta.get("content"):
        shape.append("application: content")
    return ChunkView(
        "application",
        str(delta.get("content") or ""),
        tuple(fields),
        tuple(shape or ["application: empty delta"]),
    )


def view_chunk(chunk: object) -> ChunkView | None:
    """``chunk`` (a ``writerai`` object or its dict) read as a stream chunk; ``None`` if it is none of the four."""
    plain = as_plain(chunk)
    if not isinstance(plain, Mapping):
        return None
    body = dict(plain)
    if "choices" in body:
        return _chat(body)
    if "delta" in body:
        return _application(body)
    if "value" in body:
        return _completion(body)
    data = body.get("data")
    if {"answer", "question"} & set(body) or (
        isinstance(data, Mapping) and {"answer", "question"} & set(data)
    ):
        return _question(body)
    return None


def summarise(views: Sequence[ChunkView]) -> StreamSummary | None:
    """The stream the chunks add up to: the text joined, and for the rest what the stream ended with.

    For a question that is the last ``sources``/``subqueries``/``references``
    any chunk carried (Writer fills them on the last chunk); for an application,
    the last title and every stage in order. ``None`` for no chunks.
    """
    if not views:
        return None
    kind = views[0].kind
    text = "".join(v.text for v in views)
    if kind == "application":
        titles = [value for v in views for name, value in v.fields if name == "title"]
        stages = [stage for v in views for name, value in v.fields if name == "stages" for stage in value]
        fields = [*([("title", titles[-1])] if titles else []), *([("stages", stages)] if stages else [])]
        return StreamSummary(kind, text, tuple(fields))
    if kind == "chat":
        return StreamSummary(kind, text)
    last: dict[str, Any] = {}
    for view in views:
        last.update(view.fields)
    return StreamSummary(kind, text, tuple(last.items()))

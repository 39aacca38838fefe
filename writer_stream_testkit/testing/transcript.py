"""Render stream-helper events and a final completion as a stable, diff-friendly text transcript.

One line per event, so a review diff reads as "content.done moved before
tool_calls.function.arguments.done" rather than a wall of JSON. Raw chunks of
any streaming endpoint (chat, completions, KG question, applications) render
the same way: one line per chunk with its text, then what the stream adds up to. Everything is
duck-typed on the ``type`` attribute and the SDK's field names, so events from
``writerai`` and from this kit render identically. The output is deterministic:
mapping keys are sorted, floats use their shortest round-trip form, strings are
single-quoted with newlines and non-ASCII escaped, and no object ids appear.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping, Sequence

import pydantic

from ..wire.stream_kinds import ChunkView, summarise

__all__ = [
    "render_chunk_transcript",
    "render_chunk_view",
    "render_event",
    "render_stream_summary",
    "render_transcript",
]

_TYPE_WIDTH = 22
_SEP = "  "
_MISSING = object()

_Renderer = Callable[[object], list[str]]


def render_event(event: object) -> str:
    """One line for one event: its type, padded, then its key fields."""
    kind = _get(event, "type")
    type_name = kind if isinstance(kind, str) else "?"
    render = _RENDERERS.get(type_name, _render_other)
    fields = render(event)
    return f"{type_name:<{_TYPE_WIDTH}} {_SEP.join(fields)}".rstrip()


def render_transcript(events: Iterable[object], completion: object | None = None) -> str:
    """The numbered event lines, then the final completion when one is given."""
    event_list = list(events)
    lines = [f"events ({len(event_list)}):"]
    lines.extend(f"{index:>4}  {render_event(event)}" for index, event in enumerate(event_list))
    if completion is not None:
        lines.append("final completion:")
        lines.extend(_render_completion(completion))
    return "\n".join(lines) + "\n"


def render_chunk_view(view: ChunkView) -> str:
    """One line for one chunk: its stream's kind, padded, its text, then what else it carries.

    An empty text is left out when the chunk carries something else (an
    application's stage), and kept when it is all the chunk says (the empty
    first chunk of a completions stream).
    """
    fields = [f"text={_fmt(view.text)}"] if view.text or not view.fields else []
    fields.extend(_chunk_field(name, value) for name, value in view.fields)
    return f"{view.kind:<{_TYPE_WIDTH}} {_SEP.join(fields)}"


def render_stream_summary(views: Sequence[ChunkView]) -> list[str]:
    """``final <kind>:`` and what the chunks add up to: all the text, then what the stream ended with."""
    summary = summarise(views)
    if summary is None:
        return []
    lines = [f"final {summary.kind}:", f"  text={_fmt(summary.text)}"]
    lines.extend(f"  {_chunk_field(name, value)}" for name, value in summary.fields)
    return lines


def render_chunk_transcript(views: Sequence[ChunkView]) -> str:
    """The numbered chunk lines, then the stream they add up to."""
    lines = [f"chunks ({len(views)}):"]
    lines.extend(f"{index:>4}  {render_chunk_view(view)}" for index, view in enumerate(views))
    lines.extend(render_stream_summary(views))
    return "\n".join(lines) + "\n"


def _chunk_field(name: str, value: object) -> str:
    """``name=value``; an application's stages as ``stage 'id': 'content' sources=[...]``, in reading order."""
    if name != "stages":
        return f"{name}={_fmt(value)}"
    parts = []
    for stage in _list(value):
        part = f"stage {_fmt(_get(stage, 'id'))}: {_fmt(_get(stage, 'content'))}"
        sources = _get(stage, "sources")
        parts.append(part + (f" sources={_fmt(sources)}" if sources not in (None, _MISSING) else ""))
    return _SEP.join(parts)


# --- events ---------------------------------------------------------------------------------------


def _render_chunk(event: object) -> list[str]:
    chunk = _get(event, "chunk")
    choices = _list(_get(chunk, "choices"))
    fields = [f"choices={_fmt([_get(choice, 'index') for choice in choices])}"]
    finish = {_get(c, "index"): _get(c, "finish_reason") for c in choices if _get(c, "finish_reason")}
    if finish:
        fields.append(f"finish_reason={_fmt(finish)}")
    usage = _get(chunk, "usage")
    if usage is not None:
        fields.append(f"usage=({_flat(usage)})")
    return fields


def _render_content_delta(event: object) -> list[str]:
    fields = [f"delta={_fmt(_get(event, 'delta'))}", f"snapshot_len={_len(_get(event, 'snapshot'))}"]
    return _with_optional(fields, "parsed", _get(event, "parsed"))


def _render_content_done(event: object) -> list[str]:
    return _with_optional([f"content={_fmt(_get(event, 'content'))}"], "parsed", _get(event, "parsed"))


def _render_refusal_delta(event: object) -> list[str]:
    return [f"delta={_fmt(_get(event, 'delta'))}", f"snapshot_len={_len(_get(event, 'snapshot'))}"]


def _render_refusal_done(event: object) -> list[str]:
    return [f"refusal={_fmt(_get(event, 'refusal'))}"]


def _render_arguments_delta(event: object) -> list[str]:
    fields = [
        f"index={_fmt(_get(event, 'index'))}",
        f"name={_fmt(_get(event, 'name'))}",
        f"delta={_fmt(_get(event, 'arguments_delta'))}",
        f"arguments_len={_len(_get(event, 'arguments'))}",
    ]
    return _with_optional(fields, "parsed_arguments", _get(event, "parsed_arguments"))


def _render_arguments_done(event: object) -> list[str]:
    fields = [
        f"index={_fmt(_get(event, 'index'))}",
        f"name={_fmt(_get(event, 'name'))}",
        f"id={_fmt(_get(event, 'tool_call_snapshot_id'))}",
        f"arguments={_fmt(_get(event, 'arguments'))}",
    ]
    return _with_optional(fields, "parsed_arguments", _get(event, "parsed_arguments"))


def _logprobs_delta(field: str) -> _Renderer:
    def render(event: object) -> list[str]:
        tokens = _list(_get(event, field))
        return [
            f"tokens={_fmt([_get(t, 'token') for t in tokens])}",
            f"logprobs={_fmt([_get(t, 'logprob') for t in tokens])}",
            f"snapshot_len={_len(_get(event, 'snapshot'))}",
        ]

    return render


def _logprobs_done(field: str) -> _Renderer:
    def render(event: object) -> list[str]:
        return [f"tokens={_fmt([_get(t, 'token') for t in _list(_get(event, field))])}"]

    return render


def _render_other(event: object) -> list[str]:
    plain = _plain(event)
    if not isinstance(plain, Mapping):
        return [f"value={_fmt(plain)}"]
    return [f"{key}={_fmt(value)}" for key, value in sorted(plain.items()) if key != "type"]


def _with_optional(fields: list[str], name: str, value: object) -> list[str]:
    if value is not None and value is not _MISSING:
        fields.append(f"{name}={_fmt(value)}")
    return fields


_RENDERERS: dict[str, _Renderer] = {
    "chunk": _render_chunk,
    "content.delta": _render_content_delta,
    "content.done": _render_content_done,
    "refusal.delta": _render_refusal_delta,
    "refusal.done": _render_refusal_done,
    "tool_calls.function.arguments.delta": _render_arguments_delta,
    "tool_calls.function.arguments.done": _render_arguments_done,
    "logprobs.content.delta": _logprobs_delta("content"),
    "logprobs.content.done": _logprobs_done("content"),
    "logprobs.refusal.delta": _logprobs_delta("refusal"),
    "logprobs.refusal.done": _logprobs_done("refusal"),
}


# --- the final completion -------------------------------------------------------------------------


def _render_completion(completion: object) -> list[str]:
    lines = [f"  id={_fmt(_get(completion, 'id'))}{_SEP}model={_fmt(_get(completion, 'model'))}"]
    for choice in _list(_get(completion, "choices")):
        lines.append(
            f"  choice {_fmt(_get(choice, 'index'))}{_SEP}finish_reason={_fmt(_get(choice, 'finish_reason'))}"
        )
        message = _get(choice, "message")
        lines.append(f"    content={_fmt(_get(message, 'content'))}")
        lines.append(f"    refusal={_fmt(_get(message, 'refusal'))}")
        parsed = _get(message, "parsed")
        if parsed is not None and parsed is not _MISSING:
            lines.append(f"    parsed={_fmt(parsed)}")
        for position, tool_call in enumerate(_list(_get(message, "tool_calls"))):
            function = _get(tool_call, "function")
            fields = [
                f"    tool_call {position}",
                f"id={_fmt(_get(tool_call, 'id'))}",
                f"name={_fmt(_get(function, 'name'))}",
                f"arguments={_fmt(_get(function, 'arguments'))}",
            ]
            lines.append(
                _SEP.join(_with_optional(fields, "parsed_arguments", _get(function, "parsed_arguments")))
            )
        logprobs = _get(choice, "logprobs")
        for part in ("content", "refusal"):
            tokens = _get(logprobs, part)
            if tokens is not None and tokens is not _MISSING:
                lines.append(f"    logprobs.{part} tokens={_fmt([_get(t, 'token') for t in _list(tokens)])}")
    usage = _get(completion, "usage")
    if usage is not None and usage is not _MISSING:
        lines.append(f"  usage {_flat(usage)}")
    return lines


# --- values ---------------------------------------------------------------------------------------


def _get(obj: object, name: str) -> object:
    """An attribute or mapping key, or ``_MISSING``; models and dicts read alike."""
    if obj is None or obj is _MISSING:
        return _MISSING
    if isinstance(obj, Mapping):
        return obj.get(name, _MISSING)
    return getattr(obj, name, _MISSING)


def _list(value: object) -> list[object]:
    """A sequence field as a list; absent or ``None`` reads as empty."""
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return list(value)
    return []


def _len(value: object) -> str:
    return str(len(value)) if isinstance(value, (str, list, tuple)) else _fmt(value)


def _plain(value: object) -> object:
    """Models and dataclasses as plain dicts and lists, for comparing values across implementations."""
    if isinstance(value, pydantic.BaseModel):
        return {key: _plain(item) for key, item in value.model_dump(mode="python").items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: _plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _flat(value: object) -> str:
    """A nested model or dict as sorted ``a.b=1`` pairs, leaving out ``None`` fields."""
    pairs: list[tuple[str, object]] = []

    def walk(prefix: str, item: object) -> None:
        if isinstance(item, Mapping):
            for key, sub in item.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif item is not None:
            pairs.append((prefix, item))

    walk("", _plain(value))
    return " ".join(f"{key}={_fmt(item)}" for key, item in sorted(pairs, key=lambda pair: pair[0]))


def _fmt(value: object) -> str:
    """A compact, deterministic, single-line rendering of a field value."""
    if value is _MISSING:
        return "<missing>"
    if value is None or isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, Mapping):
        items = sorted(value.items(), key=lambda item: str(item[0]))
        return "{" + ", ".join(f"{_fmt(key)}: {_fmt(item)}" for key, item in items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_fmt(item) for item in value) + "]"
    if isinstance(value, pydantic.BaseModel):
        names = [*type(value).model_fields, *(value.model_extra or {})]
        return _call(type(value).__name__, [(name, getattr(value, name, None)) for name in names])
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = [(field.name, getattr(value, field.name)) for field in dataclasses.fields(value)]
        return _call(type(value).__name__, fields)
    return f"<{type(value).__name__}>"


def _call(name: str, fields: list[tuple[str, object]]) -> str:
    return f"{name}(" + ", ".join(f"{key}={_fmt(item)}" for key, item in fields) + ")"


_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _quote(text: str) -> str:
    """Single-quoted and ASCII-only, so every value stays on one line whatever it holds."""
    out = []
    for char in text:
        code = ord(char)
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif 0x20 <= code < 0x7F:
            out.append(char)
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "'" + "".join(out) + "'"

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

from collections.abc import Callable, Iterable, Mapping, Sequence

from ..wire.stream_kinds import ChunkView, summarise
from ._fields import MISSING, as_list, flat_fields, format_value, get_field, length_text, plain_value

__all__ = [
    "render_chunk_transcript",
    "render_chunk_view",
    "render_event",
    "render_stream_summary",
    "render_transcript",
]

_TYPE_WIDTH = 22
_SEP = "  "

_Renderer = Callable[[object], list[str]]


def render_event(event: object) -> str:
    """One line for one event: its type, padded, then its key fields."""
    kind = get_field(event, "type")
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
    fields = [f"text={format_value(view.text)}"] if view.text or not view.fields else []
    fields.extend(_chunk_field(name, value) for name, value in view.fields)
    return f"{view.kind:<{_TYPE_WIDTH}} {_SEP.join(fields)}"


def render_stream_summary(views: Sequence[ChunkView]) -> list[str]:
    """``final <kind>:`` and what the chunks add up to: all the text, then what the stream ended with."""
    summary = summarise(views)
    if summary is None:
        return []
    lines = [f"final {summary.kind}:", f"  text={format_value(summary.text)}"]
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
        return f"{name}={format_value(value)}"
    parts = []
    for stage in as_list(value):
        part = f"stage {format_value(get_field(stage, 'id'))}: {format_value(get_field(stage, 'content'))}"
        sources = get_field(stage, "sources")
        parts.append(part + (f" sources={format_value(sources)}" if sources not in (None, MISSING) else ""))
    return _SEP.join(parts)


# --- events ---------------------------------------------------------------------------------------


def _render_chunk(event: object) -> list[str]:
    chunk = get_field(event, "chunk")
    choices = as_list(get_field(chunk, "choices"))
    fields = [f"choices={format_value([get_field(choice, 'index') for choice in choices])}"]
    finish = {
        get_field(c, "index"): get_field(c, "finish_reason") for c in choices if get_field(c, "finish_reason")
    }
    if finish:
        fields.append(f"finish_reason={format_value(finish)}")
    usage = get_field(chunk, "usage")
    if usage is not None:
        fields.append(f"usage=({flat_fields(usage)})")
    return fields


def _render_content_delta(event: object) -> list[str]:
    fields = [
        f"delta={format_value(get_field(event, 'delta'))}",
        f"snapshot_len={length_text(get_field(event, 'snapshot'))}",
    ]
    return _with_optional(fields, "parsed", get_field(event, "parsed"))


def _render_content_done(event: object) -> list[str]:
    return _with_optional(
        [f"content={format_value(get_field(event, 'content'))}"], "parsed", get_field(event, "parsed")
    )


def _render_refusal_delta(event: object) -> list[str]:
    return [
        f"delta={format_value(get_field(event, 'delta'))}",
        f"snapshot_len={length_text(get_field(event, 'snapshot'))}",
    ]


def _render_refusal_done(event: object) -> list[str]:
    return [f"refusal={format_value(get_field(event, 'refusal'))}"]


def _render_arguments_delta(event: object) -> list[str]:
    fields = [
        f"index={format_value(get_field(event, 'index'))}",
        f"name={format_value(get_field(event, 'name'))}",
        f"delta={format_value(get_field(event, 'arguments_delta'))}",
        f"arguments_len={length_text(get_field(event, 'arguments'))}",
    ]
    return _with_optional(fields, "parsed_arguments", get_field(event, "parsed_arguments"))


def _render_arguments_done(event: object) -> list[str]:
    fields = [
        f"index={format_value(get_field(event, 'index'))}",
        f"name={format_value(get_field(event, 'name'))}",
        f"id={format_value(get_field(event, 'tool_call_snapshot_id'))}",
        f"arguments={format_value(get_field(event, 'arguments'))}",
    ]
    return _with_optional(fields, "parsed_arguments", get_field(event, "parsed_arguments"))


def _logprobs_delta(field: str) -> _Renderer:
    def render(event: object) -> list[str]:
        tokens = as_list(get_field(event, field))
        return [
            f"tokens={format_value([get_field(t, 'token') for t in tokens])}",
            f"logprobs={format_value([get_field(t, 'logprob') for t in tokens])}",
            f"snapshot_len={length_text(get_field(event, 'snapshot'))}",
        ]

    return render


def _logprobs_done(field: str) -> _Renderer:
    def render(event: object) -> list[str]:
        return [f"tokens={format_value([get_field(t, 'token') for t in as_list(get_field(event, field))])}"]

    return render


def _render_other(event: object) -> list[str]:
    plain = plain_value(event)
    if not isinstance(plain, Mapping):
        return [f"value={format_value(plain)}"]
    return [f"{key}={format_value(value)}" for key, value in sorted(plain.items()) if key != "type"]


def _with_optional(fields: list[str], name: str, value: object) -> list[str]:
    if value is not None and value is not MISSING:
        fields.append(f"{name}={format_value(value)}")
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
    lines = [
        f"  id={format_value(get_field(completion, 'id'))}{_SEP}model={format_value(get_field(completion, 'model'))}"
    ]
    for choice in as_list(get_field(completion, "choices")):
        lines.append(
            f"  choice {format_value(get_field(choice, 'index'))}{_SEP}finish_reason={format_value(get_field(choice, 'finish_reason'))}"
        )
        message = get_field(choice, "message")
        lines.append(f"    content={format_value(get_field(message, 'content'))}")
        lines.append(f"    refusal={format_value(get_field(message, 'refusal'))}")
        parsed = get_field(message, "parsed")
        if parsed is not None and parsed is not MISSING:
            lines.append(f"    parsed={format_value(parsed)}")
        for position, tool_call in enumerate(as_list(get_field(message, "tool_calls"))):
            function = get_field(tool_call, "function")
            fields = [
                f"    tool_call {position}",
                f"id={format_value(get_field(tool_call, 'id'))}",
                f"name={format_value(get_field(function, 'name'))}",
                f"arguments={format_value(get_field(function, 'arguments'))}",
            ]
            lines.append(
                _SEP.join(_with_optional(fields, "parsed_arguments", get_field(function, "parsed_arguments")))
            )
        logprobs = get_field(choice, "logprobs")
        for part in ("content", "refusal"):
            tokens = get_field(logprobs, part)
            if tokens is not None and tokens is not MISSING:
                lines.append(
                    f"    logprobs.{part} tokens={format_value([get_field(t, 'token') for t in as_list(tokens)])}"
                )
    usage = get_field(completion, "usage")
    if usage is not None and usage is not MISSING:
        lines.append(f"  usage {flat_fields(usage)}")
    return lines

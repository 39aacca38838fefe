"""A syrupy extension that stores stream events as a readable transcript file.

The transcript (see ``transcript.py``) puts one event per line and the final
completion below, so a snapshot diff in review reads as "content.done moved
before tool_calls.function.arguments.done", not as a wall of JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from ..wire.stream_kinds import ChunkView, view_chunk
from .transcript import render_chunk_transcript, render_transcript

__all__ = ["StreamTranscript", "WriterSnapshotExtension", "to_transcript"]


class StreamTranscript:
    """Events plus an explicit final completion, for ``assert StreamTranscript(...) == writer_snapshot``."""

    __slots__ = ("completion", "events")

    def __init__(self, events: Sequence[object], completion: object | None = None) -> None:
        self.events = list(events)
        self.completion = completion


def _is_event(value: object) -> bool:
    kind = value.get("type") if isinstance(value, Mapping) else getattr(value, "type", None)
    return isinstance(kind, str)


def _last_snapshot(events: Sequence[object]) -> object | None:
    """The accumulated completion a stream ends with: the live snapshot of its last chunk event."""
    for event in reversed(events):
        if getattr(event, "type", None) == "chunk":
            return getattr(event, "snapshot", None)
    return None


def to_transcript(data: object) -> str:
    """Render what a test hands to ``writer_snapshot`` as transcript text.

    Accepted: a sequence of events (the final completion is the last chunk
    event's snapshot), a sequence of raw chunks of one stream (chat,
    completions, KG question or applications; ``writerai`` objects or dicts),
    a ``StreamTranscript``, an ``(events, completion)`` pair, or a completion
    on its own.
    """
    if isinstance(data, StreamTranscript):
        return render_transcript(data.events, data.completion)
    if isinstance(data, tuple) and len(data) == 2 and isinstance(data[0], Sequence):
        events, completion = data
        return render_transcript(list(events), completion)
    if isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
        events = list(data)
        if events and not _is_event(events[0]) and view_chunk(events[0]) is not None:
            return render_chunk_transcript(_chunk_views(events))
        bad = next((i for i, event in enumerate(events) if not _is_event(event)), None)
        if bad is not None:
            raise TypeError(
                f"writer_snapshot was given a sequence whose item #{bad} ({type(events[bad]).__name__}) "
                "is not a stream event; pass the events from client.chat.stream(), the chunks of one "
                "stream (chat, completions, graphs.question, applications), a "
                "StreamTranscript(events, completion), or a completion."
            )
        return render_transcript(events, _last_snapshot(events))
    if getattr(data, "choices", None) is not None:
        return render_transcript([], data)
    raise TypeError(
        f"writer_snapshot cannot render a {type(data).__name__}; pass a list of stream events, "
        "a StreamTranscript(events, completion), an (events, completion) pair, or a completion."
    )


def _chunk_views(chunks: Sequence[object]) -> list[ChunkView]:
    """Every item read as a chunk of the first item's stream, or a ``TypeError`` naming the odd one."""
    views: list[ChunkView] = []
    for index, chunk in enumerate(chunks):
        view = view_chunk(chunk)
        if view is None or view.kind != (views[0].kind if views else view.kind):
            what = "not a stream chunk" if view is None else f"a {view.kind} chunk"
            raise TypeError(
                f"writer_snapshot was given chunks of a {views[0].kind} stream, but item #{index} "
                f"({type(chunk).__name__}) is {what}; snapshot one stream's chunks at a time."
            )
        views.append(view)
    return views


class WriterSnapshotExtension(SingleFileSnapshotExtension):
    """Stores each snapshot as ``__snapshots__/<test file>/<test name>.stream.txt``."""

    _write_mode = WriteMode.TEXT
    file_extension = "stream.txt"

    def serialize(self, data: Any, **kwargs: Any) -> str:
        return to_transcript(data)

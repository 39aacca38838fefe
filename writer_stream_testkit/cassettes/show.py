"""``show``: a cassette as a reader wants it, each stream's chunks, text and summary (pure)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..helpers.accumulate import ChatCompletionStreamState
from ..testing.transcript import render_chunk_view, render_event, render_stream_summary, render_transcript
from ..wire.sse import DONE_DATA
from ..wire.stream_kinds import ChunkView, view_chunk
from ._shown import clip, content_type, quote
from .model import CassetteContent, RecordedEvent, RecordedRequest

__all__ = ["render_cassette_text", "request_summary"]


def _message_text(content: object) -> str:
    """A message's text whether ``content`` is a string or a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text", "")) for part in content if isinstance(part, dict) and "text" in part
        )
    return ""


def request_summary(request: RecordedRequest) -> str:
    """``model=... stream=... messages=N last user: '...'``: what the request asked, in one line."""
    body = request.json
    if not isinstance(body, dict):
        return f"body: {quote(request.body or '', 80)}" if request.body else "no body"
    parts = [f"model={body.get('model', '?')}"] if "model" in body or "messages" in body else []
    parts.append(f"stream={json.dumps(body.get('stream', False))}")
    for name in ("prompt", "question"):
        if isinstance(body.get(name), str):
            parts.append(f"{name}: {quote(body[name], 80)}")
    if isinstance(body.get("graph_ids"), list):
        parts.append(f"graph_ids: {', '.join(map(str, body['graph_ids']))}")
    inputs = body.get("inputs")
    if isinstance(inputs, list):
        shown = [
            f"{i.get('id')}={quote(' '.join(map(str, i.get('value') or [])), 60)}"
            for i in inputs
            if isinstance(i, dict)
        ]
        parts.append(f"inputs: {', '.join(shown)}")
    messages = body.get("messages")
    if isinstance(messages, list):
        parts.append(f"{len(messages)} message{'s' if len(messages) != 1 else ''}")
        users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        if users:
            parts.append(f"last user: {quote(_message_text(users[-1].get('content')), 80)}")
    tools = body.get("tools")
    if isinstance(tools, list) and tools:
        names = [str((t.get("function") or {}).get("name", "?")) for t in tools if isinstance(t, dict)]
        parts.append(f"tools: {', '.join(names)}")
    return "  ".join(parts)


def _event_lines(
    events: Sequence[RecordedEvent], input_tools: list[Any]
) -> tuple[list[str], Any, list[ChunkView]]:
    """Lines for the events: chat chunks decoded into helper events, the other endpoints' chunks
    read as text and fields, anything else shown raw."""
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState(input_tools=input_tools)
    lines: list[str] = []
    views: list[ChunkView] = []
    decoded_any = False
    pad = " " * 18
    for index, event in enumerate(events):
        head = f"#{index:<3} +{event.t:.3f}s  "
        helper: list[str] | None = None
        if event.data is not None and event.data != DONE_DATA and event.event is None:
            try:
                chunk = json.loads(event.data)
                view = view_chunk(chunk)
                if view is not None and view.kind == "chat":
                    helper = [render_event(e) for e in state.handle_chunk(chunk)]
                    decoded_any = True
                elif view is not None:
                    helper = [render_chunk_view(view)]
                    views.append(view)
            except ValueError:
                helper = None
        if helper:
            lines.append(head + helper[0])
            lines.extend(pad + line for line in helper[1:])
        elif event.data == DONE_DATA:
            lines.append(head + "[DONE]")
        elif event.data is not None:
            label = f"event={event.event} " if event.event else ""
            lines.append(head + f"{label}data: {quote(event.data)}")
        else:
            raw = event.framing().decode("utf-8", "replace")
            unfinished = not raw.endswith(("\n\n", "\r\r", "\r\n\r\n", "\n\r\n"))
            what = "(cut mid-event)" if unfinished else "(comment, no data)"
            lines.append(head + f"{what} raw: {quote(raw)}")
    snapshot = state.current_completion_snapshot if decoded_any else None
    return lines, snapshot, views


def render_cassette_text(content: CassetteContent, *, source: str) -> str:
    """A cassette as a transcript a person can read: one block per interaction."""
    count = len(content.interactions)
    lines = [f"Cassette {source}: {count} interaction{'s' if count != 1 else ''}"]
    for key, value in content.meta.items():
        lines.append(f"  meta.{key}: {clip(str(value), 120)}")
    for index, interaction in enumerate(content.interactions):
        request, response = interaction.request, interaction.response
        lines.append("")
        lines.append(f"[{index}] {request.method} {request.url}")
        lines.append(f"    {request_summary(request)}")
        kind = content_type(response)
        if response.events is not None:
            last = max((e.t for e in response.events), default=response.t)
            lines.append(
                f"    -> {response.status} {kind}, {len(response.events)} events, "
                f"headers at +{response.t:.3f}s, last event at +{last:.3f}s"
            )
            tools = request.json.get("tools", []) if isinstance(request.json, dict) else []
            event_lines, snapshot, views = _event_lines(
                response.events, tools if isinstance(tools, list) else []
            )
            lines.extend("    " + line for line in event_lines)
            done = bool(response.events) and response.events[-1].data == DONE_DATA
            if not response.complete:
                lines.append(
                    "    !! incomplete: the stream was cut here (complete: false); replay drops the connection"
                )
            elif not done and not views:  # completions, questions and applications may end without it
                lines.append("    !! the stream ended without data: [DONE]")
            if snapshot is not None:
                final = render_transcript([], snapshot).splitlines()[2:]  # past "events (0):" and its title
                lines.append("    final completion:")
                lines.extend("    " + line for line in final)
            if views:
                summary = render_stream_summary([v for v in views if v.kind == views[0].kind])
                lines.extend("    " + clip(line, 400) for line in summary)
        else:
            body = response.body or b""
            try:
                text = body.decode("utf-8")
                shown = quote(text)
            except UnicodeDecodeError:
                shown = "(binary)"
            state = "" if response.complete else " (incomplete: cut part-way)"
            lines.append(f"    -> {response.status} {kind}, {len(body)} body bytes{state}: {shown}")
    return "\n".join(lines) + "\n"

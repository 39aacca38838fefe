"""``verify``: whether a live stream has drifted in shape from its recording, and the report (pure)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..helpers.accumulate import ChatCompletionStreamState
from ..wire.sse import DONE_DATA
from ..wire.stream_kinds import view_chunk
from ._shown import content_type, is_sse, quote
from .matching import DIFF_LINES_CAP, bounded_opcodes
from .model import Interaction, RecordedResponse
from .show import request_summary

__all__ = ["Drift", "compare_responses", "how_to_rerecord", "render_verify_report"]


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _choice_shape(choice: Mapping[str, Any]) -> list[str]:
    delta = _mapping(choice.get("delta"))
    fields: list[str] = []
    for name in ("role", "content", "refusal"):
        if delta.get(name) not in (None, ""):
            fields.append(name)
    for call in delta.get("tool_calls") or []:
        if not isinstance(call, dict):
            continue
        function = _mapping(call.get("function"))
        label = f"tool_call[{call.get('index')}]"
        if function.get("name"):
            label += f" {function['name']}"
        if function.get("arguments"):
            label += " args"
        fields.append(label)
    if choice.get("logprobs"):
        fields.append("logprobs")
    if choice.get("finish_reason"):
        fields.append(f"finish={choice['finish_reason']}")
    return [f"choice {choice.get('index')}: {field}" for field in fields or ["empty delta"]]


def _shapes(response: RecordedResponse) -> tuple[list[tuple[int, str]], dict[str, str]]:
    """(event index, shape) for each part of each event, and the text each choice (or stream) streamed.

    A shape is what does not change between two runs of the same request: choice
    indexes, which delta fields are present, tool names, finish reasons, and the
    ``.done`` helper events the SDK derives. Ids, timestamps and the text are left out.
    An event yields one shape per field (``role`` and ``content`` are two), so a
    reply that arrives in one chunk has the same shape as one that arrives in ten.
    Completions, KG question and application chunks have shapes of their own
    (``completion: value``, ``question: sources``, ``application: stage``, ...).
    """
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    shapes: list[tuple[int, str]] = []
    text: dict[str, str] = {}
    for index, event in enumerate(response.events or ()):
        data = event.data
        if data is None:
            continue  # keep-alives and comments come and go between runs
        if data == DONE_DATA:
            shapes.append((index, "[DONE]"))
            continue
        try:
            chunk = json.loads(data)
        except ValueError:
            shapes.append((index, "non-JSON data"))
            continue
        view = view_chunk(chunk) if isinstance(chunk, dict) else None
        if view is not None and view.kind != "chat":
            shapes.extend((index, part) for part in view.shape)
            label = _TEXT_LABELS[view.kind]
            text[label] = text.get(label, "") + view.text
            continue
        if not isinstance(chunk, dict) or "choices" not in chunk:
            kind = (
                "error payload"
                if isinstance(chunk, dict) and "error" in chunk
                else "JSON that is not a chunk"
            )
            shapes.append((index, kind))
            continue
        choices = [c for c in chunk.get("choices") or [] if isinstance(c, dict)]
        parts = [
            part for c in sorted(choices, key=lambda c: str(c.get("index"))) for part in _choice_shape(c)
        ]
        if not parts:
            parts = ["no choices" + (", usage" if chunk.get("usage") else "")]
        for choice in choices:
            piece = _mapping(choice.get("delta")).get("content")
            if isinstance(piece, str) and isinstance(choice.get("index"), int):
                label = f"choice {choice['index']}"
                text[label] = text.get(label, "") + piece
        try:
            done = [
                e.type + (f"({e.name})" if e.type == "tool_calls.function.arguments.done" else "")
                for e in state.handle_chunk(chunk)
                if e.type.endswith(".done")
            ]
        except ValueError:
            shapes.append((index, "invalid chunk"))
            continue
        shapes.extend((index, part) for part in [*parts, *done])
    if not response.complete:
        shapes.append((len(response.events or ()), "(stream cut)"))
    return shapes, text


_TEXT_LABELS = {"completion": "the completion", "question": "the answer", "application": "the content"}
"""What ``verify``'s notes call the text of each non-chat stream."""


def _runs(shapes: Sequence[tuple[int, str]]) -> list[tuple[int, str, int]]:
    """Consecutive equal shapes as one run (first index, shape, count): chunking varies run to run.

    A choice's role counts once: Writer's API repeats it on every delta, OpenAI's sends it on the
    first only, and a recording of one compared with a live stream of the other is not drift.
    """
    runs: list[tuple[int, str, int]] = []
    roles: set[str] = set()
    for index, shape in shapes:
        if shape.endswith(": role"):
            if shape in roles:
                continue
            roles.add(shape)
        if runs and runs[-1][1] == shape:
            first, _, count = runs[-1]
            runs[-1] = (first, shape, count + 1)
        else:
            runs.append((index, shape, 1))
    return runs


@dataclass(frozen=True, slots=True)
class Drift:
    """How one live response compares with its recording."""

    drifted: bool
    recorded_index: int | None = None
    """The recorded event where the shapes first differ (``None``: the status or body kind differs)."""
    live_index: int | None = None
    problem: str = ""
    diff: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    """Differences that are not drift (the text), shown for information."""


def _run_line(sign: str, recorded: tuple[int, str, int] | None, live: tuple[int, str, int] | None) -> str:
    """``- #3        shape`` (recorded only), ``+       #4 shape`` (live only), or both indexes."""
    run = recorded or live
    assert run is not None
    counts = [r[2] for r in (recorded, live) if r is not None]
    times = "" if set(counts) == {1} else "  (x" + "/".join(map(str, counts)) + ")"
    left = f"#{recorded[0]}" if recorded else ""
    right = f"#{live[0]}" if live else ""
    return f"{sign} {left:<5} {right:<5} {run[1]}{times}"


def _body_shape(body: bytes) -> str:
    try:
        value = json.loads(body)
    except ValueError:
        return "a non-JSON body"
    if isinstance(value, dict):
        return "a JSON object with keys " + ", ".join(sorted(map(str, value)))
    return f"JSON {type(value).__name__}"


def compare_responses(recorded: RecordedResponse, live: RecordedResponse, *, context: int = 2) -> Drift:
    """Compare the shape of a live response with its recording; the text only as a note."""
    if recorded.status != live.status:
        return Drift(
            True, problem=f"status {recorded.status} was recorded but the upstream answered {live.status}"
        )
    if is_sse(recorded) != is_sse(live):
        return Drift(
            True,
            problem=f"the recording is {content_type(recorded)} but the upstream answered {content_type(live)}",
        )
    if not is_sse(recorded):
        was, now = _body_shape(recorded.body or b""), _body_shape(live.body or b"")
        if was != now:
            return Drift(True, problem=f"the body was {was} and is now {now}")
        return Drift(False)
    rec_shapes, rec_text = _shapes(recorded)
    live_shapes, live_text = _shapes(live)
    notes = tuple(
        f"text of {label} differs (not drift): recorded {quote(rec_text.get(label, ''), 60)}, "
        f"live {quote(live_text.get(label, ''), 60)}"
        for label in dict.fromkeys([*rec_text, *live_text])
        if rec_text.get(label, "") != live_text.get(label, "")
    )
    a, b = _runs(rec_shapes), _runs(live_shapes)
    if [r[1] for r in a] == [r[1] for r in b]:
        return Drift(False, notes=notes)
    opcodes = bounded_opcodes([r[1] for r in a], [r[1] for r in b])
    first = next(op for op in opcodes if op[0] != "equal")
    _, i1, _, j1, _ = first
    rec_index = a[i1][0] if i1 < len(a) else len(recorded.events or ())
    live_index = b[j1][0] if j1 < len(b) else len(live.events or ())
    diff: list[str] = []
    for tag, x1, x2, y1, y2 in opcodes:
        if tag == "equal":
            span = list(range(x1, x2))
            if x1 == 0:  # leading context: only the runs just before the first difference
                shown = span[-context:]
            elif x2 == len(a):  # trailing context
                shown = span[:context]
            elif len(span) > 2 * context:
                shown = [*span[:context], -1, *span[-context:]]
            else:
                shown = span
            for k in shown:
                diff.append("  ..." if k == -1 else _run_line(" ", a[k], b[k - x1 + y1]))
            continue
        diff.extend(_run_line("-", a[k], None) for k in range(x1, x2))
        diff.extend(_run_line("+", None, b[k]) for k in range(y1, y2))
        if len(diff) > DIFF_LINES_CAP:
            break
    if len(diff) > DIFF_LINES_CAP:
        diff[DIFF_LINES_CAP:] = [f"  ... (the diff goes on; only its first {DIFF_LINES_CAP} lines are shown)"]
    return Drift(
        True,
        recorded_index=rec_index,
        live_index=live_index,
        problem=f"the event shapes first differ at recorded event #{rec_index} / live event #{live_index}",
        diff=tuple(diff),
        notes=notes,
    )


def how_to_rerecord(source: str, meta: Mapping[str, Any]) -> str:
    """How to record ``source`` again, the way it was made: the record proxy, vcrpy, or (the usual) pytest."""
    made_with = str(meta.get("recorded_with", ""))
    if made_with.endswith(" record"):
        return (
            f"writer-stream-testkit record --upstream URL --cassette {source} --record-mode all, "
            "with the client that made it"
        )
    if "converted_from" in meta:
        return (
            "record it again with vcrpy and `writer-stream-testkit convert --force`, or from the test that "
            "uses it with `pytest --writer-record-mode=all`"
        )
    return f"run the tests that use {source} with `pytest --writer-record-mode=all` and a real WRITER_API_KEY"


def render_verify_report(
    source: str,
    upstream: str,
    results: Sequence[tuple[Interaction, Drift]],
    *,
    meta: Mapping[str, Any] = {},
) -> str:
    """The ``verify`` report: a line per interaction, the diff under each drifted one, a summary.

    ``meta`` is the cassette's own: it says how the cassette was made, so the
    report suggests re-recording it the same way.
    """
    lines = [f"Verifying {source} against {upstream}:"]
    for index, (interaction, drift) in enumerate(results):
        request = interaction.request
        what = f"[{index}] {request.method} {request.path}  {request_summary(request)}"
        lines.append(f"{what}: {'DRIFT' if drift.drifted else 'same'}")
        if drift.drifted:
            lines.append(f"    {drift.problem}")
            if drift.diff:
                lines.append("    -/+ recorded/live event #, then its shape (equal neighbours collapsed: xN)")
                lines.extend("    " + line for line in drift.diff)
        lines.extend(f"    note: {note}" for note in drift.notes)
    drifted = [i for i, (_, d) in enumerate(results) if d.drifted]
    if drifted:
        lines.append(
            f"{len(drifted)} of {len(results)} interactions drifted "
            f"({', '.join(f'[{i}]' for i in drifted)}). Re-record the cassette to accept the new behaviour "
            f"({how_to_rerecord(source, meta)}), or fix the code the recording describes."
        )
    else:
        lines.append(f"No drift: all {len(results)} interactions stream the same shape as recorded.")
    return "\n".join(lines) + "\n"

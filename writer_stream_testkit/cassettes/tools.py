"""The pure parts of the CLI's cassette commands: ``show``, ``convert`` and ``verify``.

Each command is an edge (files, sockets) around one function here, so the text a
user reads and the decisions behind it are tested without I/O:
:func:`render_cassette_text` (``show``), :func:`convert_vcr` (``convert``),
:func:`compare_responses` / :func:`render_verify_report` (``verify``), and
:func:`directory_miss_message` (``serve --cassettes``).
"""

from __future__ import annotations

import base64
import binascii
import difflib
import json
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import yaml

from .._yaml_bounds import ALIAS_EXPANSION_LIMIT, alias_expansion
from ..errors import CassetteFormatError
from ..helpers.accumulate import ChatCompletionStreamState
from ..testing.transcript import render_chunk_view, render_event, render_stream_summary, render_transcript
from ..wire.call import Call
from ..wire.sse import DONE_DATA
from ..wire.stream_kinds import ChunkView, view_chunk
from . import recorder as _recorder
from .capture import interaction_from_capture as _interaction_from_capture
from .matching import bounded_diff, closest
from .model import CassetteContent, Interaction, RecordedEvent, RecordedRequest, RecordedResponse
from .redact import Redaction

__all__ = [
    "Drift",
    "compare_responses",
    "convert_vcr",
    "directory_miss_message",
    "how_to_rerecord",
    "render_cassette_text",
    "render_verify_report",
]

_SHOWN_TEXT = 160
"""How much of a non-chunk event or a plain body ``show`` prints before eliding the rest."""


def _clip(text: str, limit: int = _SHOWN_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quote(text: str, limit: int = _SHOWN_TEXT) -> str:
    return repr(_clip(text, limit))


def _is_sse(response: RecordedResponse) -> bool:
    return response.events is not None


def _content_type(response: RecordedResponse) -> str:
    return next((v for k, v in response.headers if k == "content-type"), "no content-type")


# --- show -----------------------------------------------------------------------------------------


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
        return f"body: {_quote(request.body or '', 80)}" if request.body else "no body"
    parts = [f"model={body.get('model', '?')}"] if "model" in body or "messages" in body else []
    parts.append(f"stream={json.dumps(body.get('stream', False))}")
    for name in ("prompt", "question"):
        if isinstance(body.get(name), str):
            parts.append(f"{name}: {_quote(body[name], 80)}")
    if isinstance(body.get("graph_ids"), list):
        parts.append(f"graph_ids: {', '.join(map(str, body['graph_ids']))}")
    inputs = body.get("inputs")
    if isinstance(inputs, list):
        shown = [
            f"{i.get('id')}={_quote(' '.join(map(str, i.get('value') or [])), 60)}"
            for i in inputs
            if isinstance(i, dict)
        ]
        parts.append(f"inputs: {', '.join(shown)}")
    messages = body.get("messages")
    if isinstance(messages, list):
        parts.append(f"{len(messages)} message{'s' if len(messages) != 1 else ''}")
        users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        if users:
            parts.append(f"last user: {_quote(_message_text(users[-1].get('content')), 80)}")
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
            lines.append(head + f"{label}data: {_quote(event.data)}")
        else:
            raw = event.framing().decode("utf-8", "replace")
            unfinished = not raw.endswith(("\n\n", "\r\r", "\r\n\r\n", "\n\r\n"))
            what = "(cut mid-event)" if unfinished else "(comment, no data)"
            lines.append(head + f"{what} raw: {_quote(raw)}")
    snapshot = state.current_completion_snapshot if decoded_any else None
    return lines, snapshot, views


def render_cassette_text(content: CassetteContent, *, source: str) -> str:
    """A cassette as a transcript a person can read: one block per interaction."""
    count = len(content.interactions)
    lines = [f"Cassette {source}: {count} interaction{'s' if count != 1 else ''}"]
    for key, value in content.meta.items():
        lines.append(f"  meta.{key}: {_clip(str(value), 120)}")
    for index, interaction in enumerate(content.interactions):
        request, response = interaction.request, interaction.response
        lines.append("")
        lines.append(f"[{index}] {request.method} {request.url}")
        lines.append(f"    {request_summary(request)}")
        kind = _content_type(response)
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
                lines.extend("    " + _clip(line, 400) for line in summary)
        else:
            body = response.body or b""
            try:
                text = body.decode("utf-8")
                shown = _quote(text)
            except UnicodeDecodeError:
                shown = "(binary)"
            state = "" if response.complete else " (incomplete: cut part-way)"
            lines.append(f"    -> {response.status} {kind}, {len(body)} body bytes{state}: {shown}")
    return "\n".join(lines) + "\n"


# --- convert: vcrpy cassettes into ours -----------------------------------------------------------


class _VcrLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The safe loader: plain YAML data and ``!!binary`` (how vcrpy stores bytes), no objects."""


def _vcr_fail(source: str, where: str, problem: str) -> CassetteFormatError:
    return CassetteFormatError(
        f"The vcrpy cassette {source} cannot be converted: {where} {problem}. Check that the file is a "
        "vcrpy cassette (version 1, `interactions:` with `request` and `response`), or re-record it with vcrpy."
    )


def _vcr_bytes(value: Any, source: str, where: str) -> bytes:
    """A vcrpy body: a string, bytes (``!!binary``), ``{string: ...}`` or ``{base64_string: ...}``."""
    if isinstance(value, dict):
        if "base64_string" in value:
            try:
                return base64.b64decode(str(value["base64_string"]), validate=True)
            except (binascii.Error, ValueError):
                raise _vcr_fail(source, f"{where}.base64_string", "is not valid base64") from None
        value = value.get("string")
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    raise _vcr_fail(source, where, f"is {type(value).__name__}, not a body string")


def _vcr_headers(value: Any, source: str, where: str) -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, dict):
        raise _vcr_fail(source, where, "is not a mapping of header names to values")
    out: list[tuple[str, str]] = []
    for name, item in value.items():
        for single in item if isinstance(item, list) else [item]:
            out.append((str(name), str(single)))
    return out


DECODED_BODY_LIMIT: Final = 64 * 1024 * 1024
"""The most bytes ``convert`` decompresses one gzip or deflate body into (64 MiB); a larger
body (a compression bomb) is refused rather than filling memory and the cassette."""


def _decompress(
    body: bytes, headers: list[tuple[str, str]], source: str, where: str
) -> tuple[bytes, list[tuple[str, str]]]:
    """vcrpy may keep a gzip/deflate body as sent; cassettes store the bytes the client decoded.

    A gzip or deflate body that does not decompress was stored decoded already (by the
    stub that recorded it), so it is kept as it is; either way the ``content-encoding``
    header goes, since what the cassette holds is the decoded body. ``identity`` goes
    too; any other coding (``br``, ``zstd``) is kept with its bytes, still encoded.
    """
    coding = next((v.strip().lower() for k, v in headers if k.lower() == "content-encoding"), "")
    if coding not in ("gzip", "deflate", "identity"):
        return body, headers
    decoded = [(k, v) for k, v in headers if k.lower() != "content-encoding"]
    if coding == "identity" or not body:
        return body, decoded
    inflater = zlib.decompressobj(47)  # 32 + 15: gzip or zlib header, detected
    try:
        plain = inflater.decompress(body, DECODED_BODY_LIMIT)
    except zlib.error:
        return body, decoded  # already decoded by the stub that recorded it
    if inflater.unconsumed_tail:
        raise CassetteFormatError(
            f"The vcrpy cassette {source} cannot be converted: {where}.body is a {coding} body that "
            f"decompresses to more than {DECODED_BODY_LIMIT:,} bytes (a compression bomb, or a body too "
            "large for a cassette). Remove that interaction, or re-record it with a smaller response."
        )
    return plain, decoded


_DROPPED_RESPONSE_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})


def convert_vcr(text: str, *, source: str, secrets: Iterable[str] = ()) -> CassetteContent:
    """A vcrpy YAML cassette as ours: SSE bodies split into events (at t=0), secrets redacted.

    vcrpy stores a whole response body as one string, so read boundaries and timing
    are unknown: every event gets ``t: 0`` and replay sends each as its own read.
    Credentials are removed on the way in, exactly as recording would.
    """
    loader = _VcrLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None and alias_expansion(node) > ALIAS_EXPANSION_LIMIT:
            raise CassetteFormatError(
                f"The vcrpy cassette {source} uses YAML aliases that stand for more than "
                f"{ALIAS_EXPANSION_LIMIT:,} characters of data (or one that contains itself); converting "
                "it would take unbounded memory and disk. Write the values out instead of using aliases, "
                "or re-record the cassette with vcrpy."
            )
        data = None if node is None else loader.construct_document(node)
    except yaml.constructor.ConstructorError as exc:
        raise CassetteFormatError(
            f"The vcrpy cassette {source} uses a YAML tag that is not plain data ({exc.problem}"
            f"{'' if exc.problem_mark is None else f', {exc.problem_mark}'.replace(chr(10), ' ')}); "
            "`convert` never builds Python objects from a file. Remove the tag, or re-record the "
            "cassette with vcrpy's default YAML serializer."
        ) from None
    except yaml.YAMLError as exc:
        raise CassetteFormatError(
            f"The vcrpy cassette {source} is not valid YAML ({exc}); fix the syntax or re-record it."
        ) from None
    finally:
        loader.dispose()
    if isinstance(data, list):  # vcrpy's pre-1.0 format: a bare list of interactions
        data = {"interactions": data, "version": 1}
    if not isinstance(data, dict) or not isinstance(data.get("interactions"), list):
        raise _vcr_fail(source, "the top level", "is not a mapping with an `interactions` list")
    redaction = Redaction.build(secrets=list(secrets))
    interactions: list[Interaction] = []
    for index, entry in enumerate(data["interactions"]):
        where = f"interactions[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("request"), dict):
            raise _vcr_fail(source, where, "has no `request` mapping")
        if not isinstance(entry.get("response"), dict):
            raise _vcr_fail(source, where, "has no `response` mapping")
        req, res = entry["request"], entry["response"]
        method, uri = req.get("method"), req.get("uri")
        if not isinstance(method, str) or not isinstance(uri, str):
            raise _vcr_fail(source, f"{where}.request", "needs a `method` and a `uri` string")
        status = res.get("status")
        code = status.get("code") if isinstance(status, dict) else status
        if isinstance(code, bool) or not isinstance(code, int) or not 100 <= code <= 599:
            raise _vcr_fail(source, f"{where}.response.status", f"is {status!r}, not an HTTP status")
        headers = _vcr_headers(res.get("headers"), source, f"{where}.response.headers")
        body, headers = _decompress(
            _vcr_bytes(res.get("body"), source, f"{where}.response.body"),
            headers,
            source,
            f"{where}.response",
        )
        capture = _recorder.Capture(
            method=method.upper(),
            url=uri,
            headers=tuple(_vcr_headers(req.get("headers"), source, f"{where}.request.headers")),
            content=_vcr_bytes(req.get("body"), source, f"{where}.request.body"),
            status=code,
            response_headers=tuple((k, v) for k, v in headers if k.lower() not in _DROPPED_RESPONSE_HEADERS),
            reads=[(body, 0.0)] if body else [],
            complete=True,
            done=True,
            responded=True,
        )
        interactions.append(_interaction_from_capture(capture, redaction))
    return CassetteContent(
        tuple(interactions),
        {
            "converted_from": f"vcrpy cassette {source}",
            "timing": "unknown: vcrpy keeps no timing, so every t is 0",
        },
    )


# --- verify: has the live stream drifted from the recording? -------------------------------------


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
    if _is_sse(recorded) != _is_sse(live):
        return Drift(
            True,
            problem=f"the recording is {_content_type(recorded)} but the upstream answered {_content_type(live)}",
        )
    if not _is_sse(recorded):
        was, now = _body_shape(recorded.body or b""), _body_shape(live.body or b"")
        if was != now:
            return Drift(True, problem=f"the body was {was} and is now {now}")
        return Drift(False)
    rec_shapes, rec_text = _shapes(recorded)
    live_shapes, live_text = _shapes(live)
    notes = tuple(
        f"text of {label} differs (not drift): recorded {_quote(rec_text.get(label, ''), 60)}, "
        f"live {_quote(live_text.get(label, ''), 60)}"
        for label in dict.fromkeys([*rec_text, *live_text])
        if rec_text.get(label, "") != live_text.get(label, "")
    )
    a, b = _runs(rec_shapes), _runs(live_shapes)
    if [r[1] for r in a] == [r[1] for r in b]:
        return Drift(False, notes=notes)
    matcher = difflib.SequenceMatcher(None, [r[1] for r in a], [r[1] for r in b], autojunk=False)
    opcodes = matcher.get_opcodes()
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


# --- serve --cassettes DIR: a request that matches no cassette ----------------------------------


def directory_miss_message(
    directory: str, call: Call, candidates: Sequence[tuple[str, int, RecordedRequest, bool]]
) -> str:
    """Why no cassette in ``directory`` answers ``call``: the closest recording, as a body diff.

    ``candidates`` are (file, index, request, already played) for every recording served.
    """
    lines = [f"No cassette in {directory} has an unplayed recording that matches {call.describe()}."]
    incoming = (
        json.dumps(call.json, indent=2, sort_keys=True, ensure_ascii=False)
        if call.json is not None
        else call.content.decode("utf-8", "replace")
    )
    scored: list[tuple[int, str]] = []
    for _, _, request, _ in candidates:
        stored = (
            json.dumps(request.json, indent=2, sort_keys=True, ensure_ascii=False)
            if request.json is not None
            else request.body or ""
        )
        scored.append(((request.method.upper() == call.method.upper()) + (request.path == call.path), stored))
    best = closest(incoming, scored)
    if best is None:
        lines.append(f"{directory} holds no recordings at all (no *.yaml cassette with interactions).")
    else:
        file, index, request, played = candidates[best]
        lines.append(
            f"The closest recording is {file} interactions[{index}] ({request.method} {request.url})"
            + (", which was already replayed (each recording replays once)." if played else ".")
        )
        stored = scored[best][1]
        diff = bounded_diff(
            stored.splitlines(),
            incoming.splitlines(),
            fromfile=f"{file} interactions[{index}] body (recorded)",
            tofile="this request's body",
        )
        if diff:
            lines.append(diff)
        elif played and request.method.upper() == call.method.upper() and request.path == call.path:
            lines.append(
                "It is the same request, played before. To replay recordings as often as they are asked "
                f"for, restart the server with `writer-stream-testkit serve --cassettes {directory} "
                "--allow-repeats`."
            )
    lines.append(
        f"Record this request into a cassette in {directory} with `writer-stream-testkit record --upstream URL "
        "--cassette FILE --record-mode new_episodes`, or send the request the cassette holds."
    )
    return "\n".join(lines)

"""show's transcript: the request, the status and each decoded event with its time, a cut or a missing [DONE] flagged."""

from __future__ import annotations

import json

from recorded import SSE, chat_request, streamed

from writer_stream_testkit.cassettes.framing import frame_stream
from writer_stream_testkit.cassettes.model import (
    CassetteContent,
    Interaction,
    RecordedEvent,
    RecordedResponse,
)
from writer_stream_testkit.cassettes.tools import (
    render_cassette_text,
)
from writer_stream_testkit.scripts.chat import StreamScript


def test_show_prints_request_status_and_decoded_events_with_times() -> None:
    content = CassetteContent(
        (Interaction(chat_request(), streamed(StreamScript().content("Hel", "lo").finish())),),
        {"note": "demo"},
    )
    text = render_cassette_text(content, source="c.yaml")
    lines = text.splitlines()
    assert lines[0] == "Cassette c.yaml: 1 interaction"
    assert "  meta.note: demo" in lines
    assert "[0] POST https://api.writer.com/v1/chat" in lines
    assert "    model=palmyra-x5  stream=true  1 message  last user: 'Say hello'" in lines
    assert any(line.startswith("    -> 200 text/event-stream, 4 events") for line in lines)
    first = next(i for i, line in enumerate(lines) if line.strip().startswith("#0"))
    assert lines[first].split()[:3] == ["#0", "+0.100s", "chunk"]
    assert "content.delta" in lines[first + 1]
    assert "delta='Hel'" in lines[first + 1]
    assert "content.done" in text
    assert "content='Hello'" in text
    assert any(line.split()[:3] == ["#3", "+0.130s", "[DONE]"] for line in lines)
    assert "!!" not in text


def test_show_marks_a_cut_stream_and_shows_its_unfinished_tail() -> None:
    reads = [(b'data: {"id":"x","object":"chat.completion.chunk","choices":[]}\n\ndata: {"id', 0.2)]
    response = RecordedResponse(200, SSE, t=0.1, events=frame_stream(reads), complete=False)
    text = render_cassette_text(CassetteContent((Interaction(chat_request(), response),)), source="cut.yaml")
    assert "(cut mid-event) raw: 'data: {\"id'" in text
    assert "!! incomplete: the stream was cut here (complete: false)" in text


def test_show_flags_a_complete_stream_without_done() -> None:
    script = StreamScript().content("Hi").finish()
    events = streamed(script).events
    assert events is not None
    response = RecordedResponse(200, SSE, events=events[:-1])
    text = render_cassette_text(CassetteContent((Interaction(chat_request(), response),)), source="c.yaml")
    assert "!! the stream ended without data: [DONE]" in text


def test_show_prints_non_chunk_events_as_one_raw_line_each() -> None:
    events = (
        RecordedEvent(data=None, t=0.1, raw=b": keep-alive\n\n"),
        RecordedEvent(data='{"error": {"message": "overloaded"}}', t=0.25, event="error"),
        RecordedEvent(data="not json", t=0.3),
    )
    text = render_cassette_text(
        CassetteContent((Interaction(chat_request(), RecordedResponse(200, SSE, events=events)),)), source="c"
    )
    assert "#0   +0.100s  (comment, no data) raw: ': keep-alive\\n\\n'" in text
    assert '#1   +0.250s  event=error data: \'{"error": {"message": "overloaded"}}\'' in text
    assert "#2   +0.300s  data: 'not json'" in text
    assert "final completion" not in text


def test_show_clips_a_plain_body() -> None:
    body = json.dumps({"tpe": "TooManyRequests", "detail": "x" * 500}).encode()
    response = RecordedResponse(429, (("content-type", "application/json"),), body=body)
    text = render_cassette_text(CassetteContent((Interaction(chat_request(), response),)), source="c")
    line = next(line for line in text.splitlines() if "->" in line)
    assert line.startswith(f'    -> 429 application/json, {len(body)} body bytes: \'{{"tpe"')
    assert line.endswith("…'")
    assert len(line) < 250

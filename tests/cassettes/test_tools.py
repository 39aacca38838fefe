"""The pure parts of the cassette commands: show's transcript, vcrpy conversion, verify's drift."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import pytest

from writer_stream_testkit.cassettes.dump import dump_cassette
from writer_stream_testkit.cassettes.framing import frame_stream
from writer_stream_testkit.cassettes.load import parse_cassette
from writer_stream_testkit.cassettes.model import (
    CassetteContent,
    Interaction,
    RecordedEvent,
    RecordedRequest,
    RecordedResponse,
)
from writer_stream_testkit.cassettes.tools import (
    compare_responses,
    convert_vcr,
    directory_miss_message,
    render_cassette_text,
    render_verify_report,
)
from writer_stream_testkit.errors import CassetteFormatError
from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.wire.call import Call

KEY = "sk-planted-KEY-0123456789abcdef"
SSE = (("content-type", "text/event-stream"),)


def request(content: str = "Say hello", **extra: Any) -> RecordedRequest:
    body = {
        "model": "palmyra-x5",
        "stream": True,
        "messages": [{"role": "user", "content": content}],
        **extra,
    }
    return RecordedRequest(
        "POST", "https://api.writer.com/v1/chat", (("content-type", "application/json"),), body
    )


def streamed(script: StreamScript, *, complete: bool = True, step: float = 0.01) -> RecordedResponse:
    """The script's body as recorded with one read per event, ``step`` seconds apart."""
    blocks = [b + b"\n\n" for b in script.sse().split(b"\n\n") if b]
    reads = [(block, round(0.1 + i * step, 4)) for i, block in enumerate(blocks)]
    return RecordedResponse(200, SSE, t=0.1, events=frame_stream(reads), complete=complete)


# --- show -----------------------------------------------------------------------------------------


def test_show_prints_request_status_and_decoded_events_with_times() -> None:
    content = CassetteContent(
        (Interaction(request(), streamed(StreamScript().content("Hel", "lo").finish())),), {"note": "demo"}
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
    text = render_cassette_text(CassetteContent((Interaction(request(), response),)), source="cut.yaml")
    assert "(cut mid-event) raw: 'data: {\"id'" in text
    assert "!! incomplete: the stream was cut here (complete: false)" in text


def test_show_flags_a_complete_stream_without_done() -> None:
    script = StreamScript().content("Hi").finish()
    events = streamed(script).events
    assert events is not None
    response = RecordedResponse(200, SSE, events=events[:-1])
    text = render_cassette_text(CassetteContent((Interaction(request(), response),)), source="c.yaml")
    assert "!! the stream ended without data: [DONE]" in text


def test_show_prints_non_chunk_events_as_one_raw_line_each() -> None:
    events = (
        RecordedEvent(data=None, t=0.1, raw=b": keep-alive\n\n"),
        RecordedEvent(data='{"error": {"message": "overloaded"}}', t=0.25, event="error"),
        RecordedEvent(data="not json", t=0.3),
    )
    text = render_cassette_text(
        CassetteContent((Interaction(request(), RecordedResponse(200, SSE, events=events)),)), source="c"
    )
    assert "#0   +0.100s  (comment, no data) raw: ': keep-alive\\n\\n'" in text
    assert '#1   +0.250s  event=error data: \'{"error": {"message": "overloaded"}}\'' in text
    assert "#2   +0.300s  data: 'not json'" in text
    assert "final completion" not in text


def test_show_clips_a_plain_body() -> None:
    body = json.dumps({"tpe": "TooManyRequests", "detail": "x" * 500}).encode()
    response = RecordedResponse(429, (("content-type", "application/json"),), body=body)
    text = render_cassette_text(CassetteContent((Interaction(request(), response),)), source="c")
    line = next(line for line in text.splitlines() if "->" in line)
    assert line.startswith(f'    -> 429 application/json, {len(body)} body bytes: \'{{"tpe"')
    assert line.endswith("…'")
    assert len(line) < 250


# --- convert --------------------------------------------------------------------------------------


def vcr_yaml(body: str, *, uri: str = "https://api.writer.com/v1/chat") -> str:
    return f"""interactions:
- request:
    body: '{{"model":"palmyra-x5","stream":true,"messages":[{{"role":"user","content":"Hi"}}]}}'
    headers:
      authorization:
      - Bearer {KEY}
      content-type:
      - application/json
      host:
      - api.writer.com
    method: POST
    uri: {uri}
  response:
    body:
{body}
    headers:
      content-type:
      - text/event-stream
      transfer-encoding:
      - chunked
    status:
      code: 200
      message: OK
version: 1
"""


def test_convert_splits_a_string_body_into_events_and_redacts_the_key() -> None:
    sse = StreamScript().content("Hi", f" {KEY}").finish().sse().decode()
    quoted = json.dumps(sse)  # a double-quoted YAML scalar
    content = convert_vcr(vcr_yaml(f"      string: {quoted}"), source="v.yaml")
    (interaction,) = content.interactions
    assert interaction.request.json["messages"][0]["content"] == "Hi"
    assert dict(interaction.request.headers)["authorization"] == "<redacted>"
    assert "host" not in dict(interaction.request.headers)
    assert dict(interaction.response.headers) == {"content-type": "text/event-stream"}
    events = interaction.response.events
    assert events is not None
    assert [e.t for e in events] == [0.0] * 4
    assert events[-1].data == "[DONE]"
    text = dump_cassette(content)
    assert KEY not in text
    assert parse_cassette(text, source="again") == content


def test_convert_reads_binary_and_gzipped_bodies() -> None:
    sse = StreamScript().content("Hé").finish().sse()
    packed = base64.b64encode(gzip.compress(sse)).decode()
    yaml_text = vcr_yaml(f"      string: !!binary |\n        {packed}").replace(
        "      - chunked\n", "      - chunked\n      content-encoding:\n      - gzip\n"
    )
    (interaction,) = convert_vcr(yaml_text, source="v.yaml").interactions
    assert b"".join(data for data, _ in interaction.response.reads()) == sse
    assert "content-encoding" not in dict(interaction.response.headers)


def test_convert_keeps_a_json_body_as_a_body() -> None:
    yaml_text = vcr_yaml('      string: \'{"tpe": "BadRequest"}\'').replace(
        "text/event-stream", "application/json"
    )
    (interaction,) = convert_vcr(yaml_text, source="v.yaml").interactions
    assert interaction.response.events is None
    assert interaction.response.body == b'{"tpe": "BadRequest"}'


def test_convert_refuses_python_object_tags() -> None:
    hostile = "interactions:\n- !!python/object/apply:os.system ['echo owned']\nversion: 1\n"
    with pytest.raises(CassetteFormatError) as caught:
        convert_vcr(hostile, source="evil.yaml")
    message = str(caught.value)
    assert message.startswith("The vcrpy cassette evil.yaml uses a YAML tag that is not plain data")
    assert "never builds Python objects" in message


def test_convert_names_the_place_of_a_malformed_entry() -> None:
    broken = vcr_yaml("      string: ''").replace("code: 200", "code: nine")
    with pytest.raises(CassetteFormatError, match=r"interactions\[0\]\.response\.status is"):
        convert_vcr(broken, source="v.yaml")
    with pytest.raises(
        CassetteFormatError, match="the top level is not a mapping with an `interactions` list"
    ):
        convert_vcr("just: text\n", source="v.yaml")


# --- verify ---------------------------------------------------------------------------------------


def test_same_shape_with_other_text_and_chunking_is_not_drift() -> None:
    recorded = streamed(StreamScript().content("Hello", " there").finish())
    live = streamed(StreamScript(id="other", created=1).content("Hi", " the", "re", "!").finish())
    drift = compare_responses(recorded, live)
    assert not drift.drifted
    assert drift.notes == ("text of choice 0 differs (not drift): recorded 'Hello there', live 'Hi there!'",)


def test_one_chunk_or_many_is_the_same_shape_but_a_missing_role_is_not() -> None:
    many = streamed(StreamScript().content("It", " is", " sunny", ".").finish())
    one = streamed(StreamScript().content("It is sunny.").finish())
    assert not compare_responses(many, one).drifted
    assert not compare_responses(one, many).drifted
    events = one.events
    assert events is not None
    no_role: list[RecordedEvent] = []
    for event in events:
        chunk = json.loads(event.data or "") if event.data != "[DONE]" else None
        if chunk is None:
            no_role.append(event)
            continue
        del chunk["choices"][0]["delta"]["role"]
        no_role.append(RecordedEvent(json.dumps(chunk)))
    drift = compare_responses(one, RecordedResponse(200, SSE, events=tuple(no_role)))
    assert drift.drifted
    assert drift.diff[0] == "- #0          choice 0: role"


def test_the_role_on_every_delta_or_on_the_first_only_is_the_same_shape() -> None:
    writer = streamed(StreamScript().content("It", " is").tool_call("f", ["{}"]).finish())
    openai = streamed(StreamScript(role_on="first").content("It", " is").tool_call("f", ["{}"]).finish())
    assert not compare_responses(writer, openai).drifted
    assert not compare_responses(openai, writer).drifted


def test_a_tool_call_instead_of_text_is_drift_at_the_first_differing_event() -> None:
    recorded = streamed(StreamScript().content("Sunny").finish())
    live = streamed(
        StreamScript().content("Let me check").tool_call("get_weather", ['{"city":', '"Paris"}']).finish()
    )
    drift = compare_responses(recorded, live)
    assert drift.drifted
    assert (drift.recorded_index, drift.live_index) == (1, 1)
    assert "recorded event #1 / live event #1" in drift.problem
    assert drift.diff == (
        "  #0    #0    choice 0: role",
        "  #0    #0    choice 0: content",
        "- #1          choice 0: finish=stop",
        "+       #1    choice 0: tool_call[0] get_weather",
        "  #1    #1    content.done",
        "+       #2    choice 0: tool_call[0] args  (x2)",
        "+       #4    choice 0: finish=tool_calls",
        "+       #4    tool_calls.function.arguments.done(get_weather)",
        "  #2    #5    [DONE]",
    )


def test_a_changed_finish_reason_or_a_cut_is_drift() -> None:
    base = StreamScript().content("Hi")
    assert compare_responses(streamed(base.finish("stop")), streamed(base.finish("length"))).drifted
    cut = compare_responses(streamed(base.finish()), streamed(base.finish(), complete=False))
    assert cut.drifted
    assert "(stream cut)" in "\n".join(cut.diff)


def test_status_and_body_kind_are_compared_first() -> None:
    ok = streamed(StreamScript().content("Hi").finish())
    limited = RecordedResponse(429, (("content-type", "application/json"),), body=b'{"tpe": "x"}')
    drift = compare_responses(ok, limited)
    assert drift.drifted
    assert drift.recorded_index is None
    assert drift.problem == "status 200 was recorded but the upstream answered 429"
    other = RecordedResponse(429, (("content-type", "application/json"),), body=b'{"errors": []}')
    assert compare_responses(limited, other).problem == (
        "the body was a JSON object with keys tpe and is now a JSON object with keys errors"
    )
    assert not compare_responses(limited, limited).drifted


def test_the_report_says_same_or_drift_per_interaction_and_sums_up() -> None:
    script = StreamScript().content("Hi").finish()
    same = Interaction(request(), streamed(script))
    drifted = compare_responses(streamed(script), streamed(StreamScript().content("Hi").finish("length")))
    report = render_verify_report(
        "c.yaml", "http://up", [(same, compare_responses(same.response, same.response)), (same, drifted)]
    )
    lines = report.splitlines()
    assert lines[0] == "Verifying c.yaml against http://up:"
    assert lines[1].startswith("[0] POST /v1/chat  model=palmyra-x5")
    assert lines[1].endswith(": same")
    assert lines[2].endswith(": DRIFT")
    assert lines[-1].startswith("1 of 2 interactions drifted ([1]). Re-record the cassette")


# --- serve --cassettes: the directory miss ------------------------------------------------------


def test_directory_miss_names_the_closest_recording_its_file_and_the_directory() -> None:
    body = {"model": "palmyra-x5", "stream": True, "messages": [{"role": "user", "content": "Say hello!"}]}
    call = Call.create(method="POST", url="http://127.0.0.1:1/v1/chat", content=json.dumps(body).encode())
    candidates = [
        ("d/a.yaml", 0, request("Weather in Paris?"), False),
        ("d/b.yaml", 1, request("Say hello"), True),
    ]
    message = directory_miss_message("d", call, candidates)
    lines = message.splitlines()
    assert lines[0].startswith("No cassette in d has an unplayed recording that matches POST /v1/chat")
    assert lines[1] == (
        "The closest recording is d/b.yaml interactions[1] (POST https://api.writer.com/v1/chat), "
        "which was already replayed (each recording replays once)."
    )
    assert '-      "content": "Say hello",' in lines
    assert '+      "content": "Say hello!",' in lines
    assert lines[-1].startswith("Record this request into a cassette in d with `writer-stream-testkit record")
    assert "holds no recordings at all" in directory_miss_message("d", call, [])


def test_directory_miss_for_a_request_already_played_suggests_allow_repeats() -> None:
    body = {"model": "palmyra-x5", "stream": True, "messages": [{"role": "user", "content": "Say hello"}]}
    call = Call.create(method="POST", url="http://127.0.0.1:1/v1/chat", content=json.dumps(body).encode())
    played = directory_miss_message("d", call, [("d/b.yaml", 0, request("Say hello"), True)])
    assert played.splitlines()[2] == (
        "It is the same request, played before. To replay recordings as often as they are asked for, "
        "restart the server with `writer-stream-testkit serve --cassettes d --allow-repeats`."
    )
    different_body = directory_miss_message("d", call, [("d/b.yaml", 0, request("Bye"), True)])
    assert "--allow-repeats" not in different_body  # a repeat would not match it anyway

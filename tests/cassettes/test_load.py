"""The cassette loader: its fast path agrees with the full YAML loader, and its bounds hold.

The fast path reads the event lines the kit writes without the YAML parser; every
test here holds it to the full loader's result, content or error, on files the kit
writes and on files edited by hand. The bounds (aliases, times, what a double can
serve, compressed bodies in ``convert``) are regression tests for issue 15.
"""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from recorded import (
    URL,
)

from writer_stream_testkit.cassettes import tools
from writer_stream_testkit.cassettes.cassette import Cassette
from writer_stream_testkit.cassettes.dump import dump_cassette
from writer_stream_testkit.cassettes.fast_load import fast_data
from writer_stream_testkit.cassettes.framing import body_from_reads, frame_stream
from writer_stream_testkit.cassettes.load import _content, parse_cassette
from writer_stream_testkit.cassettes.model import (
    CassetteContent,
    DeferredEventsResponse,
    Interaction,
    RecordedEvent,
    RecordedRequest,
    RecordedResponse,
)
from writer_stream_testkit.cassettes.timing import render_plan
from writer_stream_testkit.cassettes.tools import convert_vcr
from writer_stream_testkit.cassettes.yaml_read import (
    ALIAS_EXPANSION_LIMIT,
    DEEPEST_NESTING,
    LONGEST_TIME,
    yaml_data,
)
from writer_stream_testkit.doubles.server import FakeWriterServer
from writer_stream_testkit.errors import CassetteFormatError
from writer_stream_testkit.wire.call import MAX_JSON_DEPTH

SOURCE = "tests/cassettes/x.yaml"
SSE = (("content-type", "text/event-stream"),)


def outcome(parse: Any, text: str) -> tuple[str, Any]:
    try:
        return "content", parse(text)
    except CassetteFormatError as error:
        return "error", str(error)


def full(text: str) -> CassetteContent:
    """The full YAML loader alone: the reference the fast path must agree with."""
    return _content(yaml_data(text, SOURCE), SOURCE)


def both_agree(text: str) -> tuple[str, Any]:
    fast = outcome(lambda t: parse_cassette(t, source=SOURCE), text)
    assert fast == outcome(full, text)
    return fast


def request(content: str = "hi") -> RecordedRequest:
    body = {"model": "palmyra-x5", "stream": True, "messages": [{"role": "user", "content": content}]}
    return RecordedRequest(method="POST", url=URL, headers=(("content-type", "application/json"),), json=body)


# --- the fast path agrees with the full loader ----------------------------------------------------

_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\n\r") | st.sampled_from("'\"\\{}#&*:,- \t"),
    max_size=30,
)
_READ = (
    _TEXT.map(lambda t: f"data: {t}\n\n".encode())
    | st.binary(max_size=20)
    | st.sampled_from(
        [b"data: x\r\n\r\n", b": keep-alive\n\n", b"event: e\nid: 1\ndata: y\n\n", b"data: \xc3"]
    )
)
_TIME = st.one_of(
    st.floats(0, 100, allow_nan=False).map(lambda t: round(t, 4)),
    st.sampled_from([0.0, 1e-05, 2.5e-07, 86_400.0, 3.0]),
)


@st.composite
def interactions(draw: st.DrawFn) -> Interaction:
    reads = [(data, draw(_TIME)) for data in draw(st.lists(_READ, max_size=8))]
    if draw(st.booleans()):
        response = RecordedResponse(
            status=200,
            headers=SSE,
            t=draw(_TIME),
            events=frame_stream(reads),
            complete=draw(st.booleans()),
        )
    else:
        body, body_t, cuts = body_from_reads(reads)
        response = RecordedResponse(status=400, body=body, body_t=body_t, body_cuts=cuts)
    return Interaction(request(draw(_TEXT)), response)


@given(
    st.lists(interactions(), max_size=3),
    st.dictionaries(st.sampled_from(["note", "events", "by"]), _TEXT, max_size=2),
)
@settings(max_examples=150, deadline=None)
def test_fast_and_full_loaders_agree_on_every_cassette_the_kit_writes(
    items: list[Interaction], meta: dict[str, str]
) -> None:
    content = CassetteContent(tuple(items), meta)
    text = dump_cassette(content)
    assert both_agree(text) == ("content", content)
    events = [e for x in items for e in x.response.events or ()]
    if events and all(e.raw is None for e in events):  # a raw block may span lines: then the full loader
        assert fast_data(text, SOURCE) is not None  # the kit's own files take the fast path


_EDITS = [
    lambda line: line + "\n# a comment",
    lambda line: line + "\n",
    lambda line: line.replace("data: '", "data: &a '", 1),
    lambda line: line.replace("data: '", "data: *a, x: '", 1),
    lambda line: line.replace("{t: ", "{t: &t ", 1),
    lambda line: line.replace("'", '"', 1),
    lambda line: line.replace("'}", "' }", 1),
    lambda line: line.replace("'}", "'}  # note", 1),
    lambda line: line.replace("    - ", "  - ", 1),
    lambda line: line.replace("    - ", "     - ", 1),
    lambda line: line + "\r",
    lambda line: line.replace("data: '", "data: 'a\tb", 1),
    lambda line: line.replace("data: '", "data: 'a\x85b", 1),
    lambda line: line.replace("data: '", "data: 'a\u2028    - {t: 1, data: ''b", 1),
    lambda line: line.replace("data: '", "data: 'it''s '' ", 1),
    lambda line: line.replace("data: '", "data: 'lone ' quote", 1),
    lambda line: line.replace("'}", "'}}", 1),
    lambda line: line.replace("'}", "', t: 2}", 1),
    lambda line: line.replace("'}", "', cuts: [[1, 0.5]]}", 1),
    lambda line: line.replace("'}", "', data: 'again'}", 1),
    lambda line: line.replace("events:", "events: &ev", 1),
    lambda line: line.replace("events:", "events: !!seq", 1),
    lambda line: line.replace("events:", "events: []", 1),
    lambda line: line.replace("status: 200", "status: 200\n    events: *ev", 1),
    lambda line: line.replace("- request:", "- response: {status: 200, events: []}\n  request:", 1),
    lambda line: line.replace("  note: ", "  note: |\n    events:\n    - {t: 1, data: 'x'}\n  other: ", 1),
    lambda line: "    events:\n" + line if line.startswith("    - {") else line,
    lambda line: line.replace("version: 1", "version: 1\n---\nversion: 1", 1),
    lambda line: line + "\n" + line if line.startswith("    - {") else line,
    lambda line: "    - {}" if line.startswith("    - {") else line,
    lambda line: "    - {t: 0.5}" if line.startswith("    - {") else line,
    lambda line: line.replace("data: '", "data: '\x7f", 1),
    lambda line: line.replace("data: '", "data: '\xa0\u00e9", 1),
    lambda line: line.replace("data: '", "data: '__writer_stream_testkit_fast_events_0", 1),
    lambda line: line.replace("  note: ", "  note: __writer_stream_testkit_fast_events_0 ", 1),
]
_COMMON = [(b'data: {"a":"it\'s"}\n\n', 0.01), (b"data: [DONE]\n\n", 0.02)]
_TIMES = [
    "0",
    "1",
    "010",
    "0x10",
    "1_0",
    "1e5",
    "1.0e5",
    "1.0e+300",
    "86400.0",
    "86400.5",
    ".inf",
    "-1",
    "1.",
]


@given(
    st.lists(interactions(), max_size=2),
    st.data(),
)
@settings(max_examples=200, deadline=None)
def test_fast_and_full_loaders_agree_on_hand_edited_cassettes(
    items: list[Interaction], data: st.DataObject
) -> None:
    common = Interaction(request(), RecordedResponse(status=200, headers=SSE, events=frame_stream(_COMMON)))
    content = CassetteContent((*items, common), {"note": "n"})
    lines = dump_cassette(content).split("\n")
    event_lines = [i for i, line in enumerate(lines) if line.startswith("    - {t: ")]
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.sampled_from(event_lines) | st.integers(0, len(lines) - 1))
        if data.draw(st.booleans()) and lines[at].startswith("    - {t: "):
            t = lines[at][len("    - {t: ") :].split(",", 1)[0]
            lines[at] = lines[at].replace(f"{{t: {t},", f"{{t: {data.draw(st.sampled_from(_TIMES))},", 1)
        else:
            lines[at] = data.draw(st.sampled_from(_EDITS))(lines[at])
    both_agree("\n".join(lines))


def test_a_long_stream_takes_the_fast_path_and_an_odd_line_in_it_the_full_loader() -> None:
    events = tuple(RecordedEvent(data=f'{{"n":{i},"text":"it\'s"}}', t=i / 1000) for i in range(300))
    odd = RecordedEvent(data="x", t=0.3, event="update", cuts=((3, 0.29),))
    content = CassetteContent(
        (Interaction(request(), RecordedResponse(status=200, headers=SSE, events=(*events, odd))),)
    )
    text = dump_cassette(content)
    assert "event: update" in text  # one line the emitter wrote, read alone by the full loader
    assert fast_data(text, SOURCE) is not None
    assert both_agree(text) == ("content", content)


def test_an_error_on_a_fast_line_names_the_same_place_as_the_full_loader() -> None:
    events = tuple(RecordedEvent(data=str(i), t=0.1) for i in range(5))
    text = dump_cassette(
        CassetteContent((Interaction(request(), RecordedResponse(status=200, headers=SSE, events=events)),))
    )
    text = text.replace("{t: 0.1, data: '3'}", "{t: 1.0e+300, data: '3'}")
    kind, message = both_agree(text)
    assert kind == "error"
    assert message == (
        f"Cassette {SOURCE}: interactions[0].response.events[3].t is 1e+300 seconds, more than the 86,400 "
        "(one day) a recording can last. Write the time the event arrived, in seconds since the request, "
        "like 0.25."
    )


# --- issue 15 item 5: aliases that expand past a limit ----------------------------------------------

_HEAD = "version: 1\ninteractions:\n- request:\n    method: POST\n    url: u\n"


def alias_bomb(depth: int = 9) -> str:
    """A billion-laughs in ``request.json``: each level is ten aliases of the one before."""
    levels = ["      l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, depth):
        refs = ", ".join([f"*l{i - 1}"] * 10)
        levels.append(f"      l{i}: &l{i} [{refs}]")
    return _HEAD + "    json:\n" + "\n".join(levels) + "\n  response: {status: 200, body: ''}\n"


def test_an_alias_bomb_in_the_request_body_is_refused_when_loading() -> None:
    text = alias_bomb()
    assert len(text) < 1000  # stands for 10^9 strings: a miss diff of it would never end
    kind, message = both_agree(text)
    assert kind == "error"
    assert message.startswith(
        f"Cassette {SOURCE} uses YAML aliases that stand for more than 1,000,000 characters"
    )
    assert "Write the values out instead of using aliases" in message


def test_a_few_aliases_still_load() -> None:
    text = (
        _HEAD + "    json: {a: &m [1, 2, 3], b: *m, c: &s text, d: *s}\n  response: {status: 200, body: ''}\n"
    )
    kind, content = both_agree(text)
    assert kind == "content"
    assert content.interactions[0].request.json == {"a": [1, 2, 3], "b": [1, 2, 3], "c": "text", "d": "text"}


def test_aliases_of_one_long_string_count_its_length() -> None:
    long = "x" * 200_000
    refs = ", ".join(["*s"] * 6)
    text = _HEAD + f"    json: {{a: &s {long}, b: [{refs}]}}\n  response: {{status: 200, body: ''}}\n"
    assert ALIAS_EXPANSION_LIMIT < 6 * 200_001
    kind, message = both_agree(text)
    assert kind == "error"
    assert "uses YAML aliases that stand for more than" in message


# --- issue 15 item 9: what no double can serve ------------------------------------------------------


def response_text(response: str) -> str:
    return _HEAD + "  response: " + response + "\n"


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (
            "{status: 200, events: [{t: 1.0e+300, data: x}]}",
            "interactions[0].response.events[0].t is 1e+300 seconds, more than the 86,400 (one day)",
        ),
        ("{status: 200, t: 1.0e+300, events: []}", "interactions[0].response.t is 1e+300 seconds"),
        ("{status: 200, body: abc, body_t: 90000}", "interactions[0].response.body_t is 90000 seconds"),
        (
            "{status: 200, body: abc, body_cuts: [[1, 1.0e+300]]}",
            "interactions[0].response.body_cuts[0][1] is 1e+300 seconds",
        ),
        (
            "{status: 200, headers: {x-note: café}, events: []}",
            "interactions[0].response.headers.x-note is 'café', which no HTTP response can carry as written",
        ),
        (
            '{status: 200, headers: {x-note: "a\\r\\nset-cookie: b"}, events: []}',
            "interactions[0].response.headers.x-note is 'a\\r\\nset-cookie: b', which no HTTP response can carry",
        ),
        (
            '{status: 200, headers: {x-note: [ok, "tab\\tend\\t"]}, events: []}',
            "interactions[0].response.headers.x-note is 'tab\\tend\\t', which no HTTP response",
        ),
        (
            "{status: 200, headers: {'bad name': v}, events: []}",
            "interactions[0].response.headers key 'bad name' is not an HTTP header name",
        ),
        ("{status: 101, events: []}", "interactions[0].response.status is 101, an interim (1xx) status"),
        (
            "{status: 204, events: [{t: 0.1, data: x}]}",
            "interactions[0].response has status 204, which carries no body in HTTP, but holds events",
        ),
        (
            "{status: 304, body: abc}",
            "interactions[0].response has status 304, which carries no body in HTTP, but holds a body",
        ),
    ],
)
def test_what_no_double_can_serve_is_refused_naming_the_place(response: str, message: str) -> None:
    kind, error = both_agree(response_text(response))
    assert kind == "error"
    assert error.startswith(f"Cassette {SOURCE}: ")
    assert message in error


def test_the_time_limit_is_inclusive_and_replays_without_overflow() -> None:
    kind, content = both_agree(response_text(f"{{status: 200, events: [{{t: {LONGEST_TIME}, data: x}}]}}"))
    assert kind == "content"
    plan = render_plan(content.interactions[0].response, timing=1000)
    assert plan.steps[0].seconds == LONGEST_TIME * 1000  # type: ignore[union-attr]


def test_headers_the_doubles_send_as_written_still_load() -> None:
    headers = "{x-a: 'value with  inner spaces', x-b: '', x-c: [one, two], X-Up: '!#$%&*+.^_`|~'}"
    kind, content = both_agree(response_text(f"{{status: 200, headers: {headers}, events: []}}"))
    assert kind == "content"
    assert ("x-b", "") in content.interactions[0].response.headers
    kind, _ = both_agree(response_text("{status: 204, headers: {x-a: b}, events: []}"))
    assert kind == "content"


# --- issue 15 items 5 and 9: convert ----------------------------------------------------------------


def vcr_text(body: str, *, encoding: str | None = None, request_json: str = "") -> str:
    coding = f"      content-encoding:\n      - {encoding}\n" if encoding else ""
    return (
        "interactions:\n- request:\n    body: null\n    headers: {}\n    method: POST\n"
        f"    uri: {URL}\n{request_json}  response:\n    body:\n      string: {body}\n    headers:\n"
        f"      content-type:\n      - text/event-stream\n{coding}    status:\n      code: 200\n"
        "      message: OK\nversion: 1\n"
    )


def test_convert_refuses_an_alias_bomb() -> None:
    bomb = alias_bomb().split("    json:\n", 1)[1].split("  response:", 1)[0]
    text = vcr_text("''").replace("    body: null\n", "    body: null\n    extra:\n" + bomb)
    with pytest.raises(CassetteFormatError) as caught:
        convert_vcr(text, source="bomb.yaml")
    assert str(caught.value).startswith(
        "The vcrpy cassette bomb.yaml uses YAML aliases that stand for more than 1,000,000 characters"
    )


def test_convert_refuses_a_gzip_bomb_without_inflating_it() -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * (1 << 20)
    packed = b"".join(packer.compress(block) for _ in range(tools.DECODED_BODY_LIMIT // len(block) + 1))
    packed += packer.flush()
    assert len(packed) < tools.DECODED_BODY_LIMIT // 500
    text = vcr_text(f"!!binary |\n        {base64.b64encode(packed).decode()}", encoding="gzip")
    with pytest.raises(CassetteFormatError) as caught:
        convert_vcr(text, source="bomb.yaml")
    assert str(caught.value) == (
        "The vcrpy cassette bomb.yaml cannot be converted: interactions[0].response.body is a gzip body "
        f"that decompresses to more than {tools.DECODED_BODY_LIMIT:,} bytes (a compression bomb, or a body "
        "too large for a cassette). Remove that interaction, or re-record it with a smaller response."
    )


def test_convert_drops_content_encoding_from_a_body_stored_decoded() -> None:
    sse = "data: {}\n\ndata: [DONE]\n\n"
    (interaction,) = convert_vcr(vcr_text(json.dumps(sse), encoding="gzip"), source="v.yaml").interactions
    response = interaction.response
    assert "content-encoding" not in dict(response.headers)
    loaded = parse_cassette(dump_cassette(CassetteContent((interaction,))), source="again")
    plan = render_plan(loaded.interactions[0].response)
    replayed = httpx.Response(plan.status, headers=plan.headers, content=plan.body())
    assert replayed.text == sse  # with content-encoding: gzip kept, httpx raised DecodingError here


@pytest.mark.parametrize(("coding", "kept"), [("identity", False), ("br", True)])
def test_convert_keeps_only_a_coding_the_body_still_has(coding: str, kept: bool) -> None:
    (interaction,) = convert_vcr(vcr_text("'data: x'", encoding=coding), source="v.yaml").interactions
    assert ("content-encoding" in dict(interaction.response.headers)) is kept


@pytest.mark.parametrize("status", [204, 304])
def test_an_empty_no_body_status_replays_the_same_in_process_and_over_a_socket(
    status: int, tmp_path: Path
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "version: 1\ninteractions:\n"
        f"- request: {{method: POST, url: '{URL}', json: {{a: 1}}}}\n"
        f"  response: {{status: {status}, headers: {{x-a: b}}, events: []}}\n"
    )
    with Cassette(path), httpx.Client(timeout=10) as client:
        local = client.post(URL, json={"a": 1})
    with FakeWriterServer(cassette=Cassette(path)) as server, httpx.Client(timeout=10) as client:
        remote = client.post(server.base_url + "/v1/chat", json={"a": 1})
    assert (local.status_code, local.headers.get("x-a"), local.content) == (status, "b", b"")
    assert (remote.status_code, remote.headers.get("x-a"), remote.content) == (status, "b", b"")


# --- issue 20: nesting, the events placeholder, content-length -------------------------------------


def nested_json(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 300, 600, 990])
def test_json_nested_past_the_limit_is_refused_naming_the_file_and_place(depth: int) -> None:
    kind, message = both_agree(
        _HEAD + f"    json: {nested_json(depth)}\n  response: {{status: 200, body: ''}}\n"
    )
    assert kind == "error"  # 600 levels was a bare RecursionError
    assert message.startswith(f"Cassette {SOURCE}")
    assert ("interactions[0].request.json nests" in message) or ("levels deep at line 6, column" in message)
    assert f"{MAX_JSON_DEPTH} levels" in message


def test_json_at_the_nesting_limit_loads_and_saves_again() -> None:
    text = _HEAD + f"    json: {nested_json(MAX_JSON_DEPTH)}\n  response: {{status: 200, body: ''}}\n"
    kind, content = both_agree(text)
    assert kind == "content"
    assert parse_cassette(dump_cassette(content), source=SOURCE) == content


def test_meta_nested_past_the_limit_is_refused_too() -> None:
    depth = DEEPEST_NESTING
    kind, message = both_agree(f"version: 1\nmeta: {{a: {nested_json(depth)}}}\ninteractions: []\n")
    assert kind == "error"
    assert f"more than {DEEPEST_NESTING} levels deep at line 2" in message


@pytest.mark.parametrize(
    "body",
    [
        "line\nevents: __writer_stream_testkit_events_1__\nmore",
        "line\nevents: __writer_stream_testkit_events_0__\n",
        "    events: __writer_stream_testkit_events_1__",
        "x\n    events:\n    - {t: 0.1, data: 'planted'}\ny",
        "__writer_stream_testkit_fast_events_0",
    ],
)
def test_a_body_holding_the_events_placeholder_is_stored_verbatim(body: str) -> None:
    plain = Interaction(
        RecordedRequest(method="GET", url="https://api.writer.com/v1/files/x"),
        RecordedResponse(status=200, body=body.encode()),
    )
    stream = Interaction(
        request(), RecordedResponse(status=200, headers=SSE, events=frame_stream([(b"data: x\n\n", 0.1)]))
    )
    content = CassetteContent((plain, stream, plain))
    kind, loaded = both_agree(dump_cassette(content))
    assert kind == "content"  # the body's line got the events spliced in: not YAML any more
    assert loaded == content


@given(st.text(alphabet=st.sampled_from("ev nts:_\n'{}-0123456789wrier"), max_size=80))
@settings(max_examples=200, deadline=None)
def test_any_body_text_round_trips_beside_a_stream(body: str) -> None:
    stream = Interaction(
        request(), RecordedResponse(status=200, headers=SSE, events=frame_stream([(b"data: x\n\n", 0.1)]))
    )
    plain = Interaction(request(), RecordedResponse(status=200, body=f"{body}\nevents: {body}".encode()))
    content = CassetteContent((plain, stream))
    assert both_agree(dump_cassette(content)) == ("content", content)


@pytest.mark.parametrize("length", ["+14", "1_4", "-5", " 14", "14 ", "0x0e", "1e1"])
def test_a_content_length_the_doubles_would_read_differently_is_refused(length: str) -> None:
    kind, message = both_agree(
        response_text(f"{{status: 200, headers: {{content-length: '{length}'}}, body: abcdefghijklmn}}")
    )
    assert kind == "error"
    assert (
        f"interactions[0].response.headers.content-length is {length!r}, not one plain whole number"
        in message
    )


def test_two_content_lengths_are_refused_and_a_plain_one_loads() -> None:
    kind, message = both_agree(
        response_text("{status: 200, headers: {content-length: ['14', '14']}, body: abcdefghijklmn}")
    )
    assert kind == "error"
    assert "content-length is ['14', '14']" in message
    kind, _ = both_agree(
        response_text("{status: 200, headers: {content-length: '14'}, body: abcdefghijklmn}")
    )
    assert kind == "content"


# --- issue 22 item 2: a long stream's events are read and checked at load, built on first use ------


def long_stream(count: int = 300, cut_every: int = 7) -> CassetteContent:
    reads: list[tuple[bytes, float]] = []
    for i in range(count):
        frame = f'data: {{"n":{i},"text":"it\'s {i}"}}\n\n'.encode()
        if i % cut_every == 3:  # a read boundary inside this event
            reads += [(frame[:9], round(i * 0.001, 4)), (frame[9:], round(i * 0.001 + 0.0005, 4))]
        else:
            reads.append((frame, round(i * 0.001, 4)))
    response = RecordedResponse(status=200, headers=SSE, events=frame_stream(reads))
    return CassetteContent((Interaction(request(), response),))


def test_a_long_stream_loads_its_events_on_first_use_equal_to_the_full_loader() -> None:
    content = long_stream()
    text = dump_cassette(content)
    assert "cuts: [[9, " in text
    fast = parse_cassette(text, source=SOURCE)
    response = fast.interactions[0].response
    assert isinstance(response, DeferredEventsResponse)
    assert full(text) == fast == content  # equal before the events are built, and either way round
    assert content == fast
    assert hash(response) == hash(content.interactions[0].response)
    assert response.events == content.interactions[0].response.events
    assert replace(response, status=201).events == response.events
    assert render_plan(response, timing="fast").steps == render_plan(content.interactions[0].response).steps


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("{t: 0.0", "{t: 86400.5", 1), "is 86400.5 seconds, more than the 86,400"),
        (lambda t: t.replace("cuts: [[9, ", "cuts: [[900, ", 1), "is offset 900, outside the"),
        (lambda t: t.replace("cuts: [[9, ", "cuts: [[0, ", 1), "is offset 0, outside the"),
    ],
)
def test_a_bad_line_in_a_long_stream_is_refused_at_load_naming_its_place(edit: Any, message: str) -> None:
    kind, error = both_agree(edit(dump_cassette(long_stream())))
    assert kind == "error"
    assert message in error
    assert "interactions[0].response.events[" in error


def test_times_at_the_limit_and_long_times_load_like_the_full_loader() -> None:
    text = dump_cassette(long_stream())
    for time_text in ("86400", "86400.0", "86399.9999", "1.0e-05", "0.5e-3", "007.5", "86400.00001"):
        both_agree(text.replace("{t: 0.0,", f"{{t: {time_text},", 1))


_FLOW_HEAD = "version: 1\ninteractions:\n- request: {method: POST, url: u}\n"


@pytest.mark.parametrize(
    ("value", "shown"), [(".inf", "inf"), (".Inf", "inf"), (".nan", "nan"), (".NaN", "nan")]
)
@pytest.mark.parametrize(
    ("response", "where"),
    [
        ("{status: 200, t: VALUE, events: []}", "interactions[0].response.t"),
        ("{status: 200, events: [{t: VALUE, data: x}]}", "interactions[0].response.events[0].t"),
        ("{status: 200, events: [{t: VALUE, data: x, event: e}]}", "interactions[0].response.events[0].t"),
        ("{status: 200, body: abc, body_t: VALUE}", "interactions[0].response.body_t"),
        ("{status: 200, body: abc, body_cuts: [[1, VALUE]]}", "interactions[0].response.body_cuts[0][1]"),
    ],
)
def test_non_finite_times_are_refused_naming_the_file_and_the_place(
    value: str, shown: str, response: str, where: str
) -> None:
    text = _FLOW_HEAD + "  response: " + response.replace("VALUE", value) + "\n"
    with pytest.raises(CassetteFormatError) as failed:
        parse_cassette(text, source="tests/cassettes/x.yaml")
    assert str(failed.value) == (
        f"Cassette tests/cassettes/x.yaml: {where} must be a finite number of seconds, not {shown}. "
        "Write the time as a plain number like 0.25."
    )


def test_an_integer_too_long_to_read_is_refused_at_its_place() -> None:
    text = _FLOW_HEAD + "  response: {status: 200, events: [{t: 1, data: x, retry: " + "9" * 5000 + "}]}\n"
    with pytest.raises(CassetteFormatError) as failed:
        parse_cassette(text, source="tests/cassettes/x.yaml")
    assert str(failed.value) == (
        "Cassette tests/cassettes/x.yaml has the number 99999999999999999999... at line 4, column 59, which "
        "is too long to read; write a shorter number there, or record the cassette again."
    )


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("version: 1\ninteractions: {}\n", "interactions must be a list"),
        (
            "version: 1\ninteractions:\n- request: {method: POST, url: u}\n",
            "interactions[0].response is missing",
        ),
        (
            "version: 1\ninteractions:\n- request: {method: POST, url: u}\n  response: {status: 200, events: [{t: 0.1, data: 5}]}\n",
            "interactions[0].response.events[0].data must be a string",
        ),
        (
            "version: 1\ninteractions:\n- request: {method: POST, url: u}\n  response: {status: 200, events: [{t: -1, data: x}]}\n",
            "interactions[0].response.events[0].t must be a number of seconds",
        ),
        (
            "version: 1\ninteractions:\n- request: {method: POST, url: u}\n  response: {status: 200, events: [{t: 1, dta: x}]}\n",
            "interactions[0].response.events[0].dta is not a field",
        ),
        (
            "version: 1\ninteractions:\n- request: {method: POST, url: u}\n  response: {status: 99, body: ''}\n",
            "interactions[0].response.status is 99",
        ),
        (
            "version: 1\ninteractions:\n- request: {method: POST, url: u}\n  response: {status: 200}\n",
            "must have exactly one of `events`",
        ),
        (
            "version: 1\ninteractions:\n- request: {method: POST, url: u}\n  response: {status: 200, events: [{t: 1, data: x, cuts: [[9, 0.1]]}]}\n",
            "interactions[0].response.events[0].cuts[0][0] is offset 9",
        ),
        (
            'version: 1\ninteractions:\n- request: {method: POST, url: u}\n  response: {status: 200, events: [{t: 1, data: y, raw: "data: x\\n\\n"}]}\n',
            "interactions[0].response.events[0].data is 'y' but the event's `raw` bytes carry 'x'",
        ),
        ("version: 1\ninteractions: [\n", "is not valid YAML"),
        ("- just a list\n", "the top level must be a mapping"),
    ],
)
def test_malformed_cassettes_name_the_file_and_the_place(text: str, where: str) -> None:
    with pytest.raises(CassetteFormatError) as info:
        parse_cassette(text, source="tests/cassettes/x.yaml")
    message = str(info.value)
    assert "tests/cassettes/x.yaml" in message
    assert where in message


def test_unknown_version_says_how_to_fix() -> None:
    with pytest.raises(CassetteFormatError, match=r"has version: 2.*reads version 1 only.*Upgrade"):
        parse_cassette("version: 2\ninteractions: []\n", source="new.yaml")

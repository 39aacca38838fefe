"""The cassette loader: what a double cannot serve, nesting, bodies beside a stream and bad times are refused, naming the file and place.

Each check runs both loading paths (``loaders.both_agree``): the fast line reader and the full YAML loader must give the same content or error.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from loaders import HEAD, SOURCE, both_agree
from recorded import URL, chat_request

from writer_stream_testkit.cassettes.cassette import Cassette
from writer_stream_testkit.cassettes.dump import dump_cassette
from writer_stream_testkit.cassettes.framing import frame_stream
from writer_stream_testkit.cassettes.load import parse_cassette
from writer_stream_testkit.cassettes.model import (
    CassetteContent,
    Interaction,
    RecordedRequest,
    RecordedResponse,
)
from writer_stream_testkit.cassettes.timing import render_plan
from writer_stream_testkit.cassettes.yaml_read import (
    DEEPEST_NESTING,
    LONGEST_TIME,
)
from writer_stream_testkit.doubles.server import FakeWriterServer
from writer_stream_testkit.errors import CassetteFormatError
from writer_stream_testkit.wire.call import MAX_JSON_DEPTH

SSE = (("content-type", "text/event-stream"),)


# --- issue 15 item 9: what no double can serve ------------------------------------------------------


def response_text(response: str) -> str:
    return HEAD + "  response: " + response + "\n"


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
        HEAD + f"    json: {nested_json(depth)}\n  response: {{status: 200, body: ''}}\n"
    )
    assert kind == "error"  # 600 levels was a bare RecursionError
    assert message.startswith(f"Cassette {SOURCE}")
    assert ("interactions[0].request.json nests" in message) or ("levels deep at line 6, column" in message)
    assert f"{MAX_JSON_DEPTH} levels" in message


def test_json_at_the_nesting_limit_loads_and_saves_again() -> None:
    text = HEAD + f"    json: {nested_json(MAX_JSON_DEPTH)}\n  response: {{status: 200, body: ''}}\n"
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
        chat_request("hi"),
        RecordedResponse(status=200, headers=SSE, events=frame_stream([(b"data: x\n\n", 0.1)])),
    )
    content = CassetteContent((plain, stream, plain))
    kind, loaded = both_agree(dump_cassette(content))
    assert kind == "content"  # the body's line got the events spliced in: not YAML any more
    assert loaded == content


@given(st.text(alphabet=st.sampled_from("ev nts:_\n'{}-0123456789wrier"), max_size=80))
@settings(max_examples=200, deadline=None)
def test_any_body_text_round_trips_beside_a_stream(body: str) -> None:
    stream = Interaction(
        chat_request("hi"),
        RecordedResponse(status=200, headers=SSE, events=frame_stream([(b"data: x\n\n", 0.1)])),
    )
    plain = Interaction(
        chat_request("hi"), RecordedResponse(status=200, body=f"{body}\nevents: {body}".encode())
    )
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


_FLOWHEAD = "version: 1\ninteractions:\n- request: {method: POST, url: u}\n"


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
    text = _FLOWHEAD + "  response: " + response.replace("VALUE", value) + "\n"
    with pytest.raises(CassetteFormatError) as failed:
        parse_cassette(text, source="tests/cassettes/x.yaml")
    assert str(failed.value) == (
        f"Cassette tests/cassettes/x.yaml: {where} must be a finite number of seconds, not {shown}. "
        "Write the time as a plain number like 0.25."
    )


def test_an_integer_too_long_to_read_is_refused_at_its_place() -> None:
    text = _FLOWHEAD + "  response: {status: 200, events: [{t: 1, data: x, retry: " + "9" * 5000 + "}]}\n"
    with pytest.raises(CassetteFormatError) as failed:
        parse_cassette(text, source="tests/cassettes/x.yaml")
    assert str(failed.value) == (
        "Cassette tests/cassettes/x.yaml has the number 99999999999999999999... at line 4, column 59, which "
        "is too long to read; write a shorter number there, or record the cassette again."
    )


# --- malformed cassettes and unknown versions -----------------------------------------------------


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

"""The pure cassette core: framing, the YAML codec and its validation, matching, modes, redaction."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import writerai
from chunks import compact_text_chunk
from hypothesis import given, settings
from hypothesis import strategies as st
from recorded import MESSAGES, astream_text, stream_text, write_cassette

from writer_stream_testkit.cassettes import cassette as cassette_module
from writer_stream_testkit.cassettes.capture import interaction_from_capture
from writer_stream_testkit.cassettes.cassette import Cassette
from writer_stream_testkit.cassettes.dump import dump_cassette
from writer_stream_testkit.cassettes.framing import body_from_reads, frame_stream
from writer_stream_testkit.cassettes.load import load_cassette, parse_cassette
from writer_stream_testkit.cassettes.matching import Matcher, MatchRules, miss_message
from writer_stream_testkit.cassettes.model import (
    RECORD_MODES,
    CassetteContent,
    Interaction,
    RecordedEvent,
    RecordedRequest,
    RecordedResponse,
)
from writer_stream_testkit.cassettes.modes import decide, merge_for_save
from writer_stream_testkit.cassettes.recorder import Capture
from writer_stream_testkit.cassettes.redact import (
    REDACTED,
    Redaction,
    is_credential_header,
    secret_from_headers,
)
from writer_stream_testkit.cassettes.timing import render_plan, timing_factor
from writer_stream_testkit.doubles.server import FakeWriterServer
from writer_stream_testkit.errors import (
    CassetteError,
    CassetteFormatError,
    CassetteMissError,
    CassetteRecordError,
)
from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.scripts.plan import Disconnect, Pause, Write
from writer_stream_testkit.wire.call import Call

URL = "https://api.writer.com/v1/chat"


def call(body: dict[str, Any] | None = None, *, url: str = URL, method: str = "POST") -> Call:
    body = (
        {"model": "palmyra-x5", "messages": [{"role": "user", "content": "hi"}], "stream": True}
        if body is None
        else body
    )
    return Call.create(
        method=method,
        url=url,
        headers={"content-type": "application/json"},
        content=json.dumps(body).encode(),
    )


def request(body: dict[str, Any] | None = None, *, url: str = URL) -> RecordedRequest:
    c = call(body, url=url)
    return RecordedRequest(
        method="POST", url=url, headers=(("content-type", "application/json"),), json=c.json
    )


def sse_interaction(*texts: str, body: dict[str, Any] | None = None) -> Interaction:
    reads = [(f"data: {compact_text_chunk(t)}\n\n".encode(), 0.01 * (i + 1)) for i, t in enumerate(texts)]
    reads.append((b"data: [DONE]\n\n", 0.01 * (len(texts) + 1)))
    response = RecordedResponse(
        status=200, headers=(("content-type", "text/event-stream"),), t=0.005, events=frame_stream(reads)
    )
    return Interaction(request(body), response)


def roundtrip(content: CassetteContent) -> CassetteContent:
    return parse_cassette(dump_cassette(content), source="mem.yaml")


# --- framing ----------------------------------------------------------------------------------------


def test_one_event_per_read_is_stored_as_data_and_time_only() -> None:
    reads = [(b'data: {"a":1}\n\n', 0.1), (b"data: [DONE]\n\n", 0.2)]
    events = frame_stream(reads)
    assert events == (RecordedEvent(data='{"a":1}', t=0.1), RecordedEvent(data="[DONE]", t=0.2))
    assert RecordedResponse(status=200, events=events).reads() == reads


def test_reads_split_inside_and_across_events_are_kept() -> None:
    stream = b'data: {"a":1}\n\ndata: {"b":2}\n\ndata: [DONE]\n\n'
    reads = [(stream[:5], 0.1), (stream[5:20], 0.2), (stream[20:], 0.3)]
    events = frame_stream(reads)
    assert events[0].cuts == ((5, 0.1),)
    assert events[1].joined
    assert events[1].cuts == ((5, 0.2),)
    assert RecordedResponse(status=200, events=events).reads() == reads


def test_non_canonical_framing_keeps_raw_bytes() -> None:
    reads = [(b": keep-alive\n\n", 0.1), (b"data:x\r\n\r\n", 0.2), (b"event: error\ndata: {}\n\n", 0.3)]
    events = frame_stream(reads)
    assert events[0].data is None
    assert events[0].raw == b": keep-alive\n\n"
    assert events[1].data == "x"
    assert events[1].raw == b"data:x\r\n\r\n"
    assert events[2].event == "error"
    assert events[2].raw is None
    assert RecordedResponse(status=200, events=events).reads() == reads


def test_unfinished_tail_of_a_cut_stream_is_kept_raw() -> None:
    reads = [(b"data: [DO", 0.1)]
    (event,) = frame_stream(reads)
    assert event.data is None
    assert event.raw == b"data: [DO"


@given(
    st.lists(
        st.tuples(
            st.binary(max_size=40)
            | st.sampled_from([b"data: x\n\n", b"\r\n", b"\r", b"\n", b"data: \xc3", b"\xa9\n\n"]),
            st.floats(0, 100, allow_nan=False),
        ),
        max_size=12,
    )
)
@settings(max_examples=300, deadline=None)
def test_framing_then_yaml_reproduces_every_read(reads: list[tuple[bytes, float]]) -> None:
    reads = [(data, round(t, 4)) for data, t in reads if data]
    response = RecordedResponse(
        status=200, headers=(("content-type", "text/event-stream"),), events=frame_stream(reads)
    )
    content = CassetteContent((Interaction(request(), response),))
    loaded = roundtrip(content)
    assert loaded.interactions[0].response.reads() == reads


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60))
@settings(max_examples=300, deadline=None)
def test_event_data_survives_yaml_verbatim(text: str) -> None:
    events = (RecordedEvent(data=text.replace("\r", "").replace("\n", ""), t=0.5),)
    content = CassetteContent((Interaction(request(), RecordedResponse(status=200, events=events)),))
    assert roundtrip(content) == content


def test_plain_bodies_keep_reads_and_non_utf8_bytes() -> None:
    reads = [(b'{"id":', 0.1), (b'"x"}', 0.2)]
    body, t, cuts = body_from_reads(reads)
    response = RecordedResponse(status=400, body=body, body_t=t, body_cuts=cuts)
    assert response.reads() == reads
    binary = RecordedResponse(status=200, body=b"\xff\xfe", body_t=0.1)
    content = CassetteContent((Interaction(request(), response), Interaction(request(), binary)))
    assert "body_b64" in dump_cassette(content)
    assert roundtrip(content) == content


# --- the file format ----------------------------------------------------------------------------------


def test_written_cassette_is_readable_one_line_per_event() -> None:
    content = CassetteContent((sse_interaction("Hello", " world"),), meta={"generated_by": "test"})
    text = dump_cassette(content)
    assert text.startswith("# writer-stream-testkit cassette")
    assert "version: 1\n" in text
    assert f"    - {{t: 0.01, data: '{compact_text_chunk('Hello')}'}}\n" in text
    assert "    - {t: 0.03, data: '[DONE]'}\n" in text
    assert roundtrip(content) == content


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


def test_yaml_syntax_errors_give_the_place_as_file_line_column() -> None:
    text = "version: 1\ninteractions:\n- request:\n    method: POST\n   url: x\n"
    with pytest.raises(CassetteFormatError) as info:
        parse_cassette(text, source="tests/cassettes/x.yaml")
    assert str(info.value) == (
        "Cassette tests/cassettes/x.yaml is not valid YAML: while parsing a block mapping at "
        "tests/cassettes/x.yaml, line 3, column 3; did not find expected key at tests/cassettes/x.yaml, "
        "line 5, column 4. Fix the syntax at that place, or delete the file and record it again."
    )
    assert "<unicode string>" not in str(info.value)


@pytest.mark.parametrize(
    "hostile",
    [
        "!!python/object/apply:os.system ['echo pwned']\n",
        "version: 1\ninteractions:\n- !!python/object/apply:os.system ['echo pwned']\n",
        "version: !!python/name:os.system 1\n",
        "version: 1\nmeta: {when: 2024-01-01}\n",
        "version: 1\nmeta: &a {x: *a}\n",
    ],
)
def test_hostile_yaml_is_refused_not_executed(hostile: str, tmp_path: Path) -> None:
    with pytest.raises(CassetteFormatError) as info:
        parse_cassette(hostile, source="evil.yaml")
    assert "evil.yaml" in str(info.value)


def test_python_tags_are_named_in_the_refusal() -> None:
    with pytest.raises(
        CassetteFormatError, match=r"tag 'tag:yaml.org,2002:python/object/apply:os.system' at line 1"
    ):
        parse_cassette("!!python/object/apply:os.system ['echo pwned']\n", source="evil.yaml")


def test_unknown_version_says_how_to_fix() -> None:
    with pytest.raises(CassetteFormatError, match=r"has version: 2.*reads version 1 only.*Upgrade"):
        parse_cassette("version: 2\ninteractions: []\n", source="new.yaml")


# --- plans and timing -----------------------------------------------------------------------------------


def test_fast_replay_has_one_write_per_read_and_no_waits() -> None:
    plan = render_plan(sse_interaction("a", "b").response)
    assert plan.head_delay == 0
    assert [type(s) for s in plan.steps] == [Write, Write, Write]
    assert (
        plan.body()
        == f"data: {compact_text_chunk('a')}\n\ndata: {compact_text_chunk('b')}\n\ndata: [DONE]\n\n".encode()
    )


def test_recorded_and_scaled_timing_reproduce_the_gaps() -> None:
    response = sse_interaction("a", "b").response
    recorded = render_plan(response, timing="recorded")
    assert recorded.head_delay == pytest.approx(0.005)
    assert [s.seconds for s in recorded.steps if isinstance(s, Pause)] == pytest.approx([0.005, 0.01, 0.01])
    half = render_plan(response, timing=0.5)
    assert [s.seconds for s in half.steps if isinstance(s, Pause)] == pytest.approx([0.0025, 0.005, 0.005])


def test_incomplete_recording_replays_as_a_disconnect() -> None:
    response = RecordedResponse(status=200, events=frame_stream([(b"data: x\n\n", 0.1)]), complete=False)
    assert isinstance(render_plan(response).steps[-1], Disconnect)


@pytest.mark.parametrize("bad", ["slow", -1, True])
def test_bad_timing_is_rejected(bad: Any) -> None:
    with pytest.raises(ValueError, match="timing="):
        timing_factor(bad)


# --- matching ---------------------------------------------------------------------------------------------


def test_default_rules_match_method_path_and_body() -> None:
    rules = MatchRules.build(("method", "path", "body"), (), ())
    assert rules.matches(call(), request())
    assert not rules.matches(call({"model": "other"}), request())
    assert not rules.matches(call(method="PUT"), request())
    assert rules.matches(call(url="http://127.0.0.1:9/v1/chat"), request())
    assert not rules.matches(call(url="https://api.writer.com/v1/other"), request())


def test_ignored_fields_leave_matching_by_dotted_path() -> None:
    a = {
        "model": "m",
        "temperature": 0.1,
        "metadata": {"request_id": "1", "keep": 1},
        "messages": [{"name": "x"}],
    }
    b = {
        "model": "m",
        "temperature": 0.9,
        "metadata": {"request_id": "2", "keep": 1},
        "messages": [{"name": "y"}],
    }
    ignore = ("body.temperature", "body.metadata.request_id", "body.messages.*.name")
    assert MatchRules.build(("body",), ignore, ()).matches(call(a), request(b))
    assert not MatchRules.build(("body",), ignore[:2], ()).matches(call(a), request(b))


def test_query_match_ignores_listed_params() -> None:
    rules = MatchRules.build(("query",), ("query.ts",), ())
    assert rules.matches(call(url=URL + "?a=1&ts=5"), request(url=URL + "?ts=9&a=1"))
    assert not rules.matches(call(url=URL + "?a=2"), request(url=URL + "?a=1"))


def test_custom_matchers_compose() -> None:
    is_stream = Matcher("stream", lambda c, r: c.stream)
    same_model = Matcher("model", lambda c, r: c.json["model"] == r.json["model"])
    assert (is_stream & same_model)(call(), request())
    assert not (is_stream & ~same_model)(call(), request())
    assert (~is_stream | same_model)(call(), request())
    rules = MatchRules.build((), (), (lambda c, r: False,))
    assert rules.failures(call(), request()) == ["<lambda>"]


@pytest.mark.parametrize(
    ("match_on", "ignore"), [(("verb",), ()), ((), ("temperature",)), ((), ("headers.x",))]
)
def test_bad_matching_options_are_rejected(match_on: tuple[str, ...], ignore: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match=r"match_on|ignore_fields"):
        MatchRules.build(match_on, ignore, ())


def test_miss_message_shows_closest_request_as_a_diff() -> None:
    rules = MatchRules.build(("method", "path", "body"), ("body.temperature",), ())
    recorded = [
        sse_interaction("x", body={"model": "palmyra-x4", "messages": [{"role": "user", "content": "bye"}]}),
        sse_interaction(
            "x", body={"model": "palmyra-x5", "messages": [{"role": "user", "content": "hello"}]}
        ),
    ]
    incoming = call(
        {"model": "palmyra-x5", "messages": [{"role": "user", "content": "hello!"}], "temperature": 1}
    )
    message = miss_message("tests/cassettes/t.yaml", incoming, recorded, [], rules, "none")
    assert message.startswith(
        "Cassette tests/cassettes/t.yaml has no unplayed recording that matches POST /v1/chat"
    )
    assert "The closest recording is interactions[1]" in message
    assert "differs in: body" in message
    assert '-      "content": "hello",' in message
    assert '+      "content": "hello!",' in message
    assert "ignoring body.temperature" in message
    assert "--writer-record-mode=new_episodes or Cassette(..., record_mode='new_episodes')" in message


def test_miss_message_for_a_path_prefix_says_the_base_url_differs() -> None:
    rules = MatchRules.build(("method", "path", "body"), (), ())
    incoming = call(url="https://proxy.example/x/v1/chat")
    message = miss_message("t.yaml", incoming, [sse_interaction("x")], [], rules, "none")
    assert (
        "The closest recording is interactions[0] (POST https://api.writer.com/v1/chat), which differs "
        "only in its path: this request went to /x/v1/chat, the recording to /v1/chat. The client's base "
        "URL (base_url= or WRITER_BASE_URL) has a different path prefix from the one the cassette was "
        "recorded with."
    ) in message
    assert message.endswith(
        "Point the client at the base URL the cassette was recorded with, or match without the path "
        "with Cassette(..., match_on=('method', 'body')) (the marker takes the same keyword)."
    )
    assert "ignore_fields" not in message
    assert "Their bodies are equal" not in message
    # Path and body both differ: the usual diff and advice, not the base-URL explanation.
    other = call({"model": "palmyra-x5", "messages": []}, url="https://proxy.example/x/v1/chat")
    mixed = miss_message("t.yaml", other, [sse_interaction("x")], [], rules, "none")
    assert "differs in: path, body" in mixed
    assert "path prefix" not in mixed


def test_miss_message_explains_a_match_already_played() -> None:
    rules = MatchRules.build(("method", "path", "body"), (), ())
    message = miss_message("t.yaml", call(), [sse_interaction("x")], [0], rules, "none")
    assert "matches it but was already replayed" in message
    assert "allow_playback_repeats=True" in message


# --- record modes -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("existed", [True, False])
@pytest.mark.parametrize("matched", [True, False])
@pytest.mark.parametrize("mode", RECORD_MODES)
def test_decide_follows_vcrpy(mode: Any, existed: bool, matched: bool) -> None:
    expected = {
        "none": "replay" if matched else "miss",
        "once": "replay" if matched else ("miss" if existed else "record"),
        "new_episodes": "replay" if matched else "record",
        "all": "record",
        "rewrite": "record",
    }[mode]
    assert decide(mode, file_existed=existed, matched=matched) == expected


def _same(a: RecordedRequest, b: RecordedRequest) -> bool:
    return a.json == b.json


def test_merge_appends_new_recordings_after_what_is_on_disk() -> None:
    old, mine, theirs = (
        sse_interaction("old", body={"n": 0}),
        sse_interaction("m", body={"n": 1}),
        sse_interaction("t", body={"n": 2}),
    )
    merged = merge_for_save("new_episodes", loaded=[old], recorded=[mine], on_disk=[old, theirs], same=_same)
    assert merged == (old, theirs, mine)


def test_merge_skips_what_another_writer_already_recorded() -> None:
    old, twin = sse_interaction("old", body={"n": 0}), sse_interaction("t", body={"n": 2})
    mine = sse_interaction("m", body={"n": 2})
    assert merge_for_save("once", loaded=[], recorded=[mine], on_disk=[old, twin], same=_same) == (old, twin)
    assert merge_for_save(
        "new_episodes", loaded=[old], recorded=[mine, mine], on_disk=[old, twin], same=_same
    ) == (
        old,
        twin,
        mine,
    )


def test_merge_all_replaces_re_recorded_and_keeps_the_rest() -> None:
    a, b, a2 = (
        sse_interaction("a", body={"n": 1}),
        sse_interaction("b", body={"n": 2}),
        sse_interaction("A", body={"n": 1}),
    )
    assert merge_for_save("all", loaded=[a, b], recorded=[a2], on_disk=[a, b], same=_same) == (b, a2)


def test_merge_rewrite_keeps_only_this_run_and_none_writes_nothing() -> None:
    a, b = sse_interaction("a", body={"n": 1}), sse_interaction("b", body={"n": 2})
    assert merge_for_save("rewrite", loaded=[], recorded=[b], on_disk=[a], same=_same) == (b,)
    assert merge_for_save("none", loaded=[a], recorded=[b], on_disk=[a], same=_same) is None
    assert merge_for_save("new_episodes", loaded=[a], recorded=[], on_disk=[a], same=_same) is None


# --- redaction ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Authorization",
        "proxy-authorization",
        "api-key",
        "X-API-Key",
        "cookie",
        "Set-Cookie",
        "x-auth-token",
        "x-amz-security-token",
        "x-client-secret",
        "apikey",
    ],
)
def test_credential_headers_are_recognised(name: str) -> None:
    assert is_credential_header(name)


@pytest.mark.parametrize(
    "name",
    [
        "content-type",
        "keep-alive",
        "x-ratelimit-remaining-tokens",
        "x-ratelimit-limit-tokens",
        "accept",
        "x-request-id",
        "idempotency-key",
    ],
)
def test_ordinary_headers_are_kept(name: str) -> None:
    assert not is_credential_header(name)


def test_api_key_is_scrubbed_everywhere_and_patterns_apply() -> None:
    key = "sk-live-ABCDEFGH12345678"
    secrets = secret_from_headers([("Authorization", f"Bearer {key}")])
    assert secrets == (key,)
    redaction = Redaction.build(
        secrets=secrets, patterns=[r"user-\d+", (re.compile("secret-[a-z]+"), "<gone>")]
    )
    assert redaction.headers([("authorization", "x"), ("x-echo", f"k={key}")]) == (
        ("authorization", REDACTED),
        ("x-echo", f"k={REDACTED}"),
    )
    assert redaction.json({"a": [f"{key} user-42 secret-abc"]}) == {"a": [f"{REDACTED} {REDACTED} <gone>"]}


def test_redaction_moves_read_boundaries_with_the_text() -> None:
    redaction = Redaction.build(secrets=["SECRETKEY123"])
    text, offsets = redaction.text_keeping_offsets("ab SECRETKEY123 cd", [1, 6, 15, 18])
    assert text == f"ab {REDACTED} cd"
    assert offsets == [1, 3, 3 + len(REDACTED), len(text)]


@given(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=8, max_size=12),
    st.booleans(),
)
@settings(max_examples=300, deadline=None)
def test_redaction_byte_check_never_skips_text_it_would_change(text: str, secret: str, plant: bool) -> None:
    if plant:
        text = text[: len(text) // 2] + secret + text[len(text) // 2 :]
    redaction = Redaction.build(secrets=[secret])
    if redaction.text(text) != text:
        assert redaction.may_change(text.encode("utf-8", "surrogateescape"))
    assert Redaction.build(patterns=[r"x"]).may_change(b"")  # a pattern needs the text itself
    assert not Redaction().may_change(text.encode())


def test_key_split_between_reads_of_a_long_stream_is_redacted() -> None:
    key = "sk-planted-0123456789abcdef"
    reads = [(f'data: {{"n":{i}}}\n\n'.encode(), 0.001 * i) for i in range(500)]
    reads[250:251] = [(f'data: {{"echo":"{key[:7]}'.encode(), 0.25), (f'{key[7:]}"}}\n\n'.encode(), 0.2505)]
    capture = Capture(
        method="POST",
        url=URL,
        headers=(("Authorization", f"Bearer {key}"),),
        content=b"{}",
        status=200,
        response_headers=(("Content-Type", "text/event-stream"),),
        reads=reads,
        complete=True,
        responded=True,
    )
    interaction = interaction_from_capture(capture, Redaction())
    text = dump_cassette(CassetteContent((interaction,)))
    assert key not in text
    assert key[:7] not in text
    events = interaction.response.events or ()
    assert events[250].data == f'{{"echo":"{REDACTED}"}}'
    assert events[250].cuts == ((len('data: {"echo":"'), 0.25),)
    assert [e.data for e in events[:250]] == [f'{{"n":{i}}}' for i in range(250)]


def test_capture_becomes_a_redacted_interaction_even_across_reads() -> None:
    key = "sk-planted-0123456789abcdef"
    capture = Capture(
        method="POST",
        url=f"{URL}?key={key}",
        headers=(
            ("Authorization", f"Bearer {key}"),
            ("Host", "api.writer.com"),
            ("Content-Type", "application/json"),
        ),
        content=json.dumps({"messages": [{"role": "user", "content": key}]}).encode(),
        status=200,
        response_headers=(("Content-Type", "text/event-stream"), ("Set-Cookie", "s=1")),
        reads=[
            (f'data: {{"echo":"{key[:10]}'.encode(), 0.1),
            (f'{key[10:]}"}}\n\n'.encode(), 0.2),
            (b"data: [DONE]\n\n", 0.3),
        ],
        complete=False,
        responded=True,
    )
    interaction = interaction_from_capture(capture, Redaction())
    text = dump_cassette(CassetteContent((interaction,)))
    assert key not in text
    assert key[:10] not in text
    assert "host" not in dict(interaction.request.headers)
    assert dict(interaction.response.headers)["set-cookie"] == REDACTED
    assert interaction.response.complete  # the client stopped at [DONE]: nothing was missed
    assert interaction.response.reads()[0][0] == b'data: {"echo":"'


KEY = "sk-audit-0000-1111"


ELSEWHERE = "https://elsewhere.example.test"


def test_unowned_host_fails_at_once_without_retries_sync(tmp_path: Path) -> None:
    path = write_cassette(tmp_path / "c.yaml")
    cassette = Cassette(path)

    def run() -> None:
        with cassette:
            client = writerai.Writer(api_key=KEY, base_url=ELSEWHERE)  # default max_retries
            with pytest.raises(writerai.InternalServerError, match=r"base_url="):
                stream_text(client)

    started = time.monotonic()
    with pytest.raises(CassetteMissError) as failed:
        run()
    assert time.monotonic() - started < 10, "no retries: writerai backs off for about 30 s over 7 retries"
    assert len(cassette.calls) == 1  # one attempt: the SDK did not retry
    message = str(failed.value)
    assert message.startswith(f"Cassette {path} does not answer POST /v1/chat (model='palmyra-x5', ")
    assert f"sent to {ELSEWHERE}/v1/chat: it answers only the Writer API at https://api.writer.com" in message
    assert f"Cassette(..., base_url={ELSEWHERE!r})" in message


def test_unowned_host_fails_at_once_without_retries_async(tmp_path: Path) -> None:
    path = write_cassette(tmp_path / "c.yaml")
    cassette = Cassette(path)

    async def main() -> None:
        async with cassette:
            client = writerai.AsyncWriter(api_key=KEY, base_url=ELSEWHERE)
            with pytest.raises(writerai.InternalServerError):
                await astream_text(client)

    started = time.monotonic()
    with pytest.raises(CassetteMissError, match=r"Cassette\(\.\.\., base_url="):
        asyncio.run(main())
    assert time.monotonic() - started < 10, "no retries: writerai backs off for about 30 s over 7 retries"
    assert len(cassette.calls) == 1


@pytest.mark.parametrize("asynchronous", [False, True])
def test_writer_base_url_set_after_the_cassette_is_built_is_owned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, asynchronous: bool
) -> None:
    monkeypatch.delenv("WRITER_BASE_URL", raising=False)
    path = write_cassette(tmp_path / "c.yaml", url=f"{ELSEWHERE}/v1/chat")
    cassette = Cassette(path)  # built first, as the writer_cassette fixture builds it before the test body
    monkeypatch.setenv("WRITER_BASE_URL", ELSEWHERE)
    started = time.monotonic()
    if asynchronous:

        async def main() -> str:
            async with cassette:
                return await astream_text(writerai.AsyncWriter(api_key=KEY))

        assert asyncio.run(main()) == "Hello"
    else:
        with cassette:
            assert stream_text(writerai.Writer(api_key=KEY)) == "Hello"
    assert time.monotonic() - started < 10, "no retries: writerai backs off for about 30 s over 7 retries"
    assert cassette.play_counts == [1]


def test_loopback_servers_in_the_same_test_pass_through(tmp_path: Path) -> None:
    path = write_cassette(tmp_path / "c.yaml")
    with FakeWriterServer() as server, Cassette(path) as cassette:
        server.reply(StreamScript().content("from the loopback server").finish())
        loopback = writerai.Writer(api_key=KEY, base_url=server.base_url, max_retries=0)
        assert stream_text(loopback) == "from the loopback server"
        assert stream_text(writerai.Writer(api_key=KEY, max_retries=0)) == "Hello"
    server.verify()
    assert cassette.play_counts == [1]


def test_other_respx_routers_still_answer_hosts_the_cassette_does_not_own(tmp_path: Path) -> None:
    import respx

    path = write_cassette(tmp_path / "c.yaml")
    with Cassette(path), respx.mock(assert_all_called=True) as router:
        router.get(f"{ELSEWHERE}/status").respond(json={"ok": True})
        assert httpx.get(f"{ELSEWHERE}/status").json() == {"ok": True}
        assert stream_text(writerai.Writer(api_key=KEY, max_retries=0)) == "Hello"


def test_stream_left_open_at_exit_is_not_saved_truncated(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    other = [{"role": "user", "content": "Say goodbye"}]
    with FakeWriterServer() as server:
        server.reply(StreamScript().content("Hello").finish())
        server.reply(StreamScript().content("Goodbye").finish())
        client = writerai.Writer(api_key=KEY, max_retries=0)
        opened: list[Any] = []

        def run() -> None:
            with Cassette(path, record_mode="once", upstream=server.base_url):
                assert stream_text(client) == "Hello"
                opened.append(client.chat.chat(model="palmyra-x5", messages=other, stream=True))  # type: ignore[arg-type]

        with pytest.raises(CassetteRecordError) as failed:
            run()
        late = "".join(c.choices[0].delta.content or "" for c in opened[0] if c.choices)
    assert late == "Goodbye"  # the client still reads its stream; only the recording is refused
    assert str(failed.value) == (
        f"Cassette {path} did not save the recording of POST /v1/chat (model='palmyra-x5', stream=True, "
        "1 message, last user: 'Say goodbye'): its stream was begun inside the `with Cassette(...)` block "
        "and was still open when the block ended, so only part of it had been recorded. Consume or close "
        "the stream inside the `with` block (read it to the end, or open it with `with "
        "client.chat.chat(..., stream=True) as stream:`); the cassette's other recordings were saved."
    )
    saved = load_cassette(path).interactions
    assert [i.request.json["messages"] for i in saved] == [MESSAGES]
    assert saved[0].response.complete
    assert saved[0].response.events


def test_save_refuses_an_open_stream_then_saves_it_once_it_ends(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    with FakeWriterServer() as server:
        server.reply(StreamScript().content("Hello").finish())
        cassette = Cassette(path, record_mode="once", upstream=server.base_url).start()
        try:
            stream = writerai.Writer(api_key=KEY, max_retries=0).chat.chat(
                model="palmyra-x5",
                messages=MESSAGES,  # type: ignore[arg-type]
                stream=True,
            )
            with pytest.raises(CassetteRecordError, match=r"was still open when the block ended"):
                cassette.save()
            assert not path.exists()
            assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Hello"
            cassette.save()
        finally:
            cassette.stop()
    (saved,) = load_cassette(path).interactions
    assert saved.response.complete
    assert saved.response.events


def test_starting_a_started_cassette_is_refused_and_leaves_no_router_behind(tmp_path: Path) -> None:
    from respx.mocks import HTTPXMocker

    path = write_cassette(tmp_path / "c.yaml")
    cassette = Cassette(path).start()
    try:
        with pytest.raises(CassetteError) as failed:
            cassette.start()
        with pytest.raises(CassetteError, match="is already started"), cassette:
            pass
    finally:
        cassette.stop()
    assert str(failed.value) == (
        f"Cassette {path} is already started, and a cassette intercepts requests once: start() or `with` was "
        "used on it again before stop(). Use one `with Cassette(...)` block (the writer_cassette fixture's "
        "cassette is already started, so do not enter it again), or call stop() before starting it again."
    )
    assert [r for r in HTTPXMocker.routers if isinstance(r, cassette_module._Router)] == []
    with cassette:  # stopped, it starts again as usual
        assert stream_text(writerai.Writer(api_key=KEY, max_retries=0)) == "Hello"


def _capture(content: str) -> Capture:
    body = json.dumps(
        {"messages": [{"role": "user", "content": content}], "model": "palmyra-x5", "stream": True}
    )
    return Capture(
        method="POST",
        url=URL,
        headers=(("content-type", "application/json"),),
        content=body.encode(),
        status=200,
        response_headers=(("content-type", "text/event-stream"),),
        reads=[(f"data: {compact_text_chunk(content)}\n\n".encode(), 0.01), (b"data: [DONE]\n\n", 0.02)],
        complete=True,
        done=True,
        responded=True,
    )


def test_a_capture_added_while_saving_is_kept_for_the_next_save(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.yaml"
    cassette = Cassette(path, record_mode="new_episodes")
    cassette._started(_capture("first"))
    late = _capture("late")
    real_save = cassette_module.save_recorded

    def save_then_another_thread_records(*args: Any, **kwargs: Any) -> None:
        real_save(*args, **kwargs)
        cassette._started(late)  # another thread's stream ends while this save runs

    monkeypatch.setattr(cassette_module, "save_recorded", save_then_another_thread_records)
    cassette.save()
    assert [i.request.json["messages"][0]["content"] for i in load_cassette(path).interactions] == ["first"]
    monkeypatch.setattr(cassette_module, "save_recorded", real_save)
    cassette.save()
    contents = [i.request.json["messages"][0]["content"] for i in load_cassette(path).interactions]
    assert contents == ["first", "late"]
    cassette.save()  # nothing new: the file is left as it is
    assert [i.request.json["messages"][0]["content"] for i in load_cassette(path).interactions] == contents

"""The fast path reads the event lines the kit writes without the YAML parser; every test holds it to the full loader's result, content or error, on files the kit writes and on files edited by hand."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from loaders import SOURCE, both_agree, full
from recorded import SSE, chat_request

from writer_stream_testkit.cassettes.dump import dump_cassette
from writer_stream_testkit.cassettes.fast_load import fast_data
from writer_stream_testkit.cassettes.framing import body_from_reads, frame_stream
from writer_stream_testkit.cassettes.load import parse_cassette
from writer_stream_testkit.cassettes.model import (
    CassetteContent,
    DeferredEventsResponse,
    Interaction,
    RecordedEvent,
    RecordedResponse,
)
from writer_stream_testkit.cassettes.timing import render_plan

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
    return Interaction(chat_request(draw(_TEXT)), response)


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
    common = Interaction(
        chat_request("hi"), RecordedResponse(status=200, headers=SSE, events=frame_stream(_COMMON))
    )
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


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("    - {t: 0.0, data: ''}", "    - {t: 0.02, data: '[DONE]'}"),  # anchors in two streams
        ("    - {t: 0.0, data: ''}", "  note: n"),  # one in a stream, one outside any
    ],
    ids=["two-streams", "stream-and-meta"],
)
def test_an_anchor_named_twice_across_streams_is_refused_as_the_full_loader_refuses_it(
    first: str, second: str
) -> None:
    """Found by the hand-edit property: each stream's odd lines were read apart, so neither saw the other's anchor."""
    other = Interaction(
        chat_request("x"),
        RecordedResponse(status=200, headers=SSE, events=(RecordedEvent(data="", t=0.0),), complete=False),
    )
    common = Interaction(
        chat_request("hi"), RecordedResponse(status=200, headers=SSE, events=frame_stream(_COMMON))
    )
    text = dump_cassette(CassetteContent((other, common), {"note": "n"}))
    for line in (first, second):
        assert line in text
        anchored = line.replace("data: '", "data: &a '").replace("note: n", "note: &a n")
        text = text.replace(line, anchored, 1)
    kind, message = both_agree(text)
    assert kind == "error"
    assert "duplicate anchor" in message
    assert SOURCE in message


def test_a_long_stream_takes_the_fast_path_and_an_odd_line_in_it_the_full_loader() -> None:
    events = tuple(RecordedEvent(data=f'{{"n":{i},"text":"it\'s"}}', t=i / 1000) for i in range(300))
    odd = RecordedEvent(data="x", t=0.3, event="update", cuts=((3, 0.29),))
    content = CassetteContent(
        (Interaction(chat_request("hi"), RecordedResponse(status=200, headers=SSE, events=(*events, odd))),)
    )
    text = dump_cassette(content)
    assert "event: update" in text  # one line the emitter wrote, read alone by the full loader
    assert fast_data(text, SOURCE) is not None
    assert both_agree(text) == ("content", content)


def test_an_error_on_a_fast_line_names_the_same_place_as_the_full_loader() -> None:
    events = tuple(RecordedEvent(data=str(i), t=0.1) for i in range(5))
    text = dump_cassette(
        CassetteContent(
            (Interaction(chat_request("hi"), RecordedResponse(status=200, headers=SSE, events=events)),)
        )
    )
    text = text.replace("{t: 0.1, data: '3'}", "{t: 1.0e+300, data: '3'}")
    kind, message = both_agree(text)
    assert kind == "error"
    assert message == (
        f"Cassette {SOURCE}: interactions[0].response.events[3].t is 1e+300 seconds, more than the 86,400 "
        "(one day) a recording can last. Write the time the event arrived, in seconds since the request, "
        "like 0.25."
    )


def long_stream(count: int = 300, cut_every: int = 7) -> CassetteContent:
    reads: list[tuple[bytes, float]] = []
    for i in range(count):
        frame = f'data: {{"n":{i},"text":"it\'s {i}"}}\n\n'.encode()
        if i % cut_every == 3:  # a read boundary inside this event
            reads += [(frame[:9], round(i * 0.001, 4)), (frame[9:], round(i * 0.001 + 0.0005, 4))]
        else:
            reads.append((frame, round(i * 0.001, 4)))
    response = RecordedResponse(status=200, headers=SSE, events=frame_stream(reads))
    return CassetteContent((Interaction(chat_request("hi"), response),))


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

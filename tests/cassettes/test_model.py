"""The cassette's values: a request as recorded, events with their exact bytes and read boundaries, deferred events equal to eager ones."""

from __future__ import annotations

import dataclasses

import pytest

from writer_stream_testkit.cassettes.model import (
    CassetteContent,
    DeferredEventsResponse,
    Interaction,
    RecordedEvent,
    RecordedRequest,
    RecordedResponse,
)
from writer_stream_testkit.scripts.plan import Write

SSE = (("content-type", "text/event-stream"),)


def test_a_recorded_json_body_is_compared_compactly_and_a_text_body_as_it_is() -> None:
    request = RecordedRequest("POST", "https://api.writer.com/v1/chat?x=1", json={"a": "é", "b": [1, 2]})
    assert request.path == "/v1/chat"
    assert request.content == '{"a":"é","b":[1,2]}'.encode()
    assert request.as_call().json == {"a": "é", "b": [1, 2]}
    assert RecordedRequest("POST", "https://h/v1/x", body="a,b\n").content == b"a,b\n"
    assert RecordedRequest("GET", "https://h").path == "/"


def test_an_event_is_canonical_unless_its_raw_bytes_say_otherwise() -> None:
    assert RecordedEvent("hi").framing() == b"data: hi\n\n"
    assert RecordedEvent("a\nb").framing() == b"data: a\ndata: b\n\n"
    assert RecordedEvent("x", event="error").framing() == b"event: error\ndata: x\n\n"
    assert RecordedEvent("x", raw=b"data:x\r\n\r\n").framing() == b"data:x\r\n\r\n"


def test_reads_put_the_cuts_and_joins_back_where_the_network_made_them() -> None:
    events = (
        RecordedEvent("one", t=0.1, cuts=((4, 0.05),)),
        RecordedEvent("two", t=0.2, joined=True),
        RecordedEvent("[DONE]", t=0.3),
    )
    response = RecordedResponse(200, SSE, events=events)
    assert response.reads() == [
        (b"data", 0.05),
        (b": one\n\ndata: two\n\n", 0.2),  # the second event came in the read that ended the first
        (b"data: [DONE]\n\n", 0.3),
    ]


def test_a_plain_body_reads_in_its_recorded_pieces_and_an_empty_one_not_at_all() -> None:
    body = RecordedResponse(429, body=b'{"error": 1}', body_t=0.4, body_cuts=((3, 0.2),))
    assert body.reads() == [(b'{"e', 0.2), (b'rror": 1}', 0.4)]
    assert RecordedResponse(204, body=b"").reads() == []


def test_deferred_events_are_built_once_on_first_use_and_equal_the_eager_response() -> None:
    events = (RecordedEvent("a", t=0.1), RecordedEvent("[DONE]", t=0.2))
    eager = RecordedResponse(200, SSE, t=0.01, events=events)
    builds: list[int] = []

    def build() -> tuple[RecordedEvent, ...]:
        builds.append(1)
        return events

    deferred = DeferredEventsResponse.deferred(eager, build)
    assert builds == []
    assert deferred == eager
    assert eager == deferred
    assert deferred.events is deferred.events
    assert builds == [1]
    assert deferred != dataclasses.replace(eager, status=500)


def test_an_interaction_plays_its_recording_and_describes_itself() -> None:
    request = RecordedRequest("POST", "https://api.writer.com/v1/chat")
    stream = Interaction(request, RecordedResponse(200, SSE, events=(RecordedEvent("a", t=0.1),)))
    assert stream.describe() == "recorded POST /v1/chat -> 200, 1 events"
    assert [s for s in stream.plan().steps if isinstance(s, Write)] == [Write(b"data: a\n\n")]
    plain = Interaction(request, RecordedResponse(500, body=b"oops"))
    assert plain.describe() == "recorded POST /v1/chat -> 500, 4 body bytes"


def test_content_is_frozen_however_it_was_given() -> None:
    meta = {"note": "n"}
    content = CassetteContent([], meta)  # type: ignore[arg-type]
    meta["note"] = "changed"
    assert content.interactions == ()
    assert content.meta == {"note": "n"}
    with pytest.raises(TypeError):
        content.meta["note"] = "x"  # type: ignore[index]

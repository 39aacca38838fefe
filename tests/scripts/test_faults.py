from __future__ import annotations

import itertools
import json
from typing import Any

import httpx
import pytest
import writerai
from writerai._streaming import SSEDecoder as SDKDecoder

from writer_stream_testkit.doubles.replies import ReplyQueue
from writer_stream_testkit.errors import ScriptError
from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.scripts.faults import (
    ConnectionRefused,
    CrlfLineEnds,
    DataAfterDone,
    Delay,
    Disconnect,
    ErrorEvent,
    Fault,
    HttpError,
    KeepAlive,
    MalformedChunk,
    MissingDone,
    Split,
    Stall,
    fault_from_yaml,
)
from writer_stream_testkit.scripts.plan import Disconnect as Cut
from writer_stream_testkit.scripts.plan import Pause, ResponsePlan, Write
from writer_stream_testkit.wire.call import Call

BASE = StreamScript().content("A", "B")  # three chunks: A (with role), B, finish


def blocks(script: StreamScript = BASE, newline: str = "\n") -> list[bytes]:
    return [frame.encode(newline) for frame in script.frames()]


B0, B1, B2, DONE = blocks()


def stream_call() -> Call:
    body = {"model": "palmyra-x5", "messages": [{"role": "user", "content": "Hi"}], "stream": True}
    return Call.create(method="POST", url="https://api.writer.com/v1/chat", content=json.dumps(body).encode())


def plan_of(*faults: Fault, script: StreamScript = BASE) -> ResponsePlan:
    return script.with_fault(*faults).stream_plan()


def sdk_events(writes: list[bytes]) -> list[tuple[str | None, str]]:
    return [(e.event, e.data) for e in SDKDecoder().iter_bytes(iter(writes))]


def test_base_stream_is_one_write_per_block() -> None:
    plan = BASE.stream_plan()
    assert plan.status == 200
    assert plan.headers == (("content-type", "text/event-stream"),)
    assert plan.steps == tuple(Write(b) for b in (B0, B1, B2, DONE))
    assert DONE == b"data: [DONE]\n\n"


# --- replacing faults ---------------------------------------------------------------------------


def test_http_error_429_has_writer_body_and_retry_headers() -> None:
    plan = Fault.http_error(
        429, retry_after=2, retry_after_ms=1500, headers={"x-request-id": "r1"}
    ).response()
    assert plan.status == 429
    assert plan.headers == (
        ("content-type", "application/json"),
        ("retry-after", "2"),
        ("retry-after-ms", "1500"),
        ("x-request-id", "r1"),
    )
    assert json.loads(plan.body()) == {
        "tpe": "TooManyRequests",
        "errors": [
            {
                "description": "Rate limit exceeded. Please wait and try your request again later.",
                "key": "error.too_many_requests",
                "extras": {},
            }
        ],
        "extras": {},
    }


@pytest.mark.parametrize(
    ("status", "tpe"),
    [(400, "BadRequest"), (401, "Unauthorized"), (500, "InternalServerError"), (503, "ServiceUnavailable")],
)
def test_http_error_type_follows_status(status: int, tpe: str) -> None:
    body = json.loads(Fault.http_error(status, message="boom").response().body())
    assert body["tpe"] == tpe
    assert body["errors"][0]["description"] == "boom"


def test_http_error_body_override_and_http_date() -> None:
    fault = Fault.http_error(
        503, body={"error": {"message": "down"}}, retry_after="Wed, 21 Oct 2015 07:28:00 GMT"
    )
    plan = fault.response()
    assert json.loads(plan.body()) == {"error": {"message": "down"}}
    assert ("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT") in plan.headers


def test_http_error_float_retry_after_keeps_fraction() -> None:
    assert ("retry-after", "0.5") in Fault.http_error(429, retry_after=0.5).response().headers
    assert ("retry-after", "3") in Fault.http_error(429, retry_after=3.0).response().headers


@pytest.mark.parametrize("status", [200, 399, 600, True])
def test_http_error_rejects_non_error_status(status: Any) -> None:
    with pytest.raises(ScriptError, match="from 400 to 599"):
        Fault.http_error(status)


def test_http_error_is_a_reply_and_replaces_script_stream() -> None:
    queue = ReplyQueue()
    queue.reply(Fault.http_error(500))
    assert queue.take(stream_call()).status == 500
    plan = BASE.with_fault(Fault.http_error(401), Fault.delay(first_byte=0.2)).stream_plan()
    assert plan.status == 401
    assert plan.head_delay == 0.2


def test_sdk_raises_rate_limit_error_with_writer_body() -> None:
    plan = Fault.http_error(429, retry_after=0).response()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(plan.status, headers=list(plan.headers), content=plan.body())

    client = writerai.Writer(
        api_key="test", http_client=httpx.Client(transport=httpx.MockTransport(handler)), max_retries=0
    )
    with pytest.raises(writerai.RateLimitError) as info:
        client.chat.chat(model="palmyra-x5", messages=[{"role": "user", "content": "Hi"}])
    assert info.value.body == json.loads(plan.body())


def test_connection_refused_refuses_for_any_request() -> None:
    plan = Fault.connection_refused().plan(stream_call())
    assert plan.refuse
    assert plan.steps == ()
    assert not plan.completes


def test_two_replacing_faults_are_refused() -> None:
    with pytest.raises(ScriptError, match="replace the whole response"):
        BASE.with_fault(Fault.http_error(500), Fault.connection_refused())


def test_with_fault_refuses_non_faults() -> None:
    with pytest.raises(ScriptError, match="not a fault"):
        BASE.with_fault("disconnect")  # type: ignore[arg-type]


# --- stream faults, exact steps -----------------------------------------------------------------


def test_disconnect_after_chunks() -> None:
    assert plan_of(Fault.disconnect(after_chunks=1)).steps == (Write(B0), Cut())
    assert plan_of(Fault.disconnect(after_chunks=0)).steps == (Cut(),)
    assert plan_of(Fault.disconnect(after_chunks=3)).steps == (Write(B0), Write(B1), Write(B2), Cut())


def test_disconnect_mid_chunk_cuts_half_way_into_next_block() -> None:
    plan = plan_of(Fault.disconnect(after_chunks=1, mid_chunk=True))
    assert plan.steps == (Write(B0), Write(B1[: len(B1) // 2]), Cut())
    assert not plan.completes
    done_cut = plan_of(Fault.disconnect(after_chunks=3, mid_chunk=True))
    assert done_cut.steps[-2:] == (Write(DONE[: len(DONE) // 2]), Cut())


def test_disconnect_mid_chunk_needs_a_next_block() -> None:
    with pytest.raises(ScriptError, match="no block after that point"):
        plan_of(Fault.disconnect(after_chunks=3, mid_chunk=True), Fault.missing_done())


def test_anchor_past_the_end_is_refused_with_count() -> None:
    with pytest.raises(ScriptError, match=r"sends only 3 chunks.*from 0 to 3"):
        plan_of(Fault.disconnect(after_chunks=4))


def test_malformed_chunk_is_inserted_after_anchor() -> None:
    plan = plan_of(Fault.malformed_chunk(after_chunks=1))
    assert plan.steps == tuple(Write(b) for b in (B0, b'data: {"id": \n\n', B1, B2, DONE))


def test_error_event_ends_the_stream() -> None:
    plan = plan_of(Fault.error_event(after_chunks=2, message="overloaded", status=503))
    event = (
        b'event: error\ndata: {"tpe": "ServiceUnavailable", "errors": [{"description": "overloaded", '
        b'"key": "error.service_unavailable", "extras": {}}], "extras": {}}\n\n'
    )
    assert plan.steps == (Write(B0), Write(B1), Write(event))
    assert sdk_events(list(plan.writes()))[-1][0] == "error"


def test_error_event_body_override() -> None:
    plan = plan_of(Fault.error_event(after_chunks=0, body={"error": {"message": "x"}}))
    assert plan.body() == b'event: error\ndata: {"error": {"message": "x"}}\n\n'


def test_stall_pauses_at_anchor() -> None:
    plan = plan_of(Fault.stall(after_chunks=1, seconds=5))
    assert plan.steps == (Write(B0), Pause(5), Write(B1), Write(B2), Write(DONE))
    assert plan.completes


def test_stall_at_end_of_stream_without_done() -> None:
    plan = plan_of(Fault.stall(after_chunks=3, seconds=2), Fault.missing_done())
    assert plan.steps == (Write(B0), Write(B1), Write(B2), Pause(2))


def test_delay_each_and_first_byte() -> None:
    plan = plan_of(Fault.delay(each=0.1, first_byte=0.5))
    assert plan.head_delay == 0.5
    assert plan.steps == tuple(
        itertools.chain.from_iterable((Pause(0.1), Write(b)) for b in (B0, B1, B2, DONE))
    )


def test_split_sizes_cycle_over_same_bytes() -> None:
    plan = plan_of(Fault.split(sizes=[3, 5]))
    writes = list(plan.writes())
    assert b"".join(writes) == BASE.sse()
    assert [len(w) for w in writes[:4]] == [3, 5, 3, 5]
    assert 1 <= len(writes[-1]) <= 5


def test_split_one_byte() -> None:
    writes = list(plan_of(Fault.split(one_byte=True)).writes())
    assert all(len(w) == 1 for w in writes)
    assert b"".join(writes) == BASE.sse()


def test_split_mid_utf8_cuts_inside_characters() -> None:
    script = StreamScript().content("h\u00e9llo", " \u2603")
    writes = list(plan_of(Fault.split_mid_utf8(), script=script).writes())
    assert b"".join(writes) == script.sse()
    assert len(writes) == 3
    for write in writes[:-1]:
        assert write[-1] >= 0xC0  # ends on the lead byte of a multi-byte character
        with pytest.raises(UnicodeDecodeError):
            write.decode()


def test_split_mid_utf8_needs_non_ascii() -> None:
    with pytest.raises(ScriptError, match="no multi-byte UTF-8"):
        plan_of(Fault.split_mid_utf8())


def test_split_mid_crlf_uses_crlf_and_splits_each_line_end() -> None:
    writes = list(plan_of(Fault.split_mid_crlf()).writes())
    assert b"".join(writes) == BASE.sse("\r\n")
    assert writes[0] == B0.replace(b"\n\n", b"\r")
    assert writes[1] == b"\n\r"
    assert all(w.endswith(b"\r") for w in writes[:-1])
    assert sdk_events(writes) == sdk_events([BASE.sse()])


def test_missing_done_and_data_after_done() -> None:
    assert plan_of(Fault.missing_done()).body() == B0 + B1 + B2
    assert plan_of(Fault.data_after_done()).body() == BASE.sse() + b'data: {"id":"late"}\n\n'
    assert (
        plan_of(Fault.data_after_done(data="x"), Fault.missing_done()).body() == B0 + B1 + B2 + b"data: x\n\n"
    )


def test_crlf_changes_every_line_end() -> None:
    plan = plan_of(Fault.crlf())
    assert plan.body() == BASE.sse("\r\n")
    assert plan.steps == tuple(Write(b) for b in blocks(newline="\r\n"))


def test_keep_alive_comments_every_k_chunks() -> None:
    plan = plan_of(Fault.keep_alive(every=2, comment="ping"))
    assert plan.steps == tuple(Write(b) for b in (B0, B1, b": ping\n\n", B2, DONE))
    assert plan_of(Fault.keep_alive()).body() == B0 + b":\n\n" + B1 + b":\n\n" + B2 + b":\n\n" + DONE


# --- composition --------------------------------------------------------------------------------


def test_faults_compose_the_same_whatever_their_order() -> None:
    faults = [
        Fault.disconnect(after_chunks=2, mid_chunk=True),
        Fault.crlf(),
        Fault.split(sizes=[7]),
        Fault.stall(after_chunks=1, seconds=3),
        Fault.keep_alive(every=1, comment="k"),
        Fault.malformed_chunk(after_chunks=1),
    ]
    plans = {plan_of(*order).steps for order in itertools.permutations(faults)}
    assert len(plans) == 1


def test_composed_plan_is_exact() -> None:
    plan = plan_of(
        Fault.split(sizes=[40]),
        Fault.stall(after_chunks=1, seconds=3),
        Fault.disconnect(after_chunks=2, mid_chunk=True),
        Fault.keep_alive(every=1, comment="k"),
        Fault.malformed_chunk(after_chunks=1, data="oops"),
        Fault.crlf(),
    )
    b0, b1, b2, _ = blocks(newline="\r\n")
    keep_alive = b": k\r\n\r\n"
    first = b0 + keep_alive + b"data: oops\r\n\r\n"
    sent = first + b1 + keep_alive + b2[: len(b2) // 2]
    assert plan.body() == sent
    assert isinstance(plan.steps[-1], Cut)
    # the stall sits exactly after chunk 1 and its insertions, splitting a 40-byte write there
    pause_at = plan.steps.index(Pause(3))
    before = b"".join(s.data for s in plan.steps[:pause_at] if isinstance(s, Write))
    assert before == first
    writes = [s.data for s in plan.steps if isinstance(s, Write)]
    assert all(len(w) <= 40 for w in writes)


def test_malformed_chunks_come_before_error_event_at_one_anchor() -> None:
    plan = plan_of(
        Fault.error_event(after_chunks=1, body="e"), Fault.malformed_chunk(after_chunks=1, data="m")
    )
    assert plan.body() == B0 + b"data: m\n\n" + b"event: error\ndata: e\n\n"


def test_markers_after_error_event_have_no_effect() -> None:
    plan = plan_of(Fault.error_event(after_chunks=1, body="e"), Fault.disconnect(after_chunks=2))
    assert plan.completes
    assert plan.body() == B0 + b"event: error\ndata: e\n\n"


def test_earliest_disconnect_wins() -> None:
    plan = plan_of(Fault.disconnect(after_chunks=2), Fault.disconnect(after_chunks=1))
    assert plan.steps == (Write(B0), Cut())


def test_splits_union_their_boundaries() -> None:
    script = StreamScript().content("\u00e9")
    writes = list(plan_of(Fault.split(sizes=[10]), Fault.split_mid_utf8(), script=script).writes())
    assert b"".join(writes) == script.sse()
    assert writes[0] == script.sse()[:10]
    assert any(w[-1] >= 0xC0 for w in writes)


def test_faulted_streams_decode_to_the_same_chunks_with_the_sdk_decoder() -> None:
    script = (
        StreamScript()
        .content("h\u00e9", "llo")
        .tool_call("f", ['{"a"', ":1}"])
        .usage(prompt_tokens=1, completion_tokens=2)
    )
    expected = [json.dumps(c, separators=(",", ":"), ensure_ascii=False) for c in script.chunks()]
    for faults in (
        [Fault.split(one_byte=True)],
        [Fault.split_mid_utf8()],
        [Fault.split_mid_crlf()],
        [Fault.crlf(), Fault.keep_alive(every=1, comment="ping")],
    ):
        events = sdk_events(list(script.with_fault(*faults).stream_plan().writes()))
        assert [data for _, data in events] == [*expected, "[DONE]"], faults


# --- non-streaming requests -----------------------------------------------------------------------


def test_json_plan_ignores_stream_faults_but_honours_delay_and_errors() -> None:
    script = BASE.with_fault(Fault.disconnect(after_chunks=1), Fault.delay(first_byte=1, each=0.5))
    plan = script.json_plan()
    assert plan.status == 200
    assert plan.head_delay == 1
    assert plan.steps[0] == Pause(0.5)
    assert json.loads(plan.body())["choices"][0]["message"]["content"] == "AB"
    assert BASE.with_fault(Fault.http_error(503)).json_plan().status == 503


# --- validation, names and YAML ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Fault.disconnect(after_chunks=-1), r"after_chunks=-1"),
        (lambda: Fault.stall(after_chunks=1, seconds=-1), r"seconds=-1"),
        (lambda: Fault.delay(), "no delay"),
        (lambda: Split(), "no way to split"),
        (lambda: Fault.split(sizes=[0]), "size"),
        (lambda: Fault.split(sizes=[2], one_byte=True), "one or the other"),
        (lambda: Fault.keep_alive(every=0), "every=0"),
        (lambda: Fault.keep_alive(comment="a\nb"), "line break"),
        (lambda: Fault.http_error(429, retry_after=float("nan")), "retry_after"),
    ],
)
def test_bad_fault_arguments_are_explained(make: Any, message: str) -> None:
    with pytest.raises(ScriptError, match=message):
        make()


def test_constructors_return_named_value_objects() -> None:
    assert isinstance(Fault.http_error(500), HttpError)
    assert isinstance(Fault.connection_refused(), ConnectionRefused)
    assert isinstance(Fault.disconnect(after_chunks=1), Disconnect)
    assert isinstance(Fault.malformed_chunk(after_chunks=1), MalformedChunk)
    assert isinstance(Fault.error_event(after_chunks=1), ErrorEvent)
    assert isinstance(Fault.stall(after_chunks=1), Stall)
    assert isinstance(Fault.delay(each=1), Delay)
    assert isinstance(Fault.split(one_byte=True), Split)
    assert isinstance(Fault.missing_done(), MissingDone)
    assert isinstance(Fault.data_after_done(), DataAfterDone)
    assert isinstance(Fault.crlf(), CrlfLineEnds)
    assert isinstance(Fault.keep_alive(), KeepAlive)
    assert Fault.split(one_byte=True) == Split(sizes=(1,))
    with pytest.raises(AttributeError):
        Fault.missing_done().name = "x"  # type: ignore[misc]


def test_describe_shows_only_non_default_fields() -> None:
    assert Fault.disconnect(after_chunks=2).describe() == "disconnect(after_chunks=2)"
    assert Fault.http_error(429, retry_after=1).describe() == "http_error(status=429, retry_after=1)"
    assert Fault.missing_done().describe() == "missing_done()"


ALL_FAULTS: list[Fault] = [
    Fault.http_error(429, message="m", retry_after=1.5, retry_after_ms=10, headers={"a": "b"}, body="{}"),
    Fault.connection_refused(),
    Fault.disconnect(after_chunks=2, mid_chunk=True),
    Fault.malformed_chunk(after_chunks=1, data="x"),
    Fault.error_event(after_chunks=0, message="m", status=503, body="b"),
    Fault.stall(after_chunks=1, seconds=9),
    Fault.delay(each=0.1, first_byte=2),
    Fault.split(sizes=[1, 2]),
    Fault.split_mid_utf8(),
    Fault.split_mid_crlf(),
    Fault.missing_done(),
    Fault.data_after_done(data="late"),
    Fault.crlf(),
    Fault.keep_alive(every=3, comment="c"),
]


@pytest.mark.parametrize("fault", ALL_FAULTS, ids=lambda f: f.name)
def test_every_fault_round_trips_through_its_yaml_item(fault: Fault) -> None:
    assert fault_from_yaml(fault.to_yaml_item(), "here") == fault


def test_fault_yaml_errors_name_the_place_and_the_fix() -> None:
    with pytest.raises(ScriptError, match=r"^f\.yaml, fault 1: unknown fault 'explode'; use one of"):
        fault_from_yaml("explode", "f.yaml, fault 1")
    with pytest.raises(
        ScriptError,
        match=r"has no key seconds; it takes the keys Fault.disconnect\(\) takes: after_chunks, mid_chunk",
    ):
        fault_from_yaml({"disconnect": {"after_chunks": 1, "seconds": 2}}, "here")
    with pytest.raises(ScriptError, match="missing a field"):
        fault_from_yaml({"disconnect": None}, "here")
    with pytest.raises(ScriptError, match="one-key mapping"):
        fault_from_yaml({"a": 1, "b": 2}, "here")


def test_every_fault_kind_has_exactly_one_stage_in_the_order_table() -> None:
    """The composition order is one table (scripts.render.STAGES); a new fault kind must take a place in it."""
    from writer_stream_testkit.scripts import faults as faults_module
    from writer_stream_testkit.scripts.render import STAGES

    kinds = {
        obj
        for obj in vars(faults_module).values()
        if isinstance(obj, type) and issubclass(obj, faults_module.Fault) and hasattr(obj, "name")
    }
    placed = [kind for _, stage in STAGES for kind in stage]
    assert sorted(k.__name__ for k in placed) == sorted(k.__name__ for k in kinds)
    assert len(placed) == len(set(placed))


def test_a_fault_kind_outside_the_order_table_is_named() -> None:
    from writer_stream_testkit.scripts.faults import Fault
    from writer_stream_testkit.scripts.render import stage_of

    class Unplaced(Fault):
        name = "unplaced"

    with pytest.raises(TypeError, match=r"Unplaced has no stage in scripts\.render\.STAGES"):
        stage_of(Unplaced())


def test_faults_compose_in_table_order_whatever_order_they_are_given() -> None:
    from writer_stream_testkit.scripts.render import stage_of

    given = [
        Fault.disconnect(after_chunks=1),
        Fault.stall(after_chunks=1, seconds=0.5),
        Fault.split(one_byte=True),
        Fault.crlf(),
        Fault.malformed_chunk(after_chunks=1),
    ]
    assert [stage_of(f) for f in given] == [5, 4, 3, 2, 1]
    forwards, backwards = plan_of(*given), plan_of(*reversed(given))
    assert forwards.steps == backwards.steps
    assert forwards.reason == backwards.reason
    assert b'data: {"id": \r\n' in forwards.body()

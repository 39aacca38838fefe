"""Each fault kind lands where kinds.py says, on the first attempt only, using up nothing."""

from __future__ import annotations

import json

import httpx
from faultdata import BODY, SCRIPT

from writer_stream_testkit import QuestionScript
from writer_stream_testkit.resilience.inject import fault_stream, is_streaming
from writer_stream_testkit.resilience.kinds import KINDS
from writer_stream_testkit.scripts.plan import Disconnect, Pause, ResponsePlan, Write
from writer_stream_testkit.wire.call import Call


def _call(body: object = BODY) -> Call:
    request = httpx.Request("POST", "https://api.writer.com/v1/chat", json=body)
    request.read()
    return Call.from_httpx(request)


def _plan() -> ResponsePlan:
    return SCRIPT.plan(_call())


def _data(plan: ResponsePlan) -> list[str]:
    return [line[6:] for line in plan.body().decode().splitlines() if line.startswith("data: ")]


def test_streaming_requests_are_those_asking_for_a_stream() -> None:
    assert is_streaming(_call())
    assert not is_streaming(_call({**BODY, "stream": False}))
    assert not is_streaming(_call([1, 2]))


def test_disconnect_cuts_after_half_the_chunks() -> None:
    plan = fault_stream(KINDS["disconnect"], _plan(), timeout=1).plan
    assert plan is not None
    steps = list(plan.steps)
    assert isinstance(steps[-1], Disconnect)
    chunks = [json.loads(d) for d in _data(plan)]
    total = len([d for d in _data(_plan()) if d != "[DONE]"])
    assert len(chunks) == total // 2


def test_truncate_ends_cleanly_before_the_finish_chunk_and_done() -> None:
    faulted = fault_stream(KINDS["truncate"], _plan(), timeout=1)
    assert faulted.plan is not None
    assert not any(isinstance(s, Disconnect) for s in faulted.plan.steps)
    data = _data(faulted.plan)
    assert "[DONE]" not in data
    assert all(c["choices"][0]["finish_reason"] is None for c in map(json.loads, data) if c["choices"])


def test_truncate_is_not_judged_on_a_stream_with_no_finish_chunk() -> None:
    call = Call.from_httpx(
        httpx.Request("POST", "https://api.writer.com/v1/graphs/question", json={"stream": True})
    )
    plan = QuestionScript().answer("Paris", " is").plan(call)
    faulted = fault_stream(KINDS["truncate"], plan, timeout=1)
    assert faulted.plan is None
    assert "no finish chunk" in faulted.note


def test_malformed_and_error_event_land_at_the_anchor() -> None:
    malformed = fault_stream(KINDS["malformed"], _plan(), timeout=1).plan
    assert malformed is not None
    assert b'data: {"id": \n\n' in malformed.body()
    assert malformed.body().endswith(b"data: [DONE]\n\n")
    error = fault_stream(KINDS["error-event"], _plan(), timeout=1).plan
    assert error is not None
    assert b"event: error\ndata: " in error.body()
    assert b"[DONE]" not in error.body()


def test_stall_pauses_for_the_timeout_then_cuts_and_counts_a_hang_only_when_waited_out() -> None:
    ended: list[bool] = []
    plan = fault_stream(KINDS["stall"], _plan(), timeout=5, on_stall_end=lambda: ended.append(True)).plan
    assert plan is not None
    steps = list(plan.steps)  # read all at once, in no time: no hang
    assert any(isinstance(s, Pause) and 5 <= s.seconds < 5.1 for s in steps)
    assert isinstance(steps[-1], Disconnect)
    assert ended == []


def test_harmless_kinds_keep_the_bytes_that_matter() -> None:
    plain = _plan()
    split = fault_stream(KINDS["split-utf8"], plain, timeout=1).plan
    assert split is not None
    assert split.body() == plain.body()
    writes = [s.data for s in split.steps if isinstance(s, Write)]
    assert any(w.endswith(b"\xe2") for w in writes)  # the snowman's first byte alone
    keep = fault_stream(KINDS["keep-alive"], plain, timeout=1).plan
    assert keep is not None
    assert keep.body().replace(b":\n\n", b"") == plain.body()
    crlf = fault_stream(KINDS["crlf"], plain, timeout=1).plan
    assert crlf is not None
    assert crlf.body().replace(b"\r\n", b"\n") == plain.body()


def test_replacing_kinds_and_a_non_stream_reply_are_left_to_the_injector() -> None:
    error = ResponsePlan(status=400, headers=(("content-type", "application/json"),), steps=(Write(b"{}"),))
    assert fault_stream(KINDS["disconnect"], error, timeout=1).plan is None

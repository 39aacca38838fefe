"""The in-process plan executor: each write its own piece, pauses counted against the read timeout, a declared length enforced, a refusal first."""

from __future__ import annotations

import httpx
import pytest
from recorded import SSE

from writer_stream_testkit.doubles.execute import body_steps, build_response, head_steps
from writer_stream_testkit.scripts.plan import Pause, ResponsePlan, Write


def request(read: float | None = 5.0) -> httpx.Request:
    timeout = httpx.Timeout(5.0, read=read)
    return httpx.Request("POST", "https://api.writer.com/v1/chat", extensions={"timeout": timeout.as_dict()})


def test_each_write_arrives_as_its_own_piece() -> None:
    plan = ResponsePlan(steps=(Write(b"data: a"), Write(b"\n\n"), Write(b""), Write(b"data: b\n\n")))
    assert list(build_response(plan, request()).iter_raw()) == [b"data: a", b"\n\n", b"data: b\n\n"]


def test_pauses_add_up_until_the_read_timeout_then_the_read_times_out() -> None:
    plan = ResponsePlan(steps=(Write(b"x"), Pause(0.3), Pause(0.3), Write(b"never")))
    steps = body_steps(plan, request(read=0.5), is_async=False)
    assert [next(steps), next(steps), next(steps)] == [b"x", 0.3, pytest.approx(0.2)]
    with pytest.raises(httpx.ReadTimeout, match="timed out"):
        next(steps)


def test_a_write_resets_the_read_timeout() -> None:
    plan = ResponsePlan(steps=(Pause(0.3), Write(b"x"), Pause(0.3), Write(b"y")))
    assert list(body_steps(plan, request(read=0.5), is_async=True)) == [0.3, b"x", 0.3, b"y"]


def test_no_read_timeout_means_a_pause_is_waited_in_full() -> None:
    plan = ResponsePlan(steps=(Pause(1000.0),))
    assert list(body_steps(plan, request(read=None), is_async=False)) == [1000.0]


def test_a_content_length_body_is_cut_to_length_and_fails_when_short() -> None:
    long = ResponsePlan(headers=(("content-length", "3"),), steps=(Write(b"ab"), Write(b"cdef")))
    assert list(build_response(long, request()).iter_raw()) == [b"ab", b"c"]
    short = ResponsePlan(headers=(("content-length", "10"),), steps=(Write(b"ab"),))
    with pytest.raises(httpx.RemoteProtocolError, match=r"\(received 2 bytes, expected 10\)"):
        list(build_response(short, request()).iter_raw())


def test_head_delay_past_the_read_timeout_times_out_after_the_timeout() -> None:
    steps = head_steps(ResponsePlan(head_delay=9.0), request(read=0.25), is_async=True)
    assert next(steps) == 0.25
    with pytest.raises(httpx.ReadTimeout):
        next(steps)
    assert list(head_steps(ResponsePlan(head_delay=0.1), request(read=0.25), is_async=True)) == [0.1]


def test_refused_connection_fails_before_anything_else() -> None:
    with pytest.raises(httpx.ConnectError, match="Connection refused"):
        list(head_steps(ResponsePlan(refuse=True, head_delay=1.0), request(), is_async=False))
    with pytest.raises(httpx.ConnectError, match="All connection attempts failed"):
        list(head_steps(ResponsePlan(refuse=True), request(), is_async=True))


def test_response_carries_the_request_and_chunked_framing() -> None:
    req = request()
    response = build_response(ResponsePlan(headers=SSE), req)
    assert response.request is req
    assert response.headers["transfer-encoding"] == "chunked"

"""``frame``: how a response's body is framed, the one decision both executors take."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from writer_stream_testkit.doubles.execute import build_response
from writer_stream_testkit.doubles.framing import declared_length, frame, informational_problem
from writer_stream_testkit.doubles.mock import WriterMock
from writer_stream_testkit.doubles.server import FakeWriterServer
from writer_stream_testkit.scripts.plan import ResponsePlan, Write


@pytest.mark.parametrize(
    ("value", "length"),
    [
        ("14", 14),
        (" 14 ", 14),
        ("0", 0),
        ("+14", None),
        ("1_4", None),
        ("-5", None),
        ("١٤", None),
        ("", None),
    ],
)
def test_only_plain_digits_are_a_content_length(value: str, length: int | None) -> None:
    assert declared_length([("Content-Length", value)]) == length


@pytest.mark.parametrize("status", [101, 103, 204, 304])
def test_1xx_204_and_304_have_no_body_and_no_framing_headers(status: int) -> None:
    framing = frame(
        status, [("content-length", "2"), ("transfer-encoding", "chunked"), ("x-a", "1")], method="GET"
    )
    assert framing.kind == "none"
    assert not framing.has_body
    assert framing.headers == (("x-a", "1"),)


def test_head_keeps_the_length_of_the_get_body_but_sends_none() -> None:
    framing = frame(200, [("x-a", "1"), ("Content-Length", " 9 ")], method="head")
    assert (framing.kind, framing.length) == ("none", 9)
    assert framing.headers == (("x-a", "1"), ("Content-Length", "9"))
    assert frame(200, [], method="HEAD").headers == ()


def test_a_declared_length_replaces_every_framing_header_in_place() -> None:
    headers = [("a", "1"), ("Transfer-Encoding", "chunked"), ("b", "2"), ("content-length", "5"), ("c", "3")]
    framing = frame(200, headers, method="POST")
    assert (framing.kind, framing.length) == ("length", 5)
    assert framing.headers == (("a", "1"), ("content-length", "5"), ("b", "2"), ("c", "3"))


def test_no_length_is_chunked_for_http_1_1_and_close_delimited_for_http_1_0() -> None:
    recorded = [("content-type", "text/event-stream"), ("Transfer-Encoding", "chunked"), ("x", "y")]
    chunked = frame(200, recorded, method="POST")
    assert chunked.kind == "chunked"
    assert chunked.headers == (
        ("content-type", "text/event-stream"),
        ("Transfer-Encoding", "chunked"),
        ("x", "y"),
    )
    assert frame(200, [("x", "y")], method="POST").headers == (("x", "y"), ("transfer-encoding", "chunked"))
    closed = frame(200, recorded, method="POST", http10=True)
    assert closed.kind == "close"
    assert closed.headers == (("content-type", "text/event-stream"), ("x", "y"))
    assert frame(200, [("content-length", "3")], method="GET", http10=True).kind == "length"


def test_an_unreadable_length_is_dropped_and_the_body_chunked() -> None:
    framing = frame(200, [("content-length", "+14")], method="GET")
    assert framing.kind == "chunked"
    assert framing.headers == (("transfer-encoding", "chunked"),)


@pytest.mark.parametrize("status", [100, 101, 103, 199])
def test_a_1xx_is_never_a_final_status(status: int) -> None:
    problem = informational_problem(status)
    assert problem is not None
    assert str(status) in problem
    assert informational_problem(200) is None
    assert informational_problem(599) is None


@pytest.mark.parametrize(
    ("status", "method", "body"), [(204, "GET", b""), (304, "GET", b""), (200, "HEAD", b"")]
)
def test_the_in_process_executor_sends_no_body_where_framing_says_none(
    status: int, method: str, body: bytes
) -> None:
    plan = ResponsePlan(status=status, headers=(("content-length", "2"),), steps=(Write(b"{}"),))
    response = build_response(plan, httpx.Request(method, "https://api.writer.com/v1/models"))
    assert response.read() == body


# --- differential: the mock and the server frame every plan alike -----------------------------------

_STATUSES = st.sampled_from([200, 201, 204, 304, 404, 500])
_LENGTHS = st.one_of(st.none(), st.integers(0, 12).map(str), st.sampled_from(["+3", "1_2", "-5", " 4 "]))
_PIECES = st.lists(st.binary(min_size=0, max_size=6), max_size=4)


def _outcome(http: httpx.Client, method: str) -> tuple[object, ...]:
    try:
        response = http.request(method, "/v1/models")
    except httpx.TransportError as exc:
        return (type(exc).__name__,)
    return (response.status_code, response.content, response.headers.get("content-length"))


def test_the_mock_and_the_server_frame_every_plan_alike() -> None:
    with WriterMock() as mock, FakeWriterServer() as server:
        clients = [httpx.Client(base_url=double.base_url, timeout=10.0) for double in (mock, server)]

        @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(status=_STATUSES, method=st.sampled_from(["GET", "HEAD"]), length=_LENGTHS, pieces=_PIECES)
        def check(status: int, method: str, length: str | None, pieces: list[bytes]) -> None:
            headers = (("x-kind", "differential"),) + (
                (("content-length", length),) if length is not None else ()
            )
            plan = ResponsePlan(status=status, headers=headers, steps=tuple(Write(p) for p in pieces))
            outcomes = []
            for double, http in zip((mock, server), clients, strict=True):
                double.reset()
                double.reply(plan, path="/v1/models", method=method)
                outcomes.append(_outcome(http, method))
            assert outcomes[0] == outcomes[1]

        try:
            check()
        finally:
            for http in clients:
                http.close()

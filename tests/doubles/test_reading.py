"""Reading one request off a connection (doubles/reading.py): the plain reader, and h11 for the rest."""

from __future__ import annotations

import asyncio
from typing import Any

import h11
import pytest

from writer_stream_testkit.doubles.reading import Handover, RequestReader, declared_length
from writer_stream_testkit.scripts.plan import ResponsePlan, error_plan
from writer_stream_testkit.wire.call import Call

BASE = "http://127.0.0.1:9"
CHAT = (
    b"POST /v1/chat HTTP/1.1\r\nHost: 127.0.0.1:9\r\nContent-Length: 2\r\nAuthorization: Bearer k\r\n\r\n{}"
)


def reader_of(*pieces: bytes, eof: bool = True) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    for piece in pieces:
        reader.feed_data(piece)
    if eof:
        reader.feed_eof()
    return reader


def reading(*, live: bool = False, max_body_size: int | None = None) -> tuple[RequestReader, list[Any]]:
    refused: list[Any] = []

    def reject(call: Call, status: int, problem: str) -> ResponsePlan:
        refused.append((call.method, call.path, status, problem))
        return error_plan(status, problem)

    return RequestReader(BASE, max_body_size, live, reject), refused


def read_simple(rr: RequestReader, *pieces: bytes, eof: bool = True, data: bytes = b"") -> Any:
    """``rr.read_simple`` on a connection that delivers ``pieces`` (then ends, with ``eof``)."""

    async def main() -> Any:
        return await rr.read_simple(reader_of(*pieces, eof=eof), data)

    return asyncio.run(main())


def test_a_plain_request_is_read_whole_with_what_follows_it_kept() -> None:
    rr, _ = reading()
    got = read_simple(rr, CHAT + b"GET /v1/mo")
    assert not isinstance(got, Handover)
    call, rest = got
    assert (call.method, call.url, call.content) == ("POST", f"{BASE}/v1/chat", b"{}")
    assert call.headers["authorization"] == "Bearer k"
    assert rest == b"GET /v1/mo"  # the next, pipelined request's start


def test_a_request_arriving_byte_by_byte_is_read_the_same() -> None:
    rr, _ = reading()
    call, rest = read_simple(rr, *(CHAT[i : i + 1] for i in range(len(CHAT))))
    assert (call.path, call.content, rest) == ("/v1/chat", b"{}", b"")


def test_a_clean_end_between_requests_is_none() -> None:
    rr, _ = reading()
    assert read_simple(rr) is None


@pytest.mark.parametrize(
    "head",
    [
        b"POST /v1/chat HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
        b"POST /v1/chat HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST /v1/chat HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
        b"POST http://h/v1/chat HTTP/1.1\r\nHost: h\r\n\r\n",
    ],
    ids=["http-1.0", "chunked", "100-continue", "absolute-form"],
)
def test_anything_but_a_plain_request_is_handed_to_h11_with_every_byte(head: bytes) -> None:
    rr, _ = reading()
    got = read_simple(rr, head, eof=False)
    assert got == Handover(head, ended=False)


def test_a_live_source_hands_every_request_to_h11_before_reading() -> None:
    rr, _ = reading(live=True)
    assert read_simple(rr, CHAT, data=b"left over") == Handover(b"left over", ended=False)


def test_a_body_over_the_limit_goes_to_h11_which_refuses_it() -> None:
    rr, _ = reading(max_body_size=1)
    assert read_simple(rr, CHAT, eof=False) == Handover(CHAT, ended=False)


def test_a_body_cut_short_goes_to_h11_with_the_end_of_the_connection() -> None:
    rr, _ = reading()
    assert read_simple(rr, CHAT[:-1]) == Handover(CHAT[:-1], ended=True)


def test_h11_reads_a_chunked_body_whole() -> None:
    rr, _ = reading()
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(
        b"POST /v1/files HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    )

    async def main() -> Call | None:
        writer: Any = None  # nothing is written for a request read whole
        return await rr.read_request(conn, reader_of(), writer)

    call = asyncio.run(main())
    assert call is not None
    assert (call.method, call.url, call.content) == ("POST", f"{BASE}/v1/files", b"abcde")


@pytest.mark.parametrize(
    ("method", "target", "url"),
    [
        (b"POST", b"/v1/chat?x=1", f"{BASE}/v1/chat?x=1"),
        (b"POST", b"http://api.writer.com/v1/chat?x=1", f"{BASE}/v1/chat?x=1"),
        (b"GET", b"https://api.writer.com", f"{BASE}/"),
        (b"CONNECT", b"api.writer.com:443", f"{BASE}/api.writer.com:443"),
        (b"OPTIONS", b"*", f"{BASE}/*"),
    ],
    ids=["origin", "absolute", "absolute-no-path", "connect-authority", "asterisk"],
)
def test_every_request_target_form_is_a_url_on_this_server(method: bytes, target: bytes, url: str) -> None:
    rr, _ = reading()
    headers = [("Host", "h")] if method != b"CONNECT" else [("Host", "api.writer.com:443")]
    assert rr.url(h11.Request(method=method, target=target, headers=headers)) == url


def test_the_declared_length_is_read_from_the_head() -> None:
    with_length = h11.Request(method="POST", target="/", headers=[("Host", "h"), ("Content-Length", "12")])
    assert declared_length(with_length) == 12
    assert declared_length(h11.Request(method="GET", target="/", headers=[("Host", "h")])) is None

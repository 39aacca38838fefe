"""Writing a response onto the connection: a refusal is a TCP reset, a cut mid-chunk leaves half an event, each write is its own piece, a declared length cuts the body."""

from __future__ import annotations

import itertools
import socket

import httpx
import pytest
from rawhttp import (
    SCRIPT,
    chat_body,
    raw_stream,
    read_until_closed,
)

from writer_stream_testkit.doubles.server import FakeWriterServer
from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.scripts.faults import Fault
from writer_stream_testkit.scripts.plan import Disconnect, ResponsePlan, Write


def test_connection_refused_is_a_tcp_reset_after_the_request(server: FakeWriterServer) -> None:
    server.reply(Fault.connection_refused())
    request = (
        b"POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=5.0) as sock:
        sock.sendall(request)
        with pytest.raises(ConnectionResetError):
            read_until_closed(sock)


def test_disconnect_mid_chunk_leaves_half_an_event_on_the_wire(server: FakeWriterServer) -> None:
    server.reply(SCRIPT.with_fault(Fault.disconnect(after_chunks=1, mid_chunk=True)))
    result = raw_stream(server, chat_body())
    first, second = SCRIPT.sse().split(b"\n\n")[:2]
    assert result.body == first + b"\n\n" + second[: (len(second) + 2) // 2]
    assert isinstance(result.error, httpx.RemoteProtocolError)


@pytest.mark.parametrize(
    "fault",
    [
        Fault.split(sizes=[40, 25]),
        Fault.keep_alive(every=1),
        Fault.disconnect(after_chunks=2, mid_chunk=True),
    ],
    ids=["split", "keep_alive", "disconnect_mid_chunk"],
)
def test_each_write_arrives_as_its_own_piece_after_its_pause(server: FakeWriterServer, fault: Fault) -> None:
    pause = 0.05
    script = StreamScript().content("Hi").content(" there").with_fault(fault, Fault.delay(each=pause))
    server.reply(script)
    result = raw_stream(server, chat_body())
    writes = list(script.plan(server.calls[0]).writes())
    assert b"".join(result.pieces) == b"".join(writes)
    # TCP may hand a reader that fell behind two writes at once, but never half of one:
    # every boundary the client saw is a write boundary, and the pauses all happened.
    seen = set(itertools.accumulate(len(p) for p in result.pieces))
    assert seen <= set(itertools.accumulate(len(w) for w in writes))
    assert result.times[-1] >= pause * 0.8 * len(writes)  # times count from the request


def test_plans_with_a_declared_length_are_cut_to_it(server: FakeWriterServer) -> None:
    plan = ResponsePlan(
        status=200,
        headers=(("content-type", "application/json"), ("content-length", "10")),
        steps=(Write(b"0123456789abcdef"),),
    )
    short = ResponsePlan(
        status=200, headers=(("content-length", "10"),), steps=(Write(b"01234"), Disconnect())
    )
    server.reply(plan).reply(short)
    with httpx.Client(base_url=server.base_url, timeout=5.0) as client:
        assert client.post("/v1/chat", json=chat_body()).content == b"0123456789"
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/v1/chat", json=chat_body())

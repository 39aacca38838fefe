"""Bounds on what the fake server holds: request bodies, its request history, and each response.

Issue 15, item 6: a 400 MB body peaked at 1.85 GB, every ``Call`` was kept for the
server's life, and each response was built whole before its first byte. Memory is
measured with ``tracemalloc`` (every thread of this process, the server's included)
on bodies several times the bound, so a regression fails by a wide margin and fast.
"""

from __future__ import annotations

import gc
import itertools
import json
import socket
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from costutil import memory_growth
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from writer_stream_testkit import cli
from writer_stream_testkit.doubles.mock import WriterMock
from writer_stream_testkit.doubles.server import DEFAULT_MAX_BODY_SIZE, FakeWriterServer
from writer_stream_testkit.errors import ScriptError, UnexpectedRequestError
from writer_stream_testkit.scripts.application import ApplicationScript
from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.scripts.completion import CompletionScript
from writer_stream_testkit.scripts.faults import Disconnect as FaultDisconnect
from writer_stream_testkit.scripts.faults import Fault, Split
from writer_stream_testkit.scripts.plan import LazySteps, Write
from writer_stream_testkit.scripts.question import QuestionScript
from writer_stream_testkit.wire.call import Call

MiB = 1024 * 1024
CHUNKS = 800
PIECE = "word " * 600  # 3,000 characters: 800 chunks make an SSE body of about 2.5 MB


def chat_body(**extra: Any) -> dict[str, Any]:
    return {"model": "palmyra-x5", "stream": True, "messages": [{"role": "user", "content": "Hi"}], **extra}


def peak_bytes(work: Callable[[], object]) -> int:
    """The most memory ``work`` had allocated at once, above what existed before it started."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        work()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


# --- request bodies -----------------------------------------------------------------------------


def test_the_default_body_limit_is_32_mib() -> None:
    assert 32 * MiB == DEFAULT_MAX_BODY_SIZE
    assert FakeWriterServer().max_body_size == DEFAULT_MAX_BODY_SIZE


def _post_raw(port: int, head: bytes, body: Iterator[bytes]) -> bytes:
    """Send a request from a bare socket (no client library to copy the body) and read the reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=10.0) as sock:
        sock.sendall(head)
        for piece in body:
            sock.sendall(piece)
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_body_over_the_limit_gets_a_413_and_is_never_held(framing: str) -> None:
    piece = b"x" * 65536
    pieces = 128  # 8 MiB
    head = b"POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    if framing == "content-length":
        head += b"Content-Length: %d\r\n\r\n" % (len(piece) * pieces)
        body: Iterator[bytes] = (piece for _ in range(pieces))
    else:
        head += b"Transfer-Encoding: chunked\r\n\r\n"
        frame = b"%x\r\n%b\r\n" % (len(piece), piece)
        body = itertools.chain((frame for _ in range(pieces)), [b"0\r\n\r\n"])
    with FakeWriterServer(max_body_size=64 * 1024) as server:
        replies: list[bytes] = []
        peak = peak_bytes(lambda: replies.append(_post_raw(server.port, head, body)))
        (reply,) = replies
        response_head, _, content = reply.partition(b"\r\n\r\n")
        assert response_head.startswith(b"HTTP/1.1 413 ")
        assert b"\r\nconnection: close" in response_head.lower()
        description = json.loads(content)["errors"][0]["description"]
        assert "max_body_size of 65,536 bytes" in description
        assert "FakeWriterServer(max_body_size=...)" in description
        with pytest.raises(UnexpectedRequestError, match="max_body_size"):
            server.verify()
        server.reset()
    assert peak < 2 * MiB, f"refusing an 8 MiB body peaked at {peak / MiB:.1f} MiB"


def test_httpx_reads_the_413_for_a_body_over_the_limit() -> None:
    with FakeWriterServer(max_body_size=1000) as server:
        with httpx.Client(base_url=server.base_url, timeout=10.0) as client:
            response = client.post("/v1/chat", json=chat_body(pad="x" * 300_000))
        assert server.replies.rejected
        server.reset()
    assert response.status_code == 413
    assert response.json()["tpe"] == "PayloadTooLarge"


def test_a_body_at_the_limit_is_served() -> None:
    body = json.dumps(chat_body()).encode()
    with FakeWriterServer(max_body_size=len(body)) as server:
        server.reply(StreamScript().content("fits"))
        with httpx.Client(base_url=server.base_url, timeout=10.0) as client:
            response = client.post("/v1/chat", content=body)
    assert response.status_code == 200
    assert b"fits" in response.content


def test_expect_100_continue_with_a_body_too_large_gets_the_413_instead_of_100() -> None:
    with FakeWriterServer(max_body_size=1000) as server:
        head = (
            b"POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000000000\r\nExpect: 100-continue\r\n\r\n"
        )
        with socket.create_connection(("127.0.0.1", server.port), timeout=5.0) as sock:
            sock.sendall(head)
            sock.shutdown(socket.SHUT_WR)
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
        server.reset()
    assert received.startswith(b"HTTP/1.1 413 ")
    assert b"declares 1,000,000,000 bytes" in received


def test_max_body_size_must_be_a_byte_count() -> None:
    with pytest.raises(ValueError, match="max_body_size=-1"):
        FakeWriterServer(max_body_size=-1)


# --- history ------------------------------------------------------------------------------------


def test_history_keeps_the_last_requests_and_counts_them_all() -> None:
    with FakeWriterServer(history=2) as server:
        server.reply(StreamScript().content("x"), times=3)
        with httpx.Client(base_url=server.base_url, timeout=10.0) as client:
            for n in range(3):
                client.post("/v1/chat", json=chat_body(n=n))
        assert [call.json["n"] for call in server.calls] == [1, 2]
        assert server.replies.received == 3


def test_history_bounds_memory_over_many_large_requests() -> None:
    pad = "x" * 40_000
    with FakeWriterServer(history=3, source=_Always()) as server:
        with httpx.Client(base_url=server.base_url, timeout=10.0) as client:
            client.post("/v1/chat", json=chat_body(pad=pad))  # warm-up: connection, imports

            def many() -> None:
                for _ in range(100):  # 4 MB of bodies
                    client.post("/v1/chat", json=chat_body(pad=pad))

            tracemalloc.start()
            try:
                base = tracemalloc.get_traced_memory()[0]
                many()
                gc.collect()  # the client's finished requests sit in reference cycles until then
                kept = tracemalloc.get_traced_memory()[0] - base
            finally:
                tracemalloc.stop()
        assert server.replies.received == 101
    assert kept < 2 * MiB, f"100 requests of 40 KB left {kept / MiB:.1f} MiB behind"


def test_history_must_be_a_positive_count() -> None:
    with pytest.raises(ScriptError, match="history of 0 requests"):
        FakeWriterServer(history=0)


def test_serve_keeps_a_bounded_history_and_limits_bodies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "s.yaml"
    script.write_text(StreamScript().content("hi").to_yaml(), encoding="utf-8")
    built: list[FakeWriterServer] = []
    monkeypatch.setattr(cli.serve, "run_until_stopped", lambda server, *_: built.append(server) or 0)
    assert cli.main(["serve", "--port", "0", "--script", str(script)]) == 0
    assert (
        cli.main(["serve", "--port", "0", "--script", str(script), "--history", "7", "--max-body-size", "9"])
        == 0
    )
    default, chosen = built
    assert (default.replies.history, default.max_body_size) == (cli.SERVE_HISTORY, DEFAULT_MAX_BODY_SIZE)
    assert (chosen.replies.history, chosen.max_body_size) == (7, 9)


class _Always:
    """Answers every request with one short stream, as ``serve --script`` does."""

    def take(self, call: Call) -> Any:
        return StreamScript().content("ok").plan(call)


# --- responses ----------------------------------------------------------------------------------


def big_script() -> StreamScript:
    return StreamScript().content(*[PIECE] * CHUNKS)


STREAM_CALL = Call.create(
    method="POST", url="http://127.0.0.1/v1/chat", headers=[], content=json.dumps(chat_body()).encode()
)


@pytest.mark.parametrize(
    "faults",
    [
        (),
        (Fault.split(sizes=[700, 30_000]),),
        (Fault.keep_alive(every=3), Fault.disconnect(after_chunks=CHUNKS - 1)),
    ],
    ids=["plain", "split", "keep_alive+disconnect"],
)
def test_a_plan_renders_as_it_is_read(faults: tuple[Fault, ...]) -> None:
    script = big_script().with_fault(*faults) if faults else big_script()
    sent = [0]

    def render() -> None:
        plan = script.plan(STREAM_CALL)
        assert isinstance(plan.steps, LazySteps)
        sent[0] = sum(len(step.data) for step in plan.steps if isinstance(step, Write))

    peak = peak_bytes(render)
    assert sent[0] > 2 * MiB
    assert peak < 1 * MiB, f"rendering a {sent[0] / MiB:.1f} MB plan peaked at {peak / MiB:.1f} MiB"


def _long_script(kind: str, n: int) -> Any:
    pieces = ["word "] * n
    if kind == "chat":
        return StreamScript().content(*pieces)
    if kind == "completion":
        return CompletionScript().text(*pieces)
    if kind == "question":
        return QuestionScript().answer(*pieces)
    return ApplicationScript().stage("s1", "Searching").content(*pieces)


def _stream_call(kind: str) -> Call:
    paths = {
        "chat": "chat",
        "completion": "completions",
        "question": "graphs/question",
        "application": "applications/a1",
    }
    body = {**chat_body(), "question": "Why?"}
    return Call.create(
        method="POST", url=f"http://127.0.0.1/v1/{paths[kind]}", headers=[], content=json.dumps(body).encode()
    )


@pytest.mark.parametrize("kind", ["chat", "completion", "question", "application"])
def test_every_script_kind_makes_its_chunks_one_at_a_time(kind: str) -> None:
    """The first write of a stream costs the same memory whatever the stream's length (issue 20, item 19)."""
    call = _stream_call(kind)

    def make(n: int) -> Callable[[], object]:
        script = _long_script(kind, n)
        return lambda: next(iter(script.plan(call).steps))

    assert memory_growth(make, 5_000) < 1.5  # one chunk at a time: about 1; the whole stream: about 4


def test_the_mock_streams_a_large_script_without_holding_it() -> None:
    script = big_script()
    sent = [0]

    def stream() -> None:
        with WriterMock() as mock, httpx.Client() as client:
            mock.reply(script)
            with client.stream("POST", "https://api.writer.com/v1/chat", json=chat_body()) as response:
                sent[0] = sum(len(piece) for piece in response.iter_raw())

    peak = peak_bytes(stream)
    assert sent[0] > 2 * MiB
    assert peak < 2 * MiB, (
        f"streaming {sent[0] / MiB:.1f} MB through WriterMock peaked at {peak / MiB:.1f} MiB"
    )


def test_the_server_streams_large_scripts_to_concurrent_clients_without_holding_them() -> None:
    script = big_script()
    with FakeWriterServer(source=_Same(script)) as server:
        sent: list[int] = []

        def stream() -> None:
            with (
                httpx.Client(base_url=server.base_url, timeout=30.0) as first,
                httpx.Client(base_url=server.base_url, timeout=30.0) as second,
                first.stream("POST", "/v1/chat", json=chat_body()) as a,
                second.stream("POST", "/v1/chat", json=chat_body()) as b,
            ):
                pieces_a, pieces_b = a.iter_raw(), b.iter_raw()
                total = 0
                for piece in pieces_a:  # both responses open at once, read in turn
                    total += len(piece) + len(next(pieces_b, b""))
                total += sum(len(piece) for piece in pieces_b)
                sent.append(total)

        peak = peak_bytes(stream)
    assert sent[0] > 4 * MiB
    assert peak < 3 * MiB, f"two concurrent {sent[0] / 2 / MiB:.1f} MB streams peaked at {peak / MiB:.1f} MiB"


class _Same:
    def __init__(self, script: StreamScript) -> None:
        self._script = script

    def take(self, call: Call) -> Any:
        return self._script.plan(call)


# --- the lazy renderer keeps the eager contract ------------------------------------------------

TEXTS = st.lists(st.sampled_from(["Hi", "h\u00e9llo", " \u2603", "a\r\nb", "x" * 70]), max_size=5)


@st.composite
def fault_sets(draw: st.DrawFn) -> list[Fault]:
    """Content faults, a disconnect, and at least one split: everything but pauses."""
    n = draw(st.integers(0, 6))
    faults: list[Fault] = [
        draw(
            st.sampled_from(
                [
                    Fault.split(sizes=draw(st.lists(st.integers(1, 90), min_size=1, max_size=3))),
                    Fault.split_mid_utf8(),
                    Fault.split_mid_crlf(),
                ]
            )
        )
    ]
    for _ in range(draw(st.integers(0, 3))):
        faults.append(
            draw(
                st.sampled_from(
                    [
                        Fault.keep_alive(every=draw(st.integers(1, 3))),
                        Fault.malformed_chunk(after_chunks=min(n, draw(st.integers(0, 6)))),
                        Fault.error_event(after_chunks=min(n, draw(st.integers(0, 6)))),
                        Fault.missing_done(),
                        Fault.data_after_done(),
                        Fault.disconnect(
                            after_chunks=min(n, draw(st.integers(0, 6))), mid_chunk=draw(st.booleans())
                        ),
                        Fault.split(sizes=[draw(st.integers(1, 200))]),
                    ]
                )
            )
        )
    return faults


@settings(max_examples=60, deadline=None)
@given(texts=TEXTS, faults=fault_sets())
def test_splits_rendered_block_by_block_cut_where_split_boundaries_says(
    texts: list[str], faults: list[Fault]
) -> None:
    """Splits move only write boundaries, to exactly ``Split.boundaries`` of the whole body.

    ``Split.boundaries`` works on the whole body at once, the way plans were built before
    they were rendered as sent, so it is an independent oracle for the streaming cuts.
    """
    script = StreamScript().content(*texts) if texts else StreamScript()
    chunk_count = len(script.chunks())
    assume(all(not hasattr(f, "after_chunks") or f.after_chunks <= chunk_count for f in faults))
    splits = [f for f in faults if isinstance(f, Split)]
    others = [f for f in faults if not isinstance(f, Split)]
    if any(s.mid_crlf for s in splits):
        others.append(Fault.crlf())
    try:
        plan = script.with_fault(*faults).stream_plan()
        writes = list(plan.writes())
    except ScriptError:
        assume(False)
    unsplit = script.with_fault(*others).stream_plan() if others else script.stream_plan()
    whole = (
        script.with_fault(*[f for f in others if not isinstance(f, FaultDisconnect)]).stream_plan()
        if others
        else script.stream_plan()
    ).body()
    body = unsplit.body()
    assert b"".join(writes) == body
    assert plan.completes == unsplit.completes
    cuts = set(itertools.accumulate(len(w) for w in writes[:-1]))
    expected = {b for split in splits for b in split.boundaries(whole)}
    assert cuts == {b for b in expected if 0 < b < len(body)}
    assert plan.steps == tuple(plan.steps)  # rendered afresh, the same each time

#!/usr/bin/env python3
"""Replaying a 10,000-event cassette over a socket, beside a bare ``httpx.MockTransport``.

``FakeWriterServer(cassette=...)`` (what ``serve --cassettes`` runs) replays the
recording from its own process; the same ``writerai`` client reads it over
127.0.0.1. The rival is that client reading the very same reads from a bare
``httpx.MockTransport`` in-process, with no socket, no HTTP and no cassette.

A third figure is the floor any server can reach: a bare socket server
(``_raw_wire_server.py``) that sends the same response, framed in advance, in one
``sendall``. What separates it from the bare transport is the client's own HTTP
stack (httpcore, and h11 parsing one chunk per recorded read, which is what keeps
the read boundaries exact), not the server.

Target: socket replay costs <= 1.15x the bare transport, in the **client's CPU
time** (``time.process_time`` of this process; the server's CPU is its own
process's). Each side runs once untimed, then they alternate for several rounds
with the collector paused inside a run, and each figure is the best of its runs.
Wall time is printed beside it, for information. A fourth figure runs the server
in this process, as a test does (``with FakeWriterServer(cassette=...)``), so its
CPU counts too; it is printed for information. Exit status 1 when over target
and more than 5% above the floor (the part a server controls).

Run: ``python benchmarks/bench_socket_replay.py``
"""

from __future__ import annotations

import functools
import gc
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import writerai
from _server_process import server_process

from writer_stream_testkit.cassettes.cassette import Cassette
from writer_stream_testkit.cassettes.load import load_cassette
from writer_stream_testkit.doubles.server import FakeWriterServer
from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.scripts.plan import ResponsePlan
from writer_stream_testkit.wire.call import Call

EVENTS = 10_000
MESSAGES = [{"role": "user", "content": "Count to ten thousand."}]
KEY = "sk-bench-0000000000"
RUNS = 9
TARGET = 1.15
FLOOR_SLACK = 1.05
"""Socket replay within 5% of the floor counts as at the floor (the run-to-run noise of CPU time)."""


class _Always:
    """A reply source that answers every request with the same 10,000-event stream."""

    def __init__(self) -> None:
        self._script = StreamScript().content(*[f"word{i} " for i in range(EVENTS - 2)]).finish()

    def take(self, call: Call) -> ResponsePlan:
        return self._script.plan(call)


def drain(client: writerai.Writer) -> int:
    stream = client.chat.chat(model="palmyra-x5", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
    return sum(1 for _ in stream)


def timed(work: Callable[[], object]) -> tuple[float, float]:
    """One run of ``work``: (wall, CPU) seconds, collected first, no GC pauses inside."""
    gc.collect()
    gc.disable()
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        return time.perf_counter() - wall, time.process_time() - cpu
    finally:
        gc.enable()


def best_of(runs: int, *works: Callable[[], object]) -> list[tuple[float, float]]:
    for work in works:
        timed(work)
    best = [(float("inf"), float("inf"))] * len(works)
    for round_ in range(runs):
        order = list(enumerate(works))
        if round_ % 2:
            order.reverse()
        for i, work in order:
            wall, cpu = timed(work)
            best[i] = (min(best[i][0], wall), min(best[i][1], cpu))
    return best


def record(path: Path) -> None:
    with server_process(_Always) as base_url, Cassette(path, record_mode="rewrite", upstream=base_url):
        drain(writerai.Writer(api_key=KEY, max_retries=0))


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.yaml"
        try:
            record(path)
            (interaction,) = load_cassette(path).interactions
            reads = [data for data, _ in interaction.response.reads()]

            def handler(request: httpx.Request) -> httpx.Response:
                return httpx.Response(
                    200, headers={"content-type": "text/event-stream"}, stream=_Reads(reads), request=request
                )

            bare = writerai.Writer(
                api_key=KEY, max_retries=0, http_client=httpx.Client(transport=httpx.MockTransport(handler))
            )
            wire = Path(tmp) / "wire"
            head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
            wire.write_bytes(head + b"".join(b"%x\r\n%b\r\n" % (len(r), r) for r in reads) + b"0\r\n\r\n")
            source = functools.partial(Cassette, path, allow_playback_repeats=True)
            floor_server = subprocess.Popen(
                [sys.executable, str(Path(__file__).with_name("_raw_wire_server.py")), str(wire)],
                stdout=subprocess.PIPE,
                text=True,
            )
            try:
                assert floor_server.stdout is not None
                port = int(floor_server.stdout.readline())
                floor = writerai.Writer(api_key=KEY, base_url=f"http://127.0.0.1:{port}", max_retries=0)
                with server_process(source) as base_url, FakeWriterServer(source=source()) as here:
                    socket = writerai.Writer(api_key=KEY, base_url=base_url, max_retries=0)
                    inside = writerai.Writer(api_key=KEY, base_url=here.base_url, max_retries=0)
                    events = drain(socket)
                    bare_time, socket_time, floor_time, inside_time = best_of(
                        RUNS,
                        lambda: drain(bare),
                        lambda: drain(socket),
                        lambda: drain(floor),
                        lambda: drain(inside),
                    )
            finally:
                floor_server.kill()
                floor_server.wait()
        except TimeoutError as exc:
            print(exc)
            return 1
    ratio_cpu = socket_time[1] / bare_time[1]
    ratio_wall = socket_time[0] / bare_time[0]
    print(f"cassette: {events:,} events in {len(reads):,} reads; best of {RUNS}, GC paused")
    print("                                          wall s    CPU s")
    print(f"{'bare httpx.MockTransport':<40} {bare_time[0]:8.3f} {bare_time[1]:8.3f}")
    print(f"{'FakeWriterServer(cassette=) socket':<40} {socket_time[0]:8.3f} {socket_time[1]:8.3f}")
    print(f"{'floor: pre-framed bytes, bare socket':<40} {floor_time[0]:8.3f} {floor_time[1]:8.3f}")
    print(f"{'server in this process (client+server)':<40} {inside_time[0]:8.3f} {inside_time[1]:8.3f}")
    floor_ratio = floor_time[1] / bare_time[1]
    verdict = (
        "OK"
        if ratio_cpu <= TARGET
        else "NOT MET, at the floor"
        if socket_time[1] <= floor_time[1] * FLOOR_SLACK
        else "OVER"
    )
    print(
        f"socket replay / bare: {ratio_cpu:.2f}x client CPU (target <= {TARGET}x) {verdict}; "
        f"{ratio_wall:.2f}x wall (for information)"
    )
    print(
        f"server in the test's own process / bare: {inside_time[1] / bare_time[1]:.2f}x CPU of client and "
        "server together (how a test runs it; for information)"
    )
    print(
        f"floor / bare: {floor_ratio:.2f}x client CPU: no server can go below this "
        f"(socket replay is {socket_time[1] / floor_time[1]:.2f}x the floor)"
    )
    # The exit status gates what the server controls: its distance from the floor.
    return 0 if ratio_cpu <= TARGET or socket_time[1] <= floor_time[1] * FLOOR_SLACK else 1


class _Reads(httpx.SyncByteStream):
    def __init__(self, reads: list[bytes]) -> None:
        self._reads = reads

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._reads)


if __name__ == "__main__":
    sys.exit(main())

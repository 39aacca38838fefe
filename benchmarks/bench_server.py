#!/usr/bin/env python3
"""``FakeWriterServer`` under load beside a plain ``node:http`` SSE server, on 127.0.0.1 only.

Each server runs in its own process and gets the same load from the same Python
client: 200 concurrent streams of 200 chunks each (5 async httpx clients). Every
chunk carries its stream's id and a sequence number, so a chunk lost, duplicated,
reordered or delivered to the wrong stream is counted.

The gate is the **server's CPU time per event** (``utime + stime`` of the server
process from ``/proc/PID/stat`` across one load round, divided by the events
sent): the machine is shared, so wall time and throughput move with other
programs' load, while a process's CPU time counts only its own work. Rounds
alternate between the servers and each figure is the best of its rounds.

* Target: FakeWriterServer's CPU per event <= 2x the Node server's (aim: parity),
  nothing lost, and a first-byte p99 no worse than the baseline's when one is given.
* First byte is measured by a probe: a light client in its own process sends 100 short
  streams one after another while the load runs, and times each to its first body
  byte. The load client's own first-byte times are printed too ("load p50/p99"), but
  they measure that client more than the server: it is saturated (every server here
  outruns it), and it parses all the bytes one read holds before it gets back to its
  other streams, so the faster a server delivers, the later some of its streams
  notice their first byte.
* The Node server (``node_sse_server.mjs``) does the same work: parse the request,
  ``JSON.stringify`` each chunk, one ``res.write`` per event, waiting for ``drain``.
  Without ``node`` on PATH (or ``/usr/bin/node``) that comparison is skipped, saying so.
* ``BENCH_SERVER_BASELINE=/path/to/checkout`` also measures the server from another
  checkout (say, main) in the same run, as "baseline".

Then one client reads one stream of 100,000 chunks from FakeWriterServer (throughput,
for information). Exit status 1 when anything was lost or a target was missed.

Run: ``python benchmarks/bench_server.py``
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from writer_stream_testkit.wire.sse import DONE_DATA, SSEDecoder

HERE = Path(__file__).resolve().parent
STREAMS = 200
CHUNKS_PER_STREAM = 200
CLIENTS = 5
ROUNDS = 3
PROBES = 100
LONG_STREAM_CHUNKS = 100_000
OVERALL_TIMEOUT = 240.0
TARGET_RATIO = 2.0


@dataclass
class StreamResult:
    first_byte: float
    received: int
    problems: int


@dataclass
class Round:
    cpu_per_event: float  # seconds
    first_byte_p50: float  # ms, seen by the load client
    first_byte_p99: float  # ms, seen by the load client
    probe_p50: float  # ms, seen by the probe process
    probe_p99: float  # ms, seen by the probe process
    wall: float  # s
    received: int
    problems: int


async def read_stream(client: httpx.AsyncClient, stream_id: str, expected: int) -> StreamResult:
    """Read one stream; count every chunk that is not the next one expected for this stream."""
    decoder = SSEDecoder()
    started = time.perf_counter()
    first_byte = 0.0
    received = problems = 0
    done = False
    body = {"model": "palmyra-x5", "stream": True, "stream_id": stream_id, "chunks": expected, "messages": []}
    async with client.stream("POST", "/v1/chat", json=body) as response:
        response.raise_for_status()
        async for data in response.aiter_raw():
            if not first_byte:
                first_byte = time.perf_counter() - started
            for event in decoder.feed(data):
                if event.data == DONE_DATA:
                    done = True
                    continue
                chunk = json.loads(event.data)
                seq = int(chunk["choices"][0]["delta"]["content"])
                if done or chunk["id"] != stream_id or seq != received:
                    problems += 1
                received += 1
    problems += abs(expected - received) + (not done)
    return StreamResult(first_byte, received, problems)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far, from ``/proc/PID/stat`` (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def probe(base_url: str, go: asyncio.Event) -> list[float]:
    """Run ``_probe_first_byte.py`` beside the load: its first-byte times, in ms."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(HERE / "_probe_first_byte.py"),
        base_url,
        str(PROBES),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    await go.wait()
    process.stdin.write(b"go\n")
    await process.stdin.drain()
    out = await process.stdout.read()
    await process.wait()
    return [seconds * 1000 for seconds in json.loads(out)]


async def load_round(base_url: str, pid: int) -> Round:
    go = asyncio.Event()
    probing = asyncio.ensure_future(probe(base_url, go))
    await asyncio.sleep(1.0)  # the probe process starts (imports httpx) before the load does
    per_client = STREAMS // CLIENTS
    limits = httpx.Limits(max_connections=per_client, max_keepalive_connections=per_client)
    timeout = httpx.Timeout(60.0, connect=30.0, pool=60.0)
    clients = [httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout) for _ in range(CLIENTS)]
    try:
        cpu_before = cpu_seconds(pid)
        started = time.perf_counter()
        go.set()
        results = await asyncio.gather(
            *(read_stream(clients[i % CLIENTS], f"stream-{i}", CHUNKS_PER_STREAM) for i in range(STREAMS))
        )
        elapsed = time.perf_counter() - started
        cpu = cpu_seconds(pid) - cpu_before
        probes = await probing
    finally:
        for client in clients:
            await client.aclose()
        probing.cancel()
    # The probes' few short streams ride along in the same CPU window, for every server alike.
    events = STREAMS * (CHUNKS_PER_STREAM + 1)
    received = sum(r.received for r in results)
    firsts = [r.first_byte * 1000 for r in results]
    return Round(
        cpu_per_event=cpu / events,
        first_byte_p50=statistics.median(firsts),
        first_byte_p99=percentile(firsts, 99),
        probe_p50=statistics.median(probes),
        probe_p99=percentile(probes, 99),
        wall=elapsed,
        received=received,
        problems=sum(r.problems for r in results),
    )


@contextlib.contextmanager
def server(command: list[str], name: str) -> Iterator[tuple[str, int]]:
    """Start a server process that prints its base URL first; stop it by closing its stdin."""
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"FAILED: the {name} server did not start (it printed {url!r}).")
        yield url, process.pid
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def node_binary() -> str | None:
    found = shutil.which("node")
    if found is None and Path("/usr/bin/node").exists():
        found = "/usr/bin/node"
    return found


async def one_long_stream(base_url: str) -> int:
    async with httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(60.0)) as client:
        started = time.perf_counter()
        result = await read_stream(client, "long", LONG_STREAM_CHUNKS)
        elapsed = time.perf_counter() - started
    print(f"1 client, 1 stream of {LONG_STREAM_CHUNKS:,} chunks from FakeWriterServer")
    print(f"  chunks received          {result.received:>12,}")
    print(f"  lost or reordered        {result.problems:>12,}")
    print(f"  wall time                {elapsed:>12.2f} s (for information)")
    print(f"  throughput               {result.received / elapsed:>12,.0f} chunks/s (for information)")
    return result.problems


def main() -> int:
    if not Path("/proc/self/stat").exists():
        print("SKIPPED: server CPU time is read from /proc/PID/stat, which this system does not have.")
        return 0
    python = [sys.executable, str(HERE / "_serve_numbered.py")]
    servers: dict[str, list[str]] = {"FakeWriterServer": python}
    baseline = os.environ.get("BENCH_SERVER_BASELINE")
    if baseline:
        servers["baseline"] = [*python, str(Path(baseline).resolve())]
    node = node_binary()
    if node is not None:
        servers["node:http"] = [node, str(HERE / "node_sse_server.mjs")]
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs", end="")
    if hasattr(os, "getloadavg"):
        print(f", load average {os.getloadavg()[0]:.1f} at start", end="")
    print(
        f"\n{STREAMS} concurrent streams x {CHUNKS_PER_STREAM} chunks ({CLIENTS} AsyncClients), best of {ROUNDS}"
    )
    if node is None:
        print("SKIPPED the node:http comparison: no `node` on PATH or at /usr/bin/node.")

    best: dict[str, Round] = {}
    problems = 0
    deadline = time.monotonic() + OVERALL_TIMEOUT
    with contextlib.ExitStack() as stack:
        urls = {name: stack.enter_context(server(cmd, name)) for name, cmd in servers.items()}
        names = list(servers)
        for round_ in range(ROUNDS):
            for name in names if round_ % 2 == 0 else reversed(names):
                url, pid = urls[name]
                remaining = deadline - time.monotonic()
                try:
                    result = asyncio.run(asyncio.wait_for(load_round(url, pid), max(remaining, 1.0)))
                except asyncio.TimeoutError:
                    print(f"\nFAILED: the benchmark did not finish within {OVERALL_TIMEOUT:g} s.")
                    return 1
                problems += result.problems
                old = best.get(name)
                best[name] = (
                    result
                    if old is None
                    else Round(
                        cpu_per_event=min(old.cpu_per_event, result.cpu_per_event),
                        first_byte_p50=min(old.first_byte_p50, result.first_byte_p50),
                        first_byte_p99=min(old.first_byte_p99, result.first_byte_p99),
                        probe_p50=min(old.probe_p50, result.probe_p50),
                        probe_p99=min(old.probe_p99, result.probe_p99),
                        wall=min(old.wall, result.wall),
                        received=min(old.received, result.received),
                        problems=max(old.problems, result.problems),
                    )
                )
        print(
            f"\n{'server':<18} {'CPU/event':>10} {'probe p50':>10} {'probe p99':>10} {'load p50':>9} "
            f"{'load p99':>9} {'wall':>7} {'events/s':>9} {'lost':>6}"
        )
        for name in names:
            r = best[name]
            print(
                f"{name:<18} {r.cpu_per_event * 1e6:>8.2f}us {r.probe_p50:>8.1f}ms {r.probe_p99:>8.1f}ms "
                f"{r.first_byte_p50:>7.0f}ms {r.first_byte_p99:>7.0f}ms "
                f"{r.wall:>6.2f}s {r.received / r.wall:>9,.0f} {r.problems:>6}"
            )
        print()
        ours = best["FakeWriterServer"]
        failed = problems > 0
        if "node:http" in best:
            ratio = ours.cpu_per_event / best["node:http"].cpu_per_event
            verdict = "OK" if ratio <= TARGET_RATIO else "OVER"
            print(
                f"server CPU per event: {ours.cpu_per_event * 1e6:.2f} us vs node:http "
                f"{best['node:http'].cpu_per_event * 1e6:.2f} us = {ratio:.2f}x  (target <= {TARGET_RATIO:g}x) {verdict}"
            )
            failed |= ratio > TARGET_RATIO
        if "node:http" in best:
            print(
                f"first-byte p99 under load (probe): {ours.probe_p99:.1f} ms vs node:http "
                f"{best['node:http'].probe_p99:.1f} ms (for information)"
            )
        if "baseline" in best:
            base = best["baseline"]
            verdict = "OK" if ours.probe_p99 <= base.probe_p99 else "WORSE"
            print(
                f"first-byte p99 under load (probe): {ours.probe_p99:.1f} ms vs baseline {base.probe_p99:.1f} ms "
                f"(target: no worse) {verdict}; baseline CPU per event {base.cpu_per_event * 1e6:.2f} us"
            )
            failed |= ours.probe_p99 > base.probe_p99
        else:
            print("first-byte p99 target needs a baseline: set BENCH_SERVER_BASELINE to a checkout of main.")
        print(f"lost or reordered: {problems} (target 0)")
        print()
        try:
            problems += asyncio.run(asyncio.wait_for(one_long_stream(urls["FakeWriterServer"][0]), 120.0))
        except asyncio.TimeoutError:
            print("\nFAILED: the long stream did not finish within 120 s.")
            return 1
    failed |= problems > 0
    print("\nOK: every target met." if not failed else "\nFAILED: a target was missed (see above).")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

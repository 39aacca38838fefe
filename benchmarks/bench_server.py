#!/usr/bin/env python3
"""Load and throughput figures for ``FakeWriterServer``, on 127.0.0.1 only.

The server runs in its own process (as it would under a Node or Go test suite), so
the clients' Python does not share its interpreter lock.

Phase 1: 500 concurrent streams of 200 chunks each from a few async httpx clients.
Every chunk carries its stream's id and a sequence number, so a chunk lost,
duplicated, reordered or delivered to the wrong stream is counted. Phase 2: one
client reads one stream of 100,000 chunks. The whole run is bounded by a timeout
and exits non-zero if anything was lost or reordered.

Run: ``python benchmarks/bench_server.py``
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass

import httpx
from _server_process import server_process

from writer_stream_testkit.scripts.plan import ResponsePlan, Write
from writer_stream_testkit.wire.call import Call
from writer_stream_testkit.wire.sse import DONE, DONE_DATA, SSEDecoder, encode_chunk

STREAMS = 500
CHUNKS_PER_STREAM = 200
CLIENTS = 5
LONG_STREAM_CHUNKS = 100_000
OVERALL_TIMEOUT = 240.0


class NumberedStream:
    """A reply source whose chunks name the stream (from the request) and count up from 0."""

    def take(self, call: Call) -> ResponsePlan:
        """Answer every request: its ``chunks`` field says how long the stream is."""
        stream_id = call.json["stream_id"]
        writes = [
            Write(
                encode_chunk(
                    {
                        "id": stream_id,
                        "object": "chat.completion.chunk",
                        "created": 0,
                        "model": "palmyra-x5",
                        "choices": [{"index": 0, "delta": {"content": f"{seq} "}, "finish_reason": None}],
                    }
                )
            )
            for seq in range(call.json["chunks"])
        ]
        return ResponsePlan(
            status=200, headers=(("content-type", "text/event-stream"),), steps=(*writes, Write(DONE))
        )


@dataclass
class StreamResult:
    first_byte: float
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


async def concurrent_streams(base_url: str) -> int:
    per_client = STREAMS // CLIENTS
    limits = httpx.Limits(max_connections=per_client, max_keepalive_connections=per_client)
    timeout = httpx.Timeout(60.0, connect=30.0, pool=60.0)
    clients = [httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout) for _ in range(CLIENTS)]
    try:
        started = time.perf_counter()
        results = await asyncio.gather(
            *(read_stream(clients[i % CLIENTS], f"stream-{i}", CHUNKS_PER_STREAM) for i in range(STREAMS))
        )
        elapsed = time.perf_counter() - started
    finally:
        for client in clients:
            await client.aclose()
    total = sum(r.received for r in results)
    problems = sum(r.problems for r in results)
    firsts = [r.first_byte * 1000 for r in results]
    print(f"{STREAMS} concurrent streams x {CHUNKS_PER_STREAM} chunks ({CLIENTS} AsyncClients)")
    print(f"  chunks received          {total:>12,} of {STREAMS * CHUNKS_PER_STREAM:,}")
    print(f"  lost or reordered        {problems:>12,}")
    print(f"  first byte p50           {statistics.median(firsts):>12.1f} ms")
    print(f"  first byte p99           {percentile(firsts, 99):>12.1f} ms")
    print(f"  wall time                {elapsed:>12.2f} s")
    print(f"  throughput               {total / elapsed:>12,.0f} chunks/s")
    return problems


async def one_long_stream(base_url: str) -> int:
    async with httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(60.0)) as client:
        started = time.perf_counter()
        result = await read_stream(client, "long", LONG_STREAM_CHUNKS)
        elapsed = time.perf_counter() - started
    print(f"1 client, 1 stream of {LONG_STREAM_CHUNKS:,} chunks")
    print(f"  chunks received          {result.received:>12,}")
    print(f"  lost or reordered        {result.problems:>12,}")
    print(f"  wall time                {elapsed:>12.2f} s")
    print(f"  throughput               {result.received / elapsed:>12,.0f} chunks/s")
    return result.problems


async def run(base_url: str) -> int:
    problems = await concurrent_streams(base_url)
    print()
    return problems + await one_long_stream(base_url)


def main() -> int:
    try:
        with server_process(NumberedStream) as base_url:
            print(f"FakeWriterServer at {base_url} (separate process), Python {sys.version.split()[0]}")
            if hasattr(os, "getloadavg"):
                print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
            print()
            try:
                problems = asyncio.run(asyncio.wait_for(run(base_url), OVERALL_TIMEOUT))
            except asyncio.TimeoutError:
                print(f"\nFAILED: the benchmark did not finish within {OVERALL_TIMEOUT:g} s.")
                return 1
    except TimeoutError as exc:
        print(exc)
        return 1
    print(
        "\nOK: no chunk lost or reordered."
        if problems == 0
        else f"\nFAILED: {problems} chunks lost or reordered."
    )
    return 0 if problems == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark the SSE decoder against the official SDK's, and check it stays linear.

Run with `python benchmarks/bench_sse.py`. It prints timings and ratios, and exits 1
if our decoder is not linear (16 MiB costing more than 5x what 4 MiB costs), so it can
guard a CI job. Timings are the best of a few runs (time.perf_counter); the SDK's
decoder is quadratic on one huge line, so it is measured once per size under a cap.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from functools import partial

from writerai._streaming import SSEDecoder as SDKDecoder

from writer_stream_testkit.wire.sse import DONE, SSEDecoder, encode_chunk

CHUNKS = 10_000
SMALL_READ = 4096
BIG_READ = 1024
MIB = 1024 * 1024
RUNS = 5
BIG_RUNS = 7
SDK_CAP_SECONDS = 60.0
MAX_LINEAR_RATIO = 5.0

WORDS = [
    "The",
    " weather",
    " in",
    " San",
    " Francisco",
    " is",
    " mild",
    ",",
    " around",
    " 18",
    "°C",
    " today",
    ".",
]


def chunk(index: int) -> dict[str, object]:
    """A content delta shaped like the Writer API's, about 300 bytes on the wire."""
    return {
        "id": "b5d1c6f0-6c2e-4b1d-9a51-3c0f1e9f7a2d",
        "object": "chat.completion.chunk",
        "created": 1727346176,
        "model": "palmyra-x-004",
        "system_fingerprint": "v1",
        "choices": [
            {
                "index": 0,
                "finish_reason": None,
                "delta": {"content": WORDS[index % len(WORDS)], "role": "assistant", "refusal": None},
                "logprobs": None,
            }
        ],
        "usage": None,
    }


def pieces(body: bytes, size: int) -> list[bytes]:
    return [body[start : start + size] for start in range(0, len(body), size)]


def ours(reads: list[bytes]) -> int:
    decoder = SSEDecoder()
    count = 0
    for read in reads:
        count += len(decoder.feed(read))
    decoder.flush()
    return count


def sdk(reads: list[bytes]) -> int:
    return sum(1 for _ in SDKDecoder().iter_bytes(iter(reads)))


def best_of(runs: int, work: Callable[[], int], expected: int) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        got = work()
        best = min(best, time.perf_counter() - start)
        if got != expected:
            raise SystemExit(f"{work!r} produced {got} events, expected {expected}; the benchmark is broken.")
    return best


def sdk_capped(reads: list[bytes]) -> tuple[float, int, bool]:
    """Time the SDK once, stopping its input at the cap; (seconds, bytes fed, finished)."""
    fed = 0
    start = time.perf_counter()

    def source() -> Iterator[bytes]:
        nonlocal fed
        for read in reads:
            if time.perf_counter() - start > SDK_CAP_SECONDS:
                return
            fed += len(read)
            yield read

    for _ in SDKDecoder().iter_bytes(source()):
        pass
    return time.perf_counter() - start, fed, fed == sum(map(len, reads))


def main() -> int:
    body = b"".join(encode_chunk(chunk(index)) for index in range(CHUNKS)) + DONE
    reads = pieces(body, SMALL_READ)
    print(
        f"(a) {CHUNKS + 1:,} events, {len(body) / (CHUNKS + 1):.0f} B each on average, "
        f"{len(reads)} reads of {SMALL_READ} B"
    )
    mine = best_of(RUNS, lambda: ours(reads), CHUNKS + 1)
    theirs = best_of(RUNS, lambda: sdk(reads), CHUNKS + 1)
    print(f"    ours {mine * 1e3:8.2f} ms   sdk {theirs * 1e3:8.2f} ms   sdk/ours {theirs / mine:5.2f}x")

    print(f"(b) one huge data line in {BIG_READ} B reads")
    big_reads = {mib: pieces(b"data: " + b"x" * (mib * MIB) + b"\n\n", BIG_READ) for mib in (4, 16)}
    timings = dict.fromkeys(big_reads, float("inf"))
    # Interleaved so that allocator state and machine load affect both sizes alike.
    for _ in range(BIG_RUNS):
        for mib, reads_of_size in big_reads.items():
            timings[mib] = min(timings[mib], best_of(1, partial(ours, reads_of_size), 1))
    for mib, seconds in timings.items():
        print(f"    ours {mib:2d} MiB {seconds * 1e3:8.2f} ms")
    ratio = timings[16] / timings[4]
    linear = ratio <= MAX_LINEAR_RATIO
    print(
        f"    ours 16MiB/4MiB cost ratio {ratio:.2f}x (linear is ~4x, limit {MAX_LINEAR_RATIO:.0f}x): ",
        end="",
    )
    print("OK" if linear else "FAIL")
    for mib in (4, 16):
        seconds, fed, finished = sdk_capped(big_reads[mib])
        if finished:
            print(
                f"    sdk  {mib:2d} MiB {seconds * 1e3:8.2f} ms (one run)   sdk/ours {seconds / timings[mib]:7.1f}x"
            )
        else:
            print(
                f"    sdk  {mib:2d} MiB stopped at the {SDK_CAP_SECONDS:.0f} s cap after "
                f"{fed / MIB:.1f} MiB; sdk/ours > {seconds / timings[mib]:.0f}x"
            )
    return 0 if linear else 1


if __name__ == "__main__":
    sys.exit(main())

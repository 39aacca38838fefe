"""Cassette costs on a 10,000-event stream: load time, replay overhead, record overhead.

Budgets: loading < 0.5 s; replaying through ``writerai`` at most 1.2x the same reads
served by a bare ``httpx.MockTransport``; recording at most 1.1x a direct stream from
the fake server. Each figure is the best of several runs, to keep other load out of it.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import writerai

from writer_stream_testkit.cassette import Cassette, load_cassette
from writer_stream_testkit.script import StreamScript
from writer_stream_testkit.server import FakeWriterServer

EVENTS = 10_000
MESSAGES = [{"role": "user", "content": "Count to ten thousand."}]
KEY = "sk-bench-0000000000"


def measure(runs: int, *works: Callable[[], object]) -> list[tuple[float, float]]:
    """(wall, CPU) seconds per work, the best of ``runs``, with the works interleaved.

    CPU time counts every thread of the process (the fake server's too) and not the
    other programs sharing the machine, so ratios of it stay stable under load.
    """
    walls = [[] for _ in works]  # type: list[list[float]]
    cpus = [[] for _ in works]  # type: list[list[float]]
    for _ in range(runs):
        for i, work in enumerate(works):
            wall, cpu = time.perf_counter(), time.process_time()
            work()
            walls[i].append(time.perf_counter() - wall)
            cpus[i].append(time.process_time() - cpu)
    return [(min(w), min(c)) for w, c in zip(walls, cpus, strict=True)]


def drain(client: writerai.Writer) -> int:
    stream = client.chat.chat(model="palmyra-x5", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
    return sum(1 for _ in stream)


def main() -> int:
    script = StreamScript().content(*[f"word{i} " for i in range(EVENTS - 2)]).finish()
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.yaml"
        with FakeWriterServer() as server:
            server.reply(script, times=6)
            direct = writerai.Writer(api_key=KEY, base_url=server.base_url, max_retries=0)

            def record() -> None:
                with Cassette(path, record_mode="rewrite", upstream=server.base_url):
                    drain(writerai.Writer(api_key=KEY, max_retries=0))

            (direct_wall, direct_cpu), (record_wall, record_cpu) = measure(3, lambda: drain(direct), record)
        size = path.stat().st_size
        ((load_wall, load_cpu),) = measure(5, lambda: load_cassette(path))
        (interaction,) = load_cassette(path).interactions
        events = len(interaction.response.events or ())
        reads = [data for data, _ in interaction.response.reads()]

        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(
                200, headers={"content-type": "text/event-stream"}, stream=_Chunks(reads), request=request
            )

        bare = writerai.Writer(
            api_key=KEY, max_retries=0, http_client=httpx.Client(transport=httpx.MockTransport(handler))
        )
        cassette = Cassette(path, allow_playback_repeats=True)
        cassette.load()

        def replay() -> None:
            with cassette:
                drain(writerai.Writer(api_key=KEY, max_retries=0))

        (bare_wall, bare_cpu), (replay_wall, replay_cpu) = measure(5, lambda: drain(bare), replay)

    print(f"cassette: {events} events in {len(reads)} reads, {size / 1e6:.2f} MB of YAML")
    print("                            wall s    CPU s")
    for label, wall, cpu in (
        ("load", load_wall, load_cpu),
        ("bare httpx.MockTransport", bare_wall, bare_cpu),
        ("replay via writerai", replay_wall, replay_cpu),
        ("direct from fake server", direct_wall, direct_cpu),
        ("recording (incl. save)", record_wall, record_cpu),
    ):
        print(f"{label:<26} {wall:8.3f} {cpu:8.3f}")
    replay_ratio = replay_cpu / bare_cpu
    record_ratio = record_cpu / direct_cpu
    print(f"load CPU:        {load_cpu:.3f} s  (budget < 0.5 s)")
    print(f"replay / bare:   {replay_ratio:.2f}x CPU, {replay_wall / bare_wall:.2f}x wall  (budget <= 1.2x)")
    print(
        f"record / direct: {record_ratio:.2f}x CPU, {record_wall / direct_wall:.2f}x wall  (budget <= 1.1x)"
    )
    failures = [
        name
        for name, over in (
            ("load", load_cpu >= 0.5),
            ("replay", replay_ratio > 1.2),
            ("record", record_ratio > 1.1),
        )
        if over
    ]
    if failures:
        print("over budget: " + ", ".join(failures))
        return 1
    return 0


class _Chunks(httpx.SyncByteStream):
    def __init__(self, reads: list[bytes]) -> None:
        self._reads = reads

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._reads)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""``serve --script`` under load beside servers writing the same stream, on 127.0.0.1 only.

Each server runs in its own process and gets the same load from the same Python
client. The references:

* ``node:http`` (``node_sse_server.mjs``): the floor. A 30-line Node server that
  reads the script's SSE blocks from a file at start and writes those same bytes
  to every request, one ``res.write`` per block; it does no work per event but
  the write.
* ``aimock`` (``@copilotkit/aimock``, an LLM API mock for Node): a real mock's cost,
  streaming a fixture with the same text. Set ``BENCH_AIMOCK`` to its package
  directory (``npm install @copilotkit/aimock`` puts it in
  ``node_modules/@copilotkit/aimock``); ``benchmarks/node_modules`` is looked in too.
* ``BENCH_SERVER_BASELINE=/path/to/checkout`` also runs ``serve --script`` from
  another checkout (say, main) in the same run, as "baseline".

Without ``node``, or without aimock, that comparison is skipped, saying so.

The gate is each **server's CPU time** (the run time of its threads, from
``/proc/PID/task/*/schedstat``): the machine is shared, so wall time moves with other programs'
load, while a process's CPU time counts only its own work. Three loads:

* concurrent: 200 streams of a 200-chunk chat script at once (5 async clients);
* sequential: 50 of those streams one after another on one connection;
* per request: 500 requests one after another for a one-chunk script.

Targets: CPU per event (the first two) and per request (the third) <= 1.5x node's
(aim: parity), and below aimock's; every stream complete, its text exact. Rounds
alternate between the servers after one untimed warm-up (Node's JIT speeds up its later
rounds), 3 rounds (5 for the short per-request load), and each
figure is the best of its rounds (every round's figure is printed too). A probe
process also times first bytes under the concurrent load (for information, and
no worse than the baseline's when one is given). Exit status 1 when a target is missed.

Run: ``python benchmarks/bench_server.py`` (``BENCH_SERVER_LOADS="per request"`` runs only the
named loads, comma-separated, for profiling one; the targets are only met by a full run).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.wire.sse import DONE_DATA, SSEDecoder

HERE = Path(__file__).resolve().parent
STREAMS = 200
CHUNKS = 200
CLIENTS = 5
SEQUENTIAL_STREAMS = 50
REQUESTS = 500
PROBES = 60
OVERALL_TIMEOUT = 400.0
TARGET_RATIO = 1.5
PROMPT = "bench"


@dataclass(frozen=True)
class Server:
    """How to start one server and ask it for the stream."""

    name: str
    command: list[str]
    path: str
    env: dict[str, str] | None = None
    port: int | None = None  # a server that does not print its URL listens here
    stop_by_signal: bool = False


@dataclass
class Figures:
    cpu: float  # seconds per event (or per request)
    wall: float  # s
    problems: int
    probe_p99: float = 0.0  # ms


def request_body() -> dict[str, object]:
    return {"model": "palmyra-x5", "stream": True, "messages": [{"role": "user", "content": PROMPT}]}


def pieces(count: int) -> list[str]:
    return [f"{i} " for i in range(count)]


async def read_stream(client: httpx.AsyncClient, path: str, text: str) -> tuple[int, int]:
    """Read one stream; (events read, problems): a problem is a stream whose text is not ``text``."""
    decoder = SSEDecoder()
    events = 0
    got: list[str] = []
    done = False
    async with client.stream("POST", path, json=request_body()) as response:
        response.raise_for_status()
        async for data in response.aiter_raw():
            for event in decoder.feed(data):
                events += 1
                if event.data == DONE_DATA:
                    done = True
                    continue
                choices = json.loads(event.data).get("choices") or [{}]
                content = (choices[0].get("delta") or {}).get("content")
                if isinstance(content, str):
                    got.append(content)
    return events, int("".join(got) != text or not done)


def cpu_seconds(pid: int) -> float:
    """CPU time of process ``pid`` so far: its threads' run time in ns from ``/proc/PID/task/*/schedstat``,
    else user + system time from ``/proc/PID/stat`` (in clock ticks, 10 ms: too coarse for short loads)."""
    tasks = sorted(Path(f"/proc/{pid}/task").glob("*/schedstat"))
    if not tasks:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    total = 0
    for task in tasks:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):  # a thread that has just ended
            total += int(task.read_text().split()[0])
    return total / 1e9


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def probe(base_url: str, path: str, go: asyncio.Event) -> list[float]:
    """Run ``_probe_first_byte.py`` beside the load: its first-byte times, in ms."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(HERE / "_probe_first_byte.py"),
        base_url,
        str(PROBES),
        path,
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


def clients(count: int, per_client: int) -> list[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=per_client, max_keepalive_connections=per_client)
    timeout = httpx.Timeout(60.0, connect=30.0, pool=60.0)
    return [httpx.AsyncClient(base_url="", limits=limits, timeout=timeout) for _ in range(count)]


async def concurrent_round(url: str, path: str, pid: int, text: str) -> Figures:
    go = asyncio.Event()
    probing = asyncio.ensure_future(probe(url, path, go))
    await asyncio.sleep(1.0)  # the probe process starts (imports httpx) before the load does
    pool = clients(CLIENTS, STREAMS // CLIENTS)
    try:
        cpu_before = cpu_seconds(pid)
        started = time.perf_counter()
        go.set()
        results = await asyncio.gather(
            *(read_stream(pool[i % CLIENTS], url + path, text) for i in range(STREAMS))
        )
        wall = time.perf_counter() - started
        cpu = cpu_seconds(pid) - cpu_before
        probes = await probing
    finally:
        for client in pool:
            await client.aclose()
        probing.cancel()
    events = sum(r[0] for r in results)
    return Figures(cpu / events, wall, sum(r[1] for r in results), percentile(probes, 99))


async def sequential_round(url: str, path: str, pid: int, text: str) -> Figures:
    (client,) = clients(1, 1)
    async with client:
        await read_stream(client, url + path, text)  # the connection is open before the clock starts
        cpu_before = cpu_seconds(pid)
        started = time.perf_counter()
        results = [await read_stream(client, url + path, text) for _ in range(SEQUENTIAL_STREAMS)]
        wall = time.perf_counter() - started
        cpu = cpu_seconds(pid) - cpu_before
    return Figures(cpu / sum(r[0] for r in results), wall, sum(r[1] for r in results))


async def per_request_round(url: str, path: str, pid: int, text: str) -> Figures:
    (client,) = clients(1, 1)
    async with client:
        await read_stream(client, url + path, text)
        cpu_before = cpu_seconds(pid)
        started = time.perf_counter()
        results = [await read_stream(client, url + path, text) for _ in range(REQUESTS)]
        wall = time.perf_counter() - started
        cpu = cpu_seconds(pid) - cpu_before
    return Figures(cpu / REQUESTS, wall, sum(r[1] for r in results))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running(server: Server, cwd: Path) -> Iterator[tuple[str, int]]:
    """Start a server process in ``cwd``; yield its base URL and pid; always stop it.

    Not in this checkout: ``python -c`` puts the working directory first on ``sys.path``,
    which would import this checkout's package ahead of the baseline's ``PYTHONPATH``.
    """
    env = {**os.environ, **(server.env or {})}
    process = subprocess.Popen(
        server.command,
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        if server.port is None:
            url = process.stdout.readline().strip()
            if not url.startswith("http://"):
                raise RuntimeError(f"FAILED: the {server.name} server did not start (it printed {url!r}).")
        else:
            url = f"http://127.0.0.1:{server.port}"
            deadline = time.monotonic() + 30
            while True:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", server.port), 0.2):
                    break
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(
                        f"FAILED: the {server.name} server did not start listening within 30 s."
                    )
                time.sleep(0.05)
        yield url, process.pid
    finally:
        if server.stop_by_signal and process.poll() is None:
            process.send_signal(signal.SIGINT)
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


def aimock_cli() -> Path | None:
    for root in (os.environ.get("BENCH_AIMOCK"), HERE / "node_modules" / "@copilotkit" / "aimock"):
        if root and (Path(root) / "dist" / "cli.js").exists():
            return Path(root) / "dist" / "cli.js"
    return None


def servers_for(chunks: int, work: Path, node: str | None, aimock: Path | None) -> list[Server]:
    """The servers, each set up to send a stream of ``chunks`` text pieces."""
    script = StreamScript().content(*pieces(chunks))
    script_file = work / f"chat-{chunks}.yaml"
    script_file.write_text(script.to_yaml(), encoding="utf-8")
    frames_file = work / f"chat-{chunks}.sse"
    frames_file.write_bytes(script.sse())
    cli = [sys.executable, "-c", "import sys; from writer_stream_testkit.cli import main; sys.exit(main())"]
    serve = [*cli, "serve", "--script", str(script_file), "--port", "0"]
    out = [Server("serve --script", serve, "/v1/chat", stop_by_signal=True)]
    baseline = os.environ.get("BENCH_SERVER_BASELINE")
    if baseline:
        env = {"PYTHONPATH": str(Path(baseline).resolve())}
        out.append(Server("baseline", serve, "/v1/chat", env=env, stop_by_signal=True))
    if node is not None:
        out.append(
            Server("node:http", [node, str(HERE / "node_sse_server.mjs"), str(frames_file)], "/v1/chat")
        )
    if node is not None and aimock is not None:
        text = "".join(pieces(chunks))
        fixture = {"fixtures": [{"match": {"userMessage": PROMPT}, "response": {"content": text}}]}
        fixture_file = work / f"aimock-{chunks}.json"
        fixture_file.write_text(json.dumps(fixture), encoding="utf-8")
        port = free_port()
        size = max(1, -(-len(text) // chunks))  # about `chunks` pieces
        command = [node, str(aimock), "-p", str(port), "-f", str(fixture_file), "-c", str(size)]
        out.append(Server("aimock", [*command, "--log-level", "silent"], "/v1/chat/completions", port=port))
    return out


LOADS = (
    # (name, title, round, chunks per stream, unit, rounds)
    (
        "concurrent",
        f"{STREAMS} concurrent streams x {CHUNKS} chunks",
        concurrent_round,
        CHUNKS,
        "us/event",
        3,
    ),
    (
        "sequential",
        f"{SEQUENTIAL_STREAMS} streams x {CHUNKS} chunks, one at a time",
        sequential_round,
        CHUNKS,
        "us/event",
        3,
    ),
    ("per request", f"{REQUESTS} one-chunk streams, one at a time", per_request_round, 1, "us/request", 5),
)


def check_bytes(url: str, path: str, expected: bytes, name: str) -> bool:
    """Whether the server sends exactly the script's bytes (serve --script, the baseline and node:http)."""
    with httpx.Client(timeout=30.0) as client:
        got = client.post(url + path, json=request_body()).content
    if got != expected:
        print(
            f"FAILED: {name} did not send the script's exact bytes ({len(got)} bytes, {len(expected)} expected)."
        )
        return False
    return True


def main() -> int:
    if not Path("/proc/self/stat").exists():
        print("SKIPPED: server CPU time is read from /proc/PID/stat, which this system does not have.")
        return 0
    node = node_binary()
    aimock = aimock_cli() if node is not None else None
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs", end="")
    if hasattr(os, "getloadavg"):
        print(f", load average {os.getloadavg()[0]:.1f} at start", end="")
    print("; server CPU time, the best of each server's rounds")
    if node is None:
        print("SKIPPED the node:http and aimock comparisons: no `node` on PATH or at /usr/bin/node.")
    elif aimock is None:
        print(
            "SKIPPED the aimock comparison: set BENCH_AIMOCK to the directory of an installed @copilotkit/aimock "
            "(npm install @copilotkit/aimock)."
        )
    failed = False
    deadline = time.monotonic() + OVERALL_TIMEOUT
    results: dict[str, dict[str, Figures]] = {}
    only = {name.strip() for name in os.environ.get("BENCH_SERVER_LOADS", "").split(",") if name.strip()}
    loads = [load for load in LOADS if not only or load[0] in only]
    if only and len(loads) < len(LOADS):
        print(
            f"PARTIAL RUN: only {', '.join(load[0] for load in loads)} (BENCH_SERVER_LOADS); not a verdict."
        )
        failed = True
    with tempfile.TemporaryDirectory() as tmp:
        for load, title, round_fn, chunks, unit, rounds_of in loads:
            servers = servers_for(chunks, Path(tmp), node, aimock)
            text = "".join(pieces(chunks))
            expected = StreamScript().content(*pieces(chunks)).sse()
            best: dict[str, Figures] = {}
            rounds: dict[str, list[float]] = {}
            with contextlib.ExitStack() as stack:
                urls = {s.name: stack.enter_context(running(s, Path(tmp))) for s in servers}
                for s in servers:
                    if s.name != "aimock" and not check_bytes(urls[s.name][0], s.path, expected, s.name):
                        failed = True
                    # Untimed warm-up: Node's JIT makes its later rounds faster; every server gets it.
                    warm = sequential_round if round_fn is concurrent_round else round_fn
                    url, pid = urls[s.name]
                    asyncio.run(asyncio.wait_for(warm(url, s.path, pid, text), 60.0))
                for round_ in range(rounds_of):
                    for s in servers if round_ % 2 == 0 else list(reversed(servers)):
                        url, pid = urls[s.name]
                        remaining = deadline - time.monotonic()
                        try:
                            figures = asyncio.run(
                                asyncio.wait_for(round_fn(url, s.path, pid, text), max(remaining, 1.0))
                            )
                        except asyncio.TimeoutError:
                            print(f"\nFAILED: the benchmark did not finish within {OVERALL_TIMEOUT:g} s.")
                            return 1
                        rounds.setdefault(s.name, []).append(figures.cpu)
                        old = best.get(s.name)
                        if old is not None:
                            figures = Figures(
                                min(old.cpu, figures.cpu),
                                min(old.wall, figures.wall),
                                old.problems + figures.problems,
                                min(old.probe_p99, figures.probe_p99),
                            )
                        best[s.name] = figures
            results[load] = best
            print(f"\n{title}")
            for name, f in best.items():
                probe_note = f"  first-byte p99 {f.probe_p99:6.1f} ms" if load == "concurrent" else ""
                each = " ".join(f"{cpu * 1e6:.2f}" for cpu in rounds[name])
                print(
                    f"  {name:<16} {f.cpu * 1e6:8.2f} {unit}  wall {f.wall:6.2f} s  wrong streams {f.problems}"
                    f"{probe_note}  (rounds: {each})"
                )
            failed |= any(f.problems for f in best.values())
    print("\nTargets (server CPU, measured in this run):")
    for load, _, _, _, unit, _ in loads:
        best = results[load]
        ours = best["serve --script"]
        if "node:http" in best:
            ratio = ours.cpu / best["node:http"].cpu
            verdict = "OK" if ratio <= TARGET_RATIO else "OVER"
            print(
                f"  {load:<12} serve --script {ours.cpu * 1e6:.2f} {unit} vs node:http {best['node:http'].cpu * 1e6:.2f}"
                f" = {ratio:.2f}x (target <= {TARGET_RATIO:g}x) {verdict}"
            )
            failed |= ratio > TARGET_RATIO
        if "aimock" in best:
            ratio = ours.cpu / best["aimock"].cpu
            verdict = "OK" if ratio < 1 else "BEHIND"
            print(
                f"  {load:<12} serve --script {ours.cpu * 1e6:.2f} {unit} vs aimock {best['aimock'].cpu * 1e6:.2f}"
                f" = {ratio:.2f}x (target < 1x) {verdict}"
            )
            failed |= ratio >= 1
        if "baseline" in best:
            base = best["baseline"]
            print(
                f"  {load:<12} serve --script {ours.cpu * 1e6:.2f} {unit} vs baseline {base.cpu * 1e6:.2f} "
                f"= {ours.cpu / base.cpu:.2f}x (for information)"
            )
    concurrent = results.get("concurrent", {})
    if "baseline" in concurrent:
        ours, base = concurrent["serve --script"], concurrent["baseline"]
        verdict = "OK" if ours.probe_p99 <= base.probe_p99 else "WORSE"
        print(
            f"  first-byte p99 under load (probe): {ours.probe_p99:.1f} ms vs baseline {base.probe_p99:.1f} ms "
            f"(target: no worse) {verdict}"
        )
        failed |= ours.probe_p99 > base.probe_p99
    print("\nOK: every target met." if not failed else "\nFAILED: a target was missed (see above).")
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as exc:  # a server that did not start: say which, and fail
        print(f"\n{exc}")
        sys.exit(1)

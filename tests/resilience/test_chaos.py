"""Seeded chaos for whole sessions: the same seed gives the same faults; the journal gives verdicts."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
import writerai

from writer_stream_testkit import FakeWriterServer, StreamScript
from writer_stream_testkit.resilience.chaos import Chaos, parse_rates

SCRIPT = StreamScript().content("Sunny", " and", " warm").finish("stop")
ROOT = Path(__file__).resolve().parents[2]
WAIT = 60


def _ask(server: FakeWriterServer, n: int, **options: object) -> list[str]:
    outcomes = []
    with writerai.Writer(api_key="k", base_url=server.base_url, **options) as client:  # type: ignore[arg-type]
        for i in range(n):
            try:
                stream = client.chat.chat(
                    model="palmyra-x5", messages=[{"role": "user", "content": str(i)}], stream=True
                )
                outcomes.append("".join(c.choices[0].delta.content or "" for c in stream if c.choices))
            except (writerai.APIError, httpx.HTTPError) as error:
                outcomes.append(type(error).__name__)
    return outcomes


def _session(seed: int) -> tuple[list[str], list[tuple[int, int | None, str]]]:
    chaos = Chaos({"rate-limit": 0.3, "disconnect": 0.3}, seed=seed)
    with FakeWriterServer(chaos=chaos) as server:
        server.reply(SCRIPT, times=12)
        outcomes = _ask(server, 12)
        server.reset()  # retries may leave replies unused; the session is what is checked here
    return outcomes, [(a.request, a.status, a.note.split(":")[0]) for a in chaos.journal]


def test_the_same_seed_gives_the_same_faults_and_another_seed_others() -> None:
    first = _session(11)
    assert first == _session(11)
    assert first != _session(12)
    notes = {note for _, _, note in first[1]}
    assert {"rate-limit injected", "disconnect injected", "answered as usual"} <= notes
    # a 429 is retried by the SDK (after the wait it asked for), a cut reaches the client
    assert "RemoteProtocolError" in first[0]
    assert "Sunny and warm" in first[0]


def test_the_journal_gives_request_side_verdicts() -> None:
    chaos = Chaos({"bad-request": 1.0}, seed=1)
    with FakeWriterServer(chaos=chaos) as server:
        server.reply(SCRIPT)
        with writerai.Writer(api_key="k", base_url=server.base_url, max_retries=0) as client:
            for _ in range(2):  # an app loop that retries a 400
                with pytest.raises(writerai.BadRequestError):
                    list(client.chat.chat(model="palmyra-x5", messages=[], stream=True))
        server.reset()
    report = chaos.report()
    assert report["seed"] == 1
    assert [r["verdict"] for r in report["results"]] == ["retried-non-retryable", "not-applicable"]
    assert report["results"][0]["test"] == "POST /v1/chat (request 1)"

    polite = Chaos({"rate-limit": 0.5}, seed=0)
    with FakeWriterServer(chaos=polite) as server:
        server.reply(SCRIPT, times=6)
        _ask(server, 6)
        server.reset()
    verdicts = {r["verdict"] for r in polite.report()["results"]}
    assert verdicts == {"ok"}  # writerai waits the retry-after-ms it is given


def test_rates_are_checked_with_a_message_saying_how() -> None:
    assert parse_rates("rate-limit=0.2, stall=0.1") == {"rate-limit": 0.2, "stall": 0.1}
    with pytest.raises(ValueError, match="write KIND=RATE pairs"):
        parse_rates("rate-limit")
    with pytest.raises(ValueError, match=r"add up to 1\.5"):
        parse_rates("rate-limit=0.8,stall=0.7")
    assert Chaos({"stall": 0.1}).seed is not None  # picked, so it can be printed


def test_serve_chaos_prints_its_seed_and_writes_the_report(tmp_path: Path) -> None:
    script = tmp_path / "chat.yaml"
    script.write_text(SCRIPT.to_yaml(), encoding="utf-8")
    report = tmp_path / "report.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    args = ["serve", "--port", "0", "--script", str(script), "--chaos", "rate-limit=1", "--seed", "4"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "writer_stream_testkit.cli", *args, "--resilience-report", str(report)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        lines: queue.Queue[str] = queue.Queue()
        assert proc.stdout is not None
        out = proc.stdout
        threading.Thread(target=lambda: lines.put(out.readline()), daemon=True).start()
        url = lines.get(timeout=WAIT).strip()
        with (
            writerai.Writer(api_key="k", base_url=url, max_retries=0) as client,
            pytest.raises(writerai.RateLimitError),
        ):
            list(client.chat.chat(model="palmyra-x5", messages=[], stream=True))
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=WAIT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=WAIT)
    assert "chaos rate-limit=1 (seed 4; --seed 4 replays it)" in err
    document = json.loads(report.read_text(encoding="utf-8"))
    assert document["seed"] == 4
    assert [r["verdict"] for r in document["results"]] == ["gave-up"]


def test_the_writer_server_marker_brings_chaos_and_its_seed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest, writerai
        from writer_stream_testkit import StreamScript

        @pytest.mark.writer_server(chaos="bad-request=1", seed=9)
        def test_app(writer_server):
            writer_server.reply(StreamScript().content("hi").finish("stop"))
            with writerai.Writer(base_url=writer_server.base_url, max_retries=0) as client:
                list(client.chat.chat(model="m", messages=[], stream=True))
        """
    )
    result = pytester.runpytest("-p", "no:xdist")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*BadRequestError*", "*writer-stream-testkit chaos*", "seed 9: pass seed=9 to replay these faults"]
    )

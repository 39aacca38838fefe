"""Seeded chaos as writerai meets it: the journal's request-side verdicts, serve --chaos's seed and report, the writer_server marker's chaos. Runs on writer-sdk 3.x and 2.x."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import writerai
from chaosutil import CHAOS_SCRIPT, ask_in_turn
from cliutil import ROOT

from writer_stream_testkit import FakeWriterServer
from writer_stream_testkit.resilience.chaos import Chaos

WAIT = 60
"""Seconds the serve --chaos subprocess may take to start and stop."""


def test_the_journal_gives_request_side_verdicts() -> None:
    chaos = Chaos({"bad-request": 1.0}, seed=1)
    with FakeWriterServer(chaos=chaos) as server:
        server.reply(CHAOS_SCRIPT)
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
        server.reply(CHAOS_SCRIPT, times=6)
        ask_in_turn(server, 6)
        server.reset()
    verdicts = {r["verdict"] for r in polite.report()["results"]}
    assert verdicts == {"ok"}  # writerai waits the retry-after-ms it is given


def test_serve_chaos_prints_its_seed_and_writes_the_report(tmp_path: Path) -> None:
    script = tmp_path / "chat.yaml"
    script.write_text(CHAOS_SCRIPT.to_yaml(), encoding="utf-8")
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

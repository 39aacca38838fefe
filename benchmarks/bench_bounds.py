"""Hostile inputs the issue measured, against their budgets (issue 15, items 1 and 2).

* A replay miss against three recordings with 30 KB prompts took 100 s: budget 1 s.
* Saving a streamed chunk of 200,000 backslashes took 183 s: budget 1 s.
* Saving 1 MB of backslashes, quotes and percent signs: budget 2 s, and 4x the input
  costs at most 6x the time (linear, with room for noise; quadratic would be 16x).

Figures are CPU time of this thread, the best of 3 runs, so other programs on a shared
machine do not count. Run: ``python benchmarks/bench_bounds.py`` (exit 1 when over budget).
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections.abc import Callable

from writer_stream_testkit.cassettes.capture import interaction_from_capture
from writer_stream_testkit.cassettes.dump import dump_cassette
from writer_stream_testkit.cassettes.matching import MatchRules, miss_message
from writer_stream_testkit.cassettes.model import (
    CassetteContent,
    Interaction,
    RecordedEvent,
    RecordedRequest,
    RecordedResponse,
)
from writer_stream_testkit.cassettes.recorder import Capture
from writer_stream_testkit.cassettes.redact import Redaction
from writer_stream_testkit.wire.call import Call

URL = "https://api.writer.com/v1/chat"
KEY = "sk-bench-0123456789"


def best(run: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.thread_time()
        run()
        times.append(time.thread_time() - start)
    return min(times)


def prompt(size: int, seed: int) -> str:
    rng = random.Random(seed)
    return " ".join("".join(rng.choice("ab") for _ in range(3)) for _ in range(size // 4))


def body(text: str) -> dict[str, object]:
    return {"model": "palmyra-x5", "messages": [{"role": "user", "content": text}], "stream": True}


def miss_run() -> Callable[[], object]:
    rules = MatchRules.build(("method", "path", "body"), (), ())
    recorded = [
        Interaction(
            RecordedRequest("POST", URL, json=body(prompt(30_000, seed))),
            RecordedResponse(200, events=(RecordedEvent("[DONE]"),)),
        )
        for seed in range(3)
    ]
    call = Call.create(method="POST", url=URL, content=json.dumps(body(prompt(30_000, 99))).encode())
    return lambda: miss_message("bench.yaml", call, recorded, [], rules, "none")


def save_run(data: str) -> Callable[[], object]:
    raw = f"data: {data}\n\n".encode()
    capture = Capture(
        method="POST",
        url=URL,
        headers=(("Authorization", f"Bearer {KEY}"),),
        content=b"{}",
        status=200,
        response_headers=(("Content-Type", "text/event-stream"),),
        reads=[(raw[i : i + 65_536], 0.0) for i in range(0, len(raw), 65_536)],
        complete=True,
        responded=True,
    )
    return lambda: dump_cassette(CassetteContent((interaction_from_capture(capture, Redaction()),)))


def hostile(size: int) -> str:
    return "\\" * (size // 2) + ('\\"%%\\\\"' * size)[: size - size // 2]


def main() -> int:
    rows = [
        ("miss, 3 recordings of 30 KB prompts", best(miss_run()), 1.0, "s"),
        ("save 200,000 backslashes", best(save_run("\\" * 200_000)), 1.0, "s"),
        ("save 1 MB of backslashes, quotes, percents", best(save_run(hostile(1_000_000))), 2.0, "s"),
    ]
    growth = best(save_run(hostile(1_000_000))) / best(save_run(hostile(250_000)))
    rows.append(("save growth for 4x the input", growth, 6.0, "x"))
    over = False
    for name, value, budget, unit in rows:
        ok = value <= budget
        over = over or not ok
        print(f"{name:48} {value:8.3f} {unit}   budget {budget:g} {unit}   {'ok' if ok else 'OVER'}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())

"""Recorded pace: a plan's waits are deadlines from the request, so late wake-ups do not add up.

A fake clock stands in for ``time`` (and anyio's clock): every sleep wakes 1 ms late,
as a busy machine does. Sleeping between reads would end 100 waits 100 ms late;
deadlines end them 1 ms late, whatever the number of waits.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
import httpx
import pytest

from writer_stream_testkit.doubles import execute
from writer_stream_testkit.scripts.plan import Pause, ResponsePlan, Write

LATE = 0.001
GAP = 0.005
READS = 100


class LateClock:
    """A monotonic clock whose every sleep overshoots by ``LATE``."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps = 0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.sleeps += 1
        self.now += seconds + LATE

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> LateClock:
    """The fake clock in place of the ones ``execute`` reads (restored after the test)."""
    fake = LateClock()
    monkeypatch.setattr(time, "monotonic", fake.monotonic)
    monkeypatch.setattr(time, "sleep", fake.sleep)
    monkeypatch.setattr(anyio, "current_time", fake.monotonic)
    monkeypatch.setattr(anyio, "sleep", fake.asleep)
    return fake


def paced_plan() -> ResponsePlan:
    steps: list[Any] = []
    for i in range(READS):
        steps += [Pause(GAP), Write(f"data: {i}\n\n".encode())]
    return ResponsePlan(
        status=200, headers=(("content-type", "text/event-stream"),), steps=tuple(steps), head_delay=0.2
    )


def test_sync_replay_ends_when_the_recording_did(clock: LateClock) -> None:
    request = httpx.Request("POST", "https://api.writer.com/v1/chat")
    start = clock.now
    plan = paced_plan()
    response = execute.build_response(plan, request, execute.run_head(plan, request))
    reads = list(response.stream)  # type: ignore[arg-type]
    assert len(reads) == READS
    assert clock.now - start == pytest.approx(0.2 + READS * GAP + LATE)  # not + READS * LATE


def test_async_replay_ends_when_the_recording_did(clock: LateClock) -> None:
    request = httpx.Request("POST", "https://api.writer.com/v1/chat")

    async def play() -> int:
        plan = paced_plan()
        response = execute.build_response(plan, request, await execute.arun_head(plan, request))
        return len([chunk async for chunk in response.stream])  # type: ignore[union-attr]

    start = clock.now
    assert anyio.run(play) == READS
    assert clock.now - start == pytest.approx(0.2 + READS * GAP + LATE)


def test_a_body_without_a_head_schedule_starts_its_clock_at_the_first_read(clock: LateClock) -> None:
    request = httpx.Request("POST", "https://api.writer.com/v1/chat")
    start = clock.now
    reads = list(execute.PlanStream(paced_plan(), request))
    assert len(reads) == READS
    assert clock.now - start == pytest.approx(READS * GAP + LATE)


def test_a_read_timeout_is_the_clients_timer_never_shortened_by_the_schedule(clock: LateClock) -> None:
    request = httpx.Request("POST", "https://api.writer.com/v1/chat", extensions={"timeout": {"read": 0.05}})
    plan = ResponsePlan(status=200, steps=(Write(b"data: x\n\n"), Pause(60.0)), head_delay=60.0)
    start = clock.now
    with pytest.raises(httpx.ReadTimeout):
        execute.run_head(plan, request, arrived=start - 0.01)  # the reply took 10 ms to choose
    assert clock.now - start >= 0.05
    start = clock.now
    stream = execute.PlanStream(ResponsePlan(status=200, steps=plan.steps), request)
    with pytest.raises(httpx.ReadTimeout):
        list(stream)
    assert clock.now - start >= 0.05

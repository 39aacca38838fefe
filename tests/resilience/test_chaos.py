"""Seeded chaos for whole sessions: the same seed gives the same faults; the journal gives verdicts."""

from __future__ import annotations

import pytest
from chaosutil import CHAOS_SCRIPT, ask_in_turn

from writer_stream_testkit import FakeWriterServer
from writer_stream_testkit.resilience.chaos import Chaos, parse_rates


def _session(seed: int) -> tuple[list[str], list[tuple[int, int | None, str]]]:
    chaos = Chaos({"rate-limit": 0.3, "disconnect": 0.3}, seed=seed)
    with FakeWriterServer(chaos=chaos) as server:
        server.reply(CHAOS_SCRIPT, times=12)
        outcomes = ask_in_turn(server, 12)
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


def test_rates_are_checked_with_a_message_saying_how() -> None:
    assert parse_rates("rate-limit=0.2, stall=0.1") == {"rate-limit": 0.2, "stall": 0.1}
    with pytest.raises(ValueError, match="write KIND=RATE pairs"):
        parse_rates("rate-limit")
    with pytest.raises(ValueError, match=r"add up to 1\.5"):
        parse_rates("rate-limit=0.8,stall=0.7")
    assert Chaos({"stall": 0.1}).seed is not None  # picked, so it can be printed

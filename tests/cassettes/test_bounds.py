"""Bounded work on user data: a replay miss, a save, and the files it touches never blow up.

Each cost check compares two input sizes in one run (see ``costutil``): a linear
operation grows about as much as its input, a quadratic one as its square.
Timeouts are only hang guards.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from costutil import time_growth

from writer_stream_testkit.cassettes.cassette import Cassette
from writer_stream_testkit.cassettes.files import save_cassette
from writer_stream_testkit.cassettes.matching import MatchRules, miss_message
from writer_stream_testkit.cassettes.model import (
    CassetteContent,
    Interaction,
    RecordedEvent,
    RecordedRequest,
    RecordedResponse,
)
from writer_stream_testkit.cassettes.tools import compare_responses, directory_miss_message
from writer_stream_testkit.wire.call import Call

URL = "https://api.writer.com/v1/chat"


def _prompt(size: int, seed: int) -> str:
    """Words over a two-letter alphabet: the worst case for a character-by-character diff."""
    rng = random.Random(seed)
    return " ".join("".join(rng.choice("ab") for _ in range(3)) for _ in range(size // 4))


def _body(content: str) -> dict[str, Any]:
    return {"model": "palmyra-x5", "messages": [{"role": "user", "content": content}], "stream": True}


def _call(body: dict[str, Any]) -> Call:
    return Call.create(
        method="POST",
        url=URL,
        headers={"content-type": "application/json"},
        content=json.dumps(body).encode(),
    )


def _interaction(body: dict[str, Any]) -> Interaction:
    return Interaction(
        RecordedRequest("POST", URL, (("content-type", "application/json"),), json=body),
        RecordedResponse(200, (("content-type", "text/event-stream"),), events=(RecordedEvent("[DONE]"),)),
    )


# --- a replay miss --------------------------------------------------------------------------------


@pytest.mark.timeout(120)  # a hang guard only
def test_a_miss_against_long_prompts_costs_linear_time() -> None:
    rules = MatchRules.build(("method", "path", "body"), (), ())

    def make(n: int) -> Callable[[], object]:
        recorded = [_interaction(_body(_prompt(n, seed))) for seed in range(3)]
        incoming = _call(_body(_prompt(n, 99)))
        return lambda: miss_message("t.yaml", incoming, recorded, [], rules, "none")

    assert time_growth(make, 2_000) < 10  # linear: about 4; quadratic: 16 or more


@pytest.mark.timeout(120)  # a hang guard only
def test_a_directory_miss_against_long_prompts_costs_linear_time() -> None:
    def make(n: int) -> Callable[[], object]:
        candidates = [
            ("c.yaml", seed, _interaction(_body(_prompt(n, seed))).request, False) for seed in range(3)
        ]
        incoming = _call(_body(_prompt(n, 99)))
        return lambda: directory_miss_message("cassettes", incoming, candidates)

    assert time_growth(make, 2_000) < 10


def _alternating(n: int, choices: tuple[int, int]) -> RecordedResponse:
    """A chat stream of ``n`` one-word chunks alternating between two choices: shapes that repeat."""
    events = []
    for i in range(n):
        delta = {"role": "assistant", "content": "a"}
        choice = {"index": choices[i % 2], "delta": delta, "logprobs": None, "finish_reason": None}
        chunk = {
            "id": "x",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "m",
            "choices": [choice],
        }
        events.append(RecordedEvent(json.dumps(chunk)))
    events.append(RecordedEvent("[DONE]"))
    return RecordedResponse(200, (("content-type", "text/event-stream"),), events=tuple(events))


@pytest.mark.timeout(120)  # a hang guard only
def test_verify_diffs_event_shapes_in_near_linear_time() -> None:
    """Choices 0 and 1 recorded, 0 and 2 live: every other shape differs, the worst case for difflib."""

    def make(n: int) -> Callable[[], object]:
        recorded, live = _alternating(n, (0, 1)), _alternating(n, (0, 2))
        return lambda: compare_responses(recorded, live)

    assert time_growth(make, 300) < 10  # linear: about 4; cubic: 64


def test_a_long_shape_diff_is_clipped_and_still_shows_the_first_difference() -> None:
    drift = compare_responses(_alternating(3_000, (0, 1)), _alternating(3_000, (0, 2)))
    assert drift.drifted
    assert (drift.recorded_index, drift.live_index) == (1, 1)
    assert drift.diff[2] == "- #1          choice 1: role"
    assert len(drift.diff) == 201
    assert drift.diff[-1] == "  ... (the diff goes on; only its first 200 lines are shown)"


def test_a_long_prompt_miss_still_shows_the_difference() -> None:
    rules = MatchRules.build(("method", "path", "body"), (), ())
    text = _prompt(40_000, 1)
    changed = text[:20_000] + "CHANGED" + text[20_007:]
    recorded = [_interaction(_body(_prompt(40_000, 2))), _interaction(_body(text))]
    message = miss_message("t.yaml", _call(_body(changed)), recorded, [], rules, "none")
    assert "The closest recording is interactions[1]" in message
    assert "CHANGED" in message
    assert len(message) < 5_000  # the 40 KB prompt is clipped around its difference, not printed whole


def test_concurrent_misses_and_replays_all_answer(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    recorded = [_interaction(_body(f"recorded {i}")) for i in range(20)]
    save_cassette(path, CassetteContent(tuple(recorded)))
    cassette = Cassette(path)
    statuses: list[int] = []

    def worker(i: int) -> None:
        statuses.append(cassette.take(_call(_body(f"recorded {i}" if i < 20 else f"miss {i}"))).status)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [200] * 20 + [500] * 20
    assert cassette.play_counts == [1] * 20
    assert len(cassette._misses) == 20


# --- every operation on a cassette is linear in its size, whatever the text -------------------------

HOSTILE = ["\\", '"', "%", "u", "0", "a", "é", "😀", "\n", "\r", "\t", ":", " ", "#", "&", "*", "!", "|"]
HOSTILE += [">", "'", "{", "}", "[", "]", "data: ", "=?", "sk-live-", "\\u00", "%2", "\\\\\\"]
KEY = "sk-live-0123456789"


def _text(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def _capture(text: str) -> Any:
    from writer_stream_testkit.cassettes.recorder import Capture

    block = f"data: {json.dumps({'c': text})}\n\n".encode()
    return Capture(
        method="POST",
        url=URL,
        headers=(("Authorization", f"Bearer {KEY}"), ("Content-Type", "application/json")),
        content=json.dumps(_body(text)).encode(),
        status=200,
        response_headers=(("Content-Type", "text/event-stream"), ("x-note", text[:64])),
        reads=[(block[i : i + 1000], i / 1e6) for i in range(0, len(block), 1000)],
        complete=True,
        responded=True,
    )


def _vcr(text: str) -> str:
    import yaml

    entry = {
        "request": {"method": "POST", "uri": URL, "body": json.dumps(_body(text)), "headers": {}},
        "response": {
            "status": {"code": 200, "message": "OK"},
            "headers": {"content-type": ["text/plain"]},
            "body": {"string": text},
        },
    }
    return yaml.safe_dump({"interactions": [entry], "version": 1})


def _operations(unit: str) -> dict[str, Callable[[int], Callable[[], object]]]:
    from writer_stream_testkit.cassettes.capture import interaction_from_capture
    from writer_stream_testkit.cassettes.dump import dump_cassette
    from writer_stream_testkit.cassettes.load import parse_cassette
    from writer_stream_testkit.cassettes.redact import Redaction
    from writer_stream_testkit.cassettes.tools import convert_vcr, render_cassette_text

    redaction = Redaction.build(secrets=[KEY], patterns=["José Pérez"])
    rules = MatchRules.build(("method", "path", "body"), (), ())

    def saved(size: int) -> str:
        capture = _capture(_text(unit, size))
        return dump_cassette(CassetteContent((interaction_from_capture(capture, redaction),)))

    def save(size: int) -> Callable[[], object]:
        capture = _capture(_text(unit, size))
        return lambda: dump_cassette(CassetteContent((interaction_from_capture(capture, redaction),)))

    def load(size: int) -> Callable[[], object]:
        text = saved(size)
        return lambda: parse_cassette(text, source="c.yaml")

    def show(size: int) -> Callable[[], object]:
        content = parse_cassette(saved(size), source="c.yaml")
        return lambda: render_cassette_text(content, source="c.yaml")

    def convert(size: int) -> Callable[[], object]:
        text = _vcr(_text(unit, size))
        return lambda: convert_vcr(text, source="vcr.yaml", secrets=[KEY])

    def miss(size: int) -> Callable[[], object]:
        recorded = parse_cassette(saved(size), source="c.yaml").interactions
        incoming = _call(_body(_text(unit[::-1] + "x", size)))
        return lambda: miss_message("c.yaml", incoming, recorded, [], rules, "none")

    return {"save": save, "load": load, "show": show, "convert": convert, "miss": miss}


@pytest.mark.timeout(240)  # a hang guard only
def test_no_text_makes_a_cassette_operation_cost_more_than_linear_time_or_memory() -> None:
    from costutil import memory_growth
    from hypothesis import example, given, settings
    from hypothesis import strategies as st

    @given(st.lists(st.sampled_from(HOSTILE), min_size=1, max_size=6).map("".join))
    @example("\\")  # a run of backslashes: what made redaction quadratic
    @settings(max_examples=3, deadline=None, database=None)
    def check(unit: str) -> None:
        for name, make in _operations(unit).items():
            assert time_growth(make, 2_000, repeat=2) < 10, f"{name} grows faster than its input on {unit!r}"
            assert memory_growth(make, 2_000) < 8, f"{name} takes memory faster than its input on {unit!r}"

    check()

"""The replay decision (cassettes/replay.py): one place that says replay, record or miss, and counts plays."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from writer_stream_testkit.cassettes import replay as replay_module
from writer_stream_testkit.cassettes.capture import RecordHooks
from writer_stream_testkit.cassettes.cassette import Cassette
from writer_stream_testkit.cassettes.files import save_cassette
from writer_stream_testkit.cassettes.matching import MatchRules
from writer_stream_testkit.cassettes.model import (
    CassetteContent,
    Interaction,
    RecordedEvent,
    RecordedRequest,
    RecordedResponse,
    RecordMode,
)
from writer_stream_testkit.cassettes.redact import Redaction
from writer_stream_testkit.cassettes.replay import Replay
from writer_stream_testkit.errors import CassetteMissError
from writer_stream_testkit.wire.call import Call

URL = "https://api.writer.com/v1/chat"


def body(content: str) -> dict[str, Any]:
    return {"model": "palmyra-x5", "messages": [{"role": "user", "content": content}], "stream": True}


def call(content: str, *, key: str = "k") -> Call:
    return Call.create(
        method="POST",
        url=URL,
        headers={"content-type": "application/json", "authorization": f"Bearer {key}"},
        content=json.dumps(body(content)).encode(),
    )


def interaction(content: str, answer: str = "[DONE]") -> Interaction:
    return Interaction(
        RecordedRequest("POST", URL, (("content-type", "application/json"),), json=body(content)),
        RecordedResponse(200, (("content-type", "text/event-stream"),), events=(RecordedEvent(answer),)),
    )


def cassette_file(tmp_path: Path, *contents: str, meta: dict[str, Any] | None = None) -> Path:
    path = tmp_path / "c.yaml"
    save_cassette(path, CassetteContent(tuple(interaction(c) for c in contents), meta or {}))
    return path


def replay(
    path: Path,
    mode: RecordMode = "none",
    *,
    repeats: bool = False,
    hooks: RecordHooks | None = None,
    secrets: tuple[str, ...] = (),
) -> Replay:
    return Replay(
        path,
        record_mode=mode,
        rules=MatchRules.build(("method", "path", "body"), (), ()),
        allow_playback_repeats=repeats,
        redaction=Redaction.build(secrets=secrets, patterns=(), headers=()),
        hooks=hooks or RecordHooks(),
        timing="fast",
    )


def test_a_matching_recording_replays_once_and_is_counted(tmp_path: Path) -> None:
    decision = replay(cassette_file(tmp_path, "hi"), "none")
    assert decision.can_play(call("hi"))
    first = decision.decide(call("hi"))
    assert first.action == "replay"
    assert first.miss is None
    assert first.plan is not None
    assert first.plan.body() == b"data: [DONE]\n\n"
    assert decision.play_counts == [1]
    assert not decision.can_play(call("hi"))  # played, and repeats are not allowed
    again = decision.decide(call("hi"))
    assert again.action == "miss"
    assert again.plan is not None
    assert again.plan.status == 500
    assert again.miss is not None
    assert "interactions[0]" in again.miss


def test_repeats_replay_a_played_recording_but_never_for_an_unplayed_only_ask(tmp_path: Path) -> None:
    decision = replay(cassette_file(tmp_path, "hi"), "none", repeats=True)
    assert decision.decide(call("hi")).action == "replay"
    assert decision.can_play(call("hi"))
    assert not decision.can_play(call("hi"), unplayed=True)
    assert decision.decide(call("hi")).action == "replay"
    assert decision.play_counts == [2]


@pytest.mark.parametrize(
    ("mode", "exists", "matched", "expected"),
    [
        ("none", True, False, "miss"),
        ("once", True, False, "miss"),
        ("once", False, False, "record"),
        ("new_episodes", True, False, "record"),
        ("new_episodes", True, True, "replay"),
        ("all", True, True, "record"),
        ("rewrite", True, True, "record"),
    ],
)
def test_the_record_mode_decides_and_every_question_agrees(
    tmp_path: Path, mode: RecordMode, exists: bool, matched: bool, expected: str
) -> None:
    path = cassette_file(tmp_path, "hi") if exists else tmp_path / "absent.yaml"
    decision = replay(path, mode)
    asked = call("hi" if matched else "something else")
    assert decision.can_play(asked) == (expected == "replay")
    assert decision.may_record(asked) == (expected == "record")
    assert (decision.peek(asked) is not None) == (expected == "replay")  # in `all` a match is recorded over
    assert decision.decide(asked).action == expected


def test_may_record_with_no_call_says_whether_the_run_may_record_at_all(tmp_path: Path) -> None:
    path = cassette_file(tmp_path, "hi")
    assert not replay(path, "none").may_record()
    assert not replay(path, "once").may_record()
    assert replay(tmp_path / "new.yaml", "once").may_record()
    assert replay(path, "new_episodes").may_record()


def test_peek_counts_nothing(tmp_path: Path) -> None:
    decision = replay(cassette_file(tmp_path, "hi"))
    assert decision.peek(call("hi")) == decision.peek(call("hi"))
    assert decision.play_counts == [0]
    assert decision.peek(call("other")) is None


def test_a_secret_in_the_request_is_scrubbed_before_matching(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    save_cassette(path, CassetteContent((interaction("my key is <redacted>"),)))
    decision = replay(path, secrets=("sk-live-123",))
    assert decision.can_play(call("my key is sk-live-123"))
    scrubbed = decision.scrub(call("my key is sk-live-123"))
    assert scrubbed is not None
    assert b"sk-live-123" not in scrubbed.content


def test_a_request_the_hook_drops_is_a_miss_naming_the_hook(tmp_path: Path) -> None:
    decision = replay(cassette_file(tmp_path, "hi"), hooks=RecordHooks(lambda request: None))
    assert not decision.can_play(call("hi"))
    missed = decision.decide(call("hi"))
    assert missed.action == "miss"
    assert missed.miss is not None
    assert "before_record_request hook returned None" in missed.miss


def test_reset_forgets_the_plays(tmp_path: Path) -> None:
    decision = replay(cassette_file(tmp_path, "hi"))
    decision.decide(call("hi"))
    decision.reset()
    assert decision.play_counts == [0]
    assert decision.can_play(call("hi"))


def test_the_file_is_read_once_and_its_meta_handed_over(tmp_path: Path) -> None:
    path = cassette_file(tmp_path, "hi", meta={"recorded_with": "kit", "note": "file"})
    seen: list[dict[str, Any]] = []
    decision = Replay(
        path,
        record_mode="none",
        rules=MatchRules.build(("method", "path", "body"), (), ()),
        allow_playback_repeats=False,
        redaction=Redaction.build(secrets=(), patterns=(), headers=()),
        hooks=RecordHooks(),
        timing="fast",
        on_load=lambda meta: seen.append(dict(meta)),
    )
    first = decision.load()
    path.unlink()
    assert decision.load() is first
    assert decision.file_existed
    assert len(seen) == 1
    assert seen[0]["note"] == "file"


def test_the_cassettes_own_meta_wins_over_the_files(tmp_path: Path) -> None:
    path = cassette_file(tmp_path, "hi", meta={"note": "file", "kept": 1})
    cassette = Cassette(path, meta={"note": "mine"})
    cassette.load()
    assert cassette.meta["note"] == "mine"
    assert cassette.meta["kept"] == 1


def test_rewrite_reads_nothing(tmp_path: Path) -> None:
    decision = replay(cassette_file(tmp_path, "hi"), "rewrite")
    assert decision.load() == ()
    assert decision.may_record(call("hi"))


# --- asked through the Cassette in use -----------------------------------------------------------


def test_the_cassette_answers_its_questions_from_its_replay_decision(tmp_path: Path) -> None:
    cassette = Cassette(cassette_file(tmp_path, "hi", "bye"))
    assert cassette.can_play(call("bye"))
    assert cassette.play(call("bye")).status == 200
    assert cassette.replay.play_counts == cassette.play_counts == [0, 1]
    assert not cassette.may_record(call("other"))
    assert cassette.play(call("other")).status == 500
    assert [c.json for c in cassette.calls] == [body("bye"), body("other")]
    with pytest.raises(CassetteMissError):
        cassette.verify()


def test_the_miss_message_is_built_outside_both_locks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cassette = Cassette(cassette_file(tmp_path, "recorded"))
    held: list[tuple[bool, bool]] = []
    real = replay_module.miss_message

    def spy(*args: Any, **kwargs: Any) -> str:
        held.append((cassette._lock.locked(), cassette.replay._lock.locked()))
        return real(*args, **kwargs)

    monkeypatch.setattr(replay_module, "miss_message", spy)
    plan = cassette.take(call("something else"))
    assert plan.status == 500
    assert held == [(False, False)]  # another request could replay meanwhile
    assert len(cassette._misses) == 1


def test_requests_the_hook_drops_are_counted_among_the_misses(tmp_path: Path) -> None:
    cassette = Cassette(cassette_file(tmp_path, "hi"), before_record_request=lambda request: None)
    for _ in range(2):
        assert cassette.take(call("hi")).status == 500
    with pytest.raises(CassetteMissError, match=r"^2 requests found no recording:") as raised:
        cassette.verify()
    assert "(the last" not in str(raised.value)

"""Record modes as vcrpy has them: when to play, record or refuse, and how this run's recordings merge with the file."""

from __future__ import annotations

from typing import Any

import pytest
from recorded import (
    sse_interaction,
)

from writer_stream_testkit.cassettes.model import (
    RECORD_MODES,
    RecordedRequest,
)
from writer_stream_testkit.cassettes.modes import decide, merge_for_save


@pytest.mark.parametrize("existed", [True, False])
@pytest.mark.parametrize("matched", [True, False])
@pytest.mark.parametrize("mode", RECORD_MODES)
def test_decide_follows_vcrpy(mode: Any, existed: bool, matched: bool) -> None:
    expected = {
        "none": "replay" if matched else "miss",
        "once": "replay" if matched else ("miss" if existed else "record"),
        "new_episodes": "replay" if matched else "record",
        "all": "record",
        "rewrite": "record",
    }[mode]
    assert decide(mode, file_existed=existed, matched=matched) == expected


def _same(a: RecordedRequest, b: RecordedRequest) -> bool:
    return a.json == b.json


def test_merge_appends_new_recordings_after_what_is_on_disk() -> None:
    old, mine, theirs = (
        sse_interaction("old", body={"n": 0}),
        sse_interaction("m", body={"n": 1}),
        sse_interaction("t", body={"n": 2}),
    )
    merged = merge_for_save("new_episodes", loaded=[old], recorded=[mine], on_disk=[old, theirs], same=_same)
    assert merged == (old, theirs, mine)


def test_merge_skips_what_another_writer_already_recorded() -> None:
    old, twin = sse_interaction("old", body={"n": 0}), sse_interaction("t", body={"n": 2})
    mine = sse_interaction("m", body={"n": 2})
    assert merge_for_save("once", loaded=[], recorded=[mine], on_disk=[old, twin], same=_same) == (old, twin)
    assert merge_for_save(
        "new_episodes", loaded=[old], recorded=[mine, mine], on_disk=[old, twin], same=_same
    ) == (
        old,
        twin,
        mine,
    )


def test_merge_all_replaces_re_recorded_and_keeps_the_rest() -> None:
    a, b, a2 = (
        sse_interaction("a", body={"n": 1}),
        sse_interaction("b", body={"n": 2}),
        sse_interaction("A", body={"n": 1}),
    )
    assert merge_for_save("all", loaded=[a, b], recorded=[a2], on_disk=[a, b], same=_same) == (b, a2)


def test_merge_rewrite_keeps_only_this_run_and_none_writes_nothing() -> None:
    a, b = sse_interaction("a", body={"n": 1}), sse_interaction("b", body={"n": 2})
    assert merge_for_save("rewrite", loaded=[], recorded=[b], on_disk=[a], same=_same) == (b,)
    assert merge_for_save("none", loaded=[a], recorded=[b], on_disk=[a], same=_same) is None
    assert merge_for_save("new_episodes", loaded=[a], recorded=[], on_disk=[a], same=_same) is None

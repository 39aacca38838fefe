"""A recording becomes a replay plan: fast, at the recorded pace or scaled; a cut recording ends in a disconnect."""

from __future__ import annotations

from typing import Any

import pytest
from chunks import compact_text_chunk
from recorded import (
    sse_interaction,
)

from writer_stream_testkit.cassettes.framing import frame_stream
from writer_stream_testkit.cassettes.model import (
    RecordedResponse,
)
from writer_stream_testkit.cassettes.timing import render_plan, timing_factor
from writer_stream_testkit.scripts.plan import Disconnect, Pause, Write


def test_fast_replay_has_one_write_per_read_and_no_waits() -> None:
    plan = render_plan(sse_interaction("a", "b").response)
    assert plan.head_delay == 0
    assert [type(s) for s in plan.steps] == [Write, Write, Write]
    assert (
        plan.body()
        == f"data: {compact_text_chunk('a')}\n\ndata: {compact_text_chunk('b')}\n\ndata: [DONE]\n\n".encode()
    )


def test_recorded_and_scaled_timing_reproduce_the_gaps() -> None:
    response = sse_interaction("a", "b").response
    recorded = render_plan(response, timing="recorded")
    assert recorded.head_delay == pytest.approx(0.005)
    assert [s.seconds for s in recorded.steps if isinstance(s, Pause)] == pytest.approx([0.005, 0.01, 0.01])
    half = render_plan(response, timing=0.5)
    assert [s.seconds for s in half.steps if isinstance(s, Pause)] == pytest.approx([0.0025, 0.005, 0.005])


def test_incomplete_recording_replays_as_a_disconnect() -> None:
    response = RecordedResponse(status=200, events=frame_stream([(b"data: x\n\n", 0.1)]), complete=False)
    assert isinstance(render_plan(response).steps[-1], Disconnect)


@pytest.mark.parametrize("bad", ["slow", -1, True])
def test_bad_timing_is_rejected(bad: Any) -> None:
    with pytest.raises(ValueError, match="timing="):
        timing_factor(bad)

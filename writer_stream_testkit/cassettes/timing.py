"""Replay timing, and a recorded response rendered into a plan any double executes."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..scripts.plan import Disconnect, Pause, PlanStep, ResponsePlan, Write
from .headers import header_from_cassette

# --- timing and plans -----------------------------------------------------------------------------

if TYPE_CHECKING:
    from .model import RecordedResponse, Timing  # the model renders through this module


def parse_timing(text: str) -> Timing:
    """A ``timing`` option written as text (command line, ini file): ``fast``, ``recorded`` or a factor.

    Raises ``ValueError`` with :func:`timing_factor`'s sentence when it is none of them.
    """
    timing: Timing
    if text == "fast":
        timing = "fast"
    elif text == "recorded":
        timing = "recorded"
    else:
        try:
            timing = float(text)
        except ValueError:
            timing = -1.0  # not a number: let timing_factor explain what is accepted
    timing_factor(timing)
    return timing


def timing_factor(timing: Timing) -> float:
    """The multiplier applied to every recorded wait; validates the ``timing=`` option."""
    if timing == "fast":
        return 0.0
    if timing == "recorded":
        return 1.0
    if isinstance(timing, (int, float)) and not isinstance(timing, bool) and 0 <= timing < math.inf:
        return float(timing)
    raise ValueError(
        f"timing={timing!r} is not a replay timing; use 'fast' (no waits, the default), "
        "'recorded' (the gaps as recorded), or a number >= 0 that scales the recorded gaps "
        "(0.5 replays twice as fast)."
    )


def render_plan(response: RecordedResponse, *, timing: Timing = "fast", reason: str = "") -> ResponsePlan:
    """A recorded response as a plan: a write per recorded read, pauses from the time offsets."""
    factor = timing_factor(timing)
    steps: list[PlanStep] = []
    previous = response.t
    for data, t in response.reads():
        gap = (t - previous) * factor
        if gap > 0:
            steps.append(Pause(gap))
        steps.append(Write(data))
        previous = max(previous, t)
    if not response.complete:
        steps.append(Disconnect())
    return ResponsePlan(
        status=response.status,
        headers=tuple((k, header_from_cassette(v).decode("latin-1")) for k, v in response.headers),
        steps=tuple(steps),
        head_delay=response.t * factor,
        reason=reason or "a cassette recording",
    )

"""How faults compose into a plan, where mutation testing found no test looking
(``python3 tasks.py mutate scripts/render.py``).

Each test pins the exact steps of a plan a one-token change to ``scripts/render.py`` altered
unseen: a stall next to a cut (with and without a mid-chunk cut, a per-write delay and splits),
the bookkeeping of several splits, and the head delay, headers and status of a fault reply that
replaces the body (streamed or not). Plans come from the public ``StreamScript.with_fault``.
"""

from __future__ import annotations

import itertools

import pytest

from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.scripts.faults import Fault
from writer_stream_testkit.scripts.plan import Disconnect as Cut
from writer_stream_testkit.scripts.plan import Pause, PlanStep, ResponsePlan, Write
from writer_stream_testkit.scripts.render import apply_faults

BASE = StreamScript().content("A", "B")  # three chunks (A with its role, B, the finish), then [DONE]
B0, B1, B2, DONE = (frame.encode("\n") for frame in BASE.frames())
BODY = BASE.sse()


def stream(*faults: Fault, script: StreamScript = BASE) -> ResponsePlan:
    return script.with_fault(*faults).stream_plan()


def steps(*faults: Fault, script: StreamScript = BASE) -> tuple[PlanStep, ...]:
    return tuple(stream(*faults, script=script).steps)


def joined(plan_steps: tuple[PlanStep, ...]) -> tuple[PlanStep, ...]:
    """The steps with each run of writes joined into one: where the pauses and the cut fall, in bytes."""
    out: list[PlanStep] = []
    for step in plan_steps:
        if isinstance(step, Write) and out and isinstance(out[-1], Write):
            out[-1] = Write(out[-1].data + step.data)
        else:
            out.append(step)
    return tuple(out)


def write_sizes(plan_steps: tuple[PlanStep, ...]) -> list[int]:
    return [len(s.data) for s in plan_steps if isinstance(s, Write)]


# --- a stall and a cut at the same place -------------------------------------------------------------


def test_a_stall_at_the_cut_pauses_before_the_connection_drops() -> None:
    assert steps(Fault.stall(after_chunks=1, seconds=5), Fault.disconnect(after_chunks=1)) == (
        Write(B0),
        Pause(5),
        Cut(),
    )


def test_a_stall_before_a_mid_chunk_cut_pauses_once_before_the_half_block() -> None:
    assert steps(
        Fault.stall(after_chunks=1, seconds=5), Fault.disconnect(after_chunks=1, mid_chunk=True)
    ) == (
        Write(B0),
        Pause(5),
        Write(B1[: len(B1) // 2]),
        Cut(),
    )


def test_each_write_delay_also_comes_before_the_half_block() -> None:
    assert steps(
        Fault.stall(after_chunks=1, seconds=5),
        Fault.disconnect(after_chunks=1, mid_chunk=True),
        Fault.delay(each=0.1),
    ) == (Pause(0.1), Write(B0), Pause(5), Pause(0.1), Write(B1[: len(B1) // 2]), Cut())


def test_a_stall_and_a_cut_before_the_first_chunk() -> None:
    assert steps(Fault.stall(after_chunks=0, seconds=2), Fault.disconnect(after_chunks=0)) == (
        Pause(2),
        Cut(),
    )
    assert steps(Fault.stall(after_chunks=0, seconds=2)) == (
        Pause(2),
        Write(B0),
        Write(B1),
        Write(B2),
        Write(DONE),
    )


def test_a_stall_and_a_cut_after_the_last_block() -> None:
    assert steps(Fault.stall(after_chunks=3, seconds=2), Fault.disconnect(after_chunks=3)) == (
        Write(B0),
        Write(B1),
        Write(B2),
        Pause(2),
        Cut(),
    )
    assert steps(
        Fault.stall(after_chunks=3, seconds=2), Fault.missing_done(), Fault.disconnect(after_chunks=3)
    ) == (
        Write(B0),
        Write(B1),
        Write(B2),
        Pause(2),
        Cut(),
    )


def test_two_stalls_at_one_place_pause_for_both() -> None:
    assert steps(Fault.stall(after_chunks=2, seconds=1), Fault.stall(after_chunks=2, seconds=3)) == (
        Write(B0),
        Write(B1),
        Pause(1),
        Pause(3),
        Write(B2),
        Write(DONE),
    )


def test_a_stall_comes_after_the_blocks_inserted_at_its_place() -> None:
    # The keep-alive sent after chunk 1 goes out, then the stream goes quiet.
    assert steps(Fault.stall(after_chunks=1, seconds=4), Fault.keep_alive(every=1)) == (
        Write(B0),
        Write(b":\n\n"),
        Pause(4),
        Write(B1),
        Write(b":\n\n"),
        Write(B2),
        Write(b":\n\n"),
        Write(DONE),
    )


def test_a_mid_chunk_cut_after_an_inserted_block_halves_the_next_chunk() -> None:
    plan = steps(
        Fault.malformed_chunk(after_chunks=1, data=""),
        Fault.stall(after_chunks=1, seconds=2),
        Fault.disconnect(after_chunks=1, mid_chunk=True),
    )
    assert plan == (Write(B0), Write(b"data: \n\n"), Pause(2), Write(B1[: len(B1) // 2]), Cut())


def test_a_cut_at_the_end_of_a_stream_without_done_after_a_stall() -> None:
    script = StreamScript().content("A")
    first = next(iter(script.frames())).encode("\n")
    assert steps(
        Fault.missing_done(),
        Fault.stall(after_chunks=1, seconds=2),
        Fault.disconnect(after_chunks=1),
        script=script,
    ) == (Write(first), Pause(2), Cut())


# --- splits: boundaries from the first byte, across blocks, with stalls and cuts ---------------------


def test_a_stall_with_a_split_cuts_at_the_block_and_keeps_the_size_cycle() -> None:
    plan = steps(Fault.stall(after_chunks=1, seconds=5), Fault.split(sizes=[7]))
    assert joined(plan) == (Write(B0), Pause(5), Write(B1 + B2 + DONE))
    at = len(B0)
    # The sizes count from the stream's first byte, whatever the stall adds.
    ends = list(itertools.accumulate(write_sizes(plan)))
    assert ends == sorted({*range(7, len(BODY), 7), at, len(BODY)})


def test_a_split_and_a_mid_chunk_cut_send_exactly_the_bytes_before_the_cut() -> None:
    plan = steps(Fault.split(sizes=[7]), Fault.disconnect(after_chunks=2, mid_chunk=True))
    cut_at = len(B0) + len(B1) + len(B2) // 2
    assert joined(plan) == (Write(BODY[:cut_at]), Cut())
    assert list(itertools.accumulate(write_sizes(plan))) == [*range(7, cut_at, 7), cut_at]


def test_a_split_with_a_stall_and_a_cut_at_the_end() -> None:
    plan = steps(
        Fault.stall(after_chunks=3, seconds=2),
        Fault.missing_done(),
        Fault.split(sizes=[50]),
        Fault.disconnect(after_chunks=3),
    )
    body = B0 + B1 + B2
    assert joined(plan) == (Write(body), Pause(2), Cut())
    assert write_sizes(plan) == [50] * (len(body) // 50) + [len(body) % 50]


def test_a_split_with_a_stall_at_the_end_and_no_cut() -> None:
    plan = steps(Fault.stall(after_chunks=3, seconds=2), Fault.missing_done(), Fault.split(sizes=[50]))
    assert joined(plan) == (Write(B0 + B1 + B2), Pause(2))


def test_a_split_with_a_cut_before_anything_is_sent() -> None:
    assert steps(Fault.split(sizes=[5]), Fault.disconnect(after_chunks=0)) == (Cut(),)
    assert steps(
        Fault.split(sizes=[5]), Fault.stall(after_chunks=0, seconds=1), Fault.disconnect(after_chunks=0)
    ) == (
        Pause(1),
        Cut(),
    )


def test_sizes_cycle_in_their_order_across_block_boundaries() -> None:
    plan = steps(Fault.split(sizes=[100, 1, 30]))
    sizes = write_sizes(plan)
    assert sizes[: 3 * 5] == [100, 1, 30] * 5
    assert sum(sizes) == len(BODY)
    assert b"".join(s.data for s in plan if isinstance(s, Write)) == BODY


def test_two_splits_cut_at_the_union_of_their_boundaries() -> None:
    plan = steps(Fault.split(sizes=[40]), Fault.split(sizes=[25, 35]))
    first = set(range(40, len(BODY), 40))
    second = set(itertools.accumulate(itertools.islice(itertools.cycle([25, 35]), len(BODY))))
    second = {p for p in second if p < len(BODY)}
    assert list(itertools.accumulate(write_sizes(plan))) == sorted(first | second | {len(BODY)})


def test_a_size_split_and_a_mid_utf8_split_together() -> None:
    script = StreamScript().content("h\u00e9llo")
    body = script.sse()
    plan = steps(Fault.split(sizes=[64]), Fault.split_mid_utf8(), script=script)
    lead = body.index("\u00e9".encode()) + 1
    assert list(itertools.accumulate(write_sizes(plan))) == sorted(
        {*range(64, len(body), 64), lead, len(body)}
    )


def test_each_write_of_a_split_waits_its_delay() -> None:
    plan = steps(Fault.split(sizes=[300]), Fault.delay(each=0.5))
    assert plan[:4] == (Pause(0.5), Write(BODY[:300]), Pause(0.5), Write(BODY[300:600]))
    assert sum(1 for s in plan if isinstance(s, Pause)) == sum(1 for s in plan if isinstance(s, Write))


def test_a_mid_crlf_split_cuts_the_line_end_that_spans_two_blocks() -> None:
    writes = [
        s.data for s in steps(Fault.split_mid_crlf(), Fault.split(sizes=[1000])) if isinstance(s, Write)
    ]
    body = BASE.sse("\r\n")
    assert b"".join(writes) == body
    ends = list(itertools.accumulate(len(w) for w in writes))
    crlf_cuts = [i + 1 for i in range(len(body) - 1) if body[i : i + 2] == b"\r\n"]
    assert ends == sorted({*crlf_cuts, *range(1000, len(body), 1000), len(body)})


# --- fault replies that replace the body: their headers and delays ----------------------------------


@pytest.mark.parametrize("kind", ["stream_plan", "json_plan"])
def test_an_http_error_reply_keeps_its_status_headers_and_body_and_gets_the_head_delay(kind: str) -> None:
    script = BASE.with_fault(
        Fault.http_error(429, retry_after=2, retry_after_ms=1500, headers={"x-ratelimit-remaining": "0"}),
        Fault.delay(first_byte=0.5, each=0.25),
        Fault.disconnect(after_chunks=1),
    )
    plan = getattr(script, kind)()
    alone = Fault.http_error(
        429, retry_after=2, retry_after_ms=1500, headers={"x-ratelimit-remaining": "0"}
    ).response()
    assert (plan.status, plan.headers, tuple(plan.steps), plan.reason, plan.refuse) == (
        429,
        alone.headers,
        tuple(alone.steps),
        alone.reason,
        False,
    )
    assert ("retry-after", "2") in plan.headers
    assert ("retry-after-ms", "1500") in plan.headers
    assert ("x-ratelimit-remaining", "0") in plan.headers
    assert plan.head_delay == 0.5  # the first-byte delay only; no per-write pause is added to the error


@pytest.mark.parametrize("kind", ["stream_plan", "json_plan"])
def test_a_refused_connection_stays_refused_under_a_delay(kind: str) -> None:
    plan = getattr(BASE.with_fault(Fault.connection_refused(), Fault.delay(first_byte=2)), kind)()
    assert plan.refuse
    assert plan.head_delay == 2
    assert plan.reason == "connection_refused()"


@pytest.mark.parametrize("kind", ["stream_plan", "json_plan"])
def test_a_fault_reply_without_a_delay_is_the_faults_own_response(kind: str) -> None:
    plan = getattr(BASE.with_fault(Fault.http_error(503)), kind)()
    assert plan == Fault.http_error(503).response()


def test_delays_add_up_across_delay_faults() -> None:
    plan = stream(Fault.delay(first_byte=0.5, each=0.1), Fault.delay(first_byte=0.25, each=0.2))
    assert plan.head_delay == 0.75
    assert tuple(plan.steps)[:2] == (Pause(pytest.approx(0.3)), Write(B0))  # type: ignore[arg-type]
    json_plan = BASE.with_fault(Fault.delay(first_byte=0.5, each=0.1), Fault.delay(each=0.2)).json_plan()
    assert json_plan.head_delay == 0.5
    assert next(iter(json_plan.steps)) == Pause(pytest.approx(0.3))  # type: ignore[arg-type]
    assert json_plan.headers == (("content-type", "application/json"),)


def test_a_json_plan_without_delays_is_one_write() -> None:
    plan = BASE.json_plan()
    assert (plan.status, plan.head_delay, len(tuple(plan.steps))) == (200, 0, 1)
    assert isinstance(next(iter(plan.steps)), Write)


def test_a_stream_plan_names_its_faults_in_order() -> None:
    plan = stream(Fault.disconnect(after_chunks=2), Fault.crlf(), Fault.delay(first_byte=1))
    assert plan.reason == "crlf(), delay(first_byte=1), disconnect(after_chunks=2)"
    assert plan.headers == (("content-type", "text/event-stream"),)
    assert plan.status == 200


def test_a_stall_before_the_last_block_and_a_cut_after_it() -> None:
    assert steps(Fault.stall(after_chunks=3, seconds=2)) == (
        Write(B0),
        Write(B1),
        Write(B2),
        Pause(2),
        Write(DONE),
    )
    assert steps(Fault.missing_done(), Fault.disconnect(after_chunks=3)) == (
        Write(B0),
        Write(B1),
        Write(B2),
        Cut(),
    )


def test_frames_given_as_a_list_render_as_the_scripts_own_plan() -> None:
    faults = [Fault.stall(after_chunks=1, seconds=1), Fault.disconnect(after_chunks=2, mid_chunk=True)]
    from_list = apply_faults(list(BASE.frames()), faults)
    assert tuple(from_list.steps) == steps(*faults)
    assert from_list.reason == stream(*faults).reason


def test_a_split_never_sends_an_empty_write() -> None:
    stalled = steps(Fault.split(sizes=[100]), Fault.stall(after_chunks=0, seconds=1))
    assert stalled[:2] == (Pause(1), Write(BODY[:100]))
    cut_at = len(B0) + len(B1) + len(B2) // 2
    on_the_cut = steps(Fault.split(sizes=[cut_at]), Fault.disconnect(after_chunks=2, mid_chunk=True))
    assert on_the_cut == (Write(BODY[:cut_at]), Cut())  # a size boundary exactly at the cut
    for plan in (stalled, on_the_cut):
        assert Write(b"") not in plan


def test_a_split_stream_cut_after_its_last_block_without_a_stall() -> None:
    plan = steps(Fault.split(sizes=[64]), Fault.missing_done(), Fault.disconnect(after_chunks=3))
    assert joined(plan) == (Write(B0 + B1 + B2), Cut())


@pytest.mark.parametrize(
    ("script", "fault", "message"),
    [
        (
            BASE,
            Fault.stall(after_chunks=9),
            "Fault.stall() got after_chunks=9 but the script sends only 3 chunks; use an after_chunks from 0 to 3, "
            "or add chunks to the script.",
        ),
        (
            StreamScript().content("A"),
            Fault.split_mid_utf8(),
            "Fault.split_mid_utf8() found no multi-byte UTF-8 character in the stream; add non-ASCII text to the "
            "script, e.g. .content('h\u00e9llo \u2603').",
        ),
    ],
)
def test_a_fault_that_cannot_apply_says_why_and_how_to_fix_it(
    script: StreamScript, fault: Fault, message: str
) -> None:
    with pytest.raises(ValueError) as raised:
        script.with_fault(fault).stream_plan()
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("script", "fault", "message"),
    [
        (
            StreamScript(),
            Fault.disconnect(after_chunks=2),
            "Fault.disconnect() got after_chunks=2 but the script sends only 1 chunk; use an after_chunks from 0 "
            "to 1, or add chunks to the script.",
        ),
        (
            BASE,
            Fault.disconnect(after_chunks=3, mid_chunk=True),
            "Fault.disconnect() with mid_chunk=True and after_chunks=3 found no block after that point to cut "
            "into; use a smaller after_chunks, or mid_chunk=False.",
        ),
    ],
)
def test_a_disconnect_that_cannot_apply_says_why(script: StreamScript, fault: Fault, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        script.with_fault(fault, Fault.missing_done()).stream_plan()
    assert str(raised.value) == message


@pytest.mark.parametrize("first", [1, 2])
def test_the_earliest_of_two_disconnects_wins_whichever_comes_first(first: int) -> None:
    faults = [Fault.disconnect(after_chunks=first), Fault.disconnect(after_chunks=3 - first)]
    assert steps(*faults) == (Write(B0), Cut())

"""What a reply sends, as a plan both doubles execute: its body and writes, Writer's error bodies,
the pace of its waits and its header bytes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from writer_stream_testkit.scripts.plan import (
    Disconnect,
    LazySteps,
    Pause,
    PlanStep,
    ResponsePlan,
    Schedule,
    Write,
    error_plan,
    header_bytes,
    writer_error_body,
)

STEPS: tuple[PlanStep, ...] = (Write(b"a"), Pause(0.5), Write(b"bc"), Disconnect(), Write(b"never"))


def test_body_and_writes_skip_pauses_and_stop_at_the_disconnect() -> None:
    plan = ResponsePlan(steps=STEPS)
    assert plan.body() == b"abc"
    assert list(plan.writes()) == [b"a", b"bc"]
    assert not plan.completes
    whole = ResponsePlan(steps=(Write(b"a"), Pause(0.1), Write(b"b")))
    assert whole.body() == b"ab"
    assert whole.completes
    assert not ResponsePlan(refuse=True).completes


def test_lazy_steps_are_made_afresh_for_each_iteration_and_compare_as_their_tuple() -> None:
    made: list[int] = []

    def make() -> Iterator[PlanStep]:
        made.append(1)
        yield from STEPS

    lazy = LazySteps(make)
    assert made == []  # nothing is built until someone iterates
    assert list(iter(lazy)) == list(iter(lazy)) == list(STEPS)
    assert len(made) == 2
    assert len(lazy) == len(STEPS)
    assert lazy[2] == Write(b"bc")
    assert lazy[:2] == STEPS[:2]
    assert lazy == STEPS
    assert lazy == LazySteps(lambda: iter(STEPS))
    assert lazy != STEPS[:2]
    assert lazy != list(STEPS)  # only a tuple or other lazy steps compare equal
    assert hash(lazy) == hash(STEPS)
    assert repr(lazy) == f"LazySteps({STEPS!r})"
    assert ResponsePlan(steps=lazy) == ResponsePlan(steps=STEPS)


def test_writer_error_body_takes_the_documented_type_and_default_message_for_its_status() -> None:
    assert writer_error_body(429) == {
        "tpe": "TooManyRequests",
        "errors": [
            {
                "description": "Rate limit exceeded. Please wait and try your request again later.",
                "key": "error.too_many_requests",
                "extras": {},
            }
        ],
        "extras": {},
    }
    unknown = writer_error_body(418, "teapot")["errors"][0]
    assert unknown == {"description": "teapot", "key": "error.bad_request", "extras": {}}
    assert writer_error_body(599)["errors"][0]["description"] == "HTTP 599 error."


def test_the_kits_own_error_plan_is_a_non_retryable_writer_error_marked_unanswered() -> None:
    plan = error_plan(500, "no reply matched POST /v1/chat")
    body = json.loads(plan.body())
    assert plan.status == 500
    assert body["tpe"] == "InternalServerError"
    assert body["errors"][0]["description"] == "writer-stream-testkit: no reply matched POST /v1/chat"
    assert dict(plan.headers) == {
        "content-type": "application/json",
        "content-length": str(len(plan.body())),
        "x-should-retry": "false",
    }
    assert plan.unanswered
    assert plan.reason == "no reply matched POST /v1/chat"
    assert plan.completes


def test_header_bytes_are_latin_1_when_they_can_be_and_utf_8_otherwise() -> None:
    assert (
        header_bytes("caf\xe9") == b"caf\xe9"
    )  # the Latin-1 text of bytes an upstream sent, sent back exactly
    assert header_bytes("\u2600") == "\u2600".encode()
    assert header_bytes("a\udcff") == b"a\xff"  # a lone surrogate goes out as the byte it stands for


def test_http_error_unknown_status_falls_back_by_class() -> None:
    assert writer_error_body(418)["tpe"] == "BadRequest"
    assert writer_error_body(599)["tpe"] == "InternalServerError"


def test_a_schedule_counts_from_the_deadline_not_from_the_wake_up() -> None:
    schedule = Schedule(10.0)
    assert schedule.wait(0.5, 10.0) == 0.5
    assert schedule.wait(0.5, 10.7) == pytest.approx(0.3)  # woke 0.2 s late: the next wait is shorter
    assert schedule.wait(0.1, 11.5) == 0  # past due: no wait at all
    assert schedule.wait(0.4003, 11.5) == 0  # due in 0.3 ms: written now, not slept for
    assert schedule.wait(0.001, 11.5) == pytest.approx(0.0013)  # measured from the deadline before
    assert schedule.due == pytest.approx(11.5013)

"""A script's stream is encoded once and reused by every response, byte for byte what a fresh render sends."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from costutil import peak_bytes
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from writer_stream_testkit.errors import ScriptError
from writer_stream_testkit.scripts.application import ApplicationScript
from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.scripts.completion import CompletionScript
from writer_stream_testkit.scripts.faults import Fault
from writer_stream_testkit.scripts.plan import LazySteps, ResponsePlan, Write
from writer_stream_testkit.scripts.question import QuestionScript
from writer_stream_testkit.scripts.render import FRAME_CACHE_BYTES, apply_faults
from writer_stream_testkit.wire.call import Call


def call(path: str = "chat", **fields: Any) -> Call:
    body = {"model": "palmyra-x5", "stream": True, "messages": [], **fields}
    return Call.create(
        method="POST", url=f"http://127.0.0.1/v1/{path}", headers=[], content=json.dumps(body).encode()
    )


def fresh(script: Any) -> ResponsePlan:
    """The plan rendered from the script's frames made now: the oracle, which keeps nothing."""
    return apply_faults(script.frames(), script.faults)


TEXTS = st.lists(st.sampled_from(["Hi", "h\u00e9llo", " \u2603", "a\r\nb", "x" * 70, '"q"']), max_size=6)
FAULTS = st.lists(
    st.sampled_from(
        [
            Fault.keep_alive(every=2),
            Fault.malformed_chunk(after_chunks=1),
            Fault.error_event(after_chunks=2),
            Fault.missing_done(),
            Fault.data_after_done(),
            Fault.disconnect(after_chunks=1, mid_chunk=True),
            Fault.stall(after_chunks=1, seconds=0.5),
            Fault.delay(each=0.01),
            Fault.crlf(),
            Fault.split(sizes=[7, 30]),
            Fault.split_mid_utf8(),
            Fault.split_mid_crlf(),
        ]
    ),
    max_size=3,
)


@settings(max_examples=80, deadline=None)
@given(texts=TEXTS, faults=FAULTS, kind=st.sampled_from(["chat", "completion", "application"]))
def test_a_kept_stream_sends_what_a_fresh_render_sends(
    texts: list[str], faults: list[Fault], kind: str
) -> None:
    base: Any = {
        "chat": StreamScript().content(*texts) if texts else StreamScript(),
        "completion": CompletionScript(done=True).text(*texts) if texts else CompletionScript(done=True),
        "application": ApplicationScript(done=True).content(*texts)
        if texts
        else ApplicationScript(done=True),
    }[kind]
    try:
        script = base.with_fault(*faults)
        expected = fresh(script)
        tuple(expected.steps)
    except ScriptError:
        assume(False)
    for _ in range(3):  # the first pass makes and keeps the blocks, the next ones reuse them
        assert tuple(script.stream_plan().steps) == tuple(expected.steps)
    assert script._encoded().kept()


def test_the_second_response_reuses_the_first_ones_bytes() -> None:
    script = StreamScript().content("Hel", "lo")
    first = [step.data for step in script.plan(call()).steps if isinstance(step, Write)]
    second = [step.data for step in script.plan(call()).steps if isinstance(step, Write)]
    assert first == second
    assert all(a is b for a, b in zip(first, second, strict=True))  # kept, not encoded again


def test_responses_planned_at_once_share_one_encoding() -> None:
    """200 streams starting together: the first plan keeps the blocks, so none encodes them again."""
    script = StreamScript().content("Hel", "lo").with_fault(Fault.keep_alive(every=1))
    plans = [script.plan(call()) for _ in range(3)]  # none of them sent yet
    writes = [[w for w in plan.writes() if w.startswith(b"data: {")] for plan in plans]
    assert writes[0] == writes[1] == writes[2]
    assert all(a is b is c for a, b, c in zip(*writes, strict=True))


def test_a_fault_free_kept_stream_is_its_write_steps_as_they_are() -> None:
    script = CompletionScript().text("a", "b")
    list(script.stream_plan().steps)
    assert script.stream_plan().steps is script.stream_plan().steps


@pytest.mark.parametrize("shape", ["flat", "spec"])
@pytest.mark.parametrize(
    "asked", ["Why?", 'Say "hi"\n', "Jos\u00e9 \u2603", "writer-stream-testkit:asked-question:5f0c"]
)
def test_each_request_gets_its_own_question_in_one_kept_stream(shape: str, asked: str) -> None:
    script = QuestionScript(shape=shape).answer("It ", "is.").sources({"file_id": "f1", "snippet": "s"})
    for question in ("First?", asked, asked):
        plan = script.plan(call("graphs/question", question=question))
        assert plan.body() == replace(script, question=question).sse()


def test_a_question_script_holding_the_placeholder_still_echoes_the_question() -> None:
    placeholder = "writer-stream-testkit:asked-question:5f0c"
    script = QuestionScript().answer("About ", placeholder).raw({"note": placeholder})
    plan = script.plan(call("graphs/question", question="Why?"))
    assert plan.body() == replace(script, question="Why?").sse()
    assert placeholder.encode() in plan.body()


def test_questions_reuse_the_kept_stream_without_making_chunks_again(monkeypatch: pytest.MonkeyPatch) -> None:
    script = QuestionScript().answer("It ", "is.").with_fault(Fault.keep_alive(every=1))
    script.plan(call("graphs/question", question="One?")).body()
    made: list[int] = []
    original = QuestionScript._iter_data

    def counting(self: QuestionScript) -> Any:
        made.append(1)
        return original(self)

    monkeypatch.setattr(QuestionScript, "_iter_data", counting)
    body = script.plan(call("graphs/question", question="Two?")).body()
    assert made == []
    assert body == fresh(replace(script, question="Two?")).body()
    assert b'"question":"Two?"' in body


def test_a_stream_over_the_bound_is_made_afresh_and_never_kept() -> None:
    piece = "word " * 600
    script = StreamScript().content(*[piece] * (FRAME_CACHE_BYTES // 3000 + 10))
    first = script.plan(call())
    assert sum(len(w) for w in first.writes()) > FRAME_CACHE_BYTES
    assert not script._encoded().kept()
    second = script.plan(call())
    assert isinstance(second.steps, LazySteps)
    peak = peak_bytes(lambda: sum(len(w) for w in second.writes()))
    assert peak < FRAME_CACHE_BYTES // 2  # one block at a time, not the stream

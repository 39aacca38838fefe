"""The steps a chat script is made of: one frozen value per builder call, the choice each belongs
to, and the tool-call ids a script gives when the test names none."""

from __future__ import annotations

import dataclasses
import re

import pytest

from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.scripts.steps import (
    ContentStep,
    DataStep,
    FinishStep,
    LogprobsStep,
    RawStep,
    RefusalStep,
    ToolCallStep,
    UsageStep,
    default_call_id,
    step_choice,
)

SCRIPT = (
    StreamScript(n=2)
    .content("Hi", choice=1)
    .refusal("No")
    .tool_call("f", ['{"a"'], choice=1)
    .tool_call("f", [":1}"], index=0, choice=1)
    .logprobs(content=[("x", -1)], choice=1)
    .graph_data(status="processing", choice=1)
    .usage(prompt_tokens=1, completion_tokens=1)
    .raw("keep-alive")
    .finish("stop", choice=1)
)


def test_each_builder_call_is_one_step_of_its_kind_with_its_key() -> None:
    assert [type(step) for step in SCRIPT.steps] == [
        ContentStep,
        RefusalStep,
        ToolCallStep,
        ToolCallStep,
        LogprobsStep,
        DataStep,
        UsageStep,
        RawStep,
        FinishStep,
    ]
    assert [step.key for step in SCRIPT.steps] == [
        "content",
        "refusal",
        "tool_call",
        "tool_call",
        "logprobs",
        "data",
        "usage",
        "raw",
        "finish",
    ]
    assert SCRIPT.steps[0] == ContentStep(("Hi",), choice=1)
    assert SCRIPT.steps[5] == DataStep("graph_data", {"status": "processing"}, choice=1)


def test_a_continued_tool_call_is_a_step_that_opens_nothing() -> None:
    opening, continued = SCRIPT.steps[2], SCRIPT.steps[3]
    assert isinstance(opening, ToolCallStep)
    assert isinstance(continued, ToolCallStep)
    assert (opening.opens, continued.opens) == (True, False)
    assert opening.id == continued.id == default_call_id(1, 0)
    assert (opening.arguments, continued.arguments) == (('{"a"',), (":1}",))


def test_steps_are_frozen_and_equal_by_value() -> None:
    step = SCRIPT.steps[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        step.choice = 0  # type: ignore[misc]
    assert hash(FinishStep("stop", 1)) == hash(FinishStep("stop", 1))
    assert FinishStep("stop", 1) != FinishStep("stop", 0)
    assert RefusalStep(("a",)) != ContentStep(("a",))  # a refusal is not content with the same text


def test_usage_and_raw_steps_belong_to_no_choice() -> None:
    assert [step_choice(step) for step in SCRIPT.steps] == [1, 0, 1, 1, 1, 1, None, None, 1]


def test_default_call_ids_are_stable_and_distinct_per_choice_and_index() -> None:
    ids = {default_call_id(choice, index) for choice in range(3) for index in range(3)}
    assert len(ids) == 9
    assert all(re.fullmatch(r"call_[0-9a-f]{24}", i) for i in ids)
    assert default_call_id(0, 1) == default_call_id(0, 1)
    assert default_call_id(0, 1) != default_call_id(1, 0)
    header = StreamScript().tool_call("f", "{}").chunks()[0]["choices"][0]["delta"]["tool_calls"][0]
    assert header["id"] == default_call_id(0, 0)

"""Every script kind reads its YAML steps through one loop and its own call table (base.parts_from_yaml)."""

from __future__ import annotations

import pytest

from writer_stream_testkit.errors import ScriptError
from writer_stream_testkit.scripts.base import ScriptBase, parts_from_yaml
from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.scripts.chat_yaml import CHAT_STEPS, steps_to_yaml
from writer_stream_testkit.scripts.completion import CompletionScript

EVERY_STEP = (
    StreamScript(n=2)
    .content("Hel", "lo")
    .content("Hi", choice=1, logprobs=[-0.5])
    .refusal("No")
    .tool_call("lookup", {"q": "x"})
    .tool_call("search", ["{", "}"], id="call_own", index=3, choice=1)
    .tool_call("lookup", ["more"], index=0)
    .logprobs(content=[("a", -1.0)])
    .graph_data(status="finished", sources=[{"file_id": "f", "snippet": "s"}])
    .llm_data(model="palmyra-x5", prompt="p")
    .translation_data(source_language_code="en", source_text="hi", target_language_code="fr")
    .raw({"custom": True})
    .raw("not json")
    .finish("length", choice=1)
    .usage(prompt_tokens=1, completion_tokens=2, reasoning_tokens=1, cached_tokens=0)
)


def test_the_chat_table_reads_every_step_the_chat_writes() -> None:
    written = {next(iter(item)) for item in steps_to_yaml(EVERY_STEP.steps)}
    assert written == set(CHAT_STEPS)
    again = StreamScript.from_yaml(EVERY_STEP.to_yaml())
    assert again == EVERY_STEP
    assert again.sse() == EVERY_STEP.sse()


def test_the_shared_loop_reads_chat_steps_through_the_chat_table() -> None:
    built = parts_from_yaml(StreamScript(), [{"content": ["a", "b"]}, {"finish": "stop"}], CHAT_STEPS, "doc")
    assert built == StreamScript().content("a", "b").finish("stop")


@pytest.mark.parametrize(
    ("cls", "first"),
    [(StreamScript, "content"), (CompletionScript, "text")],
)
def test_every_kind_names_a_bad_step_alike(cls: type[ScriptBase], first: str) -> None:
    kind = f"kind: {cls.kind}\n"
    with pytest.raises(
        ScriptError, match=rf"^<script YAML>, step 1 \(shout\): unknown step 'shout'; use one of {first}, "
    ):
        cls.from_yaml(kind + "steps:\n  - shout: [a]\n")
    with pytest.raises(
        ScriptError,
        match=rf"^<script YAML>, step 2: a step is a one-key mapping such as \{{{first}: ...\}}, not 'x'",
    ):
        cls.from_yaml(kind + f"steps:\n  - {first}: [a]\n  - x\n")


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ("llm_data: {model: m}", r"step 1 \(llm_data\): wrong fields for this step \(.*prompt"),
        (
            "usage: {prompt_tokens: 1, completion_tokens: 1, extra: 2}",
            r"step 1 \(usage\): unknown field extra; allowed: ",
        ),
        ("tool_call: {arguments: []}", r"step 1 \(tool_call\): a tool_call needs a name\.$"),
        ("content: {pieces: 3}", r"step 1 \(content\): pieces must be a list of strings, not 3\.$"),
        ("raw: 3", r"step 1 \(raw\): raw takes a chunk mapping or a data string, not 3\.$"),
        ("finish: {reason: stop, choice: 0, why: x}", r"step 1 \(finish\): unknown field why"),
        ("content: [a, 3]", r"step 1 \(content\): content\('a', 3\)"),
    ],
)
def test_a_chat_steps_problem_is_named_with_its_place(step: str, message: str) -> None:
    with pytest.raises(ScriptError, match=rf"^<script YAML>, {message}"):
        StreamScript.from_yaml(f"steps:\n  - {step}\n")


def test_no_steps_and_a_bad_auto_finish_read_as_before() -> None:
    assert StreamScript.from_yaml("model: m\nsteps:\n") == StreamScript(model="m")
    with pytest.raises(ScriptError, match=r"^<script YAML>: auto_finish must be true or false, not 'yes'\.$"):
        StreamScript.from_yaml("auto_finish: 'yes'\n")

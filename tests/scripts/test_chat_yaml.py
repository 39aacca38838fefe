"""A chat script's YAML form: small and readable when written, short forms and clear errors when read,
and a round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
from chatscripts import scripts
from hypothesis import given, settings

from writer_stream_testkit.errors import ScriptError
from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.scripts.faults import Fault


def test_yaml_form_is_small_and_readable() -> None:
    script = StreamScript().content("Hi", " there").tool_call("f", ["{}"]).finish("tool_calls")
    assert script.to_yaml() == (
        "model: palmyra-x5\n"
        "steps:\n"
        "- content: [Hi, ' there']\n"
        "- tool_call:\n"
        "    name: f\n"
        "    arguments: ['{}']\n"
        "- finish: tool_calls\n"
    )


def test_yaml_carries_role_on_and_system_fingerprint_only_when_not_the_default() -> None:
    openai = StreamScript(role_on="first", system_fingerprint=None).content("Hi")
    assert openai.to_yaml().splitlines()[:3] == [
        "model: palmyra-x5",
        "system_fingerprint: null",
        "role_on: first",
    ]
    assert StreamScript.from_yaml(openai.to_yaml()) == openai
    assert StreamScript.from_yaml("role_on: first\nsteps: [content: [a, b]]\n").chunks()[1]["choices"][0][
        "delta"
    ] == {"content": "b"}
    with pytest.raises(ScriptError, match=r"<script YAML>: StreamScript role_on='once' is not a choice"):
        StreamScript.from_yaml("role_on: once\n")


def test_yaml_reads_hand_written_short_forms(tmp_path: Path) -> None:
    text = """
model: palmyra-x4
steps:
  - content: Hi
  - content: {pieces: [a, b], choice: 1, logprobs: [-0.1, [[b, -0.2]]]}
  - tool_call: {name: f, arguments: ['{}']}
  - finish: {reason: length, choice: 1}
  - usage: {prompt_tokens: 1, completion_tokens: 2}
faults:
  - missing_done
  - disconnect: {after_chunks: 2}
"""
    path = tmp_path / "s.yaml"
    path.write_text(text)
    expected = (
        StreamScript(model="palmyra-x4")
        .content("Hi")
        .content("a", "b", choice=1, logprobs=[-0.1, [("b", -0.2)]])
        .tool_call("f", ["{}"])
        .finish("length", choice=1)
        .usage(prompt_tokens=1, completion_tokens=2)
        .with_fault(Fault.missing_done(), Fault.disconnect(after_chunks=2))
    )
    assert StreamScript.from_yaml(text) == expected
    assert StreamScript.from_yaml(path) == expected
    assert StreamScript.from_yaml(str(path)) == expected


def test_yaml_refuses_python_tags() -> None:
    hostile = "model: !!python/object/apply:os.system ['echo pwned']\nsteps: []\n"
    with pytest.raises(ScriptError, match=r"refuses Python tags like !!python/object"):
        StreamScript.from_yaml(hostile)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "steps:\n  - content: [a]\n  - finish: done\n",
            r"<script YAML>, step 2 \(finish\): .*not a finish reason",
        ),
        ("steps:\n  - shout: [a]\n", r"step 1 \(shout\): unknown step 'shout'"),
        ("steps:\n  - tool_call: {arguments: []}\n", r"step 1 \(tool_call\): a tool_call needs a name"),
        ("steps:\n  - usage: {prompt_tokens: 1, completion_tokens: 1, extra: 2}\n", "unknown field extra"),
        ("steps:\n  - content: [1]\n", "every content piece must be a string"),
        ("modle: x\n", "unknown key modle"),
        ("- a\n", "a script is a mapping"),
        ("faults: [explode]\n", r"fault 1: unknown fault 'explode'"),
        ("model: [\n", "not valid YAML"),
    ],
)
def test_yaml_errors_name_the_source_and_step(text: str, message: str) -> None:
    with pytest.raises(ScriptError, match=message):
        StreamScript.from_yaml(text)


def test_yaml_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("steps:\n  - finish: nope\n")
    with pytest.raises(ScriptError, match=rf"^{path}, step 1 \(finish\)"):
        StreamScript.from_yaml(path)
    with pytest.raises(ScriptError, match="Cannot read the script file"):
        StreamScript.from_yaml(tmp_path / "missing.yaml")


@settings(max_examples=150, deadline=None)
@given(scripts())
def test_yaml_round_trips_random_scripts(script: StreamScript) -> None:
    text = script.to_yaml()
    again = StreamScript.from_yaml(text)
    assert again == script
    assert again.to_yaml() == text
    assert again.sse() == script.sse()

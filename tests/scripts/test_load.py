"""Reading any reply file: the kind: key picks the class, and a wrong or missing kind is named with the
fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from writer_stream_testkit import ApplicationScript, CompletionScript, QuestionScript, StreamScript
from writer_stream_testkit.errors import ScriptError
from writer_stream_testkit.scripts.json_reply import JsonReply
from writer_stream_testkit.scripts.load import script_from_yaml


def test_yaml_forms_name_their_kind_and_read_back_through_the_generic_loader() -> None:
    script = QuestionScript(question="Q?").answer("a").sources({"file_id": "1234", "snippet": "avelumab"})
    text = script.to_yaml()
    assert text.startswith("kind: question\n")
    assert script_from_yaml(text) == script
    assert script_from_yaml(StreamScript().content("x").to_yaml()) == StreamScript().content("x")
    assert JsonReply.from_yaml(JsonReply.to("/v1/models", {"models": []}).to_yaml()) == JsonReply.to(
        "/v1/models", {"models": []}
    )


def test_a_script_file_is_read_by_path(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    script = ApplicationScript("app-1").stage("s1", "thinking").content("Draft")
    path.write_text(script.to_yaml())
    assert ApplicationScript.from_yaml(path) == script
    assert script_from_yaml(str(path)) == script
    path.write_text("kind: poem\n")
    with pytest.raises(ScriptError, match=rf"^{path}: unknown kind 'poem'"):
        script_from_yaml(path)


@pytest.mark.parametrize(
    ("kind", "cls"),
    [
        ("chat", StreamScript),
        ("completion", CompletionScript),
        ("question", QuestionScript),
        ("application", ApplicationScript),
    ],
)
def test_the_kind_key_picks_the_class(kind: str, cls: type) -> None:
    script = script_from_yaml(f"kind: {kind}\nsteps: []\n")
    assert type(script) is cls
    assert script == cls()


def test_no_kind_key_reads_a_chat_script() -> None:
    assert script_from_yaml("steps:\n- content: [Hi]\n") == StreamScript().content("Hi")


def test_an_unknown_kind_is_named_with_the_closest_one_and_every_choice() -> None:
    with pytest.raises(ScriptError) as caught:
        script_from_yaml("kind: chatt\n")
    assert str(caught.value) == (
        "<script YAML>: unknown kind 'chatt' (did you mean 'chat'?); use one of chat, completion, "
        "question, application, json (no kind: key means chat)."
    )
    with pytest.raises(ScriptError, match=r"^<script YAML>: unknown kind 3; use one of chat, "):
        script_from_yaml("kind: 3\n")


def test_a_wrong_kind_that_reads_as_another_says_which_and_how_to_fix_it() -> None:
    with pytest.raises(ScriptError) as caught:
        script_from_yaml("kind: completion\nsteps:\n- answer: [Paris]\n")
    assert str(caught.value).startswith(
        "<script YAML> says kind: completion, but it is a question script: make it kind: question. "
        "(Read as completion, it failed: <script YAML>, step 1 (answer): unknown step 'answer'"
    )


def test_a_missing_kind_that_reads_as_another_says_to_add_it() -> None:
    with pytest.raises(ScriptError) as caught:
        script_from_yaml("steps:\n- stage: {id: s1, content: thinking}\n")
    assert str(caught.value).startswith(
        "<script YAML> has no kind: key, so it was read as a chat script, but it is a application script: "
        "add kind: application as its first line. (Read as chat, it failed:"
    )


def test_a_mistake_that_fits_no_other_kind_is_the_kinds_own_error() -> None:
    with pytest.raises(
        ScriptError, match=r"^<script YAML>, step 1 \(sing\): unknown step 'sing'; use one of content"
    ):
        script_from_yaml("steps:\n- sing: [a]\n")

"""The text completion script: its stream with and without the empty first chunk and [DONE], the
JSON answer it adds up to, its summary, YAML form and checks."""

from __future__ import annotations

import json

import pytest
from calls import call

from writer_stream_testkit import CompletionScript
from writer_stream_testkit.errors import ScriptError


def test_the_stream_opens_with_an_empty_value_and_sends_no_done_by_default() -> None:
    script = CompletionScript().text("Hel", "lo")
    assert script.sse() == b'data: {"value":""}\n\ndata: {"value":"Hel"}\n\ndata: {"value":"lo"}\n\n'


def test_without_the_empty_first_chunk_and_with_done_and_a_raw_chunk() -> None:
    script = CompletionScript(empty_first=False, done=True).text("a").raw({"value": "b", "x": 1})
    assert script.sse() == b'data: {"value":"a"}\n\ndata: {"value":"b","x":1}\n\ndata: [DONE]\n\n'
    assert script.json_body() == {"choices": [{"text": "ab", "log_probs": None}], "model": "palmyra-x5"}


def test_a_raw_chunk_without_a_text_value_adds_nothing_to_the_answer() -> None:
    script = CompletionScript(model="palmyra-x4").text("a").raw({"other": 1}).raw("not json")
    assert script.json_body() == {"choices": [{"text": "a", "log_probs": None}], "model": "palmyra-x4"}
    assert script.describe() == "CompletionScript(model='palmyra-x4', 4 chunks, text='a')"


def test_a_request_with_stream_false_gets_the_completion_json() -> None:
    plan = CompletionScript().text("Hi", "!").plan(call(False))
    assert dict(plan.headers)["content-type"] == "application/json"
    assert json.loads(plan.body()) == {"choices": [{"text": "Hi!", "log_probs": None}], "model": "palmyra-x5"}
    assert CompletionScript().text("Hi").plan(call(True)).body().startswith(b'data: {"value":""}')


def test_the_yaml_form_names_only_what_is_not_the_default_and_reads_back() -> None:
    plain = CompletionScript().text("a")
    assert plain.to_yaml() == "kind: completion\nmodel: palmyra-x5\nsteps:\n- text: [a]\n"
    odd = CompletionScript(empty_first=False, done=True).text("a").raw({"value": "b"})
    assert odd.to_yaml() == (
        "kind: completion\nmodel: palmyra-x5\nempty_first: false\ndone: true\n"
        "steps:\n- text: [a]\n- raw:\n    value: b\n"
    )
    assert CompletionScript.from_yaml(odd.to_yaml()) == odd


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: CompletionScript(model=3), "CompletionScript model=3 must be a string."),
        (lambda: CompletionScript(done="yes"), "CompletionScript done='yes' must be True or False."),
        (
            lambda: CompletionScript(empty_first=None),
            "CompletionScript empty_first=None must be True or False.",
        ),
    ],
)
def test_bad_settings_are_named(make: object, message: str) -> None:
    with pytest.raises(ScriptError) as caught:
        make()  # type: ignore[operator]
    assert str(caught.value) == message

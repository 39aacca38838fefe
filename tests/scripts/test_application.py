"""The application script: its endpoint for one application or any, the JSON answer, its summary and
YAML form."""

from __future__ import annotations

import json

import pytest
from calls import call

from writer_stream_testkit import ApplicationScript
from writer_stream_testkit.errors import ScriptError


def test_stream_false_gets_the_json_answer() -> None:
    plan = ApplicationScript().content("Draft").plan(call(False, "/v1/applications/a"))
    assert dict(plan.headers)["content-type"] == "application/json"
    assert json.loads(plan.body()) == {"suggestion": "Draft"}  # no title sent: left out, not null
    titled = ApplicationScript().title("T").content("Draft").plan(call(False, "/v1/applications/a"))
    assert json.loads(titled.body()) == {"title": "T", "suggestion": "Draft"}


def test_the_endpoint_is_one_application_or_any() -> None:
    assert str(ApplicationScript("app-1").endpoint) == "POST /v1/applications/app-1"
    assert str(ApplicationScript().endpoint) == "POST /v1/applications/{application_id}"


def test_the_json_answer_takes_the_last_title_and_the_whole_content() -> None:
    script = ApplicationScript("app-1").title("A").stage("s1", "thinking").title("B").content("x", "y")
    assert script.json_body() == {"title": "B", "suggestion": "xy"}
    assert script.describe() == "ApplicationScript(application_id='app-1', 5 chunks, content='xy')"
    assert ApplicationScript().describe() == "ApplicationScript(application_id=None, 0 chunks)"


def test_a_stage_without_sources_leaves_them_out_of_the_yaml_and_reads_back() -> None:
    script = (
        ApplicationScript("app-1", done=True)
        .title("A")
        .stage("s1", "thinking")
        .stage("s2", "looking", sources=["https://example.com"])
        .content("x", "y")
    )
    assert script.to_yaml() == (
        "kind: application\napplication_id: app-1\ndone: true\nsteps:\n- title: A\n"
        "- stage: {id: s1, content: thinking}\n"
        "- stage:\n    id: s2\n    content: looking\n    sources: ['https://example.com']\n- content: [x, y]\n"
    )
    assert ApplicationScript.from_yaml(script.to_yaml()) == script
    assert script.sse().endswith(b"data: [DONE]\n\n")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: ApplicationScript().title(3), "title(): 3 must be a string."),
        (lambda: ApplicationScript(done=1), "ApplicationScript done=1 must be True or False."),
        (lambda: ApplicationScript().stage("s", 3), "stage('s'): content=3 must be a string."),
    ],
)
def test_bad_calls_are_named(make: object, message: str) -> None:
    with pytest.raises(ScriptError) as caught:
        make()  # type: ignore[operator]
    assert str(caught.value) == message

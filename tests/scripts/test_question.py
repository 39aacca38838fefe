"""The Knowledge Graph question script: the question echoed from the request, references on the wire,
the answer the chunks add up to, its summary."""

from __future__ import annotations

import json

import pytest
from calls import call

from writer_stream_testkit import QuestionScript
from writer_stream_testkit.errors import ScriptError


def test_question_without_a_question_repeats_the_requests() -> None:
    script = QuestionScript().answer("Paris")
    plan = script.plan(call(True, "/v1/graphs/question", question="Capital of France?", graph_ids=["g"]))
    assert b'"question":"Capital of France?"' in plan.body()
    assert script.chunks()[0]["question"] == ""
    json_plan = script.plan(call(False, "/v1/graphs/question", question="Q?", graph_ids=["g"]))
    assert json.loads(json_plan.body())["question"] == "Q?"


def test_file_references_accept_the_python_name_and_send_the_wire_name() -> None:
    script = QuestionScript().references(files=[{"file_id": "f", "score": 1, "text": "t"}])
    assert script.chunks()[0]["references"] == {"files": [{"fileId": "f", "score": 1, "text": "t"}]}


def test_a_question_the_script_names_is_kept_whatever_the_request_asks() -> None:
    script = QuestionScript(question="Mine?").answer("x")
    plan = script.plan(call(False, "/v1/graphs/question", question="Theirs?", graph_ids=["g"]))
    assert json.loads(plan.body())["question"] == "Mine?"


def test_the_json_answer_joins_the_answer_and_merges_every_source_subquery_and_reference() -> None:
    script = (
        QuestionScript(question="Q?")
        .answer("A", "B")
        .sources({"file_id": "f", "snippet": "s"})
        .subqueries({"query": "q", "answer": "a", "sources": []})
        .references(files=[{"file_id": "f", "score": 1, "text": "t"}])
        .references(
            web=[{"score": 0.5, "text": "t", "title": "T", "url": "u"}],
            files=[{"file_id": "g", "score": 2, "text": "u"}],
        )
    )
    assert script.json_body() == {
        "question": "Q?",
        "answer": "AB",
        "sources": [{"file_id": "f", "snippet": "s"}],
        "subqueries": [{"query": "q", "answer": "a", "sources": []}],
        "references": {
            "files": [{"fileId": "f", "score": 1, "text": "t"}, {"fileId": "g", "score": 2, "text": "u"}],
            "web": [{"score": 0.5, "text": "t", "title": "T", "url": "u"}],
        },
    }
    assert script.describe() == "QuestionScript(6 chunks, answer='AB')"
    assert QuestionScript(shape="spec").describe() == "QuestionScript(0 chunks, shape='spec')"
    # Without subqueries or references sent, the answer leaves them out.
    assert QuestionScript().answer("x").json_body() == {"question": "", "answer": "x", "sources": []}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: QuestionScript(question=3), "QuestionScript question=3 must be a string, or None."),
        (
            lambda: QuestionScript().sources("x"),
            "sources(): a Source is a mapping with file_id, snippet, not 'x'.",
        ),
        (
            lambda: QuestionScript().subqueries({"query": "q", "answer": "a", "sources": "x"}),
            "subqueries(): a Subquery's sources must be a list of sources, not 'x'.",
        ),
    ],
)
def test_bad_calls_are_named(make: object, message: str) -> None:
    with pytest.raises(ScriptError) as caught:
        make()  # type: ignore[operator]
    assert str(caught.value) == message


def test_the_yaml_form_keeps_the_question_shape_and_done_and_reads_back() -> None:
    script = QuestionScript(question="Q?", shape="spec", done=True).answer("a")
    assert (
        script.to_yaml() == "kind: question\nquestion: Q?\nshape: spec\ndone: true\nsteps:\n- answer: [a]\n"
    )
    assert QuestionScript.from_yaml(script.to_yaml()) == script

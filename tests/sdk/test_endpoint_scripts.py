"""The completion, question and application scripts: shapes the SDK parses, renders, YAML forms."""

from __future__ import annotations

import json
from typing import Any

import pydantic
import pytest
from calls import call
from hypothesis import given, settings
from hypothesis import strategies as st
from writerai._streaming import SSEDecoder as SDKDecoder
from writerai.types import (
    ApplicationGenerateContentChunk,
    ApplicationGenerateContentResponse,
    Completion,
    CompletionChunk,
    Question,
    QuestionResponseChunk,
)

from writer_stream_testkit import ApplicationScript, CompletionScript, Fault, QuestionScript, StreamScript
from writer_stream_testkit.errors import ScriptError
from writer_stream_testkit.scripts.load import script_from_yaml

SOURCE = {"file_id": "1234", "snippet": "Bavencio is the brand name for avelumab."}
SUBQUERY = {"query": "What is Bavencio?", "answer": "A drug.", "sources": [SOURCE]}
FILE_REF = {"fileId": "1234", "score": 0.92, "text": "avelumab", "page": 1, "cite": None}
WEB_REF = {"score": 0.5, "text": "t", "title": "Bavencio", "url": "https://example.com"}
STAGE_ID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"


def decoded(script: Any) -> list[str]:
    """The data lines as writerai's own SSE decoder reads them from the rendered bytes."""
    return [event.data for event in SDKDecoder().iter_bytes(iter([script.sse()]))]


# --- shapes: what writerai 3.0.0 parses, validated by its own models ------------------------------


def test_completion_chunks_are_completion_chunks_and_the_json_is_a_completion() -> None:
    script = CompletionScript().text("Hel", "lo")
    assert decoded(script) == ['{"value":""}', '{"value":"Hel"}', '{"value":"lo"}']
    assert [CompletionChunk.model_validate(c).value for c in script.chunks()] == ["", "Hel", "lo"]
    body = Completion.model_validate(script.json_body())
    assert (body.choices[0].text, body.choices[0].log_probs, body.model) == ("Hello", None, "palmyra-x5")
    assert script.json_body() == {"choices": [{"text": "Hello", "log_probs": None}], "model": "palmyra-x5"}


def test_completion_options_drop_the_empty_first_chunk_and_add_done() -> None:
    script = CompletionScript(empty_first=False, done=True).text("a")
    assert decoded(script) == ['{"value":"a"}', "[DONE]"]


def test_question_chunks_are_flat_questions_by_default_as_writers_docs_show() -> None:
    script = (
        QuestionScript(question="Q?")
        .answer("The", " answer")
        .sources(SOURCE)
        .subqueries(SUBQUERY)
        .references(files=[FILE_REF], web=[WEB_REF])
    )
    chunks = script.chunks()
    assert chunks[0] == {
        "question": "Q?",
        "answer": "The",
        "sources": [],
        "subqueries": None,
        "references": None,
    }
    parsed = [Question.model_validate(c) for c in chunks]  # strict: a flat chunk is a whole Question
    assert [q.answer for q in parsed] == ["The", " answer", "", "", ""]
    assert parsed[2].sources[0] is not None
    assert parsed[2].sources[0].file_id == "1234"
    assert parsed[3].subqueries is not None
    assert parsed[3].subqueries[0] is not None
    assert parsed[4].references is not None
    assert parsed[4].references.files is not None
    assert parsed[4].references.files[0].file_id == "1234"
    body = Question.model_validate(script.json_body())
    assert (body.question, body.answer, len(body.sources)) == ("Q?", "The answer", 1)
    assert body.subqueries is not None
    assert body.references is not None


def test_question_spec_shape_wraps_each_chunk_as_the_sdk_type_declares() -> None:
    script = QuestionScript(question="Q?", shape="spec").answer("Paris").sources(SOURCE)
    parsed = [QuestionResponseChunk.model_validate(c) for c in script.chunks()]
    assert [p.data.answer for p in parsed] == ["Paris", ""]
    assert "shape='spec'" in script.describe()


def test_question_spec_shape_leaves_out_subqueries_and_references_it_does_not_carry() -> None:
    """The spec declares both optional, not nullable; the flat shape keeps the guide's nulls."""
    subquery = {"query": "q", "answer": "a", "sources": []}
    spec = QuestionScript(question="Q?", shape="spec").answer("Paris").subqueries(subquery)
    assert [c["data"] for c in spec.chunks()] == [
        {"question": "Q?", "answer": "Paris", "sources": []},
        {"question": "Q?", "answer": "", "sources": [], "subqueries": [subquery]},
    ]
    flat = QuestionScript(question="Q?").answer("Paris")
    assert flat.chunks() == [
        {"question": "Q?", "answer": "Paris", "sources": [], "subqueries": None, "references": None}
    ]


def test_application_chunks_are_application_chunks_and_the_json_its_response() -> None:
    script = (
        ApplicationScript()
        .title("Research")
        .stage(STAGE_ID, "Searching for hotels", sources=["https://www.example.com/hotels"])
        .content("Here are", " three hotels")
    )
    parsed = [ApplicationGenerateContentChunk.model_validate(c) for c in script.chunks()]
    assert [(p.delta.title, p.delta.content) for p in parsed] == [
        ("Research", None),
        (None, None),
        (None, "Here are"),
        (None, " three hotels"),
    ]
    assert parsed[1].delta.stages is not None
    assert parsed[1].delta.stages[0].sources == ["https://www.example.com/hotels"]
    body = ApplicationGenerateContentResponse.model_validate(script.json_body())
    assert (body.title, body.suggestion) == ("Research", "Here are three hotels")
    # title and content are optional, not nullable, in the reference: left out, never null.
    stage = {"id": STAGE_ID, "content": "Searching for hotels", "sources": ["https://www.example.com/hotels"]}
    assert decoded(script)[:3] == [
        '{"delta":{"title":"Research","stages":null}}',
        json.dumps({"delta": {"stages": [stage]}}, separators=(",", ":")),
        '{"delta":{"content":"Here are","stages":null}}',
    ]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: CompletionScript().text(1), "every text piece must be a string"),  # type: ignore[arg-type]
        (lambda: QuestionScript().sources({"file_id": "f"}), "needs snippet"),
        (lambda: QuestionScript().subqueries({"query": "q"}), "needs answer"),
        (lambda: QuestionScript().references(), "pass files="),
        (lambda: QuestionScript().references(web=[{"text": "t"}]), "needs score"),
        (lambda: QuestionScript(shape="wrapped"), "is not a chunk shape"),  # type: ignore[arg-type]
        (lambda: ApplicationScript(application_id="a/b"), "application_id='a/b'"),
        (lambda: ApplicationScript().stage("", "x"), "stage id must be a non-empty string"),
        (lambda: ApplicationScript().stage("s", "x", sources="https://x"), "sources must be a list"),
        (lambda: CompletionScript().with_fault(Fault.missing_done()), "ends without one"),
        (lambda: QuestionScript().with_fault(Fault.data_after_done()), "build it with done=True"),
    ],
)
def test_builder_mistakes_are_sentences_naming_the_call(build: Any, message: str) -> None:
    with pytest.raises(ScriptError, match=message):
        build()


def test_each_script_knows_its_endpoint() -> None:
    assert str(StreamScript().endpoint) == "POST /v1/chat"
    assert str(CompletionScript().endpoint) == "POST /v1/completions"
    assert str(QuestionScript().endpoint) == "POST /v1/graphs/question"
    assert ApplicationScript().endpoint.matches("POST", "/v1/applications/any-id")
    assert not ApplicationScript("app-1").endpoint.matches("POST", "/v1/applications/app-2")
    assert not ApplicationScript().endpoint.matches("GET", "/v1/applications/any-id")


def test_faults_render_through_the_shared_engine() -> None:
    script = (
        CompletionScript()
        .text("a", "b")
        .with_fault(Fault.disconnect(after_chunks=2), Fault.split(one_byte=True))
    )
    plan = script.stream_plan()
    assert not plan.completes
    assert plan.body() == b'data: {"value":""}\n\ndata: {"value":"a"}\n\n'
    assert all(len(piece) == 1 for piece in plan.writes())
    replaced = QuestionScript().answer("x").with_fault(Fault.http_error(429))
    assert replaced.plan(call(True, "/v1/graphs/question")).status == 429
    assert replaced.plan(call(False, "/v1/graphs/question")).status == 429


# --- YAML ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "text", "message"),
    [
        (CompletionScript, "kind: question\n", r"this is a 'question' script.*QuestionScript\.from_yaml"),
        (CompletionScript, "kind: completion\nsteps:\n- txt: [a]\n", r"step 1 \(txt\): unknown step 'txt'"),
        (CompletionScript, "kind: completion\nsteps:\n- text: [1]\n", r"step 1 \(text\): .*must be a string"),
        (QuestionScript, "steps:\n- sources: [{file_id: f}]\n", r"step 1 \(sources\): .*needs snippet"),
        (ApplicationScript, "steps:\n- stage: {id: s}\n", r"step 1 \(stage\): .*arguments it does not take"),
        (ApplicationScript, "colour: red\n", "unknown key colour"),
        (QuestionScript, "faults: [explode]\n", r"fault 1: unknown fault 'explode'"),
        (CompletionScript, "!!python/object:os.system {}\n", "refuses Python tags"),
    ],
)
def test_yaml_mistakes_name_the_source_and_step(cls: Any, text: str, message: str) -> None:
    with pytest.raises(ScriptError, match=message):
        cls.from_yaml(text)


TEXT = st.text(st.characters(codec="utf-8"), max_size=8)
LINE = TEXT.filter(lambda t: "\n" not in t and "\r" not in t)
FAULTS = st.lists(
    st.sampled_from(
        [
            Fault.crlf(),
            Fault.split(sizes=[3]),
            Fault.delay(each=0.5),
            Fault.keep_alive(every=2),
            Fault.http_error(503),
        ]
    ),
    max_size=2,
    unique=True,
).filter(lambda fs: sum(f.replaces for f in fs) <= 1)


@st.composite
def completion_scripts(draw: st.DrawFn) -> CompletionScript:
    script = CompletionScript(model=draw(TEXT), empty_first=draw(st.booleans()), done=draw(st.booleans()))
    for _ in range(draw(st.integers(0, 5))):
        if draw(st.booleans()):
            script = script.text(*draw(st.lists(TEXT, max_size=3)))
        else:
            script = script.raw(draw(LINE | st.dictionaries(TEXT, TEXT, max_size=2)))
    return script.with_fault(*draw(FAULTS))


@st.composite
def question_scripts(draw: st.DrawFn) -> QuestionScript:
    script = QuestionScript(
        question=draw(st.none() | TEXT),
        shape=draw(st.sampled_from(["flat", "spec"])),
        done=draw(st.booleans()),
    )
    for _ in range(draw(st.integers(0, 5))):
        which = draw(st.integers(0, 3))
        source = {"file_id": draw(TEXT), "snippet": draw(TEXT)}
        if which == 0:
            script = script.answer(*draw(st.lists(TEXT, min_size=1, max_size=3)))
        elif which == 1:
            script = script.sources(source)
        elif which == 2:
            script = script.subqueries({"query": draw(TEXT), "answer": draw(TEXT), "sources": [source]})
        else:
            script = script.references(
                files=[{"fileId": draw(TEXT), "score": draw(st.floats(0, 1)), "text": draw(TEXT)}]
            )
    return script.with_fault(*draw(FAULTS))


@st.composite
def application_scripts(draw: st.DrawFn) -> ApplicationScript:
    script = ApplicationScript(application_id=draw(st.none() | st.sampled_from(["app-1", STAGE_ID])))
    for _ in range(draw(st.integers(0, 5))):
        which = draw(st.integers(0, 2))
        if which == 0:
            script = script.content(*draw(st.lists(TEXT, min_size=1, max_size=3)))
        elif which == 1:
            sources = draw(st.none() | st.lists(TEXT, max_size=2))
            script = script.stage(draw(TEXT.filter(bool)), draw(TEXT), sources=sources)
        else:
            script = script.title(draw(TEXT))
    return script.with_fault(*draw(FAULTS))


@settings(max_examples=60, deadline=None)
@given(st.one_of(completion_scripts(), question_scripts(), application_scripts()))
def test_yaml_round_trips_random_scripts(
    script: CompletionScript | QuestionScript | ApplicationScript,
) -> None:
    text = script.to_yaml()
    again = type(script).from_yaml(text)
    assert again == script
    assert again.to_yaml() == text
    assert script_from_yaml(text) == script
    assert again.sse() == script.sse()


@settings(max_examples=60, deadline=None)
@given(st.one_of(question_scripts(), application_scripts()))
def test_random_scripts_decode_into_chunks_the_sdk_types_accept(
    script: QuestionScript | ApplicationScript,
) -> None:
    data = [json.loads(d) for d in decoded(script) if d != "[DONE]"]
    assert data == script.chunks()
    for chunk in data:
        if isinstance(script, ApplicationScript):
            ApplicationGenerateContentChunk.model_validate(chunk)
        elif script.shape == "spec":
            QuestionResponseChunk.model_validate(chunk)
        else:
            Question.model_validate(chunk)
    try:
        model: type[pydantic.BaseModel] = (
            ApplicationGenerateContentResponse if isinstance(script, ApplicationScript) else Question
        )
        model.model_validate(script.json_body())
    except pydantic.ValidationError as exc:  # pragma: no cover - the failure message is the point
        raise AssertionError(f"{script.json_body()} is not a {model.__name__}: {exc}") from None

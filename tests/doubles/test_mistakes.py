"""The doorstep mistakes of issue 21, rerun: each gets a message that names it and its fix in one read.

One row per mistake: a function that makes it and returns what the user reads
first (the client's error, the verdict, the ScriptError), and the words that
must be in it, near the top. Mistakes only the pytest plugin can explain run
through pytester at the end.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import writerai

from writer_stream_testkit import (
    ApplicationScript,
    CompletionScript,
    FakeWriterServer,
    Fault,
    QuestionScript,
    ReplyError,
    ScriptError,
    SlowRetryWarning,
    StreamScript,
    UnexpectedRequestError,
    WriterMock,
)
from writer_stream_testkit.scripts.load import script_from_yaml

USER = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]


def _raised(action: Callable[[], object], kind: type[BaseException] = ScriptError) -> str:
    with pytest.raises(kind) as caught:
        action()
    return str(caught.value)


def real_api_beside_a_server() -> str:
    with FakeWriterServer():
        try:
            writerai.Writer(api_key="k", base_url="https://api.writer.com").chat.chat(model="m", messages=[])
        except writerai.InternalServerError as error:
            from writer_stream_testkit.doubles.guard import guard

            guard.clear()
            return error.message
    raise AssertionError("the request was not refused")


def stream_fault_on_a_plain_request() -> str:
    with WriterMock() as mock:
        mock.reply(StreamScript().content("a", "b").finish().with_fault(Fault.disconnect(after_chunks=1)))
        with pytest.raises(writerai.InternalServerError):
            writerai.Writer(api_key="k").chat.chat(model="m", messages=USER)  # type: ignore[arg-type]
        message = _raised(mock.verify, ReplyError)
        mock.reset()
    return message


def bare_fault_for_another_endpoint() -> str:
    with WriterMock() as mock:
        mock.reply(Fault.http_error(500))
        with pytest.raises(writerai.InternalServerError):
            writerai.Writer(api_key="k", max_retries=0).completions.create(model="m", prompt="p")
        message = _raised(mock.verify, UnexpectedRequestError)
        mock.reset()
    return message


def json_for_an_application_without_method() -> str:
    return _raised(lambda: WriterMock().reply({"id": "x"}, path="/v1/applications/abc"))


def a_wrong_path() -> str:
    return _raised(lambda: WriterMock().reply({"models": []}, path="/models"))


def kind_typo() -> str:
    return _raised(lambda: script_from_yaml("kind: completon\nsteps:\n- text: [a]\n"))


def kind_missing() -> str:
    return _raised(lambda: script_from_yaml("steps:\n- text: [Once, ' upon']\n"))


def kind_wrong() -> str:
    return _raised(lambda: script_from_yaml("kind: completion\nsteps:\n- content: [Hello]\n"))


def whole_list_messages() -> str:
    with WriterMock() as mock:
        mock.reply(StreamScript().content("x").finish(), messages=[{"role": "user", "content": "hi"}])
        with pytest.raises(writerai.InternalServerError):
            writerai.Writer(api_key="k").chat.chat(model="m", messages=USER)  # type: ignore[arg-type]
        message = _raised(mock.verify, UnexpectedRequestError)
        mock.reset()
    return message


def rate_limit_without_wait() -> str:
    with pytest.warns(SlowRetryWarning) as warned:
        WriterMock().reply(Fault.http_error(429))
    return str(warned[0].message)


def rate_limit_on_a_script_without_wait() -> str:
    with pytest.warns(SlowRetryWarning) as warned:
        WriterMock().reply(CompletionScript().text("x").with_fault(Fault.http_error(429, retry_after=0)))
    return str(warned[0].message)


def computed_reply_raises() -> str:
    def reply_for(call: object) -> StreamScript:
        return StreamScript().content({"x": 1}["prompt"])  # type: ignore[index]

    with WriterMock() as mock:
        mock.reply(reply_for)
        with pytest.raises(writerai.InternalServerError):
            writerai.Writer(api_key="k").chat.chat(model="m", messages=USER, stream=True)  # type: ignore[arg-type]
        message = _raised(mock.verify, ReplyError)
        mock.reset()
    return message


def script_bound_to_another_endpoint() -> str:
    return _raised(lambda: WriterMock().reply(ApplicationScript(), path="/v1/chat"))


MISTAKES: list[tuple[Callable[[], str], list[str]]] = [
    (real_api_beside_a_server, ["POST https://api.writer.com/v1/chat was refused", "writer_server.base_url"]),
    (
        stream_fault_on_a_plain_request,
        ["disconnect(after_chunks=1)", "did not ask for a stream", "stream=True"],
    ),
    (
        bare_fault_for_another_endpoint,
        ["waits for POST /v1/chat, not POST /v1/completions", "path='/v1/completions', method='POST'"],
    ),
    (
        json_for_an_application_without_method,
        [
            "GET (client.applications.retrieve) and POST (client.applications.generate_content)",
            "method='POST'",
        ],
    ),
    (a_wrong_path, ["Did you mean path='/v1/models'?"]),
    (kind_typo, ["unknown kind 'completon' (did you mean 'completion'?)"]),
    (kind_missing, ["has no kind: key", "add kind: completion as its first line"]),
    (kind_wrong, ["says kind: completion, but it is a chat script: make it kind: chat"]),
    (whole_list_messages, ["messages= compares the whole messages list", "last_user="]),
    (rate_limit_without_wait, ["gives no retry wait", "retry_after_ms=1", "pytest.warns(SlowRetryWarning)"]),
    (rate_limit_on_a_script_without_wait, ["gives no retry wait"]),
    (computed_reply_raises, ["reply_for() answering POST /v1/chat", "KeyError: 'prompt'"]),
    (script_bound_to_another_endpoint, ["answers POST /v1/applications/{application_id}, not POST /v1/chat"]),
]


@pytest.mark.parametrize(("mistake", "words"), MISTAKES, ids=[m.__name__ for m, _ in MISTAKES])
def test_each_mistake_is_named_with_its_fix_at_the_top(mistake: Callable[[], str], words: list[str]) -> None:
    message = mistake()
    top = "\n".join(message.splitlines()[:4])
    for word in words:
        assert word in top, f"{word!r} not at the top of:\n{message}"
    assert "Traceback" not in message
    assert not re.search(r"writer_stream_testkit/\w+/\w+\.py", message), "no kit internals in the message"


def test_last_user_matches_the_last_user_message_only() -> None:
    with WriterMock() as mock:
        mock.reply(StreamScript().content("for hi").finish(), last_user="hi")
        mock.reply(StreamScript().content("for bye").finish(), last_user="bye")
        client = writerai.Writer(api_key="k")
        bye = [*USER[:1], {"role": "user", "content": [{"type": "text", "text": "bye"}]}]
        first = client.chat.chat(model="m", messages=bye)  # type: ignore[arg-type]
        second = client.chat.chat(model="m", messages=USER)  # type: ignore[arg-type]
    assert (first.choices[0].message.content, second.choices[0].message.content) == ("for bye", "for hi")


def test_last_user_must_be_text() -> None:
    with pytest.raises(ScriptError, match=r"last_user=\['hi'\]: pass the text of the last user message"):
        WriterMock().reply(StreamScript(), last_user=["hi"])  # type: ignore[arg-type]


def test_a_fault_that_replaces_the_response_still_answers_a_plain_request() -> None:
    with WriterMock() as mock:
        script = (
            StreamScript()
            .content("a")
            .with_fault(Fault.http_error(503, retry_after_ms=1), Fault.split(one_byte=True))
        )
        mock.reply(script)
        with pytest.raises(writerai.InternalServerError):
            writerai.Writer(api_key="k", max_retries=0).chat.chat(model="m", messages=USER)  # type: ignore[arg-type]


def test_a_429_with_a_wait_or_no_retry_does_not_warn() -> None:
    mock = WriterMock()
    mock.reply(Fault.http_error(429, retry_after_ms=1))
    mock.reply(Fault.http_error(429, retry_after="2"))
    mock.reply(Fault.http_error(429, headers={"x-should-retry": "false"}))
    mock.reply(Fault.http_error(500))  # only a 429 says "slow down"


def test_a_flat_question_chunk_read_as_data_gets_the_fix_at_the_top(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nfilterwarnings = error\naddopts = -p no:cacheprovider\n")
    pytester.makepyfile(
        test_app="""
        import writerai
        from writer_stream_testkit import QuestionScript

        def test_reads_data(writer_mock):
            writer_mock.reply(QuestionScript().answer("The", " answer"))
            client = writerai.Writer(api_key="k")
            for chunk in client.graphs.question(graph_ids=["g"], question="q", stream=True):
                print(chunk.data.answer)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    report = out.split("_ test_reads_data _")[1]
    assert report.split("\n", 2)[1].startswith(
        "writer-stream-testkit: this test asked a Knowledge Graph question and then read an attribute of None"
    )
    assert "read chunk.answer" in report
    assert "QuestionScript(shape='spec')" in report
    assert QuestionScript  # the script the fix names is public


def test_a_computed_reply_that_raises_is_the_first_thing_the_failure_says(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nfilterwarnings = error\naddopts = -p no:cacheprovider\n")
    pytester.makepyfile(
        test_app="""
        import writerai
        from writer_stream_testkit import StreamScript

        def reply_for(call):
            return StreamScript().content(call.json["prompt"])

        def test_computed(writer_mock):
            writer_mock.reply(reply_for)
            writerai.Writer().chat.chat(model="m", messages=[{"role": "user", "content": "hi"}])
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    report = result.stdout.str().split("_ test_computed _")[1].splitlines()[1:]
    assert (
        report[0]
        == "writer-stream-testkit: writer_mock saw: ReplyError: 1 queued reply failed to answer, so the client got a 500 instead:"
    )
    assert report[1].endswith(
        "reply_for() answering POST /v1/chat (model='m', stream=False, 1 message, last user: 'hi'): KeyError: 'prompt'"
    )
    assert "in reply_for" in "\n".join(report[:8])


def test_the_server_names_a_stream_fault_on_a_plain_request_too() -> None:
    with FakeWriterServer() as server:
        server.reply(CompletionScript().text("a", "b").with_fault(Fault.split(one_byte=True)))
        client = writerai.Writer(api_key="k", base_url=server.base_url)
        with pytest.raises(writerai.InternalServerError) as failed:
            client.completions.create(model="m", prompt="p")
        with pytest.raises(
            ReplyError, match=r"split\(one_byte=True\), which only a streaming response can show"
        ):
            server.verify()
        server.reset()
    assert "did not ask for a stream" in failed.value.message


def test_the_control_api_takes_last_user_too() -> None:
    import httpx

    with FakeWriterServer() as server, httpx.Client(base_url=server.base_url) as control:
        queued = control.post(
            "/__writer/replies", json={"reply": {"steps": [{"content": ["Paris"]}]}, "last_user": "Capital?"}
        )
        assert queued.status_code == 201, queued.text
        client = writerai.Writer(api_key="k", base_url=server.base_url)
        messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital?"}]
        answer = client.chat.chat(model="m", messages=messages)  # type: ignore[arg-type]
    assert answer.choices[0].message.content == "Paris"

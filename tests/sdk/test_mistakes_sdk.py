"""The doorstep mistakes a user makes through writerai, each answered with a message naming it and its fix at the top. Runs on writer-sdk 3.x and 2.x."""

from __future__ import annotations

import pytest
import writerai
from faultdata import USER

from writer_stream_testkit import (
    CompletionScript,
    FakeWriterServer,
    Fault,
    QuestionScript,
    ReplyError,
    StreamScript,
    WriterMock,
)


def test_last_user_matches_the_last_user_message_only() -> None:
    with WriterMock() as mock:
        mock.reply(StreamScript().content("for hi").finish(), last_user="hi")
        mock.reply(StreamScript().content("for bye").finish(), last_user="bye")
        client = writerai.Writer(api_key="k")
        bye = [*USER[:1], {"role": "user", "content": [{"type": "text", "text": "bye"}]}]
        first = client.chat.chat(model="m", messages=bye)  # type: ignore[arg-type]
        second = client.chat.chat(model="m", messages=USER)  # type: ignore[arg-type]
    assert (first.choices[0].message.content, second.choices[0].message.content) == ("for bye", "for hi")


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

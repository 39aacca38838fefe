"""One streamed chunk of any Writer endpoint read from its shape alone: which stream it belongs to,
the text it adds, what else it carries and the shape ``verify`` compares; and a stream summed up."""

from __future__ import annotations

from writer_stream_testkit import ApplicationScript, CompletionScript, QuestionScript, StreamScript
from writer_stream_testkit.wire.stream_kinds import ChunkView, StreamSummary, as_plain, summarise, view_chunk
from writer_stream_testkit.wire.types import ChatCompletionChunk


def test_a_chat_chunk_gives_its_text_finish_reasons_tool_calls_and_usage() -> None:
    chunks = (
        StreamScript(n=2)
        .content("Hi", choice=1)
        .tool_call("f", ['{"a":1}'])
        .finish()
        .usage(prompt_tokens=1, completion_tokens=2)
        .chunks()
    )
    assert [view_chunk(c) for c in chunks] == [
        ChunkView("chat", "Hi"),
        ChunkView("chat", "", (("tool_calls", [{"name": "f"}]),)),
        ChunkView("chat", "", (("tool_calls", [{"arguments": '{"a":1}'}]),)),
        ChunkView("chat", "", (("finish_reason", {0: "tool_calls"}),)),
        ChunkView("chat", "", (("finish_reason", {1: "stop"}),)),
        ChunkView("chat", "", (("usage", {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}),)),
    ]
    assert summarise([view_chunk(c) for c in chunks]) == StreamSummary("chat", "Hi")  # type: ignore[misc]


def test_a_completion_chunk_keeps_any_field_beside_value_and_says_whether_value_was_empty() -> None:
    views = [view_chunk(c) for c in CompletionScript().text("a").raw({"value": "b", "extra": 1}).chunks()]
    assert views == [
        ChunkView("completion", "", (), ("completion: empty value",)),
        ChunkView("completion", "a", (), ("completion: value",)),
        ChunkView("completion", "b", (("extra", 1),), ("completion: value", "completion: extra")),
    ]
    assert summarise(views) == StreamSummary("completion", "ab", (("extra", 1),))  # type: ignore[arg-type]


def test_a_question_stream_is_read_flat_or_wrapped_and_sums_up_to_the_last_parts_sent() -> None:
    script = (
        QuestionScript(question="Q")
        .answer("A", "B")
        .sources({"file_id": "f", "snippet": "s"})
        .references(files=[{"file_id": "f", "score": 1, "text": "t"}])
    )
    views = [view_chunk(c) for c in script.chunks()]
    assert [v.shape for v in views if v] == [
        ("question: answer",),
        ("question: answer",),
        ("question: no answer", "question: sources"),
        ("question: no answer", "question: references.files"),
    ]
    assert summarise(views) == StreamSummary(  # type: ignore[arg-type]
        "question",
        "AB",
        (
            ("sources", [{"file_id": "f", "snippet": "s"}]),
            ("references", {"files": [{"fileId": "f", "score": 1, "text": "t"}]}),
        ),
    )
    wrapped = [view_chunk(c) for c in QuestionScript(shape="spec").answer("A").chunks()]
    assert wrapped == [ChunkView("question", "A", (), ("question (in data): answer",))]


def test_an_application_stream_sums_up_to_its_last_title_and_every_stage_in_order() -> None:
    script = (
        ApplicationScript()
        .title("T1")
        .stage("s1", "x", sources=["u"])
        .content("c")
        .title("T2")
        .stage("s2", "y")
    )
    views = [view_chunk(c) for c in script.chunks()]
    assert [v.shape for v in views if v] == [
        ("application: title",),
        ("application: stage with sources",),
        ("application: content",),
        ("application: title",),
        ("application: stage",),
    ]
    assert summarise(views) == StreamSummary(  # type: ignore[arg-type]
        "application",
        "c",
        (
            ("title", "T2"),
            (
                "stages",
                [
                    {"id": "s1", "content": "x", "sources": ["u"]},
                    {"id": "s2", "content": "y", "sources": None},
                ],
            ),
        ),
    )
    assert view_chunk({"delta": {}}) == ChunkView("application", "", (), ("application: empty delta",))


def test_what_is_no_stream_chunk_reads_as_none() -> None:
    assert view_chunk("data") is None
    assert view_chunk({"other": 1}) is None
    assert view_chunk([{"value": "a"}]) is None
    assert summarise([]) is None


def test_a_model_reads_as_the_dict_it_was_parsed_from() -> None:
    data = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": []}
    model = ChatCompletionChunk.model_validate(data)
    assert as_plain(model) == data  # the fields it never had are left out, not filled with None
    assert as_plain(data) is data
    assert view_chunk(model) == view_chunk(data)

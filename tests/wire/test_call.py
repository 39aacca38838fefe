"""Call, the kit's record of one request: how it is described to the user."""

from __future__ import annotations


def test_a_request_without_a_model_is_described_without_one() -> None:
    from writer_stream_testkit import Call

    question = Call.create(
        method="POST",
        url="https://api.writer.com/v1/graphs/question",
        content=b'{"question": "Why?", "stream": true}',
    )
    assert question.describe() == "POST /v1/graphs/question (stream=True, question: 'Why?')"

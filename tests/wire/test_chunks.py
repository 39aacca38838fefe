"""ChunkDecoder, the pure engine under both streams: chunks as the reads complete them, whatever the split; an error kept aside until the chunks before it are out."""

from __future__ import annotations

import itertools

import httpx
import pytest
from chunks import text_chunk
from fourclients import (
    DONE,
    URL,
    data,
)
from hypothesis import given
from hypothesis import strategies as st

from writer_stream_testkit import errors
from writer_stream_testkit.wire.chunks import ChunkDecoder
from writer_stream_testkit.wire.types import ChatCompletionChunk


def test_chunks_are_validated_models_that_keep_unknown_fields() -> None:
    decoder = ChunkDecoder(httpx.Response(200, request=httpx.Request("POST", URL)), ChatCompletionChunk)
    [got] = decoder.feed(data(text_chunk("a", usage=None, novel={"x": 1})))
    assert isinstance(got, ChatCompletionChunk)
    assert got.model_extra == {"novel": {"x": 1}}


@given(cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12))
def test_chunks_do_not_depend_on_how_the_body_is_split(cuts: list[int]) -> None:
    body = (
        data(text_chunk("é☃"))
        + b"event: ping\r\ndata: x\r\n\r\n"
        + data(text_chunk("b"))
        + data(text_chunk("c"))
        + DONE
    )
    decoder = ChunkDecoder(httpx.Response(200, request=httpx.Request("POST", URL)), ChatCompletionChunk)
    got = []
    edges = [0, *sorted(c % (len(body) + 1) for c in cuts), len(body)]
    for start, end in itertools.pairwise(edges):
        got += decoder.feed(body[start:end])
    got += decoder.end()
    decoder.raise_error()
    assert [c.choices[0].delta.content for c in got] == ["é☃", "b", "c"]
    assert decoder.finished


def decoder(*, strict: bool = False) -> ChunkDecoder[ChatCompletionChunk]:
    return ChunkDecoder(
        httpx.Response(200, request=httpx.Request("POST", URL)), ChatCompletionChunk, strict=strict
    )


def test_an_error_event_is_raised_only_after_the_chunks_before_it_are_handed_out() -> None:
    stream = decoder()
    got = stream.feed(
        data(text_chunk("a")) + b'event: error\ndata: {"message": "overloaded"}\n\n' + data(text_chunk("b"))
    )
    assert [c.choices[0].delta.content for c in got] == ["a"]
    assert stream.finished
    with pytest.raises(errors.StreamErrorEvent, match="overloaded"):
        stream.raise_error()


def test_a_data_line_that_is_not_json_ends_the_stream_with_a_malformed_chunk_error() -> None:
    stream = decoder()
    assert stream.feed(b"data: {not json\n\n") == []
    assert stream.finished
    with pytest.raises(errors.MalformedChunkError, match=r"\{not json"):
        stream.raise_error()


def test_strict_decoding_refuses_a_chunk_off_the_schema_that_loose_decoding_keeps() -> None:
    off_schema = data(
        {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m", "choices": "none"}
    )
    assert len(decoder().feed(off_schema)) == 1
    strict = decoder(strict=True)
    assert strict.feed(off_schema) == []
    with pytest.raises(errors.MalformedChunkError):
        strict.raise_error()


def test_a_body_that_ends_before_one_complete_event_is_not_an_event_stream() -> None:
    stream = decoder()
    assert stream.feed(b'data: {"id"') == []
    assert stream.end() == []
    with pytest.raises(errors.NotAnEventStreamError):
        stream.raise_error()

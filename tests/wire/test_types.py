"""The wire types: same names, fields and dumps as ``writerai.types``; unknown fields kept."""

from __future__ import annotations

import json
import typing

import pytest
import writerai.types as sdk_types
from diffutil import RECORDINGS, sse_bodies
from writerai._models import construct_type
from writerai.types import (
    chat_completion_chunk,
    chat_completion_message,
    parsed_chat,
    parsed_function_tool_call,
)
from writerai.types.shared import graph_data, logprobs_token, tool_call, tool_call_streaming

from writer_stream_testkit.wire import types

PAIRS = [
    (types.ChatCompletionChunk, sdk_types.ChatCompletionChunk),
    (types.Choice, chat_completion_chunk.Choice),
    (types.ChoiceDelta, chat_completion_chunk.ChoiceDelta),
    (types.ChoiceDeltaLlmData, chat_completion_chunk.ChoiceDeltaLlmData),
    (types.ChoiceDeltaTranslationData, chat_completion_chunk.ChoiceDeltaTranslationData),
    (types.ToolCallStreaming, tool_call_streaming.ToolCallStreaming),
    (types.ToolCallStreamingFunction, tool_call_streaming.Function),
    (types.ToolCall, tool_call.ToolCall),
    (types.Function, tool_call.Function),
    (types.Logprobs, sdk_types.shared.Logprobs),
    (types.LogprobsToken, logprobs_token.LogprobsToken),
    (types.TopLogprob, logprobs_token.TopLogprob),
    (types.ChatCompletionUsage, sdk_types.ChatCompletionUsage),
    (types.GraphData, graph_data.GraphData),
    (types.References, graph_data.References),
    (types.ReferencesFile, graph_data.ReferencesFile),
    (types.ReferencesWeb, graph_data.ReferencesWeb),
    (types.Subquery, graph_data.Subquery),
    (types.Source, sdk_types.shared.Source),
    (types.ChatCompletion, sdk_types.ChatCompletion),
    (types.ChatCompletionChoice, sdk_types.ChatCompletionChoice),
    (types.ChatCompletionMessage, chat_completion_message.ChatCompletionMessage),
    (types.LlmData, chat_completion_message.LlmData),
    (types.TranslationData, chat_completion_message.TranslationData),
    (types.WebSearchData, chat_completion_message.WebSearchData),
    (types.WebSearchDataSource, chat_completion_message.WebSearchDataSource),
    (types.ParsedChatCompletion, parsed_chat.ParsedChatCompletion),
    (types.ParsedChatCompletionChoice, parsed_chat.ParsedChatCompletionChoice),
    (types.ParsedChatCompletionMessage, parsed_chat.ParsedChatCompletionMessage),
    (types.ParsedFunctionToolCall, parsed_function_tool_call.ParsedFunctionToolCall),
    (types.ParsedFunction, parsed_function_tool_call.ParsedFunction),
]


@pytest.mark.parametrize(("ours", "theirs"), PAIRS, ids=[p[1].__name__ for p in PAIRS])
def test_fields_match_the_sdk(ours: type, theirs: type) -> None:
    our_fields = ours.model_fields  # type: ignore[attr-defined]
    their_fields = theirs.model_fields  # type: ignore[attr-defined]
    assert list(our_fields) == list(their_fields)
    for name, field in our_fields.items():
        assert field.alias == their_fields[name].alias, name
        assert field.is_required() == their_fields[name].is_required(), name


@pytest.mark.parametrize("name", sorted(p.name for p in RECORDINGS.glob("*.sse")))
def test_recorded_chunks_dump_like_the_sdk(name: str) -> None:
    for body in sse_bodies(RECORDINGS / name):
        ours = types.ChatCompletionChunk.model_validate_json(body)
        theirs = construct_type(type_=sdk_types.ChatCompletionChunk, value=json.loads(body))
        assert ours.to_dict() == theirs.to_dict()  # type: ignore[attr-defined]
        assert ours.to_json() == theirs.to_json()  # type: ignore[attr-defined]
        assert json.loads(ours.to_json(indent=None)) == json.loads(body)


def test_unknown_fields_and_writer_fields_round_trip() -> None:
    data = {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "palmyra-x5",
        "brand_new": {"x": 1},
        "choices": [
            {
                "index": 0,
                "delta": {
                    "content": "hi",
                    "graph_data": {"references": {"files": [{"fileId": "f", "score": 1, "text": "t"}]}},
                    "llm_data": {"model": "p", "prompt": "q"},
                    "translation_data": {
                        "source_language_code": "en",
                        "source_text": "hi",
                        "target_language_code": "fr",
                    },
                    "surprise": [1, 2],
                },
            }
        ],
    }
    chunk = types.ChatCompletionChunk.model_validate(data)
    assert chunk.to_dict() == data
    assert chunk.model_extra == {"brand_new": {"x": 1}}
    delta = chunk.choices[0].delta
    assert delta.graph_data is not None
    assert delta.graph_data.references is not None
    assert delta.graph_data.references.files is not None
    assert delta.graph_data.references.files[0].file_id == "f"
    assert isinstance(delta.graph_data.references.files[0].score, float)
    assert str(delta.llm_data) == "ChoiceDeltaLlmData(model='p', prompt='q')"


def test_chunk_validation_has_no_python_validators() -> None:
    """Parsing stays inside pydantic-core: no model in the chunk tree defines a Python validator."""
    seen: set[type] = set()
    todo: list[type] = [types.ChatCompletionChunk]
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        assert not model.__pydantic_decorators__.field_validators, model  # type: ignore[attr-defined]
        assert not model.__pydantic_decorators__.model_validators, model  # type: ignore[attr-defined]
        for field in model.model_fields.values():  # type: ignore[attr-defined]
            for arg in _walk(field.annotation):
                if isinstance(arg, type) and issubclass(arg, types.BaseModel):
                    todo.append(arg)
    assert types.GraphData in seen


def _walk(annotation: object) -> list[object]:
    found = [annotation]
    for arg in typing.get_args(annotation):
        found.extend(_walk(arg))
    return found


def test_invalid_chunk_is_rejected() -> None:
    with pytest.raises(ValueError, match="choices"):
        types.ChatCompletionChunk.model_validate_json(
            '{"id":"x","object":"chat.completion.chunk","created":1,"model":"m"}'
        )

"""The SDK's generic delta merge where mutation testing found no test looking
(``python3 tasks.py mutate helpers/accumulate.py``): lists of objects merged entry by entry on
their ``index``, which the general differential test almost never generates.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import writerai
from chunks import choice, chunk
from hypothesis import given
from hypothesis import strategies as st
from writerai._models import construct_type
from writerai.lib.streaming._deltas import accumulate_delta as sdk_accumulate_delta
from writerai.lib.streaming.chat._completions import ChatCompletionStreamState as SdkState
from writerai.types import ChatCompletionChunk as SdkChunk

from writer_stream_testkit.helpers.accumulate import ChatCompletionStreamState, accumulate_delta
from writer_stream_testkit.wire.types import ChatCompletionChunk

scalars = st.none() | st.integers(-3, 3) | st.text(alphabet="ab{}", max_size=3)
entries = st.fixed_dictionaries(
    {"index": st.integers(-2, 3)},
    optional={
        "id": scalars,
        "type": st.sampled_from(["function", "x"]),
        "function": st.fixed_dictionaries({}, optional={"name": scalars, "arguments": scalars}),
        "tags": st.lists(st.integers(0, 3), max_size=2),
    },
)
objects = st.fixed_dictionaries({}, optional={"tool_calls": st.lists(entries, max_size=3), "n": scalars})


def merged(merge: Any, acc: dict[str, Any], deltas: list[dict[str, Any]]) -> Any:
    target = copy.deepcopy(acc)
    for delta in deltas:
        try:
            merge(target, copy.deepcopy(delta))
        except Exception as exc:
            return type(exc)
    return target


@given(objects, st.lists(objects, max_size=4))
def test_lists_of_objects_merge_by_index_as_the_sdk_merges_them(
    acc: dict[str, Any], deltas: list[dict[str, Any]]
) -> None:
    assert merged(accumulate_delta, acc, deltas) == merged(sdk_accumulate_delta, acc, deltas)


def test_tool_call_pieces_merge_into_the_entry_their_index_names() -> None:
    acc: dict[str, Any] = {
        "tool_calls": [{"index": 0, "id": "a", "function": {"name": "f", "arguments": '{"x"'}}]
    }
    accumulate_delta(
        acc, {"tool_calls": [{"index": 1, "id": "b", "function": {"name": "g", "arguments": "{"}}]}
    )
    accumulate_delta(
        acc,
        {
            "tool_calls": [
                {"index": 0, "function": {"arguments": ": 1}"}},
                {"index": 1, "function": {"arguments": "}"}},
            ]
        },
    )
    assert acc == {
        "tool_calls": [
            {"index": 0, "id": "a", "function": {"name": "f", "arguments": '{"x": 1}'}},
            {"index": 1, "id": "b", "function": {"name": "g", "arguments": "{}"}},
        ]
    }


def test_an_index_past_the_end_is_inserted_and_a_negative_one_merges_from_the_end() -> None:
    acc: dict[str, Any] = {"items": [{"index": 0, "v": "a"}]}
    accumulate_delta(acc, {"items": [{"index": 3, "v": "d"}]})  # list.insert: appended
    accumulate_delta(acc, {"items": [{"index": -1, "v": "!"}]})
    assert acc == {"items": [{"index": 0, "v": "a"}, {"index": -1, "v": "d!"}]}


def test_scalars_merge_by_kind_and_index_type_role_are_replaced() -> None:
    acc: dict[str, Any] = {
        "s": "a",
        "n": 1,
        "f": 0.5,
        "none": None,
        "index": 0,
        "type": "x",
        "role": "r",
        "l": [1],
    }
    delta = {
        "s": "b",
        "n": 2,
        "f": 0.25,
        "none": "set",
        "index": 4,
        "type": "y",
        "role": "q",
        "l": [2],
        "new": {"k": 1},
    }
    accumulate_delta(acc, delta)
    assert acc == {
        "s": "ab",
        "n": 3,
        "f": 0.75,
        "none": "set",
        "index": 4,
        "type": "y",
        "role": "q",
        "l": [1, 2],
        "new": {"k": 1},
    }


@pytest.mark.parametrize(
    ("delta", "error", "message"),
    [
        (
            {"tool_calls": ["x"]},
            TypeError,
            "the delta entry 'x' is not an object, and lists of objects are merged by their 'index'.",
        ),
        (
            {"tool_calls": [{"id": "b"}]},
            RuntimeError,
            "the delta entry {'id': 'b'} has no 'index' key, which lists of objects need to be merged.",
        ),
        ({"tool_calls": [{"index": "0"}]}, TypeError, "the entry index '0' is not an integer."),
        ({"tool_calls": [{"index": 1}]}, TypeError, "the accumulated entry 'y' is not an object."),
    ],
)
def test_a_list_that_cannot_be_merged_is_named_in_the_error(
    delta: dict[str, Any], error: type[Exception], message: str
) -> None:
    acc: dict[str, Any] = {"tool_calls": [{"index": 0}, "y"]}
    with pytest.raises(error) as raised:
        accumulate_delta(acc, delta)
    assert str(raised.value) == f"Cannot merge the list field 'tool_calls': {message}"


def test_an_index_before_the_start_is_inserted_at_the_front_as_the_sdk_does() -> None:
    acc: dict[str, Any] = {"items": [{"index": 0, "v": "a"}]}
    delta: dict[str, Any] = {"items": [{"index": -2, "v": "z"}]}
    expected = {"items": [{"index": -2, "v": "z"}, {"index": 0, "v": "a"}]}
    assert sdk_accumulate_delta(copy.deepcopy(acc), copy.deepcopy(delta)) == expected
    assert accumulate_delta(acc, delta) == expected


# --- Writer objects sent in pieces, and chunks the engine cannot read ------------------------------


def final_message(*chunks: dict[str, Any]) -> Any:
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    for data in chunks:
        state.handle_chunk(data)
    return state.get_final_completion().choices[0].message


def test_a_writer_object_in_pieces_merges_field_by_field_and_a_null_never_clears() -> None:
    """``docs/deviations.md``: the SDK would concatenate these; the engine keeps the latest value of each field."""
    files = [{"fileId": "f1", "score": 0.5, "text": "t"}]
    web = [{"score": 0.25, "text": "w", "title": "T", "url": "https://example.com"}]
    message = final_message(
        chunk(
            choice({"content": "a", "graph_data": {"status": "processing", "references": {"files": files}}})
        ),
        chunk(choice({"graph_data": {"status": None, "references": {"web": web}}})),
        chunk(choice({"graph_data": {"status": "finished", "sources": None}})),
    )
    graph = message.graph_data
    assert graph.status == "finished"
    assert [f.file_id for f in graph.references.files] == ["f1"]
    assert [w.url for w in graph.references.web] == ["https://example.com"]
    assert graph.sources is None


def test_a_null_piece_keeps_what_came_before_it() -> None:
    message = final_message(
        chunk(choice({"content": "a", "graph_data": {"status": "processing"}})),
        chunk(choice({"graph_data": {"status": None}})),
    )
    assert message.graph_data.status == "processing"


def test_a_merge_error_in_a_chunk_on_the_schema_is_raised_as_the_sdk_raises_it() -> None:
    """A chunk that fits the schema gets the merge's own error, as writerai's ``accumulate_delta`` gives."""
    first = chunk(choice({"content": "a", "extra": [{"index": 0}]}))
    second = chunk(choice({"extra": ["x"]}))
    sdk = SdkState(input_tools=writerai.omit, response_format=writerai.omit)
    sdk.handle_chunk(construct_type(type_=SdkChunk, value=first))
    with pytest.raises(TypeError):
        sdk.handle_chunk(construct_type(type_=SdkChunk, value=second))
    ours: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    ours.handle_chunk(first)
    with pytest.raises(TypeError, match=r"^Cannot merge the list field 'extra': the delta entry 'x'"):
        ours.handle_chunk(second)


def test_the_same_error_in_a_chunk_off_the_strict_schema_is_explained() -> None:
    """``created`` as a string passes lax validation only: the chunk is off the schema, so the error says so."""
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    state.handle_chunk(chunk(choice({"content": "a", "extra": [{"index": 0}]})))
    with pytest.raises(ValueError, match=r"^Chunk 1 does not have the shape .* \(TypeError: Cannot merge"):
        state.handle_chunk(chunk(choice({"extra": ["x"]}), created="1"))


def off_schema(length: int) -> dict[str, Any]:
    """A chunk whose one choice has a string for a delta, padded so its compact JSON is ``length`` long."""
    base = chunk({"index": 0, "delta": "oops"}, id="")
    written = len(ChatCompletionChunk.model_construct(**base).to_json(indent=None, warnings=False))
    return {**base, "id": "x" * (length - written)}


def off_schema_error(data: dict[str, Any]) -> str:
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    state.handle_chunk(chunk(choice({"content": "a"})))
    with pytest.raises(
        ValueError, match=r"^Chunk 1 does not have the shape the stream helper reads"
    ) as raised:
        state.handle_chunk(data)
    return str(raised.value)


def compact(data: dict[str, Any]) -> str:
    """The chunk as the message shows it: its compact JSON, fields in the schema's order."""
    return json.dumps(
        {
            "id": data["id"],
            "choices": [{"delta": "oops", "index": 0}],
            "created": 1,
            "model": "palmyra-x5",
            "object": "chat.completion.chunk",
        },
        separators=(",", ":"),
    )


@pytest.mark.parametrize("length", [299, 300])
def test_an_unreadable_chunk_is_shown_whole_as_compact_json_up_to_300_characters(length: int) -> None:
    data = off_schema(length)
    shown = compact(data)
    assert len(shown) == length
    assert off_schema_error(data) == (
        "Chunk 1 does not have the shape the stream helper reads (AttributeError: 'str' object has no "
        "attribute '__pydantic_fields_set__'); its choices must be a list of objects, each with an integer "
        f"index and a delta object. The chunk was: {shown}"
    )


@pytest.mark.parametrize("length", [301, 400])
def test_a_longer_unreadable_chunk_is_cut_at_260_characters_saying_how_many_more(length: int) -> None:
    data = off_schema(length)
    shown = off_schema_error(data).split("The chunk was: ", 1)[1]
    assert shown == compact(data)[:260] + f"… ({length - 260} more characters)"


# --- logprobs, tool calls and unknown fields over several chunks (against writerai) ----------------


def token(text: str) -> dict[str, Any]:
    return {"token": text, "logprob": -1.0, "top_logprobs": []}


def snapshots(chunks: list[dict[str, Any]], **tools: Any) -> tuple[Any, Any]:
    """The completion snapshot after ``chunks``, dumped as set, from this kit's engine and from writerai's."""
    ours: ChatCompletionStreamState[Any] = ChatCompletionStreamState(input_tools=tools.get("tools", ()))
    theirs = SdkState(input_tools=tools.get("tools", writerai.omit), response_format=writerai.omit)
    for data in chunks:
        ours.handle_chunk(copy.deepcopy(data))
        theirs.handle_chunk(construct_type(type_=SdkChunk, value=copy.deepcopy(data)))
    return (
        ours.current_completion_snapshot.model_dump(exclude_unset=True, warnings=False),
        theirs.current_completion_snapshot.model_dump(exclude_unset=True, warnings=False),
    )


LOGPROBS_STREAMS = {
    "first-on-a-later-chunk-with-null-content": [
        chunk(choice({"content": "a"})),
        chunk(choice({"content": "b"}, logprobs={"content": None, "refusal": [token("r")]})),
        chunk(choice({"content": "c"}, logprobs={"content": [token("c")]})),
    ],
    "content-joins-refusal-only": [
        chunk(choice({"content": "a"}, logprobs={"refusal": [token("r")]})),
        chunk(choice({"content": "b"}, logprobs={"content": [token("c")]})),
        chunk(choice({"content": "c"}, logprobs={"refusal": [token("q")]})),
    ],
    "refusal-joins-content-only": [
        chunk(choice({"content": "a"}, logprobs={"content": [token("a")]})),
        chunk(choice({"content": "b"}, logprobs={"refusal": [token("c")]})),
    ],
    "first-on-a-later-chunk-with-both": [
        chunk(choice({"content": "a"})),
        chunk(choice({"content": "b"}, logprobs={"content": [token("b")], "refusal": [token("r")]})),
    ],
}


@pytest.mark.parametrize("name", sorted(LOGPROBS_STREAMS))
def test_logprobs_arriving_late_or_one_list_at_a_time_accumulate_as_the_sdk_does(name: str) -> None:
    ours, theirs = snapshots(LOGPROBS_STREAMS[name])
    assert ours == theirs
    assert ours["choices"][0]["logprobs"]  # the case reaches the logprobs merge


def test_a_non_null_type_on_a_continuation_replaces_the_calls_type() -> None:
    """As ``accumulate_delta`` replaces ``type`` (writerai fails an assert here); only a null keeps it."""
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    call = {"index": 0, "id": "c", "type": "function", "function": {"name": "f", "arguments": "{"}}
    state.handle_chunk(chunk(choice({"tool_calls": [call]})))
    state.handle_chunk(
        chunk(choice({"tool_calls": [{"index": 0, "type": None, "function": {"arguments": ""}}]}))
    )
    assert state.current_completion_snapshot.choices[0].message.tool_calls[0].type == "function"
    state.handle_chunk(
        chunk(choice({"tool_calls": [{"index": 0, "type": "other", "function": {"arguments": "}"}}]}))
    )
    tool = state.current_completion_snapshot.choices[0].message.tool_calls[0]
    assert (tool.type, tool.function.arguments) == ("other", "{}")


@pytest.mark.parametrize("tools", [(), ({"type": "function", "function": {"name": "f", "strict": True}},)])
def test_a_function_call_that_never_names_its_function_is_refused_by_name(tools: Any) -> None:
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState(input_tools=tools)
    state.handle_chunk(chunk(choice({"content": "a"})))
    with pytest.raises(ValueError) as raised:
        state.handle_chunk(chunk(choice({"tool_calls": [{"index": 0, "id": "c", "type": "function"}]})))
    assert str(raised.value) == (
        "Tool call 0 of choice 0 has no function name; the first delta of a tool call must carry function.name."
    )


def test_merging_an_unknown_field_never_changes_the_chunk_it_came_in() -> None:
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    first = state.handle_chunk(chunk(choice({"content": "a", "extra": [1], "more": {"n": [1]}})))[0].chunk
    state.handle_chunk(chunk(choice({"extra": [2], "more": {"n": [2]}})))
    assert first.choices[0].delta.model_extra == {"extra": [1], "more": {"n": [1]}}
    message = state.current_completion_snapshot.choices[0].message
    assert (message.model_extra["extra"], message.model_extra["more"]) == ([1, 2], {"n": [1, 2]})


def test_a_writer_object_replaced_by_a_value_that_is_not_an_object_takes_it() -> None:
    """Off the schema, "latest wins" holds for the whole value too: a list after an object replaces it."""
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    state.handle_chunk(chunk(choice({"content": "a", "graph_data": {"status": "processing"}})))
    state.handle_chunk(chunk(choice({"graph_data": ["x"]})))
    message = state.current_completion_snapshot.choices[0].message
    assert message.__dict__["graph_data"] == ["x"]


# --- what handle_chunk accepts ----------------------------------------------------------------------

WRITERAI_STREAM = [
    chunk(
        choice(
            {
                "role": "assistant",
                "content": "a",
                "graph_data": {"references": {"files": [{"fileId": "f1", "score": 0.5, "text": "t"}]}},
            },
            logprobs={"content": [token("a")]},
        )
    ),
    chunk(choice({"content": "b"}, logprobs={"content": [token("b")]})),
    chunk(
        choice({"content": "c"}, "stop"),
        usage={"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
    ),
]


def test_writerai_chunk_models_are_read_as_their_json_is() -> None:
    """Chunks as writerai builds them (aliases, unset fields) give what their JSON objects give."""
    from_json: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    from_models: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    for data in WRITERAI_STREAM:
        expected = [event.type for event in from_json.handle_chunk(copy.deepcopy(data))]
        got = from_models.handle_chunk(construct_type(type_=SdkChunk, value=copy.deepcopy(data)))
        assert [event.type for event in got] == expected
        assert got[0].chunk.model_dump(exclude_unset=True) == ChatCompletionChunk.model_validate(
            data
        ).model_dump(exclude_unset=True)
    assert from_models.get_final_completion().model_dump(exclude_unset=True) == (
        from_json.get_final_completion().model_dump(exclude_unset=True)
    )
    files = from_models.get_final_completion().choices[0].message.graph_data.references.files
    assert [f.file_id for f in files] == ["f1"]


LOOSE_USAGE = {"prompt_tokens": "1", "completion_tokens": 2, "total_tokens": 3}


def test_a_writerai_chunk_off_the_schema_is_read_without_a_warning() -> None:
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    state.handle_chunk(construct_type(type_=SdkChunk, value=chunk(choice({"content": "a"}))))
    state.handle_chunk(
        construct_type(type_=SdkChunk, value=chunk(choice({"content": "b"}), usage=LOOSE_USAGE))
    )
    assert state.current_completion_snapshot.model_dump(warnings=False)["usage"]["total_tokens"] == 3


def test_a_chunk_that_fits_the_schema_is_built_into_the_kits_models() -> None:
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    event = state.handle_chunk(chunk(choice({"content": "a"})))[0]
    assert event.chunk.model_fields_set == {"id", "object", "created", "model", "choices"}
    assert type(event.chunk.choices[0].delta).__name__ == "ChoiceDelta"
    assert event.chunk.choices[0].delta.model_fields_set == {"content"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            "data: {}",
            "Chunk 0 is a str, not a chat.completion.chunk; pass a ChatCompletionChunk (this kit's or "
            "writerai's) or the chunk's JSON object as a dict.",
        ),
        (
            {"error": {"message": "overloaded"}},
            "Chunk 0 is an error payload, not a chat.completion.chunk: {'error': {'message': 'overloaded'}}. "
            "Error payloads belong to the client, which raises StreamErrorEvent for them; do not feed them "
            "to the stream state.",
        ),
    ],
)
def test_what_is_not_a_chunk_is_refused_saying_what_to_pass(data: Any, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        ChatCompletionStreamState().handle_chunk(data)
    assert str(raised.value) == message


def test_a_chunk_with_no_choices_and_no_error_is_not_taken_for_an_error_payload() -> None:
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    state.handle_chunk(chunk(choice({"content": "a"})))
    with pytest.raises(ValueError, match=r"^Chunk 1 does not have the shape the stream helper reads"):
        state.handle_chunk({"id": "x", "object": "chat.completion.chunk", "created": 1, "model": "m"})
    with pytest.raises(ValueError, match=r"^Chunk 2 is an error payload"):
        state.handle_chunk({"error": "x", "choices_": []})


def test_a_chunk_with_choices_and_an_error_field_is_a_chunk() -> None:
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    events = state.handle_chunk(chunk(choice({"content": "a"}), error={"message": "partial"}))
    assert [event.type for event in events] == ["chunk", "content.delta"]

"""The engine's own behaviour: laziness, the live snapshot, the generic merge, and every deviation."""

from __future__ import annotations

import copy
from typing import Any

import pydantic_core
import pytest
import writerai
from chunks import chunk, logprob_token
from feeding import feed
from hypothesis import given
from hypothesis import strategies as st
from jiter import from_json as jiter_from_json
from recordings import Location
from writerai.lib.streaming._deltas import accumulate_delta as sdk_accumulate_delta
from writerai.lib.streaming.chat._completions import ChatCompletionStreamState as SdkState

from writer_stream_testkit.errors import LengthFinishReasonError
from writer_stream_testkit.helpers.accumulate import ChatCompletionStreamState, accumulate_delta


def choice(
    index: int, delta: dict[str, Any], finish: str | None = None, logprobs: Any = None
) -> dict[str, Any]:
    return {"index": index, "delta": delta, "finish_reason": finish, "logprobs": logprobs}


# --- laziness and the live snapshot ---------------------------------------------------------------


def test_chunk_event_snapshot_is_the_live_snapshot() -> None:
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    first = state.handle_chunk(chunk(*[choice(0, {"content": "a"})]))[0]
    held = first.snapshot
    assert held.choices[0].message.content == "a"
    state.handle_chunk(chunk(*[choice(0, {"content": "b"})]))
    assert held.choices[0].message.content == "ab"
    assert held is state.current_completion_snapshot


def test_unread_chunk_snapshot_shows_the_final_state_after_the_stream() -> None:
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    first = state.handle_chunk(chunk(*[choice(0, {"content": "a"})]))[0]
    state.handle_chunk(chunk(*[choice(0, {"content": "b"}, "stop")]))
    assert first.snapshot.choices[0].message.content == "ab"
    assert first.snapshot.choices[0].finish_reason == "stop"


def test_snapshot_before_any_chunk_is_a_clear_error() -> None:
    with pytest.raises(AssertionError, match="no chunk has been handled"):
        _ = ChatCompletionStreamState().current_completion_snapshot


def test_length_stop_raises_mid_stream_only_with_parseable_input() -> None:
    chunks = [chunk(*[choice(0, {"content": '{"ci'})]), chunk(*[choice(0, {}, "length")])]
    plain_state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    feed(plain_state, chunks)
    with pytest.raises(LengthFinishReasonError):
        plain_state.get_final_completion()
    with pytest.raises(LengthFinishReasonError) as info:
        feed(ChatCompletionStreamState(response_format=Location), chunks)
    assert info.value.completion.choices[0].finish_reason == "length"


# --- the generic merge ----------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=3),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["a", "b", "index"]), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(
    st.dictionaries(st.sampled_from(["x", "y", "role", "type", "index"]), json_values, max_size=4),
    st.lists(
        st.dictionaries(st.sampled_from(["x", "y", "role", "type", "index"]), json_values, max_size=4),
        max_size=3,
    ),
)
def test_accumulate_delta_matches_the_sdk(acc: dict[str, Any], deltas: list[dict[str, Any]]) -> None:
    ours: Any = copy.deepcopy(acc)
    theirs: Any = copy.deepcopy(acc)
    for delta in deltas:
        outcome = []
        for target, merge in ((ours, accumulate_delta), (theirs, sdk_accumulate_delta)):
            try:
                merge(target, copy.deepcopy(delta))
                outcome.append(None)
            except Exception as exc:
                outcome.append(type(exc))
        assert outcome[0] == outcome[1]
        if outcome[0] is not None:
            return
        assert ours == theirs


@given(st.text(alphabet='{}[]":,0123456789.-eatruflsn \\u', max_size=20))
def test_partial_json_matches_jiter_partial_mode(text: str) -> None:
    results = []
    for parse in (
        lambda: pydantic_core.from_json(text.encode(), allow_partial=True),
        lambda: jiter_from_json(text.encode(), partial_mode=True),
    ):
        try:
            results.append(("ok", parse()))
        except ValueError as exc:
            results.append(("error", type(exc)))
    assert results[0] == results[1]


# --- parsing helpers against the SDK --------------------------------------------------------------


# --- deviations from the SDK (docs/deviations.md) -------------------------------------------------


def test_deviation_choices_out_of_order_are_filed_by_index() -> None:
    chunks = [
        chunk(*[choice(1, {"content": "b"})]),
        chunk(*[choice(0, {"content": "a"})]),
        chunk(*[choice(0, {}, "stop"), choice(1, {}, "stop")]),
    ]
    with pytest.raises(IndexError):
        feed(SdkState(input_tools=writerai.omit, response_format=writerai.omit), chunks, sdk=True)
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    feed(state, chunks)
    final = state.get_final_completion()
    assert [(c.index, c.message.content) for c in final.choices] == [(0, "a"), (1, "b")]


def test_deviation_choice_index_gap_does_not_misfile() -> None:
    chunks = [
        chunk(*[choice(0, {"content": "a"})]),
        chunk(*[choice(2, {"content": "c"})]),
        chunk(*[choice(1, {"content": "b"})]),
    ]
    with pytest.raises(IndexError):
        feed(SdkState(input_tools=writerai.omit, response_format=writerai.omit), chunks, sdk=True)
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    feed(state, chunks)
    assert [(c.index, c.message.content) for c in state.current_completion_snapshot.choices] == [
        (0, "a"),
        (1, "b"),
        (2, "c"),
    ]


def test_deviation_late_choice_logprobs_are_not_duplicated() -> None:
    chunks = [
        chunk(*[choice(0, {"content": "a"}, logprobs={"content": [logprob_token("a")]})]),
        chunk(*[choice(1, {"content": "b"}, logprobs={"content": [logprob_token("b")]})]),
    ]
    sdk = SdkState(input_tools=writerai.omit, response_format=writerai.omit)
    feed(sdk, chunks, sdk=True)
    assert len(sdk.current_completion_snapshot.choices[1].logprobs.content) == 2  # the SDK's duplicate
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    events = feed(state, chunks)
    assert [t.token for t in state.current_completion_snapshot.choices[1].logprobs.content] == ["b"]
    late = [e for e in events if e.type == "logprobs.content.delta"][-1]
    assert [t.token for t in late.snapshot] == ["b"]


@pytest.mark.parametrize(
    ("field", "first", "second", "expected"),
    [
        ("llm_data", {"model": "p", "prompt": "x"}, {"model": "p", "prompt": "y"}, None),
        (
            "translation_data",
            {"source_language_code": "en", "source_text": "hi", "target_language_code": "fr"},
            {"source_language_code": "en", "source_text": "hi", "target_language_code": "de"},
            None,
        ),
        (
            "graph_data",
            {"status": "processing"},
            {"status": "finished", "sources": [{"file_id": "f", "snippet": "s"}]},
            None,
        ),
        (
            "graph_data",
            {"status": "processing", "sources": [{"file_id": "f", "snippet": "s"}]},
            {"status": "finished", "references": {"web": []}},
            {"status": "finished", "sources": [{"file_id": "f", "snippet": "s"}], "references": {"web": []}},
        ),
        (
            "web_search_data",
            {"sources": [{"url": "a"}]},
            {"sources": [{"url": "b", "raw_content": "x"}]},
            None,
        ),
    ],
)
def test_deviation_writer_objects_merge_field_by_field_latest_wins(
    field: str, first: Any, second: Any, expected: Any
) -> None:
    expected = second if expected is None else expected
    chunks = [
        chunk(*[choice(0, {"content": "a", field: first})]),
        chunk(*[choice(0, {field: second})]),
        chunk(*[choice(0, {field: None}, "stop")]),
    ]
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    feed(state, chunks)
    message = state.get_final_completion().choices[0].message
    assert getattr(message, field).model_dump(exclude_none=True) == expected
    sdk = SdkState(input_tools=writerai.omit, response_format=writerai.omit)
    try:
        feed(sdk, chunks, sdk=True)
    except RuntimeError:
        return  # the SDK cannot merge lists without an index
    assert (
        getattr(sdk.current_completion_snapshot.choices[0].message, field).to_dict(exclude_unset=True)
        != expected
    )


def test_deviation_graph_data_file_ids_survive_later_chunks() -> None:
    files = [{"fileId": "file-1", "score": 0.5, "text": "t"}]
    chunks = [
        chunk(*[choice(0, {"content": "a", "graph_data": {"references": {"files": files}}})]),
        chunk(*[choice(0, {}, "stop")]),
    ]
    sdk = SdkState(input_tools=writerai.omit, response_format=writerai.omit)
    feed(sdk, chunks, sdk=True)
    sdk_file = sdk.get_final_completion().choices[0].message.graph_data.references.files[0]
    assert sdk_file.file_id is None
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    feed(state, chunks)
    ours = state.get_final_completion().choices[0].message.graph_data
    assert ours.references.files[0].file_id == "file-1"
    assert ours.to_dict()["references"]["files"][0]["fileId"] == "file-1"


@pytest.mark.parametrize("position", [0, 1])
def test_deviation_error_payload_is_named_not_a_type_error(position: int) -> None:
    chunks = [*[chunk(*[choice(0, {"content": "a"})])][:position], {"error": {"message": "boom"}}]
    with pytest.raises((TypeError, KeyError)):
        feed(SdkState(input_tools=writerai.omit, response_format=writerai.omit), chunks, sdk=True)
    with pytest.raises(ValueError, match=rf"Chunk {position} is an error payload.*boom.*StreamErrorEvent"):
        feed(ChatCompletionStreamState(), chunks)


def test_deviation_tool_calls_out_of_order_in_one_delta_keep_their_names() -> None:
    calls = [
        {"index": 1, "id": "b", "type": "function", "function": {"name": "second", "arguments": "{}"}},
        {"index": 0, "id": "a", "type": "function", "function": {"name": "first", "arguments": "{}"}},
    ]
    chunks = [chunk(*[choice(0, {"tool_calls": calls})]), chunk(*[choice(0, {}, "tool_calls")])]
    sdk_events = feed(SdkState(input_tools=writerai.omit, response_format=writerai.omit), chunks, sdk=True)
    sdk_deltas = [(e.index, e.name) for e in sdk_events if e.type == "tool_calls.function.arguments.delta"]
    assert sdk_deltas == [(1, "first"), (0, "second")]  # the SDK's misfiling
    events = feed(ChatCompletionStreamState(), chunks)
    assert [(e.index, e.name) for e in events if e.type == "tool_calls.function.arguments.delta"] == [
        (1, "second"),
        (0, "first"),
    ]


def test_deviation_tool_call_index_gap_is_a_clear_error() -> None:
    call = {"index": 2, "id": "c", "type": "function", "function": {"name": "f", "arguments": ""}}
    chunks = [chunk(*[choice(0, {"content": "a"})]), chunk(*[choice(0, {"tool_calls": [call]})])]
    with pytest.raises(IndexError):
        feed(SdkState(input_tools=writerai.omit, response_format=writerai.omit), chunks, sdk=True)
    with pytest.raises(ValueError, match="Chunk 1 sends tool call index 2 for choice 0"):
        feed(ChatCompletionStreamState(), chunks)


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")  # the SDK's to_dict() warns too
def test_chunk_the_helper_cannot_read_names_the_chunk() -> None:
    chunk = {"id": "x", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": "nope"}
    with pytest.raises(AttributeError):
        feed(SdkState(input_tools=writerai.omit, response_format=writerai.omit), [chunk], sdk=True)
    with pytest.raises(ValueError, match=r"Chunk 0 does not have the shape the stream helper reads"):
        ChatCompletionStreamState().handle_chunk(chunk)

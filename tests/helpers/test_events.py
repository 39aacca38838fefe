"""The stream-helper events: values filled lazily yet read as at their event, the content alias, prefix
copies of logprobs, and events that copy, pickle and compare like the SDK's."""

from __future__ import annotations

import copy
import json
import pickle
from typing import Any

from chunks import choice, chunk, logprob_token, text_chunk
from feeding import feed

from writer_stream_testkit.helpers.accumulate import ChatCompletionStreamState
from writer_stream_testkit.helpers.events import ContentDeltaEvent, LogprobsContentDeltaEvent


def test_content_delta_snapshot_reads_as_at_its_event_even_when_read_late() -> None:
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    events = feed(state, [text_chunk(piece) for piece in ["a", "b", "c"]])
    deltas = [e for e in events if isinstance(e, ContentDeltaEvent)]
    assert [e.snapshot for e in reversed(deltas)] == ["abc", "ab", "a"]
    assert deltas[1].model_dump()["snapshot"] == "ab"


def test_content_alias_reads_delta_and_is_not_serialised() -> None:
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    (event,) = [e for e in feed(state, [text_chunk("hi")]) if e.type == "content.delta"]
    assert event.content == "hi"
    assert "content" not in event.model_dump()
    assert json.loads(event.to_json()) == {
        "type": "content.delta",
        "delta": "hi",
        "snapshot": "hi",
        "parsed": None,
    }


def test_logprobs_delta_snapshot_is_a_prefix_copy() -> None:
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    chunks = [chunk(choice({"content": t}, logprobs={"content": [logprob_token(t)]})) for t in "xyz"]
    events = [e for e in feed(state, chunks) if isinstance(e, LogprobsContentDeltaEvent)]
    assert [[t.token for t in e.snapshot] for e in events] == [["x"], ["x", "y"], ["x", "y", "z"]]
    events[0].snapshot.append(events[2].content[0])
    assert [t.token for t in state.current_completion_snapshot.choices[0].logprobs.content] == ["x", "y", "z"]


def test_lazy_events_survive_copy_pickle_and_equality() -> None:
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    event = next(e for e in feed(state, [text_chunk("a")]) if e.type == "content.delta")
    other = ChatCompletionStreamState().handle_chunk(text_chunk("a"))[1]
    assert event == other
    assert copy.deepcopy(event).snapshot == "a"
    assert pickle.loads(pickle.dumps(event)).snapshot == "a"
    assert "snapshot='a'" in repr(other)

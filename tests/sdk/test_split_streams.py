"""Several streams in one event list (a tool round) are checked stream by stream."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import writerai

from writer_stream_testkit import (
    StreamContractError,
    StreamScript,
    WriterMock,
    assert_stream_contract,
    split_streams,
)

ASK = (
    StreamScript()
    .content("Let me check")
    .tool_call("get_weather", ['{"city": ', '"SF"}'])
    .finish("tool_calls")
)
FOLLOW_UP = (
    StreamScript().content("It is ", "sunny.").finish("stop").usage(prompt_tokens=5, completion_tokens=3)
)
MESSAGES: list[Any] = [{"role": "user", "content": "weather?"}]


def tool_round(*scripts: StreamScript) -> tuple[list[Any], list[Any]]:
    """What a tool loop's events look like: each stream's events appended to one list."""
    events: list[Any] = []
    finals: list[Any] = []
    with WriterMock() as mock:
        for script in scripts:
            mock.reply(script)
        client = writerai.Writer(api_key="k", max_retries=0)
        for _ in scripts:
            with client.chat.stream(model="palmyra-x5", messages=MESSAGES) as stream:
                events.extend(stream)
                finals.append(stream.get_final_completion())
    return events, finals


async def atool_round(*scripts: StreamScript) -> list[Any]:
    events: list[Any] = []
    async with WriterMock() as mock:
        for script in scripts:
            mock.reply(script)
        client = writerai.AsyncWriter(api_key="k", max_retries=0)
        for _ in scripts:
            async with client.chat.stream(model="palmyra-x5", messages=MESSAGES) as stream:
                events.extend([event async for event in stream])
    return events


def test_one_contract_check_rejects_a_tool_round_that_per_stream_accepts() -> None:
    events, finals = tool_round(ASK, FOLLOW_UP)
    with pytest.raises(StreamContractError):
        assert_stream_contract(events)
    assert_stream_contract(events, per_stream=True)
    assert_stream_contract(events, per_stream=True, final_completion=finals)


def test_split_streams_finds_each_stream_even_with_the_same_chunk_id() -> None:
    events, _ = tool_round(ASK, FOLLOW_UP, ASK)
    streams = split_streams(events)
    assert [len(s) for s in streams] == [
        len(split_streams(tool_round(s)[0])[0]) for s in (ASK, FOLLOW_UP, ASK)
    ]
    assert sum(len(s) for s in streams) == len(events)
    # the usage-only chunk after the follow-up's finish stays with the follow-up
    assert streams[1][-1].type in ("chunk", "content.done")
    assert all(s[0].type == "chunk" for s in streams)


def test_a_new_chunk_id_starts_a_new_stream_even_before_a_finish() -> None:
    cut = StreamScript(id="chatcmpl-first").content("Hel")  # never finishes: the stream was cut
    events, _ = tool_round(cut, StreamScript(id="chatcmpl-second").content("Hi").finish())
    assert [s[0].chunk.id for s in split_streams(events)] == ["chatcmpl-first", "chatcmpl-second"]


def test_async_streams_split_alike() -> None:
    events = asyncio.run(atool_round(ASK, FOLLOW_UP))
    assert len(split_streams(events)) == 2
    assert_stream_contract(events, per_stream=True)


def test_a_broken_second_stream_is_named_with_its_place_in_the_whole_list() -> None:
    events, _ = tool_round(ASK, FOLLOW_UP)
    first = len(split_streams(events)[0])
    done = next(i for i, e in enumerate(events) if i > first and e.type == "content.done")
    broken = events[:done] + events[done + 1 :]  # the follow-up's content.done went missing
    with pytest.raises(StreamContractError) as failed:
        assert_stream_contract(broken, per_stream=True)
    assert str(failed.value).startswith(f"In stream 2 of 2 (events {first} to {len(broken) - 1} of the whole")


def test_final_completions_must_match_the_streams_one_to_one() -> None:
    events, finals = tool_round(ASK, FOLLOW_UP)
    with pytest.raises(TypeError, match="one final completion per stream; the events hold 2 streams"):
        assert_stream_contract(events, per_stream=True, final_completion=finals[:1])


def test_an_empty_list_still_fails_unless_allowed() -> None:
    with pytest.raises(StreamContractError, match=r"stream\.empty"):
        assert_stream_contract([], per_stream=True)
    assert_stream_contract([], per_stream=True, allow_empty=True)
    assert split_streams([]) == []

"""script_events: a chat script run through the stream helper, its events, completion or error, without
HTTP."""

from __future__ import annotations

import pydantic

from writer_stream_testkit.errors import LengthFinishReasonError
from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.scripts.run import script_events


class Location(pydantic.BaseModel):
    city: str


def test_script_events_gives_event_order_and_final_completion() -> None:
    run = script_events(StreamScript().content("Hi", " there").tool_call("f", ["{}"]))
    assert run.error is None
    assert [e.type for e in run.events] == [
        "chunk",
        "content.delta",
        "chunk",
        "content.delta",
        "chunk",
        "tool_calls.function.arguments.delta",
        "content.done",
        "chunk",
        "tool_calls.function.arguments.delta",
        "chunk",
        "tool_calls.function.arguments.done",
    ]
    assert run.completion is not None
    assert run.completion.choices[0].message.content == "Hi there"
    assert run.completion.choices[0].finish_reason == "tool_calls"


def test_script_events_parses_response_format() -> None:
    run = script_events(StreamScript().content('{"city":', ' "SF"}'), response_format=Location)
    assert run.completion is not None
    assert run.completion.choices[0].message.parsed == Location(city="SF")


def test_script_events_returns_the_error_with_events_so_far() -> None:
    run = script_events(StreamScript().content('{"ci').finish("length"), response_format=Location)
    assert isinstance(run.error, LengthFinishReasonError)
    assert run.completion is None
    # the finish chunk raises inside handle_chunk, as in the SDK, so its events never arrive
    assert [e.type for e in run.events] == ["chunk", "content.delta"]


def test_script_run_reads_as_a_short_summary() -> None:
    run = script_events(StreamScript().content("a", "b").finish())
    assert run.types == ["chunk", "content.delta", "chunk", "content.delta", "chunk", "content.done"]
    assert repr(run) == (
        "ScriptRun(6 events [chunk, content.delta, chunk, content.delta, chunk, content.done], "
        "content='ab', error=None)"
    )

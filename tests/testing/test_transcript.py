"""The transcript: one stable line per event, then the final completion, for either implementation."""

from __future__ import annotations

from typing import Any

import pytest
from recordings import NAMES, RUNNERS, sdk

from writer_stream_testkit.testing.transcript import render_event, render_transcript

LOGPROBS_CONTENT_TRANSCRIPT = """\
events (11):
   0  chunk                  choices=[0]
   1  chunk                  choices=[0]
   2  content.delta          delta='Foo'  snapshot_len=3
   3  logprobs.content.delta tokens=['Foo']  logprobs=[-0.0025094282]  snapshot_len=1
   4  chunk                  choices=[0]
   5  content.delta          delta='!'  snapshot_len=4
   6  logprobs.content.delta tokens=['!']  logprobs=[-0.26638845]  snapshot_len=2
   7  chunk                  choices=[0]  finish_reason={0: 'stop'}
   8  content.done           content='Foo!'
   9  logprobs.content.done  tokens=['Foo', '!']
  10  chunk                  choices=[]  usage=(completion_tokens=2 completion_tokens_details.reasoning_tokens=0 prompt_tokens=9 total_tokens=11)
final completion:
  id='chatcmpl-ABfw5EzoqmfXjnnsXY7Yd8OC6tb3c'  model='gpt-4o-2024-08-06'
  choice 0  finish_reason='stop'
    content='Foo!'
    refusal=None
    logprobs.content tokens=['Foo', '!']
  usage completion_tokens=2 completion_tokens_details.reasoning_tokens=0 prompt_tokens=9 total_tokens=11
"""


def test_transcript_of_a_small_recording_is_exactly_the_golden_text() -> None:
    run = sdk("logprobs-content.sse")
    assert render_transcript(run.events, run.completion) == LOGPROBS_CONTENT_TRANSCRIPT


def test_tool_call_events_and_completion_render_index_name_arguments_and_parsed() -> None:
    run = sdk("tools-two-parallel.sse")
    text = render_transcript(run.events, run.completion)
    lines = text.splitlines()
    assert lines[26:29] == [
        "  25  chunk                  choices=[0]",
        "  26  tool_calls.function.arguments.delta index=1  name='get_stock_price'  delta=''  arguments_len=0",
        "  27  tool_calls.function.arguments.done index=0  name='GetWeatherArgs'  "
        'id=\'call_JMW1whyEaYG438VE1OIflxA2\'  arguments=\'{"city": "Edinburgh", "country": "GB", "units": "c"}\'  '
        "parsed_arguments={'city': 'Edinburgh', 'country': 'GB', 'units': 'c'}",
    ]
    assert lines[-3:-1] == [
        "    tool_call 0  id='call_JMW1whyEaYG438VE1OIflxA2'  name='GetWeatherArgs'  "
        'arguments=\'{"city": "Edinburgh", "country": "GB", "units": "c"}\'  '
        "parsed_arguments={'city': 'Edinburgh', 'country': 'GB', 'units': 'c'}",
        "    tool_call 1  id='call_DNYTawLBoN8fj3KN6qU9N1Ou'  name='get_stock_price'  "
        'arguments=\'{"ticker": "AAPL", "exchange": "NASDAQ"}\'  '
        "parsed_arguments={'exchange': 'NASDAQ', 'ticker': 'AAPL'}",
    ]


def test_parsed_model_and_refusal_render_readably() -> None:
    location = sdk("json-schema-location.sse")
    assert render_event(location.events[30]) == (
        'content.done           content=\'{"city":"San Francisco","temperature":61,"units":"f"}\'  '
        "parsed=Location(city='San Francisco', temperature=61.0, units='f')"
    )
    refusal = sdk("json-schema-refusal.sse")
    assert render_event(refusal.events[-2]) == (
        "refusal.done           refusal='I\\'m sorry, I can\\'t assist with that request.'"
    )


@pytest.mark.parametrize("name", NAMES)
def test_one_line_per_event_each_numbered(name: str) -> None:
    run = sdk(name)
    lines = render_transcript(run.events).splitlines()
    assert lines[0] == f"events ({len(run.events)}):"
    assert len(lines) == len(run.events) + 1
    for index, (line, event) in enumerate(zip(lines[1:], run.events, strict=True)):
        assert line == f"{index:>4}  {render_event(event)}"
        assert line.split()[1] == event.type


@pytest.mark.parametrize("name", NAMES)
def test_transcript_is_the_same_for_the_sdk_and_this_kit(name: str) -> None:
    ours = RUNNERS["ours"](name)
    theirs = sdk(name)
    assert render_transcript(ours.events, ours.completion) == render_transcript(
        theirs.events, theirs.completion
    )


def test_dict_events_render_like_model_events() -> None:
    run = sdk("plain-text.sse")
    as_dicts: list[Any] = [event.model_dump() for event in run.events]
    assert render_transcript(as_dicts) == render_transcript(run.events)


def test_every_choice_of_the_final_completion_is_rendered() -> None:
    run = sdk("json-schema-location-n3.sse")
    lines = render_transcript(run.events, run.completion).splitlines()
    choices = [line for line in lines if line.startswith("  choice ")]
    assert choices == [f"  choice {i}  finish_reason='stop'" for i in range(3)]
    assert sum(line.startswith("    parsed=Location(") for line in lines) == 3

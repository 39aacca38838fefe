"""The weather assistant's tests: every writer-stream-testkit fixture, as a downstream project uses them.

No test here needs WRITER_API_KEY: the fixtures set a dummy key when it is
unset, because nothing they serve reaches the real API. Re-recording the
cassettes does need the real key (see README.md).
"""

from __future__ import annotations

import pytest
import weather_assistant
import writerai

from writer_stream_testkit import Fault, StreamScript, assert_stream_contract

SF_TOOL_CALL = StreamScript().tool_call("get_weather", ['{"city":', '"SF"}']).finish("tool_calls")
SF_ANSWER = StreamScript().content("It is sunny ", "and 18 °C ", "in SF.").finish()


def _is_tool_result(messages: list[dict[str, object]]) -> bool:
    return messages[-1]["role"] == "tool"


# --- writer_mock: in-process, scripted replies ----------------------------------------------------


def test_tool_call(writer_mock):
    writer_mock.reply(SF_TOOL_CALL)
    writer_mock.reply(SF_ANSWER, messages=_is_tool_result)

    answer = weather_assistant.ask(writerai.Writer(), "What's the weather in SF?")

    assert answer.weather_tool_called()
    assert answer.text == "It is sunny and 18 °C in SF."
    tool_message = writer_mock.calls[1].json["messages"][-1]
    assert tool_message["content"] == '{"city": "SF", "conditions": "sunny", "temperature_c": 18}'


def test_text_streams_to_the_callback_as_it_arrives(writer_mock):
    writer_mock.reply(SF_ANSWER)
    pieces: list[str] = []

    weather_assistant.ask(writerai.Writer(), "Is it sunny in SF?", on_text=pieces.append)

    assert pieces == ["It is sunny ", "and 18 °C ", "in SF."]


def test_a_dropped_stream_is_retried_from_the_start(writer_mock, writer_snapshot):
    writer_mock.reply(SF_ANSWER.with_fault(Fault.disconnect(after_chunks=1)))
    writer_mock.reply(SF_ANSWER)
    pieces: list[str] = []

    answer = weather_assistant.ask(writerai.Writer(), "Is it sunny in SF?", on_text=pieces.append)

    assert answer.attempts == 2
    assert answer.text == "It is sunny and 18 °C in SF."
    assert pieces[0] == pieces[1] == "It is sunny "  # the first attempt's text, then the retry's
    assert_stream_contract(answer.events)
    assert answer.events == writer_snapshot


def test_gives_up_when_every_attempt_drops(writer_mock):
    writer_mock.reply(SF_ANSWER.with_fault(Fault.disconnect(after_chunks=1)), times=2)

    with pytest.raises(weather_assistant.DROPPED):
        weather_assistant.ask(writerai.Writer(), "Is it sunny in SF?", retries=1)


# --- writer_server: the same API on a real socket -------------------------------------------------


def test_tool_call_over_a_socket(writer_server):
    writer_server.reply(SF_TOOL_CALL)
    writer_server.reply(SF_ANSWER.with_fault(Fault.disconnect(after_chunks=2, mid_chunk=True)))
    writer_server.reply(SF_ANSWER)
    client = writerai.Writer(base_url=writer_server.base_url)

    answer = weather_assistant.ask(client, "What's the weather in SF?")

    assert answer.tools_called == ["get_weather"]
    assert answer.attempts == 3
    assert answer.text == "It is sunny and 18 °C in SF."


@pytest.mark.writer_cassette("summary.yaml")
def test_summary_over_a_socket(writer_server):
    """The server replays the marked cassette, for clients that cannot be patched in-process."""
    client = writerai.Writer(base_url=writer_server.base_url)
    with client.chat.stream(
        model="palmyra-x5", messages=[{"role": "user", "content": SUMMARY_PROMPT}]
    ) as stream:
        text = "".join(event.delta for event in stream if event.type == "content.delta")
    assert text.startswith("San Francisco")


# --- writer_cassette + writer_snapshot: recorded once, replayed offline ---------------------------

SUMMARY_PROMPT = "Summarise today's weather in San Francisco in one sentence."


@pytest.mark.writer_cassette("summary.yaml")
def test_summary_streams(writer_cassette, writer_snapshot):
    with writerai.Writer().chat.stream(
        model="palmyra-x5", messages=[{"role": "user", "content": SUMMARY_PROMPT}]
    ) as stream:
        events = list(stream)
    assert_stream_contract(events)
    assert events == writer_snapshot


def test_weather_question_replays_from_its_cassette(writer_cassette, writer_snapshot):
    """No marker: the cassette is cassettes/test_weather/<this test's name>.yaml."""
    answer = weather_assistant.ask(writerai.Writer(), "What's the weather in SF?")

    assert answer.weather_tool_called()
    assert len(writer_cassette.calls) == 2
    assert answer.events == writer_snapshot

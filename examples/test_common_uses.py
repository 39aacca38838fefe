"""The most common ways to test code that streams from Writer, as a downstream project would.

The top half is the application: ordinary code written against the official
``writerai`` SDK, knowing nothing of the testkit. The bottom half is its tests.
The ``writer_mock`` fixture comes from the testkit's pytest plugin, which is
active as soon as the package is installed; it fails the test if the app makes
a request no reply was queued for, or leaves a queued reply unused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import httpx
import writerai

from writer_stream_testkit import Call, CompletionScript, Fault, StreamScript, WriterMock

# --- the application under test ---------------------------------------------------------------------

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@dataclass
class Answer:
    text: str = ""
    tool_calls: list[tuple[str, dict[str, object]]] = field(default_factory=list)
    interrupted: bool = False


def ask(client: writerai.Writer, question: str, *, retries_on_drop: int = 1) -> Answer:
    """Stream an answer; if the connection drops mid-stream, ask again (the SDK never retries a started stream)."""
    for _ in range(retries_on_drop + 1):
        answer = Answer()
        arguments: dict[int, str] = {}
        names: dict[int, str] = {}
        try:
            stream = client.chat.chat(
                model="palmyra-x5",
                messages=[
                    {"role": "system", "content": "You are terse."},
                    {"role": "user", "content": question},
                ],
                tools=[WEATHER_TOOL],  # type: ignore[list-item]
                stream=True,
            )
            for chunk in stream:
                delta = chunk.choices[0].delta
                answer.text += delta.content or ""
                for call in delta.tool_calls or []:
                    index = call.index or 0
                    if call.function and call.function.name:
                        names[index] = call.function.name
                    if call.function and call.function.arguments:
                        arguments[index] = arguments.get(index, "") + call.function.arguments
        except (httpx.RemoteProtocolError, httpx.ReadTimeout):
            answer.interrupted = True
            continue
        answer.tool_calls = [(names[i], json.loads(arguments.get(i) or "{}")) for i in sorted(names)]
        return answer
    return answer


# --- 1. a scripted reply ------------------------------------------------------------------------------


def test_the_app_joins_the_streamed_text(writer_mock: WriterMock) -> None:
    writer_mock.reply(StreamScript().content("It is ", "sunny", "."))

    answer = ask(writerai.Writer(api_key="test"), "Weather?")

    assert answer.text == "It is sunny."
    assert not answer.interrupted


# --- 2. a tool call -------------------------------------------------------------------------------------


def test_the_app_collects_a_streamed_tool_call(writer_mock: WriterMock) -> None:
    # Arguments arrive in pieces, as the real API streams them.
    writer_mock.reply(StreamScript().tool_call("get_weather", ['{"city": ', '"Paris"}']))

    answer = ask(writerai.Writer(api_key="test"), "Weather in Paris?")

    assert answer.tool_calls == [("get_weather", {"city": "Paris"})]


# --- 3. a retry after 429 ---------------------------------------------------------------------------------


def test_the_sdk_retries_a_rate_limit_after_the_wait_it_was_given(writer_mock: WriterMock) -> None:
    writer_mock.reply(Fault.http_error(429, retry_after=0.05))  # the first attempt is rate limited
    writer_mock.reply(StreamScript().content("Done."))  # the retry succeeds

    answer = ask(writerai.Writer(api_key="test"), "Hello?")

    assert answer.text == "Done."
    first, retry = writer_mock.calls
    assert retry.headers["x-stainless-retry-count"] == "1"
    assert first.json == retry.json


# --- 4. a disconnect mid-stream ---------------------------------------------------------------------------------


def test_the_app_asks_again_when_the_stream_drops() -> None:
    # The context-manager form works outside pytest too, and verifies on exit.
    with WriterMock() as mock:
        mock.reply(StreamScript().content("It is ", "sun").with_fault(Fault.disconnect(after_chunks=1)))
        mock.reply(StreamScript().content("It is ", "sunny."))

        answer = ask(writerai.Writer(api_key="test"), "Weather?")

    assert answer.text == "It is sunny."  # the partial "It is " from the first attempt was discarded
    assert len(mock.calls) == 2


def test_the_app_reports_an_interrupted_answer_when_it_drops_every_time(writer_mock: WriterMock) -> None:
    dropped = StreamScript().content("It is ", "sun").with_fault(Fault.disconnect(after_chunks=1))
    writer_mock.reply(dropped, times=2)

    answer = ask(writerai.Writer(api_key="test"), "Weather?")

    assert answer.interrupted
    assert answer.text == "It is "


# --- 5. asserting on the request the app sent ---------------------------------------------------------------------


def test_the_app_sends_the_question_with_its_system_prompt_and_tools(writer_mock: WriterMock) -> None:
    writer_mock.reply(StreamScript().content("ok"))

    ask(writerai.Writer(api_key="secret"), "Weather in Oslo?")

    (call,) = writer_mock.calls
    assert call.path == "/v1/chat"
    assert call.headers["authorization"] == "Bearer secret"
    assert call.json["stream"] is True
    assert call.json["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Weather in Oslo?"},
    ]
    assert [tool["function"]["name"] for tool in call.json["tools"]] == ["get_weather"]


def test_a_reply_can_insist_on_the_request_it_answers(writer_mock: WriterMock) -> None:
    # A reply with matchers only answers a request that fits them; any other request fails the test.
    writer_mock.reply(
        StreamScript().content("Cold."),
        model="palmyra-x5",
        messages=lambda messages: "Oslo" in messages[-1]["content"],
    )

    assert ask(writerai.Writer(api_key="test"), "Weather in Oslo?").text == "Cold."


# --- 6. other endpoints, and a reply computed from the request -----------------------------------------------


def summarise(client: writerai.Writer, text: str) -> str:
    """Pick the newest model the account has, then stream a completion from it."""
    model = client.models.list().models[-1].id
    stream = client.completions.create(model=model, prompt=f"Summarise: {text}", stream=True)
    return "".join(chunk.value for chunk in stream)


def test_the_app_lists_models_then_streams_a_completion(writer_mock: WriterMock) -> None:
    writer_mock.reply({"models": [{"id": "palmyra-x5", "name": "Palmyra X5"}]}, path="/v1/models")
    writer_mock.reply(CompletionScript().text("Short", " summary."))  # it knows its endpoint

    assert summarise(writerai.Writer(api_key="test"), "a long text") == "Short summary."
    assert [f"{c.method} {c.path}" for c in writer_mock.calls] == ["GET /v1/models", "POST /v1/completions"]
    assert writer_mock.calls[1].json["model"] == "palmyra-x5"


def test_a_computed_reply_answers_each_question_from_the_request(writer_mock: WriterMock) -> None:
    def echo(call: Call) -> StreamScript:
        return StreamScript().content("You asked: ", call.json["messages"][-1]["content"])

    writer_mock.reply(echo, times=2)  # evaluated for each request
    client = writerai.Writer(api_key="test")

    assert ask(client, "Weather?").text == "You asked: Weather?"
    assert ask(client, "Time?").text == "You asked: Time?"

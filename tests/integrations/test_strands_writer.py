"""``strands-agents``' ``WriterModel`` (and an ``Agent`` on it), unchanged, against the kit's doubles.

WriterModel wraps ``writerai.AsyncClient``; every model here sets a timeout and builds its
client inside the event loop that uses it (an httpx async client must stay on one loop: a
keep-alive connection left in its pool by one ``asyncio.run()`` cannot serve the next).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

pytest.importorskip(
    "strands.models.writer",
    reason="strands-agents[writer] is not installed here: Writer's integrations pin writer-sdk 2.x and run "
    "in .venv-sdk2, which `python3 tasks.py test` builds from .ci/sdk2.txt",
)

from strands import Agent, tool
from strands.models.writer import WriterModel
from strands.types.exceptions import ModelThrottledException
from wireshape import reference_shaped

from writer_stream_testkit import FakeWriterServer, Fault, StreamScript, WriterMock

MESSAGES: Any = [{"role": "user", "content": [{"text": "What is the weather in SF?"}]}]
SPECS: Any = [
    {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "inputSchema": {
            "json": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
        },
    }
]
HELLO = StreamScript().content("Hel", "lo").usage(prompt_tokens=5, completion_tokens=3)
WEATHER = StreamScript().tool_call("get_weather", ['{"city": ', '"SF"}'])


def model(double: WriterMock | FakeWriterServer, **config: Any) -> WriterModel:
    client = {"api_key": "test", "base_url": double.base_url, "timeout": 10.0, "max_retries": 0}
    return WriterModel(client_args=client, model_id="palmyra-x5", **config)


def stream(double: WriterMock | FakeWriterServer, **kwargs: Any) -> list[dict[str, Any]]:
    async def collect() -> list[dict[str, Any]]:
        writer = model(double, stream_options={"include_usage": True})
        try:
            return [event async for event in writer.stream(MESSAGES, **kwargs)]
        finally:
            await writer.client.close()  # WriterModel never closes its client

    return asyncio.run(collect())


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [next(iter(event)) for event in events]


def test_text_streams_as_content_block_deltas_with_usage(double: WriterMock | FakeWriterServer) -> None:
    double.reply(HELLO)
    events = stream(double, system_prompt="Be brief.")
    assert kinds(events) == [
        "messageStart",
        "contentBlockStart",
        "contentBlockDelta",
        "contentBlockDelta",
        "contentBlockStop",
        "messageStop",
        "metadata",
    ]
    assert [e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e] == [
        "Hel",
        "lo",
    ]
    assert events[5]["messageStop"]["stopReason"] == "end_turn"
    assert events[6]["metadata"]["usage"] == {"inputTokens": 5, "outputTokens": 3, "totalTokens": 8}
    sent = double.calls[-1].json
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
    assert sent["stream_options"] == {"include_usage": True}


def test_a_tool_use_streams_its_id_name_and_input(double: WriterMock | FakeWriterServer) -> None:
    double.reply(WEATHER)
    events = stream(double, tool_specs=SPECS)
    call_id = WEATHER.chunks()[0]["choices"][0]["delta"]["tool_calls"][0]["id"]
    starts = [e["contentBlockStart"]["start"] for e in events if "contentBlockStart" in e]
    assert starts[-1] == {"toolUse": {"name": "get_weather", "toolUseId": call_id}}
    pieces = [e["contentBlockDelta"]["delta"]["toolUse"]["input"] for e in events if "contentBlockDelta" in e]
    assert "".join(pieces) == '{"city": "SF"}'
    assert [e["messageStop"]["stopReason"] for e in events if "messageStop" in e] == ["tool_use"]
    assert double.calls[-1].json["tools"][0]["function"]["name"] == "get_weather"


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city.

    Args:
        city: The city to look up.
    """
    return f"sunny in {city}"


def test_an_agent_calls_the_tool_and_answers_from_its_result(double: WriterMock | FakeWriterServer) -> None:
    double.reply(WEATHER)
    double.reply(StreamScript().content("It is sunny ", "in SF."))

    async def ask() -> Any:
        writer = model(double)
        try:
            agent = Agent(model=writer, tools=[get_weather], callback_handler=None)
            return await agent.invoke_async("What is the weather in SF?")
        finally:
            await writer.client.close()

    result = asyncio.run(ask())
    assert result.stop_reason == "end_turn"
    assert str(result).strip() == "It is sunny in SF."
    history = double.calls[1].json["messages"]
    assert history[-1]["role"] == "tool"
    assert "sunny in SF" in str(history[-1]["content"])
    assert history[-2]["tool_calls"][0]["function"]["name"] == "get_weather"


def test_a_429_becomes_strands_throttling_exception(double: WriterMock | FakeWriterServer) -> None:
    double.reply(Fault.http_error(429, retry_after_ms=1))
    with pytest.raises(ModelThrottledException):
        stream(double)


@pytest.mark.parametrize("script", [HELLO, WEATHER], ids=["text", "tool-call"])
def test_the_reference_examples_delta_shape_streams_as_the_minimal_one(
    double: WriterMock | FakeWriterServer, script: StreamScript
) -> None:
    """Why the minimal delta can stay the default: WriterModel streams both shapes alike (docs/scripts.md)."""
    double.reply(script)
    minimal = stream(double, tool_specs=SPECS)
    double.reply(reference_shaped(script))
    assert stream(double, tool_specs=SPECS) == minimal

"""A tiny weather assistant: streams a Writer chat completion, runs its tool, survives a dropped stream.

This is the code under test in the example; it knows nothing about
writer-stream-testkit and talks to the Writer API only through ``writerai``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import writerai

MODEL = "palmyra-x5"
SYSTEM = "You are a weather assistant. Use get_weather for current conditions; answer in one sentence."

WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}

# What a dropped connection looks like to a caller of writerai: before the first byte the SDK
# raises APIConnectionError (after its own retries); mid-stream, httpx's error surfaces as is.
DROPPED = (writerai.APIConnectionError, httpx.TransportError)


def get_weather(city: str) -> dict[str, Any]:
    """The local tool: canned conditions, so the example needs no weather service."""
    return {"city": city, "conditions": "sunny", "temperature_c": 18}


TOOLS: dict[str, Callable[..., dict[str, Any]]] = {"get_weather": get_weather}


@dataclass
class Answer:
    text: str
    tools_called: list[str] = field(default_factory=list)
    attempts: int = 0
    """Streams started, including ones that dropped and were retried."""
    events: list[Any] = field(default_factory=list)
    """Every stream event of the final attempt of each turn, for logging (and snapshot tests)."""

    def weather_tool_called(self) -> bool:
        return "get_weather" in self.tools_called


def ask(
    client: writerai.Writer,
    question: str,
    *,
    retries: int = 1,
    on_text: Callable[[str], None] | None = None,
) -> Answer:
    """Answer ``question``, streaming text to ``on_text`` and running any tool the model calls.

    A stream that drops part-way is started again from the beginning, up to
    ``retries`` more times, since a half answer is worse than a late one.
    """
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": question},
    ]
    answer = Answer(text="")
    while True:
        completion = _stream_turn(client, messages, answer, retries=retries, on_text=on_text)
        message = completion.choices[0].message
        calls = message.tool_calls or []
        if not calls:
            answer.text = message.content or ""
            return answer
        messages.append(
            {
                "role": "assistant",
                "content": message.content or "",
                "tool_calls": [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.function.name, "arguments": call.function.arguments},
                    }
                    for call in calls
                ],
            }
        )
        for call in calls:
            answer.tools_called.append(call.function.name)
            result = TOOLS[call.function.name](**json.loads(call.function.arguments or "{}"))
            messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)})


def _stream_turn(
    client: writerai.Writer,
    messages: list[dict[str, Any]],
    answer: Answer,
    *,
    retries: int,
    on_text: Callable[[str], None] | None,
) -> Any:
    for attempt in range(retries + 1):
        answer.attempts += 1
        events: list[Any] = []
        try:
            with client.chat.stream(model=MODEL, messages=messages, tools=[WEATHER_TOOL]) as stream:
                for event in stream:
                    events.append(event)
                    if event.type == "content.delta" and on_text is not None:
                        on_text(event.delta)
                completion = stream.get_final_completion()
        except DROPPED:
            if attempt == retries:
                raise
            continue
        answer.events.extend(events)
        return completion
    raise AssertionError("unreachable")

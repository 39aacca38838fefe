"""chat.stream's arguments as writerai takes them: the helper header, streaming forced, a model sent as a strict JSON schema, tools it can and cannot parse."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import writerai
from chunks import text_chunk
from fourclients import DONE, KINDS, MESSAGES, Reply, data, sse
from sdkparity import MARKERS, Weather, chat_call, stream_call, through

from writer_stream_testkit.client import AsyncWriter, Writer

STRICT_TOOL = {
    "type": "function",
    "function": {"name": "lookup", "parameters": {"type": "object"}, "strict": True},
}


ONE_CHUNK = sse(data(text_chunk("x")) + DONE)


LOOSE_TOOL = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}


def _stream_through(cls: Any, reply: Reply, **call: Any) -> tuple[httpx.Request, Any]:
    """Enter ``chat.stream`` on a client of ``cls``; the request sent and the final completion."""
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return reply(request)

    transport = httpx.MockTransport(handler)
    call = {"model": "palmyra-x5", "messages": MESSAGES, **call}
    if cls in (Writer, writerai.Writer):
        with (
            cls(api_key="key", http_client=httpx.Client(transport=transport)) as client,
            client.chat.stream(**call) as stream,
        ):
            return sent[0], stream.get_final_completion()

    async def main() -> Any:
        async with (
            cls(api_key="key", http_client=httpx.AsyncClient(transport=transport)) as client,
            client.chat.stream(**call) as stream,
        ):
            return await stream.get_final_completion()

    final = asyncio.run(main())
    return sent[0], final


@pytest.mark.parametrize(("ours", "sdk"), [(Writer, writerai.Writer), (AsyncWriter, writerai.AsyncWriter)])
def test_chat_stream_sends_the_sdks_helper_header_and_forces_streaming(ours: Any, sdk: Any) -> None:
    reply = sse(data(text_chunk("Hel")) + data(text_chunk("lo")) + DONE)
    (a, final), (b, sdk_final) = _stream_through(ours, reply), _stream_through(sdk, reply)
    assert a.headers["x-stainless-helper-method"] == b.headers["x-stainless-helper-method"] == "chat.stream"
    assert a.content == b.content
    assert json.loads(a.content)["stream"] is True
    assert final.choices[0].message.content == sdk_final.choices[0].message.content == "Hello"


def test_chat_stream_lets_the_caller_override_the_helper_header() -> None:
    request, _ = _stream_through(Writer, ONE_CHUNK, extra_headers={"X-Stainless-Helper-Method": "mine"})
    assert request.headers.get_list("x-stainless-helper-method") == ["mine"]


@pytest.mark.parametrize("cls", [Writer, AsyncWriter])
def test_chat_stream_sends_a_model_as_strict_json_schema_and_parses_into_it(cls: Any) -> None:
    reply = sse(data(text_chunk('{"city": "Oslo", ')) + data(text_chunk('"degrees": 4}')) + DONE)
    request, final = _stream_through(cls, reply, response_format=Weather, tools=[STRICT_TOOL])
    sent_format = json.loads(request.content)["response_format"]
    assert sent_format["type"] == "json_schema"
    assert sent_format["json_schema"]["name"] == "Weather"
    assert sent_format["json_schema"]["strict"] is True
    assert set(sent_format["json_schema"]["schema"]["properties"]) == {"city", "degrees"}
    assert json.loads(request.content)["tools"] == [STRICT_TOOL]
    assert final.choices[0].message.parsed == Weather(city="Oslo", degrees=4)


def test_chat_stream_passes_a_response_format_dict_through() -> None:
    response_format = {"type": "json_object"}
    request, final = _stream_through(
        Writer, sse(data(text_chunk("{}")) + DONE), response_format=response_format
    )
    assert json.loads(request.content)["response_format"] == response_format
    assert final.choices[0].message.parsed is None


def test_chat_stream_with_a_model_refuses_tools_that_cannot_be_parsed() -> None:
    client = Writer(api_key="k", http_client=httpx.Client(transport=httpx.MockTransport(sse(DONE))))
    with pytest.raises(ValueError, match="`lookup` is not strict"):
        client.chat.stream(model="m", messages=MESSAGES, response_format=Weather, tools=[LOOSE_TOOL])


def test_chat_stream_without_a_model_accepts_any_tools_as_the_sdk_does() -> None:
    request, _ = _stream_through(Writer, ONE_CHUNK, tools=iter([LOOSE_TOOL]))
    assert json.loads(request.content)["tools"] == [LOOSE_TOOL]
    sdk_request, _ = _stream_through(writerai.Writer, ONE_CHUNK, tools=[LOOSE_TOOL])
    assert request.content == sdk_request.content


# --- required arguments and chat.parse, beside writerai -------------------------------------------


@pytest.mark.parametrize("left_out", [("model",), ("messages",), ("model", "messages")])
def test_a_chat_call_without_model_or_messages_raises_writerais_type_error_and_sends_nothing(
    left_out: tuple[str, ...],
) -> None:
    call = {key: value for key, value in {"model": "m", "messages": MESSAGES}.items() if key not in left_out}
    for stream in (True, False):
        seen = {kind: through(kind, chat_call(stream=stream, **call)) for kind in KINDS}
        messages = {kind: str(s.error) for kind, s in seen.items()}
        assert all(isinstance(s.error, TypeError) for s in seen.values()), messages
        assert len(set(messages.values())) == 1, messages
        assert all(s.requests == [] for s in seen.values())


def _named_as_ours(message: str) -> str:
    """writerai's method names are ``ChatResource.*``; the kit's classes are ``Chat`` / ``AsyncChat``."""
    return message.replace("ChatResource.", "Chat.")


@pytest.mark.parametrize("left_out", [("model",), ("messages",), ("messages", "model")])
def test_chat_stream_without_model_or_messages_raises_pythons_type_error_at_the_call(
    left_out: tuple[str, ...],
) -> None:
    call = {key: value for key, value in {"model": "m", "messages": MESSAGES}.items() if key not in left_out}
    seen = {kind: through(kind, lambda client: client.chat.stream(**call)) for kind in KINDS}
    messages = {kind: _named_as_ours(str(s.error)) for kind, s in seen.items()}
    assert messages["ours"] == messages["sdk"], messages
    assert messages["ours-async"] == messages["sdk-async"], messages
    assert messages["ours"].startswith("Chat.stream() missing")
    assert all(isinstance(s.error, TypeError) and s.requests == [] for s in seen.values())


@pytest.mark.parametrize(
    "call",
    [
        {"messages": MESSAGES},
        {"model": "m"},
        {},
        {"model": "m", "messages": MESSAGES},
        {"messages": MESSAGES, "response_format": Weather},
        {"model": "m", "messages": MESSAGES, "response_format": Weather, "stream_options": {}},
        {"model": "m", "messages": MESSAGES, "response_format": Weather, "stream": True},
    ],
    ids=[
        "no-model-or-format",
        "no-messages-or-format",
        "nothing",
        "no-format",
        "no-model",
        "stream-options",
        "stream",
    ],
)
def test_chat_parse_checks_its_arguments_as_writerai_does_before_sending(call: dict[str, Any]) -> None:
    seen = {kind: through(kind, lambda client: client.chat.parse(**call)) for kind in KINDS}
    messages = {kind: _named_as_ours(str(s.error)) for kind, s in seen.items()}
    assert messages["ours"] == messages["sdk"], messages
    assert messages["ours-async"] == messages["sdk-async"], messages
    assert all(isinstance(s.error, TypeError) and s.requests == [] for s in seen.values())


def test_chat_parse_sends_the_sdks_request_and_returns_a_parsed_chat_completion() -> None:
    call = {"model": "palmyra-x5", "messages": MESSAGES, "response_format": Weather, "tools": [STRICT_TOOL]}
    seen = {kind: through(kind, lambda client: client.chat.parse(**call)) for kind in KINDS}
    assert {kind: s.error for kind, s in seen.items()} == dict.fromkeys(KINDS)
    assert seen["ours"].requests[0].content == seen["sdk"].requests[0].content
    assert seen["ours"].headers() == seen["sdk"].headers()
    assert seen["ours-async"].headers() == seen["sdk-async"].headers()
    for kind in KINDS:
        result = seen[kind].result
        assert type(result).__name__ == "ParsedChatCompletion[Weather]"
        assert result.choices[0].message.parsed == Weather(city="Oslo", degrees=4)
    assert seen["ours"].result.to_dict() == seen["sdk"].result.to_dict()


@pytest.mark.parametrize("marker", MARKERS)
def test_chat_parse_takes_writerais_marker_as_response_format_and_parses_nothing(marker: str) -> None:
    """writerai's parse reads its marker as "no schema": nothing sent, a ParsedChatCompletion[NoneType]."""
    call = {"model": "m", "messages": MESSAGES, "response_format": getattr(writerai, marker)}
    seen = {kind: through(kind, lambda client: client.chat.parse(**call)) for kind in KINDS}
    assert {kind: s.error for kind, s in seen.items()} == dict.fromkeys(KINDS)
    assert seen["ours"].requests[0].content == seen["sdk"].requests[0].content
    assert seen["ours-async"].requests[0].content == seen["sdk-async"].requests[0].content
    assert "response_format" not in seen["ours"].body
    for kind in KINDS:
        result = seen[kind].result
        assert type(result).__name__ == "ParsedChatCompletion[NoneType]", kind
        assert result.choices[0].message.parsed is None, kind


def test_chat_parse_refuses_a_none_response_format_before_sending_as_writerai_does() -> None:
    """A test must not pass where the app crashes: writerai raises TypeError for None and sends nothing."""
    call = {"model": "m", "messages": MESSAGES, "response_format": None}
    seen = {kind: through(kind, lambda client: client.chat.parse(**call)) for kind in KINDS}
    assert all(isinstance(s.error, TypeError) and s.requests == [] for s in seen.values()), seen
    assert (
        str(seen["ours"].error)
        == str(seen["ours-async"].error)
        == (
            "Unsupported response_format None; pass a pydantic model, a pydantic dataclass or a "
            "response_format dict."
        )
    )


def test_chat_parse_refuses_tools_it_cannot_parse_before_sending() -> None:
    loose = {"type": "function", "function": {"name": "lookup", "parameters": {}}}
    call = {"model": "m", "messages": MESSAGES, "response_format": Weather, "tools": [loose]}
    seen = {kind: through(kind, lambda client: client.chat.parse(**call)) for kind in KINDS}
    assert {str(s.error) for s in seen.values()} == {
        "`lookup` is not strict. Only `strict` function tools can be auto-parsed"
    }
    assert all(s.requests == [] for s in seen.values())


@pytest.mark.parametrize("method", ["stream", "parse"])
def test_chat_stream_and_parse_with_tools_none_raise_type_error_before_sending_as_writerai_does(
    method: str,
) -> None:
    """``tools=None`` fails in writerai's chat.stream and chat.parse; the kit's must not pass where the app crashes."""
    call = {"model": "m", "messages": MESSAGES, "tools": None}
    act = (
        stream_call(**call)
        if method == "stream"
        else lambda client: client.chat.parse(**call, response_format=Weather)
    )
    seen = {kind: through(kind, act) for kind in KINDS}
    assert all(isinstance(s.error, TypeError) for s in seen.values()), seen
    assert seen["ours"].requests == seen["ours-async"].requests == []
    assert (
        str(seen["ours"].error)
        == str(seen["ours-async"].error)
        == (
            f"chat.{method} got tools=None, which writerai's chat.{method} cannot read (TypeError: 'NoneType' "
            "object is not iterable); leave tools out, or pass a list of tools."
        )
    )

"""One chat call, whichever face sends it (_chat_call.py): what it sends and how it reads the answer."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pydantic
import pytest

from writer_stream_testkit import AsyncStream, AsyncWriter, Stream, Writer
from writer_stream_testkit._chat_call import chat_call, parse_call
from writer_stream_testkit._response import RAW_RESPONSE_HEADER
from writer_stream_testkit._sentinels import NOT_GIVEN
from writer_stream_testkit.wire.types import ChatCompletion, ParsedChatCompletion

MESSAGES = [{"role": "user", "content": "hi"}]
COMPLETION = {
    "id": "c1",
    "object": "chat.completion",
    "created": 1,
    "model": "palmyra-x5",
    "choices": [
        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": '{"city": "Oslo"}'}}
    ],
}


class City(pydantic.BaseModel):
    city: str


@pytest.fixture
def client() -> Any:
    with Writer(api_key="k", base_url="http://127.0.0.1:9", max_retries=0) as writer:
        yield writer


def body(request: httpx.Request) -> Any:
    return json.loads(request.content)


def test_a_streaming_call_sends_stream_true_and_reads_server_sent_events(client: Writer) -> None:
    call = chat_call(client, True, NOT_GIVEN, {"model": "palmyra-x5", "messages": MESSAGES}, Stream)
    request = call.build(0)
    assert (request.method, request.url.path) == ("POST", "/v1/chat")
    assert body(request) == {"model": "palmyra-x5", "messages": MESSAGES, "stream": True}
    assert (call.sse, call.send_streaming) == (True, True)
    response = httpx.Response(200, content=b"data: [DONE]\n\n", request=request)
    assert isinstance(call.parse(response), Stream)


def test_a_plain_call_reads_one_completion(client: Writer) -> None:
    call = chat_call(client, NOT_GIVEN, NOT_GIVEN, {"model": "palmyra-x5", "messages": MESSAGES}, Stream)
    request = call.build(0)
    assert "stream" not in body(request)
    assert (call.sse, call.send_streaming) == (False, False)
    completion = call.parse(httpx.Response(200, json=COMPLETION, request=request))
    assert isinstance(completion, ChatCompletion)
    assert completion.choices[0].message.content == '{"city": "Oslo"}'


@pytest.mark.parametrize("mode", ["raw", "stream"])
def test_raw_and_streaming_views_mark_their_requests_as_writerai_does(client: Writer, mode: Any) -> None:
    call = chat_call(
        client, False, NOT_GIVEN, {"model": "palmyra-x5", "messages": MESSAGES}, Stream, mode=mode
    )
    assert call.build(0).headers[RAW_RESPONSE_HEADER] == mode
    assert call.send_streaming is (mode == "stream")  # a streaming response is read as it arrives
    assert call.sse is False


def test_parse_sends_the_schema_and_reads_the_answer_into_the_model(client: Writer) -> None:
    call = parse_call(client, "Chat.parse", City, {"model": "palmyra-x5", "messages": MESSAGES}, Stream)
    request = call.build(0)
    sent = body(request)
    assert "stream" not in sent
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["schema"]["properties"] == {
        "city": {"title": "City", "type": "string"}
    }
    parsed = call.parse(httpx.Response(200, json=COMPLETION, request=request))
    assert isinstance(parsed, ParsedChatCompletion)
    assert parsed.choices[0].message.parsed == City(city="Oslo")


def test_parse_refuses_stream_options_before_sending(client: Writer) -> None:
    params: Any = {"model": "palmyra-x5", "messages": MESSAGES, "stream_options": {"include_usage": True}}
    with pytest.raises(TypeError, match="stream_options"):
        parse_call(client, "Chat.parse", City, params, Stream)


def test_the_async_face_gets_the_same_request_and_its_own_stream_class() -> None:
    async_client = AsyncWriter(api_key="k", base_url="http://127.0.0.1:9", max_retries=0)
    sync_client = Writer(api_key="k", base_url="http://127.0.0.1:9", max_retries=0)
    params: Any = {"model": "palmyra-x5", "messages": MESSAGES}
    ours = chat_call(async_client, True, NOT_GIVEN, params, AsyncStream)
    theirs = chat_call(sync_client, True, NOT_GIVEN, params, Stream)
    assert body(ours.build(0)) == body(theirs.build(0))
    request = ours.build(0)
    assert isinstance(ours.parse(httpx.Response(200, content=b"", request=request)), AsyncStream)
    sync_client.close()

"""The kit's client beside writerai's, on the parts of the surface apps use besides plain calls.

writerai's "leave it out" markers, the required-argument checks, ``chat.parse``,
``with_raw_response`` / ``with_streaming_response``, ``copy`` / ``with_options``, error
bodies nested past the recursion limit and an empty ``WRITER_BASE_URL``: each is run
through the kit's ``Writer`` / ``AsyncWriter`` and writerai's, and compared. Runs on
writerai 3.x (``.venv``) and 2.x (``.venv-sdk2``).
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pydantic
import pytest
import writerai
from chunks import text_chunk
from diffutil import plain
from writerai._types import NotGiven as SdkNotGiven
from writerai._types import Omit as SdkOmit
from writerai.lib.streaming.chat._completions import ChatCompletionStreamState as SdkState
from writerai.types import ChatCompletionChunk as SdkChunk

from writer_stream_testkit import errors
from writer_stream_testkit._sentinels import NOT_GIVEN, is_left_out
from writer_stream_testkit.client import AsyncWriter, Writer
from writer_stream_testkit.helpers.accumulate import ChatCompletionStreamState

MESSAGES = [{"role": "user", "content": "Hi"}]
SDK_MAJOR = int(writerai.__version__.split(".")[0])

CLIENTS: dict[str, Any] = {
    "ours": Writer,
    "ours-async": AsyncWriter,
    "sdk": writerai.Writer,
    "sdk-async": writerai.AsyncWriter,
}
KINDS = list(CLIENTS)
VERSION_HEADERS = {"user-agent", "x-stainless-package-version"}


def completion(content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-2",
        "object": "chat.completion",
        "created": 2,
        "model": "palmyra-x5",
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}
        ],
    }


class Body(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body read piece by piece, so a response left unread stays open."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __iter__(self) -> Iterator[bytes]:
        yield self.data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.data


def answer(request: httpx.Request, content: str = '{"city": "Oslo", "degrees": 4}') -> httpx.Response:
    """A stream for ``stream: true``, else one completion; both carry a rate-limit header."""
    headers = {"x-ratelimit-remaining-requests": "41"}
    if json.loads(request.content).get("stream"):
        sse = f"data: {json.dumps(text_chunk(content, 'stop'))}\n\ndata: [DONE]\n\n".encode()
        return httpx.Response(200, headers={**headers, "content-type": "text/event-stream"}, stream=Body(sse))
    return httpx.Response(
        200,
        headers={**headers, "content-type": "application/json"},
        stream=Body(json.dumps(completion(content)).encode()),
    )


@dataclass
class Seen:
    """What one client did: the requests it sent, and what the action returned or raised."""

    requests: list[httpx.Request] = field(default_factory=list)
    result: Any = None
    error: BaseException | None = None

    @property
    def body(self) -> dict[str, Any]:
        return json.loads(self.requests[-1].content)  # type: ignore[no-any-return]

    def headers(self) -> list[tuple[str, str]]:
        return [(k, v) for k, v in self.requests[-1].headers.items() if k not in VERSION_HEADERS]


def through(
    kind: str,
    act: Callable[[Any], Any],
    reply: Callable[[httpx.Request], httpx.Response] = answer,
    **options: Any,
) -> Seen:
    """Run ``act(client)`` on a fresh client of ``kind``; an awaitable result is awaited in the loop."""
    seen = Seen()

    def handler(request: httpx.Request) -> httpx.Response:
        seen.requests.append(request)
        return reply(request)

    transport = httpx.MockTransport(handler)
    options = {"api_key": "key", "max_retries": 0, **options}
    if not kind.endswith("async"):
        with CLIENTS[kind](http_client=httpx.Client(transport=transport), **options) as client:
            try:
                seen.result = act(client)
            except Exception as exc:
                seen.error = exc
        return seen

    async def main() -> None:
        async with CLIENTS[kind](http_client=httpx.AsyncClient(transport=transport), **options) as client:
            try:
                result = act(client)
                seen.result = await result if inspect.isawaitable(result) else result
            except Exception as exc:
                seen.error = exc

    asyncio.run(main())
    return seen


def chat_call(**call: Any) -> Callable[[Any], Any]:
    """``client.chat.chat(**call)``, a stream read to the end: its chunks' contents."""

    def act(client: Any) -> Any:
        result = client.chat.chat(**call)
        if not inspect.isawaitable(result):
            return [c.choices[0].delta.content for c in result] if call.get("stream") is True else result

        async def read() -> Any:
            got = await result
            if call.get("stream") is True:
                return [c.choices[0].delta.content async for c in got]
            return got

        return read()

    return act


def stream_call(**call: Any) -> Callable[[Any], Any]:
    """``client.chat.stream(**call)`` entered and read: the final completion's content and parsed."""

    def act(client: Any) -> Any:
        manager = client.chat.stream(**call)
        if hasattr(manager, "__enter__"):
            with manager as stream:
                final = stream.get_final_completion()
                return final.choices[0].message.content, final.choices[0].message.parsed

        async def read() -> Any:
            async with manager as stream:
                final = await stream.get_final_completion()
                return final.choices[0].message.content, final.choices[0].message.parsed

        return read()

    return act


# --- 1. writerai's NOT_GIVEN / not_given / omit -----------------------------------------------------

MARKERS = ["NOT_GIVEN", "not_given", "omit"]
FIELDS = [
    "logprobs",
    "max_tokens",
    "n",
    "response_format",
    "stop",
    "stream",
    "stream_options",
    "temperature",
    "tool_choice",
    "tools",
    "top_p",
    "timeout",
]


def test_writerais_markers_are_recognised_without_importing_writerai() -> None:
    import subprocess
    import sys

    # The kit must not need writerai: using its client and helpers imports none of it.
    probe = (
        "import sys\n"
        "from writer_stream_testkit import client, _sentinels\n"
        "from writer_stream_testkit.helpers import streaming, accumulate\n"
        "client.Writer(api_key='k', base_url='http://127.0.0.1:9').chat.stream(model='m', messages=[])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'writerai'))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "[]"), done.stderr
    assert all(is_left_out(getattr(writerai, name)) for name in MARKERS)
    assert is_left_out(NOT_GIVEN)
    assert not any(is_left_out(value) for value in (None, False, 0, "", [], {}))

    class NotGiven:  # the same name elsewhere is not a marker
        pass

    assert not is_left_out(NotGiven())
    assert isinstance(writerai.omit, SdkOmit)
    assert isinstance(writerai.NOT_GIVEN, SdkNotGiven)


@pytest.mark.parametrize("name", FIELDS)
@pytest.mark.parametrize("marker", MARKERS)
def test_a_field_given_writerais_marker_is_left_out_as_writerai_leaves_it_out(marker: str, name: str) -> None:
    call = {"model": "palmyra-x5", "messages": MESSAGES, "temperature": 0.5, name: getattr(writerai, marker)}
    seen = {kind: through(kind, chat_call(**call)) for kind in KINDS}
    assert {kind: s.error for kind, s in seen.items()} == dict.fromkeys(KINDS)
    assert seen["ours"].requests[0].content == seen["sdk"].requests[0].content
    assert seen["ours-async"].requests[0].content == seen["sdk-async"].requests[0].content
    assert name not in seen["ours"].body
    if (marker, name) == ("omit", "timeout"):
        # writerai's timeout takes NotGiven, not Omit: given omit it sends the object's repr as the
        # read-timeout header. The kit reads omit as "the default" (docs/deviations.md).
        sdk_header = seen["sdk"].requests[0].headers["x-stainless-read-timeout"]
        assert sdk_header.startswith("<writerai.")
        assert seen["ours"].requests[0].headers["x-stainless-read-timeout"] == "180"
        return
    assert seen["ours"].headers() == seen["sdk"].headers()
    assert seen["ours-async"].headers() == seen["sdk-async"].headers()
    assert seen["ours"].requests[0].extensions["timeout"] == seen["sdk"].requests[0].extensions["timeout"]


@pytest.mark.parametrize("marker", MARKERS)
def test_chat_stream_takes_writerais_markers_for_tools_and_every_option(marker: str) -> None:
    left_out = getattr(writerai, marker)
    call = {
        "model": "palmyra-x5",
        "messages": MESSAGES,
        **dict.fromkeys(("tools", "temperature", "max_tokens", "stop", "tool_choice"), left_out),
    }
    if marker != "omit":  # writerai's timeout takes NotGiven only (see the test above)
        call["timeout"] = left_out
    seen = {kind: through(kind, stream_call(**call)) for kind in KINDS}
    assert {kind: s.error for kind, s in seen.items()} == dict.fromkeys(KINDS)
    assert seen["ours"].requests[0].content == seen["sdk"].requests[0].content
    assert seen["ours"].headers() == seen["sdk"].headers()
    assert seen["ours-async"].headers() == seen["sdk-async"].headers()
    assert {s.result for s in seen.values()} == {('{"city": "Oslo", "degrees": 4}', None)}
    assert seen["ours"].body == {"messages": MESSAGES, "model": "palmyra-x5", "stream": True}


NESTED = {
    "message-field": lambda m: {"messages": [{"role": "user", "content": "Hi", "name": m}]},
    "tool-call-list": lambda m: {"messages": [{"role": "assistant", "content": "Hi", "tool_calls": m}]},
    "tool-description": lambda m: {
        "tools": [{"type": "function", "function": {"name": "f", "description": m, "parameters": {}}}]
    },
    "stream-options": lambda m: {"stream_options": {"include_usage": m}},
}


@pytest.mark.parametrize("where", NESTED)
@pytest.mark.parametrize("marker", MARKERS)
def test_writerais_marker_inside_a_typed_field_leaves_that_key_out_as_writerai_does(
    marker: str, where: str
) -> None:
    """writerai strips its markers wherever its request types reach, not only at the top level."""
    call = {"model": "m", "messages": MESSAGES, **NESTED[where](getattr(writerai, marker))}
    seen = {kind: through(kind, chat_call(**call)) for kind in KINDS}
    assert {kind: s.error for kind, s in seen.items()} == dict.fromkeys(KINDS)
    assert seen["ours"].requests[0].content == seen["sdk"].requests[0].content
    assert seen["ours-async"].requests[0].content == seen["sdk-async"].requests[0].content


@pytest.mark.parametrize("marker", MARKERS)
def test_writerais_marker_inside_an_untyped_json_schema_is_refused_before_sending_as_in_writerai(
    marker: str,
) -> None:
    """A function's ``parameters`` is a free JSON schema to writerai: a marker there cannot be sent."""
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": getattr(writerai, marker)}}}
    seen = {kind: through(kind, chat_call(model="m", messages=MESSAGES, tools=[tool])) for kind in KINDS}
    assert all(isinstance(s.error, TypeError) and s.requests == [] for s in seen.values()), seen


@pytest.mark.parametrize("marker", MARKERS)
def test_writerais_marker_at_extra_bodys_top_level_is_left_out_and_refused_below_it(marker: str) -> None:
    left_out = getattr(writerai, marker)
    top = {"model": "m", "messages": MESSAGES, "extra_body": {"x": left_out, "y": 1}}
    seen = {kind: through(kind, chat_call(**top)) for kind in KINDS}
    assert {kind: s.error for kind, s in seen.items()} == dict.fromkeys(KINDS)
    assert seen["ours"].requests[0].content == seen["sdk"].requests[0].content
    assert seen["ours"].body == {"messages": MESSAGES, "model": "m", "y": 1}
    below = {"model": "m", "messages": MESSAGES, "extra_body": {"x": {"z": left_out}}}
    seen = {kind: through(kind, chat_call(**below)) for kind in KINDS}
    assert all(isinstance(s.error, TypeError) and s.requests == [] for s in seen.values()), seen


def test_omit_as_a_header_value_removes_that_header_as_in_writerai() -> None:
    headers = {"X-Stainless-Helper-Method": writerai.omit, "X-Stainless-Lang": writerai.omit}
    seen = {
        kind: through(kind, stream_call(model="m", messages=MESSAGES, extra_headers=headers))
        for kind in KINDS
    }
    assert seen["ours"].headers() == seen["sdk"].headers()
    assert seen["ours-async"].headers() == seen["sdk-async"].headers()
    assert "x-stainless-helper-method" not in seen["ours"].requests[0].headers
    assert "x-stainless-lang" not in seen["ours"].requests[0].headers


def test_a_client_timeout_given_as_writerais_marker_is_the_default() -> None:
    for marker in MARKERS:
        ours = Writer(api_key="k", timeout=getattr(writerai, marker))
        assert ours.timeout == writerai.Writer(api_key="k", timeout=getattr(writerai, marker)).timeout


@pytest.mark.parametrize("marker", MARKERS)
def test_the_stream_state_takes_writerais_markers_as_its_defaults(marker: str) -> None:
    left_out = getattr(writerai, marker)
    chunks = [text_chunk("Hel"), text_chunk("lo", "stop")]
    ours = ChatCompletionStreamState(input_tools=left_out, response_format=left_out)  # type: ignore[arg-type]
    sdk = SdkState(input_tools=left_out, response_format=left_out)
    ours_events = [e for c in chunks for e in ours.handle_chunk(c)]
    sdk_events = [e for c in chunks for e in sdk.handle_chunk(SdkChunk.construct(**c))]
    assert [plain(e, with_set=False)["type"] for e in ours_events] == [e.type for e in sdk_events]
    assert ours.get_final_completion().choices[0].message.content == "Hello"
    assert sdk.get_final_completion().choices[0].message.content == "Hello"


# --- 2. required arguments ------------------------------------------------------------------------


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


class Weather(pydantic.BaseModel):
    city: str
    degrees: int


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


# --- 3. chat.parse, with_raw_response, with_streaming_response ---------------------------------------

STRICT_TOOL = {
    "type": "function",
    "function": {"name": "lookup", "parameters": {"type": "object"}, "strict": True},
}


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


def raw_call(stream: bool) -> Callable[[Any], Any]:
    """``with_raw_response.chat``: the response's header, status, retries and the parsed result."""

    def act(client: Any) -> Any:
        response = client.chat.with_raw_response.chat(model="m", messages=MESSAGES, stream=stream)

        def facts(response: Any, parsed: Any) -> Any:
            return (
                response.headers["x-ratelimit-remaining-requests"],
                response.status_code,
                response.retries_taken,
                type(parsed).__name__,
            )

        if not inspect.isawaitable(response):
            parsed = response.parse()
            contents = (
                [c.choices[0].delta.content for c in parsed] if stream else parsed.choices[0].message.content
            )
            return (*facts(response, parsed), contents, response.parse() is parsed)

        async def read() -> Any:
            got = await response
            parsed = await got.parse()
            if stream:
                contents: Any = [c.choices[0].delta.content async for c in parsed]
            else:
                contents = parsed.choices[0].message.content
            return (*facts(got, parsed), contents, await got.parse() is parsed)

        return read()

    return act


@pytest.mark.parametrize("stream", [False, True])
def test_with_raw_response_gives_the_headers_and_parses_as_writerai(stream: bool) -> None:
    seen = {kind: through(kind, raw_call(stream)) for kind in KINDS}
    assert {kind: s.error for kind, s in seen.items()} == dict.fromkeys(KINDS)
    results = {kind: s.result for kind, s in seen.items()}
    expected_type = ("Stream", "AsyncStream") if stream else ("ChatCompletion",)
    assert all(r[:3] == ("41", 200, 0) and r[3] in expected_type and r[5] for r in results.values()), results
    assert len({repr(r[4]) for r in results.values()}) == 1, results
    assert seen["ours"].headers() == seen["sdk"].headers()
    assert seen["ours-async"].headers() == seen["sdk-async"].headers()
    assert seen["ours"].requests[0].headers["x-stainless-raw-response"] == "raw"


@pytest.mark.parametrize("kind", KINDS)
def test_with_raw_response_counts_the_retries_taken(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_wait(seconds: float) -> None:
        pass

    monkeypatch.setattr("writerai._base_client.time.sleep", lambda seconds: None)
    monkeypatch.setattr("writerai._base_client.anyio.sleep", no_wait)
    replies = iter([httpx.Response(503), httpx.Response(200, json=completion("ok"))])

    def act(client: Any) -> Any:
        response = client.chat.with_raw_response.chat(model="m", messages=MESSAGES)
        if not inspect.isawaitable(response):
            return response.retries_taken

        async def read() -> int:
            return (await response).retries_taken  # type: ignore[no-any-return]

        return read()

    options: dict[str, Any] = {"max_retries": 1}
    if kind.startswith("ours"):
        options["_sleep"] = no_wait if kind.endswith("async") else (lambda seconds: None)
    seen = through(kind, act, reply=lambda request: next(replies), **options)
    assert (seen.error, seen.result, len(seen.requests)) == (None, 1, 2)


def streaming_call(stream: bool) -> Callable[[Any], Any]:
    """``with_streaming_response.chat``: open before reading, then the lines read, then closed after."""

    def act(client: Any) -> Any:
        manager = client.chat.with_streaming_response.chat(model="m", messages=MESSAGES, stream=stream)
        if hasattr(manager, "__enter__"):
            with manager as response:
                open_at_first = not response.is_closed
                lines = [line for line in response.iter_lines() if line]
            return open_at_first, len(lines), response.is_closed

        async def read() -> Any:
            async with manager as response:
                open_at_first = not response.is_closed
                lines = [line async for line in response.iter_lines() if line]
            return open_at_first, len(lines), response.is_closed

        return read()

    return act


@pytest.mark.parametrize("stream", [False, True])
def test_with_streaming_response_leaves_the_body_unread_until_read_as_writerai(stream: bool) -> None:
    seen = {kind: through(kind, streaming_call(stream)) for kind in KINDS}
    assert {kind: s.error for kind, s in seen.items()} == dict.fromkeys(KINDS)
    assert {s.result for s in seen.values()} == {(True, 2 if stream else 1, True)}
    assert seen["ours"].headers() == seen["sdk"].headers()
    assert seen["ours"].requests[0].headers["x-stainless-raw-response"] == "stream"


def test_with_streaming_response_parses_a_completion_on_demand() -> None:
    def act(client: Any) -> Any:
        manager = client.chat.with_streaming_response.chat(model="m", messages=MESSAGES)
        if hasattr(manager, "__enter__"):
            with manager as response:
                return response.parse().choices[0].message.content, response.headers[
                    "x-ratelimit-remaining-requests"
                ]

        async def read() -> Any:
            async with manager as response:
                parsed = await response.parse()
                return parsed.choices[0].message.content, response.headers["x-ratelimit-remaining-requests"]

        return read()

    seen = {kind: through(kind, act) for kind in KINDS}
    assert {kind: s.error for kind, s in seen.items()} == dict.fromkeys(KINDS)
    assert {s.result for s in seen.values()} == {('{"city": "Oslo", "degrees": 4}', "41")}


@pytest.mark.parametrize("kind", ["ours", "ours-async"])
def test_parse_through_raw_and_streaming_responses_gives_the_parsed_completion(kind: str) -> None:
    """writerai crashes here (``AttributeError``: its parse reads the raw response as a completion)."""

    def act(client: Any) -> Any:
        call = {"model": "m", "messages": MESSAGES, "response_format": Weather}
        raw = client.chat.with_raw_response.parse(**call)
        streaming = client.chat.with_streaming_response.parse(**call)
        if hasattr(streaming, "__enter__"):
            with streaming as response:
                return raw.parse().choices[0].message.parsed, response.parse().choices[0].message.parsed

        async def read() -> Any:
            async with streaming as response:
                parsed = await response.parse()
            return (await (await raw).parse()).choices[0].message.parsed, parsed.choices[0].message.parsed

        return read()

    assert through(kind, act).result == (Weather(city="Oslo", degrees=4),) * 2
    sdk = through(
        "sdk",
        lambda client: client.chat.with_raw_response.parse(
            model="m", messages=MESSAGES, response_format=Weather
        ),
    )
    assert isinstance(sdk.error, AttributeError)


# --- 4. copy / with_options -------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [Writer, AsyncWriter, writerai.Writer, writerai.AsyncWriter])
def test_copy_takes_writerais_arguments_and_keeps_what_is_left_empty(cls: Any) -> None:
    client = cls(
        api_key="k",
        base_url="http://a.test/",
        default_headers={"X-A": "1"},
        default_query={"a": "1"},
        _strict_response_validation=True,
    )
    other = client.with_options(
        api_key="", base_url="", default_query={"b": "2"}, set_default_headers={"X-B": "2"}
    )
    assert (other.api_key, other.base_url) == ("k", httpx.URL("http://a.test/"))
    assert other._custom_query == {"a": "1", "b": "2"}
    assert {k: v for k, v in other._custom_headers.items() if k.startswith("X-")} == {"X-B": "2"}
    assert client.copy(set_default_query={"c": "3"})._custom_query == {"c": "3"}
    assert other._strict_response_validation is False
    assert (
        client.copy(_extra_kwargs={"_strict_response_validation": True})._strict_response_validation is True
    )
    assert client.copy(max_retries=0).max_retries == 0
    with pytest.raises(TypeError, match="max_retries cannot be None"):
        client.copy(max_retries=None)
    for first, second in (("default_headers", "set_default_headers"), ("default_query", "set_default_query")):
        with pytest.raises(ValueError, match=f"`{first}` and `{second}` arguments are mutually exclusive"):
            client.copy(**{first: {}, second: {}})


def test_a_copys_query_is_sent_as_writerais_is() -> None:
    def act(client: Any) -> Any:
        return client.with_options(default_query={"tenant": "t1"}).chat.chat(model="m", messages=MESSAGES)

    ours, sdk = through("ours", act, default_query={"a": "1"}), through("sdk", act, default_query={"a": "1"})
    assert (
        ours.requests[0].url
        == sdk.requests[0].url
        == httpx.URL("https://api.writer.com/v1/chat?a=1&tenant=t1")
    )


# --- 5. error bodies nested past the recursion limit -----------------------------------------------


@pytest.mark.parametrize("depth", [50, 100_000])
def test_an_error_body_nested_past_the_recursion_limit_is_the_sdks_status_error(depth: int) -> None:
    text = "[" * depth + "]" * depth
    seen = {
        kind: through(
            kind, chat_call(model="m", messages=MESSAGES), reply=lambda r: httpx.Response(400, text=text)
        )
        for kind in KINDS
    }
    ours, sdk = seen["ours"].error, seen["sdk"].error
    assert isinstance(ours, errors.BadRequestError)
    assert isinstance(sdk, writerai.BadRequestError)
    assert (ours.message, type(ours.body)) == (sdk.message, type(sdk.body))
    assert ours.body == sdk.body
    assert type(seen["ours-async"].error) is type(ours)
    assert seen["ours-async"].error.message == ours.message


# --- 6. an empty WRITER_BASE_URL ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_an_empty_writer_base_url_is_the_base_url_and_never_the_real_api(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WRITER_BASE_URL", "")
    cls = CLIENTS[kind]
    client = cls(api_key="k", max_retries=0)
    assert client.base_url == httpx.URL("")

    async def call_async() -> None:
        async with client:
            await client.chat.chat(model="m", messages=MESSAGES)

    def call() -> None:
        if kind.endswith("async"):
            asyncio.run(call_async())
        else:
            with client:
                client.chat.chat(model="m", messages=MESSAGES)

    with pytest.raises((errors.APIConnectionError, writerai.APIConnectionError)) as caught:
        call()
    assert isinstance(caught.value.__cause__, httpx.UnsupportedProtocol)
    seen = through(kind, chat_call(model="m", messages=MESSAGES))
    assert seen.requests[0].url != httpx.URL("https://api.writer.com/v1/chat")


# --- 9. the reference examples' delta shape ------------------------------------------------------------


@pytest.mark.parametrize("tools", [False, True], ids=["text", "tool-call"])
def test_the_reference_examples_delta_shape_streams_as_the_minimal_one_in_every_client(tools: bool) -> None:
    """Why the minimal delta stays the default: writerai and the kit read both shapes alike (docs/scripts.md)."""
    from wireshape import reference_shaped

    from writer_stream_testkit import StreamScript

    script = StreamScript().content("Hel", "lo")
    if tools:
        script = StreamScript().tool_call("lookup", ['{"city": ', '"SF"}'])

    def final(client: Any) -> Any:
        manager = client.chat.stream(model="m", messages=MESSAGES)

        def facts(completion: Any) -> Any:
            message = completion.choices[0].message
            calls = [(c.id, c.function.name, c.function.arguments) for c in message.tool_calls or []]
            return message.content, calls, completion.choices[0].finish_reason

        if hasattr(manager, "__enter__"):
            with manager as stream:
                return facts(stream.get_final_completion())

        async def read() -> Any:
            async with manager as stream:
                return facts(await stream.get_final_completion())

        return read()

    def replying(body: bytes) -> Callable[[httpx.Request], httpx.Response]:
        return lambda request: httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=body
        )

    for kind in KINDS:
        minimal = through(kind, final, reply=replying(script.sse()))
        widened = through(kind, final, reply=replying(reference_shaped(script).sse()))
        assert (widened.error, minimal.error) == (None, None), kind
        assert widened.result == minimal.result, kind


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

"""The SDK's tolerance, case by case: what writerai 3.0.0 accepts streams through the kit alike.

writerai builds chunks without validating them, so a chunk off the schema (a new
``finish_reason``, a missing field) streams on with its values kept as given. Each case
here runs through the kit's clients and writerai's, sync and async, over the same bytes,
and demands the same events and final completion; ``_strict_response_validation=True``
makes both reject what does not validate. Where writerai crashes instead, the test pins
the crash and the kit's documented behaviour (``docs/deviations.md``).
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pydantic
import pydantic_core
import pytest
import writerai
from chunks import choice, chunk
from diffutil import Run, drive, first_difference, mock_transport, plain, plain_all
from writerai._models import construct_type
from writerai.lib.streaming.chat._completions import ChatCompletionStreamState as SdkState
from writerai.types import ChatCompletionChunk as SdkChunk

import writer_stream_testkit as kit
from writer_stream_testkit import errors
from writer_stream_testkit.helpers.events import ChatCompletionStreamEvent


def first(**delta: Any) -> dict[str, Any]:
    return chunk(choice({"role": "assistant", **delta}))


STOP = chunk(choice({}, "stop"))
TOOL_HEAD = {"index": 0, "id": "call_1", "type": "function"}


def body(*chunks: dict[str, Any] | str, done: bool = True) -> bytes:
    lines = [c if isinstance(c, str) else json.dumps(c) for c in chunks]
    return "".join(f"data: {line}\n\n" for line in lines).encode() + (b"data: [DONE]\n\n" if done else b"")


# Each stream holds one thing writerai accepts and the kit's schema does not.
TOLERATED: dict[str, bytes] = {
    "finish-reason-unknown": body(first(content="hi"), chunk(choice({}, "eos"))),
    "logprob-without-top-logprobs": body(
        chunk(
            choice(
                {"role": "assistant", "content": "hi"}, logprobs={"content": [{"token": "hi", "logprob": -1}]}
            )
        ),
        chunk(
            choice(
                {"content": "!"}, "stop", logprobs={"content": [{"token": "!", "logprob": -2, "bytes": [33]}]}
            )
        ),
    ),
    "usage-only-chunk-without-model": body(
        first(content="hi"),
        STOP,
        {
            k: v
            for k, v in chunk(usage={"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}).items()
            if k != "model"
        },
    ),
    # Numbers as text, as a proxy or a hand-edited recording may give them: kept as given, not coerced.
    "usage-tokens-as-text": body(
        first(content="hi"),
        STOP,
        chunk(usage={"prompt_tokens": "1", "completion_tokens": 2, "total_tokens": 3}),
    ),
    "usage-without-total-tokens": body(
        first(content="hi"), STOP, chunk(usage={"prompt_tokens": 1, "completion_tokens": 2})
    ),
    "first-tool-delta-without-arguments": body(
        first(tool_calls=[{**TOOL_HEAD, "function": {"name": "f"}}]),
        chunk(choice({"tool_calls": [{"index": 0, "function": {"arguments": '{"a": 1}'}}]})),
        chunk(choice({}, "tool_calls")),
    ),
    "first-tool-delta-with-null-arguments": body(
        first(tool_calls=[{**TOOL_HEAD, "function": {"name": "f", "arguments": None}}]),
        chunk(choice({"tool_calls": [{"index": 0, "function": {"arguments": '{"a": 1}'}}]})),
        chunk(choice({}, "tool_calls")),
    ),
    "tool-call-never-given-arguments": body(
        first(tool_calls=[{**TOOL_HEAD, "function": {"name": "f"}}]), chunk(choice({}, "tool_calls"))
    ),
    "graph-data-status-new-value": body(first(content="hi", graph_data={"status": "queued"}), STOP),
    "llm-data-missing-a-field": body(first(content="hi", llm_data={"model": "palmyra-x5"}), STOP),
    "translation-data-missing-fields": body(
        first(content="hi", translation_data={"source_text": "hola"}), STOP
    ),
    "references-missing-fields": body(
        first(
            content="hi",
            graph_data={"references": {"files": [{"fileId": "f1"}], "web": [{"url": "https://w"}]}},
        ),
        STOP,
    ),
    "role-tool": body(first(content="hi") | {"choices": [choice({"role": "tool", "content": "hi"})]}, STOP),
    "lone-surrogate-in-content": body(
        '{"id":"c","object":"chat.completion.chunk","created":1,"model":"m",'
        '"choices":[{"index":0,"delta":{"role":"assistant","content":"\\ud83d"}}]}',
        STOP,
    ),
    "writer-object-in-disjoint-pieces": body(
        first(content="hi", graph_data={"sources": [{"file_id": "f1", "snippet": "s"}]}),
        chunk(choice({"graph_data": {"status": "finished"}})),
        chunk(choice({"graph_data": {"subqueries": []}}, "stop")),
    ),
    "tool-call-type-missing-on-a-continuation": body(
        first(tool_calls=[{**TOOL_HEAD, "function": {"name": "f", "arguments": ""}}]),
        chunk(choice({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]})),
        chunk(choice({}, "tool_calls")),
    ),
    "empty-event-name-is-the-default-event": (
        f"event:\ndata: {json.dumps(first(content='hi'))}\n\nevent: \ndata: {json.dumps(STOP)}\n\ndata: [DONE]\n\n"
    ).encode(),
}


def _without_file_id_extras(value: Any) -> Any:
    """Drop the duplicate ``fileId`` extra writerai's construct leaves beside ``file_id`` (deviations #5)."""
    if isinstance(value, dict):
        return {k: _without_file_id_extras(v) for k, v in value.items() if k != "extra:fileId"}
    if isinstance(value, list):
        return [_without_file_id_extras(v) for v in value]
    return value


def stream_sync(client_cls: Any, data: bytes, **options: Any) -> Run:
    http = httpx.Client(transport=mock_transport(data))
    with client_cls(
        api_key="k", base_url="http://test", http_client=http, max_retries=0, **options
    ) as client:
        try:
            with client.chat.stream(model="m", messages=[]) as stream:
                return drive(stream, stream.get_final_completion, look_live=True)
        except Exception as exc:
            run = Run()
            run.error = type(exc).__name__
            return run


def stream_async(client_cls: Any, data: bytes, **options: Any) -> Run:
    async def main() -> Run:
        http = httpx.AsyncClient(transport=mock_transport(data))
        async with client_cls(
            api_key="k", base_url="http://test", http_client=http, max_retries=0, **options
        ) as client:
            run = Run()
            try:
                async with client.chat.stream(model="m", messages=[]) as stream:
                    async for event in stream:
                        run.events.append(event)
                        run.live.append(plain(event))
                    run.after = plain_all(run.events)
                    run.final = plain(await stream.get_final_completion())
            except Exception as exc:
                run.error = type(exc).__name__
            return run

    return asyncio.run(main())


FACES = {
    "sync": (stream_sync, kit.Writer, writerai.Writer),
    "async": (stream_async, kit.AsyncWriter, writerai.AsyncWriter),
}


@pytest.mark.parametrize("face", sorted(FACES))
@pytest.mark.parametrize("name", sorted(TOLERATED))
def test_what_writerai_accepts_streams_through_the_kit_alike(name: str, face: str) -> None:
    run, ours_cls, sdk_cls = FACES[face]
    ours, theirs = run(ours_cls, TOLERATED[name]), run(sdk_cls, TOLERATED[name])
    assert theirs.error is None, theirs.error
    assert ours.error is None, ours.error
    assert ours.live, "no events"
    ours_live, theirs_live = _without_file_id_extras(ours.live), _without_file_id_extras(theirs.live)
    assert ours_live == theirs_live, first_difference(ours_live, theirs_live)
    assert _without_file_id_extras([ours.after, ours.final]) == _without_file_id_extras(
        [theirs.after, theirs.final]
    )


@pytest.mark.parametrize("face", sorted(FACES))
@pytest.mark.parametrize("name", sorted(TOLERATED))
def test_strict_response_validation_rejects_what_writerai_strict_rejects(name: str, face: str) -> None:
    run, ours_cls, sdk_cls = FACES[face]
    ours = run(ours_cls, TOLERATED[name], _strict_response_validation=True)
    theirs = run(sdk_cls, TOLERATED[name], _strict_response_validation=True)
    assert (ours.error == "MalformedChunkError") == (theirs.error == "APIResponseValidationError"), (
        ours.error,
        theirs.error,
    )
    assert ours.error in (None, "MalformedChunkError")


@pytest.mark.parametrize("client_cls", [kit.Writer, writerai.Writer], ids=["kit", "writerai"])
def test_usage_tokens_that_are_not_numbers_stream_then_warn_at_the_final_completion(client_cls: Any) -> None:
    """writerai keeps such a usage as given and pydantic warns when the final completion dumps it: the kit alike."""
    data = body(
        first(content="hi"),
        STOP,
        chunk(usage={"prompt_tokens": "many", "completion_tokens": [], "total_tokens": 3}),
    )
    http = httpx.Client(transport=mock_transport(data))
    client = client_cls(api_key="k", base_url="http://test", http_client=http, max_retries=0)
    with client, client.chat.stream(model="m", messages=[]) as stream:
        last = list(stream)[-1]
        assert last.type == "chunk"
        assert (last.snapshot.usage.prompt_tokens, last.snapshot.usage.completion_tokens) == ("many", [])
        with pytest.warns(UserWarning, match=r"(?s)Expected `int`.*completion_tokens.*prompt_tokens"):
            final = stream.get_final_completion()
    assert final.usage is not None
    assert (final.usage.prompt_tokens, final.usage.completion_tokens) == ("many", [])


def test_strict_response_validation_error_is_clear_and_not_json_always_fails() -> None:
    client = kit.Writer(
        api_key="k",
        base_url="http://test",
        http_client=httpx.Client(transport=mock_transport(TOLERATED["finish-reason-unknown"])),
        _strict_response_validation=True,
    )
    with pytest.raises(
        errors.MalformedChunkError, match=r"event #2 .*finish_reason.*_strict_response_validation=True"
    ):
        list(client.chat.chat(model="m", messages=[], stream=True))
    # As writerai's copy: strict only when asked (it passes only what copy() names on).
    assert client.copy()._strict_response_validation is False
    assert client.copy(_extra_kwargs={"_strict_response_validation": True})._strict_response_validation
    for strict in (False, True):
        client = kit.Writer(
            api_key="k",
            base_url="http://test",
            http_client=httpx.Client(transport=mock_transport(b"data: {oops\n\n")),
            _strict_response_validation=strict,
        )
        with pytest.raises(errors.MalformedChunkError, match="not valid JSON"):
            list(client.chat.chat(model="m", messages=[], stream=True))


def test_the_engine_takes_dicts_off_the_schema_as_the_sdk_does() -> None:
    chunks = [
        json.loads(line[6:])
        for line in TOLERATED["first-tool-delta-with-null-arguments"].decode().split("\n\n")
        if line.startswith("data: {")
    ]
    ours = kit.ChatCompletionStreamState()
    events = [plain(e) for c in chunks for e in ours.handle_chunk(c)]
    sdk = SdkState(input_tools=writerai.omit, response_format=writerai.omit)
    theirs = [plain(e) for c in chunks for e in sdk.handle_chunk(construct_type(type_=SdkChunk, value=c))]
    assert events == theirs, first_difference(events, theirs)


# --- where writerai crashes ------------------------------------------------------------------------


NULL_TYPE = [
    first(tool_calls=[{**TOOL_HEAD, "function": {"name": "f", "arguments": '{"a"'}}]),
    chunk(choice({"tool_calls": [{"index": 0, "type": None, "function": {"arguments": ": 1}"}}]})),
    chunk(choice({}, "tool_calls")),
]


@pytest.mark.parametrize("face", sorted(FACES))
def test_a_null_tool_type_on_a_continuation_keeps_the_calls_type(face: str) -> None:
    run, ours_cls, sdk_cls = FACES[face]
    assert run(sdk_cls, body(*NULL_TYPE)).error == "AssertionError"  # writerai fails an assert
    ours = run(ours_cls, body(*NULL_TYPE))
    # The kit reads it as the same stream without the null: what writerai does with that one.
    without = [
        *NULL_TYPE[:1],
        chunk(choice({"tool_calls": [{"index": 0, "function": {"arguments": ": 1}"}}]})),
        NULL_TYPE[2],
    ]
    theirs = run(sdk_cls, body(*without))
    kinds = [e.type for e in ours.events]
    assert kinds == [e.type for e in theirs.events]
    assert kinds.count("tool_calls.function.arguments.delta") == 2
    assert "tool_calls.function.arguments.done" in kinds
    assert ours.final["choices"][0]["message"]["tool_calls"][0]["type"] == "function"
    assert ours.final["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] == '{"a": 1}'


ERROR_WITHOUT_DATA = body(first(content="hi"), done=False) + b"event: error\n\n"


@pytest.mark.parametrize("face", sorted(FACES))
def test_event_error_without_data_raises_the_api_error(face: str) -> None:
    run, ours_cls, sdk_cls = FACES[face]
    assert run(sdk_cls, ERROR_WITHOUT_DATA).error == "APIStatusError"
    assert run(ours_cls, ERROR_WITHOUT_DATA).error == "StreamErrorEvent"
    client = kit.Writer(
        api_key="k",
        base_url="http://test",
        http_client=httpx.Client(transport=mock_transport(ERROR_WITHOUT_DATA)),
    )
    stream = client.chat.chat(model="m", messages=[], stream=True)
    with pytest.raises(errors.APIStatusError) as raised:
        list(stream)
    assert raised.value.message == "Error code: 200"  # writerai's message for it
    assert raised.value.body == ""


CHUNK_TEXT = json.dumps(first(content="hi"))
STOP_TEXT = json.dumps(STOP)
SDK_CRASHES = {
    # name: (body, what writerai raises, or None when it returns a wrong result)
    "extra-blank-line-after-id": (
        f"data: {CHUNK_TEXT}\nid: 1\n\n\ndata: {STOP_TEXT}\n\ndata: [DONE]\n\n",
        "JSONDecodeError",
    ),
    "retry-only-block": (
        f"retry: 1000\n\ndata: {CHUNK_TEXT}\n\ndata: {STOP_TEXT}\n\ndata: [DONE]\n\n",
        "JSONDecodeError",
    ),
    "leading-bom": (f"\ufeffdata: {CHUNK_TEXT}\n\ndata: {STOP_TEXT}\n\ndata: [DONE]\n\n", None),
}


@pytest.mark.parametrize("face", sorted(FACES))
@pytest.mark.parametrize("name", sorted(SDK_CRASHES))
def test_sse_framing_writerai_trips_on_streams_whole_through_the_kit(name: str, face: str) -> None:
    run, ours_cls, sdk_cls = FACES[face]
    data, sdk_error = SDK_CRASHES[name]
    theirs = run(sdk_cls, data.encode())
    ours = run(ours_cls, data.encode())
    assert theirs.error == sdk_error
    if sdk_error is None:  # the BOM: writerai drops the first chunk, and its content with it
        assert theirs.final["choices"][0]["message"]["content"] is None
    assert ours.error is None
    assert ours.final["choices"][0]["message"]["content"] == "hi"
    assert [e.type for e in ours.events].count("chunk") == 2


TOOL_CALL = chunk(
    choice(
        {
            "role": "assistant",
            "tool_calls": [{**TOOL_HEAD, "function": {"name": "f", "arguments": '{"a": 1}'}}],
        },
        "tool_calls",
    )
)
STRICT_TOOL = {
    "type": "function",
    "function": {"name": "f", "parameters": {"type": "object"}, "strict": True},
}


def test_tools_given_as_a_generator_are_read_once_and_still_parse() -> None:
    for cls in (kit.Writer, writerai.Writer):
        sent: list[Any] = []

        def handler(request: httpx.Request, sent: list[Any] = sent) -> httpx.Response:
            sent.append(json.loads(request.content))
            return httpx.Response(200, content=body(TOOL_CALL))

        client = cls(
            api_key="k",
            base_url="http://test",
            http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        )
        with client.chat.stream(model="m", messages=[], tools=(tool for tool in [STRICT_TOOL])) as stream:
            parsed = stream.get_final_completion().choices[0].message.tool_calls[0].function.parsed_arguments
        assert sent[0]["tools"] == [STRICT_TOOL]
        # writerai sends the tools, but its helper reads an exhausted generator: nothing parses.
        assert parsed == ({"a": 1} if cls is kit.Writer else None)


# --- serialising events --------------------------------------------------------------------------


SERIALISED = body(
    first(content="Hel"),
    chunk(choice({"content": "lo"})),
    chunk(choice({"tool_calls": [{**TOOL_HEAD, "function": {"name": "f", "arguments": '{"a"'}}]})),
    chunk(choice({"tool_calls": [{"index": 0, "function": {"arguments": ": 1}"}}]})),
    chunk(choice({}, "tool_calls")),
)


def _events(client_cls: Any) -> list[Any]:
    client = client_cls(
        api_key="k", base_url="http://test", http_client=httpx.Client(transport=mock_transport(SERIALISED))
    )
    with client.chat.stream(model="m", messages=[]) as stream:
        return list(stream)


class Envelope(pydantic.BaseModel):
    event: Any


EVENT_ADAPTER: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(ChatCompletionStreamEvent)


@pytest.mark.parametrize(
    "dump",
    [
        pytest.param(lambda e: pydantic_core.to_jsonable_python(e), id="to_jsonable_python"),
        pytest.param(lambda e: EVENT_ADAPTER.dump_python(e, mode="json"), id="TypeAdapter"),
        pytest.param(
            lambda e: Envelope.model_construct(event=e).model_dump(mode="json")["event"], id="nested"
        ),
        pytest.param(lambda e: e.model_dump(mode="json"), id="model_dump"),
        pytest.param(lambda e: pydantic_core.to_jsonable_python(dict(vars(e))), id="vars"),
    ],
)
def test_events_serialise_whole_like_writerais(dump: Any) -> None:
    ours = [dump(event) for event in _events(kit.Writer)]
    theirs = [pydantic_core.to_jsonable_python(event) for event in _events(writerai.Writer)]
    assert ours == theirs, first_difference(ours, theirs)
    lazy = {
        "content.delta": "snapshot",
        "chunk": "snapshot",
        "tool_calls.function.arguments.delta": "arguments",
    }
    for event in ours:
        if event["type"] in lazy:
            assert event[lazy[event["type"]]] is not None


def test_serialising_one_event_leaves_the_others_lazy() -> None:
    events = _events(kit.Writer)
    base_dict = vars(pydantic.BaseModel)["__dict__"].__get__
    deltas = [e for e in events if e.type == "content.delta"]
    pydantic_core.to_jsonable_python(deltas[1])
    assert "snapshot" in base_dict(deltas[1])
    assert "snapshot" not in base_dict(deltas[0])  # built only when something looks at it
    assert deltas[0].snapshot == "Hel"


# --- keyword arguments ---------------------------------------------------------------------------


def _calls(chat: Any) -> dict[str, Any]:
    return {
        "chat": lambda **kw: chat.chat(model="m", messages=[], **kw),
        "stream": lambda **kw: chat.stream(model="m", messages=[], **kw),
    }


@pytest.mark.parametrize("method", ["chat", "stream"])
def test_an_unknown_keyword_argument_raises_type_error_naming_it(method: str) -> None:
    async def main() -> None:
        for cls in (kit.Writer, writerai.Writer, kit.AsyncWriter, writerai.AsyncWriter):
            client = cls(api_key="k", base_url="http://test")
            with pytest.raises(
                TypeError, match=rf"\.{method}\(\) got an unexpected keyword argument 'temprature'"
            ):
                _calls(client.chat)[method](temprature=0.2)  # raises at the call, before any await

    asyncio.run(main())


@pytest.mark.parametrize("face", ["sync", "async"])
def test_extra_arguments_and_timeout_still_work(face: str) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, content=body(first(content="hi"), STOP))

    extra = {
        "extra_body": {"seed": 7},
        "extra_headers": {"X-Test": "1"},
        "extra_query": {"q": "v"},
        "timeout": 3.0,
    }
    if face == "sync":
        client = kit.Writer(
            api_key="k",
            base_url="http://test",
            http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        )
        with client.chat.stream(model="m", messages=[], **extra) as stream:
            stream.until_done()
    else:

        async def main() -> None:
            http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
            client = kit.AsyncWriter(api_key="k", base_url="http://test", http_client=http)
            async with client, client.chat.stream(model="m", messages=[], **extra) as stream:
                await stream.until_done()

        asyncio.run(main())
    request = sent[0]
    assert json.loads(request.content)["seed"] == 7
    assert request.headers["X-Test"] == "1"
    assert request.url.params["q"] == "v"
    assert request.extensions["timeout"]["read"] == 3.0


# --- writerai's own objects ----------------------------------------------------------------------


class GetWeather(pydantic.BaseModel):
    city: str


WEATHER = body(
    chunk(
        choice(
            {
                "role": "assistant",
                "tool_calls": [
                    {**TOOL_HEAD, "function": {"name": "GetWeather", "arguments": '{"city": "SF"}'}}
                ],
            }
        )
    ),
    chunk(choice({}, "tool_calls")),
)


@pytest.mark.parametrize("face", sorted(FACES))
def test_writerais_pydantic_function_tool_parses_on_the_kits_client(face: str) -> None:
    tools = [writerai.pydantic_function_tool(GetWeather)]
    results = []
    for cls in FACES[face][1:]:
        if face == "sync":
            client = cls(
                api_key="k",
                base_url="http://test",
                http_client=httpx.Client(transport=mock_transport(WEATHER)),
            )
            with client.chat.stream(model="m", messages=[], tools=tools) as stream:
                events = list(stream)
                final = stream.get_final_completion()
        else:

            async def main(cls: Any = cls) -> Any:
                http = httpx.AsyncClient(transport=mock_transport(WEATHER))
                client = cls(api_key="k", base_url="http://test", http_client=http)
                async with client, client.chat.stream(model="m", messages=[], tools=tools) as stream:
                    return [e async for e in stream], await stream.get_final_completion()

            events, final = asyncio.run(main())
        done = [e for e in events if e.type == "tool_calls.function.arguments.done"]
        results.append(
            (done[0].parsed_arguments, final.choices[0].message.tool_calls[0].function.parsed_arguments)
        )
    assert results[0] == results[1] == (GetWeather(city="SF"), GetWeather(city="SF"))


def test_writerais_chunk_objects_feed_the_engine() -> None:
    chunks = [
        json.loads(line[6:]) for line in SERIALISED.decode().split("\n\n") if line.startswith("data: {")
    ]
    sdk_chunks = [construct_type(type_=SdkChunk, value=c) for c in chunks]
    ours = kit.ChatCompletionStreamState()
    events = [plain(e) for c in sdk_chunks for e in ours.handle_chunk(c)]
    sdk = SdkState(input_tools=writerai.omit, response_format=writerai.omit)
    theirs = [plain(e) for c in sdk_chunks for e in sdk.handle_chunk(c)]
    assert events == theirs, first_difference(events, theirs)
    assert plain(ours.get_final_completion()) == plain(sdk.get_final_completion())


# --- the deviations table names real tests ------------------------------------------------------


def test_every_test_docs_deviations_names_exists() -> None:
    """Each row of docs/deviations.md names the test that pins it; a renamed test must not orphan it."""
    root = Path(__file__).parents[2]
    named = set(re.findall(r"`(test_\w+)", (root / "docs" / "deviations.md").read_text()))
    defined = set(
        re.findall(
            r"^def (test_\w+)", "\n".join(p.read_text() for p in root.glob("tests/**/test_*.py")), re.M
        )
    )
    assert len(named) > 15
    assert named <= defined, f"docs/deviations.md names tests that do not exist: {sorted(named - defined)}"

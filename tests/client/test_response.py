"""with_raw_response and with_streaming_response beside writerai's: the headers, the retries taken, the body unread until read, parse() on demand."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fourclients import KINDS, MESSAGES
from sdkparity import Weather, completion, through


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

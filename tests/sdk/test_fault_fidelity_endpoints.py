"""Every fault kind on the completions, question and application streams, seen through ``writerai``.

The SDK reads these three streams with the same ``Stream``/``AsyncStream`` code
as chat (``writerai/_streaming.py``) and sends them through the same retrying
``request()``, so each fault must surface exactly as it does on a chat stream
(``tests/sdk/test_fault_fidelity.py`` pins those against a real socket): a cut
stream is a raw ``httpx.RemoteProtocolError``, a malformed chunk a raw
``json.JSONDecodeError``, an error event a plain ``APIStatusError`` with status
200, and errors before the stream are retried to the SDK's budget. The SDK's
backoff is shrunk a thousandfold, as in the chat file; counts are untouched.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import writerai
import writerai._base_client
from wirefaults import HARMLESS_WIRE_FAULTS

from writer_stream_testkit import ApplicationScript, CompletionScript, Fault, QuestionScript, WriterMock
from writer_stream_testkit.scripts.base import ScriptBase

ATTEMPTS = 1 + writerai.DEFAULT_MAX_RETRIES
PIECES = ("Hel", "lo", " wörld 👋")
INPUTS = [{"id": "query", "value": ["x"]}]


@dataclass(frozen=True)
class Endpoint:
    script: ScriptBase
    start: Callable[[Any], Any]
    item: Callable[[Any], Any]


ENDPOINTS = {
    "completions": Endpoint(
        CompletionScript(empty_first=False, done=True).text(*PIECES),
        lambda c: c.completions.create(model="palmyra-x5", prompt="Say hello", stream=True),
        lambda chunk: chunk.value,
    ),
    "question": Endpoint(
        QuestionScript(done=True).answer(*PIECES),
        lambda c: c.graphs.question(graph_ids=["g1"], question="Q?", stream=True),
        lambda chunk: chunk.answer,
    ),
    "application": Endpoint(
        ApplicationScript(done=True).content(*PIECES),
        lambda c: c.applications.generate_content(application_id="app-1", inputs=INPUTS, stream=True),
        lambda chunk: chunk.delta.content,
    ),
}


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writerai._base_client, "INITIAL_RETRY_DELAY", 0.001)


@pytest.fixture(params=sorted(ENDPOINTS))
def endpoint(request: pytest.FixtureRequest) -> Endpoint:
    return ENDPOINTS[request.param]


@pytest.fixture(params=["sync", "async"])
def is_async(request: pytest.FixtureRequest) -> bool:
    return bool(request.param == "async")


@dataclass
class Seen:
    items: list[Any] = field(default_factory=list)
    error: BaseException | None = None
    attempts: int = 0


def drive(
    endpoint: Endpoint, reply: Any, is_async: bool, *, times: int = 1, timeout: float | None = None
) -> Seen:
    """Queue ``reply``, read one stream of the endpoint through writerai, and report what it saw."""
    seen = Seen()
    options: dict[str, Any] = {"api_key": "k"} if timeout is None else {"api_key": "k", "timeout": timeout}

    async def read_async() -> None:
        async with writerai.AsyncWriter(**options) as client:
            async for chunk in await endpoint.start(client):
                seen.items.append(endpoint.item(chunk))

    with WriterMock() as mock:
        route = endpoint.script.endpoint
        mock.reply(reply, times=times, path=route.path, method=route.method)
        try:
            if is_async:
                asyncio.run(read_async())
            else:
                with writerai.Writer(**options) as client:
                    for chunk in endpoint.start(client):
                        seen.items.append(endpoint.item(chunk))
        except Exception as error:
            seen.error = error
    seen.attempts = len(mock.calls)
    return seen


@pytest.mark.parametrize("mid_chunk", [False, True])
def test_a_cut_stream_raises_the_raw_httpx_error_after_the_chunks_before_it(
    endpoint: Endpoint, is_async: bool, mid_chunk: bool
) -> None:
    seen = drive(
        endpoint, endpoint.script.with_fault(Fault.disconnect(after_chunks=2, mid_chunk=mid_chunk)), is_async
    )
    assert seen.items == ["Hel", "lo"]
    assert type(seen.error) is httpx.RemoteProtocolError
    assert "incomplete chunked read" in str(seen.error)
    assert seen.attempts == 1, "a stream that has started is never retried"


def test_a_stall_past_the_read_timeout_is_httpx_read_timeout(endpoint: Endpoint, is_async: bool) -> None:
    seen = drive(
        endpoint, endpoint.script.with_fault(Fault.stall(after_chunks=1, seconds=60)), is_async, timeout=0.1
    )
    assert seen.items == ["Hel"]
    assert type(seen.error) is httpx.ReadTimeout
    assert seen.attempts == 1


def test_a_malformed_chunk_is_the_raw_json_error(endpoint: Endpoint, is_async: bool) -> None:
    seen = drive(endpoint, endpoint.script.with_fault(Fault.malformed_chunk(after_chunks=1)), is_async)
    assert seen.items == ["Hel"]
    assert type(seen.error) is json.JSONDecodeError


def test_an_error_event_is_a_plain_status_error_with_status_200(endpoint: Endpoint, is_async: bool) -> None:
    seen = drive(
        endpoint,
        endpoint.script.with_fault(Fault.error_event(after_chunks=2, message="Overloaded.")),
        is_async,
    )
    assert seen.items == ["Hel", "lo"]
    assert type(seen.error) is writerai.APIStatusError
    assert seen.error.status_code == 200
    assert "Overloaded." in str(seen.error)


def test_an_http_error_is_retried_to_the_budget_then_raised(endpoint: Endpoint, is_async: bool) -> None:
    seen = drive(
        endpoint,
        endpoint.script.with_fault(Fault.http_error(429, retry_after_ms=1)),
        is_async,
        times=ATTEMPTS,
    )
    assert type(seen.error) is writerai.RateLimitError
    assert (seen.items, seen.attempts) == ([], ATTEMPTS)


def test_a_refused_connection_is_a_connection_error_after_every_retry(
    endpoint: Endpoint, is_async: bool
) -> None:
    seen = drive(endpoint, Fault.connection_refused(), is_async, times=ATTEMPTS)
    assert type(seen.error) is writerai.APIConnectionError
    assert isinstance(seen.error.__cause__, httpx.ConnectError)
    assert seen.attempts == ATTEMPTS


def test_no_first_byte_in_time_is_a_timeout_error_after_every_retry(
    endpoint: Endpoint, is_async: bool
) -> None:
    started = time.monotonic()
    reply = endpoint.script.with_fault(Fault.delay(first_byte=60))
    seen = drive(endpoint, reply, is_async, times=ATTEMPTS, timeout=0.02)
    assert type(seen.error) is writerai.APITimeoutError
    assert seen.attempts == ATTEMPTS
    assert time.monotonic() - started < 10, "the mock waits the client's timeout, not the delay"


@pytest.mark.parametrize(
    "fault",
    [
        *HARMLESS_WIRE_FAULTS,
        Fault.delay(each=0.001, first_byte=0.001),
        Fault.stall(after_chunks=1, seconds=0.01),
    ],
    ids=lambda f: f.describe(),
)
def test_harmless_wire_variations_deliver_the_same_chunks(
    endpoint: Endpoint, is_async: bool, fault: Fault
) -> None:
    seen = drive(endpoint, endpoint.script.with_fault(fault), is_async, timeout=5)
    assert seen.items == list(PIECES)
    assert seen.error is None

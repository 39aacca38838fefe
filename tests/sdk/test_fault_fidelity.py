"""Every fault, seen through a real client: what it sees must be what a real server would cause.

Each test drives the official ``writerai`` SDK (sync and async, default retries
on) and this kit's own clients through ``WriterMock``, and checks the exception
class, the chunks delivered before it, the number of attempts and the waits
between them. Where the SDK's behaviour is only known from its source, the
expectation says so; where it is known from a real socket, a differential test
at the bottom compares the mock with one.

The one liberty taken: the SDK's exponential backoff (1 s, 2 s, 4 s ... when no
``Retry-After`` is sent) is shrunk a thousandfold so the suite stays fast. The
retry *count* and the waits a server asks for are untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import httpx
import pytest
import writerai
import writerai._base_client
from wirefaults import HARMLESS_WIRE_FAULTS

from writer_stream_testkit import _retry, errors
from writer_stream_testkit import client as ours
from writer_stream_testkit.doubles.mock import WriterMock
from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.scripts.faults import Fault
from writer_stream_testkit.scripts.plan import Disconnect, Pause, ResponsePlan, Write
from writer_stream_testkit.wire.call import Call

KINDS = ["writerai-sync", "writerai-async", "ours-sync", "ours-async"]
ATTEMPTS = 1 + writerai.DEFAULT_MAX_RETRIES  # 8: the SDK's default retry budget, used everywhere here
SCRIPT = StreamScript().content("Hel", "lo", " wörld 👋")
EXPECTED = ["Hel", "lo", " wörld 👋", "finish:stop"]


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writerai._base_client, "INITIAL_RETRY_DELAY", 0.001)
    monkeypatch.setattr(_retry, "INITIAL_RETRY_DELAY", 0.001)


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def family(kind: str) -> ModuleType:
    """Where a client kind's error classes live: the SDK's, or this kit's mirror of them."""
    return writerai if kind.startswith("writerai") else errors


@dataclass
class Seen:
    """What the application saw: the chunks (or helper events) in order, then the error if any."""

    items: list[str] = field(default_factory=list)
    error: BaseException | None = None
    attempts: list[float] = field(default_factory=list)

    @property
    def gaps(self) -> list[float]:
        return [b - a for a, b in zip(self.attempts, self.attempts[1:], strict=False)]


@dataclass(frozen=True)
class Timed:
    """A reply that notes when each attempt arrived, then answers as ``inner`` does."""

    inner: Any
    stamps: list[float]

    def plan(self, call: Call) -> ResponsePlan:
        self.stamps.append(time.monotonic())
        return self.inner.plan(call)  # type: ignore[no-any-return]

    def describe(self) -> str:
        return f"timed {self.inner.describe()}"


def summary(chunk: Any) -> str:
    choice = chunk.choices[0]
    if choice.delta.content:
        return str(choice.delta.content)
    if choice.delta.tool_calls:
        call = choice.delta.tool_calls[0]
        return f"tool:{call.function.name}:{call.function.arguments}"
    return f"finish:{choice.finish_reason}"


def client_for(kind: str, timeout: float | None) -> Any:
    sdk: Any = writerai if kind.startswith("writerai") else ours
    cls = sdk.AsyncWriter if kind.endswith("async") else sdk.Writer
    return cls(api_key="test-key") if timeout is None else cls(api_key="test-key", timeout=timeout)


MESSAGES = [{"role": "user", "content": "Say hello"}]


def drive(
    kind: str, reply: Any, *, times: int = 1, timeout: float | None = None, helper: bool = False
) -> Seen:
    """Queue ``reply`` for ``times`` attempts, stream one chat through ``kind``, and report what it saw."""
    seen = Seen()
    client = client_for(kind, timeout)

    def sync() -> None:
        if helper:
            with client.chat.stream(model="palmyra-x5", messages=MESSAGES) as events:
                seen.items.extend(event.type for event in events)
        else:
            for chunk in client.chat.chat(model="palmyra-x5", messages=MESSAGES, stream=True):
                seen.items.append(summary(chunk))

    async def asynchronous() -> None:
        if helper:
            async with client.chat.stream(model="palmyra-x5", messages=MESSAGES) as events:
                async for event in events:
                    seen.items.append(event.type)
        else:
            async for chunk in await client.chat.chat(model="palmyra-x5", messages=MESSAGES, stream=True):
                seen.items.append(summary(chunk))

    with WriterMock() as mock:
        mock.reply(Timed(reply, seen.attempts), times=times)
        try:
            if kind.endswith("async"):
                asyncio.run(asynchronous())
            else:
                sync()
        except Exception as error:
            seen.error = error
    assert len(mock.calls) == len(seen.attempts)
    return seen


# --- HTTP errors ----------------------------------------------------------------------------------

# status -> (class name, attempts): the SDK retries 408, 409, 429 and 5xx, nothing else.
STATUSES = {
    400: ("BadRequestError", 1),
    401: ("AuthenticationError", 1),
    403: ("PermissionDeniedError", 1),
    404: ("NotFoundError", 1),
    408: ("APIStatusError", ATTEMPTS),
    409: ("ConflictError", ATTEMPTS),
    422: ("UnprocessableEntityError", 1),
    429: ("RateLimitError", ATTEMPTS),
    500: ("InternalServerError", ATTEMPTS),
    503: ("InternalServerError", ATTEMPTS),
}


@pytest.mark.parametrize("status", sorted(STATUSES))
def test_http_error_raises_the_sdk_class_after_the_sdk_retries(kind: str, status: int) -> None:
    name, attempts = STATUSES[status]
    seen = drive(kind, Fault.http_error(status), times=attempts)
    assert type(seen.error) is getattr(family(kind), name)
    assert isinstance(seen.error, family(kind).APIStatusError)
    assert seen.error.status_code == status
    assert seen.items == []
    assert len(seen.attempts) == attempts


def test_http_error_carries_writers_error_body(kind: str) -> None:
    seen = drive(kind, Fault.http_error(401, message="Invalid API key."))
    assert isinstance(seen.error, family(kind).AuthenticationError)
    assert "Invalid API key." in str(seen.error)
    assert seen.error.response.request.url == "https://api.writer.com/v1/chat"


@pytest.mark.parametrize(("header", "wait"), [("retry_after", 0.06), ("retry_after_ms", 50)])
def test_429_waits_what_retry_after_asks_between_attempts(kind: str, header: str, wait: float) -> None:
    seconds = wait / 1000 if header == "retry_after_ms" else wait
    seen = drive(kind, Fault.http_error(429, **{header: wait}), times=ATTEMPTS)
    assert type(seen.error) is family(kind).RateLimitError
    assert len(seen.attempts) == ATTEMPTS
    assert all(gap >= seconds for gap in seen.gaps), seen.gaps


def test_429_then_success_streams_normally(kind: str) -> None:
    stamps: list[float] = []
    client = client_for(kind, None)
    with WriterMock() as mock:
        mock.reply(Timed(Fault.http_error(429, retry_after=0.05), stamps)).reply(Timed(SCRIPT, stamps))
        if kind.endswith("async"):

            async def read() -> list[str]:
                stream = await client.chat.chat(model="palmyra-x5", messages=MESSAGES, stream=True)
                return [summary(c) async for c in stream]

            items = asyncio.run(read())
        else:
            items = [summary(c) for c in client.chat.chat(model="palmyra-x5", messages=MESSAGES, stream=True)]
    assert items == EXPECTED
    assert stamps[1] - stamps[0] >= 0.05
    assert [c.headers["x-stainless-retry-count"] for c in mock.calls] == ["0", "1"]


# --- no response at all ---------------------------------------------------------------------------


def test_connection_refused_is_a_connection_error_after_every_retry(kind: str) -> None:
    seen = drive(kind, Fault.connection_refused(), times=ATTEMPTS)
    assert type(seen.error) is family(kind).APIConnectionError
    assert isinstance(seen.error.__cause__, httpx.ConnectError)
    assert len(seen.attempts) == ATTEMPTS


def test_no_first_byte_within_the_read_timeout_is_a_timeout_error_after_every_retry(kind: str) -> None:
    started = time.monotonic()
    seen = drive(kind, SCRIPT.with_fault(Fault.delay(first_byte=60)), times=ATTEMPTS, timeout=0.05)
    assert type(seen.error) is family(kind).APITimeoutError
    assert isinstance(seen.error.__cause__, httpx.ReadTimeout)
    assert len(seen.attempts) == ATTEMPTS
    assert all(gap >= 0.05 for gap in seen.gaps)
    assert time.monotonic() - started < 5, "the mock waits the client's timeout, not the delay"


# --- faults inside a 200 stream -------------------------------------------------------------------


@pytest.mark.parametrize("mid_chunk", [False, True])
def test_disconnect_delivers_the_chunks_before_it_then_raises_httpx_error(kind: str, mid_chunk: bool) -> None:
    seen = drive(kind, SCRIPT.with_fault(Fault.disconnect(after_chunks=2, mid_chunk=mid_chunk)))
    assert seen.items == ["Hel", "lo"]
    assert type(seen.error) is httpx.RemoteProtocolError, "the SDK lets mid-stream errors through unwrapped"
    assert "incomplete chunked read" in str(seen.error)
    assert len(seen.attempts) == 1, "a stream that has started is never retried"


def test_stall_mid_stream_is_httpx_read_timeout_after_the_read_timeout(kind: str) -> None:
    started = time.monotonic()
    seen = drive(kind, SCRIPT.with_fault(Fault.stall(after_chunks=1, seconds=60)), timeout=0.1)
    elapsed = time.monotonic() - started
    assert seen.items == ["Hel"]
    assert type(seen.error) is httpx.ReadTimeout
    assert len(seen.attempts) == 1
    assert 0.1 <= elapsed < 5


def test_stall_shorter_than_the_read_timeout_is_only_a_delay(kind: str) -> None:
    started = time.monotonic()
    seen = drive(kind, SCRIPT.with_fault(Fault.stall(after_chunks=1, seconds=0.1)), timeout=2)
    assert seen.items == EXPECTED
    assert seen.error is None
    assert time.monotonic() - started >= 0.1


def test_delays_slow_the_stream_but_change_nothing_else(kind: str) -> None:
    started = time.monotonic()
    seen = drive(kind, SCRIPT.with_fault(Fault.delay(first_byte=0.05, each=0.02)))
    assert seen.items == EXPECTED
    assert seen.error is None
    assert time.monotonic() - started >= 0.05 + 4 * 0.02


def test_malformed_chunk_delivers_the_chunks_before_it_then_fails(kind: str) -> None:
    seen = drive(kind, SCRIPT.with_fault(Fault.malformed_chunk(after_chunks=1)))
    assert seen.items == ["Hel"]
    if kind.startswith("writerai"):
        # The SDK calls json.loads on the data line and lets the decode error out.
        assert type(seen.error) is json.JSONDecodeError
    else:
        assert type(seen.error) is errors.MalformedChunkError
    assert len(seen.attempts) == 1


def test_error_event_delivers_the_chunks_before_it_then_raises_a_status_error(kind: str) -> None:
    fault = Fault.error_event(after_chunks=2, message="Model overloaded.")
    seen = drive(kind, SCRIPT.with_fault(fault))
    assert seen.items == ["Hel", "lo"]
    assert isinstance(seen.error, family(kind).APIStatusError)
    if kind.startswith("writerai"):
        assert type(seen.error) is writerai.APIStatusError  # status 200 maps to no subclass
    else:
        assert type(seen.error) is errors.StreamErrorEvent
    assert "Model overloaded." in str(seen.error)
    assert len(seen.attempts) == 1


@pytest.mark.parametrize(
    "fault",
    HARMLESS_WIRE_FAULTS,
    ids=lambda f: f.describe(),
)
def test_harmless_wire_variations_deliver_the_same_chunks(kind: str, fault: Fault) -> None:
    seen = drive(kind, SCRIPT.with_fault(fault))
    assert seen.items == EXPECTED
    assert seen.error is None


def test_a_tool_call_streams_through_every_client(kind: str) -> None:
    script = StreamScript().tool_call("get_weather", ['{"city":', '"Paris"}'])
    seen = drive(kind, script.with_fault(Fault.split(sizes=[5])))
    assert seen.items == [
        "tool:get_weather:",
        'tool:None:{"city":',
        'tool:None:"Paris"}',
        "finish:tool_calls",
    ]


# --- the helper path: client.chat.stream() --------------------------------------------------------


def test_helper_stream_sees_a_disconnect_after_the_events_before_it(kind: str) -> None:
    seen = drive(kind, SCRIPT.with_fault(Fault.disconnect(after_chunks=2)), helper=True)
    assert type(seen.error) is httpx.RemoteProtocolError
    assert "content.done" not in seen.items
    assert seen.items.count("content.delta") == 2


def test_helper_stream_raises_rate_limit_after_retries(kind: str) -> None:
    seen = drive(kind, Fault.http_error(429, retry_after=0.01), times=ATTEMPTS, helper=True)
    assert type(seen.error) is family(kind).RateLimitError
    assert seen.items == []
    assert len(seen.attempts) == ATTEMPTS


def test_helper_stream_completes_through_a_one_byte_split(kind: str) -> None:
    plain = drive(kind, SCRIPT, helper=True)
    split = drive(kind, SCRIPT.with_fault(Fault.split(one_byte=True)), helper=True)
    assert plain.error is None
    assert split.items == plain.items
    assert plain.items[-1] == "content.done"


# --- differential: the mock's failures against a real socket ---------------------------------------


@contextlib.contextmanager
def real_server(plan: ResponsePlan) -> Iterator[str]:
    """Serve ``plan`` over loopback HTTP/1.1 with chunked framing, for comparison with the mock."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        with contextlib.suppress(OSError):
            conn, _ = listener.accept()
            with conn:
                received = b""
                while b"\r\n\r\n" not in received:
                    received += conn.recv(65536)
                head, _, body = received.partition(b"\r\n\r\n")
                length = int(re.search(rb"(?im)^content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
                while len(body) < length:  # unread request bytes would turn our close into a reset
                    body += conn.recv(65536)
                if plan.head_delay:
                    time.sleep(plan.head_delay)
                head = [f"HTTP/1.1 {plan.status} OK", *(f"{k}: {v}" for k, v in plan.headers)]
                conn.sendall(("\r\n".join([*head, "transfer-encoding: chunked", "", ""])).encode())
                for step in plan.steps:
                    if isinstance(step, Write):
                        conn.sendall(b"%x\r\n%s\r\n" % (len(step.data), step.data))
                    elif isinstance(step, Pause):
                        time.sleep(step.seconds)
                    else:
                        return
                conn.sendall(b"0\r\n\r\n")
                time.sleep(0.1)  # hold the socket open until the client has read the end

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/v1/chat"
    finally:
        listener.close()
        thread.join(timeout=2)


def read_raw(url: str, *, is_async: bool, read_timeout: float) -> tuple[bytes, BaseException | None]:
    """Read a response body with a plain httpx client; the mock intercepts it when active."""
    timeout = httpx.Timeout(2.0, read=read_timeout)
    body = bytearray()

    async def aread() -> None:
        async with (
            httpx.AsyncClient(timeout=timeout) as client,
            client.stream("POST", url, json={}) as response,
        ):
            async for piece in response.aiter_raw():
                body.extend(piece)

    def read() -> None:
        with httpx.Client(timeout=timeout) as client, client.stream("POST", url, json={}) as response:
            for piece in response.iter_raw():
                body.extend(piece)

    try:
        asyncio.run(aread()) if is_async else read()
    except httpx.HTTPError as error:
        return bytes(body), error
    return bytes(body), None


def read_mocked(
    plan: ResponsePlan, *, is_async: bool, read_timeout: float
) -> tuple[bytes, BaseException | None]:
    with WriterMock(base_url="http://writer.test") as mock:
        mock.reply(plan)
        return read_raw("http://writer.test/v1/chat", is_async=is_async, read_timeout=read_timeout)


def causes(error: BaseException | None) -> list[tuple[type[BaseException], str]]:
    """The chain a traceback shows, as (class, message), from httpx's error down to the socket's.

    Beneath the socket-level error lie the backend's own internals (anyio's
    cancel scope, one error per address tried), which no test can observe.
    """
    chain = []
    while error is not None and len(chain) < 3:
        chain.append((type(error), str(error)))
        error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    return chain


SSE = (("content-type", "text/event-stream"),)
DIFFERENTIAL: dict[str, ResponsePlan] = {
    "disconnect": ResponsePlan(headers=SSE, steps=(Write(b"data: {}\n\n"), Disconnect())),
    "disconnect-before-body": ResponsePlan(headers=SSE, steps=(Disconnect(),)),
    "stall-mid-body": ResponsePlan(headers=SSE, steps=(Write(b"data: {}\n\n"), Pause(0.4))),
    "slow-but-in-time": ResponsePlan(headers=SSE, steps=(Write(b"a"), Pause(0.05), Write(b"b"))),
    "stall-before-head": ResponsePlan(headers=SSE, head_delay=0.4, steps=(Write(b"x"),)),
}


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("name", sorted(DIFFERENTIAL))
def test_mock_fails_exactly_like_a_real_socket(name: str, is_async: bool) -> None:
    plan = DIFFERENTIAL[name]
    # A stall must outlast the read timeout (0.4 s against 0.15 s); a pause that is only a delay
    # (0.05 s) gets a timeout it cannot reach even on a loaded machine, where a thread may wait
    # a tenth of a second for the CPU.
    read_timeout = 2.0 if name == "slow-but-in-time" else 0.15
    with real_server(plan) as url:
        real_body, real_error = read_raw(url, is_async=is_async, read_timeout=read_timeout)
    mock_body, mock_error = read_mocked(plan, is_async=is_async, read_timeout=read_timeout)
    assert mock_body == real_body
    assert causes(mock_error) == causes(real_error)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_refused_connection_fails_exactly_like_a_closed_port(is_async: bool) -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]  # closed on exit: nothing listens there any more
    _, real_error = read_raw(f"http://127.0.0.1:{port}/v1/chat", is_async=is_async, read_timeout=1)
    _, mock_error = read_mocked(ResponsePlan(refuse=True), is_async=is_async, read_timeout=1)
    assert type(real_error) is httpx.ConnectError
    assert causes(mock_error) == causes(real_error)

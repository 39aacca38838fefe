"""FakeWriterServer end to end: real sockets on 127.0.0.1, real clients, every fault."""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import writerai
from rawhttp import (
    MESSAGES,
    MODEL,
    READ_TIMEOUT,
    SCRIPT,
    TEXT,
    chat_body,
    post_chat,
    raw_stream,
    read_until_closed,
)

from writer_stream_testkit import client as kit
from writer_stream_testkit.doubles.mock import WriterMock
from writer_stream_testkit.doubles.server import FakeWriterServer, WriterDouble
from writer_stream_testkit.errors import (
    APIConnectionError,
    MalformedChunkError,
    RateLimitError,
    StreamErrorEvent,
    UnexpectedRequestError,
    UnusedRepliesError,
)
from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.scripts.faults import Fault
from writer_stream_testkit.scripts.plan import Pause, ResponsePlan, Write


def server_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("FakeWriterServer")]


# --- every fault, through a raw httpx stream -------------------------------------------------------

FAULTS: dict[str, Fault] = {
    "http_error": Fault.http_error(429, retry_after=1),
    "connection_refused": Fault.connection_refused(),
    "disconnect": Fault.disconnect(after_chunks=1),
    "disconnect_mid_chunk": Fault.disconnect(after_chunks=1, mid_chunk=True),
    "malformed_chunk": Fault.malformed_chunk(after_chunks=1),
    "error_event": Fault.error_event(after_chunks=1),
    "stall": Fault.stall(after_chunks=1, seconds=30),
    "delay": Fault.delay(each=0.01, first_byte=0.05),
    "split": Fault.split(sizes=[5, 11]),
    "split_one_byte": Fault.split(one_byte=True),
    "split_mid_utf8": Fault.split_mid_utf8(),
    "split_mid_crlf": Fault.split_mid_crlf(),
    "missing_done": Fault.missing_done(),
    "data_after_done": Fault.data_after_done(),
    "crlf": Fault.crlf(),
    "keep_alive": Fault.keep_alive(every=1),
}


def test_the_fault_table_covers_every_fault_constructor() -> None:
    constructors = {
        name
        for name, value in vars(Fault).items()
        if isinstance(value, staticmethod) and not name.startswith("_")
    }
    assert constructors - FAULTS.keys() == set(), "add a FAULTS entry for every Fault constructor"


def _stalls(plan: ResponsePlan, limit: float) -> bool:
    return any(isinstance(step, Pause) and step.seconds > limit for step in plan.steps)


def _bytes_before_stall(plan: ResponsePlan, limit: float) -> bytes:
    out = bytearray()
    for step in plan.steps:
        if isinstance(step, Pause) and step.seconds > limit:
            break
        if isinstance(step, Write):
            out += step.data
    return bytes(out)


@pytest.mark.parametrize("name", FAULTS)
def test_raw_httpx_receives_exactly_what_the_plan_says(server: FakeWriterServer, name: str) -> None:
    script = SCRIPT.with_fault(FAULTS[name])
    server.reply(script)
    result = raw_stream(server, chat_body())
    (call,) = server.calls
    plan = script.plan(call)
    if plan.refuse:
        assert result.status is None
        assert isinstance(result.error, (httpx.RemoteProtocolError, httpx.ReadError))
    elif _stalls(plan, READ_TIMEOUT):
        assert isinstance(result.error, httpx.ReadTimeout)
        assert result.body == _bytes_before_stall(plan, READ_TIMEOUT)
    elif not plan.completes:
        assert isinstance(result.error, httpx.RemoteProtocolError)
        assert "incomplete chunked read" in str(result.error)
        assert result.body == plan.body()
    else:
        assert result.error is None
        assert result.status == plan.status
        assert result.body == plan.body()
    if plan.head_delay:
        assert result.head_time >= plan.head_delay * 0.9


def test_stream_false_gets_the_completion_json(server: FakeWriterServer) -> None:
    server.reply(SCRIPT)
    with httpx.Client(base_url=server.base_url, timeout=5.0) as client:
        response = client.post("/v1/chat", json=chat_body(stream=False))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == SCRIPT.completion()


# --- the official SDK and our client ---------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    """What a client should see for one fault: the streamed text, or an exception type."""

    writerai: str | type[BaseException]
    kit: str | type[BaseException]


EXPECTED: dict[str, Expect] = {
    "http_error": Expect(writerai.RateLimitError, RateLimitError),
    "connection_refused": Expect(writerai.APIConnectionError, APIConnectionError),
    "disconnect": Expect(httpx.RemoteProtocolError, httpx.RemoteProtocolError),
    "disconnect_mid_chunk": Expect(httpx.RemoteProtocolError, httpx.RemoteProtocolError),
    "malformed_chunk": Expect(ValueError, MalformedChunkError),
    "error_event": Expect(writerai.APIStatusError, StreamErrorEvent),
    "stall": Expect(httpx.ReadTimeout, httpx.ReadTimeout),
    "delay": Expect(TEXT, TEXT),
    "split": Expect(TEXT, TEXT),
    "split_one_byte": Expect(TEXT, TEXT),
    "split_mid_utf8": Expect(TEXT, TEXT),
    "split_mid_crlf": Expect(TEXT, TEXT),
    "missing_done": Expect(TEXT, TEXT),
    "data_after_done": Expect(TEXT, TEXT),
    "crlf": Expect(TEXT, TEXT),
    "keep_alive": Expect(TEXT, TEXT),
}


def _text(chunks: Any) -> str:
    return "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)


def stream_sync(client: Any) -> str:
    with client:
        return _text(client.chat.chat(model=MODEL, messages=MESSAGES, stream=True))


def stream_async(client: Any) -> str:
    async def run() -> str:
        async with client:
            stream = await client.chat.chat(model=MODEL, messages=MESSAGES, stream=True)
            return _text([chunk async for chunk in stream])

    return asyncio.run(run())


CLIENTS: dict[str, tuple[Callable[[str], Any], Callable[[Any], str], str]] = {
    "writerai-sync": (
        lambda url: writerai.Writer(api_key="k", base_url=url, max_retries=0, timeout=READ_TIMEOUT),
        stream_sync,
        "writerai",
    ),
    "writerai-async": (
        lambda url: writerai.AsyncWriter(api_key="k", base_url=url, max_retries=0, timeout=READ_TIMEOUT),
        stream_async,
        "writerai",
    ),
    "kit-sync": (
        lambda url: kit.Writer(api_key="k", base_url=url, max_retries=0, timeout=READ_TIMEOUT),
        stream_sync,
        "kit",
    ),
    "kit-async": (
        lambda url: kit.AsyncWriter(api_key="k", base_url=url, max_retries=0, timeout=READ_TIMEOUT),
        stream_async,
        "kit",
    ),
}


@pytest.mark.parametrize("client_name", CLIENTS)
@pytest.mark.parametrize("name", FAULTS)
def test_clients_see_each_fault(server: FakeWriterServer, client_name: str, name: str) -> None:
    make, run, family = CLIENTS[client_name]
    expected = getattr(EXPECTED[name], family)
    server.reply(SCRIPT.with_fault(FAULTS[name]))
    client = make(server.base_url)
    if isinstance(expected, str):
        assert run(client) == expected
    else:
        with pytest.raises(expected):
            run(client)
    assert len(server.calls) == 1


@pytest.mark.parametrize("client_name", CLIENTS)
def test_clients_get_a_completion_for_stream_false(server: FakeWriterServer, client_name: str) -> None:
    make, _, _ = CLIENTS[client_name]
    server.reply(SCRIPT)

    async def run_async(client: Any) -> Any:
        async with client:
            return await client.chat.chat(model=MODEL, messages=MESSAGES)

    def run_sync(client: Any) -> Any:
        with client:
            return client.chat.chat(model=MODEL, messages=MESSAGES)

    client = make(server.base_url)
    completion = asyncio.run(run_async(client)) if "async" in client_name else run_sync(client)
    assert completion.choices[0].message.content == TEXT
    assert completion.choices[0].finish_reason == "stop"
    assert not server.calls[0].stream


@pytest.mark.parametrize("writer_class", [writerai.Writer, kit.Writer], ids=["writerai", "kit"])
def test_stream_helpers_read_the_script(server: FakeWriterServer, writer_class: Any) -> None:
    server.reply(SCRIPT)
    with (
        writer_class(api_key="k", base_url=server.base_url, max_retries=0, timeout=5.0) as client,
        client.chat.stream(model=MODEL, messages=MESSAGES) as stream,
    ):
        deltas = [event.delta for event in stream if event.type == "content.delta"]
        final = stream.get_final_completion()
    assert deltas == ["Héllo", " wörld", " ☃"]
    assert final.choices[0].message.content == TEXT


def run_against(double: WriterDouble, fault: Fault) -> tuple[str, str]:
    """One test body for either double: the text streamed, and the exception that ended it."""
    double.reply(SCRIPT.with_fault(fault))
    received: list[str] = []
    with writerai.Writer(
        api_key="k", base_url=double.base_url, max_retries=0, timeout=READ_TIMEOUT
    ) as client:
        try:
            for chunk in client.chat.chat(model=MODEL, messages=MESSAGES, stream=True):  # type: ignore[arg-type]
                received.append(_text([chunk]))
        except Exception as exc:
            return "".join(received), type(exc).__name__
    return "".join(received), ""


@pytest.mark.parametrize("name", FAULTS)
def test_the_server_and_the_mock_give_the_same_outcome(name: str) -> None:
    with WriterMock() as mock:
        in_process = run_against(mock, FAULTS[name])
    with FakeWriterServer() as fake:
        over_tcp = run_against(fake, FAULTS[name])
    assert over_tcp == in_process


# --- HTTP/1.1 behaviour ---------------------------------------------------------------------------


def test_one_client_reuses_one_connection_for_several_requests(server: FakeWriterServer) -> None:
    server.reply(SCRIPT, times=3)
    addresses = []
    with httpx.Client(base_url=server.base_url, timeout=5.0) as client:
        for _ in range(3):
            with client.stream("POST", "/v1/chat", json=chat_body()) as response:
                assert response.read() == SCRIPT.sse()
                addresses.append(response.extensions["network_stream"].get_extra_info("client_addr"))
    assert len(set(addresses)) == 1
    assert len(server.calls) == 3


def test_an_error_response_keeps_the_connection_alive_as_http_servers_do(server: FakeWriterServer) -> None:
    """A 429 is a complete response, so the connection stays open for the retry, as real servers
    keep it; a client that shares one async pool across event loops meets that after a 429."""
    server.reply(Fault.http_error(429, retry_after_ms=1))
    server.reply(SCRIPT)
    addresses = []
    with httpx.Client(base_url=server.base_url, timeout=5.0) as client:
        for status in (429, 200):
            with client.stream("POST", "/v1/chat", json=chat_body()) as response:
                response.read()
                assert response.status_code == status
                assert "close" not in response.headers.get("connection", "")
                addresses.append(response.extensions["network_stream"].get_extra_info("client_addr"))
    assert addresses[0] == addresses[1]


def test_sixty_concurrent_streams_each_get_their_own_reply(server: FakeWriterServer) -> None:
    count = 60
    for i in range(count):
        server.reply(StreamScript().content(f"answer {i}"), messages=[{"role": "user", "content": f"q{i}"}])

    async def ask(client: writerai.AsyncWriter, i: int) -> str:
        messages: Any = [{"role": "user", "content": f"q{i}"}]
        stream = await client.chat.chat(model=MODEL, messages=messages, stream=True)
        return _text([chunk async for chunk in stream])

    async def run() -> list[str]:
        async with writerai.AsyncWriter(
            api_key="k", base_url=server.base_url, max_retries=0, timeout=20.0
        ) as client:
            return await asyncio.gather(*(ask(client, i) for i in range(count)))

    assert asyncio.run(run()) == [f"answer {i}" for i in range(count)]
    assert len(server.calls) == count


def test_chunked_and_sized_request_bodies_are_read_whole(server: FakeWriterServer) -> None:
    server.reply(SCRIPT, times=2)
    payload = httpx.Request("POST", "/", json=chat_body(padding="x" * 100_000)).content

    def pieces() -> Iterator[bytes]:
        for start in range(0, len(payload), 4096):
            yield payload[start : start + 4096]

    with httpx.Client(base_url=server.base_url, timeout=5.0) as client:
        sized = client.post("/v1/chat", content=payload, headers={"content-type": "application/json"})
        chunked = client.post("/v1/chat", content=pieces(), headers={"content-type": "application/json"})
    assert sized.status_code == chunked.status_code == 200
    first, second = server.calls
    assert first.headers["content-length"] == str(len(payload))
    assert second.headers["transfer-encoding"] == "chunked"
    assert first.content == second.content == payload


def test_calls_record_method_path_headers_and_body(server: FakeWriterServer) -> None:
    server.reply(SCRIPT)
    with writerai.Writer(
        api_key="secret-key", base_url=server.base_url, max_retries=0, timeout=5.0
    ) as client:
        _text(client.chat.chat(model=MODEL, messages=MESSAGES, stream=True))  # type: ignore[arg-type]
    (call,) = server.calls
    assert (call.method, call.path, call.url) == ("POST", "/v1/chat", f"{server.base_url}/v1/chat")
    assert call.headers["authorization"] == "Bearer secret-key"
    assert call.json == {"model": MODEL, "messages": MESSAGES, "stream": True}


def test_malformed_http_gets_a_400_and_the_connection_closes(server: FakeWriterServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5.0) as sock:
        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        reply = read_until_closed(sock)
    assert reply.startswith(b"HTTP/1.1 400 ")
    assert b"could not parse the request" in reply


def test_expect_100_continue_is_answered_before_the_body(server: FakeWriterServer) -> None:
    server.reply(SCRIPT)
    body = httpx.Request("POST", "/", json=chat_body(stream=False)).content
    head = (
        f"POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5.0) as sock:
        sock.sendall(head)
        assert sock.recv(100).startswith(b"HTTP/1.1 100 ")
        sock.sendall(body)
        reply = read_until_closed(sock)
    assert reply.startswith(b"HTTP/1.1 200 ")
    assert server.calls[0].content == body


# --- strictness ------------------------------------------------------------------------------------


def test_unexpected_request_gets_a_500_and_fails_verify() -> None:
    fake = FakeWriterServer().start()
    with writerai.Writer(api_key="k", base_url=fake.base_url, max_retries=2, timeout=5.0) as client:
        _expect_internal_server_error(client)
    fake.stop()
    assert len(fake.calls) == 1  # x-should-retry: false stopped the SDK's retries
    with pytest.raises(UnexpectedRequestError, match="had no matching reply") as excinfo:
        fake.verify()
    assert "model='palmyra-x5'" in str(excinfo.value)


def test_leaving_the_block_verifies() -> None:
    fake = FakeWriterServer()
    with pytest.raises(UnexpectedRequestError), fake:
        post_chat(fake.base_url)


def _expect_internal_server_error(client: writerai.Writer) -> None:
    with pytest.raises(writerai.InternalServerError) as excinfo:
        client.chat.chat(model=MODEL, messages=MESSAGES, stream=True)  # type: ignore[arg-type]
    assert excinfo.value.status_code == 500


def test_a_chat_body_that_is_not_json_gets_a_400_and_keeps_the_reply() -> None:
    fake = FakeWriterServer().start()
    fake.reply(SCRIPT)
    with httpx.Client(base_url=fake.base_url, timeout=5.0) as client:
        refused = client.post("/v1/chat", content=b"model=palmyra-x5&stream=true")
        answered = client.post("/v1/chat", json=chat_body())
    sdk = writerai.Writer(api_key="k", base_url=fake.base_url, max_retries=2, timeout=5.0)
    with sdk, pytest.raises(writerai.BadRequestError) as sdk_error:
        sdk.post("/v1/chat", body="not json", cast_to=object)
    fake.stop()
    assert (refused.status_code, refused.headers["x-should-retry"]) == (400, "false")
    assert refused.json()["tpe"] == "BadRequest"
    description = refused.json()["errors"][0]["description"]
    assert description.startswith(
        "writer-stream-testkit: The request body is not JSON: Expecting value: line 1 column 1 (char 0). "
    )
    assert answered.content == SCRIPT.sse()
    assert sdk_error.value.status_code == 400
    assert len(fake.calls) == 3, "the 400 must not be retried"
    with pytest.raises(UnexpectedRequestError) as excinfo:
        fake.verify()
    message = str(excinfo.value)
    assert message.startswith("2 requests were refused by FakeWriterServer before any reply could answer:\n")
    assert "POST /v1/chat (non-JSON body of 28 bytes: b'model=palmyra-x5&stream=true')" in message
    assert "got 400: The request body is not JSON" in message


def test_unused_reply_fails_verify() -> None:
    with pytest.raises(UnusedRepliesError, match="never requested"), FakeWriterServer() as fake:
        fake.reply(SCRIPT)


def test_an_unqueued_request_to_any_path_gets_the_strict_500_naming_it_and_fails_verify() -> None:
    fake = FakeWriterServer().start()
    with httpx.Client(base_url=fake.base_url, timeout=5.0) as client:
        response = client.get("/v1/models")
    fake.stop()
    assert response.status_code == 500
    assert response.json()["tpe"] == "InternalServerError"
    assert "GET /v1/models (no body)" in response.json()["errors"][0]["description"]
    assert response.headers["x-should-retry"] == "false"
    with pytest.raises(UnexpectedRequestError, match="had no matching reply") as excinfo:
        fake.verify()
    assert "GET /v1/models" in str(excinfo.value)


def test_head_requests_get_a_bodyless_answer_on_a_connection_that_stays_usable() -> None:
    fake = FakeWriterServer().start()
    fake.reply(SCRIPT)
    with httpx.Client(base_url=fake.base_url, timeout=5.0) as client:
        head = client.head("/v1/chat")
        chat = client.post("/v1/chat", json=chat_body())
    fake.stop()
    assert (head.status_code, head.content) == (500, b"")
    assert chat.content == SCRIPT.sse()
    with pytest.raises(UnexpectedRequestError, match="HEAD /v1/chat"):
        fake.verify()


def test_reset_forgets_replies_and_calls(server: FakeWriterServer) -> None:
    server.reply(SCRIPT)
    assert raw_stream(server, chat_body()).status == 200
    server.reply(SCRIPT)
    server.reset()
    assert server.calls == []
    server.verify()


def test_the_server_satisfies_the_double_protocol(server: FakeWriterServer) -> None:
    double: WriterDouble = server
    assert double.base_url == f"http://127.0.0.1:{server.port}"
    assert double.reply(SCRIPT) is server
    assert raw_stream(server, chat_body()).status == 200


# --- lifecycle -------------------------------------------------------------------------------------


def _open_sockets() -> int | None:
    fd_dir = Path("/proc/self/fd")
    if not fd_dir.is_dir():
        return None
    count = 0
    for fd in fd_dir.iterdir():
        try:
            count += os.readlink(fd).startswith("socket:")
        except OSError:
            continue
    return count


def test_stop_mid_stall_closes_everything_and_leaves_no_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    unraisable: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    sockets_before = _open_sockets()
    fake = FakeWriterServer().start()
    assert server_threads()
    fake.reply(SCRIPT.with_fault(Fault.stall(after_chunks=1, seconds=60)))
    with (
        httpx.Client(base_url=fake.base_url, timeout=10.0) as client,
        client.stream("POST", "/v1/chat", json=chat_body()) as response,
    ):
        pieces = response.iter_raw()
        assert next(pieces).startswith(b"data: ")
        started = time.monotonic()
        fake.stop()
        stopped_in = time.monotonic() - started
        with pytest.raises(httpx.RemoteProtocolError):
            next(pieces)
    fake.verify()
    gc.collect()
    assert stopped_in < 2.0
    assert server_threads() == []
    assert unraisable == []
    if sockets_before is not None:
        assert _open_sockets() == sockets_before


def test_the_test_body_exception_wins_and_the_server_still_shuts_down() -> None:
    with pytest.raises(ZeroDivisionError) as excinfo:
        _fail_mid_stream()
    assert server_threads() == []
    if sys.version_info >= (3, 11):
        assert any("never requested" in note for note in excinfo.value.__notes__)


def _fail_mid_stream() -> None:
    with FakeWriterServer() as fake:
        fake.reply(SCRIPT.with_fault(Fault.stall(after_chunks=1, seconds=60)))
        fake.reply(SCRIPT)  # never requested: reported as a note, not instead of the error
        with httpx.Client(base_url=fake.base_url, timeout=10.0) as client:
            _read_first_piece_then_fail(client)


def _read_first_piece_then_fail(client: httpx.Client) -> None:
    with client.stream("POST", "/v1/chat", json=chat_body()) as response:
        next(response.iter_raw())
        1 / 0  # noqa: B018


def test_async_with_works_and_servers_do_not_share_state() -> None:
    async def run() -> None:
        async with FakeWriterServer() as first, FakeWriterServer() as second:
            assert first.port != second.port
            first.reply(SCRIPT)
            async with httpx.AsyncClient(base_url=first.base_url, timeout=5.0) as client:
                response = await client.post("/v1/chat", json=chat_body())
            assert response.content == SCRIPT.sse()
            assert second.calls == []

    asyncio.run(run())
    assert server_threads() == []


def test_base_url_before_start_says_how_to_fix_it() -> None:
    with pytest.raises(RuntimeError, match="enter its `with` block"):
        _ = FakeWriterServer().base_url


def test_a_server_starts_only_once(server: FakeWriterServer) -> None:
    with pytest.raises(RuntimeError, match="create a new FakeWriterServer"):
        server.start()


def test_a_busy_port_fails_in_the_caller(server: FakeWriterServer) -> None:
    with pytest.raises(OSError):
        FakeWriterServer(port=server.port).start()
    assert len(server_threads()) == 1


# --- the CLI ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [204, 304])
def test_an_empty_204_or_304_is_framed_alike_by_both_doubles(status: int) -> None:
    import httpx

    from writer_stream_testkit.scripts.plan import ResponsePlan

    plan = ResponsePlan(status=status, headers=(), steps=())
    seen = []
    with WriterMock() as mock:
        mock.reply(plan, path="/v1/files/x", method="DELETE")
        seen.append(httpx.delete("https://api.writer.com/v1/files/x"))
    with FakeWriterServer() as server:
        server.reply(plan, path="/v1/files/x", method="DELETE")
        seen.append(httpx.delete(server.base_url + "/v1/files/x", timeout=5.0))
    for response in seen:
        assert response.status_code == status
        assert "transfer-encoding" not in response.headers
        assert response.content == b""


def test_a_head_request_gets_no_body_from_either_double() -> None:
    import httpx

    seen = []
    with WriterMock() as mock:
        mock.reply({"ok": 1}, path="*")
        seen.append(httpx.head("https://api.writer.com/v1/models"))
    with FakeWriterServer() as server:
        server.reply({"ok": 1}, path="*")
        seen.append(httpx.head(server.base_url + "/v1/models", timeout=5.0))
    assert [(r.status_code, r.content) for r in seen] == [(200, b""), (200, b"")]

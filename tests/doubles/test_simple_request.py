"""The simple request reader (doubles/simple_request.py), held to h11, and the server's hand-over to h11."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import AsyncGenerator, Iterator

import h11
import pytest
import writerai
from hypothesis import given, settings
from hypothesis import strategies as st

from writer_stream_testkit.doubles.respond import HEAD_CACHE_SIZE, cached_head, response_head
from writer_stream_testkit.doubles.server import FakeWriterServer, LiveResponse
from writer_stream_testkit.doubles.simple_request import HEAD_LIMIT, Refusal, SimpleHead, read_simple_head
from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.scripts.plan import ResponsePlan
from writer_stream_testkit.wire.call import Call

SCRIPT = StreamScript().content("Hello").content(" world").finish("stop")
BODY = json.dumps({"model": "palmyra-x5", "stream": True, "messages": [{"role": "user", "content": "hi"}]})


def request(*headers: str, line: str = "POST /v1/chat HTTP/1.1", body: bytes = b"") -> bytes:
    return ("\r\n".join([line, *headers]) + "\r\n\r\n").encode("latin-1") + body


def h11_reads(data: bytes) -> tuple[h11.Connection, h11.Request, bytes] | None:
    """What h11 reads from ``data``: its connection, the request and the body; ``None`` if it needs more."""
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=HEAD_LIMIT)
    conn.receive_data(data)
    found: h11.Request | None = None
    body = b""
    while True:
        event = conn.next_event()
        if isinstance(event, h11.Request):
            found = event
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            assert found is not None
            return conn, found, body
        else:
            return None


# --- what it reads, and what it leaves to h11 -----------------------------------------------------


def test_the_sdks_chat_request_is_read_without_h11() -> None:
    """The request writerai actually sends (captured off a socket) is the case the reader is for."""
    captured = bytearray()
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(10.0)

        def capture() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.settimeout(10.0)
                while True:
                    head = read_simple_head(bytes(captured))
                    if isinstance(head, SimpleHead) and len(captured) >= head.size + head.body_length:
                        return
                    if head is Refusal.NOT_SIMPLE or not (data := conn.recv(65536)):
                        return
                    captured.extend(data)

        thread = threading.Thread(target=capture)
        thread.start()
        port = listener.getsockname()[1]
        client = writerai.Writer(api_key="k", base_url=f"http://127.0.0.1:{port}", max_retries=0)
        with pytest.raises(writerai.APIConnectionError):
            client.chat.chat(model="palmyra-x5", messages=[{"role": "user", "content": "hi"}], stream=True)
        client.close()
        thread.join(10.0)
    head = read_simple_head(bytes(captured))
    assert isinstance(head, SimpleHead), bytes(captured)
    assert (head.method, head.target) == (b"POST", b"/v1/chat")
    assert json.loads(captured[head.size :])["stream"] is True


def test_a_head_is_read_with_its_headers_as_h11_reads_them() -> None:
    data = request(
        "Host: x", "X-Spaced:   a  b \t", "Content-Length: 3", "Connection: Keep-Alive", body=b"abcNEXT"
    )
    head = read_simple_head(data)
    assert head == SimpleHead(
        b"POST",
        b"/v1/chat",
        ((b"Host", b"x"), (b"X-Spaced", b"a  b"), (b"Content-Length", b"3"), (b"Connection", b"Keep-Alive")),
        3,
        len(data) - len(b"abcNEXT"),
    )


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(
            request("Host: x", "Expect: 100-continue", "Content-Length: 2"), id="expect-100-continue"
        ),
        pytest.param(request("Host: x", "Transfer-Encoding: chunked"), id="chunked-upload"),
        pytest.param(request("Host: x", line="GET / HTTP/1.0"), id="http-1.0"),
        pytest.param(request(line="GET / HTTP/1.0"), id="http-1.0-without-host"),
        pytest.param(request("Host: x", line="CONNECT api.writer.com:443 HTTP/1.1"), id="connect"),
        pytest.param(request("Host: x", line="CONNECT / HTTP/1.1"), id="connect-origin-form"),
        pytest.param(
            request("Host: x", line="POST http://api.writer.com/v1/chat HTTP/1.1"), id="absolute-form"
        ),
        pytest.param(request("Host: x", line="OPTIONS * HTTP/1.1"), id="asterisk-form"),
        pytest.param(request("Host: x", "X-Folded: a", " b"), id="obs-fold"),
        pytest.param(
            request("Host: x", "Content-Length: 2", "Content-Length: 2"), id="duplicate-content-length"
        ),
        pytest.param(request("Host: x", "Content-Length: 2, 2"), id="listed-content-length"),
        pytest.param(request("Host: x", "Content-Length: +2"), id="signed-content-length"),
        pytest.param(request("Host: x", "Content-Length: " + "9" * 19), id="long-content-length"),
        pytest.param(request("Host: x", "Connection: close"), id="connection-close"),
        pytest.param(request("Host: x", "Connection: keep-alive, Upgrade", "Upgrade: h2c"), id="upgrade"),
        pytest.param(request("X-No-Host: 1"), id="no-host"),
        pytest.param(request("Host: x", "Host: y"), id="two-hosts"),
        pytest.param(request("Host: x", "X-Name: caf\xe9"), id="obs-text-value"),
        pytest.param(request("Host: x", "X-Bell: \x07"), id="control-byte-value"),
        pytest.param(request("Host: x", "Bad Name: 1"), id="space-in-name"),
        pytest.param(request("Host : x"), id="space-before-colon"),
        pytest.param(b"POST /v1/chat HTTP/1.1\nHost: x\n\n", id="bare-lf-complete"),
        pytest.param(b"POST /v1/chat HTTP/1.1\nHost: x\n", id="bare-lf-partial"),
        pytest.param(b"POST /v1/chat HTTP/1.1\r\nHost: x\r\n\nX: y\r\n\r\n", id="bare-lf-blank-line"),
        pytest.param(b"\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", id="leading-blank-line"),
        pytest.param(b"NOT HTTP AT ALL\r\n\r\n", id="malformed"),
        pytest.param(request("Host: x", "X-Big: " + "a" * HEAD_LIMIT), id="head-over-the-limit"),
        pytest.param(
            b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * HEAD_LIMIT, id="unfinished-head-over-the-limit"
        ),
    ],
)
def test_every_unusual_request_is_left_to_h11(data: bytes) -> None:
    assert read_simple_head(data) is Refusal.NOT_SIMPLE


def test_a_head_just_inside_the_limit_is_read_and_one_byte_more_is_left_to_h11() -> None:
    pad = HEAD_LIMIT - len(request("Host: x", "X-Pad: "))
    fits = request("Host: x", "X-Pad: " + "a" * pad)
    assert len(fits) == HEAD_LIMIT
    assert isinstance(read_simple_head(fits), SimpleHead)
    assert h11_reads(fits) is not None
    assert read_simple_head(request("Host: x", "X-Pad: " + "a" * (pad + 1))) is Refusal.NOT_SIMPLE


# --- held to h11, request by generated request ------------------------------------------------------

TOKEN = st.from_regex(rb"[-!#$%&'*+.^_`|~0-9a-zA-Z]{1,12}", fullmatch=True)
METHODS = (
    st.sampled_from([b"GET", b"POST", b"HEAD", b"PUT", b"DELETE", b"OPTIONS", b"get", b"CONNECT"]) | TOKEN
)
TARGETS = st.sampled_from(
    [b"/v1/chat", b"/", b"/v1/files?x=1&y=%20", b"*", b"http://h/v1/chat", b"h:443"]
) | (st.from_regex(rb"/[\x21-\x7e]{0,24}", fullmatch=True))
VERSIONS = st.sampled_from([b"HTTP/1.1"] * 6 + [b"HTTP/1.0", b"HTTP/2.0", b"http/1.1"])
ODD_NAMES = (b"Host", b"host", b"HOST", b"Content-Type", b"Authorization", b"Connection", b"Content-Length")
ODD_NAMES += (b"Transfer-Encoding", b"Expect", b"Upgrade", b"X-Stainless-Lang", b"Accept", b"Bad Name", b"")
NAMES = st.sampled_from(ODD_NAMES) | TOKEN
ODD_VALUES = (b"keep-alive", b"Keep-Alive , keep-alive", b"close", b"keep-alive, close", b"100-continue")
ODD_VALUES += (
    b"chunked",
    b"application/json",
    b"",
    b"5",
    b"+5",
    b"5, 5",
    b"007",
    b"a\tb",
    b"caf\xe9",
    b"x\x00y",
)
VALUES = st.sampled_from((*ODD_VALUES, b"x\ry")) | st.from_regex(rb"[\x20-\x7e\t]{0,16}", fullmatch=True)
SEPARATORS = st.sampled_from([b": ", b":", b":  ", b":\t", b" :"])
ENDINGS = st.sampled_from([b"\r\n"] * 12 + [b"\n", b"\r"])


PLAIN_VALUES = st.sampled_from([b"application/json", b"", b"a\tb", b"Bearer k"]) | (
    st.from_regex(rb"[\x21-\x7e]([\x20-\x7e\t]{0,14}[\x21-\x7e])?", fullmatch=True)
)


# What `requests` draws from, built once: a strategy made inside a composite is built and
# validated again on every draw (a sampled_from of a list, or a filter, is not cached),
# which took much of this differential's time. The values drawn are the same.
PLAIN_METHODS = st.sampled_from([b"GET", b"POST", b"HEAD"]) | TOKEN.filter(lambda m: m != b"CONNECT")
PLAIN_TARGETS = st.from_regex(rb"/[\x21-\x7e]{0,24}", fullmatch=True)
HOSTS = st.sampled_from([b"x", b"127.0.0.1:80", b""])
PLAIN_NAMES = st.sampled_from([b"Connection", b"X-Stainless-Lang", b"Accept"]) | TOKEN
PLAIN_SEPARATORS = SEPARATORS.filter(lambda s: s != b" :")
TRAILING = st.sampled_from([b"", b" ", b"\t "])
CRLF = st.just(b"\r\n")
AFTER_BODY = st.sampled_from([b"", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"\r\n"])


@st.composite
def requests(draw: st.DrawFn, *, plain: bool = False) -> bytes:
    """Request bytes that are often plain, and often not in one of the ways h11 cares about.

    ``plain``: made of what the reader should accept (it then mostly does), so the
    differential check has many accepted requests to compare.
    """
    body = draw(st.binary(max_size=40))
    method = draw(PLAIN_METHODS if plain else METHODS)
    target = draw(PLAIN_TARGETS if plain else TARGETS)
    lines = [method + b" " + target + b" " + (b"HTTP/1.1" if plain else draw(VERSIONS))]
    if plain or draw(st.booleans()) or draw(st.booleans()):
        lines.append(b"Host: " + draw(HOSTS))
    if body or draw(st.booleans()):
        lines.append(b"Content-Length: " + str(len(body)).encode())
    for _ in range(draw(st.integers(0, 4))):
        name = draw(PLAIN_NAMES if plain else NAMES)
        value = (
            b"keep-alive"
            if plain and name.lower() == b"connection"
            else draw(PLAIN_VALUES if plain else VALUES)
        )
        if plain and name.lower() in (
            b"host",
            b"content-length",
            b"transfer-encoding",
            b"expect",
            b"upgrade",
        ):
            name = b"X-" + name
        line = name + draw(PLAIN_SEPARATORS if plain else SEPARATORS) + value
        line += draw(TRAILING)
        if not plain and draw(st.integers(0, 20)) == 0:
            line = b" folded"
        lines.insert(draw(st.integers(1, len(lines))), line)
    ending = CRLF if plain else ENDINGS
    head = b"".join(line + draw(ending) for line in lines) + draw(ending)
    return head + body + draw(AFTER_BODY)


PLAN_HEADERS = st.lists(
    st.sampled_from(
        [
            ("content-type", "text/event-stream"),
            ("X-Request-Id", "r1"),
            ("Content-Length", "5"),
            ("content-length", "+5"),
            ("transfer-encoding", "chunked"),
            ("Transfer-Encoding", "gzip, chunked"),
            ("connection", "close"),
            ("Keep-Alive", "timeout=5"),
            ("Host", "api.writer.com"),
            ("set-cookie", "a=b"),
            ("set-cookie", "c=d"),
        ]
    ),
    max_size=5,
).map(tuple)


@settings(max_examples=600, deadline=None)
@given(
    data=requests() | requests(plain=True),
    status=st.sampled_from([200, 201, 204, 304, 404, 500, 599]),
    plan_headers=PLAN_HEADERS,
    close=st.booleans(),
)
def test_what_the_reader_accepts_h11_reads_alike_and_answers_with_the_same_bytes(
    data: bytes, status: int, plan_headers: tuple[tuple[str, str], ...], close: bool
) -> None:
    head = read_simple_head(data)
    if head is Refusal.NEED_DATA:
        # Never "wait" where h11 would already have a request.
        fed = h11.Connection(h11.SERVER, max_incomplete_event_size=HEAD_LIMIT)
        fed.receive_data(data)
        assert fed.next_event() is h11.NEED_DATA
        return
    if not isinstance(head, SimpleHead):
        return  # h11's to read, as it always was (the server tests pin what it does)
    read = h11_reads(data[: head.size + head.body_length])
    assert read is not None
    conn, got, body = read
    assert (got.method, got.target, got.http_version) == (head.method, head.target, b"1.1")
    assert list(got.headers.raw_items()) == list(head.headers)
    assert body == data[head.size : head.size + head.body_length]
    assert not conn.they_are_waiting_for_100_continue
    for cut in range(head.size):  # however TCP splits it, a plain head is waited for, not handed over
        assert read_simple_head(data[:cut]) is Refusal.NEED_DATA
    # The bytes written without h11 are h11's own, and the connection stays open after them (unless closed).
    answer = response_head(status, plan_headers, head.method.decode(), False, close, simple=True)
    assert conn.send(answer.response) == answer.wire
    if answer.framing.kind == "length":
        assert answer.framing.length is not None
        conn.send(h11.Data(data=b"x" * answer.framing.length))
    assert (conn.send(h11.EndOfMessage()) or b"") == answer.end
    assert conn.our_state is (h11.MUST_CLOSE if close else h11.DONE)


@settings(max_examples=200, deadline=None)
@given(data=requests(plain=True))
def test_plain_requests_are_all_read_without_h11(data: bytes) -> None:
    assert isinstance(read_simple_head(data), SimpleHead)


def test_the_response_head_cache_is_bounded_and_reused() -> None:
    assert cached_head.cache_info().maxsize == HEAD_CACHE_SIZE
    headers = (("content-type", "text/event-stream"), ("x-cache-probe", "1"))
    first = response_head(200, headers, "POST", False, False, simple=True)
    assert response_head(200, headers, "POST", False, False, simple=True) is first
    as_list = response_head(200, list(headers), "POST", False, False, simple=True)  # type: ignore[arg-type]
    assert as_list == first
    assert as_list is not first  # a list cannot be a key: built, not cached


# --- through the server -----------------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[FakeWriterServer]:
    with FakeWriterServer() as fake:
        yield fake


def chat_request(*extra: str) -> bytes:
    body = BODY.encode()
    return request(
        "Host: x", "Content-Type: application/json", f"Content-Length: {len(body)}", *extra, body=body
    )


def read_responses(sock: socket.socket, count: int) -> list[bytes]:
    """``count`` chunked responses off ``sock``, each whole (up to its last chunk)."""
    got = b""
    while got.count(b"\r\n0\r\n\r\n") < count:
        data = sock.recv(65536)
        assert data, f"the connection closed after {got!r}"
        got += data
    return [part + b"\r\n0\r\n\r\n" for part in got.split(b"\r\n0\r\n\r\n")[:count]]


def test_pipelined_plain_requests_are_each_answered_in_order(server: FakeWriterServer) -> None:
    first, second = StreamScript().content("one"), StreamScript().content("two")
    server.reply(first).reply(second)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5.0) as sock:
        sock.sendall(chat_request() + chat_request())
        one, two = read_responses(sock, 2)
    assert one.startswith(b"HTTP/1.1 200 OK\r\n")
    assert two.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b'"one"' in one
    assert b'"two"' in two
    assert len(server.calls) == 2


def test_a_connection_goes_on_through_h11_after_an_unusual_request(server: FakeWriterServer) -> None:
    server.reply(SCRIPT, times=3)
    body = BODY.encode()
    expect = request("Host: x", f"Content-Length: {len(body)}", "Expect: 100-continue")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5.0) as sock:
        sock.sendall(chat_request())
        (plain,) = read_responses(sock, 1)
        sock.sendall(expect)
        assert sock.recv(100).startswith(b"HTTP/1.1 100 ")
        sock.sendall(body)
        (after_expect,) = read_responses(sock, 1)
        sock.sendall(chat_request())
        (after,) = read_responses(sock, 1)
    assert plain == after_expect == after
    assert [call.content for call in server.calls] == [body] * 3


def test_the_same_request_gets_the_same_bytes_through_either_reader(server: FakeWriterServer) -> None:
    server.reply(SCRIPT, times=2)
    responses = []
    for extra in ("X-Note: plain", "X-Note: caf\xe9"):  # obs-text: h11 reads the second
        assert isinstance(read_simple_head(chat_request(extra)), SimpleHead) is (extra == "X-Note: plain")
        with socket.create_connection(("127.0.0.1", server.port), timeout=5.0) as sock:
            sock.sendall(chat_request(extra))
            responses += read_responses(sock, 1)
    assert responses[0] == responses[1]
    assert responses[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert [call.headers["x-note"] for call in server.calls] == ["plain", "caf\xe9"]


def test_a_body_cut_short_gets_h11s_400_as_before(server: FakeWriterServer) -> None:
    server.reply(SCRIPT)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5.0) as sock:
        sock.sendall(chat_request()[:-5])
        sock.shutdown(socket.SHUT_WR)
        reply = b""
        while data := sock.recv(65536):
            reply += data
    assert reply.startswith(b"HTTP/1.1 400 ")
    assert b"could not parse the request" in reply
    assert server.calls == []
    server.reset()


def test_a_plain_body_over_the_limit_gets_the_413_as_before() -> None:
    with FakeWriterServer(max_body_size=10) as fake:
        with socket.create_connection(("127.0.0.1", fake.port), timeout=5.0) as sock:
            sock.sendall(chat_request())
            sock.shutdown(socket.SHUT_WR)
            reply = b""
            while data := sock.recv(65536):
                reply += data
        assert reply.startswith(b"HTTP/1.1 413 ")
        assert b"max_body_size" in reply
        fake.reset()


class Relay:
    """A live source (as the record proxy is): each request is answered by a stream made as it goes."""

    async def respond(self, call: Call) -> ResponsePlan | LiveResponse:
        async def body() -> AsyncGenerator[bytes, None]:
            yield b"relayed "
            yield call.content

        return LiveResponse(200, [("content-type", "text/plain")], body())


def test_a_live_sources_requests_are_read_by_h11_and_relayed() -> None:
    """The simple reader hands a live source's connection to h11 before reading a byte (it used to
    hand h11 an empty read, which h11 takes for the client's EOF, so every relay was reset)."""
    with FakeWriterServer(source=Relay()) as fake:
        with socket.create_connection(("127.0.0.1", fake.port), timeout=5.0) as sock:
            for _ in range(2):
                sock.sendall(request("Host: x", "Content-Length: 2", body=b"hi"))
                (reply,) = read_responses(sock, 1)
                assert reply.startswith(b"HTTP/1.1 200 OK\r\n")
                assert reply.endswith(b"\r\n8\r\nrelayed \r\n2\r\nhi\r\n0\r\n\r\n")
        assert [call.content for call in fake.calls] == [b"hi", b"hi"]

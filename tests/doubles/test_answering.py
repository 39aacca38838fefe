"""Both doubles under hostile inputs: computed replies, predicates, odd request lines and statuses.

Each test here reproduces a break from issue 20 (items 6, 7, 8, 11-15, 17) and checks
that the two doubles now answer alike.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import writerai
from threads import in_thread

from writer_stream_testkit.cassettes.cassette import Cassette
from writer_stream_testkit.cassettes.proxy import RecordingProxy
from writer_stream_testkit.doubles.mock import WriterMock
from writer_stream_testkit.doubles.server import FakeWriterServer
from writer_stream_testkit.errors import ReplyError, ScriptError, UnexpectedRequestError
from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.scripts.json_reply import JsonReply
from writer_stream_testkit.scripts.plan import ResponsePlan, Write
from writer_stream_testkit.wire.call import Call

CHAT_BODY = {"model": "palmyra-x5", "messages": [{"role": "user", "content": "Hi"}], "stream": True}
WAIT = 10.0
"""The bound on every wait in these tests; a healthy run takes milliseconds."""


@pytest.fixture(params=["mock", "server"])
def double(request: pytest.FixtureRequest) -> Iterator[WriterMock | FakeWriterServer]:
    """Each double, started but not verified on exit (the tests verify what they expect)."""
    made: WriterMock | FakeWriterServer = WriterMock() if request.param == "mock" else FakeWriterServer()
    made.start()
    try:
        yield made
    finally:
        made.stop()


def client(double: WriterMock | FakeWriterServer, **kwargs: Any) -> httpx.Client:
    return httpx.Client(base_url=double.base_url, timeout=WAIT, **kwargs)


def raw_exchange(server: FakeWriterServer, request: bytes) -> bytes:
    """Send ``request`` on a fresh socket and read until the server closes it (bounded)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
        sock.sendall(request)
        received = bytearray()
        while chunk := sock.recv(65536):
            received += chunk
    return bytes(received)


# --- item 6: computed replies run off the server's event loop --------------------------------------


def test_a_slow_computed_reply_does_not_stall_other_connections(server: FakeWriterServer) -> None:
    started, release = threading.Event(), threading.Event()

    def slow(call: Call) -> dict[str, str]:
        started.set()
        release.wait(WAIT)
        return {"slow": "done"}

    server.reply(slow, path="/v1/models")
    server.reply({"fast": True}, path="/v1/applications")
    with client(server) as first, client(server) as second:
        thread, out = in_thread(lambda: first.get("/v1/models"))
        assert started.wait(WAIT)
        try:
            fast = second.get("/v1/applications", timeout=2.0)  # a stalled loop times this out
        finally:
            release.set()
            thread.join(WAIT)
    assert fast.json() == {"fast": True}
    assert out[0].json() == {"slow": "done"}
    server.verify()


def test_a_computed_reply_may_call_the_server_it_runs_in(server: FakeWriterServer) -> None:
    def forwarding(call: Call) -> Any:
        with client(server) as inner:
            return inner.get("/v1/applications", timeout=5.0).json()

    server.reply(forwarding, path="/v1/models")
    server.reply({"data": ["app"]}, path="/v1/applications")
    with client(server) as outer:
        response = outer.get("/v1/models")
    assert response.status_code == 200, response.text
    assert response.json() == {"data": ["app"]}
    server.verify()


def test_stop_is_clean_while_a_computed_reply_blocks_and_verify_names_it() -> None:
    started, release = threading.Event(), threading.Event()

    def stuck(call: Call) -> dict[str, str]:
        started.set()
        release.wait(30)
        return {}

    fake = FakeWriterServer().start()
    try:
        fake.reply(stuck, path="/v1/models")
        with client(fake) as http:
            thread, out = in_thread(lambda: http.get("/v1/models"))
            assert started.wait(WAIT)
            fake.stop()  # raised "Please report this as a bug" after 10 s
            thread.join(WAIT)
        assert isinstance(out[0], httpx.TransportError)
        with pytest.raises(ReplyError, match=r"(?s)stuck.*still running when the server stopped"):
            fake.verify()
    finally:
        release.set()
        fake.stop()


# --- item 7: predicates never run under the queue's lock -------------------------------------------


def test_a_match_predicate_that_reads_calls_does_not_deadlock(double: WriterMock | FakeWriterServer) -> None:
    double.reply({"ok": 1}, path="/v1/models", match=lambda call: len(double.calls) >= 0)
    double.reply(
        StreamScript().content("hi"), messages=lambda messages: bool(double.calls) or messages is not None
    )

    def ask() -> tuple[int, int]:
        with client(double) as http:
            return http.get("/v1/models").status_code, http.post("/v1/chat", json=CHAT_BODY).status_code

    thread, out = in_thread(ask)
    thread.join(WAIT)
    assert not thread.is_alive(), "the predicate deadlocked the double"
    assert out == [(200, 200)]
    double.verify()


# --- item 8: a raising predicate is a non-retryable 500 and a failure in verify() --------------------


def test_a_raising_match_predicate_answers_500_at_once_and_fails_verify(
    double: WriterMock | FakeWriterServer,
) -> None:
    def broken(call: Call) -> bool:
        raise KeyError("no such field")

    double.reply({"ok": 1}, path="/v1/models", match=broken)
    with client(double) as http:
        response = http.get("/v1/models")
    assert response.status_code == 500
    assert response.headers["x-should-retry"] == "false"
    assert "broken" in response.text
    assert [call.path for call in double.calls] == ["/v1/models"]
    with pytest.raises(ReplyError, match=r"(?s)match=broken.*KeyError"):
        double.verify()


# --- item 11: absolute-form request lines and CONNECT ----------------------------------------------


def test_an_absolute_form_request_line_is_routed_by_its_path(server: FakeWriterServer) -> None:
    server.reply({"data": []}, path="/v1/models")
    with httpx.Client(proxy=server.base_url, timeout=WAIT) as http:
        response = http.get("http://api.writer.com/v1/models?limit=2")
    assert response.status_code == 200, response.text
    assert response.json() == {"data": []}
    (call,) = server.calls
    assert call.path == "/v1/models"
    assert call.url == server.base_url + "/v1/models?limit=2"
    server.verify()


def test_connect_is_refused_cleanly_and_the_server_keeps_serving(server: FakeWriterServer) -> None:
    server.reply({"any": 1}, path="*")  # a 2xx to CONNECT would switch the connection to a tunnel
    answer = raw_exchange(
        server,
        b"CONNECT api.writer.com:443 HTTP/1.1\r\nHost: api.writer.com:443\r\nConnection: close\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 405 "), answer
    assert b"does not tunnel" in answer
    with client(server) as http:
        assert http.get("/v1/models").json() == {"any": 1}
    with pytest.raises(UnexpectedRequestError, match=r"CONNECT .*got 405: .*CONNECT api.writer.com:443"):
        server.verify()
    server.reset()


# --- item 12: HTTP/1.0 clients get a body without chunk frames --------------------------------------


def test_an_http_1_0_client_gets_a_close_delimited_stream(server: FakeWriterServer) -> None:
    script = StreamScript().content("Hello").content(" there").finish("stop")
    server.reply(script)
    body = httpx.Request("POST", "http://x/v1/chat", json=CHAT_BODY).read()
    answer = raw_exchange(
        server,
        b"POST /v1/chat HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%b"
        % (len(body), body),
    )
    head, _, received = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"transfer-encoding" not in head.lower()
    expected = script.plan(Call.create(method="POST", url="http://x/v1/chat", content=body)).body()
    assert received == expected
    server.verify()


def test_an_http_1_0_client_gets_a_sized_body_as_declared_and_json_close_delimited(
    server: FakeWriterServer,
) -> None:
    body = b'{"data": [1, 2]}'
    sized = ResponsePlan(
        headers=(("content-length", str(len(body))),), steps=(Write(body[:5]), Write(body[5:]))
    )
    server.reply(sized, path="/v1/models")
    server.reply({"data": [3]}, path="/v1/models")
    for expected_head, expected_body in ((b"content-length: 16", body), (b"content-type", b'{"data":[3]}')):
        answer = raw_exchange(server, b"GET /v1/models HTTP/1.0\r\n\r\n")
        head, _, received = answer.partition(b"\r\n\r\n")
        assert expected_head in head.lower()
        assert b"transfer-encoding" not in head.lower()
        assert received == expected_body
    server.verify()


# --- item 13: 204, 304 and 1xx ---------------------------------------------------------------------


@pytest.mark.parametrize("status", [204, 304])
def test_a_bodyless_status_sends_no_body_and_the_connection_is_reused(
    double: WriterMock | FakeWriterServer, status: int
) -> None:
    double.reply(JsonReply.to("/v1/models", {}, status=status))
    double.reply(ResponsePlan(status=status, steps=(Write(b"not a body"),)), path="/v1/applications")
    double.reply({"after": True}, path="/v1/models")
    with client(double) as http:
        first = http.get("/v1/models")
        second = http.get("/v1/applications")
        third = http.get("/v1/models")
    assert (first.status_code, first.content) == (status, b"")
    assert (second.status_code, second.content) == (status, b"")
    assert "content-length" not in first.headers or first.headers["content-length"] == "0"
    assert third.json() == {"after": True}
    double.verify()


def test_one_connection_serves_a_204_then_a_stream(server: FakeWriterServer) -> None:
    server.reply(JsonReply.to("/v1/models", {}, status=204))
    server.reply(StreamScript().content("still fine"))
    with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
        sock.sendall(b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n")
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 204 "), first
        assert first.endswith(b"\r\n\r\n"), first
        body = httpx.Request("POST", "http://x/v1/chat", json=CHAT_BODY).read()
        sock.sendall(b"POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%b" % (len(body), body))
        second = b""
        while not second.endswith(b"0\r\n\r\n"):
            piece = sock.recv(65536)
            assert piece, second
            second += piece
    assert second.startswith(b"HTTP/1.1 200 ")
    assert b"still fine" in second
    server.verify()


def test_a_1xx_status_is_refused_when_queued() -> None:
    with pytest.raises(ScriptError, match=r"103 .*informational"):
        WriterMock().reply(ResponsePlan(status=103), path="/v1/models")
    with pytest.raises(ScriptError, match=r"101 .*informational"):
        FakeWriterServer().reply(httpx.Response(101), path="/v1/models")
    with pytest.raises(ScriptError, match=r"103 .*1xx is informational"):
        JsonReply.to("/v1/models", {}, status=103)


def test_a_computed_1xx_answers_500_in_both_doubles(double: WriterMock | FakeWriterServer) -> None:
    double.reply(lambda call: ResponsePlan(status=103), path="/v1/models")
    double.reply({"after": True}, path="/v1/models")
    with client(double) as http:
        first = http.get("/v1/models")
        second = http.get("/v1/models")
    assert first.status_code == 500
    assert "103" in first.text
    assert second.json() == {"after": True}
    with pytest.raises(ReplyError, match=r"103"):
        double.verify()


# --- item 14: percent-encoded paths route alike ----------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "queued"),
    [
        ("/v1/files/my%20file", "/v1/files/my file"),
        ("/v1/files/my file", "/v1/files/my file"),
        ("/v1/%6dodels", "/v1/models"),
    ],
)
def test_percent_encoded_paths_route_by_the_decoded_path(
    double: WriterMock | FakeWriterServer, sent: str, queued: str
) -> None:
    double.reply({"found": queued}, path=queued, method="GET")
    with client(double) as http:
        response = http.get(sent)
    assert response.status_code == 200, response.text
    assert response.json() == {"found": queued}
    double.verify()


def test_a_percent_encoded_chat_path_gets_the_script(double: WriterMock | FakeWriterServer) -> None:
    double.reply(StreamScript().content("hi"))
    with client(double) as http:
        response = http.post("/v1/%63hat", json=CHAT_BODY)
    assert response.status_code == 200, response.text
    assert b'"hi"' in response.content
    double.verify()


# --- item 15: a BaseException inside a computed reply on the server --------------------------------


def test_pytest_fail_inside_a_computed_reply_is_a_500_and_fails_verify(
    server: FakeWriterServer, caplog: pytest.LogCaptureFixture
) -> None:
    def failing(call: Call) -> Any:
        pytest.fail("the request had no user message")

    server.reply(failing, path="/v1/models")
    server.reply({"after": True}, path="/v1/models")
    with caplog.at_level(logging.ERROR, logger="asyncio"), client(server) as http:
        first = http.get("/v1/models")
        second = http.get("/v1/models")
    assert first.status_code == 500
    assert first.headers["x-should-retry"] == "false"
    assert second.json() == {"after": True}
    with pytest.raises(ReplyError, match=r"(?s)failing.*Failed: the request had no user message"):
        server.verify()
    server.reset()
    assert "never retrieved" not in caplog.text


# --- item 17: header bytes of reply(httpx.Response) go out byte-exact ------------------------------


@pytest.mark.parametrize(
    "value", [b"caf\xc3\xa9", b"caf\xe9", b"\xe2\x98\x83 snow"], ids=["utf-8", "latin-1", "snowman"]
)
def test_header_bytes_of_an_httpx_response_are_sent_exactly(
    double: WriterMock | FakeWriterServer, value: bytes
) -> None:
    sent = [(b"x-name", value), (b"content-type", b"application/json")]
    double.reply(httpx.Response(200, headers=sent, content=b"{}"), path="/v1/models")
    double.reply(lambda call: httpx.Response(200, headers=sent, content=b"{}"), path="/v1/models")
    with client(double) as http:
        for _ in range(2):
            assert (b"x-name", value) in http.get("/v1/models").headers.raw
    double.verify()


def test_the_record_proxy_records_an_absolute_form_request(tmp_path: Path) -> None:
    path = tmp_path / "absolute.yaml"
    script = StreamScript().content("recorded").finish("stop")
    with FakeWriterServer() as upstream:
        upstream.reply(script)
        proxy = RecordingProxy(
            Cassette(path, record_mode="once", upstream=upstream.base_url), upstream.base_url
        )
        with (
            FakeWriterServer(source=proxy) as recorder,
            httpx.Client(proxy=recorder.base_url, timeout=WAIT) as http,
        ):
            response = http.post("http://api.writer.com/v1/chat", json=CHAT_BODY)
        assert response.status_code == 200, response.text
        assert b'"recorded"' in response.content
        assert [call.path for call in upstream.calls] == ["/v1/chat"]
    (interaction,) = Cassette(path).load()
    assert interaction.request.path == "/v1/chat"


def test_a_raising_messages_predicate_answers_500_and_fails_verify(
    double: WriterMock | FakeWriterServer,
) -> None:
    def no_messages(messages: Any) -> bool:
        raise ValueError("cannot read the messages")

    double.reply(StreamScript().content("hi"), messages=no_messages)
    with client(double) as http:
        response = http.post("/v1/chat", json=CHAT_BODY)
    assert response.status_code == 500
    assert response.headers["x-should-retry"] == "false"
    assert len(double.calls) == 1
    with pytest.raises(
        ReplyError, match=r"(?s)messages match a predicate.*ValueError: cannot read the messages"
    ):
        double.verify()


def test_pytest_fail_in_a_predicate_on_the_server_is_a_500_not_a_disconnect(
    server: FakeWriterServer, caplog: pytest.LogCaptureFixture
) -> None:
    def failing(call: Call) -> bool:
        pytest.fail("predicate gave up")

    server.reply({"ok": 1}, path="/v1/models", match=failing)
    with caplog.at_level(logging.ERROR, logger="asyncio"), client(server) as http:
        response = http.get("/v1/models")
    assert response.status_code == 500
    assert [call.path for call in server.calls] == ["/v1/models"]  # it was missing from calls
    # The predicate's failure, not the server's (this was a RuntimeError: "FakeWriterServer failed")
    with pytest.raises(ReplyError, match=r"(?s)match=failing.*GET /v1/models.*Failed: predicate gave up"):
        server.verify()
    server.reset()
    assert "never retrieved" not in caplog.text


def test_a_predicate_may_block_or_call_the_server_it_runs_in(server: FakeWriterServer) -> None:
    """Predicates ran on the server's event loop: one that called the server hung until its timeout."""

    def asks_the_server(call: Call) -> bool:
        with client(server) as inner:
            return inner.get("/v1/applications", timeout=5.0).json() == {"data": ["app"]}

    server.reply({"ok": 1}, path="/v1/models", match=asks_the_server)
    server.reply({"data": ["app"]}, path="/v1/applications")
    with client(server) as outer:
        response = outer.get("/v1/models")
    assert response.status_code == 200, response.text
    assert response.json() == {"ok": 1}
    server.verify()


@pytest.mark.parametrize(("method", "status"), [("HEAD", 200), ("GET", 204), ("GET", 304)])
def test_the_record_proxy_relays_bodyless_answers_on_a_reusable_connection(
    tmp_path: Path, method: str, status: int
) -> None:
    with FakeWriterServer() as upstream:
        upstream.reply(JsonReply.to("/v1/models", {"data": []}, method=method, status=status))
        upstream.reply({"data": ["after"]}, path="/v1/models")
        upstream_url = upstream.base_url
        proxy = RecordingProxy(
            Cassette(tmp_path / "c.yaml", record_mode="all", upstream=upstream_url), upstream_url
        )
        with FakeWriterServer(source=proxy) as recorder, client(recorder) as http:
            first = http.request(method, "/v1/models")
            second = http.get("/v1/models")
        assert (first.status_code, first.content) == (status, b"")
        assert second.json() == {"data": ["after"]}


def test_the_sdk_is_not_retried_into_a_connection_error_by_a_raising_predicate(
    double: WriterMock | FakeWriterServer,
) -> None:
    def broken(call: Call) -> bool:
        raise KeyError("model")

    double.reply(StreamScript().content("hi"), match=broken)
    with (
        writerai.Writer(api_key="test-key-0123456789", base_url=double.base_url, max_retries=3) as sdk,
        pytest.raises(writerai.InternalServerError, match="match=broken"),
    ):
        sdk.chat.chat(model="palmyra-x5", messages=[{"role": "user", "content": "Hi"}])
    assert len(double.calls) == 1  # answered at once, never retried
    with pytest.raises(ReplyError, match="KeyError"):
        double.verify()


def test_the_500_for_a_raising_predicate_is_sentences_naming_the_fix(
    double: WriterMock | FakeWriterServer,
) -> None:
    """It ran on: "...KeyError: 'model' See verify() for the traceback." (no full stop, no fix)."""

    def broken(call: Call) -> bool:
        raise KeyError("model")

    double.reply({"ok": 1}, path="/v1/models", match=broken)
    with client(double) as http:
        description = http.get("/v1/models").json()["errors"][0]["description"]
    double.reset()
    assert description.endswith(
        "KeyError: 'model'. See verify() for the traceback, and fix the reply or its match=/messages= predicate."
    )

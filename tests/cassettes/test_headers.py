"""Response headers the upstream sends in any bytes: recorded as given, replayed as given by both doubles."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import writerai

from writer_stream_testkit.cassettes.cassette import Cassette
from writer_stream_testkit.cassettes.load import load_cassette
from writer_stream_testkit.cassettes.proxy import RecordingProxy
from writer_stream_testkit.doubles.server import FakeWriterServer

SSE = b'data: {"id":"c","object":"chat.completion.chunk","created":0,"model":"m","choices":[]}\n\ndata: [DONE]\n\n'
RAW_VALUES = {
    b"x-note": "café ☃".encode(),  # UTF-8
    b"x-latin": b"na\xefve",  # not UTF-8 at all
    b"x-looks-escaped": b"=?unknown-8bit?b?Zm9v?=",  # what the cassette's own escape looks like
}
BODY = {"model": "palmyra-x5", "messages": [{"role": "user", "content": "hi"}], "stream": True}
KEY = "sk-header-bytes-0123456789"


@contextmanager
def raw_upstream() -> Iterator[str]:
    """An upstream (the standard library's server) that sends header values as raw bytes."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("content-length", str(len(SSE)))
            for name, value in RAW_VALUES.items():
                self.send_header(name.decode(), value.decode("latin-1"))  # written as latin-1: the raw bytes
            self.end_headers()
            self.wfile.write(SSE)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _raw_headers(response: httpx.Response) -> dict[bytes, bytes]:
    return {k.lower(): v for k, v in response.headers.raw if k.lower() in RAW_VALUES}


def test_a_non_ascii_response_header_records_in_process_and_replays_as_sent(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    with raw_upstream() as url, Cassette(path, record_mode="once", upstream=url):
        client = writerai.Writer(api_key=KEY, max_retries=0)
        raw = client.chat.with_raw_response.chat(**BODY)  # type: ignore[call-overload]
        assert _raw_headers(raw.http_response) == RAW_VALUES
        for _ in raw.parse():
            pass
    content = load_cassette(path)  # the loader accepts what the recorder wrote
    (interaction,) = content.interactions
    assert all(value.isascii() for _, value in interaction.response.headers)
    # In-process replay and the server send the very bytes the upstream sent.
    with Cassette(path), httpx.Client() as http:
        replayed = http.post("https://api.writer.com/v1/chat", json=BODY)
    assert _raw_headers(replayed) == RAW_VALUES
    with FakeWriterServer(cassette=Cassette(path)) as server, httpx.Client() as http:
        served = http.post(server.base_url + "/v1/chat", json=BODY)
    assert _raw_headers(served) == RAW_VALUES
    assert served.content == replayed.content == SSE


def test_the_record_proxy_passes_non_ascii_response_headers_on_and_records_them(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    with raw_upstream() as url:
        proxy = RecordingProxy(Cassette(path, record_mode="once", upstream=url), url)
        with FakeWriterServer(source=proxy) as server, httpx.Client() as http:
            response = http.post(
                server.base_url + "/v1/chat", json=BODY, headers={"authorization": f"Bearer {KEY}"}
            )
            assert response.status_code == 200
            assert _raw_headers(response) == RAW_VALUES
            assert response.content == SSE
    with FakeWriterServer(cassette=Cassette(path)) as server, httpx.Client() as http:
        assert _raw_headers(http.post(server.base_url + "/v1/chat", json=BODY)) == RAW_VALUES


@pytest.mark.parametrize(
    "value",
    ["plain", "", "a  b\tc", "café", "na\u00efve", "=?unknown-8bit?b?Zm9v?=", "x" * 300, " lead", "trail "],
)
def test_a_stored_header_value_is_printable_ascii_and_decodes_back(value: str) -> None:
    from writer_stream_testkit.cassettes.headers import header_from_cassette, header_to_cassette

    raw = value.encode("utf-8")
    stored = header_to_cassette(raw)
    assert stored.isascii()
    assert stored.replace("\t", " ").isprintable()
    assert header_from_cassette(stored) == raw

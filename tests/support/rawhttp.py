"""Reading a double's answer as raw bytes: every piece httpx hands over and when it came, or a socket read to the close."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from typing import Any

import httpx

from writer_stream_testkit.doubles.server import FakeWriterServer
from writer_stream_testkit.scripts.chat import StreamScript

MODEL = "palmyra-x5"
MESSAGES = [{"role": "user", "content": "Say hello."}]
TEXT = "Héllo wörld ☃"
SCRIPT = StreamScript().content("Héllo").content(" wörld").content(" ☃").finish("stop")
READ_TIMEOUT = 1.0
"""Short enough that a stall fails fast, long enough for a loaded CI machine."""


def chat_body(*, stream: bool = True, **extra: Any) -> dict[str, Any]:
    """A chat request body for MODEL and MESSAGES; ``extra`` adds or replaces fields."""
    return {"model": MODEL, "messages": MESSAGES, "stream": stream, **extra}


@dataclass
class RawResult:
    status: int | None
    pieces: list[bytes]
    times: list[float]
    error: BaseException | None
    head_time: float

    @property
    def body(self) -> bytes:
        return b"".join(self.pieces)


def raw_stream(
    server: FakeWriterServer, body: dict[str, Any], *, read_timeout: float = READ_TIMEOUT
) -> RawResult:
    """One streamed request through plain httpx, recording every raw piece and when it came."""
    pieces: list[bytes] = []
    times: list[float] = []
    status: int | None = None
    started = time.monotonic()
    head_time = 0.0
    error: BaseException | None = None
    timeout = httpx.Timeout(5.0, read=read_timeout)
    with httpx.Client(base_url=server.base_url, timeout=timeout) as client:
        try:
            with client.stream("POST", "/v1/chat", json=body) as response:
                status = response.status_code
                head_time = time.monotonic() - started
                for piece in response.iter_raw():
                    pieces.append(piece)
                    times.append(time.monotonic() - started)
        except httpx.TransportError as exc:
            error = exc
    return RawResult(status, pieces, times, error, head_time)


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the peer sends until it closes the connection."""
    out = bytearray()
    while data := sock.recv(65536):
        out += data
    return bytes(out)


def post_chat(base_url: str) -> httpx.Response:
    """One non-streamed read of a chat answer: ``chat_body()`` posted to ``base_url``."""
    with httpx.Client(base_url=base_url, timeout=10.0) as client:
        return client.post("/v1/chat", json=chat_body())

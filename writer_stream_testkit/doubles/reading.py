"""Reading one request off a server connection: the plain reader first, h11 for anything else.

``FakeWriterServer`` owns the connection and decides what answers; this reads what was
asked. A plain HTTP/1.1 keep-alive request (what the SDKs send) is read by
``simple_request.read_simple_head``; any other, and the rest of that connection, by h11,
which also words the answer to a request it cannot parse. A body over ``max_body_size`` is
refused with a 413 without being held.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Callable
from typing import Final
from urllib.parse import urlsplit

import h11

from ..scripts.plan import ResponsePlan, error_plan
from ..wire.call import Call
from .respond import send, write_plan
from .simple_request import Refusal, SimpleHead, read_simple_head

__all__ = ["LINGER_SECONDS", "READ_SIZE", "Handover", "RequestReader", "declared_length"]

READ_SIZE: Final = 65536
"""Bytes asked of the socket per read."""
LINGER_SECONDS: Final = 5.0
"""How long a refused upload is read and dropped, so its client gets to read the 413."""


@dataclasses.dataclass(frozen=True)
class Handover:
    """Bytes read from a connection that h11 reads from now on; ``ended``: the client closed after them."""

    data: bytes
    ended: bool


@dataclasses.dataclass(frozen=True)
class RequestReader:
    """How one server reads its requests: where it lives, its body limit, how it refuses."""

    base_url: str
    max_body_size: int | None
    live: bool
    """A live source (the record proxy) relays through h11's connection: h11 reads every request."""
    reject: Callable[[Call, int, str], ResponsePlan]
    """Records a request refused before any reply, and gives the plan that says why."""

    async def read_simple(
        self, reader: asyncio.StreamReader, data: bytes
    ) -> tuple[Call, bytes] | Handover | None:
        """Read one plain request (and what came after it), or the bytes to hand to h11; ``None`` at a clean EOF.

        A live source (the record proxy) relays through h11's connection, so its requests
        always go to h11; so does a body over ``max_body_size``, which h11's path refuses.
        """
        if self.live:
            return Handover(data, ended=False)
        while True:
            head = read_simple_head(data) if data else Refusal.NEED_DATA
            if head is Refusal.NEED_DATA:
                more = await reader.read(READ_SIZE)
                if not more:
                    return Handover(data, ended=True) if data else None
                data += more
                continue
            if not isinstance(head, SimpleHead) or (
                self.max_body_size is not None and head.body_length > self.max_body_size
            ):
                return Handover(data, ended=False)
            end = head.size + head.body_length
            if len(data) < end:
                try:
                    data += await reader.readexactly(end - len(data))
                except asyncio.IncompleteReadError as exc:  # h11 says what is wrong with a cut request
                    return Handover(data + exc.partial, ended=True)
            call = Call.create(
                method=head.method.decode("ascii"),
                url=self.base_url + head.target.decode("ascii"),
                headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in head.headers],
                content=data[head.size : end],
            )
            return call, data[end:]

    async def read_request(
        self, conn: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> Call | None:
        """Read one whole request (Content-Length or chunked body); ``None`` at a clean EOF."""
        request: h11.Request | None = None
        body = bytearray()
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as exc:
                await self.reject_malformed(conn, writer, exc)
                return None
            if event is h11.NEED_DATA:
                if conn.they_are_waiting_for_100_continue:
                    await send(writer, conn.send(h11.InformationalResponse(status_code=100, headers=[])))
                conn.receive_data(await reader.read(READ_SIZE))
            elif isinstance(event, h11.Request):
                request = event
                declared = declared_length(event)
                if self.max_body_size is not None and declared is not None and declared > self.max_body_size:
                    await self.refuse_large_body(conn, reader, writer, event, f"declares {declared:,} bytes")
                    return None
            elif isinstance(event, h11.Data):
                body += event.data
                if self.max_body_size is not None and len(body) > self.max_body_size:
                    assert request is not None  # h11 sends Request before Data
                    await self.refuse_large_body(conn, reader, writer, request, "runs past that")
                    return None
            elif isinstance(event, h11.EndOfMessage):
                assert request is not None  # h11 sends Request before EndOfMessage
                return self.call(request, bytes(body))
            else:  # ConnectionClosed or PAUSED: the client is done with this connection
                return None

    def call(self, request: h11.Request, content: bytes) -> Call:
        return Call.create(
            method=request.method.decode("ascii"),
            url=self.url(request),
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw_items()],
            content=content,
        )

    def url(self, request: h11.Request) -> str:
        """The request's URL on this server, whatever form its request line took (RFC 9112 section 3.2).

        An absolute-form target (``POST http://host/v1/chat``, as a client sends through
        a proxy) is routed by its path and query, as the origin form is; a CONNECT's
        authority form (``host:443``) keeps the authority as its path, to be named
        when it is refused.
        """
        target = request.target.decode("ascii", "replace")
        if target.startswith("/"):
            return self.base_url + target
        if request.method == b"CONNECT":
            return f"{self.base_url}/{target}"
        parts = urlsplit(target)
        if parts.scheme.lower() in ("http", "https") and parts.netloc:
            return self.base_url + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return f"{self.base_url}/{target}"  # "*" (OPTIONS *), or anything h11 let through

    async def refuse_large_body(
        self,
        conn: h11.Connection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        request: h11.Request,
        how: str,
    ) -> None:
        """Answer 413 without holding the body, then read and drop the rest so the client sees the 413.

        A client sends its whole body before it reads the response; closing on it
        at once would turn the 413 into a connection reset. The request is recorded
        (with an empty body) as refused, so ``verify()`` reports it.
        """
        call = self.call(request, b"")
        plan = self.reject(
            call,
            413,
            f"The body of {call.method} {call.path} {how}, more than FakeWriterServer's max_body_size "
            f"of {self.max_body_size:,} bytes. Send a smaller body, or raise the limit with "
            "FakeWriterServer(max_body_size=...) or `writer-stream-testkit serve --max-body-size BYTES`.",
        )
        await write_plan(conn, writer, plan, close=True)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LINGER_SECONDS
        with contextlib.suppress(asyncio.TimeoutError, ConnectionError):
            while (left := deadline - loop.time()) > 0:
                dropped: bytes = await asyncio.wait_for(reader.read(READ_SIZE), left)
                if not dropped:
                    break

    async def reject_malformed(
        self, conn: h11.Connection, writer: asyncio.StreamWriter, exc: h11.RemoteProtocolError
    ) -> None:
        if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        plan = error_plan(
            exc.error_status_hint,
            f"FakeWriterServer could not parse the request as HTTP/1.1: {exc}.",
        )
        with contextlib.suppress(h11.LocalProtocolError):
            await write_plan(conn, writer, plan)


def declared_length(request: h11.Request) -> int | None:
    """The request's ``Content-Length`` (h11 has checked it is one whole number), if it has one."""
    for name, value in request.headers:
        if name == b"content-length":
            return int(value)
    return None

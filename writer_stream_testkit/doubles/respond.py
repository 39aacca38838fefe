"""Writing a response onto one HTTP/1.1 connection: a plan's steps at their pace, or a live stream as it comes.

The server's other job (accepting, reading requests, choosing each answer) lives in
:mod:`.server`; this is the byte-level half that faults need: each plan ``Write`` is one
HTTP chunk, writes with nothing between them leave in one send, a ``Disconnect`` closes
after whatever came before it, and a refusal is a TCP reset.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Final

import h11

from ..scripts.plan import Disconnect, Pause, PlanStep, ResponsePlan, Schedule, Write, header_bytes
from .framing import BODYLESS_STATUSES, Frame, frame
from .sources import LiveResponse

__all__ = [
    "BATCH_BYTES",
    "CONNECTION_HEADERS",
    "HEAD_CACHE_SIZE",
    "Head",
    "response_head",
    "reason_phrase",
    "relay_live",
    "reset_connection",
    "send",
    "simple_wire",
    "write_plan",
]

BATCH_BYTES: Final = 16384
"""Writes with nothing between them leave together, up to about this many bytes per send."""
CONNECTION_HEADERS: Final = frozenset({"connection", "keep-alive"})
"""The connection's own headers: h11 manages them, never a plan."""
HEAD_CACHE_SIZE: Final = 256
"""Response heads kept for reuse (a served script answers every request with the same one)."""
LAST_CHUNK: Final = b"0\r\n\r\n"


async def write_plan(
    conn: h11.Connection | None,
    writer: asyncio.StreamWriter,
    plan: ResponsePlan,
    *,
    method: str = "GET",
    arrived: float | None = None,
    close: bool = False,
) -> bool:
    """Execute ``plan``; return whether the response ended normally (keep-alive is possible).

    How the body is framed (none for ``HEAD``, 1xx, 204 and 304; ``Content-Length``;
    chunked; close-delimited for an HTTP/1.0 client) is :func:`.framing.frame`'s
    decision, the same the in-process executor takes. ``close`` tells the client
    this connection ends after the response. The plan's waits are deadlines from
    ``arrived`` (the loop time the request was read; now if not given), not sleeps
    between writes, so a late wake-up, a slow write or the time spent choosing the
    reply is made up by the next wait and the stream keeps its pace.

    ``conn`` is ``None`` when the request was a plain HTTP/1.1 keep-alive one read
    without h11 (:mod:`.simple_request`): the bytes are then the ones h11 would write
    for it (:func:`response_head`), with no state machine to keep.
    """
    loop = asyncio.get_running_loop()
    schedule = Schedule(loop.time() if arrived is None else arrived)
    if plan.head_delay > 0:
        await until(schedule, plan.head_delay, loop)
    if plan.refuse:
        reset_connection(writer)
        return False
    http10 = conn is not None and conn.their_http_version == b"1.0"
    head = response_head(plan.status, plan.headers, method, http10, close, simple=conn is None)
    framing = head.framing

    def end() -> bytes:
        return head.end if conn is None else conn.send(h11.EndOfMessage()) or b""

    first = head.wire if conn is None else conn.send(head.response) or b""
    if framing.kind == "chunked":
        # The head goes through h11 (or is what h11 would write), the body is framed here (see write_chunked).
        return await write_chunked(writer, first, plan.steps, end, schedule)
    await send(writer, first)
    if not framing.has_body:
        await send(writer, end())
        return plan.completes  # a plan that cuts its (unsent) body still closes the connection
    length = framing.length  # None: close-delimited, h11 writes the data as it is
    sent = 0
    for step in plan.steps:
        if isinstance(step, Write):
            data = step.data[: max(length - sent, 0)] if length is not None else step.data
            if not data:
                continue
            sent += len(data)
            await send(writer, data if conn is None else conn.send(h11.Data(data=data)))
            # drain() returns at once while the kernel takes every byte, so yield here or
            # one stream would be written whole before any concurrent stream moves.
            await asyncio.sleep(0)
        elif isinstance(step, Pause):
            await until(schedule, step.seconds, loop)
        elif isinstance(step, Disconnect):
            return False
    if length is not None and sent < length:
        return False  # a body shorter than its Content-Length can only end by closing
    await send(writer, end())
    return True


@dataclass(frozen=True)
class Head:
    """A response head, built once: its framing, h11's event, and (``simple``) the bytes h11 writes for it.

    ``wire`` and ``end`` are what h11 sends for the head and the body's end after a plain
    HTTP/1.1 keep-alive request with the same method (h11 moves and adds framing and
    connection headers, so they are taken from h11 itself, not rebuilt here).
    """

    framing: Frame
    response: h11.Response
    wire: bytes = b""
    end: bytes = b""


def response_head(
    status: int,
    headers: tuple[tuple[str, str], ...],
    method: str,
    http10: bool,
    close: bool,
    *,
    simple: bool = False,
) -> Head:
    """The head for a plan's status and headers, kept for reuse (building it costs tens of µs).

    ``simple``: also the bytes, for a request read without h11 (:mod:`.simple_request`).
    """
    try:
        return cached_head(status, headers, method, http10, close, simple)
    except TypeError:  # headers that cannot be a cache key (a list): built for this response alone
        return build_head(status, headers, method, http10, close, simple)


def build_head(
    status: int, headers: tuple[tuple[str, str], ...], method: str, http10: bool, close: bool, simple: bool
) -> Head:
    framing = frame(status, headers, method=method, http10=http10)
    kept = [(name, value) for name, value in framing.headers if name.lower() not in CONNECTION_HEADERS]
    if close:
        kept.append(("connection", "close"))
    response = h11.Response(
        status_code=status,
        headers=[(header_bytes(name), header_bytes(value)) for name, value in kept],
        reason=reason_phrase(status),
    )
    if not simple:
        return Head(framing, response)
    return Head(framing, response, simple_wire(response), LAST_CHUNK if framing.kind == "chunked" else b"")


def simple_wire(response: h11.Response) -> bytes:
    """The bytes h11 writes for ``response`` to a plain HTTP/1.1 keep-alive request (RFC 9112 section 6.3).

    h11 frames a response with neither ``Transfer-Encoding`` nor ``Content-Length`` (a
    ``HEAD`` answer without a length) as chunked, and moves a ``Transfer-Encoding`` to
    the end as ``Transfer-Encoding: chunked``, dropping any ``Content-Length``; a 1xx,
    204 or 304 keeps its headers; ``Host`` goes first. The differential test in
    ``tests/doubles/test_simple_request.py`` holds this to h11's own bytes.
    """
    items = [(name, name.lower(), value) for name, value in response.headers.raw_items()]
    status = response.status_code
    names = {name for _, name, _ in items}
    if (
        status >= 200
        and status not in BODYLESS_STATUSES
        and (b"transfer-encoding" in names or b"content-length" not in names)
    ):
        items = [item for item in items if item[1] not in (b"content-length", b"transfer-encoding")]
        items.append((b"Transfer-Encoding", b"transfer-encoding", b"chunked"))
    lines = [b"HTTP/1.1 %d %b\r\n" % (status, response.reason)]
    lines += [b"%b: %b\r\n" % (name, value) for name, lower, value in items if lower == b"host"]
    lines += [b"%b: %b\r\n" % (name, value) for name, lower, value in items if lower != b"host"]
    lines.append(b"\r\n")
    return b"".join(lines)


cached_head = functools.lru_cache(maxsize=HEAD_CACHE_SIZE)(build_head)


async def relay_live(
    conn: h11.Connection, writer: asyncio.StreamWriter, live: LiveResponse, *, method: str = "GET"
) -> bool:
    """Send a live response, each piece flushed as it arrives; return whether it ended normally.

    Its length is not known ahead, so the upstream's ``Content-Length`` goes and
    :func:`.framing.frame` frames the rest (chunked, close-delimited for HTTP/1.0,
    or no body at all for ``HEAD``, 204 and 304).
    """
    try:
        framing = frame(
            live.status,
            [(k, v) for k, v in live.headers if k.lower() != "content-length"],
            method=method,
            http10=conn.their_http_version == b"1.0",
        )
        headers = [
            (k.encode("ascii"), header_bytes(v))
            for k, v in framing.headers
            if k.lower() not in CONNECTION_HEADERS
        ]
        response = h11.Response(status_code=live.status, headers=headers, reason=reason_phrase(live.status))
        await send(writer, conn.send(response))
        if framing.has_body:
            async for data in live.body:
                if data:
                    await send(writer, conn.send(h11.Data(data=data)))
                    await asyncio.sleep(0)
        await send(writer, conn.send(h11.EndOfMessage()))
        return True
    finally:
        try:
            await live.body.aclose()
        finally:
            if live.close is not None:
                await live.close()


async def send(writer: asyncio.StreamWriter, data: bytes | None) -> None:
    if data:
        writer.write(data)
    await writer.drain()


async def until(schedule: Schedule, seconds: float, loop: asyncio.AbstractEventLoop) -> None:
    """Wait until ``seconds`` after the schedule's last deadline (not after now)."""
    left = schedule.wait(seconds, loop.time())
    if left > 0:
        await asyncio.sleep(left)


async def write_chunked(
    writer: asyncio.StreamWriter,
    head: bytes,
    steps: Iterable[PlanStep],
    end: Callable[[], bytes],
    schedule: Schedule,
) -> bool:
    """Send ``head``, ``steps`` as a chunked body, then ``end()``; return ``False`` at a ``Disconnect``.

    Each ``Write`` is framed as its own HTTP chunk (``size CRLF data CRLF``), so a
    client's HTTP parser hands it over as one piece however TCP groups the bytes.
    Writes that nothing separates (no pause, no cut) are the same instant on the
    wire, so they leave in one ``send`` of up to ``BATCH_BYTES``, their chunk
    frames intact (with lazy steps the head and the first write go at once, so batching
    never delays the first byte for a write still being made); a pause or a cut flushes
    what came before it first. After each
    send the stream waits until the kernel has every byte (``drain`` with a
    high-water mark of 0) and lets the other streams move. Framing here rather than
    through ``h11.Connection.send`` keeps per-event work to one ``%`` format; h11
    still writes the head and the last chunk, and keeps the connection's state.
    """
    pending = [head]
    size = len(head)
    # The head and the first write leave at once: the first byte is what a client waits on,
    # and a lazy plan may take a while to make the next write. Steps already made (a kept
    # script's, a tuple) cost nothing to frame, so the first send carries a whole batch.
    batch = BATCH_BYTES if isinstance(steps, tuple) else 0
    for step in steps:
        if type(step) is Write or isinstance(step, Write):
            data = step.data
            if data:  # an empty chunk would end the body; an empty write puts nothing on the wire
                pending.append(b"%x\r\n%b\r\n" % (len(data), data))
                size += len(data)
                if size >= batch:
                    await flush(writer, pending)
                    pending, size, batch = [], 0, BATCH_BYTES
            continue
        if pending:
            await flush(writer, pending)
            pending, size = [], 0
        if isinstance(step, Pause):
            await until(schedule, step.seconds, asyncio.get_running_loop())
        elif isinstance(step, Disconnect):
            return False
    pending.append(end())
    await flush(writer, pending, last=True)
    return True


async def flush(writer: asyncio.StreamWriter, pieces: list[bytes], *, last: bool = False) -> None:
    writer.write(b"".join(pieces))
    await writer.drain()
    # drain() returns at once while the kernel takes every byte, so yield here or one
    # stream would be written whole before any concurrent stream moves. After the last
    # send the connection waits for its next request, which lets the others move anyway.
    if not last:
        await asyncio.sleep(0)


def reason_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def reset_connection(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST instead of a FIN: the nearest a listening port gets to refusing."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()

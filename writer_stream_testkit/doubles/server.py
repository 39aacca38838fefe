"""``FakeWriterServer``: the Writer chat API on a real loopback socket, for any client in any language.

``WriterMock`` answers inside the process through respx; this server answers over
TCP, so a Node program, a subprocess, or a client we cannot patch sees the same
replies. It executes the same :class:`~writer_stream_testkit.scripts.plan.ResponsePlan`
objects the mock does.

It is built on asyncio and h11 rather than an ASGI server because faults need
byte-level control that ASGI hides: each plan ``Write`` becomes exactly one HTTP
chunk, written and flushed on its own; a ``Disconnect`` closes the socket after
whatever bytes came before it, even half an SSE event; and a refused connection is
a TCP reset. A listening port cannot refuse one particular request, so the server
reads the request and then resets the connection (``SO_LINGER`` 0, then close):
clients see "connection reset" or "server disconnected without sending a response",
which the SDK reports as ``APIConnectionError``, as it does a refused connect.

The event loop runs in a daemon thread. Leaving the ``with`` block stops accepting,
cancels streams still running (a stall, say), closes every socket and joins the
thread before the queue is verified, so no thread or socket outlives the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
import traceback
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import ClassVar, Final, Protocol, runtime_checkable

import h11

from ..scripts.plan import Disconnect, Pause, ResponsePlan, Write, error_plan, header_bytes
from ..wire.call import Call
from .base import QueuedDouble, WriterDouble
from .hosts import CHAT_PATH
from .replies import ReplyQueue

__all__ = ["CHAT_PATH", "FakeWriterServer", "LiveResponse", "LiveSource", "PlanSource", "WriterDouble"]

"""The one endpoint the fake serves; every other method or path gets a 404."""

_READ_SIZE: Final = 65536
_STOP_TIMEOUT: Final = 10.0
_START_TIMEOUT: Final = 10.0
_HOP_BY_HOP: Final = frozenset({"connection", "keep-alive", "content-length", "transfer-encoding"})


@runtime_checkable
class PlanSource(Protocol):
    """Where the server gets the response for each request: a ``ReplyQueue`` by default.

    This is the hook for cassettes: anything with ``take(call)`` can answer requests.
    """

    def take(self, call: Call) -> ResponsePlan:
        """Record ``call`` and return the plan that answers it."""
        ...


@dataclass(frozen=True)
class LiveResponse:
    """A response sent while it is still being produced (a recording proxy's upstream stream).

    A ``ResponsePlan`` is fixed before the first byte; a proxy cannot know its
    body in advance. Each piece ``body`` yields is written and flushed as one
    HTTP chunk the moment it arrives. Raising ``ConnectionError`` cuts the
    connection (the client sees the stream end early, as the upstream's did).
    When the response ends, however it ends (even before the body started),
    the server closes ``body`` and then awaits ``close``.
    """

    status: int
    headers: Sequence[tuple[str, str]]
    """Values are sent as :func:`~writer_stream_testkit.scripts.plan.header_bytes` encodes them."""
    body: AsyncGenerator[bytes, None]
    close: Callable[[], Awaitable[None]] | None = None


@runtime_checkable
class LiveSource(Protocol):
    """A reply source that may answer with a :class:`LiveResponse`; the hook the record proxy uses."""

    async def respond(self, call: Call) -> ResponsePlan | LiveResponse:
        """Record ``call`` and return a plan, or a response that streams as it is produced."""
        ...


class FakeWriterServer(QueuedDouble):
    """An HTTP/1.1 server on 127.0.0.1 that answers ``POST /v1/chat`` from queued replies.

    Use it as a context manager: the port is bound before ``__enter__`` returns, and
    on a clean exit the queue is verified (unexpected requests and unused replies
    fail the test). ``port=0`` picks a free ephemeral port; read ``base_url``.
    ``source=`` (or a ``cassette=`` that has ``take(call)``) answers requests instead
    of the queue; requests and off-endpoint 404s are still recorded and verified here.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        cassette: object | None = None,
        source: PlanSource | LiveSource | None = None,
    ) -> None:
        if cassette is not None and source is not None:
            raise ValueError(
                "FakeWriterServer got both cassette= and source=; pass only one, since each "
                "decides on its own which response answers a request."
            )
        super().__init__()
        self.host = host
        self.port = port
        self.cassette = cassette
        """The cassette this server replays, as given; ``None`` when replies are queued."""
        self._source: PlanSource | LiveSource = (
            source if source is not None else self._queue if cassette is None else _cassette_source(cassette)
        )
        self._lock = threading.Lock()
        self._failures: list[str] = []
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    # --- the WriterDouble face --------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """Where clients send requests, e.g. ``http://127.0.0.1:53211``; set once started."""
        if self._thread is None:
            raise RuntimeError(
                "FakeWriterServer has no address yet because it is not running; enter its "
                "`with` block (or call start()) before reading base_url."
            )
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def replies(self) -> ReplyQueue:
        """The queue behind ``reply()``, ``calls``, ``verify()`` and ``reset()``."""
        return self._queue

    def verify(self) -> None:
        """Fail if any request went unanswered or a queued reply went unused.

        A crash while answering is not the test's fault but the server's, so it
        raises ``RuntimeError`` (with the traceback) before anything else.
        """
        with self._lock:
            failures = list(self._failures)
        if failures:
            raise RuntimeError(
                "FakeWriterServer failed while answering a request, so the client got a 500 or "
                "a dropped connection instead of its reply:\n\n" + "\n\n".join(failures)
            )
        source_problems: list[AssertionError] = []
        verify_source = getattr(self._source, "verify", None)
        if self._source is not self._queue and callable(verify_source):
            try:
                verify_source()
            except AssertionError as problem:
                source_problems.append(problem)
        advice = f"FakeWriterServer serves only POST {CHAT_PATH}"
        if self._thread is not None:
            advice += f"; give the client base_url={self.base_url!r} with no path after it"
        self._queue.verify(served_by="FakeWriterServer", advice=advice + ".", also=source_problems)

    def reset(self) -> None:
        """Forget every queued reply and every recorded request."""
        with self._lock:
            self._failures.clear()
        super().reset()
        if self._source is not self._queue:
            reset = getattr(self._source, "reset", None)
            if callable(reset):
                reset()

    # --- lifecycle (the with block comes from QueuedDouble) -------------------------------------

    _exit_problems: ClassVar[tuple[type[Exception], ...]] = (AssertionError, RuntimeError)

    def start(self) -> FakeWriterServer:
        """Bind the port and serve from a background thread; prefer ``with``, which also verifies."""
        if self._thread is not None:
            raise RuntimeError(
                "This FakeWriterServer was already started; a server starts once, so create a new "
                "FakeWriterServer to serve again."
            )
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.create_server((self.host, self.port), family=family, backlog=1024)
        self.port = sock.getsockname()[1]
        self._thread = threading.Thread(
            target=self._run, args=(sock,), name=f"FakeWriterServer-{self.port}", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT) or self._startup_error is not None:
            self.stop()
            raise RuntimeError(
                f"FakeWriterServer could not start serving on {self.host}:{self.port}."
            ) from self._startup_error
        return self

    def stop(self) -> None:
        """Stop accepting, cancel running streams, close every socket and join the thread."""
        thread, loop, stopping = self._thread, self._loop, self._stopping
        if thread is None or not thread.is_alive():
            return
        if loop is not None and stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop already closed on its own
                loop.call_soon_threadsafe(stopping.set)
        thread.join(_STOP_TIMEOUT)
        if thread.is_alive():
            raise RuntimeError(
                f"FakeWriterServer's thread did not stop within {_STOP_TIMEOUT:g} s; a stream "
                "is blocked in a way cancellation cannot reach. Please report this as a bug."
            )

    def _run(self, sock: socket.socket) -> None:
        try:
            asyncio.run(self._serve_forever(sock))
        except BaseException as exc:
            if self._ready.is_set():  # it was serving: verify() reports it
                self._record_failure(f"The server's event loop crashed:\n{traceback.format_exc()}")
            else:  # start() re-raises it
                self._startup_error = exc
        finally:
            self._ready.set()

    async def _serve_forever(self, sock: socket.socket) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        try:
            server = await asyncio.start_server(self._accept, sock=sock)
        except BaseException:
            sock.close()
            raise
        self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            server.close()
            await self._close_connections()
            await server.wait_closed()

    async def _close_connections(self) -> None:
        # Connections accepted just before close() are still being set up; let them register.
        for _ in range(5):
            await asyncio.sleep(0)
        while self._connections:
            tasks = list(self._connections)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for task in tasks:
                writer = self._connections.pop(task, None)
                if writer is not None:  # cancelled before it ran, so its finally never closed it
                    writer.transport.abort()
            await asyncio.sleep(0)

    # --- one connection -------------------------------------------------------------------------

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # A high-water mark of 0 makes drain() wait until the kernel has every byte,
        # so each plan Write leaves the process as its own flushed write.
        writer.transport.set_write_buffer_limits(high=0)
        task = asyncio.get_running_loop().create_task(self._serve_connection(reader, writer))
        self._connections[task] = writer
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._connections.pop(task, None)

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER)
        graceful = True
        try:
            while True:
                received = await self._read_request(conn, reader, writer)
                if received is None:
                    return
                plan = await self._plan_for(received)
                if isinstance(plan, LiveResponse):
                    if not await self._relay(conn, writer, plan):
                        graceful = False
                        return
                elif not await self._respond(conn, writer, plan, head=received.method == "HEAD"):
                    graceful = not plan.refuse
                    return
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    return
                conn.start_next_cycle()
        except (ConnectionError, asyncio.IncompleteReadError):
            graceful = False  # the client went away; nothing left to tell it
        except asyncio.CancelledError:
            graceful = False
            raise
        except Exception:
            graceful = False
            self._record_failure(f"While serving a connection:\n{traceback.format_exc()}")
        finally:
            if graceful:
                writer.close()
            else:
                writer.transport.abort()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _read_request(
        self, conn: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> Call | None:
        """Read one whole request (Content-Length or chunked body); ``None`` at a clean EOF."""
        request: h11.Request | None = None
        body = bytearray()
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as exc:
                await self._reject_malformed(conn, writer, exc)
                return None
            if event is h11.NEED_DATA:
                if conn.they_are_waiting_for_100_continue:
                    await self._send(
                        writer, conn.send(h11.InformationalResponse(status_code=100, headers=[]))
                    )
                conn.receive_data(await reader.read(_READ_SIZE))
            elif isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                assert request is not None  # h11 sends Request before EndOfMessage
                return Call.create(
                    method=request.method.decode("ascii"),
                    url=self.base_url + request.target.decode("ascii", "replace"),
                    headers=[
                        (k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw_items()
                    ],
                    content=bytes(body),
                )
            else:  # ConnectionClosed or PAUSED: the client is done with this connection
                return None

    async def _reject_malformed(
        self, conn: h11.Connection, writer: asyncio.StreamWriter, exc: h11.RemoteProtocolError
    ) -> None:
        if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        plan = error_plan(
            exc.error_status_hint,
            f"FakeWriterServer could not parse the request as HTTP/1.1: {exc}.",
        )
        with contextlib.suppress(h11.LocalProtocolError):
            await self._respond(conn, writer, plan)

    async def _plan_for(self, call: Call) -> ResponsePlan | LiveResponse:
        """Ask the reply source for the plan; off-endpoint requests get a Writer-shaped 404."""
        if call.method != "POST" or call.path != CHAT_PATH:
            self._queue.record(call, stray=True)
            return error_plan(
                404,
                f"FakeWriterServer only answers POST {CHAT_PATH}, not {call.method} {call.path}.",
            )
        if self._source is not self._queue:
            self._queue.record(call)
        try:
            if isinstance(self._source, LiveSource):
                return await self._source.respond(call)
            return self._source.take(call)
        except Exception:
            self._record_failure(f"While choosing the reply to {call.describe()}:\n{traceback.format_exc()}")
            return error_plan(
                500,
                f"FakeWriterServer failed to build the reply to {call.describe()}; see verify().",
            )

    def _record_failure(self, text: str) -> None:
        with self._lock:
            self._failures.append(text.rstrip())

    async def _respond(
        self, conn: h11.Connection, writer: asyncio.StreamWriter, plan: ResponsePlan, *, head: bool = False
    ) -> bool:
        """Execute ``plan``; return whether the response ended normally (keep-alive is possible).

        A response to ``HEAD`` has no body in HTTP, so its writes are skipped.
        """
        if plan.head_delay > 0:
            await asyncio.sleep(plan.head_delay)
        if plan.refuse:
            _reset(writer)
            return False
        headers, length = _framed_headers(plan)
        response = h11.Response(
            status_code=plan.status,
            headers=[(header_bytes(name), header_bytes(value)) for name, value in headers],
            reason=_reason(plan.status),
        )
        await self._send(writer, conn.send(response))
        sent = 0
        for step in () if head else plan.steps:
            if isinstance(step, Write):
                data = step.data if length is None else step.data[: max(length - sent, 0)]
                sent += len(data)
                await self._send(writer, conn.send(h11.Data(data=data)))
                # drain() returns at once while the kernel takes every byte, so yield here or
                # one stream would be written whole before any concurrent stream moves.
                await asyncio.sleep(0)
            elif isinstance(step, Pause):
                await asyncio.sleep(step.seconds)
            elif isinstance(step, Disconnect):
                return False
        if length is not None and sent < length and not head:
            return False  # a body shorter than its Content-Length can only end by closing
        await self._send(writer, conn.send(h11.EndOfMessage()))
        return True

    async def _relay(self, conn: h11.Connection, writer: asyncio.StreamWriter, live: LiveResponse) -> bool:
        """Send a live response, each piece flushed as it arrives; return whether it ended normally."""
        try:
            headers = [
                (k.encode("ascii"), header_bytes(v)) for k, v in live.headers if k.lower() not in _HOP_BY_HOP
            ]
            headers.append((b"transfer-encoding", b"chunked"))
            response = h11.Response(status_code=live.status, headers=headers, reason=_reason(live.status))
            await self._send(writer, conn.send(response))
            async for data in live.body:
                if data:
                    await self._send(writer, conn.send(h11.Data(data=data)))
                    await asyncio.sleep(0)
            await self._send(writer, conn.send(h11.EndOfMessage()))
            return True
        finally:
            try:
                await live.body.aclose()
            finally:
                if live.close is not None:
                    await live.close()

    @staticmethod
    async def _send(writer: asyncio.StreamWriter, data: bytes | None) -> None:
        if data:
            writer.write(data)
        await writer.drain()


def _cassette_source(cassette: object) -> PlanSource:
    """Turn ``cassette=`` into the server's reply source (the hook cassette replay plugs into)."""
    if isinstance(cassette, PlanSource):
        return cassette
    raise NotImplementedError(
        f"FakeWriterServer cannot replay {type(cassette).__name__} objects yet: a cassette "
        "must provide take(call) -> ResponsePlan. Queue replies with .reply(...) instead."
    )


def _framed_headers(plan: ResponsePlan) -> tuple[list[tuple[str, str]], int | None]:
    """The headers to send and the declared body length, if the plan declares one.

    A plan without ``Content-Length`` is sent chunked, one chunk per write, as
    ``WriterMock`` frames it too; connection-level headers are h11's to manage.
    """
    headers: list[tuple[str, str]] = []
    length: int | None = None
    for name, value in plan.headers:
        key = name.lower()
        if key == "content-length" and value.strip().isdigit() and length is None:
            length = int(value)
            headers.append((name, value.strip()))
        elif key not in _HOP_BY_HOP:
            headers.append((name, value))
    if length is None:
        headers.append(("transfer-encoding", "chunked"))
    return headers, length


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST instead of a FIN: the nearest a listening port gets to refusing."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()

"""``FakeWriterServer``: the Writer API on a real loopback socket, for any client in any language.

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
import functools
import socket
import threading
import traceback
from typing import ClassVar, Final, cast

import h11

from ..scripts.plan import (
    ResponsePlan,
    error_plan,
)
from ..wire.call import Call
from .base import QueuedDouble, WriterDouble
from .control import control_plan, is_control
from .faulting import FaultHook
from .flow import Need, UserCodeCrashed, adrive, fulfil
from .framing import DEFAULT_MAX_BODY_SIZE, informational_problem
from .guard import guard
from .hosts import running_doubles
from .reading import Handover, RequestReader
from .replies import ReplyQueue
from .respond import relay_live, write_plan
from .simple_request import HEAD_LIMIT
from .sources import LiveResponse, LiveSource, PlanSource, cassette_source

__all__ = [
    "DEFAULT_MAX_BODY_SIZE",
    "FakeWriterServer",
    "LiveResponse",
    "LiveSource",
    "PlanSource",
    "WriterDouble",
]


_STOP_TIMEOUT: Final = 10.0
_START_TIMEOUT: Final = 10.0


class FakeWriterServer(QueuedDouble):
    """An HTTP/1.1 server on 127.0.0.1 that answers any Writer API request from queued replies.

    Use it as a context manager: the port is bound before ``__enter__`` returns, and
    on a clean exit the queue is verified (unexpected requests and unused replies
    fail the test). ``port=0`` picks a free ephemeral port; read ``base_url``.
    ``source=`` (or a ``cassette=`` that has ``take(call)``) answers requests instead
    of the queue; its requests are still recorded and verified here.

    Bounds: a request body over ``max_body_size`` bytes (default
    ``DEFAULT_MAX_BODY_SIZE``, 32 MiB) is refused with a 413 as soon as it is known
    to be too large, without being held; ``history=N`` keeps only the last ``N``
    requests in ``calls`` (the default keeps all, as tests read them; ``serve``
    keeps 1,000). Responses are written as their plans render them, never whole.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        cassette: object | None = None,
        source: PlanSource | LiveSource | None = None,
        max_body_size: int | None = DEFAULT_MAX_BODY_SIZE,
        history: int | None = None,
        chaos: FaultHook | None = None,
    ) -> None:
        if max_body_size is not None and (
            isinstance(max_body_size, bool) or not isinstance(max_body_size, int) or max_body_size < 0
        ):
            raise ValueError(
                f"FakeWriterServer got max_body_size={max_body_size!r}; pass a number of bytes (0 or "
                "more), or None to accept request bodies of any size."
            )
        if cassette is not None and source is not None:
            raise ValueError(
                "FakeWriterServer got both cassette= and source=; pass only one, since each "
                "decides on its own which response answers a request."
            )
        super().__init__()
        self._queue = ReplyQueue(history=history)
        self.chaos = chaos
        """Faults at random (``resilience.chaos.Chaos``), asked before the reply source; ``None``: none."""
        self.host = host
        self.port = port
        self.max_body_size = max_body_size
        """The largest request body read, in bytes; a larger one gets a 413 (``None``: no limit)."""
        self.cassette = cassette
        """The cassette this server replays, as given; ``None`` when replies are queued."""
        self._source: PlanSource | LiveSource = (
            source if source is not None else self._queue if cassette is None else cassette_source(cassette)
        )
        # Asked once: an isinstance check against a runtime protocol costs tens of µs per request.
        self._live = isinstance(self._source, LiveSource)
        self._lock = threading.Lock()
        self._failures: list[str] = []
        self._thread: threading.Thread | None = None
        self._released = False  # whether stop() gave back what start() took (port, guard)
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
        self._queue.verify(served_by="FakeWriterServer", also=source_problems)

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
        running_doubles.add(self.port)
        guard.hold()
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
        if self._thread is not None and not self._released:
            running_doubles.discard(self.port)
            guard.release()
            self._released = True
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
        # Plain requests are read by read_simple_head; at the first that is not, h11 takes the connection.
        reading = RequestReader(self.base_url, self.max_body_size, self._live, self._queue.reject)
        conn: h11.Connection | None = None
        pending = b""  # read past the last simple request (a pipelined one)
        graceful = True
        try:
            while True:
                if conn is None:
                    simple = await reading.read_simple(reader, pending)
                    if simple is None:
                        return
                    if isinstance(simple, Handover):
                        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=HEAD_LIMIT)
                        if simple.data:  # h11 reads no bytes as the client's EOF
                            conn.receive_data(simple.data)
                        if simple.ended:
                            conn.receive_data(b"")
                        continue
                    call, pending = simple
                    arrived = asyncio.get_running_loop().time()  # the plan's waits count from here
                    answer = await self._plan_for(call)
                    assert not isinstance(answer, LiveResponse)  # a live source's requests are read by h11
                    if not await write_plan(None, writer, answer, method=call.method, arrived=arrived):
                        graceful = not answer.refuse
                        return
                    continue
                received = await reading.read_request(conn, reader, writer)
                if received is None:
                    return
                arrived = asyncio.get_running_loop().time()  # the plan's waits count from here
                if received.method == "CONNECT":
                    await self._refuse_tunnel(conn, writer, received)
                    return
                plan = await self._plan_for(received)
                if isinstance(plan, LiveResponse):
                    if not await relay_live(conn, writer, plan, method=received.method):
                        graceful = False
                        return
                elif not await write_plan(conn, writer, plan, method=received.method, arrived=arrived):
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
        except BaseException:  # any at all: a task's exception nobody retrieves is only logged
            graceful = False
            self._record_failure(f"While serving a connection:\n{traceback.format_exc()}")
        finally:
            if graceful:
                writer.close()
            else:
                writer.transport.abort()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _plan_for(self, call: Call) -> ResponsePlan | LiveResponse:
        """Ask the reply source for the plan, whatever the method and path.

        The queue, a cassette, a directory of them or the record proxy: each
        gets every request and decides what answers it. The queue answers by the
        one flow both doubles share (:meth:`ReplyQueue.taking`), with computed
        replies run off the event loop (:meth:`_meet`).
        """
        if is_control(call):  # the control API (doubles/control.py): never a call, never a reply
            return control_plan(self, call, queue_answers=self._source is self._queue)
        if self.chaos is not None and not isinstance(self._source, LiveSource):
            source = self._source
            peek = getattr(source, "peek", None)

            def original() -> ResponsePlan | None:
                # a source that can peek keeps the faulted reply for the retry; others give one up
                plan: ResponsePlan | None = peek(call) if peek is not None else source.take(call)
                return plan

            # A peek runs the test's predicates and computed replies (a cassette's record hook):
            # user code, run as the queue's flow runs it, off the event loop.
            faulted = await self._meet(  # the hook's own answer: a plan or None
                call,
                Need(
                    functools.partial(self.chaos.answer, call, original),
                    user_code=True,
                    what=f"the chaos hook peeking at the reply to {call.describe()}",
                ),
            )
            if faulted is not None:
                return cast(ResponsePlan, faulted)
        if self._source is not self._queue:
            self._queue.record(call)
        try:
            if self._source is self._queue:
                # A predicate's BaseException (pytest.fail) lands below; a computed reply's is caught on its thread.
                return await adrive(self._queue.taking(call), functools.partial(self._meet, call))
            if self._live:
                answer = await cast(LiveSource, self._source).respond(call)
            else:
                answer = cast(PlanSource, self._source).take(call)
            problem = informational_problem(answer.status)
            if problem is not None:
                raise ValueError(problem)
            # The queue settles its own outcomes; any other source's refusal is an error_plan.
            answered = not (isinstance(answer, ResponsePlan) and answer.unanswered)
            self._queue.settle(call, answer.status, answered=answered)
            return answer
        except asyncio.CancelledError:
            raise
        except BaseException:
            self._record_failure(f"While choosing the reply to {call.describe()}:\n{traceback.format_exc()}")
            self._queue.settle(call, 500, answered=False)
            return error_plan(
                500,
                f"FakeWriterServer failed to build the reply to {call.describe()}; see verify().",
            )

    async def _meet(self, call: Call, need: Need) -> object:
        """Do one need of the answering flow; user code (a computed reply) runs on a thread of its own.

        A computed reply may block, or call this very server; on the event loop it would
        stall every connection (and deadlock on itself). Its thread is a daemon: one
        still running when the server stops is left behind, and ``verify()`` names it.
        A ``BaseException`` it raises (``pytest.fail()``) comes back as
        :class:`UserCodeCrashed`, so the client gets a 500 and ``verify()`` the error.
        """
        if not need.user_code:
            return await fulfil(need)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[object] = loop.create_future()

        def settle(ok: bool, value: object) -> None:
            if future.done():  # cancelled: the server stopped
                return
            if ok:
                future.set_result(value)
            else:
                assert isinstance(value, BaseException)
                future.set_exception(value)

        def run() -> None:
            try:
                outcome: tuple[bool, object] = (True, need.run())
            except Exception as exc:
                outcome = (False, exc)
            except BaseException as exc:  # no test on this thread for it to reach
                crashed = UserCodeCrashed(f"{type(exc).__name__}: {exc}")
                crashed.__cause__ = exc
                outcome = (False, crashed)
            with contextlib.suppress(RuntimeError):  # the loop closed while the reply ran
                loop.call_soon_threadsafe(settle, *outcome)

        threading.Thread(target=run, name=f"writer-computed-reply-{self.port}", daemon=True).start()
        try:
            return await future
        except asyncio.CancelledError:
            self._queue.fail(
                call,
                need.what,
                TimeoutError(
                    f"{need.what} was still running when the server stopped; the client's "
                    "connection was closed without a response. Make the computed reply return "
                    "(it runs on its own thread, and nothing can stop it from outside)."
                ),
            )
            raise

    def _record_failure(self, text: str) -> None:
        with self._lock:
            self._failures.append(text.rstrip())

    async def _refuse_tunnel(self, conn: h11.Connection, writer: asyncio.StreamWriter, call: Call) -> None:
        """Answer ``CONNECT`` with a 405 and close: the server is the Writer API, not a proxy.

        A 2xx would turn the connection into a tunnel the server cannot serve; the
        request counts as refused in ``verify()``.
        """
        target = call.path.lstrip("/")
        plan = self._queue.reject(
            call,
            405,
            f"FakeWriterServer got CONNECT {target}, but it does not tunnel: it is the Writer API itself, "
            "not a proxy. Point the client's base_url at the server's base_url (plain http) instead of "
            "using the server as an HTTPS proxy.",
        )
        await write_plan(conn, writer, plan, close=True)

"""The network guard: no request leaves a test for the real Writer API (or, when asked, any host) by accident.

A test that starts a ``FakeWriterServer`` but builds ``writerai.Writer()`` without
``base_url`` would otherwise talk to https://api.writer.com: offline, seven SDK
retries and minutes lost; online, a real request with a dummy key. While any
double runs, the guard answers such a request itself, before a connection is
made, with a Writer-shaped 500 that the SDK does not retry (``x-should-retry:
false``), naming the request and the fix. ``block()`` extends the rule to every
host that is not this machine, as pytest-recording's ``--block-network`` does:
httpx clients get the same non-retryable answer (an exception raised there
would be retried by the SDK), and any other client's socket ``connect`` raises
:class:`~writer_stream_testkit.errors.NetworkBlockedError` naming the host.

How: the guard replaces ``connect_tcp`` of httpcore's public network backends
(the bottom of every httpx client, below respx, so it is the same whichever
mocks are active) with one that returns an in-memory stream speaking the
answer, and, for ``block()``, ``socket.socket.connect``. The cassette recorder's
own upstream requests are exempt (:func:`exempt`): recording is meant to reach
the API.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from typing import Any

from ..errors import NetworkBlockedError
from ..scripts.plan import writer_error_body

__all__ = ["WRITER_API_HOST", "NetworkGuard", "exempt", "guard"]

WRITER_API_HOST = "api.writer.com"
"""The host of ``DEFAULT_BASE_URL``: where ``writerai`` goes when nothing else is said."""

_exempt: ContextVar[bool] = ContextVar("writer_stream_testkit_guard_exempt", default=False)


@contextlib.contextmanager
def exempt() -> Iterator[None]:
    """Let connections made inside this block (in this thread or task) through: the recorder's upstream."""
    token = _exempt.set(True)
    try:
        yield
    finally:
        _exempt.reset(token)


def _answer_bytes(description: str) -> bytes:
    body = json.dumps(writer_error_body(500, f"writer-stream-testkit: {description}")).encode()
    head = (
        "HTTP/1.1 500 Internal Server Error\r\n"
        "content-type: application/json\r\n"
        "x-should-retry: false\r\n"
        "connection: close\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


class _Refusal:
    """What one refused connection says, once it has read the request line it refuses."""

    def __init__(self, guard: NetworkGuard, host: str, port: int) -> None:
        self._guard = guard
        self._host = host
        self._port = port
        self._sent = b""
        self._answer: bytes | None = None

    def write(self, data: bytes) -> None:
        self._sent += data

    def read(self, max_bytes: int) -> bytes:
        if self._answer is None:
            line = self._sent.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            method, target = (line[0], line[1]) if len(line) >= 2 else ("?", "/")
            self._answer = _answer_bytes(self._guard.refuse(method, self._host, self._port, target))
        out, self._answer = self._answer[:max_bytes], self._answer[max_bytes:]
        return out


class _Stream:
    """What httpcore's sync backends hand back: a ``httpcore.NetworkStream`` by its methods.

    Not a subclass, so that importing the guard (the pytest plugin does, for every
    test) does not import httpcore; httpcore only ever calls these methods.
    """

    def __init__(self, refusal: _Refusal) -> None:
        self._refusal = refusal

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._refusal.read(max_bytes)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._refusal.write(buffer)

    def close(self) -> None:
        pass

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> _Stream:
        return self  # nothing is encrypted: nothing leaves the process

    def get_extra_info(self, info: str) -> Any:
        return None


class _AsyncStream:
    """The async twin of :class:`_Stream` (a ``httpcore.AsyncNetworkStream`` by its methods)."""

    def __init__(self, refusal: _Refusal) -> None:
        self._refusal = refusal

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._refusal.read(max_bytes)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._refusal.write(buffer)

    async def aclose(self) -> None:
        pass

    async def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> _AsyncStream:
        return self

    def get_extra_info(self, info: str) -> Any:
        return None


def _backends() -> list[tuple[type[Any], bool]]:
    """httpcore's network backends, each with whether it is async."""
    import httpcore  # here, not at the top: only a running double patches it

    classes: list[tuple[type[Any], bool]] = [(httpcore.SyncBackend, False), (httpcore.AnyIOBackend, True)]
    with contextlib.suppress(ImportError, AttributeError):
        classes.append((httpcore.TrioBackend, True))
    return classes


class NetworkGuard:
    """Which hosts are refused now, and the patches that refuse them; one per process (:data:`guard`).

    ``hold()`` (every running double holds it) refuses the Writer API; ``block()``
    refuses every host that is not loopback and not in ``allowed_hosts``. Both
    nest and count: the patches go when the last holder lets go.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._blocks: list[frozenset[str]] = []
        self._originals: dict[tuple[type[Any], str], Any] = {}
        self.refused: list[str] = []
        """Every request refused so far, as ``METHOD URL`` (cleared by :meth:`clear`)."""

    # --- what is refused ------------------------------------------------------------------------

    def refuses(self, host: str) -> bool:
        """Whether a connection to ``host`` is refused now."""
        # here, not at the top: hosts imports respx, which a test that runs no double never needs
        from .hosts import is_loopback

        if _exempt.get() or is_loopback(host):
            return False
        with self._lock:
            if self._blocks:
                return all(host not in allowed for allowed in self._blocks)
            return self._holders > 0 and host == WRITER_API_HOST

    def refuse(self, method: str, host: str, port: int, target: str) -> str:
        """Remember a refused request and say why it was refused and what to do instead."""
        scheme = "https" if port == 443 else "http"
        shown_port = "" if port in (80, 443) else f":{port}"
        request = f"{method} {scheme}://{host}{shown_port}{target}"
        with self._lock:
            self.refused.append(request)
            blocking = bool(self._blocks)
        if host == WRITER_API_HOST:
            return (
                f"{request} was refused: it would have reached the real Writer API while a test double was "
                "running. Point the client at the double (writerai.Writer(base_url=writer_server.base_url); "
                "the writer_server fixture sets WRITER_BASE_URL for you), use writer_mock, or record the "
                "request with a cassette (@pytest.mark.writer_cassette(record_mode='once'))."
            )
        why = "--writer-block-network is on" if blocking else "the network is blocked"
        return (
            f"{request} was refused: {why}, and {host} is not this machine. Serve the request from a "
            "double (writer_mock, writer_server, a cassette), or allow the host with the "
            f"writer_allowed_hosts ini key (a line '{host}')."
        )

    def clear(self) -> None:
        """Forget every refused request."""
        self.forget(since=0)

    def forget(self, *, since: int) -> None:
        """Forget the refused requests after the first ``since`` (those one test caused)."""
        with self._lock:
            del self.refused[since:]

    # --- holding and blocking -------------------------------------------------------------------

    def hold(self) -> None:
        """Refuse the Writer API until the matching :meth:`release` (a double started)."""
        with self._lock:
            self._holders += 1
            self._patch()

    def release(self) -> None:
        with self._lock:
            self._holders = max(0, self._holders - 1)
            self._unpatch_if_idle()

    @contextlib.contextmanager
    def block(self, allowed_hosts: Sequence[str] = ()) -> Iterator[None]:
        """Refuse every host but loopback and ``allowed_hosts`` inside the block, for httpx and plain sockets."""
        allowed = frozenset(allowed_hosts)
        with self._lock:
            self._blocks.append(allowed)
            self._patch()
        try:
            yield
        finally:
            with self._lock:
                self._blocks.remove(allowed)
                self._unpatch_if_idle()

    def _patch(self) -> None:
        if self._originals:
            return
        for backend, is_async in _backends():
            original = backend.__dict__.get("connect_tcp")
            if original is None:  # httpcore's placeholder for a backend whose library is absent
                continue
            self._originals[(backend, "connect_tcp")] = original
            backend.connect_tcp = self._async_connect(original) if is_async else self._connect(original)
        for name in ("connect", "connect_ex"):
            original = socket.socket.__dict__.get(name) or getattr(socket.socket, name)
            self._originals[(socket.socket, name)] = original
            setattr(socket.socket, name, self._socket_connect(original, name))

    def _unpatch_if_idle(self) -> None:
        if self._holders or self._blocks:
            return
        for (owner, name), original in self._originals.items():
            if owner is socket.socket and name not in socket.socket.__dict__:
                continue
            setattr(owner, name, original)
        self._originals.clear()

    def _connect(self, original: Any) -> Any:
        def connect_tcp(backend: Any, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
            if self.refuses(host):
                return _Stream(_Refusal(self, host, port))
            with exempt():  # the host passed: its socket, by address, is not asked again
                return original(backend, host, port, *args, **kwargs)

        return connect_tcp

    def _async_connect(self, original: Any) -> Any:
        async def connect_tcp(backend: Any, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
            if self.refuses(host):
                return _AsyncStream(_Refusal(self, host, port))
            with exempt():
                return await original(backend, host, port, *args, **kwargs)

        return connect_tcp

    def _socket_connect(self, original: Any, name: str) -> Any:
        def connect(sock: socket.socket, address: Any, *args: Any, **kwargs: Any) -> Any:
            if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
                host = str(address[0])
                with self._lock:
                    blocking = bool(self._blocks)
                if blocking and self.refuses(host):  # raised at the caller: not listed in refused
                    raise NetworkBlockedError(
                        f"A socket connection to {host}:{address[1]} was refused: --writer-block-network is on, "
                        "and only this machine may be reached. Serve the request from a double "
                        "(writer_mock, writer_server, a cassette), or allow the host with the "
                        f"writer_allowed_hosts ini key (a line '{host}')."
                    )
            return original(sock, address, *args, **kwargs)

        return connect


guard = NetworkGuard()
"""The one guard of this process; doubles hold it while they run."""

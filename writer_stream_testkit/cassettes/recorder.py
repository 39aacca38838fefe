"""Tee recording: upstream bytes reach the caller as they arrive while being written down.

A recorder never buffers a stream: each network read is handed to the client
the moment it arrives and appended to a :class:`Capture` with its time
offset. When the client finishes, abandons the response early, or the upstream
cuts it, the capture is closed where it stands (``complete`` says which), so a
cassette holds exactly what the client read, chunk boundaries and timing
included. Turning captures into cassette interactions (framing, redaction) is
pure and lives in ``capture.py``, ``framing.py`` and ``redact.py``.
"""

from __future__ import annotations

import functools
import os
import ssl
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Generator, Iterable
from dataclasses import dataclass, field

import httpcore
import httpx

from ..doubles.execute import GeneratorStream
from ..doubles.guard import exempt

__all__ = ["UPSTREAM_MARK", "Capture", "arecord", "describe_error", "record", "upstream_request"]

UPSTREAM_MARK = "writer_stream_testkit.upstream"
"""Request extension marking a request the recorder sends upstream, so interceptors let it pass."""

# Framing the transport redoes for us, and compression we ask the upstream not to use: the
# cassette stores the bytes the client decoded, and replay frames them afresh.
_DROPPED_RESPONSE_HEADERS = frozenset(
    {"content-length", "transfer-encoding", "content-encoding", "connection"}
)
_DROPPED_REQUEST_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})


@dataclass
class Capture:
    """One request and as much of its response as the client read, with timings.

    Times are seconds from the moment the request was sent. Mutable on purpose:
    the recorder fills it as bytes flow; ``done`` is set once, when it stops.
    """

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    content: bytes
    status: int = 0
    response_headers: tuple[tuple[str, str], ...] = ()
    """Values are the bytes sent, as UTF-8 text (``surrogateescape`` keeps any other bytes)."""
    head_t: float = 0.0
    reads: list[tuple[bytes, float]] = field(default_factory=list)
    complete: bool = False
    done: bool = False
    responded: bool = False
    """Whether the upstream answered at all; a request that failed to connect is not recorded."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def start(cls, request: httpx.Request) -> Capture:
        return cls(
            method=request.method,
            url=str(request.url),
            headers=tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw),
            content=request.content,
        )

    def finish(self, *, complete: bool) -> None:
        with self._lock:
            if not self.done:
                self.complete = complete
                self.done = True


def upstream_request(request: httpx.Request, upstream: str | None) -> httpx.Request:
    """The request to send upstream: same method, path and body, aimed at ``upstream``.

    ``upstream`` is a base URL that replaces the scheme, host and port the
    client used (``None`` keeps them: the real network). Compression is turned
    off so the recorded bytes are the readable ones the client decodes.
    """
    url = request.url
    if upstream is not None:
        base = httpx.URL(upstream)
        url = url.copy_with(
            scheme=base.scheme,
            host=base.host,
            port=base.port,
            raw_path=(base.raw_path.rstrip(b"/") + url.raw_path) if base.raw_path != b"/" else url.raw_path,
        )
    headers = [
        (k, v)
        for k, v in request.headers.multi_items()
        if k.lower() not in _DROPPED_REQUEST_HEADERS and k.lower() != "accept-encoding"
    ]
    headers.append(("accept-encoding", "identity"))
    extensions = {k: v for k, v in request.extensions.items() if k == "timeout"}
    extensions[UPSTREAM_MARK] = True
    return httpx.Request(request.method, url, headers=headers, content=request.content, extensions=extensions)


def describe_error(error: BaseException) -> str:
    """``ConnectError: [Errno 111] Connection refused``: the class, and the message when there is one."""
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _tls() -> ssl.SSLContext:
    """The TLS settings ``httpx.HTTPTransport()`` would build, built once per CA-bundle setting.

    Building them loads the whole CA bundle (about 20 ms), and the recorder opens
    a client per request; httpx shares one context across a client's
    connections (and its proxies) in the same way. ``SSL_CERT_FILE`` /
    ``SSL_CERT_DIR`` are read on every call, so changing them still takes effect.
    """
    return _tls_for(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.lru_cache(maxsize=4)
def _tls_for(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    return httpx.create_ssl_context()


@functools.lru_cache(maxsize=1)
def _no_tls() -> ssl.SSLContext:
    """TLS settings for a client that never speaks TLS (an ``http://`` upstream, no TLS proxy).

    httpx builds a client's TLS context when the client is built, whatever the URL, and
    the default one loads the whole CA bundle (20-100 ms on a cold process), which the
    first recording would otherwise count as the upstream's time to first byte. This
    context costs nothing to build; it trusts no certificate, so if it were ever used
    for TLS the handshake would fail, never pass unverified.
    """
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


_PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def _tls_for_url(url: httpx.URL | None, trust_env: bool) -> ssl.SSLContext:
    """The TLS settings a request to ``url`` needs: the full ones only where TLS can happen.

    That is an ``https://`` upstream, or an ``http://`` one reached through an
    ``https://`` proxy from the environment (or no URL given: any of them).
    """
    if (
        url is None
        or url.scheme != "http"
        or (
            trust_env
            and any(os.environ.get(name, "").lower().startswith("https:") for name in _PROXY_VARIABLES)
        )
    ):
        return _tls()
    return _no_tls()


_AS_SENT = httpx.Auth()
"""Send the request's own headers: no basic auth from credentials in the upstream URL."""


def _client(url: httpx.URL | None = None) -> httpx.Client:
    """A client that routes each upstream request as the SDK's own would.

    ``trust_env`` picks the proxy for each URL from ``HTTP_PROXY`` /
    ``HTTPS_PROXY`` / ``ALL_PROXY`` and honours ``NO_PROXY``, so recording works
    wherever the SDK alone does (behind a corporate proxy, say); every route
    shares the one TLS context (none for a plain ``http://`` upstream). Redirects are
    not followed: the client sees the upstream's answer as it is.
    """
    trust_env = _proxies_can_pass()
    return httpx.Client(verify=_tls_for_url(url, trust_env), trust_env=trust_env, follow_redirects=False)


def _async_client(url: httpx.URL | None = None) -> httpx.AsyncClient:
    """The async twin of :func:`_client`."""
    trust_env = _proxies_can_pass()
    return httpx.AsyncClient(verify=_tls_for_url(url, trust_env), trust_env=trust_env, follow_redirects=False)


def _proxies_can_pass() -> bool:
    """Whether a proxied request can get through; not while respx patches httpcore itself.

    respx (0.23) turns each httpcore request it intercepts back into a URL, and
    the proxy's absolute-form target (or a ``CONNECT`` authority) is not one, so a
    proxied request fails inside respx before any route can pass it through
    (lundberg/respx#303). While that mocker is active the recorder connects
    directly, as it always did; respx's httpx-level mocker has no such limit.
    """
    patched = getattr(httpcore.HTTPConnection.handle_request, "__module__", None) or ""
    return not patched.startswith("respx")


def _body(upstream: httpx.Response) -> Iterable[bytes]:
    """The upstream body as the client decodes it, through as few layers as possible.

    With no ``Content-Encoding`` (we ask for ``identity``) decoding is the identity, so
    the transport's stream is read directly instead of through ``iter_bytes``.
    """
    stream = upstream.stream
    if "content-encoding" in upstream.headers or not isinstance(stream, httpx.SyncByteStream):
        return upstream.iter_bytes()
    return stream


def _abody(upstream: httpx.Response) -> AsyncIterable[bytes]:
    """The async twin of :func:`_body`."""
    stream = upstream.stream
    if "content-encoding" in upstream.headers or not isinstance(stream, httpx.AsyncByteStream):
        return upstream.aiter_bytes()
    return stream


def _kept_headers(upstream: httpx.Response) -> list[tuple[bytes, bytes]]:
    """The upstream's response headers as the bytes it sent, framing and compression left out."""
    return [
        (k, v)
        for k, v in upstream.headers.raw
        if k.lower().decode("latin-1") not in _DROPPED_RESPONSE_HEADERS
    ]


def _answer(upstream: httpx.Response, request: httpx.Request, stream: _Tee) -> httpx.Response:
    # Raw bytes: a value that is not ASCII (``café``) reaches the client exactly as sent.
    return httpx.Response(
        upstream.status_code, headers=_kept_headers(upstream), stream=stream, request=request
    )


def _respond(capture: Capture, upstream: httpx.Response, started: float) -> None:
    capture.status = upstream.status_code
    capture.response_headers = tuple(
        (k.decode("latin-1"), v.decode("utf-8", "surrogateescape")) for k, v in _kept_headers(upstream)
    )
    capture.head_t = time.perf_counter() - started
    capture.responded = True


def record(
    request: httpx.Request,
    *,
    upstream: str | None,
    on_start: Callable[[Capture], None],
    transport: httpx.BaseTransport | None = None,
) -> httpx.Response:
    """Send ``request`` upstream (sync) and return a response whose body is recorded as it is read.

    Without ``transport`` the request is routed as ``httpx.Client(trust_env=True)``
    routes it (proxies from the environment).
    """
    request.read()
    capture = Capture.start(request)
    outgoing = upstream_request(request, upstream)
    client = None if transport is not None else _client(outgoing.url)
    started = time.perf_counter()  # from here on the clock measures the upstream, not the kit
    try:
        if client is None:
            assert transport is not None
            response = transport.handle_request(outgoing)
        else:
            with exempt():  # recording is meant to reach the API, double or not
                response = client.send(outgoing, stream=True, auth=_AS_SENT)
    except BaseException:
        if client is not None:
            client.close()
        raise
    response.request = outgoing
    _respond(capture, response, started)
    on_start(capture)
    return _answer(response, request, _Tee(capture, response, started, client))


async def arecord(
    request: httpx.Request,
    *,
    upstream: str | None,
    on_start: Callable[[Capture], None],
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.Response:
    """Send ``request`` upstream (async) and return a response whose body is recorded as it is read.

    Without ``transport`` the request is routed as ``httpx.AsyncClient(trust_env=True)``
    routes it (proxies from the environment).
    """
    await request.aread()
    capture = Capture.start(request)
    outgoing = upstream_request(request, upstream)
    client = None if transport is not None else _async_client(outgoing.url)
    started = time.perf_counter()  # from here on the clock measures the upstream, not the kit
    try:
        if client is None:
            assert transport is not None
            response = await transport.handle_async_request(outgoing)
        else:
            with exempt():
                response = await client.send(outgoing, stream=True, auth=_AS_SENT)
    except BaseException:
        if client is not None:
            await client.aclose()
        raise
    response.request = outgoing
    _respond(capture, response, started)
    on_start(capture)
    return _answer(response, request, _Tee(capture, response, started, client))


class _Tee(GeneratorStream):
    """The body the client reads: upstream reads passed through one by one, and kept."""

    def __init__(
        self,
        capture: Capture,
        upstream: httpx.Response,
        started: float,
        owned: httpx.Client | httpx.AsyncClient | None,
    ) -> None:
        super().__init__()
        self._capture = capture
        self._upstream = upstream
        self._started = started
        self._owned = owned

    def _play(self) -> Generator[bytes, None, None]:
        complete = False
        keep, clock, started = self._capture.reads.append, time.perf_counter, self._started
        try:
            for chunk in _body(self._upstream):
                if chunk:  # an empty read puts nothing on the wire (iter_bytes drops them too)
                    keep((chunk, clock() - started))
                    yield chunk
            complete = True
        finally:
            self._capture.finish(complete=complete)
            self._release()

    async def _aplay(self) -> AsyncGenerator[bytes, None]:
        complete = False
        keep, clock, started = self._capture.reads.append, time.perf_counter, self._started
        try:
            async for chunk in _abody(self._upstream):
                if chunk:
                    keep((chunk, clock() - started))
                    yield chunk
            complete = True
        finally:
            self._capture.finish(complete=complete)
            await self._arelease()

    def _release(self) -> None:
        self._upstream.close()
        if isinstance(self._owned, httpx.Client):
            self._owned.close()
        self._owned = None

    async def _arelease(self) -> None:
        await self._upstream.aclose()
        if isinstance(self._owned, httpx.AsyncClient):
            await self._owned.aclose()
        self._owned = None

    def close(self) -> None:
        """The client is done with the body, read to the end or abandoned part-way."""
        super().close()
        if not self._capture.done:  # never iterated, or closed before the first read
            self._capture.finish(complete=False)
            self._release()

    async def aclose(self) -> None:
        """The client is done with the body, read to the end or abandoned part-way."""
        await super().aclose()
        if not self._capture.done:
            self._capture.finish(complete=False)
            await self._arelease()

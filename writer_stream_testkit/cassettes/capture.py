"""From a tee capture to a redacted interaction, at record time."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from ..wire.call import decode_body
from ..wire.sse import DONE_DATA
from .delta_redact import redact_deltas
from .framing import body_from_reads, frame_stream
from .headers import header_to_cassette
from .model import Interaction, RecordedRequest, RecordedResponse
from .redact import Redaction, secret_from_headers

if TYPE_CHECKING:
    from . import recorder as _recorder  # the edge that fills a Capture

# --- from a capture to an interaction (record time, redaction included) --------------------------


def interaction_from_capture(
    capture: _recorder.Capture, redaction: Redaction, *, headers_whole: bool = True
) -> Interaction:
    """The cassette entry for one captured exchange, with every secret already removed.

    ``headers_whole=False`` (with an empty ``Redaction``) keeps the credential headers
    too: the exchange as it happened, for the record hooks.
    """
    redaction = redaction.with_secrets(secret_from_headers(capture.headers))
    body_text = capture.content.decode("utf-8", "replace")
    parsed: Any = None
    text: str | None = None
    if capture.content:
        parsed, problem = decode_body(capture.content)
        if problem is not None:  # not JSON, or nested too deep to walk: kept as text
            text = redaction.text(body_text)
    request = RecordedRequest(
        method=capture.method,
        url=redaction.text(capture.url),
        headers=_lower(
            redaction.headers((k, v) for k, v in capture.headers if k.lower() not in _TRANSPORT_HEADERS)
        ),
        json=redaction.json(parsed),
        body=text,
    )
    response_headers = (
        redaction.headers(capture.response_headers) if headers_whole else capture.response_headers
    )
    headers = tuple(
        (k, header_to_cassette(v.encode("utf-8", "surrogateescape"))) for k, v in _lower(response_headers)
    )
    reads = _redact_reads(capture.reads, redaction)
    is_sse = any(k == "content-type" and v.startswith("text/event-stream") for k, v in headers)
    if is_sse:
        events = redact_deltas(frame_stream(reads), redaction)
        # A client that stops at `data: [DONE]` (the SDK does) has read the whole stream.
        done = bool(events) and events[-1].data == DONE_DATA
        response = RecordedResponse(
            status=capture.status,
            headers=headers,
            t=round(capture.head_t, 4),
            events=events,
            complete=capture.complete or done,
        )
    else:
        body, body_t, cuts = body_from_reads(reads)
        response = RecordedResponse(
            status=capture.status,
            headers=headers,
            t=round(capture.head_t, 4),
            body=body,
            body_t=body_t,
            body_cuts=cuts,
            complete=capture.complete,
        )
    return Interaction(request, response)


_TRANSPORT_HEADERS = frozenset(
    {"host", "content-length", "connection", "accept-encoding", "transfer-encoding"}
)
"""Request headers that describe one connection, not the request: left out of the recording."""


def _lower(pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple((k.lower(), v) for k, v in pairs)


def _redact_reads(reads: Sequence[tuple[bytes, float]], redaction: Redaction) -> list[tuple[bytes, float]]:
    """Scrub the whole body at once, so a secret split across reads (even inside a character) is found."""
    reads = [(data, round(t, 4)) for data, t in reads if data]
    body = b"".join(data for data, _ in reads)
    if not redaction.may_change(body):
        return reads
    scrubbed, moved = redaction.bytes_keeping_offsets(
        body, list(itertools.accumulate(len(d) for d, _ in reads))
    )
    if scrubbed == body:
        return reads
    out: list[tuple[bytes, float]] = []
    start = 0
    for (_, t), end in zip(reads, moved, strict=True):
        out.append((scrubbed[start:end], t))
        start = end
    return out


# --- vcrpy's record hooks -------------------------------------------------------------------------

RequestHook: TypeAlias = Callable[[RecordedRequest], "RecordedRequest | None"]
ResponseHook: TypeAlias = Callable[[RecordedResponse], "RecordedResponse | None"]


@dataclass(frozen=True, slots=True)
class RecordHooks:
    """``before_record_request`` / ``before_record_response``, as vcrpy's: a changed value, or ``None`` to drop.

    Each sees the exchange before redaction (the key and the credential headers
    still in it), so it can scrub, normalise or drop what the cassette's own rules
    cannot; redaction then runs on what it returns, so nothing it leaves behind
    reaches the file unscrubbed.
    """

    before_record_request: RequestHook | None = None
    before_record_response: ResponseHook | None = None

    def __bool__(self) -> bool:
        return self.before_record_request is not None or self.before_record_response is not None

    def request(self, request: RecordedRequest) -> RecordedRequest | None:
        """``request`` as the request hook leaves it (``None``: not recorded, not replayed)."""
        if self.before_record_request is None:
            return request
        return _checked(
            self.before_record_request(request), RecordedRequest, "before_record_request", request
        )

    def response(self, response: RecordedResponse, request: RecordedRequest) -> RecordedResponse | None:
        """``response`` as the response hook leaves it (``None``: the exchange is not recorded)."""
        if self.before_record_response is None:
            return response
        return _checked(
            self.before_record_response(response), RecordedResponse, "before_record_response", request
        )


_T = TypeVar("_T")


def _checked(value: object, kind: type[_T], hook: str, request: RecordedRequest) -> _T | None:
    if value is None or isinstance(value, kind):
        return value
    raise TypeError(
        f"The cassette's {hook} hook returned {type(value).__name__} for {request.describe()}; it must "
        f"return a {kind.__name__} (change one with dataclasses.replace(value, ...)) or None to leave the "
        "exchange out of the cassette."
    )


def request_from_call(
    method: str, url: str, headers: Iterable[tuple[str, str]], content: bytes
) -> RecordedRequest:
    """A request as it would be recorded, before redaction: the view the request hook gets."""
    parsed: Any = None
    text: str | None = None
    if content:
        parsed, problem = decode_body(content)
        if problem is not None:
            text = content.decode("utf-8", "replace")
    kept = _lower((k, v) for k, v in headers if k.lower() not in _TRANSPORT_HEADERS)
    return RecordedRequest(method=method, url=url, headers=kept, json=parsed, body=text)


def hooked_interaction(
    capture: _recorder.Capture, redaction: Redaction, hooks: RecordHooks
) -> Interaction | None:
    """The cassette entry for one exchange with the record hooks applied first, then redaction; ``None`` if dropped.

    The key the request was sent with is scrubbed even where a hook moved it or
    dropped its header.
    """
    if not hooks:
        return interaction_from_capture(capture, redaction)
    request = hooks.request(request_from_call(capture.method, capture.url, capture.headers, capture.content))
    if request is None:
        return None
    raw = interaction_from_capture(capture, Redaction(), headers_whole=False).response
    response = hooks.response(raw, request)
    if response is None:
        return None
    redaction = redaction.with_secrets(secret_from_headers(capture.headers))
    body: Any = None if request.json is None else redaction.json(request.json)
    scrubbed = RecordedRequest(
        method=request.method,
        url=redaction.text(request.url),
        headers=_lower(redaction.headers(request.headers)),
        json=body,
        body=None if request.body is None else redaction.text(request.body),
    )
    reads = _redact_reads(response.reads(), redaction)
    headers = _lower(redaction.headers(response.headers))
    if response.events is not None:
        events = redact_deltas(frame_stream(reads), redaction)
        return Interaction(scrubbed, replace(response, headers=headers, events=events))
    content, body_t, cuts = body_from_reads(reads)
    return Interaction(
        scrubbed, replace(response, headers=headers, body=content, body_t=body_t, body_cuts=cuts)
    )

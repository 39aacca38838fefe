"""From a tee capture to a redacted interaction, at record time."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

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


def interaction_from_capture(capture: _recorder.Capture, redaction: Redaction) -> Interaction:
    """The cassette entry for one captured exchange, with every secret already removed."""
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
    headers = tuple(
        (k, header_to_cassette(v.encode("utf-8", "surrogateescape")))
        for k, v in _lower(redaction.headers(capture.response_headers))
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

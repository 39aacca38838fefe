"""Reading the common HTTP/1.1 request head without h11: bytes in, a parsed head or "hand it to h11" out.

Nearly every request the server gets is the SDK's: ``POST /v1/chat HTTP/1.1``, one ``Host``,
a ``Content-Length`` and a few plain headers, on a kept-alive connection. h11 reads that
correctly and spends about 200 µs of a server's CPU on it (an event per part, a state machine,
every header validated); this reader takes that one case in a few regular-expression matches
and refuses everything else, so h11 still reads, and the server still answers, every unusual
request exactly as before: a malformed line, ``Expect: 100-continue``, a chunked or
``Transfer-Encoding`` upload, HTTP/1.0, ``CONNECT``, an absolute-form or ``*`` target, an
obs-folded header, a bare LF, a repeated or odd ``Content-Length``, ``Connection: close`` or
``Upgrade``, a missing or repeated ``Host``, and a head past :data:`HEAD_LIMIT`.

What it accepts it reads as h11 would (method, target, headers with their own case and the
spaces around values stripped, body length): ``tests/doubles/test_simple_request.py`` holds
the two to that, request by generated request. The body itself is the server's to read.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Final

__all__ = ["HEAD_LIMIT", "Refusal", "SimpleHead", "read_simple_head"]

HEAD_LIMIT: Final = 16 * 1024
"""The longest request head (request line, headers, blank line) read, in bytes: h11's own
default, given to h11 as well, so a longer head gets h11's 431 whichever reader saw it first."""

_LENGTH_DIGITS: Final = 18
"""A longer ``Content-Length`` is h11's to judge (it refuses past 20 digits)."""

_TOKEN = rb"[-!#$%&'*+.^_`|~0-9a-zA-Z]+"
_REQUEST_LINE: Final = re.compile(rb"(" + _TOKEN + rb") (/[\x21-\x7e]*) HTTP/1\.1\r\n")
# Printable ASCII only (h11 also takes obs-text and control bytes: those go to it).
_VALUE = rb":[ \t]*((?:[\x21-\x7e]+(?:[ \t]+[\x21-\x7e]+)*)?)[ \t]*\r\n"
_HEADER: Final = re.compile(rb"(" + _TOKEN + rb")" + _VALUE)
_HEADERS: Final = re.compile(rb"(?:" + _TOKEN + _VALUE + rb")*")
# Headers that change how the request is read or the connection kept: only their plain form is simple.
_READ_NAMES: Final = frozenset(
    {b"content-length", b"host", b"connection", b"transfer-encoding", b"expect", b"upgrade"}
)


class Refusal(enum.Enum):
    """Why :func:`read_simple_head` gave no head."""

    NEED_DATA = "need data"
    """The head is not all here yet, and what is here is simple so far: read more."""
    NOT_SIMPLE = "not simple"
    """Not the common case: hand these bytes, and the rest of the connection, to h11."""


@dataclass(frozen=True, slots=True)
class SimpleHead:
    """One plain HTTP/1.1 request head, as h11 would read it."""

    method: bytes
    target: bytes
    """Origin form (starts with ``/``)."""
    headers: tuple[tuple[bytes, bytes], ...]
    """In order, names in their own case, values without the spaces around them."""
    body_length: int
    """The ``Content-Length`` (0 without one)."""
    size: int
    """Bytes the head takes, blank line included: the body starts here."""


def read_simple_head(data: bytes) -> SimpleHead | Refusal:
    """The request head at the start of ``data``, or why not (more bytes needed, or h11's to read)."""
    end = data.find(b"\r\n\r\n", 0, HEAD_LIMIT)
    if end < 0:
        if len(data) >= HEAD_LIMIT or data.count(b"\n") != data.count(b"\r\n"):
            return Refusal.NOT_SIMPLE  # too long, or a line that ends in a bare LF (h11 reads those)
        return Refusal.NEED_DATA
    line = _REQUEST_LINE.match(data, 0, end + 2)
    if line is None or line[1] == b"CONNECT" or not _HEADERS.fullmatch(data, line.end(), end + 2):
        return Refusal.NOT_SIMPLE  # obs-fold, a stray CR or LF, a space before the colon, obs-text...
    headers: list[tuple[bytes, bytes]] = _HEADER.findall(data, line.end(), end + 2)
    length: int | None = None
    hosts = 0
    for name, value in headers:
        lower = name.lower()
        if lower not in _READ_NAMES:
            continue
        if lower == b"content-length":
            if length is not None or not value.isdigit() or len(value) > _LENGTH_DIGITS:
                return Refusal.NOT_SIMPLE
            length = int(value)
        elif lower == b"host":
            hosts += 1
        elif lower == b"connection":
            if any(option.strip().lower() != b"keep-alive" for option in value.split(b",")):
                return Refusal.NOT_SIMPLE
        else:
            return Refusal.NOT_SIMPLE
    if hosts != 1:
        return Refusal.NOT_SIMPLE
    return SimpleHead(line[1], line[2], tuple(headers), length or 0, end + 4)

"""Response header values in a cassette: any bytes an upstream sent, stored as printable ASCII."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Final

_ESCAPE_START: Final = "=?unknown-8bit?b?"
_ESCAPE_END: Final = "?="
PLAIN_HEADER_VALUE = re.compile(r"(?:[\x21-\x7e]+(?:[ \t]+[\x21-\x7e]+)*)?")
"""A value both doubles send exactly as written: printable ASCII, spaces and tabs only inside."""
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


def header_to_cassette(raw: bytes) -> str:
    """A response header value as a cassette stores it: as itself when it is plain printable ASCII.

    Any other bytes an upstream sends (UTF-8 text such as ``café``, Latin-1, bytes
    that are no text at all) are stored as an RFC 2047 encoded word with the RFC
    1428 charset ``unknown-8bit``: ``=?unknown-8bit?b?<base64 of the bytes>?=``,
    printable ASCII every loader and editor keeps intact. A plain value that
    happens to look like one is escaped too, so reading back is never ambiguous.
    """
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        text = None
    if text is not None and PLAIN_HEADER_VALUE.fullmatch(text) and _escaped(text) is None:
        return text
    return _ESCAPE_START + base64.b64encode(raw).decode("ascii") + _ESCAPE_END


def header_from_cassette(stored: str) -> bytes:
    """The bytes a double sends for a stored header value (the inverse of :func:`header_to_cassette`).

    An escaped value gives back its bytes; any other value is sent as its
    Latin-1 bytes, or UTF-8 where it has characters Latin-1 lacks (see
    :func:`~writer_stream_testkit.scripts.plan.header_bytes`).
    """
    raw = _escaped(stored)
    if raw is not None:
        return raw
    try:
        return stored.encode("latin-1")
    except UnicodeEncodeError:
        return stored.encode("utf-8", "surrogateescape")


def _escaped(stored: str) -> bytes | None:
    """The bytes of an escaped value; ``None`` for a plain one, or one whose bytes no header can carry."""
    if not (stored.startswith(_ESCAPE_START) and stored.endswith(_ESCAPE_END)):
        return None
    try:
        raw = base64.b64decode(stored[len(_ESCAPE_START) : -len(_ESCAPE_END)], validate=True)
    except (binascii.Error, ValueError):
        return None
    return None if _CONTROL.search(raw) else raw

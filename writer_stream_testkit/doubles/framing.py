"""How a response's body is framed on the wire, decided once for both executors.

``doubles/execute.py`` (in-process) and ``doubles/server.py`` (a socket) send the same
plan; whether it has a body and how its end is marked is HTTP's rule (RFC 9112
section 6.3), not either executor's, so it lives here:

* no body: a response to ``HEAD``, and any ``1xx``, ``204`` or ``304`` (whatever the
  plan writes is dropped, and the connection stays usable);
* ``Content-Length``, when the plan declares one as plain digits (the body is cut to it);
* chunked, one HTTP chunk per ``Write``, for an HTTP/1.1 client;
* close-delimited for an HTTP/1.0 client, which cannot read chunked framing.

It also holds how large a request body the server reads by default
(``DEFAULT_MAX_BODY_SIZE``), so ``serve --help`` can show it without loading the server.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "BODYLESS_STATUSES",
    "DEFAULT_MAX_BODY_SIZE",
    "FRAMING",
    "Frame",
    "declared_length",
    "frame",
    "informational_problem",
]

DEFAULT_MAX_BODY_SIZE: Final = 32 * 1024 * 1024
"""The largest request body ``FakeWriterServer`` reads unless told otherwise (32 MiB)."""

BODYLESS_STATUSES: Final = frozenset({204, 304})
"""Final statuses whose responses never have a body (1xx are never final)."""
FRAMING: Final = frozenset({"content-length", "transfer-encoding"})
"""The headers that say where a body ends: decided here, never copied from a plan as they are."""

Kind = Literal["none", "length", "chunked", "close"]


@dataclass(frozen=True)
class Frame:
    """The framing of one response: its kind, the declared length, and the headers to send."""

    kind: Kind
    headers: tuple[tuple[str, str], ...]
    length: int | None = None

    @property
    def has_body(self) -> bool:
        return self.kind != "none"


def declared_length(headers: Sequence[tuple[str, str]]) -> int | None:
    """The first ``Content-Length`` that is a whole number in plain digits, else ``None``.

    ``+14``, ``1_4`` and ``-5`` are not lengths (``int()`` would read the first two), so
    both executors treat a plan carrying one as having none, and frame it chunked.
    """
    for name, value in headers:
        if name.lower() == "content-length":
            text = value.strip()
            if text.isascii() and text.isdigit():
                return int(text)
            return None
    return None


def informational_problem(status: int) -> str | None:
    """Why ``status`` cannot be a reply's final status (a 1xx), or ``None`` when it can."""
    if 100 <= status < 200:
        return (
            f"Status {status} is an informational (1xx) status, which HTTP never sends as a final "
            "response (a client would wait for the real one). Answer with a final status (200-599); "
            "a 101 switch or a 103 hint is not something a Writer API double sends."
        )
    return None


def frame(status: int, headers: Sequence[tuple[str, str]], *, method: str, http10: bool = False) -> Frame:
    """The framing for a response with ``status`` and ``headers`` to a ``method`` request.

    The plan's own framing headers are replaced by the one that fits, in the place the
    first of them stood (so replayed headers keep their order), and never sent twice.
    A ``HEAD`` response keeps its ``Content-Length`` (it describes the GET body); a
    1xx, 204 or 304 has none.
    """
    length = declared_length(headers)
    if method.upper() == "HEAD":
        kind: Kind = "none"
        line = None if length is None else ("content-length", str(length))
    elif status < 200 or status in BODYLESS_STATUSES:
        kind, line, length = "none", None, None
    elif length is not None:
        kind, line = "length", ("content-length", str(length))
    elif http10:
        kind, line = "close", None
    else:
        kind, line = "chunked", ("transfer-encoding", "chunked")
    out: list[tuple[str, str]] = []
    for name, value in headers:
        if name.lower() not in FRAMING:
            out.append((name, value))
        elif line is not None:
            out.append((name if name.lower() == line[0] else line[0], line[1]))
            line = None
    if line is not None:
        out.append(line)
    return Frame(kind, tuple(out), length)

"""``Call``: one request as a double received it, with its headers and parsed JSON body."""

from __future__ import annotations

import json as _json
import reprlib
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from .endpoints import JSON_BODY_ENDPOINTS

if TYPE_CHECKING:
    import httpx

MAX_JSON_DEPTH = 128
"""The deepest nesting of arrays and objects the doubles read in a request body.

Deeper bodies get the 400 any other unreadable body gets. ``json.loads`` (recursive
in C) and the walks after it (matching, redaction, the cassette's YAML) recurse
once or twice per level, so the bound keeps them far from Python's recursion
limit however deep the caller's own stack is; 128 is also where common JSON
parsers stop (serde_json's default).
"""


class Headers(Mapping[str, str]):
    """Immutable request headers with case-insensitive lookup, as HTTP defines them.

    Repeated headers are joined with ``", "`` on lookup, as httpx does; ``raw``
    keeps every pair in the order received.
    """

    __slots__ = ("_index", "raw")

    raw: tuple[tuple[str, str], ...]
    _index: dict[str, str]

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        pairs = tuple(items.items()) if isinstance(items, Mapping) else tuple(items)
        index: dict[str, str] = {}
        for name, value in pairs:
            key = name.lower()
            index[key] = f"{index[key]}, {value}" if key in index else value
        object.__setattr__(self, "raw", pairs)
        object.__setattr__(self, "_index", index)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Headers are immutable; build a new Headers object instead.")

    def __getitem__(self, key: str) -> str:
        return self._index[key.lower()]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self._index == {str(k).lower(): v for k, v in other.items()}
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._index.items())))

    def __repr__(self) -> str:
        return f"Headers({self._index!r})"


@dataclass(frozen=True)
class Call:
    """One request a double received, kept so a test can assert on what was sent."""

    method: str
    url: str
    path: str
    headers: Headers
    content: bytes
    json: Any = field(default=None, compare=False)
    """The body parsed as JSON, or ``None`` when it is empty or not JSON."""
    at: float = field(default_factory=time.monotonic, compare=False)
    """When the request arrived (``time.monotonic()``), so a test can measure retry waits."""

    @classmethod
    def create(
        cls,
        *,
        method: str,
        url: str,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        content: bytes = b"",
    ) -> Call:
        """Build a call from raw parts; the server uses this for requests off the socket."""
        return cls(
            method=method.upper(),
            url=url,
            path=urlsplit(url).path or "/",
            headers=headers if isinstance(headers, Headers) else Headers(headers),
            content=content,
            json=_parse_json(content),
        )

    @classmethod
    def from_httpx(cls, request: httpx.Request) -> Call:
        """Build a call from an httpx request, reading its body if it was streamed."""
        return cls.create(
            method=request.method,
            url=str(request.url),
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw],
            content=request.read(),
        )

    @property
    def stream(self) -> bool:
        """Whether the request asked for a streamed (SSE) response."""
        return isinstance(self.json, dict) and self.json.get("stream") is True

    def body_problem(self, path: str | None = None) -> str | None:
        """Why the Writer API would answer this request 400, or ``None``: a streaming endpoint's body
        must be a JSON object, and this one goes to such an endpoint with a body that is not.

        ``path`` is the request's path below the base URL (by default ``path`` percent-decoded,
        as both doubles route).
        """
        where = unquote(self.path) if path is None else path
        if not any(e.matches(self.method, where) for e in JSON_BODY_ENDPOINTS):
            return None
        return _body_problem(self)

    def describe(self) -> str:
        """The request line and a short summary of its body, for error messages."""
        query = urlsplit(self.url).query
        return f"{self.method} {self.path}{'?' + query if query else ''} {_summarise_body(self)}"


def _parse_json(content: bytes) -> Any:
    return decode_body(content)[0]


def decode_body(content: bytes) -> tuple[Any, str | None]:
    """The body as JSON and ``None``, or ``None`` and why it cannot be read (empty, not JSON, too deep)."""
    if not content:
        return None, "The request body is empty"
    try:
        value = _json.loads(content)
    except RecursionError:
        return None, TOO_DEEP
    except ValueError as exc:
        return None, f"The request body is not JSON: {exc}"
    if deeper_than(value, MAX_JSON_DEPTH):
        return None, TOO_DEEP
    return value, None


TOO_DEEP = (
    f"The request body is JSON nested more than {MAX_JSON_DEPTH} levels deep, deeper than "
    "writer-stream-testkit reads"
)
"""Why :func:`decode_body` refused a body nested past :data:`MAX_JSON_DEPTH` (a clause, no full stop)."""


def deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than ``limit`` levels in ``value`` (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        node, depth = stack.pop()
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, dict | list):
                if depth >= limit:
                    return True
                stack.append((child, depth + 1))
    return False


def _body_problem(call: Call) -> str | None:
    """Why ``call``'s body cannot be a streaming endpoint's request (the real API answers 400), or ``None`` if it can."""
    if isinstance(call.json, dict):
        return None
    value, reason = decode_body(call.content)
    if reason is None:
        reason = f"The request body is JSON but not an object: {_short.repr(value)}"
    return (
        f"{reason}. The Writer API answers such a request with 400; send the request's parameters "
        "as one JSON object, as the Writer SDKs do."
    )


_short = reprlib.Repr()
_short.maxstring = 60
_short.maxother = 60


def short_repr(value: object) -> str:
    """``repr(value)`` cut to about 60 characters, for error messages."""
    return _short.repr(value)


def _summarise_body(call: Call) -> str:
    body = call.json
    if not isinstance(body, dict):
        if not call.content:
            return "(no body)"
        if body is not None or call.content.strip() == b"null":
            return f"(JSON body that is not an object: {_short.repr(body)})"
        if decode_body(call.content)[1] == TOO_DEEP:
            return (
                f"(JSON body nested more than {MAX_JSON_DEPTH} levels deep, {len(call.content)} bytes: "
                f"{_short.repr(call.content)})"
            )
        return f"(non-JSON body of {len(call.content)} bytes: {_short.repr(call.content)})"
    # question and application requests carry no model: name only what the body has
    parts = [f"model={body['model']!r}"] if "model" in body else []
    parts.append(f"stream={bool(body.get('stream'))}")
    messages = body.get("messages")
    if isinstance(messages, list):
        parts.append(f"{len(messages)} message{'' if len(messages) == 1 else 's'}")
        last = messages[-1] if messages else None
        if isinstance(last, dict):
            parts.append(f"last {last.get('role', '?')}: {_short.repr(last.get('content'))}")
    for key in ("prompt", "question"):  # completions, Knowledge Graph questions
        if isinstance(body.get(key), str):
            parts.append(f"{key}: {_short.repr(body[key])}")
    tools = body.get("tools")
    if isinstance(tools, list) and tools:
        names = [t.get("function", {}).get("name", "?") for t in tools if isinstance(t, dict)]
        parts.append(f"tools={names}")
    return "(" + ", ".join(parts) + ")"

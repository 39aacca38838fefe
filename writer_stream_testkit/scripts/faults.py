"""Faults: the ways a real Writer stream goes wrong, as small frozen values.

``Fault`` is both the base class and the namespace of constructors
(``Fault.http_error(429, retry_after=2)``, ``Fault.disconnect(after_chunks=3)``).
A fault either *replaces* the response (``HttpError``, ``ConnectionRefused``:
each is a reply on its own, with ``plan(call)``) or *transforms* a streamed
script's SSE blocks on their way to the wire.

Several faults on one script compose in a fixed order, whatever order they
were given in, so the result never depends on how a test lists them:

1. **content**: which blocks are sent. Anchored insertions go after the
   script's ``k``-th chunk (``after_chunks=k`` counts only the script's own
   ``data:`` chunks, never inserted blocks, and ``0`` means before the first);
   at one anchor the order is keep-alive comment, malformed chunks, then the
   error event. An error event ends the stream: every later block, ``[DONE]``
   included, is dropped. Then ``missing_done`` drops ``[DONE]`` and
   ``data_after_done`` appends its blocks at the very end, in the order given.
2. **line ends**: ``crlf`` (or ``split_mid_crlf``) turns every line end into CRLF.
3. **splits**: the bytes stay the same, only write boundaries move. With no
   split each SSE block is one write; with splits the boundaries are the union
   of every split's boundaries (``sizes`` cycle through the list).
4. **timing**: a stall is a pause at its anchor; ``delay(each=s)`` pauses
   before every write; ``delay(first_byte=s)`` delays the status line.
5. **disconnect**: the earliest disconnect cuts the body there (after the
   anchor's insertions and pauses, or half-way into the next block with
   ``mid_chunk=True``) and nothing after it is sent.

A stall or disconnect anchored after an error event has no effect: the stream
has already ended. For ``stream: false`` requests only the replacing faults
and ``delay`` apply; the others describe SSE and are ignored.
"""

from __future__ import annotations

import difflib
import inspect
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import ScriptError
from ..wire.sse import encode_comment, encode_event
from .plan import JSON_HEADERS, ResponsePlan, Write, writer_error_body

if TYPE_CHECKING:
    from ..wire.call import Call


# --- Frames: SSE blocks before faults decide how they travel ---------------------------------------


@dataclass(frozen=True)
class Frame:
    """One SSE block a script sends: a chunk, ``[DONE]``, or a block a fault inserted.

    ``comment`` makes the block a comment (a keep-alive) instead of an event.
    """

    data: str = ""
    event: str | None = None
    comment: str | None = None
    kind: str = "chunk"
    """``"chunk"`` (counted by ``after_chunks``), ``"done"``, or ``"inserted"``."""

    def encode(self, newline: str = "\n") -> bytes:
        if self.comment is not None:
            return encode_comment(self.comment, newline=newline) + newline.encode()
        return encode_event(self.data, event=self.event, newline=newline)


# --- The faults ------------------------------------------------------------------------------------


def _fail(fault: str, problem: str, fix: str) -> ScriptError:
    return ScriptError(f"Fault.{fault}() {problem}; {fix}")


def _check_count(value: object, fault: str, name: str, *, minimum: int = 0) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _fail(fault, f"got {name}={value!r}", f"pass a whole number of at least {minimum}.")


def _check_seconds(value: object, fault: str, name: str) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise _fail(fault, f"got {name}={value!r}", "pass a number of seconds, 0 or more.")


class Fault:
    """Base of every fault, and the namespace of their constructors."""

    name: ClassVar[str]
    """The fault's name in a script's YAML form."""

    order: ClassVar[int]
    """Its place in the fixed composition order (see the module docstring)."""

    replaces: ClassVar[bool] = False
    """Whether the fault is the whole response rather than a change to a stream."""

    # The constructors. Each returns the value object named in its annotation.

    @staticmethod
    def http_error(
        status: int,
        *,
        message: str | None = None,
        retry_after: float | str | None = None,
        retry_after_ms: int | None = None,
        headers: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | str | None = None,
    ) -> HttpError:
        """An HTTP error response with Writer's JSON error body (see ``writer_error_body``)."""
        text = None if body is None else body if isinstance(body, str) else json.dumps(body)
        return HttpError(
            status=status,
            message=message,
            retry_after=retry_after,
            retry_after_ms=retry_after_ms,
            headers=tuple((headers or {}).items()),
            body=text,
        )

    @staticmethod
    def connection_refused() -> ConnectionRefused:
        """No response at all: the connection is refused before any byte is sent."""
        return ConnectionRefused()

    @staticmethod
    def disconnect(*, after_chunks: int, mid_chunk: bool = False) -> Disconnect:
        """The connection drops after ``after_chunks`` chunks (or inside the next one)."""
        return Disconnect(after_chunks=after_chunks, mid_chunk=mid_chunk)

    @staticmethod
    def malformed_chunk(*, after_chunks: int, data: str = '{"id": ') -> MalformedChunk:
        """A ``data:`` block whose payload is not a JSON chunk, sent after ``after_chunks``."""
        return MalformedChunk(after_chunks=after_chunks, data=data)

    @staticmethod
    def error_event(
        *,
        after_chunks: int,
        message: str = "The server had an error while processing your request.",
        status: int = 500,
        body: Mapping[str, Any] | str | None = None,
    ) -> ErrorEvent:
        """An ``event: error`` block after ``after_chunks`` chunks; the stream ends there."""
        text = None if body is None else body if isinstance(body, str) else json.dumps(body)
        return ErrorEvent(after_chunks=after_chunks, message=message, status=status, body=text)

    @staticmethod
    def stall(*, after_chunks: int, seconds: float = 60.0) -> Stall:
        """Silence after ``after_chunks`` chunks; pick ``seconds`` above the client's read timeout."""
        return Stall(after_chunks=after_chunks, seconds=seconds)

    @staticmethod
    def delay(*, each: float = 0.0, first_byte: float = 0.0) -> Delay:
        """A slow server: ``first_byte`` before the status line, ``each`` before every write."""
        return Delay(each=each, first_byte=first_byte)

    @staticmethod
    def split(*, sizes: Sequence[int] = (), one_byte: bool = False) -> Split:
        """Deliver the same bytes in writes of these sizes (cycling), or one byte at a time."""
        if one_byte and sizes:
            raise _fail("split", "got both sizes= and one_byte=True", "pass one or the other.")
        return Split(sizes=(1,) if one_byte else tuple(sizes))

    @staticmethod
    def split_mid_utf8() -> Split:
        """Split every multi-byte UTF-8 character after its first byte."""
        return Split(mid_utf8=True)

    @staticmethod
    def split_mid_crlf() -> Split:
        """Use CRLF line ends and split every one between its CR and its LF."""
        return Split(mid_crlf=True)

    @staticmethod
    def missing_done() -> MissingDone:
        """The stream ends at EOF without ``data: [DONE]``."""
        return MissingDone()

    @staticmethod
    def data_after_done(*, data: str = '{"id":"late"}') -> DataAfterDone:
        """A ``data:`` block after ``[DONE]``, which clients must ignore."""
        return DataAfterDone(data=data)

    @staticmethod
    def crlf() -> CrlfLineEnds:
        """CRLF line ends instead of LF, as some proxies rewrite them."""
        return CrlfLineEnds()

    @staticmethod
    def keep_alive(*, every: int = 1, comment: str = "") -> KeepAlive:
        """A comment block (``:`` line) after every ``every`` chunks, as proxies send to keep idle streams open."""
        return KeepAlive(every=every, comment=comment)

    # Shared behaviour.

    def describe(self) -> str:
        """``name(field=value, ...)`` with only the fields that differ from their defaults."""
        params = ", ".join(f"{k}={v!r}" for k, v in self.yaml_params().items())
        return f"{self.name}({params})"

    def yaml_params(self) -> dict[str, Any]:
        """The fields that differ from their defaults, as plain YAML values."""
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if f.default is not value and f.default != value:
                out[f.name] = [list(v) for v in value] if f.name == "headers" else _plain(value)
        return out

    def to_yaml_item(self) -> str | dict[str, Any]:
        params = self.yaml_params()
        return {self.name: params} if params else self.name


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


@dataclass(frozen=True)
class _Anchored(Fault):
    after_chunks: int

    def __post_init__(self) -> None:
        _check_count(self.after_chunks, self.name, "after_chunks")


@dataclass(frozen=True)
class HttpError(Fault):
    """An HTTP error status with Writer's error body; usable directly as a reply.

    ``retry_after`` sets ``Retry-After`` (seconds, or an HTTP date string) and
    ``retry_after_ms`` the non-standard ``retry-after-ms`` the SDK reads first.
    """

    name: ClassVar[str] = "http_error"
    order: ClassVar[int] = 0
    replaces: ClassVar[bool] = True

    status: int
    message: str | None = None
    retry_after: float | str | None = None
    retry_after_ms: int | None = None
    headers: tuple[tuple[str, str], ...] = ()
    body: str | None = None
    """The exact body to send instead of Writer's error JSON."""

    def __post_init__(self) -> None:
        if isinstance(self.status, bool) or not isinstance(self.status, int) or not 400 <= self.status <= 599:
            raise _fail("http_error", f"got status={self.status!r}", "pass an error status from 400 to 599.")
        if self.retry_after is not None and not isinstance(self.retry_after, str):
            _check_seconds(self.retry_after, "http_error", "retry_after")
        if self.retry_after_ms is not None:
            _check_count(self.retry_after_ms, "http_error", "retry_after_ms")
        object.__setattr__(self, "headers", tuple((str(k), str(v)) for k, v in self.headers))

    def gives_a_wait(self) -> bool:
        """Whether a client is told how long to wait (a positive ``Retry-After``) or not to retry at all.

        ``writerai`` honours a wait only above 0 (and up to 60 s); otherwise it sleeps its own
        backoff, about 1, 2, 4 ... s, before each retry.
        """
        if self.retry_after_ms is not None and self.retry_after_ms > 0:
            return True
        if isinstance(self.retry_after, str):
            return self.retry_after.strip() not in ("", "0")
        if self.retry_after is not None and self.retry_after > 0:
            return True
        return any(k.lower() in ("retry-after", "retry-after-ms", "x-should-retry") for k, _ in self.headers)

    def response(self) -> ResponsePlan:
        """The complete error response."""
        body = (
            self.body if self.body is not None else json.dumps(writer_error_body(self.status, self.message))
        )
        headers = list(JSON_HEADERS)
        if self.retry_after is not None:
            value = self.retry_after
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            headers.append(("retry-after", str(value)))
        if self.retry_after_ms is not None:
            headers.append(("retry-after-ms", str(self.retry_after_ms)))
        headers.extend(self.headers)
        return ResponsePlan(
            status=self.status,
            headers=tuple(headers),
            steps=(Write(body.encode()),),
            reason=self.describe(),
        )

    def plan(self, call: Call) -> ResponsePlan:
        return self.response()


@dataclass(frozen=True)
class ConnectionRefused(Fault):
    """The connection is refused: the client sees a connect error, no status."""

    name: ClassVar[str] = "connection_refused"
    order: ClassVar[int] = 0
    replaces: ClassVar[bool] = True

    def response(self) -> ResponsePlan:
        return ResponsePlan(refuse=True, reason=self.describe())

    def plan(self, call: Call) -> ResponsePlan:
        return self.response()


@dataclass(frozen=True)
class KeepAlive(Fault):
    """A comment block after every ``every`` chunks; clients must skip it."""

    name: ClassVar[str] = "keep_alive"
    order: ClassVar[int] = 1

    every: int = 1
    comment: str = ""

    def __post_init__(self) -> None:
        _check_count(self.every, "keep_alive", "every", minimum=1)
        if "\n" in self.comment or "\r" in self.comment:
            raise _fail("keep_alive", f"got a comment with a line break ({self.comment!r})", "use one line.")


@dataclass(frozen=True)
class MalformedChunk(_Anchored):
    """A ``data:`` block that is not valid chunk JSON, after ``after_chunks`` chunks."""

    name: ClassVar[str] = "malformed_chunk"
    order: ClassVar[int] = 1

    data: str = '{"id": '


@dataclass(frozen=True)
class ErrorEvent(_Anchored):
    """An ``event: error`` block with Writer's error JSON; the server closes the stream after it."""

    name: ClassVar[str] = "error_event"
    order: ClassVar[int] = 1

    message: str = "The server had an error while processing your request."
    status: int = 500
    """Picks the error type (``tpe``) in the body; the HTTP status stays 200."""
    body: str | None = None

    def frame(self) -> Frame:
        data = (
            self.body if self.body is not None else json.dumps(writer_error_body(self.status, self.message))
        )
        return Frame(data=data, event="error", kind="inserted")


@dataclass(frozen=True)
class MissingDone(Fault):
    """The stream ends at EOF with no ``[DONE]``."""

    name: ClassVar[str] = "missing_done"
    order: ClassVar[int] = 1


@dataclass(frozen=True)
class DataAfterDone(Fault):
    """A ``data:`` block after ``[DONE]``."""

    name: ClassVar[str] = "data_after_done"
    order: ClassVar[int] = 1

    data: str = '{"id":"late"}'


@dataclass(frozen=True)
class CrlfLineEnds(Fault):
    """CRLF line ends everywhere."""

    name: ClassVar[str] = "crlf"
    order: ClassVar[int] = 2


@dataclass(frozen=True)
class Split(Fault):
    """New write boundaries over the same bytes."""

    name: ClassVar[str] = "split"
    order: ClassVar[int] = 3

    sizes: tuple[int, ...] = ()
    mid_utf8: bool = False
    mid_crlf: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "sizes", tuple(self.sizes))
        for size in self.sizes:
            _check_count(size, "split", "a size", minimum=1)
        if not (self.sizes or self.mid_utf8 or self.mid_crlf):
            raise _fail(
                "split",
                "was given no way to split",
                "pass sizes=[...] or one_byte=True, or use Fault.split_mid_utf8() / Fault.split_mid_crlf().",
            )

    def describe(self) -> str:
        """As the constructor is called: ``split(one_byte=True)``, ``split_mid_utf8()``."""
        item = self.to_yaml_item()
        if isinstance(item, str):
            return f"{item}()"
        ((name, params),) = item.items()
        return f"{name}({', '.join(f'{k}={v!r}' for k, v in params.items())})"

    def to_yaml_item(self) -> str | dict[str, Any]:
        """The constructor's form: ``split_mid_utf8``, ``split_mid_crlf``, ``split: {one_byte: true}``."""
        params = self.yaml_params()
        if params == {"mid_utf8": True}:
            return "split_mid_utf8"
        if params == {"mid_crlf": True}:
            return "split_mid_crlf"
        if params == {"sizes": [1]}:
            return {"split": {"one_byte": True}}
        return super().to_yaml_item()

    def boundaries(self, body: bytes) -> set[int]:
        """Offsets (0 < offset < len(body)) where a write must end."""
        out: set[int] = set()
        if self.sizes:
            offset, i = 0, 0
            while True:
                offset += self.sizes[i % len(self.sizes)]
                if offset >= len(body):
                    break
                out.add(offset)
                i += 1
        if self.mid_utf8:
            found = {i + 1 for i, byte in enumerate(body) if byte >= 0xC0}
            if not found:
                raise _fail(
                    "split_mid_utf8",
                    "found no multi-byte UTF-8 character in the stream",
                    "add non-ASCII text to the script, e.g. .content('h\u00e9llo \u2603').",
                )
            out |= found
        if self.mid_crlf:
            out |= {m.start() + 1 for m in re.finditer(rb"\r\n", body)}
        return out


@dataclass(frozen=True)
class Delay(Fault):
    """A slow server: time to first byte, and a pause before every write."""

    name: ClassVar[str] = "delay"
    order: ClassVar[int] = 4

    each: float = 0.0
    first_byte: float = 0.0

    def __post_init__(self) -> None:
        _check_seconds(self.each, "delay", "each")
        _check_seconds(self.first_byte, "delay", "first_byte")
        if not (self.each or self.first_byte):
            raise _fail("delay", "was given no delay", "pass each=seconds and/or first_byte=seconds.")


@dataclass(frozen=True)
class Stall(_Anchored):
    """No bytes for ``seconds`` after ``after_chunks`` chunks; past the read timeout it is a stall."""

    name: ClassVar[str] = "stall"
    order: ClassVar[int] = 4

    seconds: float = 60.0

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_seconds(self.seconds, "stall", "seconds")


@dataclass(frozen=True)
class Disconnect(_Anchored):
    """The connection drops after ``after_chunks`` chunks, or half-way into the next block."""

    name: ClassVar[str] = "disconnect"
    order: ClassVar[int] = 5

    mid_chunk: bool = False


FAULT_TYPES: dict[str, type[Fault]] = {
    cls.name: cls
    for cls in (
        HttpError,
        ConnectionRefused,
        Disconnect,
        MalformedChunk,
        ErrorEvent,
        Stall,
        Delay,
        Split,
        MissingDone,
        DataAfterDone,
        CrlfLineEnds,
        KeepAlive,
    )
}


CONSTRUCTOR_FORMS: dict[str, tuple[str, dict[str, Any]]] = {
    "split_mid_utf8": ("split", {"mid_utf8": True}),
    "split_mid_crlf": ("split", {"mid_crlf": True}),
}
"""YAML names for the ``Fault`` constructors that build a fault under another name."""


def _as_fields(cls: type[Fault], params: dict[str, Any]) -> dict[str, Any]:
    """The constructor's keywords, where they differ from the fields, as the fields: the YAML form
    takes the keys ``Fault.<name>(...)`` takes (``split: {one_byte: true}``, ``headers: {k: v}``),
    and the field names it always read."""
    params = dict(params)
    if cls is Split and "one_byte" in params:
        one_byte = params.pop("one_byte")
        if one_byte and params.get("sizes"):
            raise _fail("split", "got both sizes= and one_byte=True", "pass one or the other.")
        if one_byte:
            params["sizes"] = [1]
    if cls is HttpError and isinstance(params.get("headers"), dict):
        params["headers"] = list(params["headers"].items())
    if cls is HttpError and isinstance(params.get("body"), dict):
        params["body"] = json.dumps(params["body"])
    return params


def fault_from_yaml(item: object, where: str) -> Fault:
    """Build a fault from its YAML form: ``name`` or ``{name: {key: value}}``, keys as ``Fault.<name>()`` takes them."""
    params: Any
    if isinstance(item, str):
        name, params = item, {}
    elif isinstance(item, dict) and len(item) == 1:
        ((name, params),) = item.items()
        params = {} if params is None else params
    else:
        raise ScriptError(
            f"{where}: a fault is a name or a one-key mapping like {{disconnect: {{after_chunks: 2}}}}, "
            f"not {item!r}."
        )
    if str(name) in CONSTRUCTOR_FORMS and isinstance(params, dict) and not params:
        name, params = CONSTRUCTOR_FORMS[str(name)]
    cls = FAULT_TYPES.get(str(name))
    if cls is None:
        names = sorted([*FAULT_TYPES, *CONSTRUCTOR_FORMS])
        close = difflib.get_close_matches(str(name), names, n=1)
        guess = f" (did you mean {close[0]!r}?)" if close else ""
        raise ScriptError(f"{where}: unknown fault {name!r}{guess}; use one of {', '.join(names)}.")
    if not isinstance(params, dict):
        raise ScriptError(f"{where}: the fields of fault {name!r} must be a mapping, not {params!r}.")
    constructor = getattr(Fault, str(name), None)
    taken = set(inspect.signature(constructor).parameters) if constructor is not None else set()
    known = {f.name for f in fields(cls)} | taken  # type: ignore[arg-type]
    unknown = sorted(set(map(str, params)) - known)
    if unknown:
        keys = sorted(taken) if taken else sorted(known)
        close = difflib.get_close_matches(unknown[0], sorted(known), n=1)
        guess = f" (did you mean {close[0]!r}?)" if close else ""
        raise ScriptError(
            f"{where}: fault {name!r} has no key {', '.join(unknown)}{guess}; it takes the keys Fault.{name}() "
            f"takes: {', '.join(keys) or '(none)'}."
        )
    try:
        params = _as_fields(cls, params)
    except ScriptError as exc:
        raise ScriptError(f"{where}: {exc}") from None
    if cls is HttpError and "headers" in params:
        params = {**params, "headers": tuple(tuple(pair) for pair in params["headers"] or ())}
    if cls is Split and "sizes" in params:
        params = {**params, "sizes": tuple(params["sizes"] or ())}
    try:
        return cls(**params)
    except ScriptError as exc:
        raise ScriptError(f"{where}: {exc}") from None
    except TypeError as exc:
        raise ScriptError(f"{where}: fault {name!r} is missing a field ({exc}).") from None


def check_faults(faults: Iterable[object], where: str = "with_fault()") -> tuple[Fault, ...]:
    """The faults as a tuple, refusing non-faults and more than one replacing fault."""
    out: list[Fault] = []
    for fault in faults:
        if not isinstance(fault, Fault):
            raise ScriptError(
                f"{where} got {fault!r}, which is not a fault; build faults with Fault.disconnect(...), "
                "Fault.http_error(...) and the other Fault constructors."
            )
        out.append(fault)
    replacing = [f for f in out if f.replaces]
    if len(replacing) > 1:
        raise ScriptError(
            f"{where} got {len(replacing)} faults that each replace the whole response "
            f"({', '.join(f.describe() for f in replacing)}); a response can only be one of them, "
            "so keep one, or queue the others as separate replies."
        )
    return tuple(out)

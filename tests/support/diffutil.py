"""Shared helpers for differential tests against the official SDK (``writerai``).

``plain()`` turns an event, a completion or any value from either library into
plain data (class names, which fields were set, and values) so the two sides can
be compared with ``==`` and a readable diff. ``sse_chunks()`` reads a recorded
SSE body into chunk dicts without depending on the kit's own SSE decoder.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import httpx
import pydantic

RECORDINGS = Path(__file__).parents[1] / "data" / "recorded-sse"

# Our class names that differ from the SDK's only because Python cannot hold two
# classes of one name in one module (the SDK has two classes called `Function`).
CLASS_ALIASES = {"ToolCallStreamingFunction": "Function"}


def class_name(obj: object) -> str:
    name = type(obj).__name__
    return CLASS_ALIASES.get(name, name)


_LEAVES = frozenset({str, int, float, bool, type(None)})


@functools.cache
def _declared(cls: type[pydantic.BaseModel]) -> tuple[tuple[str, ...], frozenset[str]]:
    fields = tuple(cls.model_fields)
    return fields, frozenset(fields)


def plain(value: Any, *, with_set: bool = True, seen: dict[int, tuple[Any, Any]] | None = None) -> Any:
    """``value`` as JSON-like data: models become dicts with ``__class__`` (and ``__set__``).

    Called for every event of every generated stream (and, looking live, for every
    snapshot), so leaves are kept without a call and each class's field list is found
    without a second look. With ``seen`` (see ``plain_all``), a model met again is not
    dumped again.
    """
    kind = type(value)
    if kind in _LEAVES:
        return value
    if isinstance(value, pydantic.BaseModel):
        if seen is not None:
            hit = seen.get(id(value))
            if hit is not None:
                return hit[1]
        fields, declared = _declared(kind)
        out: dict[str, Any] = {"__class__": CLASS_ALIASES.get(kind.__name__, kind.__name__)}
        if with_set:
            # Declared fields only: pydantic counts extras as "set" after validation but not
            # after construction, and to_dict() shows extras either way.
            out["__set__"] = sorted(value.model_fields_set & declared)
        for name in fields:
            field = getattr(value, name)
            out[name] = field if type(field) in _LEAVES else plain(field, with_set=with_set, seen=seen)
        for name, extra in (value.model_extra or {}).items():
            out["extra:" + name] = (
                extra if type(extra) in _LEAVES else plain(extra, with_set=with_set, seen=seen)
            )
        if seen is not None:
            seen[id(value)] = (value, out)  # holding the model keeps its id from being reused
        return out
    if kind is list or kind is tuple or isinstance(value, (list, tuple)):
        return [
            item if type(item) in _LEAVES else plain(item, with_set=with_set, seen=seen) for item in value
        ]
    if isinstance(value, dict):
        return {key: plain(item, with_set=with_set, seen=seen) for key, item in value.items()}
    return value


def plain_all(values: Iterable[Any]) -> list[Any]:
    """``[plain(v) for v in values]``, each model in them dumped once however often it recurs.

    After a stream has ended, every chunk event holds the same snapshot object: dumping
    it once per event made each differential run quadratic in the stream's length.
    Nothing changes while the values are dumped, so a model's dump is the same wherever
    it recurs; the dumps share it, so callers must not change them in place.
    """
    seen: dict[int, tuple[Any, Any]] = {}
    return [plain(value, seen=seen) for value in values]


def exception_name(exc: BaseException | None) -> str | None:
    return None if exc is None else type(exc).__name__


def sse_bodies(path: Path) -> list[str]:
    """The ``data:`` payloads of a recorded SSE body, up to (not including) ``[DONE]``."""
    payloads = []
    for block in re.split(r"\n\n+", path.read_text()):
        lines = [line[len("data:") :].lstrip() for line in block.splitlines() if line.startswith("data:")]
        if not lines:
            continue
        data = "\n".join(lines)
        if data.startswith("[DONE]"):
            break
        payloads.append(data)
    return payloads


def sse_chunks(path: Path) -> list[dict[str, Any]]:
    return [json.loads(body) for body in sse_bodies(path)]


def sse_body(chunks: Iterable[dict[str, Any]], *, done: bool = True) -> bytes:
    """Encode chunk dicts as an SSE response body."""
    text = "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in chunks)
    if done:
        text += "data: [DONE]\n\n"
    return text.encode()


def mock_transport(body: bytes) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    return httpx.MockTransport(handler)


class Run:
    """The observable result of one helper run: events as yielded, then after the end."""

    def __init__(self) -> None:
        self.live: list[Any] = []
        self.events: list[Any] = []
        self.after: list[Any] = []
        self.final: Any = None
        self.error: str | None = None
        self.final_error: str | None = None


def drive(
    events: Iterable[Any],
    get_final: Callable[[], Any],
    *,
    look_live: bool,
) -> Run:
    """Consume ``events``; when ``look_live``, dump each event (snapshot included) as it is yielded."""
    run = Run()
    try:
        for event in events:
            run.events.append(event)
            if look_live:
                run.live.append(plain(event))
    except Exception as exc:
        run.error = exception_name(exc)
    run.after = plain_all(run.events)
    if run.error is None:
        try:
            run.final = plain(get_final())
        except Exception as exc:
            run.final_error = exception_name(exc)
    return run


def leaf_difference(a: Any, b: Any, path: str = "") -> str | None:
    """The path to the first place two plain values differ, with both values there."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in [*a, *(k for k in b if k not in a)]:
            if key not in a or key not in b:
                return f"{path}/{key}: only in {'theirs' if key not in a else 'ours'}"
            found = leaf_difference(a[key], b[key], f"{path}/{key}")
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            found = leaf_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        return None if len(a) == len(b) else f"{path}: {len(a)} items in ours, {len(b)} in theirs"
    return None if a == b else f"{path}: ours {a!r:.300} != theirs {b!r:.300}"


def first_difference(ours: list[Any], theirs: list[Any]) -> str:
    """A readable pointer to where two event dumps first differ."""
    for position, (a, b) in enumerate(zip(ours, theirs, strict=False)):
        if a != b:
            return (
                f"event {position} differs at {leaf_difference(a, b)}:\n"
                f" ours:   {json.dumps(a, default=repr)[:3000]}\n theirs: {json.dumps(b, default=repr)[:3000]}"
            )
    if len(ours) != len(theirs):
        return f"ours has {len(ours)} events, theirs {len(theirs)}"
    return "no difference"

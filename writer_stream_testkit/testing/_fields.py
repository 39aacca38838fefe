"""Field values read and written alike for the transcript, the contract rules and the event-order check.

Events from ``writerai`` and from this kit are models or dicts; these read either, and render a value on one
deterministic line. A private module with plain names, so the three share them without reaching into each other.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

import pydantic

__all__ = ["MISSING", "as_list", "flat_fields", "format_value", "get_field", "length_text", "plain_value"]

MISSING = object()
"""What ``get_field`` returns for a field that is not there (``None`` is a value)."""


# --- values ---------------------------------------------------------------------------------------


def get_field(obj: object, name: str) -> object:
    """An attribute or mapping key, or ``MISSING``; models and dicts read alike."""
    if obj is None or obj is MISSING:
        return MISSING
    if isinstance(obj, Mapping):
        return obj.get(name, MISSING)
    return getattr(obj, name, MISSING)


def as_list(value: object) -> list[object]:
    """A sequence field as a list; absent or ``None`` reads as empty."""
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return list(value)
    return []


def length_text(value: object) -> str:
    return str(len(value)) if isinstance(value, (str, list, tuple)) else format_value(value)


def plain_value(value: object) -> object:
    """Models and dataclasses as plain dicts and lists, for comparing values across implementations."""
    if isinstance(value, pydantic.BaseModel):
        return {key: plain_value(item) for key, item in value.model_dump(mode="python").items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: plain_value(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {key: plain_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_value(item) for item in value]
    return value


def flat_fields(value: object) -> str:
    """A nested model or dict as sorted ``a.b=1`` pairs, leaving out ``None`` fields."""
    pairs: list[tuple[str, object]] = []

    def walk(prefix: str, item: object) -> None:
        if isinstance(item, Mapping):
            for key, sub in item.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif item is not None:
            pairs.append((prefix, item))

    walk("", plain_value(value))
    return " ".join(f"{key}={format_value(item)}" for key, item in sorted(pairs, key=lambda pair: pair[0]))


def format_value(value: object) -> str:
    """A compact, deterministic, single-line rendering of a field value."""
    if value is MISSING:
        return "<missing>"
    if value is None or isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, Mapping):
        items = sorted(value.items(), key=lambda item: str(item[0]))
        return "{" + ", ".join(f"{format_value(key)}: {format_value(item)}" for key, item in items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(item) for item in value) + "]"
    if isinstance(value, pydantic.BaseModel):
        names = [*type(value).model_fields, *(value.model_extra or {})]
        return _call(type(value).__name__, [(name, getattr(value, name, None)) for name in names])
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = [(field.name, getattr(value, field.name)) for field in dataclasses.fields(value)]
        return _call(type(value).__name__, fields)
    return f"<{type(value).__name__}>"


def _call(name: str, fields: list[tuple[str, object]]) -> str:
    return f"{name}(" + ", ".join(f"{key}={format_value(item)}" for key, item in fields) + ")"


_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _quote(text: str) -> str:
    """Single-quoted and ASCII-only, so every value stays on one line whatever it holds."""
    out = []
    for char in text:
        code = ord(char)
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif 0x20 <= code < 0x7F:
            out.append(char)
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "'" + "".join(out) + "'"

"""Logprob normalisation for chat scripts: the short token forms a test writes, made whole."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

from ..errors import ScriptError

TokenSpec: TypeAlias = float | tuple[str, float] | Sequence[Any] | Mapping[str, Any]
"""A logprob token: ``-0.1`` (the piece is the token), ``("Hi", -0.1)``, or a full dict."""

PieceLogprobs: TypeAlias = TokenSpec | Sequence[TokenSpec] | None
"""The logprobs of one piece: one token spec, a list of them, or None for none."""

Json: TypeAlias = Any


# --- Logprob normalisation ---------------------------------------------------------------------


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ScriptError(f"{where}: logprob {value!r} is not a finite number; pass e.g. -0.25.")
    return float(value)


def _top(spec: object, where: str) -> dict[str, Any]:
    if isinstance(spec, Mapping):
        token, logprob = spec.get("token"), spec.get("logprob")
        raw_bytes = spec.get("bytes", "auto")
    elif isinstance(spec, Sequence) and not isinstance(spec, str) and len(spec) == 2:
        token, logprob = spec
        raw_bytes = "auto"
    else:
        raise ScriptError(f"{where}: a top logprob is (token, logprob) or a dict, not {spec!r}.")
    if not isinstance(token, str):
        raise ScriptError(f"{where}: token {token!r} is not a string.")
    out: dict[str, Any] = {"token": token, "logprob": _number(logprob, where)}
    out["bytes"] = list(token.encode()) if raw_bytes == "auto" else _bytes(raw_bytes, where)
    return out


def _bytes(value: object, where: str) -> list[int] | None:
    if value is None:
        return None
    if isinstance(value, Sequence) and all(
        isinstance(b, int) and not isinstance(b, bool) and 0 <= b <= 255 for b in value
    ):
        return list(value)
    raise ScriptError(f"{where}: bytes must be a list of integers 0-255 or null, not {value!r}.")


def _token(spec: object, piece: str | None, where: str) -> dict[str, Any]:
    """One token in the wire shape: token, logprob, bytes, top_logprobs."""
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        if piece is None:
            raise ScriptError(
                f"{where}: a bare logprob needs a piece to name its token; pass (token, logprob)."
            )
        token: object = piece
        logprob: object = spec
        raw_bytes: object = "auto"
        tops: object = []
    elif isinstance(spec, Mapping):
        unknown = set(spec) - {"token", "logprob", "bytes", "top_logprobs"}
        if unknown or "logprob" not in spec:
            raise ScriptError(
                f"{where}: a logprob dict has token, logprob, and optionally bytes and top_logprobs; "
                f"got {dict(spec)!r}."
            )
        token = spec.get("token", piece)
        logprob = spec["logprob"]
        raw_bytes = spec.get("bytes", "auto")
        tops = spec.get("top_logprobs", [])
    elif (
        isinstance(spec, Sequence)
        and not isinstance(spec, str)
        and len(spec) == 2
        and isinstance(spec[0], str)
    ):
        token, logprob = spec
        raw_bytes, tops = "auto", []
    else:
        raise ScriptError(f"{where}: {spec!r} is not a logprob; use -0.1, ('token', -0.1) or a dict.")
    if not isinstance(token, str):
        raise ScriptError(f"{where}: token {token!r} is not a string.")
    if not isinstance(tops, Sequence) or isinstance(tops, str):
        raise ScriptError(f"{where}: top_logprobs must be a list, not {tops!r}.")
    return {
        "token": token,
        "logprob": _number(logprob, where),
        "bytes": list(token.encode()) if raw_bytes == "auto" else _bytes(raw_bytes, where),
        "top_logprobs": [_top(t, where) for t in tops],
    }


def _is_single_token(spec: object) -> bool:
    if isinstance(spec, (int, float, Mapping)) and not isinstance(spec, bool):
        return True
    return (
        isinstance(spec, Sequence)
        and not isinstance(spec, str)
        and len(spec) == 2
        and isinstance(spec[0], str)
    )


def _tokens(specs: object, piece: str | None, where: str) -> tuple[dict[str, Any], ...]:
    """One piece's tokens from a single spec or a list of specs."""
    if _is_single_token(specs):
        return (_token(specs, piece, where),)
    if isinstance(specs, Sequence) and not isinstance(specs, str):
        return tuple(_token(s, None, where) for s in specs)
    raise ScriptError(f"{where}: {specs!r} is not a logprob or a list of logprobs.")


def piece_logprobs(
    pieces: tuple[str, ...], logprobs: object, where: str
) -> tuple[tuple[dict[str, Any], ...] | None, ...] | None:
    if logprobs is None:
        return None
    if not isinstance(logprobs, Sequence) or isinstance(logprobs, str) or len(logprobs) != len(pieces):
        raise ScriptError(
            f"{where}: logprobs must be a list with one entry per piece ({len(pieces)}), "
            f"each a logprob, a list of them, or None; got {logprobs!r}."
        )
    return tuple(
        None if spec is None else _tokens(spec, piece, where)
        for piece, spec in zip(pieces, logprobs, strict=True)
    )


def token_list(specs: object, where: str) -> tuple[dict[str, Any], ...]:
    if not isinstance(specs, Sequence) or isinstance(specs, str):
        raise ScriptError(f"{where}: pass a list of tokens, not {specs!r}.")
    return tuple(_token(s, None, where) for s in specs)

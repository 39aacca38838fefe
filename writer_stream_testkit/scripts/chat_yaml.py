"""The YAML form of a chat script: steps out, steps in, with the place of every problem."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import ScriptError
from ._values import plain_copy
from .base import YamlCall
from .steps import (
    ChatStep,
    ContentStep,
    DataStep,
    FinishStep,
    LogprobsStep,
    ToolCallStep,
    UsageStep,
    default_call_id,
)

if TYPE_CHECKING:
    from .chat import StreamScript

# --- YAML steps ---------------------------------------------------------------------------------


def steps_to_yaml(steps: Sequence[ChatStep]) -> list[Any]:
    out: list[Any] = []
    opened: dict[int, int] = {}
    for step in steps:
        if isinstance(step, ContentStep):
            pieces = list(step.pieces)
            if step.choice == 0 and step.logprobs is None:
                out.append({step.key: pieces})
            else:
                body: dict[str, Any] = {"pieces": pieces}
                if step.choice:
                    body["choice"] = step.choice
                if step.logprobs is not None:
                    body["logprobs"] = [
                        _compact_piece(t, piece) for t, piece in zip(step.logprobs, step.pieces, strict=True)
                    ]
                out.append({step.key: body})
        elif isinstance(step, ToolCallStep):
            call: dict[str, Any] = {"name": step.name, "arguments": list(step.arguments)}
            default_index = opened.get(step.choice, 0)
            if step.opens:
                opened[step.choice] = max(default_index, step.index + 1)
            if not step.opens or step.index != default_index:
                call["index"] = step.index
            if step.opens and step.id != default_call_id(step.choice, step.index):
                call["id"] = step.id
            if step.choice:
                call["choice"] = step.choice
            out.append({"tool_call": call})
        elif isinstance(step, LogprobsStep):
            body = {}
            if step.content is not None:
                body["content"] = [_compact_token(t) for t in step.content]
            if step.refusal is not None:
                body["refusal"] = [_compact_token(t) for t in step.refusal]
            if step.choice:
                body["choice"] = step.choice
            out.append({"logprobs": body})
        elif isinstance(step, DataStep):
            body = dict(plain_copy(step.value))
            if step.choice:
                body["choice"] = step.choice
            out.append({step.field: body})
        elif isinstance(step, UsageStep):
            usage = plain_copy(step.usage)
            flat = {k: usage[k] for k in ("prompt_tokens", "completion_tokens", "total_tokens")}
            if "completion_tokens_details" in usage:
                flat["reasoning_tokens"] = usage["completion_tokens_details"]["reasoning_tokens"]
            if "prompt_token_details" in usage:
                flat["cached_tokens"] = usage["prompt_token_details"]["cached_tokens"]
            out.append({"usage": flat})
        elif isinstance(step, FinishStep):
            out.append(
                {
                    "finish": step.reason
                    if step.choice == 0
                    else {"reason": step.reason, "choice": step.choice}
                }
            )
        else:
            out.append({"raw": plain_copy(step.chunk)})
    return out


def _compact_token(token: dict[str, Any]) -> Any:
    """The shortest YAML form that reads back to the same token."""
    auto = token["bytes"] == list(token["token"].encode())
    if auto and not token["top_logprobs"]:
        return [token["token"], token["logprob"]]
    out: dict[str, Any] = {"token": token["token"], "logprob": token["logprob"]}
    if not auto:
        out["bytes"] = token["bytes"]
    if token["top_logprobs"]:
        out["top_logprobs"] = [
            [t["token"], t["logprob"]] if t["bytes"] == list(t["token"].encode()) else dict(t)
            for t in token["top_logprobs"]
        ]
    return out


def _compact_piece(tokens: tuple[dict[str, Any], ...] | None, piece: str) -> Any:
    if tokens is None:
        return None
    if len(tokens) == 1:
        (token,) = tokens
        if token["token"] == piece and token["bytes"] == list(piece.encode()) and not token["top_logprobs"]:
            return token["logprob"]
    return [_compact_token(t) for t in tokens]


# --- YAML steps in: the chat's call table, read by the loop every script shares ---------------


def _fields(value: object, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ScriptError(f"expected a mapping of {', '.join(sorted(allowed))}, not {value!r}.")
    unknown = sorted(set(map(str, value)) - allowed)
    if unknown:
        raise ScriptError(f"unknown field {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}.")
    return value


def _pieces(name: str) -> YamlCall:
    """``content`` / ``refusal``: a string, a list of pieces, or a mapping with pieces, choice, logprobs."""

    def call(script: StreamScript, value: Any) -> StreamScript:
        method = getattr(script, name)
        if isinstance(value, str):
            return method(value)  # type: ignore[no-any-return]
        if isinstance(value, list):
            return method(*value)  # type: ignore[no-any-return]
        body = _fields(value, {"pieces", "choice", "logprobs"})
        pieces = body.get("pieces", [])
        pieces = [pieces] if isinstance(pieces, str) else pieces
        if not isinstance(pieces, list):
            raise ScriptError(f"pieces must be a list of strings, not {pieces!r}.")
        return method(*pieces, choice=body.get("choice", 0), logprobs=body.get("logprobs"))  # type: ignore[no-any-return]

    return call


def _keywords(name: str, allowed: set[str]) -> YamlCall:
    """A step whose mapping is the builder's keyword arguments, unknown ones named."""

    def call(script: StreamScript, value: Any) -> StreamScript:
        return getattr(script, name)(**_fields(value, allowed))  # type: ignore[no-any-return]

    return call


def _tool_call(script: StreamScript, value: Any) -> StreamScript:
    body = _fields(value, {"name", "arguments", "id", "index", "choice"})
    if "name" not in body:
        raise ScriptError("a tool_call needs a name.")
    return script.tool_call(
        body["name"],
        body.get("arguments", []),
        id=body.get("id"),
        index=body.get("index"),
        choice=body.get("choice", 0),
    )


def _finish(script: StreamScript, value: Any) -> StreamScript:
    if value is None or isinstance(value, str):  # `- finish:` alone takes the default reason
        return script.finish(value)
    body = _fields(value, {"reason", "choice"})
    return script.finish(body.get("reason"), choice=body.get("choice", 0))


def _raw(script: StreamScript, value: Any) -> StreamScript:
    if not isinstance(value, (dict, str)):
        raise ScriptError(f"raw takes a chunk mapping or a data string, not {value!r}.")
    return script.raw(value)


def _fielded(call: YamlCall) -> YamlCall:
    """``call``, with wrong keyword arguments read as a problem of the step rather than a ``TypeError``."""

    def checked(script: Any, value: Any) -> Any:
        try:
            return call(script, value)
        except TypeError as exc:
            raise ScriptError(f"wrong fields for this step ({exc}).") from None

    return checked


CHAT_STEPS: dict[str, YamlCall] = {
    key: _fielded(call)
    for key, call in (
        ("content", _pieces("content")),
        ("refusal", _pieces("refusal")),
        ("tool_call", _tool_call),
        ("logprobs", _keywords("logprobs", {"content", "refusal", "choice"})),
        ("graph_data", _keywords("graph_data", {"sources", "status", "subqueries", "references", "choice"})),
        ("llm_data", _keywords("llm_data", {"model", "prompt", "choice"})),
        (
            "translation_data",
            _keywords(
                "translation_data", {"source_language_code", "source_text", "target_language_code", "choice"}
            ),
        ),
        (
            "usage",
            _keywords(
                "usage",
                {"prompt_tokens", "completion_tokens", "total_tokens", "reasoning_tokens", "cached_tokens"},
            ),
        ),
        ("finish", _finish),
        ("raw", _raw),
    )
}
"""How each YAML step calls its builder: the chat's call table, read by ``base.parts_from_yaml``
as the completion, question and application scripts' tables are."""

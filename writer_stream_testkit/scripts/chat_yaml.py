"""The YAML form of a chat script: steps out, steps in, with the place of every problem."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import ScriptError
from ._values import plain_copy
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


_STEP_KEYS = (
    "content",
    "refusal",
    "tool_call",
    "logprobs",
    "graph_data",
    "llm_data",
    "translation_data",
    "usage",
    "finish",
    "raw",
)


def step_from_yaml(script: StreamScript, item: object, where: str) -> StreamScript:
    if not isinstance(item, dict) or len(item) != 1:
        raise ScriptError(
            f"{where}: a step is a one-key mapping like {{content: [Hi]}} or {{finish: stop}}, not {item!r}."
        )
    ((key, value),) = item.items()
    where = f"{where} ({key})"
    if key not in _STEP_KEYS:
        raise ScriptError(f"{where}: unknown step {key!r}; use one of {', '.join(_STEP_KEYS)}.")
    try:
        return _build_step(script, str(key), value, where)
    except ScriptError as exc:
        message = str(exc)
        raise ScriptError(message if message.startswith(where) else f"{where}: {message}") from None
    except TypeError as exc:
        raise ScriptError(f"{where}: wrong fields for this step ({exc}).") from None


def _fields(value: object, allowed: set[str], where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ScriptError(f"{where}: expected a mapping of {', '.join(sorted(allowed))}, not {value!r}.")
    unknown = sorted(set(map(str, value)) - allowed)
    if unknown:
        raise ScriptError(
            f"{where}: unknown field {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}."
        )
    return value


def _build_step(script: StreamScript, key: str, value: Any, where: str) -> StreamScript:
    if key in ("content", "refusal"):
        method = script.content if key == "content" else script.refusal
        if isinstance(value, str):
            return method(value)
        if isinstance(value, list):
            return method(*value)
        body = _fields(value, {"pieces", "choice", "logprobs"}, where)
        pieces = body.get("pieces", [])
        pieces = [pieces] if isinstance(pieces, str) else pieces
        if not isinstance(pieces, list):
            raise ScriptError(f"{where}: pieces must be a list of strings, not {pieces!r}.")
        return method(*pieces, choice=body.get("choice", 0), logprobs=body.get("logprobs"))
    if key == "tool_call":
        body = _fields(value, {"name", "arguments", "id", "index", "choice"}, where)
        if "name" not in body:
            raise ScriptError(f"{where}: a tool_call needs a name.")
        return script.tool_call(
            body["name"],
            body.get("arguments", []),
            id=body.get("id"),
            index=body.get("index"),
            choice=body.get("choice", 0),
        )
    if key == "logprobs":
        body = _fields(value, {"content", "refusal", "choice"}, where)
        return script.logprobs(
            content=body.get("content"), refusal=body.get("refusal"), choice=body.get("choice", 0)
        )
    if key == "graph_data":
        body = _fields(value, {"sources", "status", "subqueries", "references", "choice"}, where)
        return script.graph_data(**body)
    if key == "llm_data":
        return script.llm_data(**_fields(value, {"model", "prompt", "choice"}, where))
    if key == "translation_data":
        allowed = {"source_language_code", "source_text", "target_language_code", "choice"}
        return script.translation_data(**_fields(value, allowed, where))
    if key == "usage":
        allowed = {"prompt_tokens", "completion_tokens", "total_tokens", "reasoning_tokens", "cached_tokens"}
        return script.usage(**_fields(value, allowed, where))
    if key == "finish":
        if value is None or isinstance(value, str):  # `- finish:` alone takes the default reason
            return script.finish(value)
        body = _fields(value, {"reason", "choice"}, where)
        return script.finish(body.get("reason"), choice=body.get("choice", 0))
    if not isinstance(value, (dict, str)):
        raise ScriptError(f"{where}: raw takes a chunk mapping or a data string, not {value!r}.")
    return script.raw(value)

"""Assembling the non-streaming completion a chat script stands for."""

from __future__ import annotations

from typing import Any

from .steps import DATA_FIELDS

# --- Completion assembly ------------------------------------------------------------------------


def empty_choice(index: int) -> dict[str, Any]:
    return {
        "index": index,
        "content": None,
        "refusal": None,
        "tools": {},
        "data": {},
        "logprobs": None,
        "finish": None,
    }


def fold_delta(state: dict[str, Any], raw: dict[str, Any]) -> None:
    delta = raw.get("delta") or {}
    for name in ("content", "refusal"):
        if isinstance(delta.get(name), str):
            state[name] = (state[name] or "") + delta[name]
    for call in delta.get("tool_calls") or []:
        slot = state["tools"].setdefault(call.get("index", 0), {"id": None, "name": None, "arguments": ""})
        slot["id"] = call.get("id") or slot["id"]
        function = call.get("function") or {}
        slot["name"] = function.get("name") or slot["name"]
        slot["arguments"] += function.get("arguments") or ""
    for name in DATA_FIELDS:
        if delta.get(name) is not None:
            state["data"][name] = delta[name]
    logprobs = raw.get("logprobs")
    if isinstance(logprobs, dict):
        merged = state["logprobs"] or {"content": None, "refusal": None}
        for name in ("content", "refusal"):
            if logprobs.get(name) is not None:
                merged[name] = (merged[name] or []) + list(logprobs[name])
        state["logprobs"] = merged
    if raw.get("finish_reason") is not None:
        state["finish"] = raw["finish_reason"]


def finish_choice(state: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": state["content"] or "",
        "refusal": state["refusal"],
    }
    if state["tools"]:
        message["tool_calls"] = [
            {
                "id": slot["id"],
                "type": "function",
                "function": {"name": slot["name"], "arguments": slot["arguments"]},
            }
            for _, slot in sorted(state["tools"].items())
        ]
    message.update(state["data"])
    finish = state["finish"] or ("tool_calls" if state["tools"] else "stop")
    return {
        "index": state["index"],
        "message": message,
        "logprobs": state["logprobs"],
        "finish_reason": finish,
    }

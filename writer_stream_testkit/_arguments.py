"""What a chat call takes: its parameters, the checks writerai makes before sending, and the body.

``chat.chat``, ``chat.stream`` and ``chat.parse`` check their arguments as writerai does
(its ``required_args`` and Python's own signature checks, worded the same), then build the
JSON body in the SDK's key order with every left-out field left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypedDict, cast

import httpx
from typing_extensions import Required

from ._sentinels import NOT_GIVEN, NotGiven, is_left_out
from .helpers.parsing import type_to_response_format_param, validate_input_tools

__all__ = [
    "BODY_ORDER",
    "PLAIN",
    "REQUIRED",
    "UNTYPED_KEYS",
    "ChatParams",
    "chat_body",
    "check_chat_call",
    "check_helper_call",
    "check_keywords",
    "given_tools",
    "parse_arguments",
    "stream_arguments",
    "without_markers",
]


class ChatParams(TypedDict, total=False):
    """What ``chat.chat`` and ``chat.stream`` take besides ``stream`` and ``response_format``.

    The body fields are the SDK's ``chat_chat_params``; a field left out is
    left out of the JSON. The ``extra_*`` keys and ``timeout`` shape the
    request itself, as in the SDK.
    """

    messages: Required[Iterable[Mapping[str, Any]]]
    model: Required[str]
    logprobs: bool
    max_tokens: int
    n: int
    stop: Iterable[str] | str
    stream_options: Mapping[str, Any]
    temperature: float
    tool_choice: Mapping[str, Any]
    tools: Iterable[Mapping[str, Any]]
    top_p: float
    extra_headers: Mapping[str, str] | None
    extra_query: Mapping[str, object] | None
    extra_body: Mapping[str, object] | None
    timeout: float | httpx.Timeout | None


PARAM_NAMES = ChatParams.__required_keys__ | ChatParams.__optional_keys__


def check_keywords(params: Mapping[str, object], method: str) -> None:
    """Refuse a keyword the SDK's signature lacks, as Python refuses it there (a typo must not vanish)."""
    for name in params:
        if name not in PARAM_NAMES:
            raise TypeError(f"{method}() got an unexpected keyword argument {name!r}")


REQUIRED = ("messages", "model")
"""The arguments every chat call needs; writerai refuses a call without them before sending anything."""


def check_chat_call(params: Mapping[str, object], method: str) -> None:
    """``chat.chat``'s checks in writerai's order: its ``required_args`` first, then the signature."""
    if not all(name in params for name in REQUIRED):
        raise TypeError(
            "Missing required arguments; Expected either ('messages' and 'model') or "
            "('messages', 'model' and 'stream') arguments to be given"
        )
    check_keywords(params, method)


def check_helper_call(
    params: Mapping[str, object],
    method: str,
    required: tuple[str, ...] = REQUIRED,
    *,
    also: Iterable[str] = (),
    refused: Iterable[str] = (),
) -> None:
    """``chat.stream`` / ``chat.parse``: Python's own signature checks, worded as Python words them.

    ``also`` names the required arguments given outside ``params``; ``refused`` the
    ``ChatParams`` keys that this method's signature in writerai lacks.
    """
    check_keywords(params, method)
    for name in refused:
        if name in params:
            raise TypeError(f"{method}() got an unexpected keyword argument {name!r}")
    given = {*params, *also}
    missing = [repr(name) for name in required if name not in given]
    if missing:
        names = (
            missing[0]
            if len(missing) == 1
            else f"{missing[0]} and {missing[1]}"
            if len(missing) == 2
            else f"{', '.join(missing[:-1])}, and {missing[-1]}"
        )
        plural = "argument" if len(missing) == 1 else "arguments"
        raise TypeError(f"{method}() missing {len(missing)} required keyword-only {plural}: {names}")


BODY_ORDER = (
    "messages",
    "model",
    "logprobs",
    "max_tokens",
    "n",
    "response_format",
    "stop",
    "stream",
    "stream_options",
    "temperature",
    "tool_choice",
    "tools",
    "top_p",
)
"""The body keys in the order the SDK writes them, so our request bytes equal its own."""


UNTYPED_KEYS = frozenset({"parameters", "json_schema", "value"})
"""Keys whose values writerai's request types leave free-form (a function tool's JSON-schema
``parameters``, ``response_format.json_schema``, ``tool_choice.value``): it strips no marker
inside them, so one there fails to encode, as it does in writerai."""


PLAIN = frozenset({str, int, float, bool, type(None)})
"""Types that are never a marker and hold nothing: the walk below passes them by at once."""


def without_markers(value: object) -> object:
    """``value`` with every mapping entry holding a "leave it out" marker left out, at any depth.

    writerai's request transform does this wherever its TypedDicts reach (a message's
    ``name``, a tool's ``description``, ``stream_options``' fields), but not inside the
    free-form values of :data:`UNTYPED_KEYS`, nor to list items. Iterables other than
    strings, mappings and models (a generator of tools) are read once, into a list.
    """
    kind = type(value)
    if kind in PLAIN:
        return value
    if kind is dict or isinstance(value, Mapping):
        return {
            key: item if key in UNTYPED_KEYS else without_markers(item)
            for key, item in cast("Mapping[str, object]", value).items()
            if type(item) in PLAIN or not is_left_out(item)
        }
    if kind is list or kind is tuple:
        return [without_markers(item) for item in cast("Iterable[object]", value)]
    if isinstance(value, (bytes, bytearray)) or hasattr(value, "model_dump"):
        return value
    if isinstance(value, Iterable):
        return [without_markers(item) for item in value]
    return value


def chat_body(params: ChatParams, response_format: object, stream: object) -> dict[str, object]:
    """The JSON body in the SDK's key order, with left-out fields left out (nested ones too)."""
    given: Mapping[str, object] = {**params, "response_format": response_format, "stream": stream}
    return {
        key: without_markers(given[key]) for key in BODY_ORDER if key in given and not is_left_out(given[key])
    }


def given_tools(params: ChatParams) -> list[Mapping[str, Any]]:
    """The request's tools as a list ([] when left out), read once: a generator is sent and parsed alike."""
    tools = params.get("tools", NOT_GIVEN)
    return [] if is_left_out(tools) else list(cast("Iterable[Mapping[str, Any]]", tools))


def stream_arguments(
    response_format: type[Any] | Mapping[str, Any] | NotGiven, params: ChatParams
) -> tuple[ChatParams, Mapping[str, Any] | NotGiven, type[Any] | None]:
    """``chat.stream``'s request parameters, the body's ``response_format``, and the class to parse into.

    Like the SDK's ``stream``, it marks the request with
    ``X-Stainless-Helper-Method: chat.stream`` (a caller's own value wins). A
    response_format class is sent as its strict JSON schema and, as the SDK's
    ``parse`` does before parsing, the tools must then be strict function tools.
    A response_format dict is sent as given and parses nothing.
    """
    params = params.copy()
    params["extra_headers"] = {
        "X-Stainless-Helper-Method": "chat.stream",
        **(params.get("extra_headers") or {}),
    }
    if "tools" in params and not is_left_out(params["tools"]):
        params["tools"] = given_tools(params)  # read twice below, so no one-shot iterators
    if isinstance(response_format, type):
        validate_input_tools(given_tools(params))
        body_format = cast("Mapping[str, Any]", type_to_response_format_param(response_format))
        return params, body_format, response_format
    return params, response_format, None


def parse_arguments(
    response_format: object, params: ChatParams
) -> tuple[ChatParams, Mapping[str, Any] | NotGiven]:
    """``chat.parse``'s request parameters and the body's ``response_format``, as writerai's ``parse``.

    The tools must be strict function tools (checked before anything is sent), and the
    class is sent as its strict JSON schema. writerai's ``omit`` / ``NOT_GIVEN`` send no
    schema (and parse nothing), as there; ``None`` is refused before sending, where
    writerai fails with a bare ``TypeError`` from ``issubclass``.
    """
    params = params.copy()
    if "tools" in params and not is_left_out(params["tools"]):
        params["tools"] = given_tools(params)
    validate_input_tools(given_tools(params))
    if is_left_out(response_format):
        return params, NOT_GIVEN
    if response_format is None:
        raise TypeError(
            "Unsupported response_format None; pass a pydantic model, a pydantic dataclass or a "
            "response_format dict."
        )
    return params, cast(
        "Mapping[str, Any]", type_to_response_format_param(cast("type[Any]", response_format))
    )

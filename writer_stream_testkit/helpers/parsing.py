"""``response_format`` and tool handling: strict schemas, argument parsing, the final parse.

Mirrors ``writerai.lib._parsing`` / ``_tools`` / ``_pydantic`` rule for rule, so a
completion parses (or refuses to) exactly where the SDK's would.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar, cast

import pydantic

from .._sentinels import is_left_out
from ..errors import ContentFilterFinishReasonError, LengthFinishReasonError
from ..wire.construct import construct
from ..wire.types import Logprobs, ParsedChatCompletion, ParsedChatCompletionChoice

__all__ = [
    "PydanticFunctionTool",
    "construct",
    "format_or_none",
    "get_input_tool_by_name",
    "has_parseable_input",
    "has_rich_response_format",
    "is_parseable_tool",
    "maybe_parse_content",
    "parse_chat_completion",
    "parse_function_tool_arguments",
    "pydantic_function_tool",
    "solve_response_format_t",
    "to_strict_json_schema",
    "tool_model",
    "tools_or_none",
    "type_to_response_format_param",
    "validate_input_tools",
]

M = TypeVar("M", bound=pydantic.BaseModel)
ToolParam = Mapping[str, Any]


# --- strict JSON schemas and tools ----------------------------------------------------------------


class PydanticFunctionTool(dict[str, Any]):
    """A function definition that remembers the pydantic model it came from."""

    model: type[pydantic.BaseModel]

    def __init__(self, defn: Mapping[str, Any], model: type[pydantic.BaseModel]) -> None:
        super().__init__(defn)
        self.model = model


def pydantic_function_tool(
    model: type[pydantic.BaseModel],
    *,
    name: str | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """A function tool whose arguments the stream helper parses into ``model``.

    Like the SDK's, the definition carries the strict schema but no ``strict``
    key, so arguments are parsed at the end, not partially while they stream.
    """
    if description is None:
        # The class docstring only, never pydantic's inherited one.
        description = model.__doc__
    function = PydanticFunctionTool(
        {"name": name or model.__name__, "parameters": to_strict_json_schema(model)}, model
    )
    if description is not None:
        function["description"] = description
    return {"type": "function", "function": function}


def to_strict_json_schema(model: type[pydantic.BaseModel] | pydantic.TypeAdapter[Any]) -> dict[str, Any]:
    """The model's JSON schema made strict: closed objects, every property required."""
    if inspect.isclass(model) and issubclass(model, pydantic.BaseModel):
        schema = model.model_json_schema()
    elif isinstance(model, pydantic.TypeAdapter):
        schema = model.json_schema()
    else:
        raise TypeError(f"Cannot build a strict JSON schema for {model!r}; pass a pydantic model class.")
    return _ensure_strict(schema, path=(), root=schema)


def _ensure_strict(schema: object, *, path: tuple[str, ...], root: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(schema, dict):
        raise TypeError(f"Expected a JSON schema object at {'/'.join(path) or 'the root'}, got {schema!r}.")
    for defs_key in ("$defs", "definitions"):
        defs = schema.get(defs_key)
        if isinstance(defs, dict):
            for def_name, def_schema in defs.items():
                _ensure_strict(def_schema, path=(*path, defs_key, def_name), root=root)
    if schema.get("type") == "object" and "additionalProperties" not in schema:
        schema["additionalProperties"] = False
    properties = schema.get("properties")
    if isinstance(properties, dict):
        schema["required"] = list(properties)
        schema["properties"] = {
            key: _ensure_strict(prop, path=(*path, "properties", key), root=root)
            for key, prop in properties.items()
        }
    items = schema.get("items")
    if isinstance(items, dict):
        schema["items"] = _ensure_strict(items, path=(*path, "items"), root=root)
    any_of = schema.get("anyOf")
    if isinstance(any_of, list):
        schema["anyOf"] = [
            _ensure_strict(v, path=(*path, "anyOf", str(i)), root=root) for i, v in enumerate(any_of)
        ]
    all_of = schema.get("allOf")
    if isinstance(all_of, list):
        if len(all_of) == 1:
            schema.update(_ensure_strict(all_of[0], path=(*path, "allOf", "0"), root=root))
            schema.pop("allOf")
        else:
            schema["allOf"] = [
                _ensure_strict(v, path=(*path, "allOf", str(i)), root=root) for i, v in enumerate(all_of)
            ]
    if "default" in schema and schema["default"] is None:
        # A None default says nothing the nullable type does not already say.
        schema.pop("default")
    ref = schema.get("$ref")
    if ref and len(schema) > 1:
        # A $ref may not have siblings in a strict schema: inline what it points to.
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise ValueError(
                f"Cannot resolve $ref {ref!r} at {'/'.join(path)}; only local '#/...' refs are supported."
            )
        resolved: Any = root
        for key in ref[2:].split("/"):
            resolved = resolved[key]
            if not isinstance(resolved, dict):
                raise ValueError(f"$ref {ref!r} at {'/'.join(path)} does not point to a schema object.")
        schema.update({**resolved, **schema})
        schema.pop("$ref")
    return schema


def type_to_response_format_param(
    response_format: type | Mapping[str, Any] | None,
) -> Mapping[str, Any] | None:
    """The request's ``response_format`` for a class (a strict ``json_schema``); dicts pass through."""
    if response_format is None:
        return None
    if isinstance(response_format, Mapping):
        return response_format
    adapter: type[pydantic.BaseModel] | pydantic.TypeAdapter[Any]
    if inspect.isclass(response_format) and issubclass(response_format, pydantic.BaseModel):
        adapter = response_format
    elif hasattr(response_format, "__pydantic_config__"):
        adapter = pydantic.TypeAdapter(response_format)
    else:
        raise TypeError(
            f"Unsupported response_format {response_format!r}; pass a pydantic model, a pydantic dataclass "
            "or a response_format dict."
        )
    return {
        "type": "json_schema",
        "json_schema": {
            "schema": to_strict_json_schema(adapter),
            "name": response_format.__name__,
            "strict": True,
        },
    }


def tools_or_none(input_tools: object) -> list[ToolParam]:
    """The tools as a list: writerai's ``omit`` / ``NOT_GIVEN`` (and None) mean none, as in the SDK."""
    if input_tools is None or is_left_out(input_tools):
        return []
    return list(cast("Iterable[ToolParam]", input_tools))


def format_or_none(response_format: object) -> Any:
    """The response_format, with writerai's ``omit`` / ``NOT_GIVEN`` read as None (nothing to parse)."""
    return None if is_left_out(response_format) else response_format


def validate_input_tools(tools: Iterable[ToolParam] | None = None) -> None:
    """Refuse tools whose arguments cannot be auto-parsed (non-function or non-strict)."""
    for tool in tools or ():
        if tool["type"] != "function":
            raise ValueError(
                f"Currently only `function` tool types support auto-parsing; Received `{tool['type']}`"
            )
        if tool["function"].get("strict") is not True:
            raise ValueError(
                f"`{tool['function']['name']}` is not strict. Only `strict` function tools can be auto-parsed"
            )


# --- the rules for when and how to parse ----------------------------------------------------------


def has_rich_response_format(response_format: object) -> bool:
    """A class (not a dict, not None) asks for ``parsed`` to be filled."""
    return response_format is not None and not isinstance(response_format, Mapping)


def is_parseable_tool(tool: ToolParam) -> bool:
    function = tool.get("function")
    if tool_model(function) is not None:
        return True
    return bool(function.get("strict")) if isinstance(function, Mapping) else False


def has_parseable_input(*, response_format: object, input_tools: Iterable[ToolParam]) -> bool:
    """Whether a length / content-filter stop must raise as soon as it is seen."""
    return has_rich_response_format(response_format) or any(is_parseable_tool(t) for t in input_tools)


def get_input_tool_by_name(*, input_tools: Iterable[ToolParam], name: str | None) -> ToolParam | None:
    return next((t for t in input_tools if t.get("function", {}).get("name") == name), None)


def parse_function_tool_arguments(
    *, input_tools: Iterable[ToolParam], name: str | None, arguments: str | None
) -> object:
    """Final arguments: a model for ``pydantic_function_tool``, JSON for strict tools, else None.

    ``arguments`` is None only when no arguments ever streamed; parsing it then fails
    as the SDK's does.
    """
    tool = get_input_tool_by_name(input_tools=input_tools, name=name)
    if not tool:
        return None
    function = tool.get("function")
    model = tool_model(function)
    if model is not None:
        return model.model_validate_json(cast(str, arguments))
    if not isinstance(function, Mapping) or not function.get("strict"):
        return None
    return json.loads(cast(str, arguments))


def tool_model(function: object) -> type[pydantic.BaseModel] | None:
    """The model behind a ``pydantic_function_tool`` definition, this kit's or writerai's.

    Both libraries mark such a definition the same way (a dict subclass holding the
    class in ``.model``), so the kit's client parses a writerai tool's arguments too.
    """
    if isinstance(function, PydanticFunctionTool):
        return function.model
    model = getattr(function, "model", None) if isinstance(function, dict) else None
    if inspect.isclass(model) and issubclass(model, pydantic.BaseModel):
        return model
    return None


def _parse_content(response_format: type[Any], content: str) -> Any:
    if inspect.isclass(response_format) and issubclass(response_format, pydantic.BaseModel):
        return response_format.model_validate_json(content)
    if hasattr(response_format, "__pydantic_config__"):
        return pydantic.TypeAdapter(response_format).validate_json(content)
    raise TypeError(f"Unable to automatically parse response format type {response_format}")


def maybe_parse_content(*, response_format: object, content: str | None, refusal: str | None) -> Any:
    if has_rich_response_format(response_format) and content and not refusal:
        return _parse_content(cast("type[Any]", response_format), content)
    return None


def solve_response_format_t(response_format: object) -> Any:
    """The type argument the SDK gives its generic results: the class, or None."""
    return response_format if has_rich_response_format(response_format) else None


def parse_chat_completion(
    *, completion: pydantic.BaseModel, response_format: object, input_tools: Iterable[ToolParam]
) -> ParsedChatCompletion[Any]:
    """The final ``ParsedChatCompletion``: ``parsed`` and ``parsed_arguments`` filled as the SDK fills them."""
    tools = list(input_tools)
    # Logprobs can be long: their token objects are carried over instead of dumped and rebuilt.
    completion_dict = completion.model_dump(
        by_alias=True, exclude_unset=True, exclude={"choices": {"__all__": {"logprobs"}}}
    )
    choices = []
    for choice_model, choice_dict in zip(
        getattr(completion, "choices", []), completion_dict.get("choices", []), strict=True
    ):
        if choice_model.finish_reason == "length":
            raise LengthFinishReasonError(completion=cast(Any, completion))
        if choice_model.finish_reason == "content_filter":
            raise ContentFilterFinishReasonError()
        message = choice_model.message
        tool_calls = []
        for tool_call, tool_call_dict in zip(
            message.tool_calls or [], (choice_dict["message"].get("tool_calls") or []), strict=True
        ):
            function = tool_call.function
            tool_calls.append(
                {
                    **tool_call_dict,
                    "function": {
                        **tool_call_dict["function"],
                        "parsed_arguments": parse_function_tool_arguments(
                            input_tools=tools, name=function.name, arguments=function.arguments
                        ),
                    },
                }
            )
        choices.append(
            {
                **choice_dict,
                "message": {
                    **choice_dict["message"],
                    "parsed": maybe_parse_content(
                        response_format=response_format, content=message.content, refusal=message.refusal
                    ),
                    "tool_calls": tool_calls or None,
                },
            }
        )
    solved = solve_response_format_t(response_format)
    result_type: type[ParsedChatCompletion[Any]] = cast(Any, ParsedChatCompletion)[solved]
    choice_type: type[ParsedChatCompletionChoice[Any]] = cast(Any, ParsedChatCompletionChoice)[solved]
    result = construct(result_type, {**completion_dict, "choices": []})
    built = []
    for choice_model, choice_data in zip(completion.choices, choices, strict=True):  # type: ignore[attr-defined]
        choice = construct(choice_type, choice_data)
        if "logprobs" in choice_model.model_fields_set:
            choice.__dict__["logprobs"] = _copy_logprobs(choice_model.logprobs)
            choice.__pydantic_fields_set__.add("logprobs")
        built.append(choice)
    result.__dict__["choices"] = built
    return result


def _copy_logprobs(logprobs: Logprobs | None) -> Logprobs | None:
    if logprobs is None:
        return None
    copied = construct(Logprobs, {})
    copied.__dict__.update(
        content=None if logprobs.content is None else list(logprobs.content),
        refusal=None if logprobs.refusal is None else list(logprobs.refusal),
    )
    object.__setattr__(copied, "__pydantic_fields_set__", set(logprobs.model_fields_set))
    return copied

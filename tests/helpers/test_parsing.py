"""The parsing helpers: tool and response-format definitions as the SDK sends them, the tools and
formats it can parse, and what it parses."""

from __future__ import annotations

import functools
from typing import Any

import pydantic
import pytest
import writerai
from recordings import Location
from writerai.lib._parsing._completions import (
    type_to_response_format_param as sdk_type_to_response_format_param,
)
from writerai.lib._tools import pydantic_function_tool as sdk_pydantic_function_tool

from writer_stream_testkit.helpers.parsing import (
    format_or_none,
    has_parseable_input,
    maybe_parse_content,
    parse_function_tool_arguments,
    pydantic_function_tool,
    to_strict_json_schema,
    tool_model,
    tools_or_none,
    type_to_response_format_param,
    validate_input_tools,
)


class Nested(pydantic.BaseModel):
    """Where to look."""

    location: Location
    note: str | None = None
    tags: list[Location] = []


def test_pydantic_function_tool_matches_the_sdk() -> None:
    assert pydantic_function_tool(Nested) == sdk_pydantic_function_tool(Nested)
    assert pydantic_function_tool(Nested, name="look", description="d") == sdk_pydantic_function_tool(
        Nested, name="look", description="d"
    )


def test_type_to_response_format_param_matches_the_sdk() -> None:
    assert type_to_response_format_param(Nested) == sdk_type_to_response_format_param(Nested)
    as_dict = {"type": "json_object"}
    assert type_to_response_format_param(as_dict) is as_dict
    assert type_to_response_format_param(None) is None


def test_validate_input_tools_refuses_non_strict_tools() -> None:
    validate_input_tools([{"type": "function", "function": {"name": "f", "strict": True}}])
    with pytest.raises(ValueError, match="`f` is not strict"):
        validate_input_tools([{"type": "function", "function": {"name": "f"}}])
    with pytest.raises(ValueError, match="Received `graph`"):
        validate_input_tools([{"type": "graph", "function": {}}])


class Place(pydantic.BaseModel):
    city: str
    note: str | None = None


class Trip(pydantic.BaseModel):
    to: Place
    stops: list[Place] = []


def test_a_strict_schema_closes_every_object_and_requires_every_property() -> None:
    schema = to_strict_json_schema(Trip)
    place = schema["$defs"]["Place"]
    assert (schema["required"], schema["additionalProperties"]) == (["to", "stops"], False)
    assert (place["required"], place["additionalProperties"]) == (["city", "note"], False)
    assert "default" not in place["properties"]["note"]  # a None default says nothing the type does not
    with pytest.raises(
        TypeError, match=r"^Cannot build a strict JSON schema for <class 'dict'>; pass a pydantic"
    ):
        to_strict_json_schema(dict)  # type: ignore[arg-type]


def test_a_class_becomes_a_strict_json_schema_response_format_and_anything_else_is_refused() -> None:
    param = type_to_response_format_param(Place)
    assert param == {
        "type": "json_schema",
        "json_schema": {"schema": to_strict_json_schema(Place), "name": "Place", "strict": True},
    }
    with pytest.raises(TypeError, match=r"^Unsupported response_format <class 'int'>; pass a pydantic model"):
        type_to_response_format_param(int)


def test_final_tool_arguments_are_a_model_for_a_model_tool_json_for_a_strict_one_and_else_none() -> None:
    strict = {"type": "function", "function": {"name": "f", "strict": True}}
    loose = {"type": "function", "function": {"name": "g"}}
    tools: list[Any] = [pydantic_function_tool(Place), strict, loose]
    parse = functools.partial(parse_function_tool_arguments, input_tools=tools)
    assert parse(name="Place", arguments='{"city": "SF", "note": null}') == Place(city="SF")
    assert parse(name="f", arguments='{"a": 1}') == {"a": 1}
    assert parse(name="g", arguments='{"a": 1}') is None
    assert parse(name="unknown", arguments='{"a": 1}') is None


def test_a_writerai_pydantic_tool_is_recognised_as_the_kits_own_is() -> None:
    assert tool_model(sdk_pydantic_function_tool(Place)["function"]) is Place
    assert tool_model(pydantic_function_tool(Place)["function"]) is Place
    assert tool_model({"name": "f", "strict": True}) is None


def test_writerais_left_out_markers_read_as_no_tools_and_no_format() -> None:
    assert tools_or_none(writerai.omit) == []
    assert tools_or_none(None) == []
    assert format_or_none(writerai.omit) is None
    assert format_or_none(Place) is Place


def test_only_a_class_format_or_a_parseable_tool_makes_a_length_stop_raise_at_once() -> None:
    strict: Any = {"type": "function", "function": {"name": "f", "strict": True}}
    assert not has_parseable_input(response_format=None, input_tools=[])
    assert not has_parseable_input(response_format={"type": "json_object"}, input_tools=[])
    assert has_parseable_input(response_format=Place, input_tools=[])
    assert has_parseable_input(response_format=None, input_tools=[strict])


def test_content_is_parsed_only_for_a_class_format_and_never_beside_a_refusal() -> None:
    text = '{"city": "x"}'
    assert maybe_parse_content(response_format=Place, content=text, refusal=None) == Place(city="x")
    assert maybe_parse_content(response_format=Place, content=text, refusal="No.") is None
    assert maybe_parse_content(response_format={"type": "json_object"}, content=text, refusal=None) is None
    assert maybe_parse_content(response_format=Place, content=None, refusal=None) is None

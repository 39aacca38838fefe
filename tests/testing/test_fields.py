"""Reading and printing an event's fields, shared by the transcript, the contract and the event order:
models and dicts read alike, every value on one deterministic ASCII line."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any

import pydantic

from writer_stream_testkit.testing._fields import (
    MISSING,
    as_list,
    flat_fields,
    format_value,
    get_field,
    length_text,
    plain_value,
)
from writer_stream_testkit.testing.transcript import render_event


def test_newlines_quotes_and_non_ascii_are_escaped_onto_one_line() -> None:
    event = SimpleNamespace(
        type="content.delta", delta="a\nb\r\t'\\ caf\u00e9 \u2603 \U0001f600 \x00", snapshot="x"
    )
    line = render_event(event)
    assert line == (
        "content.delta          delta='a\\nb\\r\\t\\'\\\\ caf\\xe9 \\u2603 \\U0001f600 \\x00'  snapshot_len=1"
    )
    assert line.isascii()
    assert "\n" not in line


def test_mapping_order_does_not_change_the_rendering() -> None:
    first = SimpleNamespace(
        type="content.done", content="{}", parsed={"b": 1, "a": {"y": 2, "x": [1.5, None]}}
    )
    second = SimpleNamespace(
        type="content.done", content="{}", parsed={"a": {"x": [1.5, None], "y": 2}, "b": 1}
    )
    assert render_event(first) == render_event(second)
    assert render_event(first).endswith("parsed={'a': {'x': [1.5, None], 'y': 2}, 'b': 1}")


def test_floats_render_in_their_shortest_round_trip_form() -> None:
    token = {"token": "x", "logprob": 0.1 + 0.2}
    event = SimpleNamespace(type="logprobs.content.delta", content=[token], snapshot=[token])
    assert "logprobs=[0.30000000000000004]" in render_event(event)
    nan = SimpleNamespace(
        type="logprobs.content.delta", content=[{"token": "x", "logprob": float("nan")}], snapshot=[]
    )
    assert "logprobs=[nan]" in render_event(nan)


def test_unknown_values_and_events_render_without_object_ids() -> None:
    class Opaque:
        pass

    line = render_event(SimpleNamespace(type="content.done", content="c", parsed=Opaque()))
    assert line.endswith("parsed=<Opaque>")
    assert "0x" not in line

    class Custom(pydantic.BaseModel):
        type: str = "custom.event"
        b: int = 2
        a: str = "z"

    assert render_event(Custom()) == "custom.event           a='z'  b=2"


def test_dataclass_parsed_values_render_with_their_fields() -> None:
    @dataclasses.dataclass
    class Point:
        x: int
        y: float

    line = render_event(SimpleNamespace(type="content.done", content="{}", parsed=Point(1, 2.5)))
    assert line.endswith("parsed=Point(x=1, y=2.5)")


class Model(pydantic.BaseModel):
    name: str
    inner: dict[str, Any] | None = None


def test_models_and_mappings_read_alike_and_a_missing_field_is_not_none() -> None:
    assert get_field(Model(name="a"), "name") == get_field({"name": "a"}, "name") == "a"
    assert get_field(Model(name="a"), "inner") is None
    assert get_field({"name": "a"}, "inner") is MISSING
    assert get_field(SimpleNamespace(), "inner") is MISSING
    assert get_field(None, "name") is MISSING
    assert get_field(MISSING, "name") is MISSING  # so a chain of reads stays MISSING
    assert format_value(MISSING) == "<missing>"


def test_a_sequence_field_reads_as_a_list_and_anything_else_as_empty() -> None:
    assert as_list((1, 2)) == [1, 2]
    assert as_list([3]) == [3]
    assert as_list(None) == []
    assert as_list(MISSING) == []
    assert as_list("text") == []
    assert as_list(b"bytes") == []


def test_plain_values_compare_across_models_dataclasses_and_dicts() -> None:
    @dataclasses.dataclass
    class Pair:
        left: Model
        right: tuple[int, ...]

    plain = plain_value(Pair(Model(name="a", inner={"x": (1,)}), (2, 3)))
    assert plain == {"left": {"name": "a", "inner": {"x": [1]}}, "right": [2, 3]}
    assert plain_value(Pair) is Pair  # a class is not a dataclass value


def test_flat_fields_are_sorted_dotted_pairs_without_nones() -> None:
    usage = {"total_tokens": 3, "details": {"reasoning": 0, "cached": None}, "prompt_tokens": 1}
    assert flat_fields(usage) == "details.reasoning=0 prompt_tokens=1 total_tokens=3"
    assert flat_fields(Model(name="n", inner={"b": "x"})) == "inner.b='x' name='n'"
    assert flat_fields({}) == ""


def test_a_length_is_shown_for_text_and_lists_and_the_value_otherwise() -> None:
    assert [length_text(v) for v in ("abc", [1, 2], (), None, MISSING, 4)] == [
        "3",
        "2",
        "0",
        "None",
        "<missing>",
        "4",
    ]


def test_scalars_render_as_python_would_show_them_but_always_on_one_line() -> None:
    assert [format_value(v) for v in (True, None, 7, -0.5, float("inf"), "it's")] == [
        "True",
        "None",
        "7",
        "-0.5",
        "inf",
        "'it\\'s'",
    ]
    assert format_value(Model(name="m")) == "Model(name='m', inner=None)"

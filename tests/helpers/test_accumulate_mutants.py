"""The SDK's generic delta merge where mutation testing found no test looking
(``python3 tasks.py mutate helpers/accumulate.py``): lists of objects merged entry by entry on
their ``index``, which the general differential test almost never generates.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from writerai.lib.streaming._deltas import accumulate_delta as sdk_accumulate_delta

from writer_stream_testkit.helpers.accumulate import accumulate_delta

scalars = st.none() | st.integers(-3, 3) | st.text(alphabet="ab{}", max_size=3)
entries = st.fixed_dictionaries(
    {"index": st.integers(-2, 3)},
    optional={
        "id": scalars,
        "type": st.sampled_from(["function", "x"]),
        "function": st.fixed_dictionaries({}, optional={"name": scalars, "arguments": scalars}),
        "tags": st.lists(st.integers(0, 3), max_size=2),
    },
)
objects = st.fixed_dictionaries({}, optional={"tool_calls": st.lists(entries, max_size=3), "n": scalars})


def merged(merge: Any, acc: dict[str, Any], deltas: list[dict[str, Any]]) -> Any:
    target = copy.deepcopy(acc)
    for delta in deltas:
        try:
            merge(target, copy.deepcopy(delta))
        except Exception as exc:
            return type(exc)
    return target


@given(objects, st.lists(objects, max_size=4))
def test_lists_of_objects_merge_by_index_as_the_sdk_merges_them(
    acc: dict[str, Any], deltas: list[dict[str, Any]]
) -> None:
    assert merged(accumulate_delta, acc, deltas) == merged(sdk_accumulate_delta, acc, deltas)


def test_tool_call_pieces_merge_into_the_entry_their_index_names() -> None:
    acc: dict[str, Any] = {
        "tool_calls": [{"index": 0, "id": "a", "function": {"name": "f", "arguments": '{"x"'}}]
    }
    accumulate_delta(
        acc, {"tool_calls": [{"index": 1, "id": "b", "function": {"name": "g", "arguments": "{"}}]}
    )
    accumulate_delta(
        acc,
        {
            "tool_calls": [
                {"index": 0, "function": {"arguments": ": 1}"}},
                {"index": 1, "function": {"arguments": "}"}},
            ]
        },
    )
    assert acc == {
        "tool_calls": [
            {"index": 0, "id": "a", "function": {"name": "f", "arguments": '{"x": 1}'}},
            {"index": 1, "id": "b", "function": {"name": "g", "arguments": "{}"}},
        ]
    }


def test_an_index_past_the_end_is_inserted_and_a_negative_one_merges_from_the_end() -> None:
    acc: dict[str, Any] = {"items": [{"index": 0, "v": "a"}]}
    accumulate_delta(acc, {"items": [{"index": 3, "v": "d"}]})  # list.insert: appended
    accumulate_delta(acc, {"items": [{"index": -1, "v": "!"}]})
    assert acc == {"items": [{"index": 0, "v": "a"}, {"index": -1, "v": "d!"}]}


def test_scalars_merge_by_kind_and_index_type_role_are_replaced() -> None:
    acc: dict[str, Any] = {
        "s": "a",
        "n": 1,
        "f": 0.5,
        "none": None,
        "index": 0,
        "type": "x",
        "role": "r",
        "l": [1],
    }
    delta = {
        "s": "b",
        "n": 2,
        "f": 0.25,
        "none": "set",
        "index": 4,
        "type": "y",
        "role": "q",
        "l": [2],
        "new": {"k": 1},
    }
    accumulate_delta(acc, delta)
    assert acc == {
        "s": "ab",
        "n": 3,
        "f": 0.75,
        "none": "set",
        "index": 4,
        "type": "y",
        "role": "q",
        "l": [1, 2],
        "new": {"k": 1},
    }


@pytest.mark.parametrize(
    ("delta", "error", "message"),
    [
        (
            {"tool_calls": ["x"]},
            TypeError,
            "the delta entry 'x' is not an object, and lists of objects are merged by their 'index'.",
        ),
        (
            {"tool_calls": [{"id": "b"}]},
            RuntimeError,
            "the delta entry {'id': 'b'} has no 'index' key, which lists of objects need to be merged.",
        ),
        ({"tool_calls": [{"index": "0"}]}, TypeError, "the entry index '0' is not an integer."),
        ({"tool_calls": [{"index": 1}]}, TypeError, "the accumulated entry 'y' is not an object."),
    ],
)
def test_a_list_that_cannot_be_merged_is_named_in_the_error(
    delta: dict[str, Any], error: type[Exception], message: str
) -> None:
    acc: dict[str, Any] = {"tool_calls": [{"index": 0}, "y"]}
    with pytest.raises(error) as raised:
        accumulate_delta(acc, delta)
    assert str(raised.value) == f"Cannot merge the list field 'tool_calls': {message}"


def test_an_index_before_the_start_is_inserted_at_the_front_as_the_sdk_does() -> None:
    acc: dict[str, Any] = {"items": [{"index": 0, "v": "a"}]}
    delta: dict[str, Any] = {"items": [{"index": -2, "v": "z"}]}
    expected = {"items": [{"index": -2, "v": "z"}, {"index": 0, "v": "a"}]}
    assert sdk_accumulate_delta(copy.deepcopy(acc), copy.deepcopy(delta)) == expected
    assert accumulate_delta(acc, delta) == expected

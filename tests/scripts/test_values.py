"""The plain values every script kind takes (text pieces, choice indexes, JSON), checked and copied
in one place, so a script never holds a caller's mutable object or a value the wire cannot carry."""

from __future__ import annotations

import math
from typing import Any

import pytest

from writer_stream_testkit.errors import ScriptError
from writer_stream_testkit.scripts._values import choice_index, json_value, plain_copy, text_pieces
from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.scripts.json_reply import JsonReply


def test_text_pieces_are_a_tuple_of_strings_and_a_non_string_is_named_where_it_was_passed() -> None:
    assert text_pieces(iter(["a", "", "b"]), "content", "content('a')") == ("a", "", "b")
    with pytest.raises(
        ScriptError, match=r"^tool_call\('f'\): every argument piece must be a string, but got 7\.$"
    ):
        text_pieces(["{", 7], "argument", "tool_call('f')")
    with pytest.raises(ScriptError, match=r"^content\('a', b'b'\): every content piece must be a string"):
        StreamScript().content("a", b"b")  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [-1, True, 1.0, "0", None])
def test_a_choice_index_is_a_non_negative_int_and_never_a_bool(bad: object) -> None:
    with pytest.raises(
        ScriptError, match=rf"^finish\(\): choice={bad!r} is not a choice index; pass 0, 1, 2, \.\.\.$"
    ):
        choice_index(bad, "finish()")


def test_a_good_choice_index_is_returned_as_given() -> None:
    assert [choice_index(n, "x") for n in (0, 1, 7)] == [0, 1, 7]
    assert StreamScript(n=2).content("Hi", choice=1).chunks()[0]["choices"][0]["index"] == 1


def test_json_values_are_fresh_plain_copies() -> None:
    mine: dict[str, Any] = {"a": [1, {"b": (2, 3)}]}
    value = json_value(mine, "usage()")
    assert value == {"a": [1, {"b": [2, 3]}]}  # a tuple becomes the list JSON has
    mine["a"].append("later")
    assert value == {"a": [1, {"b": [2, 3]}]}  # the caller's object is not held


@pytest.mark.parametrize(
    ("value", "reason"),
    [({"when": object()}, "is not JSON serializable"), ([math.inf], "Out of range float"), ({1, 2}, "set")],
)
def test_a_value_json_cannot_carry_is_named_with_the_reason(value: object, reason: str) -> None:
    with pytest.raises(ScriptError, match=rf"^JsonReply body: .* is not plain JSON \(.*{reason}.*\)\.$"):
        JsonReply.to("/v1/models", value)


def test_a_plain_copy_hands_out_lists_and_never_the_held_value() -> None:
    held = ({"token": "a", "top": [1]},)
    copied = plain_copy(held)
    assert copied == [{"token": "a", "top": [1]}]
    copied[0]["top"].append(2)
    assert held == ({"token": "a", "top": [1]},)
    inner = {"x": [1]}
    assert plain_copy(inner) == inner
    assert plain_copy(inner) is not inner

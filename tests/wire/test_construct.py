"""Building wire models without validating them, as the SDK builds what it receives: keys present are
"set", missing ones take their defaults, unknown keys are kept, and odd values are kept as given
(``construct_loosely`` first trying the SDK's lax validation on union-typed fields)."""

from __future__ import annotations

import pydantic
import pytest

from writer_stream_testkit.wire.construct import construct, construct_loosely
from writer_stream_testkit.wire.types import BaseModel, ChatCompletionChunk


class Inner(BaseModel):
    n: int = 0


class Model(BaseModel):
    x: float = 1.0
    name: str | None = None
    inner: Inner | None = None
    items: list[Inner] = []  # noqa: RUF012 - a pydantic default, copied per instance
    aliased: int | None = pydantic.Field(default=None, alias="wireName")
    either: int | str | None = None


GOOD = {"x": 2, "name": "a", "inner": {"n": 3, "zz": 1}, "items": [{"n": 1}], "wireName": 5, "extra": "e"}


@pytest.mark.parametrize("build", [construct, construct_loosely])
def test_present_keys_are_set_nested_models_are_built_and_ints_become_floats(build: object) -> None:
    model = build(Model, GOOD)  # type: ignore[operator]
    assert type(model) is Model
    assert model.x == 2.0
    assert isinstance(model.x, float)
    assert model.inner == Inner(n=3, zz=1)
    assert model.inner.model_extra == {"zz": 1}  # type: ignore[union-attr]
    assert model.items == [Inner(n=1)]
    assert model.aliased == 5  # read by its wire name
    assert model.model_fields_set == {"x", "name", "inner", "items", "aliased"}
    assert model.model_dump(by_alias=True, exclude_unset=True)["wireName"] == 5


def test_missing_keys_take_their_defaults_and_are_not_set() -> None:
    model = construct(Model, {})
    assert (model.x, model.name, model.inner, model.items, model.aliased) == (1.0, None, None, [], None)
    assert model.model_fields_set == set()
    assert model.model_extra == {}


def test_unknown_keys_are_kept_and_loosely_an_alias_is_kept_as_an_extra_too() -> None:
    assert construct(Model, GOOD).model_extra == {"extra": "e"}
    assert construct_loosely(Model, GOOD).model_extra == {"wireName": 5, "extra": "e"}  # as the SDK keeps it


def test_values_of_the_wrong_type_are_kept_as_given_never_rejected() -> None:
    odd = {"x": "2", "name": 3, "inner": "not a mapping"}
    for build in (construct, construct_loosely):
        model = build(Model, odd)
        assert (model.x, model.name, model.inner) == ("2", 3, "not a mapping")


def test_an_explicit_null_is_kept_strictly_and_takes_the_default_loosely() -> None:
    data = {"x": None, "name": None}
    assert construct(Model, data).x is None
    loose = construct_loosely(Model, data)
    assert loose.x == 1.0
    assert loose.model_fields_set == {"x", "name"}  # still counted as sent


def test_only_the_loose_build_tries_lax_validation_on_a_union() -> None:
    assert construct(Model, {"either": 7.0}).either == 7.0
    loose = construct_loosely(Model, {"either": 7.0}).either
    assert loose == 7
    assert isinstance(loose, int)
    assert construct_loosely(Model, {"either": "7"}).either == "7"  # str is a variant: kept as a str


def test_a_chunk_with_a_bad_field_is_still_a_chunk_with_the_rest_intact() -> None:
    data = {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": "yesterday",
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": None}],
    }
    with pytest.raises(pydantic.ValidationError):
        ChatCompletionChunk.model_validate(data)
    chunk = construct_loosely(ChatCompletionChunk, data)
    assert chunk.created == "yesterday"
    assert chunk.choices[0].delta.content == "Hi"

"""Building wire models without validating them, as the SDK builds what it receives.

The SDK never rejects a chunk for its shape: it builds every model with
``construct`` (keys present become "set" fields, missing ones take their
defaults, unknown keys are kept, values are kept as given). :func:`construct` is
that rule for the kit's own snapshots, kept cheap because it runs on every
snapshot; :func:`construct_loosely` adds the one extra step the SDK takes for a
value it receives, a lax validation attempt on union-typed fields
(``Optional[...]``) before constructing, so a chunk the kit builds from odd data
holds exactly the values the SDK's would.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, Union

import pydantic
from pydantic_core import PydanticUndefined

__all__ = ["construct", "construct_loosely"]

M = TypeVar("M", bound=pydantic.BaseModel)

_Converter = Callable[[Any], Any]
_Plan = tuple[tuple[str, str, _Converter, Any], ...]
_PLANS: dict[tuple[type[pydantic.BaseModel], bool], _Plan] = {}


def _identity(value: Any) -> Any:
    return value


def _to_float(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and float(value) == value:
        return float(value)
    return value


def _converter(annotation: Any, loose: bool) -> _Converter:
    """How the SDK's ``construct_type`` coerces a value for ``annotation``, minus validation."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Union or origin is types.UnionType:
        variants = [arg for arg in args if arg is not type(None)]
        first = _converter(variants[0], loose) if len(variants) == 1 else _identity
        if not loose:
            return first
        adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(annotation)

        def union(value: Any) -> Any:
            # The SDK tries the whole union first (lax), then builds the first variant.
            try:
                return adapter.validate_python(value)
            except pydantic.ValidationError:
                return first(value)

        return union
    if origin is list:
        inner = _converter(args[0], loose) if args else _identity
        if inner is _identity:
            return _identity
        return lambda value: [inner(item) for item in value] if isinstance(value, list) else value
    if origin is dict:
        inner = _converter(args[1], loose) if len(args) == 2 else _identity
        if inner is _identity:
            return _identity
        return lambda value: {k: inner(v) for k, v in value.items()} if isinstance(value, Mapping) else value
    if annotation is float:
        return _to_float
    if inspect.isclass(annotation) and issubclass(annotation, pydantic.BaseModel):
        model = annotation
        build = construct_loosely if loose else construct
        return lambda value: build(model, value) if isinstance(value, Mapping) else value
    return _identity


def _plan(cls: type[pydantic.BaseModel], loose: bool) -> _Plan:
    plan = _PLANS.get((cls, loose))
    if plan is None:
        entries = []
        for name, field in cls.model_fields.items():
            default = field.get_default(call_default_factory=True)
            if default is PydanticUndefined:
                default = None
            entries.append((name, field.alias or name, _converter(field.annotation, loose), default))
        plan = _PLANS[(cls, loose)] = tuple(entries)
    return plan


def _build(cls: type[M], data: Mapping[str, Any], loose: bool) -> M:
    values: dict[str, Any] = {}
    fields_set: set[str] = set()
    keys: set[str] = set()
    for name, key, convert, default in _plan(cls, loose):
        keys.add(key)
        if key in data:
            value = data[key]
            # As the SDK's construct: an explicit null takes the field's default, and counts as set.
            values[name] = default if value is None and loose else convert(value)
            fields_set.add(name)
        else:
            values[name] = default
    if loose:
        # The SDK's construct keeps a key that is not a field *name* as an extra too, aliases included.
        extra = {key: value for key, value in data.items() if key not in values}
    else:
        extra = {key: value for key, value in data.items() if key not in keys and key not in values}
    model = cls.__new__(cls)
    object.__setattr__(model, "__dict__", values)
    object.__setattr__(model, "__pydantic_fields_set__", fields_set)
    object.__setattr__(model, "__pydantic_extra__", extra)
    object.__setattr__(model, "__pydantic_private__", None)
    return model


def construct(cls: type[M], data: Mapping[str, Any]) -> M:
    """Build ``cls`` from wire data without validating, as the SDK builds its snapshots.

    Keys present become "set" fields (so ``to_dict()`` shows them), missing fields
    take their defaults, unknown keys are kept as extras.
    """
    return _build(cls, data, False)


def construct_loosely(cls: type[M], data: Mapping[str, Any]) -> M:
    """Build ``cls`` from received data exactly as the SDK's ``construct_type`` does.

    Like :func:`construct`, plus the SDK's lax validation attempt on every
    union-typed field. Slower, so used only for data that failed strict validation.
    """
    return _build(cls, data, True)

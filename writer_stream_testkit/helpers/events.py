"""The stream-helper events, with the SDK's class names, ``type`` strings and fields.

Fields that hold an accumulated value (``snapshot``, ``arguments``) are filled
lazily: the engine hands each event a small recipe for its value, and the value
is built the first time anything reads or serialises the event. Iterating a
stream therefore costs the same per chunk however long the stream is, while every
value still reads exactly as the SDK's would have at the time of the event.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Generator, Mapping
from typing import Any, ClassVar, Final, Generic, Literal, TypeVar, Union

import pydantic
from pydantic import PrivateAttr

from ..wire.types import BaseModel, ChatCompletionChunk, LogprobsToken, ParsedChatCompletion

__all__ = [
    "ChatCompletionStreamEvent",
    "ChunkEvent",
    "ContentDeltaEvent",
    "ContentDoneEvent",
    "FunctionToolCallArgumentsDeltaEvent",
    "FunctionToolCallArgumentsDoneEvent",
    "LogprobsContentDeltaEvent",
    "LogprobsContentDoneEvent",
    "LogprobsRefusalDeltaEvent",
    "LogprobsRefusalDoneEvent",
    "RefusalDeltaEvent",
    "RefusalDoneEvent",
]

ResponseFormatT = TypeVar("ResponseFormatT")

_E = TypeVar("_E", bound="_Event")
_FIELD_NAMES: dict[type[Any], frozenset[str]] = {}

# ``_fast`` fills a model's four slots straight through their descriptors, which costs
# about half of four ``object.__setattr__`` calls; the result is what ``model_construct``
# with every field given would build.
_new: Final = object.__new__
_get_dict: Final[Callable[[Any], dict[str, Any]]] = vars(pydantic.BaseModel)["__dict__"].__get__
_set_dict: Final[Callable[[Any, dict[str, Any]], None]] = vars(pydantic.BaseModel)["__dict__"].__set__
_set_fields_set: Final[Callable[[Any, set[str]], None]] = vars(pydantic.BaseModel)[
    "__pydantic_fields_set__"
].__set__
_set_extra: Final[Callable[[Any, dict[str, Any]], None]] = vars(pydantic.BaseModel)[
    "__pydantic_extra__"
].__set__
_set_private: Final[Callable[[Any, dict[str, Any]], None]] = vars(pydantic.BaseModel)[
    "__pydantic_private__"
].__set__


class _Event(BaseModel):
    """Base of the events: resolves lazy fields before anything looks at them."""

    _lazy: Callable[[], dict[str, Any]] | None = PrivateAttr(default=None)
    _lazy_fields: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def _fast(cls: type[_E], values: dict[str, Any], lazy: Callable[[], dict[str, Any]] | None = None) -> _E:
        """Build an event without validation, as the SDK's ``build()`` does, but cheaper.

        ``values`` holds every eager field; ``lazy`` returns the lazy ones on demand.
        """
        names = _FIELD_NAMES.get(cls)
        if names is None:
            names = _FIELD_NAMES[cls] = frozenset(cls.__pydantic_fields__)
        event = _new(cls)
        _set_dict(event, values)
        _set_fields_set(event, set(names))
        _set_extra(event, {})
        _set_private(event, {"_lazy": lazy})
        return event

    def _resolve(self) -> dict[str, Any]:
        """Fill the lazy fields in; the complete field dict."""
        values = _get_dict(self)
        private = object.__getattribute__(self, "__pydantic_private__")
        thunk = private.get("_lazy") if private else None
        if thunk is not None:
            private["_lazy"] = None
            late = thunk()
            # Rebuilt in declaration order so repr and iteration read as for an eager event.
            values = {
                name: values[name] if name in values else late[name]
                for name in type(self).__pydantic_fields__
            }
            _set_dict(self, values)
        return values

    # Whatever reads the instance dict gets it whole: pydantic-core's serializer
    # (``to_jsonable_python``, a ``TypeAdapter``, an enclosing model), ``vars()``,
    # ``copy`` and pickle. Attribute lookup of eager fields does not come through here,
    # so the per-event cost stays what it was.
    @property
    def __dict__(self) -> dict[str, Any]:
        return self._resolve()

    @__dict__.setter
    def __dict__(self, values: dict[str, Any]) -> None:
        _set_dict(self, values)

    def __getattr__(self, item: str) -> Any:
        if item in type(self)._lazy_fields:
            return self._resolve()[item]
        return super().__getattr__(item)  # type: ignore[misc]

    # Every way of looking at the whole event resolves it first.
    def model_dump(self, **kwargs: Any) -> dict[str, Any]:
        self._resolve()
        return super().model_dump(**kwargs)

    def model_dump_json(self, **kwargs: Any) -> str:
        self._resolve()
        return super().model_dump_json(**kwargs)

    def model_copy(self: _E, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> _E:
        self._resolve()
        return super().model_copy(update=update, deep=deep)

    def __repr_args__(self) -> Generator[tuple[str | None, Any], None, None]:
        self._resolve()
        yield from super().__repr_args__()

    def __eq__(self, other: object) -> bool:
        self._resolve()
        if isinstance(other, _Event):
            other._resolve()
        return super().__eq__(other)

    def __iter__(self) -> Generator[tuple[str, Any], None, None]:
        self._resolve()
        yield from super().__iter__()

    def __getstate__(self) -> dict[Any, Any]:
        self._resolve()
        state = super().__getstate__()
        state["__pydantic_private__"] = {"_lazy": None}
        return state

    def __copy__(self: _E) -> _E:
        self._resolve()
        return super().__copy__()

    def __deepcopy__(self: _E, memo: dict[int, Any] | None = None) -> _E:
        self._resolve()
        result = super().__deepcopy__(memo)
        return copy.copy(result) if result is self else result


class ChunkEvent(_Event):
    """Every chunk, with the live snapshot of the whole completion (it keeps updating)."""

    _lazy_fields: ClassVar[frozenset[str]] = frozenset({"snapshot"})

    type: Literal["chunk"]
    chunk: ChatCompletionChunk
    snapshot: ParsedChatCompletion[object]


class ContentDeltaEvent(_Event):
    """A chunk that added content; ``snapshot`` is the content so far."""

    _lazy_fields: ClassVar[frozenset[str]] = frozenset({"snapshot"})

    type: Literal["content.delta"]
    delta: str
    snapshot: str
    parsed: object | None = None

    @property
    def content(self) -> str:
        """The new text, under the name the streaming-helpers guide reads (the SDK calls it ``delta``)."""
        return self.delta


class ContentDoneEvent(_Event, Generic[ResponseFormatT]):
    type: Literal["content.done"]
    content: str
    parsed: ResponseFormatT | None = None


class RefusalDeltaEvent(_Event):
    _lazy_fields: ClassVar[frozenset[str]] = frozenset({"snapshot"})

    type: Literal["refusal.delta"]
    delta: str
    snapshot: str


class RefusalDoneEvent(_Event):
    type: Literal["refusal.done"]
    refusal: str


class FunctionToolCallArgumentsDeltaEvent(_Event):
    _lazy_fields: ClassVar[frozenset[str]] = frozenset({"arguments"})

    type: Literal["tool_calls.function.arguments.delta"]
    name: str
    index: int
    arguments: str
    """Accumulated raw JSON string."""
    parsed_arguments: object
    """The parsed arguments so far."""
    arguments_delta: str
    """The JSON string delta."""


class FunctionToolCallArgumentsDoneEvent(_Event):
    type: Literal["tool_calls.function.arguments.done"]
    name: str
    index: int
    tool_call_snapshot_id: str
    arguments: str
    """Accumulated raw JSON string."""
    parsed_arguments: object
    """The parsed arguments."""


class LogprobsContentDeltaEvent(_Event):
    _lazy_fields: ClassVar[frozenset[str]] = frozenset({"snapshot"})

    type: Literal["logprobs.content.delta"]
    content: list[LogprobsToken]
    snapshot: list[LogprobsToken]


class LogprobsContentDoneEvent(_Event):
    type: Literal["logprobs.content.done"]
    content: list[LogprobsToken]


class LogprobsRefusalDeltaEvent(_Event):
    _lazy_fields: ClassVar[frozenset[str]] = frozenset({"snapshot"})

    type: Literal["logprobs.refusal.delta"]
    refusal: list[LogprobsToken]
    snapshot: list[LogprobsToken]


class LogprobsRefusalDoneEvent(_Event):
    type: Literal["logprobs.refusal.done"]
    refusal: list[LogprobsToken]


ChatCompletionStreamEvent = Union[  # noqa: UP007 - the SDK spells it so; keeps it subscriptable
    ChunkEvent,
    ContentDeltaEvent,
    ContentDoneEvent[ResponseFormatT],
    RefusalDeltaEvent,
    RefusalDoneEvent,
    FunctionToolCallArgumentsDeltaEvent,
    FunctionToolCallArgumentsDoneEvent,
    LogprobsContentDeltaEvent,
    LogprobsContentDoneEvent,
    LogprobsRefusalDeltaEvent,
    LogprobsRefusalDoneEvent,
]

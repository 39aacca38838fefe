"""``ChatCompletionStreamState``: chunks in, stream-helper events and snapshots out.

The engine reproduces ``writerai.lib.streaming.chat.ChatCompletionStreamState``
event for event, but keeps its cost per chunk constant. The SDK rebuilds the whole
message snapshot on every chunk (dump, merge, re-construct) and copies the whole
logprobs list into every logprobs event; here each choice is an append-only
accumulator (text as a list of pieces, logprobs as a growing list), events carry a
recipe for their accumulated values instead of the values, and the snapshot
objects are only built when somebody looks at them.

Where the SDK crashes or corrupts data the engine does the right thing instead;
``docs/deviations.md`` lists each case and the test that pins it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any, Generic, TypeVar, cast

import pydantic
import pydantic_core

from ..errors import ContentFilterFinishReasonError, LengthFinishReasonError
from ..wire.construct import construct_loosely
from ..wire.types import (
    ChatCompletionChunk,
    Choice,
    Logprobs,
    LogprobsToken,
    ParsedChatCompletion,
    ParsedChatCompletionChoice,
    ParsedChatCompletionMessage,
)
from .events import (
    ChatCompletionStreamEvent,
    ChunkEvent,
    ContentDeltaEvent,
    ContentDoneEvent,
    FunctionToolCallArgumentsDeltaEvent,
    FunctionToolCallArgumentsDoneEvent,
    LogprobsContentDeltaEvent,
    LogprobsContentDoneEvent,
    LogprobsRefusalDeltaEvent,
    LogprobsRefusalDoneEvent,
    RefusalDeltaEvent,
    RefusalDoneEvent,
)
from .parsing import (
    ToolParam,
    construct,
    format_or_none,
    get_input_tool_by_name,
    has_parseable_input,
    has_rich_response_format,
    maybe_parse_content,
    parse_chat_completion,
    parse_function_tool_arguments,
    solve_response_format_t,
    tools_or_none,
)

__all__ = ["ChatCompletionStreamState", "accumulate_delta"]

ResponseFormatT = TypeVar("ResponseFormatT")

# Writer-only message fields are objects the server may send in pieces: they merge field by
# field, the latest non-null value of each field winning. (The SDK's generic merge would
# concatenate their strings, sum their numbers and fail on their lists.)
WRITER_OBJECT_FIELDS = ("graph_data", "llm_data", "translation_data", "web_search_data")
_MESSAGE_FIELDS = ("content", "refusal", "role", "tool_calls", *WRITER_OBJECT_FIELDS)
_WRITER_SET = frozenset(WRITER_OBJECT_FIELDS)
_DELTA_SPECIAL = frozenset({"content", "refusal", "tool_calls", *WRITER_OBJECT_FIELDS})
_SNAPSHOT_T = ParsedChatCompletion[object]
_CHOICE_T = ParsedChatCompletionChoice[object]
_MESSAGE_T = ParsedChatCompletionMessage[object]

# The per-chunk event builders, bound once: looking a classmethod up on a pydantic model
# class walks its whole MRO every time, which costs about as much as the call itself.
_chunk_event = ChunkEvent._fast
_content_delta_event = ContentDeltaEvent._fast
_refusal_delta_event = RefusalDeltaEvent._fast
_arguments_delta_event = FunctionToolCallArgumentsDeltaEvent._fast
_logprobs_content_delta_event = LogprobsContentDeltaEvent._fast
_logprobs_refusal_delta_event = LogprobsRefusalDeltaEvent._fast


def accumulate_delta(acc: dict[Any, Any], delta: Mapping[Any, Any]) -> dict[Any, Any]:
    """Merge ``delta`` into ``acc`` by the SDK's generic rules (used for fields it has no special case for).

    Strings concatenate, numbers add, dicts merge, lists of scalars extend, lists of
    dicts merge entry by entry on their ``index``; ``index``/``type``/``role`` are
    replaced; ``None`` in ``acc`` is replaced, ``None`` in ``delta`` changes nothing else.
    """
    for key, delta_value in delta.items():
        if key not in acc or acc[key] is None:
            acc[key] = delta_value
            continue
        acc_value = acc[key]
        if key in ("index", "type", "role"):
            acc[key] = delta_value
        elif (isinstance(acc_value, str) and isinstance(delta_value, str)) or (
            isinstance(acc_value, (int, float)) and isinstance(delta_value, (int, float))
        ):
            acc[key] = cast(Any, acc_value) + delta_value
        elif isinstance(acc_value, dict) and isinstance(delta_value, dict):
            accumulate_delta(acc_value, delta_value)
        elif isinstance(acc_value, list) and isinstance(delta_value, list):
            if all(isinstance(item, (str, int, float)) for item in acc_value):
                acc_value.extend(delta_value)
                continue
            for entry in delta_value:
                if not isinstance(entry, dict):
                    raise TypeError(
                        f"Cannot merge the list field {key!r}: the delta entry {entry!r} is not an object, "
                        "and lists of objects are merged by their 'index'."
                    )
                if "index" not in entry:
                    raise RuntimeError(
                        f"Cannot merge the list field {key!r}: the delta entry {entry!r} has no 'index' key, "
                        "which lists of objects need to be merged."
                    )
                index = entry["index"]
                if not isinstance(index, int):
                    raise TypeError(
                        f"Cannot merge the list field {key!r}: the entry index {index!r} is not an integer."
                    )
                try:
                    acc_entry = acc_value[index]
                except IndexError:
                    acc_value.insert(index, entry)
                else:
                    if not isinstance(acc_entry, dict):
                        raise TypeError(
                            f"Cannot merge the list field {key!r}: the accumulated entry {acc_entry!r} is not an object."
                        )
                    acc_value[index] = accumulate_delta(acc_entry, entry)
    return acc


class _Text:
    """An append-only string: pieces joined on demand, the latest join cached."""

    __slots__ = ("_cached", "_cached_n", "length", "pieces")

    def __init__(self, first: str) -> None:
        self.pieces = [first]
        self.length = len(first)
        self._cached = first
        self._cached_n = 1

    def append(self, piece: str) -> None:
        self.pieces.append(piece)
        self.length += len(piece)

    def prefix(self, n: int) -> str:
        """The text as it was when it had ``n`` pieces."""
        if n == self._cached_n:
            return self._cached
        if n > self._cached_n:
            text = self._cached + "".join(self.pieces[self._cached_n : n])
            self._cached, self._cached_n = text, n
            return text
        return "".join(self.pieces[:n])

    def value(self) -> str:
        return self.prefix(len(self.pieces))


def _text_or_none(text: _Text | None) -> str | None:
    return None if text is None else text.value()


class _ToolCall:
    """One tool call of one choice; ``data`` is everything but the streamed arguments."""

    __slots__ = ("args", "args_set", "data", "parsed_arguments", "parsed_set")

    def __init__(self, entry: dict[str, Any]) -> None:
        self.data: dict[str, Any] = {}
        self.args: _Text | None = None
        self.args_set = False  # "arguments" was sent, even as null
        self.parsed_arguments: object = None
        self.parsed_set = False
        self.merge(entry)

    @property
    def type(self) -> object:
        return self.data.get("type")

    @property
    def name(self) -> Any:
        function = self.data.get("function")
        return function.get("name") if isinstance(function, dict) else None

    @property
    def arguments(self) -> str | None:
        return _text_or_none(self.args)

    def merge(self, entry: dict[str, Any]) -> None:
        if "type" in entry and entry["type"] is None and self.data.get("type") is not None:
            # A null type on a continuation keeps the call's type (the SDK fails an assert).
            entry = {key: value for key, value in entry.items() if key != "type"}
        function = entry.get("function")
        replaced = not isinstance(self.data.get("function"), dict)
        if isinstance(function, dict) and "arguments" in function:
            function = dict(function)
            arguments = function.pop("arguments")
            entry = {**entry, "function": function}
            if isinstance(arguments, str):
                if replaced or self.args is None:
                    self.args = _Text(arguments)
                else:
                    self.args.append(arguments)
            elif replaced:
                self.args = None
            self.args_set = True
        elif "function" in entry and replaced:
            self.args = None
            self.args_set = False
        accumulate_delta(self.data, entry)

    def normalise(self) -> None:
        """Give every field a value, as the SDK's per-chunk dump-and-rebuild does."""
        for key in ("id", "function", "type", "index"):
            self.data.setdefault(key, None)
        function = self.data["function"]
        if isinstance(function, dict):
            function.setdefault("name", None)
            self.args_set = True
        self.parsed_set = True

    def to_wire(self) -> dict[str, Any]:
        data = dict(self.data)
        function = data.get("function")
        if isinstance(function, dict):
            function = dict(function)
            if self.args is not None:
                function["arguments"] = self.args.value()
            elif self.args_set:
                function["arguments"] = None
            if self.parsed_set:
                function["parsed_arguments"] = self.parsed_arguments
            data["function"] = function
        return data


class _ChoiceState:
    """Everything known about one choice: its accumulated message and which done events fired."""

    __slots__ = (
        "base",
        "content",
        "content_done",
        "created_now",
        "current_tool",
        "done_tools",
        "full",
        "index",
        "logprobs_content_done",
        "logprobs_refusal_done",
        "lp_content",
        "lp_keys",
        "lp_present",
        "lp_refusal",
        "lp_set",
        "message_keys",
        "other",
        "parsed",
        "parsed_set",
        "raw_objects",
        "refusal",
        "refusal_done",
        "tools",
    )

    def __init__(self, choice: Choice) -> None:
        self.index = choice.index
        base = choice.model_dump(exclude_unset=True, exclude={"delta"})
        base.pop("message", None)
        self.lp_set = "logprobs" in base
        base.pop("logprobs", None)
        self.base: dict[str, Any] = base
        logprobs = choice.logprobs
        self.lp_present = logprobs is not None
        self.lp_keys: set[str] = set(logprobs.model_fields_set) if logprobs is not None else set()
        self.lp_content: list[LogprobsToken] | None = (
            list(logprobs.content) if logprobs is not None and logprobs.content is not None else None
        )
        self.lp_refusal: list[LogprobsToken] | None = (
            list(logprobs.refusal) if logprobs is not None and logprobs.refusal is not None else None
        )
        self.content: _Text | None = None
        self.refusal: _Text | None = None
        self.tools: list[_ToolCall] | None = None
        self.other: dict[str, Any] = {}
        self.message_keys: set[str] = set()
        self.raw_objects: set[str] = set()
        self.full = False
        self.parsed: object = None
        self.parsed_set = False
        self.created_now = True
        self.content_done = self.refusal_done = False
        self.logprobs_content_done = self.logprobs_refusal_done = False
        self.done_tools: set[int] = set()
        self.current_tool: int | None = None

    # --- accumulation ----------------------------------------------------------------------------

    def merge_delta(self, choice: Choice, chunk_index: int) -> None:
        delta = choice.delta
        fields_set = delta.__pydantic_fields_set__
        extra = delta.__pydantic_extra__
        keys = self.message_keys
        if "content" in fields_set:
            keys.add("content")
            value = delta.content
            if self.content is None:
                self.content = None if value is None else _Text(value)
            elif value is not None:
                self.content.append(value)
        if "refusal" in fields_set:
            keys.add("refusal")
            value = delta.refusal
            if self.refusal is None:
                self.refusal = None if value is None else _Text(value)
            elif value is not None:
                self.refusal.append(value)
        if "role" in fields_set:
            keys.add("role")
            accumulate_delta(self.other, {"role": delta.role})
        if "tool_calls" in fields_set:
            keys.add("tool_calls")
            self._merge_tool_calls(delta, chunk_index)
        if extra or not _WRITER_SET.isdisjoint(fields_set):
            self._merge_rare(delta, fields_set, extra or {})

    def _merge_rare(self, delta: Any, fields_set: set[str], extra: dict[str, Any]) -> None:
        """Writer-only objects and unknown fields: rare, so kept off the per-chunk fast path."""
        keys = self.message_keys
        for name in WRITER_OBJECT_FIELDS:
            if name in fields_set or name in extra:
                keys.add(name)
                value = getattr(delta, name)
                if isinstance(value, pydantic.BaseModel):
                    value = value.model_dump(by_alias=True, exclude_unset=True)
                else:
                    value = copy.deepcopy(value)
                held = self.other.get(name)
                if isinstance(value, dict) and isinstance(held, dict):
                    _merge_fields(held, value)
                    self.raw_objects.add(name)
                elif value is not None or held is None:
                    self.other[name] = value
                    self.raw_objects.add(name)
        if extra:
            unknown = {k: copy.deepcopy(v) for k, v in extra.items() if k not in _DELTA_SPECIAL}
            keys.update(unknown)
            accumulate_delta(self.other, unknown)

    def _merge_tool_calls(self, delta: Any, chunk_index: int) -> None:
        entries = [entry.model_dump(by_alias=True, exclude_unset=True) for entry in delta.tool_calls or ()]
        if delta.tool_calls is None:
            return
        if self.tools is None:
            self.tools = []
        tools = self.tools
        for entry in sorted(entries, key=lambda e: cast(int, e["index"])):
            index = entry["index"]
            if 0 <= index < len(tools):
                tools[index].merge(entry)
            elif index == len(tools):
                tools.append(_ToolCall(entry))
            else:
                raise ValueError(
                    f"Chunk {chunk_index} sends tool call index {index} for choice {self.index}, but that choice "
                    f"has {len(tools)} tool call(s) so far; tool call indexes must count up from 0 without gaps."
                )

    def normalise(self) -> None:
        """What the SDK's dump-and-rebuild of the message leaves: every field present, parsed reset."""
        if not self.full:
            self.full = True
            self.message_keys.update(_MESSAGE_FIELDS)
            for name in ("role", *WRITER_OBJECT_FIELDS):
                self.other.setdefault(name, None)
        if self.raw_objects:
            for name in self.raw_objects:
                value = self.other[name]
                if isinstance(value, dict):
                    model = _MESSAGE_T.model_fields[name].annotation
                    built = construct(_optional_model(model), value)
                    self.other[name] = built.model_dump(by_alias=True, warnings=False)
            self.raw_objects.clear()
        if self.tools:
            for tool in self.tools:
                tool.normalise()
        self.parsed = None
        self.parsed_set = False

    def merge_logprobs(self, choice: Choice) -> None:
        logprobs = choice.logprobs
        if logprobs is None:
            return
        if not self.lp_present:
            self.lp_present = self.lp_set = True
            self.lp_keys = {"content", "refusal"}
            self.lp_content = None if logprobs.content is None else list(logprobs.content)
            self.lp_refusal = None if logprobs.refusal is None else list(logprobs.refusal)
            return
        if logprobs.content:
            if self.lp_content is None:
                self.lp_content = []
                self.lp_keys.add("content")
            self.lp_content.extend(logprobs.content)
        if logprobs.refusal:
            if self.lp_refusal is None:
                self.lp_refusal = []
                self.lp_keys.add("refusal")
            self.lp_refusal.extend(logprobs.refusal)

    # --- materialising ---------------------------------------------------------------------------

    def message_wire(self) -> dict[str, Any]:
        keys = self.message_keys
        message: dict[str, Any] = {}
        if "content" in keys:
            message["content"] = _text_or_none(self.content)
        if "refusal" in keys:
            message["refusal"] = _text_or_none(self.refusal)
        message.update(self.other)
        if "tool_calls" in keys:
            message["tool_calls"] = None if self.tools is None else [tool.to_wire() for tool in self.tools]
        if self.parsed_set:
            message["parsed"] = self.parsed
        return message

    def logprobs_model(self) -> Logprobs | None:
        if not self.lp_present:
            return None
        model = Logprobs.__new__(Logprobs)
        object.__setattr__(model, "__dict__", {"content": self.lp_content, "refusal": self.lp_refusal})
        object.__setattr__(model, "__pydantic_fields_set__", set(self.lp_keys))
        object.__setattr__(model, "__pydantic_extra__", {})
        object.__setattr__(model, "__pydantic_private__", None)
        return model

    def build(self) -> ParsedChatCompletionChoice[object]:
        data: dict[str, Any] = dict(self.base)
        data["message"] = self.message_wire()
        choice = construct(_CHOICE_T, data)
        if self.lp_set:
            choice.__dict__["logprobs"] = self.logprobs_model()
            choice.__pydantic_fields_set__.add("logprobs")
        return choice


def _merge_fields(held: dict[str, Any], piece: Mapping[str, Any]) -> None:
    """Field-wise "latest wins" for a Writer object sent in pieces: objects merge, a null never clears."""
    for key, value in piece.items():
        current = held.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            _merge_fields(current, value)
        elif value is not None or current is None:
            held[key] = value


def _optional_model(annotation: Any) -> type[pydantic.BaseModel]:
    for arg in getattr(annotation, "__args__", (annotation,)):
        if isinstance(arg, type) and issubclass(arg, pydantic.BaseModel):
            return arg
    raise TypeError(f"No model type in {annotation!r}.")


def _copy_into(target: pydantic.BaseModel, source: pydantic.BaseModel) -> None:
    object.__setattr__(target, "__dict__", source.__dict__)
    object.__setattr__(target, "__pydantic_fields_set__", source.__pydantic_fields_set__)
    object.__setattr__(target, "__pydantic_extra__", source.__pydantic_extra__)


def _fits_schema(chunk: ChatCompletionChunk) -> bool:
    try:
        data = chunk.model_dump(by_alias=True, exclude_unset=True, warnings=False)
        ChatCompletionChunk.__pydantic_validator__.validate_python(data, strict=True)
    except (pydantic.ValidationError, pydantic_core.PydanticSerializationError):
        return False
    return True


def _short(chunk: object) -> str:
    text = (
        chunk.to_json(indent=None, warnings=False) if isinstance(chunk, ChatCompletionChunk) else repr(chunk)
    )
    return text if len(text) <= 300 else f"{text[:260]}… ({len(text) - 260} more characters)"


def _partial_json(text: str) -> Any:
    # pydantic-core's allow_partial is jiter's partial_mode=True (what the SDK calls).
    return pydantic_core.from_json(text.encode(), allow_partial=True)


class ChatCompletionStreamState(Generic[ResponseFormatT]):
    """The pure engine under both streams: feed chunks, get events, read the snapshot.

    ``input_tools`` are the request's tools (strict ones and ``pydantic_function_tool``
    ones get their arguments parsed); ``response_format`` is a class to parse the
    content into, or a ``response_format`` dict (which, as in the SDK, parses nothing).
    """

    def __init__(self, *, input_tools: Iterable[ToolParam] = (), response_format: Any = None) -> None:
        # writerai's omit / NOT_GIVEN are its defaults for both: they mean "none".
        self._input_tools = tools_or_none(input_tools)
        response_format = format_or_none(response_format)
        self._response_format = response_format
        self._rich = has_rich_response_format(response_format)
        self._parseable = has_parseable_input(response_format=response_format, input_tools=self._input_tools)
        self._strict_names: dict[str | None, bool] = {}
        self._done_event_type: type[ContentDoneEvent[Any]] = cast(Any, ContentDoneEvent)[
            solve_response_format_t(response_format)
        ]
        self._head: dict[str, Any] | None = None
        self._choices: dict[int, _ChoiceState] = {}
        self._order: list[_ChoiceState] = []
        self._chunk_count = 0
        self._live: ParsedChatCompletion[object] | None = None
        self._live_version = -1
        self._handed_out = False

    # --- the public surface ----------------------------------------------------------------------

    def handle_chunk(
        self, chunk: ChatCompletionChunk | Mapping[str, Any] | pydantic.BaseModel
    ) -> list[ChatCompletionStreamEvent[ResponseFormatT]]:
        """Accumulate one chunk and return its events, in the order the SDK yields them.

        A dict or another library's chunk (writerai's) is accepted too, and, as in the
        SDK, a chunk off the schema is used as given.
        """
        chunk_index = self._chunk_count
        if type(chunk) is not ChatCompletionChunk:
            chunk = self._coerce(chunk, chunk_index)
        self._chunk_count += 1
        try:
            if self._head is None:
                self._start(chunk)
            else:
                for choice in chunk.choices:
                    self._accumulate(choice, chunk_index)
                head = self._head
                head["usage"] = chunk.usage
                head["system_fingerprint"] = chunk.system_fingerprint
            return self._build_events(chunk)
        except (AttributeError, TypeError, KeyError, IndexError) as exc:
            if _fits_schema(chunk):
                raise
            # A chunk off the schema that the SDK crashes on too: say which one and why.
            raise ValueError(
                f"Chunk {chunk_index} does not have the shape the stream helper reads ({type(exc).__name__}: "
                f"{exc}); its choices must be a list of objects, each with an integer index and a delta "
                f"object. The chunk was: {_short(chunk)}"
            ) from exc
        finally:
            if self._handed_out:
                # Somebody holds the live snapshot: keep it current, even when this chunk raised.
                self._live_version = -1
                self._sync()

    @property
    def current_completion_snapshot(self) -> ParsedChatCompletion[object]:
        """The completion accumulated so far; the same object all stream long (it keeps updating)."""
        if self._head is None:
            raise AssertionError(
                "There is no completion snapshot yet: no chunk has been handled. Call handle_chunk() first."
            )
        self._handed_out = True
        return self._sync()

    def get_final_completion(self) -> ParsedChatCompletion[ResponseFormatT]:
        """The accumulated completion, parsed: raises on a length or content-filter stop, as the SDK does."""
        return cast(
            "ParsedChatCompletion[ResponseFormatT]",
            parse_chat_completion(
                completion=self.current_completion_snapshot,
                response_format=self._response_format if self._rich else None,
                input_tools=self._input_tools,
            ),
        )

    # --- accumulation ----------------------------------------------------------------------------

    def _coerce(self, data: object, chunk_index: int) -> ChatCompletionChunk:
        """A chunk from a dict or from another library's chunk model (writerai's), built as the SDK builds it."""
        if isinstance(data, pydantic.BaseModel):
            data = data.model_dump(by_alias=True, exclude_unset=True, warnings=False)
        if not isinstance(data, Mapping):
            raise ValueError(
                f"Chunk {chunk_index} is a {type(data).__name__}, not a chat.completion.chunk; pass a "
                "ChatCompletionChunk (this kit's or writerai's) or the chunk's JSON object as a dict."
            )
        if "error" in data and "choices" not in data:
            raise ValueError(
                f"Chunk {chunk_index} is an error payload, not a chat.completion.chunk: {dict(data)!r}. "
                "Error payloads belong to the client, which raises StreamErrorEvent for them; "
                "do not feed them to the stream state."
            )
        try:
            chunk: ChatCompletionChunk = ChatCompletionChunk.__pydantic_validator__.validate_python(
                data, strict=True
            )
            return chunk
        except pydantic.ValidationError:
            # Off the schema: kept as given, as the SDK keeps what it receives.
            return construct_loosely(ChatCompletionChunk, data)

    def _start(self, chunk: ChatCompletionChunk) -> None:
        data = chunk.to_dict()
        data.pop("choices", None)
        self._head = {"system_fingerprint": None, **data, "object": "chat.completion"}
        for choice in chunk.choices:
            state = self._choices.get(choice.index)
            if state is None:
                self._add_choice(choice, 0)
            else:
                self._accumulate(choice, 0)

    def _add_choice(self, choice: Choice, chunk_index: int) -> _ChoiceState:
        state = _ChoiceState(choice)
        state.merge_delta(choice, chunk_index)
        self._choices[choice.index] = state
        self._order.append(state)
        if len(self._order) > 1 and self._order[-2].index > state.index:
            self._order.sort(key=lambda s: s.index)
        return state

    def _accumulate(self, choice: Choice, chunk_index: int) -> None:
        state = self._choices.get(choice.index)
        if state is None:
            state = self._add_choice(choice, chunk_index)
        else:
            state.created_now = False
            state.normalise()
            state.merge_delta(choice, chunk_index)

        if choice.finish_reason:
            state.base["finish_reason"] = choice.finish_reason
            if self._parseable:
                if choice.finish_reason == "length":
                    raise LengthFinishReasonError(completion=self.current_completion_snapshot)
                if choice.finish_reason == "content_filter":
                    raise ContentFilterFinishReasonError()

        refused = state.refusal is not None and state.refusal.length > 0
        if self._rich and state.content is not None and state.content.length and not refused:
            state.parsed = _partial_json(state.content.value())
            state.parsed_set = True

        if self._input_tools:
            for entry in choice.delta.tool_calls or ():
                tool = self._tool(state, entry.index)
                if (
                    tool.type == "function"
                    and tool.args is not None
                    and tool.args.length
                    and self._is_strict(tool.name)
                ):
                    tool.parsed_arguments = _partial_json(tool.args.value())
                    tool.parsed_set = True

        if not state.created_now and choice.logprobs is not None:
            state.merge_logprobs(choice)

    def _is_strict(self, name: str | None) -> bool:
        strict = self._strict_names.get(name)
        if strict is None:
            tool = get_input_tool_by_name(input_tools=self._input_tools, name=name)
            strict = self._strict_names[name] = bool(tool and tool.get("function", {}).get("strict"))
        return strict

    @staticmethod
    def _tool(state: _ChoiceState, index: int) -> _ToolCall:
        tools = state.tools or []
        if not 0 <= index < len(tools):
            raise ValueError(f"Choice {state.index} has no tool call with index {index}.")
        return tools[index]

    # --- events ----------------------------------------------------------------------------------

    def _build_events(self, chunk: ChatCompletionChunk) -> list[ChatCompletionStreamEvent[ResponseFormatT]]:
        # Typed list[Any] so it is returned as is: typing.cast() would be one more call per chunk.
        events: list[Any] = [_chunk_event({"type": "chunk", "chunk": chunk}, self._chunk_snapshot)]
        for choice in chunk.choices:
            state = self._choices[choice.index]
            delta = choice.delta
            if delta.content is not None and state.content is not None and state.content.length:
                events.append(
                    _content_delta_event(
                        {"type": "content.delta", "delta": delta.content, "parsed": state.parsed},
                        _TextSnapshot(state.content),
                    )
                )
            if delta.refusal is not None and state.refusal is not None:
                events.append(
                    _refusal_delta_event(
                        {"type": "refusal.delta", "delta": delta.refusal}, _TextSnapshot(state.refusal)
                    )
                )
            if delta.tool_calls:
                for entry in delta.tool_calls:
                    tool = self._tool(state, entry.index)
                    if tool.type != "function":
                        continue
                    events.append(
                        _arguments_delta_event(
                            {
                                "type": "tool_calls.function.arguments.delta",
                                "name": self._tool_name(state, tool, entry.index),
                                "index": entry.index,
                                "parsed_arguments": tool.parsed_arguments,
                                "arguments_delta": (entry.function.arguments if entry.function else None)
                                or "",
                            },
                            _ArgumentsSnapshot(tool),
                        )
                    )
            logprobs = choice.logprobs
            if logprobs is not None and state.lp_present:
                if logprobs.content and state.lp_content:
                    events.append(
                        _logprobs_content_delta_event(
                            {"type": "logprobs.content.delta", "content": list(logprobs.content)},
                            _ListSnapshot(state.lp_content),
                        )
                    )
                if logprobs.refusal and state.lp_refusal:
                    events.append(
                        _logprobs_refusal_delta_event(
                            {"type": "logprobs.refusal.delta", "refusal": list(logprobs.refusal)},
                            _ListSnapshot(state.lp_refusal),
                        )
                    )
            if delta.tool_calls or state.base.get("finish_reason"):
                self._done_events(state, choice, events)
        return events

    def _done_events(self, state: _ChoiceState, choice: Choice, events: list[Any]) -> None:
        if state.base.get("finish_reason"):
            self._content_done_events(state, events)
            if state.current_tool is not None and state.current_tool not in state.done_tools:
                self._tool_done_event(state, state.current_tool, events)
        for entry in choice.delta.tool_calls or ():
            if state.current_tool != entry.index:
                self._content_done_events(state, events)
                if state.current_tool is not None:
                    self._tool_done_event(state, state.current_tool, events)
            state.current_tool = entry.index

    def _content_done_events(self, state: _ChoiceState, events: list[Any]) -> None:
        if state.content is not None and state.content.length and not state.content_done:
            state.content_done = True
            content = state.content.value()
            parsed = maybe_parse_content(
                response_format=self._response_format, content=content, refusal=_text_or_none(state.refusal)
            )
            # The complete content is now validated into the rich type, replacing the partial JSON.
            state.parsed = parsed
            state.parsed_set = True
            events.append(
                self._done_event_type._fast({"type": "content.done", "content": content, "parsed": parsed})
            )
        if state.refusal is not None and not state.refusal_done:
            state.refusal_done = True
            events.append(RefusalDoneEvent._fast({"type": "refusal.done", "refusal": state.refusal.value()}))
        if state.lp_present and state.lp_content is not None and not state.logprobs_content_done:
            state.logprobs_content_done = True
            events.append(
                LogprobsContentDoneEvent._fast(
                    {"type": "logprobs.content.done", "content": list(state.lp_content)}
                )
            )
        if state.lp_present and state.lp_refusal is not None and not state.logprobs_refusal_done:
            state.logprobs_refusal_done = True
            events.append(
                LogprobsRefusalDoneEvent._fast(
                    {"type": "logprobs.refusal.done", "refusal": list(state.lp_refusal)}
                )
            )

    def _tool_done_event(self, state: _ChoiceState, index: int, events: list[Any]) -> None:
        if index in state.done_tools:
            return
        state.done_tools.add(index)
        tool = self._tool(state, index)
        if tool.type != "function":
            return
        arguments = tool.arguments  # None when no arguments ever came, as in the SDK
        parsed = parse_function_tool_arguments(
            input_tools=self._input_tools, name=tool.name, arguments=arguments
        )
        tool.parsed_arguments = parsed
        tool.parsed_set = True
        events.append(
            FunctionToolCallArgumentsDoneEvent._fast(
                {
                    "type": "tool_calls.function.arguments.done",
                    "name": self._tool_name(state, tool, index),
                    "index": index,
                    "tool_call_snapshot_id": tool.data.get("id"),
                    "arguments": arguments,
                    "parsed_arguments": parsed,
                }
            )
        )

    @staticmethod
    def _tool_name(state: _ChoiceState, tool: _ToolCall, index: int) -> str:
        name = tool.name
        if not isinstance(name, str):
            raise ValueError(
                f"Tool call {index} of choice {state.index} has no function name; the first delta of a tool "
                "call must carry function.name."
            )
        return name

    # --- snapshots -------------------------------------------------------------------------------

    def _chunk_snapshot(self) -> dict[str, Any]:
        return {"snapshot": self.current_completion_snapshot}

    def _sync(self) -> ParsedChatCompletion[object]:
        """Bring the live snapshot object up to date (cheap when nothing changed)."""
        version = self._chunk_count
        live = self._live
        if live is not None and self._live_version == version:
            return live
        assert self._head is not None
        fresh = construct(_SNAPSHOT_T, {**self._head, "choices": []})
        choices = [state.build() for state in self._order]
        if live is None:
            live = self._live = fresh
            live.__dict__["choices"] = choices
        else:
            # Keep the objects users may hold (the completion, its choice list, each choice) current.
            held = live.choices
            fresh.__dict__["choices"] = held
            _copy_into(live, fresh)
            for position, choice in enumerate(choices):
                if position < len(held) and held[position].index == choice.index:
                    _copy_into(held[position], choice)
                    choices[position] = held[position]
            held[:] = choices
        self._live_version = version
        return live


class _TextSnapshot:
    """Lazy ``snapshot`` of a text-delta event: the text as it was when the event fired."""

    __slots__ = ("n", "text")

    def __init__(self, text: _Text) -> None:
        self.text = text
        self.n = len(text.pieces)

    def __call__(self) -> dict[str, Any]:
        return {"snapshot": self.text.prefix(self.n)}


class _ArgumentsSnapshot:
    __slots__ = ("n", "text")

    def __init__(self, tool: _ToolCall) -> None:
        self.text = tool.args
        self.n = len(tool.args.pieces) if tool.args is not None else 0

    def __call__(self) -> dict[str, Any]:
        return {"arguments": self.text.prefix(self.n) if self.text is not None else None}


class _ListSnapshot:
    """Lazy ``snapshot`` of a logprobs-delta event: a copy of the list's prefix at the event."""

    __slots__ = ("items", "n")

    def __init__(self, items: list[LogprobsToken]) -> None:
        self.items = items
        self.n = len(items)

    def __call__(self) -> dict[str, Any]:
        return {"snapshot": self.items[: self.n]}

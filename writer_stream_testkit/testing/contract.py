"""Check event sequences from the chat stream helper against the rules every well-formed stream obeys.

The rules are derived from ``writerai``'s ``ChatCompletionStreamState``: which events a
chunk causes, in what order, when the done events fire, and how snapshots, done values
and the final completion relate to the deltas. Events are duck-typed (``type`` plus the
SDK's field names), so sequences from ``writerai`` and from this kit are checked alike.

Events carry no choice index. The checker replays the chunk events' own data to know
which part of which choice each event belongs to, and what each chunk should cause.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import NoReturn

import pydantic
import pydantic_core

from ..errors import StreamContractError
from ._fields import MISSING, as_list, format_value, get_field, plain_value
from .transcript import render_event

RULES: Mapping[str, str] = MappingProxyType(
    {
        "stream.empty": (
            "A stream yields at least one event; an empty sequence usually means the events were never "
            "collected (pass allow_empty=True when a stream that failed before its first chunk is expected)."
        ),
        "event.type": "Every event has one of the stream helper's eleven event types.",
        "chunk.first": "Every non-chunk event follows the chunk event that caused it.",
        "chunk.choice-index": "A choice index is new only if it is one more than the highest seen so far.",
        "chunk.order": (
            "A chunk's events are grouped by choice in the chunk's order; within a choice the deltas come "
            "first (content, refusal, tool calls in the chunk's order, logprobs content, logprobs refusal), "
            "then the done events."
        ),
        "chunk.cause": "A delta event carries exactly what a choice of the chunk before it carries.",
        "chunk.effects": (
            "Every part a chunk carries yields its delta event before the next chunk (content once the "
            "accumulated content is non-empty, logprobs when the chunk has tokens)."
        ),
        "delta.after-done": "No delta for a part of a choice follows that part's done event.",
        "delta.snapshot": "A delta's snapshot is the previous snapshot of the same part plus the delta.",
        "delta.parsed": "A delta's partial parse, when set, is the partial JSON parse of its snapshot.",
        "tool.index": "A choice's tool-call indexes start at 0 and each new index is one more than the last.",
        "tool.name": "Every event for a tool call carries the name its first chunk gave it.",
        "tool.id": "arguments.done's tool_call_snapshot_id is the id the first chunk gave that call.",
        "done.trigger": (
            "A done event fires only once its choice's finish_reason has arrived, or in a chunk that moves "
            "the choice to another tool-call index (which closes the previous one)."
        ),
        "done.order": (
            "A choice's done events in one chunk come in the order content, refusal, logprobs content, "
            "logprobs refusal, tool call."
        ),
        "done.unique": "Each part of each choice is closed by at most one done event.",
        "done.unopened": "A done event closes a part the stream has opened: content, refusal and tool calls need deltas first.",
        "done.joined": "A done event's value is its deltas joined, which is also the last delta's snapshot.",
        "done.parsed": "A done event's parsed value, when set, is its text parsed as JSON or validated into that value's type.",
        "done.missing": (
            "The chunk carrying a finish_reason closes every open part of its choice; a chunk that moves to "
            "another tool-call index closes the content, refusal and logprobs parts and the previous tool call."
        ),
        "final.meta": "The final completion's id, model and usage are the chunks' (usage from the last chunk).",
        "final.choices": "The final completion has one choice per choice index, with the finish_reason it streamed.",
        "final.content": "A final message's content, refusal and parsed value are what the events streamed.",
        "final.tool-calls": "A final message's tool calls are the streamed ones: id, name, arguments and parsed arguments.",
        "final.logprobs": "A final choice's logprobs are the tokens the logprobs done events carried.",
    }
)

_DELTA_PART = {
    "content.delta": "content",
    "refusal.delta": "refusal",
    "logprobs.content.delta": "logprobs.content",
    "logprobs.refusal.delta": "logprobs.refusal",
}
_DONE_PART = {
    "content.done": "content",
    "refusal.done": "refusal",
    "logprobs.content.done": "logprobs.content",
    "logprobs.refusal.done": "logprobs.refusal",
}
_TOOL_DELTA = "tool_calls.function.arguments.delta"
_TOOL_DONE = "tool_calls.function.arguments.done"
EVENT_TYPES = frozenset({"chunk", _TOOL_DELTA, _TOOL_DONE, *_DELTA_PART, *_DONE_PART})
_GROUP_PARTS = ("content", "refusal", "logprobs.content", "logprobs.refusal")

# A slot is one event a chunk is expected to cause: (is_done, part, tool index or None).
_Slot = tuple[bool, str, "int | None"]


def _describe(slot: _Slot) -> str:
    done, part, index = slot
    if part == "tool":
        return f"{_TOOL_DONE if done else _TOOL_DELTA} for tool index {index}"
    return f"{part}.{'done' if done else 'delta'}"


@dataclasses.dataclass
class _Tool:
    name: object
    id: object
    joined: str = ""
    snapshot: str | None = None
    done: object = None


@dataclasses.dataclass
class _Choice:
    """One choice as the chunks built it (``acc_*``) and as the events reported it (the rest)."""

    acc_content: str | None = None
    acc_refusal: str | None = None
    acc_logprobs: dict[str, list[object] | None] | None = None
    finish_reason: object = None
    current_tool: int | None = None
    tools: dict[int, _Tool] = dataclasses.field(default_factory=dict)
    joined: dict[str, str] = dataclasses.field(default_factory=dict)
    snapshot: dict[str, object] = dataclasses.field(default_factory=dict)
    tokens: dict[str, list[object]] = dataclasses.field(default_factory=dict)
    done: dict[str, object] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class _Segment:
    """A chunk event and what it is expected to cause, per choice in the chunk's order."""

    index: int
    choices: list[tuple[int, object]]
    remaining: list[list[_Slot]]
    position: int = 0


class _Checker:
    def __init__(self, events: list[object]) -> None:
        self.events = events
        self.choices: dict[int, _Choice] = {}
        self.segment: _Segment | None = None
        self.first_chunk: object = None
        self.last_chunk: object = None
        self.last_choice = 0

    # --- reporting --------------------------------------------------------------------------------

    def fail(self, rule: str, index: int | None, detail: str) -> NoReturn:
        raise StreamContractError(_message(self.events, rule, index, detail))

    # --- the walk ---------------------------------------------------------------------------------

    def run(self) -> None:
        for index, event in enumerate(self.events):
            kind = get_field(event, "type")
            if kind is MISSING:
                self.fail(
                    "event.type",
                    index,
                    f"Event {index} is a {type(event).__name__} with no `type`, not a stream event; pass the "
                    "events that iterating client.chat.stream(...) yielded.",
                )
            if kind not in EVENT_TYPES:
                self.fail(
                    "event.type",
                    index,
                    f"Event {index} has type {format_value(kind)}, which the helper never emits.",
                )
            if kind == "chunk":
                self.close_segment(index)
                self.open_segment(index, event)
                continue
            if self.segment is None:
                self.fail("chunk.first", index, f"Event {index} ({kind}) comes before any chunk event.")
            if kind in _DELTA_PART or kind == _TOOL_DELTA:
                self.on_delta(index, event, str(kind))
            else:
                self.on_done(index, event, str(kind))
        self.close_segment(len(self.events))

    def open_segment(self, index: int, event: object) -> None:
        chunk = get_field(event, "chunk")
        if self.first_chunk is None:
            self.first_chunk = chunk
        self.last_chunk = chunk
        entries: list[tuple[int, object]] = []
        remaining: list[list[_Slot]] = []
        for choice in as_list(get_field(chunk, "choices")):
            choice_index = get_field(choice, "index")
            if not isinstance(choice_index, int):
                self.fail(
                    "chunk.choice-index",
                    index,
                    f"The chunk at event {index} has a choice without an integer index.",
                )
            if choice_index not in self.choices:
                if choice_index != len(self.choices):
                    self.fail(
                        "chunk.choice-index",
                        index,
                        f"The chunk at event {index} starts choice {choice_index}, but only {len(self.choices)} "
                        "choice(s) exist, so the next new index must be "
                        f"{len(self.choices)}.",
                    )
                self.choices[choice_index] = _Choice()
            entries.append((choice_index, choice))
            remaining.append(self.expected_slots(self.choices[choice_index], choice))
        self.segment = _Segment(index, entries, remaining)

    def expected_slots(self, state: _Choice, choice: object) -> list[_Slot]:
        """Accumulate one choice of a chunk as the SDK does and list the events it causes."""
        delta = get_field(choice, "delta")
        content, refusal = get_field(delta, "content"), get_field(delta, "refusal")
        tool_calls = as_list(get_field(delta, "tool_calls"))
        logprobs = get_field(choice, "logprobs")
        if isinstance(content, str):
            state.acc_content = (state.acc_content or "") + content
        if isinstance(refusal, str):
            state.acc_refusal = (state.acc_refusal or "") + refusal
        lp_new: dict[str, list[object]] = {}
        if logprobs is not None and logprobs is not MISSING:
            for part in ("content", "refusal"):
                tokens = get_field(logprobs, part)
                lp_new[part] = as_list(tokens)
                if state.acc_logprobs is None:
                    continue
                if lp_new[part]:
                    state.acc_logprobs[part] = [*(state.acc_logprobs[part] or []), *lp_new[part]]
            if state.acc_logprobs is None:
                state.acc_logprobs = {
                    part: (
                        as_list(get_field(logprobs, part))
                        if isinstance(get_field(logprobs, part), list)
                        else None
                    )
                    for part in ("content", "refusal")
                }
        finish = get_field(choice, "finish_reason")
        if finish and finish is not MISSING:
            state.finish_reason = finish

        slots: list[_Slot] = []
        if isinstance(content, str) and state.acc_content:
            slots.append((False, "content", None))
        if isinstance(refusal, str):
            slots.append((False, "refusal", None))
        for call in tool_calls:
            tool_index = get_field(call, "index")
            slots.append((False, "tool", tool_index if isinstance(tool_index, int) else None))
        for part in ("content", "refusal"):
            acc = state.acc_logprobs[part] if state.acc_logprobs is not None else None
            if lp_new.get(part) and acc:
                slots.append((False, f"logprobs.{part}", None))

        closed: set[tuple[str, int | None]] = set()

        def close_group() -> None:
            lp = state.acc_logprobs or {}
            opened = {
                "content": bool(state.acc_content),
                "refusal": state.acc_refusal is not None,
                "logprobs.content": lp.get("content") is not None,
                "logprobs.refusal": lp.get("refusal") is not None,
            }
            for part in _GROUP_PARTS:
                if opened[part] and part not in state.done and (part, None) not in closed:
                    closed.add((part, None))
                    slots.append((True, part, None))

        def close_tool(tool_index: int) -> None:
            tool = state.tools.get(tool_index)
            if (tool is None or tool.done is None) and ("tool", tool_index) not in closed:
                closed.add(("tool", tool_index))
                slots.append((True, "tool", tool_index))

        if state.finish_reason:
            close_group()
            if state.current_tool is not None:
                close_tool(state.current_tool)
        for call in tool_calls:
            tool_index = get_field(call, "index")
            if state.current_tool != tool_index:
                close_group()
                if state.current_tool is not None:
                    close_tool(state.current_tool)
            state.current_tool = tool_index if isinstance(tool_index, int) else None
        return slots

    def close_segment(self, index: int) -> None:
        segment = self.segment
        if segment is None:
            return
        for (choice_index, _), remaining in zip(segment.choices, segment.remaining, strict=True):
            if remaining:
                done = remaining[0][0]
                where = (
                    f"the next chunk (event {index})" if index < len(self.events) else "the end of the events"
                )
                rule = "done.missing" if done else "chunk.effects"
                self.fail(
                    rule,
                    min(index, len(self.events) - 1),
                    f"The chunk at event {segment.index} should cause {_describe(remaining[0])} for choice "
                    f"{choice_index}, but {where} came first.",
                )
        self.segment = None

    # --- attribution ------------------------------------------------------------------------------

    def attribute(self, index: int, slot: _Slot) -> tuple[int, object] | None:
        """Consume ``slot`` for the first choice in the segment that expects it, or return None."""
        segment = self.segment
        assert segment is not None
        for position in range(segment.position, len(segment.choices)):
            remaining = segment.remaining[position]
            if slot not in remaining:
                continue
            skipped = [s for p in range(segment.position, position) for s in segment.remaining[p]]
            skipped += remaining[: remaining.index(slot)]
            if skipped:
                self.fail_skipped(index, slot, skipped[0], segment)
            remaining.remove(slot)
            segment.position = position
            self.last_choice = segment.choices[position][0]
            return segment.choices[position]
        for position in range(segment.position):
            if slot in segment.remaining[position]:
                rule = "done.order" if slot[0] else "chunk.order"
                self.fail(
                    rule,
                    index,
                    f"Event {index} ({_describe(slot)}) belongs to choice {segment.choices[position][0]}, "
                    "which comes before the choice whose events precede it.",
                )
        return None

    def fail_skipped(self, index: int, slot: _Slot, skipped: _Slot, segment: _Segment) -> NoReturn:
        later = self.events[index + 1 : self.next_chunk(index)]
        if any(_slot_of(event) == skipped for event in later):
            rule = "done.order" if slot[0] and skipped[0] else "chunk.order"
            self.fail(rule, index, f"Event {index} ({_describe(slot)}) comes before {_describe(skipped)}.")
        rule = "done.missing" if skipped[0] else "chunk.effects"
        self.fail(
            rule,
            index,
            f"The chunk at event {segment.index} should cause {_describe(skipped)} before event {index} "
            f"({_describe(slot)}), but it is missing.",
        )

    def next_chunk(self, index: int) -> int:
        for later in range(index + 1, len(self.events)):
            if get_field(self.events[later], "type") == "chunk":
                return later
        return len(self.events)

    # --- deltas -----------------------------------------------------------------------------------

    def on_delta(self, index: int, event: object, kind: str) -> None:
        tool_index = get_field(event, "index") if kind == _TOOL_DELTA else None
        part = "tool" if kind == _TOOL_DELTA else _DELTA_PART[kind]
        slot: _Slot = (False, part, tool_index if isinstance(tool_index, int) else None)
        found = self.attribute(index, slot)
        segment = self.segment
        assert segment is not None
        if found is None:
            self.fail(
                "chunk.cause",
                index,
                f"Event {index} ({_describe(slot)}) follows the chunk at event {segment.index}, which carries no "
                f"{'tool call with that index' if part == 'tool' else part} for any choice that could cause it.",
            )
        choice_index, choice = found
        state = self.choices[choice_index]
        if part == "tool":
            self.on_tool_delta(index, event, state, choice_index, choice)
            return
        if part in state.done:
            self.fail(
                "delta.after-done",
                index,
                f"Event {index} ({kind}) follows the {part}.done of choice {choice_index}.",
            )
        if part.startswith("logprobs."):
            self.on_logprobs_delta(index, event, state, choice_index, choice, part)
            return
        delta, snapshot = get_field(event, "delta"), get_field(event, "snapshot")
        previous = state.joined.get(part, "")
        if not isinstance(delta, str) or snapshot != previous + delta:
            self.fail(
                "delta.snapshot",
                index,
                f"The snapshot {format_value(snapshot)} should be the previous snapshot {format_value(previous)} plus the "
                f"delta {format_value(delta)}.",
            )
        state.joined[part] = previous + delta
        if part == "content":
            self.check_partial(index, "parsed", get_field(event, "parsed"), snapshot)
        carried = get_field(get_field(choice, "delta"), part)
        if delta != carried:
            self.fail(
                "chunk.cause",
                index,
                f"The delta {format_value(delta)} differs from the {part} {format_value(carried)} that the chunk at event "
                f"{segment.index} carries for choice {choice_index}.",
            )

    def on_tool_delta(
        self, index: int, event: object, state: _Choice, choice_index: int, choice: object
    ) -> None:
        tool_index = get_field(event, "index")
        assert isinstance(tool_index, int)
        call = next(
            c
            for c in as_list(get_field(get_field(choice, "delta"), "tool_calls"))
            if get_field(c, "index") == tool_index
        )
        function = get_field(call, "function")
        tool = state.tools.get(tool_index)
        if tool is None:
            if tool_index != len(state.tools):
                self.fail(
                    "tool.index",
                    index,
                    f"Choice {choice_index} starts tool call {tool_index}, but the next new index must be "
                    f"{len(state.tools)}.",
                )
            tool = state.tools[tool_index] = _Tool(name=get_field(function, "name"), id=get_field(call, "id"))
        if tool.done is not None:
            self.fail(
                "delta.after-done",
                index,
                f"Event {index} is a delta for tool call {tool_index} of choice {choice_index}, "
                "which already had its arguments.done.",
            )
        if get_field(event, "name") != tool.name:
            self.fail(
                "tool.name",
                index,
                f"The name {format_value(get_field(event, 'name'))} differs from {format_value(tool.name)}, the name tool call "
                f"{tool_index} started with.",
            )
        delta, arguments = get_field(event, "arguments_delta"), get_field(event, "arguments")
        if not isinstance(delta, str) or arguments != tool.joined + delta:
            self.fail(
                "delta.snapshot",
                index,
                f"The arguments {format_value(arguments)} should be the previous arguments {format_value(tool.joined)} plus "
                f"the delta {format_value(delta)}.",
            )
        tool.joined = arguments
        self.check_partial(index, "parsed_arguments", get_field(event, "parsed_arguments"), arguments)
        carried = get_field(function, "arguments")
        if delta != (carried if isinstance(carried, str) else ""):
            self.fail(
                "chunk.cause",
                index,
                f"The arguments_delta {format_value(delta)} differs from the arguments {format_value(carried)} that the chunk at event "
                f"{self.segment.index if self.segment else '?'} carries for tool call {tool_index}.",
            )

    def on_logprobs_delta(
        self, index: int, event: object, state: _Choice, choice_index: int, choice: object, part: str
    ) -> None:
        field = part.split(".")[1]
        tokens = _tokens(get_field(event, field))
        snapshot = _tokens(get_field(event, "snapshot"))
        previous = state.tokens.get(part, [])
        if snapshot != previous + tokens:
            self.fail(
                "delta.snapshot",
                index,
                f"The snapshot has {len(snapshot)} token(s), but should be the previous {len(previous)} "
                f"plus this delta's {len(tokens)}.",
            )
        state.tokens[part] = snapshot
        carried = plain_value(as_list(get_field(get_field(choice, "logprobs"), field)))
        if tokens != carried:
            self.fail(
                "chunk.cause",
                index,
                f"The event's {field} tokens differ from the ones the chunk at event "
                f"{self.segment.index if self.segment else '?'} carries for choice {choice_index}.",
            )

    def check_partial(self, index: int, field: str, parsed: object, snapshot: str) -> None:
        if parsed is None or parsed is MISSING or not isinstance(parsed, (dict, list, str, int, float)):
            return
        try:
            expected = pydantic_core.from_json(snapshot, allow_partial=True)
        except ValueError:
            expected = MISSING
        if parsed != expected:
            self.fail(
                "delta.parsed",
                index,
                f"{field} is {format_value(parsed)}, but the partial JSON parse of {format_value(snapshot)} is {format_value(expected)}.",
            )

    # --- done events ------------------------------------------------------------------------------

    def on_done(self, index: int, event: object, kind: str) -> None:
        if kind == _TOOL_DONE:
            tool_index = get_field(event, "index")
            slot: _Slot = (True, "tool", tool_index if isinstance(tool_index, int) else None)
        else:
            slot = (True, _DONE_PART[kind], None)
        found = self.attribute(index, slot)
        if found is None:
            self.fail_unexpected_done(index, slot)
        choice_index, _ = found
        state = self.choices[choice_index]
        if slot[1] == "tool":
            self.on_tool_done(index, event, state, choice_index)
            return
        part = slot[1]
        state.done[part] = event
        if part.startswith("logprobs."):
            tokens = plain_value(as_list(get_field(event, part.split(".")[1])))
            joined = state.tokens.get(part, [])
            if tokens != joined:
                self.fail(
                    "done.joined",
                    index,
                    f"{kind} carries {_count(tokens)} token(s), but the {part} deltas of choice {choice_index} "
                    f"carried {len(joined)}.",
                )
            return
        value = get_field(event, part)
        joined_text = state.joined.get(part, "")
        if value != joined_text:
            self.fail(
                "done.joined",
                index,
                f"{kind} has {part} {format_value(value)}, but the {part}.delta events of choice {choice_index} "
                f"join to {format_value(joined_text)}.",
            )
        if part == "content":
            self.check_parsed(index, "parsed", get_field(event, "parsed"), joined_text)

    def on_tool_done(self, index: int, event: object, state: _Choice, choice_index: int) -> None:
        tool_index = get_field(event, "index")
        assert isinstance(tool_index, int)
        tool = state.tools[tool_index]
        tool.done = event
        if get_field(event, "name") != tool.name:
            self.fail(
                "tool.name",
                index,
                f"The name {format_value(get_field(event, 'name'))} differs from {format_value(tool.name)}, the name tool call "
                f"{tool_index} started with.",
            )
        if get_field(event, "arguments") != tool.joined:
            self.fail(
                "done.joined",
                index,
                f"arguments.done has arguments {format_value(get_field(event, 'arguments'))}, but the deltas of tool call "
                f"{tool_index} join to {format_value(tool.joined)}.",
            )
        if get_field(event, "tool_call_snapshot_id") != tool.id:
            self.fail(
                "tool.id",
                index,
                f"tool_call_snapshot_id is {format_value(get_field(event, 'tool_call_snapshot_id'))}, but the chunk "
                f"that started tool call {tool_index} gave it the id {format_value(tool.id)}.",
            )
        self.check_parsed(index, "parsed_arguments", get_field(event, "parsed_arguments"), tool.joined)

    def fail_unexpected_done(self, index: int, slot: _Slot) -> NoReturn:
        segment = self.segment
        assert segment is not None
        choice_index = segment.choices[segment.position][0] if segment.choices else self.last_choice
        state = self.choices.get(choice_index, _Choice())
        _, part, tool_index = slot
        name = _describe(slot)
        if part == "tool":
            tool = state.tools.get(tool_index) if tool_index is not None else None
            is_done, opened = tool is not None and tool.done is not None, tool is not None
        else:
            lp = state.acc_logprobs or {}
            is_done = part in state.done
            opened = {
                "content": part in state.joined,
                "refusal": part in state.joined,
                "logprobs.content": lp.get("content") is not None,
                "logprobs.refusal": lp.get("refusal") is not None,
            }[part]
        if is_done:
            self.fail(
                "done.unique",
                index,
                f"Event {index} ({name}) closes a part choice {choice_index} already closed.",
            )
        if not opened:
            self.fail(
                "done.unopened",
                index,
                f"Event {index} ({name}) closes a part choice {choice_index} never opened: no delta came first.",
            )
        why = (
            f"the chunk at event {segment.index} carries no choices"
            if not segment.choices
            else f"choice {choice_index} has no finish_reason yet and the chunk at event {segment.index} "
            "does not move it to another tool call"
        )
        self.fail("done.trigger", index, f"Event {index} ({name}) fires too early: {why}.")

    def check_parsed(self, index: int, field: str, parsed: object, text: str) -> None:
        if parsed is None or parsed is MISSING:
            return
        if not _parses_to(parsed, text):
            self.fail(
                "done.parsed",
                index,
                f"{field} is {format_value(parsed)}, which is not what {format_value(text)} parses to.",
            )

    # --- the final completion ---------------------------------------------------------------------

    def check_final(self, completion: object) -> None:
        for field in ("id", "model"):
            streamed = get_field(self.first_chunk, field)
            if streamed is not MISSING and get_field(completion, field) != streamed:
                self.fail(
                    "final.meta",
                    None,
                    f"The final completion's {field} is {format_value(get_field(completion, field))}, but the chunks "
                    f"carry {format_value(streamed)}.",
                )
        last_usage = plain_value(get_field(self.last_chunk, "usage"))
        if last_usage is not MISSING and plain_value(get_field(completion, "usage")) != last_usage:
            self.fail(
                "final.meta",
                None,
                "The final completion's usage differs from the last chunk's usage "
                f"({format_value(get_field(completion, 'usage'))} vs {format_value(get_field(self.last_chunk, 'usage'))}).",
            )
        choices = as_list(get_field(completion, "choices"))
        if len(choices) != len(self.choices):
            self.fail(
                "final.choices",
                None,
                f"The final completion has {len(choices)} choice(s), but the chunks streamed {len(self.choices)}.",
            )
        for position, choice in enumerate(choices):
            state = self.choices[position]
            if get_field(choice, "index") != position:
                self.fail(
                    "final.choices",
                    None,
                    f"Final choice {position} has index {format_value(get_field(choice, 'index'))}.",
                )
            if get_field(choice, "finish_reason") != state.finish_reason:
                self.fail(
                    "final.choices",
                    None,
                    f"Final choice {position} has finish_reason {format_value(get_field(choice, 'finish_reason'))}, but the "
                    f"chunks streamed {format_value(state.finish_reason)}.",
                )
            self.check_final_message(position, state, get_field(choice, "message"))
            self.check_final_logprobs(position, state, get_field(choice, "logprobs"))

    def check_final_message(self, position: int, state: _Choice, message: object) -> None:
        for part in ("content", "refusal"):
            value = get_field(message, part)
            streamed = state.joined.get(part)
            if streamed is None and value is not None and value != "":
                self.fail(
                    "final.content",
                    None,
                    f"Final choice {position} has {part} {format_value(value)}, but no {part}.delta streamed it.",
                )
            if streamed is not None and value != streamed:
                self.fail(
                    "final.content",
                    None,
                    f"Final choice {position} has {part} {format_value(value)}, but the events streamed {format_value(streamed)}.",
                )
        done = state.done.get("content")
        done_parsed = get_field(done, "parsed")
        if done_parsed not in (None, MISSING) and get_field(message, "parsed") != done_parsed:
            self.fail(
                "final.content",
                None,
                f"Final choice {position} has parsed {format_value(get_field(message, 'parsed'))}, but content.done had "
                f"{format_value(done_parsed)}.",
            )
        calls = as_list(get_field(message, "tool_calls"))
        if len(calls) != len(state.tools):
            self.fail(
                "final.tool-calls",
                None,
                f"Final choice {position} has {len(calls)} tool call(s), but {len(state.tools)} streamed.",
            )
        for tool_index, call in enumerate(calls):
            tool = state.tools[tool_index]
            function = get_field(call, "function")
            actual = (get_field(call, "id"), get_field(function, "name"), get_field(function, "arguments"))
            if actual != (tool.id, tool.name, tool.joined):
                self.fail(
                    "final.tool-calls",
                    None,
                    f"Final tool call {tool_index} of choice {position} is (id, name, arguments) = {format_value(actual)}, "
                    f"but the events streamed {format_value((tool.id, tool.name, tool.joined))}.",
                )
            done_parsed = get_field(tool.done, "parsed_arguments")
            final_parsed = get_field(function, "parsed_arguments")
            if tool.done is not None and final_parsed is not MISSING and final_parsed != done_parsed:
                self.fail(
                    "final.tool-calls",
                    None,
                    f"Final tool call {tool_index} of choice {position} has parsed_arguments {format_value(final_parsed)}, "
                    f"but its arguments.done had {format_value(done_parsed)}.",
                )

    def check_final_logprobs(self, position: int, state: _Choice, logprobs: object) -> None:
        for part in ("logprobs.content", "logprobs.refusal"):
            done = state.done.get(part)
            if done is None:
                continue
            field = part.split(".")[1]
            expected = plain_value(as_list(get_field(done, field)))
            actual = plain_value(as_list(get_field(logprobs, field)))
            if actual != expected:
                self.fail(
                    "final.logprobs",
                    None,
                    f"Final choice {position} has {_count(actual)} {part} token(s), but {part}.done carried "
                    f"{_count(expected)}.",
                )


def split_streams(events: Iterable[object]) -> list[list[object]]:
    """Split an event list that holds several streams (a tool round: ask, tool call, follow-up) into one list each.

    A ``chunk`` event starts a new stream when its chunk ``id`` differs from the current
    stream's, or when every choice of the current stream has finished and the chunk carries
    choices again (a usage-only chunk after the finish stays with its stream). The events a
    chunk causes follow it, so they stay with it.
    """
    streams: list[list[object]] = []
    current: list[object] = []
    stream_id: object = MISSING
    open_choices: set[object] = set()
    finished: set[object] = set()
    for event in events:
        if get_field(event, "type") == "chunk":
            chunk = get_field(event, "chunk")
            chunk_id = get_field(chunk, "id")
            choices = as_list(get_field(chunk, "choices"))
            new_id = chunk_id not in (MISSING, None) and stream_id not in (MISSING, None, chunk_id)
            all_done = bool(finished) and open_choices <= finished
            if current and (new_id or (choices and all_done)):
                streams.append(current)
                current, open_choices, finished = [], set(), set()
            if chunk_id not in (MISSING, None):
                stream_id = chunk_id
            for choice in choices:
                index = get_field(choice, "index")
                open_choices.add(index)
                if get_field(choice, "finish_reason") not in (MISSING, None):
                    finished.add(index)
        current.append(event)
    if current:
        streams.append(current)
    return streams


def assert_stream_contract(
    events: Iterable[object],
    *,
    final_completion: object | None = None,
    allow_empty: bool = False,
    per_stream: bool = False,
) -> None:
    """Raise ``StreamContractError`` naming the first rule in ``RULES`` that ``events`` break.

    With ``per_stream=True`` the events may hold several streams one after another (a tool
    round); each is checked on its own (see :func:`split_streams`), and ``final_completion``,
    if given, is a list with one final completion per stream.

    ``events`` is what iterating ``client.chat.stream(...)`` yielded, from ``writerai`` or from
    this kit. A stream that stopped at a chunk boundary (no finish_reason yet, or a raised
    ``LengthFinishReasonError``) passes: its open parts simply stay open. A sequence cut between
    a chunk and the events it caused fails ``chunk.effects``, because the chunk's events are
    missing. Pass ``final_completion`` (what ``get_final_completion()`` returned) to check it
    against the events too. An empty sequence fails (``stream.empty``) unless ``allow_empty``.
    The error names the rule, the event index, and shows the events around it.
    """
    if per_stream:
        _assert_each_stream(list(events), final_completion, allow_empty)
        return
    checker = _Checker(list(events))
    if not checker.events and not allow_empty:
        raise StreamContractError(
            f"The event sequence breaks stream rule stream.empty: {RULES['stream.empty']}\n"
            "The sequence holds no events at all."
        )
    checker.run()
    if final_completion is not None:
        checker.check_final(final_completion)


def _assert_each_stream(events: list[object], final_completions: object | None, allow_empty: bool) -> None:
    streams = split_streams(events)
    finals: list[object | None] = [None] * len(streams)
    if final_completions is not None:
        if not isinstance(final_completions, Sequence) or len(final_completions) != len(streams):
            count = len(final_completions) if isinstance(final_completions, Sequence) else "not a list"
            raise TypeError(
                f"With per_stream=True, final_completion must be a list with one final completion per "
                f"stream; the events hold {len(streams)} streams and final_completion is {count}."
            )
        finals = list(final_completions)
    if not streams:
        assert_stream_contract([], allow_empty=allow_empty)
    start = 0
    for number, (stream, final) in enumerate(zip(streams, finals, strict=True), start=1):
        try:
            assert_stream_contract(stream, final_completion=final)
        except StreamContractError as error:
            raise StreamContractError(
                f"In stream {number} of {len(streams)} (events {start} to {start + len(stream) - 1} of the "
                f"whole sequence; indexes below count from the stream's start): {error}"
            ) from None
        start += len(stream)


def _slot_of(event: object) -> _Slot | None:
    kind = get_field(event, "type")
    if kind in _DELTA_PART:
        return (False, _DELTA_PART[str(kind)], None)
    if kind in _DONE_PART:
        return (True, _DONE_PART[str(kind)], None)
    if kind in (_TOOL_DELTA, _TOOL_DONE):
        tool_index = get_field(event, "index")
        return (kind == _TOOL_DONE, "tool", tool_index if isinstance(tool_index, int) else None)
    return None


def _tokens(value: object) -> list[object]:
    """Logprob tokens as plain dicts, so tokens from either implementation compare by value."""
    return [plain_value(token) for token in as_list(value)]


def _count(value: object) -> int:
    return len(value) if isinstance(value, list) else 0


def _parses_to(parsed: object, text: str) -> bool:
    """Whether ``text`` parses to ``parsed``: validated into its own type when it is a model or dataclass."""
    try:
        if isinstance(parsed, pydantic.BaseModel):
            return type(parsed).model_validate_json(text) == parsed
        if dataclasses.is_dataclass(parsed) and not isinstance(parsed, type):
            return bool(pydantic.TypeAdapter(type(parsed)).validate_json(text) == parsed)
        return bool(json.loads(text) == parsed)
    except ValueError:
        return False


def _message(events: Sequence[object], rule: str, index: int | None, detail: str) -> str:
    where = (
        "in the final completion"
        if index is None
        else f"at event {index} ({get_field(events[index], 'type')})"
    )
    lines = [f"The event sequence breaks stream rule {rule} {where}: {RULES[rule]}", detail]
    if index is not None:
        low, high = max(0, index - 2), min(len(events), index + 3)
        lines.append(f"Events {low}-{high - 1}:")
        for near in range(low, high):
            marker = ">" if near == index else " "
            lines.append(f"  {marker}{near:>5}  {render_event(events[near])}")
    return "\n".join(lines)

"""The stream contract, against the real SDK over real recordings.

Every recording, run through ``writerai``'s own stream helper (and through this kit's
``ChatCompletionStreamState``), must pass the contract; every deliberate corruption of
those sequences must be caught by the rule it breaks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, Literal

import pytest
import writerai
from recordings import MANIFEST, NAMES, RUNNERS, Location, sdk

from writer_stream_testkit.errors import StreamContractError
from writer_stream_testkit.testing.contract import RULES, assert_stream_contract

# --- every recording obeys the contract -----------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("helper", ["sdk", "ours"])
def test_recorded_stream_obeys_the_contract(helper: str, name: str) -> None:
    run = RUNNERS[helper](name)
    expect = MANIFEST[name]["expect"]
    counts = Counter(event.type for event in run.events)
    for kind, count in expect.get("events_of_type", {}).items():
        assert counts[kind] == count, f"{name}: expected {count} {kind} event(s), got {counts[kind]}"
    if "raises" in expect:
        assert type(run.error).__name__ == expect["raises"]
    else:
        assert run.error is None
        assert run.completion is not None
    assert_stream_contract(run.events, final_completion=run.completion)


@pytest.mark.parametrize("name", NAMES)
def test_a_stream_cut_at_any_chunk_boundary_obeys_the_contract(name: str) -> None:
    events = sdk(name).events
    for cut in [i for i, event in enumerate(events) if event.type == "chunk"]:
        assert_stream_contract(events[:cut], allow_empty=cut == 0)


def test_a_stream_cut_between_a_chunk_and_its_delta_is_caught() -> None:
    events = sdk("plain-text.sse").events
    assert events[1].type == "chunk"
    assert events[2].type == "content.delta"
    with pytest.raises(StreamContractError, match=r"rule chunk\.effects"):
        assert_stream_contract(events[:2])


# --- corrupted sequences --------------------------------------------------------------------------


def _index(events: list[Any], kind: str, nth: int = 0, **fields: Any) -> int:
    found = [
        i
        for i, event in enumerate(events)
        if event.type == kind and all(getattr(event, key) == value for key, value in fields.items())
    ]
    return found[nth]


def _update(events: list[Any], index: int, **changes: Any) -> list[Any]:
    out = list(events)
    out[index] = out[index].model_copy(update=changes)
    return out


def _swap(events: list[Any], a: int, b: int) -> list[Any]:
    out = list(events)
    out[a], out[b] = out[b], out[a]
    return out


def _drop(events: list[Any], *indexes: int) -> list[Any]:
    return [event for i, event in enumerate(events) if i not in indexes]


def _with_chunk(event: Any, edit: Callable[[dict[str, Any]], None]) -> Any:
    data = event.chunk.model_dump()
    edit(data)
    return event.model_copy(update={"chunk": type(event.chunk).model_validate(data)})


def _content_after_done(events: list[Any]) -> list[Any]:
    """A chunk with more content after the finish chunk: the SDK would emit a delta after the done."""
    done = _index(events, "content.done")
    last_delta = max(i for i, event in enumerate(events) if event.type == "content.delta")
    delta = events[last_delta]

    def edit(data: dict[str, Any]) -> None:
        data["choices"][0]["delta"]["content"] = "!"

    extra_chunk = _with_chunk(events[last_delta - 1], edit)
    snapshot = events[done].content + "!"
    extra_delta = delta.model_copy(update={"delta": "!", "snapshot": snapshot})
    return [*events[: done + 1], extra_chunk, extra_delta, *events[done + 1 :]]


def _tool_index_jump(events: list[Any]) -> list[Any]:
    """The second tool call arrives as index 2, in the chunks and the events alike."""

    def edit(data: dict[str, Any]) -> None:
        for choice in data["choices"]:
            for call in choice["delta"].get("tool_calls") or []:
                if call["index"] == 1:
                    call["index"] = 2

    out = []
    for event in events:
        if event.type == "chunk":
            event = _with_chunk(event, edit)
        elif getattr(event, "index", None) == 1:
            event = event.model_copy(update={"index": 2})
        out.append(event)
    return out


def _first_choice_index(events: list[Any]) -> list[Any]:
    def edit(data: dict[str, Any]) -> None:
        data["choices"][0]["index"] = 1

    return [_with_chunk(events[0], edit), *events[1:]]


def _early_done(events: list[Any]) -> list[Any]:
    first = _index(events, "content.delta")
    done = events[_index(events, "content.done")].model_copy(update={"content": events[first].snapshot})
    return [*events[: first + 1], done, *events[first + 1 :]]


def _unopened_refusal_done(events: list[Any]) -> list[Any]:
    done = _index(events, "content.done")
    return [*events[: done + 1], SimpleNamespace(type="refusal.done", refusal=""), *events[done + 1 :]]


def _content_done(events: list[Any]) -> int:
    return _index(events, "content.done")


def _args_delta(events: list[Any], tool: int, nth: int = 0) -> int:
    return _index(events, "tool_calls.function.arguments.delta", nth, index=tool)


def _args_done(events: list[Any], tool: int) -> int:
    return _index(events, "tool_calls.function.arguments.done", index=tool)


Corruption = Callable[[list[Any]], list[Any]]

CORRUPTIONS: list[tuple[str, str, Corruption, str]] = [
    (
        "unknown event type",
        "plain-text.sse",
        lambda e: [*e[:3], SimpleNamespace(type="content.partial"), *e[3:]],
        "event.type",
    ),
    ("delta before any chunk", "json-schema-location.sse", lambda e: e[2:], "chunk.first"),
    ("chunk missing before its delta", "plain-text.sse", lambda e: _drop(e, 3), "chunk.cause"),
    ("delta swapped with the next chunk", "plain-text.sse", lambda e: _swap(e, 2, 3), "chunk.effects"),
    ("delta dropped", "plain-text.sse", lambda e: _drop(e, 4), "chunk.effects"),
    (
        "delta text not the chunk's",
        "plain-text.sse",
        lambda e: _update(e, 2, delta="Xi", snapshot="Xi"),
        "chunk.cause",
    ),
    ("new choice index skips one", "plain-text.sse", _first_choice_index, "chunk.choice-index"),
    ("content and logprobs deltas swapped", "logprobs-content.sse", lambda e: _swap(e, 2, 3), "chunk.order"),
    ("wrong content snapshot", "plain-text.sse", lambda e: _update(e, 4, snapshot="nope"), "delta.snapshot"),
    (
        "two chunks with their deltas swapped",
        "plain-text.sse",
        lambda e: [e[0], *e[3:5], *e[1:3], *e[5:]],
        "delta.snapshot",
    ),
    (
        "wrong refusal snapshot",
        "json-schema-refusal.sse",
        lambda e: _update(e, _index(e, "refusal.delta", 2), snapshot="x"),
        "delta.snapshot",
    ),
    (
        "wrong arguments snapshot",
        "tool-one-weather.sse",
        lambda e: _update(e, _args_delta(e, 0, 3), arguments="{}"),
        "delta.snapshot",
    ),
    (
        "wrong logprobs snapshot",
        "logprobs-content.sse",
        lambda e: _update(e, 6, snapshot=e[6].snapshot[1:]),
        "delta.snapshot",
    ),
    (
        "logprobs tokens not the chunk's",
        "logprobs-content.sse",
        lambda e: _update(e, 3, content=e[6].content, snapshot=e[6].content),
        "chunk.cause",
    ),
    (
        "partial parse wrong",
        "json-schema-location.sse",
        lambda e: _update(e, 18, parsed={"city": "Paris"}),
        "delta.parsed",
    ),
    (
        "partial arguments parse wrong",
        "tool-strict-dict.sse",
        lambda e: _update(e, _args_delta(e, 0, 5), parsed_arguments={"x": 1}),
        "delta.parsed",
    ),
    ("content delta after content.done", "plain-text.sse", _content_after_done, "delta.after-done"),
    ("tool index jump", "tools-two-parallel.sse", _tool_index_jump, "tool.index"),
    (
        "tool name changes mid-call",
        "tool-one-weather.sse",
        lambda e: _update(e, _args_delta(e, 0, 4), name="other"),
        "tool.name",
    ),
    (
        "tool done names another tool",
        "tool-one-weather.sse",
        lambda e: _update(e, _args_done(e, 0), name="other"),
        "tool.name",
    ),
    (
        "tool done with the wrong id",
        "tool-one-weather.sse",
        lambda e: _update(e, _args_done(e, 0), tool_call_snapshot_id="call_x"),
        "tool.id",
    ),
    (
        "content.done before its finish chunk",
        "plain-text.sse",
        lambda e: _swap(e, _content_done(e) - 1, _content_done(e)),
        "done.trigger",
    ),
    ("content.done mid-stream", "plain-text.sse", _early_done, "done.trigger"),
    ("logprobs done before content done", "logprobs-content.sse", lambda e: _swap(e, 8, 9), "done.order"),
    (
        "content.done duplicated",
        "plain-text.sse",
        lambda e: [*e[: _content_done(e) + 1], *e[_content_done(e) :]],
        "done.unique",
    ),
    (
        "arguments.done duplicated",
        "tools-two-parallel.sse",
        lambda e: [*e[: _args_done(e, 1) + 1], *e[_args_done(e, 1) :]],
        "done.unique",
    ),
    ("refusal.done for a refusal never streamed", "plain-text.sse", _unopened_refusal_done, "done.unopened"),
    (
        "content.done with the wrong content",
        "plain-text.sse",
        lambda e: _update(e, _content_done(e), content="Hi"),
        "done.joined",
    ),
    (
        "refusal.done with the wrong refusal",
        "json-schema-refusal.sse",
        lambda e: _update(e, _index(e, "refusal.done"), refusal="No."),
        "done.joined",
    ),
    (
        "arguments.done with the wrong arguments",
        "tool-strict-dict.sse",
        lambda e: _update(e, _args_done(e, 0), arguments="{}"),
        "done.joined",
    ),
    (
        "logprobs done missing a token",
        "logprobs-content.sse",
        lambda e: _update(e, 9, content=e[9].content[:1]),
        "done.joined",
    ),
    (
        "content.done parsed into another value",
        "json-schema-location.sse",
        lambda e: _update(e, _content_done(e), parsed=Location(city="Paris", temperature=1, units="c")),
        "done.parsed",
    ),
    (
        "content.done parsed as a different dict",
        "json-schema-location.sse",
        lambda e: _update(e, _content_done(e), parsed={"city": "Paris"}),
        "done.parsed",
    ),
    (
        "arguments.done parsed wrong",
        "tool-strict-dict.sse",
        lambda e: _update(e, _args_done(e, 0), parsed_arguments={"city": "Paris"}),
        "done.parsed",
    ),
    ("content.done dropped", "plain-text.sse", lambda e: _drop(e, _content_done(e)), "done.missing"),
    ("logprobs content done dropped", "logprobs-content.sse", lambda e: _drop(e, 9), "done.missing"),
    (
        "arguments.done dropped at the index switch",
        "tools-two-parallel.sse",
        lambda e: _drop(e, _args_done(e, 0)),
        "done.missing",
    ),
    (
        "arguments.done dropped at the finish",
        "tools-two-parallel.sse",
        lambda e: _drop(e, _args_done(e, 1)),
        "done.missing",
    ),
    (
        "done of index 0 before index 1's first delta",
        "tools-two-parallel.sse",
        lambda e: _swap(e, _args_done(e, 0), _args_delta(e, 1)),
        "chunk.order",
    ),
    (
        "one choice's done dropped (n=3)",
        "json-schema-location-n3.sse",
        lambda e: _drop(e, _index(e, "content.done", 1)),
        "done.missing",
    ),
    (
        "choices' done events swapped (n=3)",
        "json-schema-location-n3.sse",
        lambda e: _swap(e, _index(e, "content.done", 0), _index(e, "content.done", 1)),
        "done.joined",
    ),
]


@pytest.mark.parametrize(
    ("recording", "corrupt", "rule"), [pytest.param(*case[1:], id=case[0]) for case in CORRUPTIONS]
)
def test_corrupted_sequence_is_caught_by_its_rule(recording: str, corrupt: Corruption, rule: str) -> None:
    events = sdk(recording).events
    assert_stream_contract(events)  # the untouched sequence passes, so the corruption is what fails
    with pytest.raises(StreamContractError) as caught:
        assert_stream_contract(corrupt(events))
    assert f"rule {rule} " in str(caught.value)


def _edit_final(edit: Callable[[Any], None]) -> Callable[[Any], Any]:
    def run(completion: Any) -> Any:
        copy = completion.model_copy(deep=True)
        edit(copy)
        return copy

    return run


def _set(path: str, value: Any) -> Callable[[Any], None]:
    *parents, last = path.split(".")

    def edit(completion: Any) -> None:
        target = completion
        for part in parents:
            target = target[int(part)] if part.isdigit() else getattr(target, part)
        setattr(target, last, value)

    return edit


FINAL_CORRUPTIONS: list[tuple[str, str, str, Any, str]] = [
    ("id", "plain-text.sse", "id", "chatcmpl-other", "final.meta"),
    ("model", "plain-text.sse", "model", "palmyra-x5", "final.meta"),
    ("usage", "plain-text.sse", "usage", None, "final.meta"),
    ("no choices", "plain-text.sse", "choices", [], "final.choices"),
    ("finish_reason", "plain-text.sse", "choices.0.finish_reason", "length", "final.choices"),
    ("content", "plain-text.sse", "choices.0.message.content", "Hello", "final.content"),
    ("content without deltas", "tool-one-weather.sse", "choices.0.message.content", "Hello", "final.content"),
    ("refusal", "json-schema-refusal.sse", "choices.0.message.refusal", "No.", "final.content"),
    ("parsed", "json-schema-location.sse", "choices.0.message.parsed", None, "final.content"),
    (
        "tool arguments",
        "tools-two-parallel.sse",
        "choices.0.message.tool_calls.1.function.arguments",
        "{}",
        "final.tool-calls",
    ),
    ("tool id", "tool-one-weather.sse", "choices.0.message.tool_calls.0.id", "call_x", "final.tool-calls"),
    (
        "tool parsed_arguments",
        "tool-strict-dict.sse",
        "choices.0.message.tool_calls.0.function.parsed_arguments",
        {},
        "final.tool-calls",
    ),
    ("tool calls dropped", "tool-one-weather.sse", "choices.0.message.tool_calls", None, "final.tool-calls"),
    ("logprobs", "logprobs-content.sse", "choices.0.logprobs.content", [], "final.logprobs"),
]


@pytest.mark.parametrize(
    ("recording", "path", "value", "rule"),
    [pytest.param(*case[1:], id=case[0]) for case in FINAL_CORRUPTIONS],
)
def test_final_completion_that_disagrees_with_the_events_is_caught(
    recording: str, path: str, value: Any, rule: str
) -> None:
    run = sdk(recording)
    final = _edit_final(_set(path, value))(run.completion)
    with pytest.raises(StreamContractError) as caught:
        assert_stream_contract(run.events, final_completion=final)
    assert f"rule {rule} in the final completion" in str(caught.value)


def test_every_rule_is_exercised_by_a_corruption() -> None:
    exercised = {case[-1] for case in CORRUPTIONS} | {case[-1] for case in FINAL_CORRUPTIONS}
    assert exercised | {"stream.empty"} == set(RULES)


def test_an_empty_sequence_fails_unless_allowed() -> None:
    with pytest.raises(StreamContractError, match=r"rule stream\.empty: .*never collected"):
        assert_stream_contract([])
    assert_stream_contract([], allow_empty=True)


def test_a_non_event_is_named_by_its_python_type() -> None:
    with pytest.raises(StreamContractError, match=r"Event 0 is a str with no `type`, not a stream event"):
        assert_stream_contract(["content.delta"])


def test_contract_error_names_rule_index_and_shows_neighbouring_events() -> None:
    events = sdk("json-schema-location.sse").events
    done = _content_done(events)
    broken = _update(events, done, content="{}", parsed=None)
    with pytest.raises(StreamContractError) as caught:
        assert_stream_contract(broken)
    message = str(caught.value)
    assert isinstance(caught.value, AssertionError)
    assert message.splitlines()[0] == (
        f"The event sequence breaks stream rule done.joined at event {done} (content.done): "
        f"{RULES['done.joined']}"
    )
    assert message.splitlines()[1] == (
        "content.done has content '{}', but the content.delta events of choice 0 join to "
        '\'{"city":"San Francisco","temperature":61,"units":"f"}\'.'
    )
    assert message.splitlines()[2:] == [
        f"Events {done - 2}-{done + 1}:",
        f"      {done - 2}  content.delta          delta='\"}}'  snapshot_len=53  "
        "parsed={'city': 'San Francisco', 'temperature': 61, 'units': 'f'}",
        f"      {done - 1}  chunk                  choices=[0]  finish_reason={{0: 'stop'}}",
        f"  >   {done}  content.done           content='{{}}'",
        f"      {done + 1}  chunk                  choices=[]  usage=(completion_tokens=14 "
        "completion_tokens_details.reasoning_tokens=0 prompt_tokens=79 total_tokens=93)",
    ]


def test_contract_accepts_duck_typed_events() -> None:
    chunk = {
        "id": "c",
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": "stop"}],
    }
    events = [
        SimpleNamespace(type="chunk", chunk=chunk),
        SimpleNamespace(type="content.delta", delta="Hi", snapshot="Hi", parsed=None),
        SimpleNamespace(type="content.done", content="Hi", parsed=None),
    ]
    assert_stream_contract(events)
    with pytest.raises(StreamContractError, match=r"rule done\.missing"):
        assert_stream_contract(events[:2])


# --- both role conventions ------------------------------------------------------------------------


def _role_script(role_on: Literal["every", "first"]) -> Any:
    from writer_stream_testkit.scripts.chat import StreamScript

    return (
        StreamScript(role_on=role_on)
        .content("Let me ", "check", logprobs=[-0.1, -0.2])
        .content("other", choice=1)
        .tool_call("get_weather", ['{"city": ', '"SF"}'])
        .usage(prompt_tokens=3, completion_tokens=4)
    )


def _role_runs(role_on: Literal["every", "first"]) -> dict[str, tuple[list[Any], Any]]:
    """The same script's events from writerai (sync and async, through WriterMock) and from the kit."""
    import asyncio

    from writer_stream_testkit.doubles.mock import WriterMock
    from writer_stream_testkit.scripts.run import script_events

    script = _role_script(role_on)
    request: Any = {"model": "palmyra-x5", "messages": [{"role": "user", "content": "hi"}]}
    runs: dict[str, tuple[list[Any], Any]] = {}
    with WriterMock() as mock:
        mock.reply(script, times=2)
        with writerai.Writer(api_key="k").chat.stream(**request) as stream:
            runs["sdk sync"] = (list(stream), stream.get_final_completion())

        async def collect() -> tuple[list[Any], Any]:
            async with writerai.AsyncWriter(api_key="k") as client, client.chat.stream(**request) as astream:
                return [e async for e in astream], await astream.get_final_completion()

        runs["sdk async"] = asyncio.run(collect())
    ours = script_events(script)
    runs["ours"] = (list(ours.events), ours.completion)
    return runs


def test_the_contract_and_transcripts_accept_both_role_conventions() -> None:
    from writer_stream_testkit.testing.transcript import render_transcript

    transcripts = set()
    for role_on in ("every", "first"):
        for events, completion in _role_runs(role_on).values():
            assert_stream_contract(events, final_completion=completion)
            transcripts.add(render_transcript(events, completion))
    assert len(transcripts) == 1  # the role does not show, whichever convention and client

"""assert_event_order: event types against a small pattern language (``+ * ?``, groups, ``|``), its
mismatch report and the patterns it refuses, over the SDK's events from real recordings."""

from __future__ import annotations

import re

import pytest
from recordings import sdk

from writer_stream_testkit.errors import StreamContractError
from writer_stream_testkit.testing.event_order import assert_event_order


@pytest.mark.parametrize(
    ("name", "pattern"),
    [
        ("plain-text.sse", ["content.delta+", "content.done"]),
        ("plain-text.sse", "content.delta* content.done refusal.done?"),
        (
            "logprobs-content.sse",
            "(content.delta logprobs.content.delta)+ content.done logprobs.content.done",
        ),
        ("json-schema-refusal.sse", ["(content.delta | refusal.delta)+", "refusal.done"]),
        (
            "tools-two-parallel.sse",
            "tool_calls.function.arguments.delta+ tool_calls.function.arguments.done "
            "tool_calls.function.arguments.delta+ tool_calls.function.arguments.done",
        ),
    ],
)
def test_event_order_matches(name: str, pattern: str | list[str]) -> None:
    assert_event_order(sdk(name).events, pattern)


def test_event_order_can_match_chunks_too() -> None:
    events = sdk("plain-text.sse").events
    assert_event_order(events, "chunk (chunk content.delta)+ chunk content.done chunk", skip_chunks=False)
    with pytest.raises(StreamContractError):
        assert_event_order(events, "(chunk content.delta)+ chunk content.done chunk", skip_chunks=False)


def test_event_order_mismatch_shows_pattern_folded_actual_and_first_mismatch() -> None:
    events = [*sdk("plain-text.sse").events]
    done = [event.type for event in events].index("content.done")
    events[done], events[done - 2] = events[done - 2], events[done]  # content.done before the last delta
    with pytest.raises(StreamContractError) as caught:
        assert_event_order(events, ["content.delta+", "content.done"])
    assert str(caught.value) == "\n".join(
        [
            "The event types do not match the expected order.",
            f"Event {done} is content.delta, but the pattern expects nothing more there.",
            "expected: content.delta+ content.done",
            "actual (chunk events skipped, consecutive repeats folded):",
            f"        2-{done - 4}  content.delta \u00d729",
            f"          {done - 2}  content.done",
            f"  >       {done}  content.delta",
        ]
    )


def test_event_order_reports_a_sequence_that_ends_early() -> None:
    with pytest.raises(StreamContractError) as caught:
        assert_event_order(["chunk", "content.delta", "content.delta"], "content.delta+ content.done")
    lines = str(caught.value).splitlines()
    assert (
        lines[1]
        == "The events end after event 2, but the pattern expects content.delta or content.done next."
    )
    assert lines[-2:] == ["         1-2  content.delta \u00d72", "  >    (end)"]


def test_event_order_splits_a_run_at_the_mismatch() -> None:
    with pytest.raises(StreamContractError) as caught:
        assert_event_order(["content.delta"] * 4, "content.delta content.delta?")
    assert str(caught.value).splitlines()[-2:] == [
        "         0-1  content.delta \u00d72",
        "  >      2-3  content.delta \u00d72",
    ]


@pytest.mark.parametrize(
    ("pattern", "types", "matches"),
    [
        ("content.delta?", [], True),
        ("content.delta?", ["content.delta", "content.delta"], False),
        ("content.delta*", [], True),
        ("content.delta+", [], False),
        ("(content.delta refusal.delta)+", ["content.delta", "refusal.delta"] * 3, True),
        ("(content.delta refusal.delta)+", ["content.delta", "refusal.delta", "content.delta"], False),
        ("(content.done | refusal.done)*", ["refusal.done", "content.done", "refusal.done"], True),
        ("((content.delta)*)*", ["content.delta"] * 3, True),
        ("", [], True),
        ("content.delta, content.done", ["content.delta", "content.done"], True),
        ("", ["content.done"], False),
    ],
)
def test_event_order_quantifiers_groups_and_alternation(
    pattern: str, types: list[str], matches: bool
) -> None:
    if matches:
        assert_event_order(types, pattern)
    else:
        with pytest.raises(StreamContractError):
            assert_event_order(types, pattern)


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("content.delt+", "names 'content.delt', which is not an event type"),
        ("(content.delta", "unclosed '('"),
        ("content.delta)", "unmatched ')'"),
        ("+ content.delta", "has '+' where an event type belongs"),
        ("content.delta{2}", "unexpected character at offset 13"),
        ("chunk content.delta", "names 'chunk', but skip_chunks=True removes chunk events"),
    ],
)
def test_event_order_refuses_malformed_patterns(pattern: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        assert_event_order([], pattern)

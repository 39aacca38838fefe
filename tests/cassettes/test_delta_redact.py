"""A secret the model streams back split across deltas is redacted in every piece; a stream without one keeps its exact bytes."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from recorded import (
    record_events,
)

from writer_stream_testkit.cassettes.redact import (
    REDACTED,
    Redaction,
)

SPLIT_KEY = "sk-split-0123456789abcdef"
ACCOUNT = r"\b\d{15}\b"


def _chat_event(text: str) -> bytes:
    chunk = {"id": "c1", "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
    return f"data: {json.dumps(chunk, separators=(',', ':'))}\n\n".encode()


def _application_event(text: str) -> bytes:
    return f"data: {json.dumps({'delta': {'content': text, 'stages': []}})}\n\n".encode()


@pytest.mark.parametrize("event", [_chat_event, _application_event])
@pytest.mark.parametrize("cuts", [[3], [1, 9], [5, 6, 7, 20]])
def test_a_key_streamed_back_across_deltas_is_redacted_in_every_piece(
    tmp_path: Path, event: Callable[[str], bytes], cuts: list[int]
) -> None:
    text = f"Your key is {SPLIT_KEY}, keep it safe."
    bounds = [0, *(12 + c for c in cuts), len(text)]
    pieces = [text[a:b] for a, b in itertools.pairwise(bounds)]
    on_disk, events = record_events(tmp_path, [event(p) for p in pieces], api_key=SPLIT_KEY)
    for recorded in events:  # no recorded piece keeps 4 characters of the key in a row
        assert not any(SPLIT_KEY[i : i + 4] in (recorded.data or "") for i in range(len(SPLIT_KEY) - 3))
    joined = "".join(
        (json.loads(e.data).get("choices") or [{}])[0].get("delta", {}).get("content")
        or json.loads(e.data).get("delta", {}).get("content", "")
        for e in events
        if e.data and e.data != "[DONE]"
    )
    assert joined == text.replace(SPLIT_KEY, REDACTED)
    assert SPLIT_KEY[3:] not in on_disk.replace("\n", "")


def test_a_user_pattern_split_across_chat_deltas_is_redacted(tmp_path: Path) -> None:
    pieces = ["The account is 1234", "5678", "9012345 ok"]
    on_disk, events = record_events(tmp_path, [_chat_event(p) for p in pieces], redact=[ACCOUNT])
    contents = [json.loads(e.data)["choices"][0]["delta"]["content"] for e in events if e.data != "[DONE]"]
    assert contents == ["The account is ", "", "<redacted> ok"]  # as a read boundary inside a secret moves
    assert "5678" not in on_disk


def test_events_without_a_split_secret_keep_their_exact_bytes() -> None:
    from writer_stream_testkit.cassettes.delta_redact import redact_deltas
    from writer_stream_testkit.cassettes.framing import frame_stream

    raw = [(b'data: {"choices": [{"index": 0, "delta": {"content": "a"}}]}\r\n\r\n', 0.1)]
    events = frame_stream(raw * 3)
    assert redact_deltas(events, Redaction.build(patterns=["zzz"], secrets=[SPLIT_KEY])) == events

"""The non-streaming completion a chat script stands for, folded from its chunks."""

from __future__ import annotations

import pytest
from writerai.types import ChatCompletion

from writer_stream_testkit.errors import ScriptError
from writer_stream_testkit.scripts.chat import StreamScript


def test_completion_assembles_every_choice() -> None:
    script = (
        StreamScript(n=3)
        .content("Hel", "lo", logprobs=[-0.1, -0.2])
        .refusal("No", choice=1)
        .tool_call("f", ['{"a":', "1}"], id="call_x", choice=2)
        .finish("length")
        .usage(prompt_tokens=1, completion_tokens=2)
    )
    completion = script.completion()
    parsed = ChatCompletion.model_validate(completion)
    assert parsed.object == "chat.completion"
    assert completion["usage"] == {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    zero, one, two = completion["choices"]
    assert zero["message"] == {"role": "assistant", "content": "Hello", "refusal": None}
    assert zero["finish_reason"] == "length"
    assert [t["token"] for t in zero["logprobs"]["content"]] == ["Hel", "lo"]
    assert one["message"]["refusal"] == "No"
    assert one["finish_reason"] == "stop"
    assert two["message"]["tool_calls"] == [
        {"id": "call_x", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}
    ]
    assert two["finish_reason"] == "tool_calls"


def test_completion_reports_unassemblable_raw_chunk() -> None:
    with pytest.raises(ScriptError, match="chunk 0 has a choice without an integer index"):
        StreamScript().raw({"choices": [{"delta": {}}]}).completion()

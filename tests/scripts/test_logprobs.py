"""Logprobs in chat scripts: the short token forms a test writes, made whole, and bad ones explained."""

from __future__ import annotations

from typing import Any

import pytest

from writer_stream_testkit.errors import ScriptError
from writer_stream_testkit.scripts.chat import StreamScript


def test_content_logprobs_accept_short_and_full_forms() -> None:
    script = StreamScript().content(
        "Foo",
        "!",
        "?",
        logprobs=[
            -0.5,
            [("!", -0.25), {"token": "x", "logprob": -1, "bytes": None, "top_logprobs": [("y", -2)]}],
            None,
        ],
    )
    first, second, third = script.chunks()[:3]
    assert first["choices"][0]["logprobs"] == {
        "content": [{"token": "Foo", "logprob": -0.5, "bytes": [70, 111, 111], "top_logprobs": []}],
        "refusal": None,
    }
    assert second["choices"][0]["logprobs"]["content"] == [
        {"token": "!", "logprob": -0.25, "bytes": [33], "top_logprobs": []},
        {
            "token": "x",
            "logprob": -1.0,
            "bytes": None,
            "top_logprobs": [{"token": "y", "logprob": -2.0, "bytes": [121]}],
        },
    ]
    assert third["choices"][0]["logprobs"] is None


def test_refusal_logprobs_and_standalone_logprobs_chunk() -> None:
    script = StreamScript().refusal("No", logprobs=[-0.1]).logprobs(content=[("a", -1)], refusal=[])
    refusal, standalone, _ = script.chunks()
    assert refusal["choices"][0]["delta"] == {"role": "assistant", "refusal": "No"}
    assert refusal["choices"][0]["logprobs"]["refusal"][0]["token"] == "No"
    assert refusal["choices"][0]["logprobs"]["content"] is None
    assert standalone["choices"][0]["delta"] == {"role": "assistant"}
    assert standalone["choices"][0]["logprobs"] == {
        "content": [{"token": "a", "logprob": -1.0, "bytes": [97], "top_logprobs": []}],
        "refusal": [],
    }


@pytest.mark.parametrize(
    ("logprobs", "message"),
    [
        ([-0.1], "one entry per piece"),
        ([float("nan"), 0], "not a finite number"),
        (["x", 0], "not a logprob"),
    ],
)
def test_bad_logprobs_are_explained(logprobs: Any, message: str) -> None:
    with pytest.raises(ScriptError, match=message):
        StreamScript().content("a", "b", logprobs=logprobs)

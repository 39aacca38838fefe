"""The one builder of chat chunks for the tests: a ``chat.completion.chunk`` as Writer sends it.

Tests feed these to the kit and to writerai alike, so every field a test does not
name takes one fixed value, and a test overrides or adds fields by keyword.
"""

from __future__ import annotations

import json
from typing import Any

from writer_stream_testkit.scripts.plan import Disconnect, Pause, ResponsePlan, Write
from writer_stream_testkit.wire.sse import encode_chunk

SSE = (("content-type", "text/event-stream"),)


def choice(
    delta: dict[str, Any], finish: str | None = None, *, index: int = 0, **fields: Any
) -> dict[str, Any]:
    """One entry of a chunk's ``choices``."""
    return {"index": index, "delta": delta, "finish_reason": finish, **fields}


def logprob_token(text: str) -> dict[str, Any]:
    """One logprobs token for ``text``, with a fixed logprob and no alternatives."""
    return {"token": text, "logprob": -1.0, "top_logprobs": []}


def chunk(*choices: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A chunk holding ``choices``; ``fields`` replace or add top-level fields (``usage=...``, ``id=...``)."""
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "palmyra-x5",
        "choices": list(choices),
        **fields,
    }


def text_chunk(text: str, finish: str | None = None, *, index: int = 0, **fields: Any) -> dict[str, Any]:
    """A chunk whose one choice carries ``text`` as its content delta."""
    return chunk(choice({"content": text}, finish, index=index), **fields)


def compact_text_chunk(text: str) -> str:
    """The smallest chunk a cassette holds, as compact JSON: an id, the object and one content delta."""
    return json.dumps(
        {
            "id": "c1",
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {"content": text}}],
        },
        separators=(",", ":"),
    )


def stream_plan(*texts: str, extra: tuple[Write | Pause | Disconnect, ...] = ()) -> ResponsePlan:
    """A streamed reply with one chunk per text, then [DONE]."""
    writes = tuple(Write(encode_chunk(text_chunk(t))) for t in texts)
    return ResponsePlan(status=200, headers=SSE, steps=(*writes, *extra, Write(b"data: [DONE]\n\n")))

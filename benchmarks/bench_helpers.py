"""Stream-helper engine speed: ours against writerai's ``ChatCompletionStreamState``, same input.

Run: ``python benchmarks/bench_helpers.py``. Prints one line per scenario with
both per-chunk costs and the ratio. The chunk builders are plain functions
returning chunk dicts so an end-to-end scenario (over ``httpx.MockTransport``
and ``client.chat.stream()``) can reuse them.
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from writer_stream_testkit.accumulate import ChatCompletionStreamState
from writer_stream_testkit.types import ChatCompletionChunk

Chunk = dict[str, Any]


# --- chunk builders (reusable) --------------------------------------------------------------------


def _chunk(choices: list[dict[str, Any]], **extra: Any) -> Chunk:
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1727346170,
        "model": "palmyra-x5",
        "system_fingerprint": None,
        "choices": choices,
        **extra,
    }


def _token(text: str) -> dict[str, Any]:
    return {"token": text, "logprob": -0.25, "bytes": list(text.encode()), "top_logprobs": []}


def content_chunks(n: int, *, logprobs: bool = False) -> list[Chunk]:
    """``n`` chunks of one short word each, then a finish chunk and a usage chunk."""
    chunks = [
        _chunk(
            [
                {
                    "index": 0,
                    "delta": {"role": "assistant", "content": ""},
                    "logprobs": {"content": [], "refusal": None} if logprobs else None,
                    "finish_reason": None,
                }
            ]
        )
    ]
    for i in range(n):
        word = f"w{i % 100} "
        chunks.append(
            _chunk(
                [
                    {
                        "index": 0,
                        "delta": {"content": word},
                        "logprobs": {"content": [_token(word)], "refusal": None} if logprobs else None,
                        "finish_reason": None,
                    }
                ]
            )
        )
    chunks.append(_chunk([{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}]))
    chunks.append(_chunk([], usage={"prompt_tokens": 10, "completion_tokens": n, "total_tokens": n + 10}))
    return chunks


def sse_body(chunks: Iterable[Chunk]) -> bytes:
    """The chunks as an SSE body ending in ``[DONE]``, for end-to-end scenarios."""
    return (
        "".join(f"data: {json.dumps(c, separators=(',', ':'))}\n\n" for c in chunks) + "data: [DONE]\n\n"
    ).encode()


# --- the two engines ------------------------------------------------------------------------------


def ours(chunks: list[Chunk]) -> Callable[[], None]:
    parsed = [ChatCompletionChunk.model_validate(c) for c in chunks]

    def run() -> None:
        state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
        for chunk in parsed:
            state.handle_chunk(chunk)
        state.get_final_completion()

    return run


def sdk(chunks: list[Chunk]) -> Callable[[], None]:
    import writerai
    from writerai._models import construct_type
    from writerai.lib.streaming.chat._completions import ChatCompletionStreamState as SdkState
    from writerai.types import ChatCompletionChunk as SdkChunk

    parsed = [construct_type(type_=SdkChunk, value=c) for c in chunks]

    def run() -> None:
        state = SdkState(input_tools=writerai.omit, response_format=writerai.omit)
        for chunk in parsed:
            state.handle_chunk(chunk)  # type: ignore[arg-type]
        state.get_final_completion()

    return run


def per_chunk(run: Callable[[], None], n_chunks: int, *, repeat: int) -> float:
    """Best-of-``repeat`` seconds per chunk."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best / n_chunks


def main() -> None:
    print(f"{'scenario':44} {'ours/chunk':>12} {'writerai/chunk':>15} {'speed-up':>9}")
    results: dict[str, float] = {}
    for label, n, logprobs, sdk_repeat in (
        ("(a) 10,000 content chunks", 10_000, False, 3),
        ("(b) 2,000 chunks with logprobs", 2_000, True, 1),
    ):
        chunks = content_chunks(n, logprobs=logprobs)
        mine = per_chunk(ours(chunks), len(chunks), repeat=5)
        theirs = per_chunk(sdk(chunks), len(chunks), repeat=sdk_repeat)
        results[label] = mine
        print(f"{label:44} {mine * 1e6:10.2f}us {theirs * 1e6:13.2f}us {theirs / mine:8.1f}x")
    chunks = content_chunks(50_000, logprobs=True)
    mine_50k = per_chunk(ours(chunks), len(chunks), repeat=3)
    ratio = mine_50k / results["(b) 2,000 chunks with logprobs"]
    print(f"{'(c) 50,000 chunks with logprobs':44} {mine_50k * 1e6:10.2f}us {'-':>15} {'':>9}")
    print(f"(c) our per-chunk cost at 50,000 / at 2,000: {ratio:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()

"""Benchmark: a completions stream through ``WriterMock`` costs no more per chunk than a chat stream.

Run ``python benchmarks/bench_endpoints.py``. Each run queues a script of
10,000 text pieces on a ``WriterMock``, then reads the whole stream through
``writerai`` (sync): rendering the script to a plan, playing it through respx,
decoding the SSE and building the SDK's chunk objects all count. The chat run
is a ``StreamScript`` (10,000 content chunks and its finish chunk), the other a
``CompletionScript`` (10,000 ``{"value": ...}`` chunks). Runs are interleaved
and each figure is the best of several, in process CPU time, so load from other
processes on the machine weighs little. Target: completions per chunk <= chat
per chunk. Exits non-zero when the target is missed.
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable

import writerai

from writer_stream_testkit import CompletionScript, StreamScript, WriterMock

COUNT = 10_000
REPEAT = 5
PIECES = [f"tok{i % 10} " for i in range(COUNT)]
MESSAGES = [{"role": "user", "content": "Tell me a long story."}]


def chat_run(client: writerai.Writer) -> int:
    with WriterMock() as mock:
        mock.reply(StreamScript().content(*PIECES))
        stream = client.chat.chat(model="palmyra-x5", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
        return sum(1 for _ in stream)


def completion_run(client: writerai.Writer) -> int:
    with WriterMock() as mock:
        mock.reply(CompletionScript(empty_first=False).text(*PIECES))
        return sum(1 for _ in client.completions.create(model="palmyra-x5", prompt="Once", stream=True))


def timed(run: Callable[[writerai.Writer], int], client: writerai.Writer, expected: int) -> float:
    gc.collect()
    start = time.process_time()
    got = run(client)
    elapsed = time.process_time() - start
    if got != expected:
        raise SystemExit(
            f"A benchmark run yielded {got} chunks instead of {expected}; the comparison is void."
        )
    return elapsed


def main() -> int:
    chat_chunks = COUNT + 1  # the content chunks and the finish chunk
    with writerai.Writer(api_key="bench-key") as client:
        chat = completion = float("inf")
        for _ in range(REPEAT):
            chat = min(chat, timed(chat_run, client, chat_chunks))
            completion = min(completion, timed(completion_run, client, COUNT))
    chat_per = chat / chat_chunks * 1e6
    completion_per = completion / COUNT * 1e6
    ratio = completion_per / chat_per
    print(
        f"WriterMock + writerai, 10k-chunk streams (CPU time, best of {REPEAT}): chat {chat:.3f} s "
        f"({chat_per:.1f} us/chunk), completions {completion:.3f} s ({completion_per:.1f} us/chunk), "
        f"completions/chat per chunk {ratio:.2f}x (need <= 1.00x)"
    )
    if ratio > 1:
        print("Missed target: completions cost more per chunk than chat.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

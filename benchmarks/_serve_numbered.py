"""A FakeWriterServer answering numbered streams, run as its own process by ``bench_server.py``.

Usage: ``python _serve_numbered.py [SRC]``. With ``SRC`` (a checkout's root), the
``writer_stream_testkit`` package is imported from there, so one benchmark run can
measure another version of the server beside this one. Prints the base URL on the
first line of stdout and serves until stdin closes.
"""

from __future__ import annotations

import sys

if len(sys.argv) > 1:
    sys.path.insert(0, sys.argv[1])

from writer_stream_testkit import FakeWriterServer
from writer_stream_testkit.scripts.plan import ResponsePlan, Write
from writer_stream_testkit.wire.call import Call
from writer_stream_testkit.wire.sse import DONE, encode_chunk


class NumberedStream:
    """A reply source whose chunks name the stream (from the request) and count up from 0."""

    def take(self, call: Call) -> ResponsePlan:
        """Answer every request: its ``chunks`` field says how long the stream is."""
        stream_id = call.json["stream_id"]
        writes = [
            Write(
                encode_chunk(
                    {
                        "id": stream_id,
                        "object": "chat.completion.chunk",
                        "created": 0,
                        "model": "palmyra-x5",
                        "choices": [{"index": 0, "delta": {"content": f"{seq} "}, "finish_reason": None}],
                    }
                )
            )
            for seq in range(call.json["chunks"])
        ]
        return ResponsePlan(
            status=200, headers=(("content-type", "text/event-stream"),), steps=(*writes, Write(DONE))
        )


def main() -> None:
    with FakeWriterServer(source=NumberedStream()) as server:
        print(server.base_url, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()

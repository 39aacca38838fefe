"""A light client in its own process: time to first byte of short streams while a load runs.

Usage: ``python _probe_first_byte.py BASE_URL COUNT [PATH]`` (``PATH``: ``/v1/chat`` if not given). Waits for a line on stdin
(the load has started), then sends ``COUNT`` short streamed requests one after
another, each on a new connection, and prints one JSON list of the seconds from
sending each request to its first body byte. Being its own process, it is never
held up by the load client's work, so it measures how fast the server answers.
"""

from __future__ import annotations

import json
import sys
import time

import httpx


def main() -> None:
    base_url, count = sys.argv[1], int(sys.argv[2])
    path = sys.argv[3] if len(sys.argv) > 3 else "/v1/chat"
    body = {"model": "palmyra-x5", "stream": True, "messages": [{"role": "user", "content": "bench"}]}
    sys.stdin.readline()
    latencies: list[float] = []
    for _ in range(count):
        with httpx.Client(base_url=base_url, timeout=60.0) as client:
            started = time.perf_counter()
            with client.stream("POST", path, json=body) as response:
                for _ in response.iter_raw():
                    latencies.append(time.perf_counter() - started)
                    break
        time.sleep(0.005)
    print(json.dumps(latencies), flush=True)


if __name__ == "__main__":
    main()

"""A stand-in for the Writer API that the kit did not write: stdlib ``http.server`` on 127.0.0.1.

It answers the five calls a small Writer app makes (``GET /v1/models`` and the
four streaming endpoints) with the bytes the research notes found on the wire
(docs/issue11-wire §8): chunked ``text/event-stream``, one event per write with
no ``event:`` line, ``[DONE]`` after chat only, the completions stream starting
with an empty chunk, the KG question flat, the application stream stages first.
It refuses any request without the expected bearer key, so a recording made
through it proves the key was sent, and it counts the requests it served, so a
replay can prove it never reached it.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

KEY = "sk-standin-KEY-9f8e7d6c5b4a3210"
APPLICATION_ID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
GRAPH_ID = "50daa3d0-e7d9-44a4-be42-b53e2379ebf7"

MODELS = {"models": [{"id": "palmyra-x5", "name": "Palmyra X5"}, {"id": "palmyra-x4", "name": "Palmyra X4"}]}


def _chat(body: dict[str, Any]) -> list[str]:
    base = {"id": "chatcmpl-standin-1", "object": "chat.completion.chunk", "created": 1733300000}
    base["model"] = body.get("model", "palmyra-x5")

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return json.dumps({**base, "choices": [choice], **extra}, separators=(",", ":"))

    return [
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Hello"}),
        chunk({"content": " there!"}),
        chunk({}, "stop", usage={"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}),
        "[DONE]",
    ]


def _completion(body: dict[str, Any]) -> list[str]:
    return [json.dumps({"value": piece}) for piece in ("", "Once upon", " a time")]


def _question(body: dict[str, Any]) -> list[str]:
    question = body.get("question", "")
    first = {
        "question": question,
        "answer": "The generic name",
        "sources": [],
        "subqueries": None,
        "references": None,
    }
    last = {
        "question": question,
        "answer": " is avelumab.",
        "sources": [{"file_id": "1234", "snippet": "Bavencio is the brand name for avelumab."}],
        "subqueries": None,
        "references": {
            "files": [{"fileId": "1234", "score": 0.92, "text": "Bavencio...", "page": 1, "cite": None}]
        },
    }
    return [json.dumps(first), json.dumps(last)]


def _application(body: dict[str, Any]) -> list[str]:
    stage = {
        "id": APPLICATION_ID,
        "content": "Searching for hotels",
        "sources": ["https://www.example.com/hotels"],
    }
    return [
        json.dumps({"delta": {"title": "Research", "stages": [stage]}}),
        json.dumps({"delta": {"content": "Here are three hotels"}}),
        json.dumps({"delta": {"content": " near Union Square."}}),
    ]


STREAMS = {
    "/v1/chat": _chat,
    "/v1/completions": _completion,
    "/v1/graphs/question": _question,
    f"/v1/applications/{APPLICATION_ID}": _application,
}


class StandIn(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.served: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: StandIn

    def _json(self, status: int, value: object) -> None:
        data = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorised(self) -> bool:
        self.server.served.append(f"{self.command} {self.path}")
        if self.headers.get("authorization") == f"Bearer {KEY}":
            return True
        error = {
            "tpe": "AuthenticationError",
            "errors": [{"description": "Bad key", "key": "x", "extras": {}}],
        }
        self._json(401, {**error, "extras": {}})
        return False

    def do_GET(self) -> None:
        if not self._authorised():
            return
        if self.path == "/v1/models":
            self._json(200, MODELS)
        else:
            self._json(404, {"tpe": "NotFound", "errors": [], "extras": {}})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
        if not self._authorised():
            return
        events = STREAMS.get(self.path)
        if events is None or body.get("stream") is not True:
            self._json(404, {"tpe": "NotFound", "errors": [], "extras": {}})
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for data in events(body):
            frame = f"data: {data}\n\n".encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def stand_in() -> Iterator[StandIn]:
    server = StandIn()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()

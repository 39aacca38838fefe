"""One recorded interaction for cassette tests, and the writerai calls that stream it back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import writerai
from chunks import SSE, compact_text_chunk

from writer_stream_testkit.cassettes.cassette import Cassette
from writer_stream_testkit.cassettes.dump import dump_cassette
from writer_stream_testkit.cassettes.files import save_cassette, update_cassette
from writer_stream_testkit.cassettes.framing import frame_stream
from writer_stream_testkit.cassettes.load import parse_cassette
from writer_stream_testkit.cassettes.model import (
    CassetteContent,
    Interaction,
    RecordedRequest,
    RecordedResponse,
)
from writer_stream_testkit.doubles.server import FakeWriterServer
from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.scripts.plan import ResponsePlan, Write
from writer_stream_testkit.wire.call import Call

MESSAGES = [{"role": "user", "content": "Say hello"}]
URL = "https://api.writer.com/v1/chat"


def one_interaction(url: str = "https://api.writer.com/v1/chat") -> CassetteContent:
    """One streamed answer, "Hello", to MESSAGES."""
    request = RecordedRequest(
        method="POST", url=url, json={"messages": MESSAGES, "model": "palmyra-x5", "stream": True}
    )
    reads = [(f"data: {compact_text_chunk('Hello')}\n\n".encode(), 0.01), (b"data: [DONE]\n\n", 0.02)]
    response = RecordedResponse(
        status=200, headers=(("content-type", "text/event-stream"),), events=frame_stream(reads)
    )
    return CassetteContent((Interaction(request, response),))


def write_cassette(path: Path, *, url: str = "https://api.writer.com/v1/chat") -> Path:
    save_cassette(path, one_interaction(url))
    return path


def save_recorded_file(path: Path) -> None:
    """Save a cassette the way a recording run does: under its lock."""
    update_cassette(path, lambda current: one_interaction())


def stream_text(client: writerai.Writer) -> str:
    stream = client.chat.chat(model="palmyra-x5", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
    return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)


async def astream_text(client: writerai.AsyncWriter) -> str:
    stream = await client.chat.chat(model="palmyra-x5", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
    return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])


def chat_request(content: str = "Say hello", **extra: Any) -> RecordedRequest:
    """A streamed chat request asking ``content``, as a cassette records it."""
    body = {
        "model": "palmyra-x5",
        "stream": True,
        "messages": [{"role": "user", "content": content}],
        **extra,
    }
    return RecordedRequest(
        "POST", "https://api.writer.com/v1/chat", (("content-type", "application/json"),), body
    )


def streamed(script: StreamScript, *, complete: bool = True, step: float = 0.01) -> RecordedResponse:
    """The script's body as recorded with one read per event, ``step`` seconds apart."""
    blocks = [b + b"\n\n" for b in script.sse().split(b"\n\n") if b]
    reads = [(block, round(0.1 + i * step, 4)) for i, block in enumerate(blocks)]
    return RecordedResponse(200, SSE, t=0.1, events=frame_stream(reads), complete=complete)


def chat_call(body: dict[str, Any] | None = None, *, url: str = URL, method: str = "POST") -> Call:
    """A JSON request as a double sees it; by default a streamed chat saying "hi"."""
    body = (
        {"model": "palmyra-x5", "messages": [{"role": "user", "content": "hi"}], "stream": True}
        if body is None
        else body
    )
    return Call.create(
        method=method,
        url=url,
        headers={"content-type": "application/json"},
        content=json.dumps(body).encode(),
    )


def recorded_request(body: dict[str, Any] | None = None, *, url: str = URL) -> RecordedRequest:
    """The request ``chat_call`` makes, as a cassette stores it."""
    c = chat_call(body, url=url)
    return RecordedRequest(
        method="POST", url=url, headers=(("content-type", "application/json"),), json=c.json
    )


def sse_interaction(*texts: str, body: dict[str, Any] | None = None) -> Interaction:
    """A recorded stream of one chunk per text, 10 ms apart, then [DONE]."""
    reads = [(f"data: {compact_text_chunk(t)}\n\n".encode(), 0.01 * (i + 1)) for i, t in enumerate(texts)]
    reads.append((b"data: [DONE]\n\n", 0.01 * (len(texts) + 1)))
    response = RecordedResponse(
        status=200, headers=(("content-type", "text/event-stream"),), t=0.005, events=frame_stream(reads)
    )
    return Interaction(recorded_request(body), response)


def roundtrip(content: CassetteContent) -> CassetteContent:
    """Through the file format and back."""
    return parse_cassette(dump_cassette(content), source="mem.yaml")


def record_events(tmp_path: Path, events: list[bytes], **options: Any) -> tuple[str, Any]:
    """Record ``events`` then [DONE] from a local upstream into a cassette: the file's text and its events."""
    path = tmp_path / "c.yaml"
    with FakeWriterServer() as upstream:
        upstream.reply(
            ResponsePlan(
                headers=(("content-type", "text/event-stream"),),
                steps=tuple(Write(e) for e in [*events, b"data: [DONE]\n\n"]),
            )
        )
        with Cassette(path, record_mode="once", upstream=upstream.base_url, **options):
            client = writerai.Writer(api_key="sk-test-bearer-0123456789", max_retries=0)
            list(
                client.chat.chat(model="palmyra-x5", stream=True, messages=[{"role": "user", "content": "x"}])
            )
    return path.read_text(), Cassette(path).interactions[0].response.events

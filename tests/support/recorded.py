"""One recorded interaction for cassette tests, and the writerai calls that stream it back."""

from __future__ import annotations

from pathlib import Path

import writerai
from chunks import compact_text_chunk

from writer_stream_testkit.cassettes.files import save_cassette, update_cassette
from writer_stream_testkit.cassettes.framing import frame_stream
from writer_stream_testkit.cassettes.model import (
    CassetteContent,
    Interaction,
    RecordedRequest,
    RecordedResponse,
)

MESSAGES = [{"role": "user", "content": "Say hello"}]


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

"""Every client records and every client replays: a cassette is not tied to who made it.

Four clients (writerai and this kit, sync and async) record through ``Cassette``
from a ``FakeWriterServer`` upstream; each recording then replays, offline, to all
four in-process and to a raw httpx client over a socket, with the same events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import writerai

import writer_stream_testkit as kit
from writer_stream_testkit import Cassette, FakeWriterServer, StreamScript, render_transcript
from writer_stream_testkit.cassettes.load import load_cassette

MESSAGES: list[Any] = [{"role": "user", "content": "Weather in Paris?"}]
SCRIPT = (
    StreamScript()
    .content("It is", " sunny", " in Paris.")
    .tool_call("get_weather", ['{"city":', '"Paris"}'])
    .finish("tool_calls")
    .usage(prompt_tokens=5, completion_tokens=7)
)


def _sync(client_cls: Any) -> Callable[[], str]:
    def run() -> str:
        with (
            client_cls(api_key="sk-cassette-paths-secret", max_retries=0) as client,
            client.chat.stream(model="palmyra-x5", messages=MESSAGES) as stream,
        ):
            events = list(stream)
        return render_transcript(events)

    return run


def _async(client_cls: Any) -> Callable[[], str]:
    def run() -> str:
        async def main() -> str:
            async with (
                client_cls(api_key="sk-cassette-paths-secret", max_retries=0) as client,
                client.chat.stream(model="palmyra-x5", messages=MESSAGES) as stream,
            ):
                events = [event async for event in stream]
            return render_transcript(events)

        return asyncio.run(main())

    return run


CLIENTS: dict[str, Callable[[], str]] = {
    "writerai-sync": _sync(writerai.Writer),
    "writerai-async": _async(writerai.AsyncWriter),
    "kit-sync": _sync(kit.Writer),
    "kit-async": _async(kit.AsyncWriter),
}


@pytest.fixture(scope="module")
def expected() -> str:
    with kit.WriterMock() as mock:
        mock.reply(SCRIPT)
        return CLIENTS["kit-sync"]()


@pytest.mark.parametrize("recorder", list(CLIENTS))
def test_a_recording_by_any_client_replays_to_every_client(
    recorder: str, upstream: FakeWriterServer, tmp_path: Path, expected: str
) -> None:
    path = tmp_path / "session.yaml"
    upstream.reply(SCRIPT)
    with Cassette(path, record_mode="once", upstream=upstream.base_url):
        assert CLIENTS[recorder]() == expected
    assert "sk-cassette-paths-secret" not in path.read_text()
    upstream.stop()  # replay must not need it

    for name, client in CLIENTS.items():
        with Cassette(path, allow_playback_repeats=True):
            assert client() == expected, f"{name} replaying a {recorder} recording"

    with (
        FakeWriterServer(cassette=Cassette(path)) as server,
        httpx.Client(base_url=server.base_url, timeout=10) as http,
        http.stream("POST", "/v1/chat", json=_body(path)) as response,
    ):
        assert response.status_code == 200
        assert b"".join(response.iter_raw()).endswith(b"data: [DONE]\n\n")


def _body(path: Path) -> Any:
    (interaction,) = load_cassette(path).interactions
    return interaction.request.json

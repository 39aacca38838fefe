"""Hostile request bodies get the documented 400 from both doubles, never a crash or a dropped connection."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from writer_stream_testkit.cassettes.cassette import Cassette
from writer_stream_testkit.cassettes.load import load_cassette
from writer_stream_testkit.doubles.mock import DEFAULT_BASE_URL, WriterMock
from writer_stream_testkit.doubles.server import FakeWriterServer
from writer_stream_testkit.errors import UnexpectedRequestError
from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.wire.call import MAX_JSON_DEPTH, Call

DEEP = 100_000
SCRIPT = StreamScript().content("kept")


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def inside_an_object(depth: int) -> bytes:
    return b'{"model":"palmyra-x5","messages":[],"stream":true,"x":' + nested(depth) + b"}"


BODIES = {
    "100k-deep array": nested(DEEP),
    "100k-deep array inside a chat object": inside_an_object(DEEP),
    "an array one level past the limit": nested(MAX_JSON_DEPTH + 1),
    "an object one level past the limit": inside_an_object(MAX_JSON_DEPTH),
}
PROBLEM = (
    f"The request body is JSON nested more than {MAX_JSON_DEPTH} levels deep, deeper than "
    "writer-stream-testkit reads."
)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeWriterServer]:
    with FakeWriterServer() as fake:
        yield fake


def check_refused(response: httpx.Response) -> None:
    assert (response.status_code, response.headers["x-should-retry"]) == (400, "false")
    assert response.json()["errors"][0]["description"].startswith(f"writer-stream-testkit: {PROBLEM}")


def test_depth_at_the_limit_is_read() -> None:
    call = Call.create(
        method="POST", url=f"{DEFAULT_BASE_URL}/v1/chat", content=inside_an_object(MAX_JSON_DEPTH - 1)
    )
    assert isinstance(call.json, dict)


@pytest.mark.parametrize("name", BODIES)
def test_the_mock_answers_a_too_deep_body_with_a_400_sync(name: str) -> None:
    with WriterMock() as mock:
        mock.reply(SCRIPT)
        check_refused(httpx.post(f"{DEFAULT_BASE_URL}/v1/chat", content=BODIES[name]))
        assert (
            httpx.post(f"{DEFAULT_BASE_URL}/v1/chat", json={"model": "m", "messages": []}).status_code == 200
        )
        with pytest.raises(UnexpectedRequestError, match="nested more than"):
            mock.verify()
        mock.reset()


@pytest.mark.parametrize("name", BODIES)
def test_the_mock_answers_a_too_deep_body_with_a_400_async(name: str) -> None:
    async def main() -> None:
        async with httpx.AsyncClient() as client:
            check_refused(await client.post(f"{DEFAULT_BASE_URL}/v1/chat", content=BODIES[name]))

    with WriterMock(assert_all_mocked=False):
        asyncio.run(main())


@pytest.mark.parametrize("name", BODIES)
def test_the_server_answers_a_too_deep_body_with_a_400_and_keeps_serving(
    server: FakeWriterServer, name: str
) -> None:
    server.reset()
    server.reply(SCRIPT)
    with httpx.Client(base_url=server.base_url, timeout=5.0) as client:
        check_refused(client.post("/v1/chat", content=BODIES[name]))
        answered = client.post("/v1/chat", json={"model": "m", "messages": [], "stream": True})
    assert answered.content == SCRIPT.sse()
    with pytest.raises(UnexpectedRequestError, match="nested more than"):
        server.verify()
    server.reset()


def test_a_deep_body_is_described_without_recursing() -> None:
    call = Call.create(method="POST", url=f"{DEFAULT_BASE_URL}/v1/chat", content=nested(DEEP))
    assert call.json is None
    assert call.describe().startswith(
        f"POST /v1/chat (JSON body nested more than {MAX_JSON_DEPTH} levels deep, 200000 bytes: b'[[[["
    )


def test_recording_a_too_deep_body_keeps_it_as_text(tmp_path: Path, server: FakeWriterServer) -> None:
    server.reset()
    path = tmp_path / "deep.yaml"
    with Cassette(path, record_mode="once", upstream=server.base_url, assert_all_played=False):
        response = httpx.post(f"{DEFAULT_BASE_URL}/v1/chat", content=nested(DEEP))
    assert response.status_code == 400  # the server's answer, recorded as it came
    [interaction] = load_cassette(path).interactions
    assert (interaction.request.json, interaction.request.body) == (None, nested(DEEP).decode())
    server.reset()


@pytest.mark.parametrize("is_async", [False, True])
def test_a_body_at_the_depth_limit_records_and_replays(
    tmp_path: Path, server: FakeWriterServer, is_async: bool
) -> None:
    # Matching, redaction and the YAML codec all walk the body: the limit leaves them room.
    server.reset()
    server.reply(SCRIPT)
    body = inside_an_object(MAX_JSON_DEPTH - 1)
    path = tmp_path / "limit.yaml"

    def post() -> httpx.Response:
        if not is_async:
            return httpx.post(f"{DEFAULT_BASE_URL}/v1/chat", content=body)

        async def main() -> httpx.Response:
            async with httpx.AsyncClient() as client:
                return await client.post(f"{DEFAULT_BASE_URL}/v1/chat", content=body)

        return asyncio.run(main())

    with Cassette(path, record_mode="once", upstream=server.base_url, api_key="sk-test-1234567890"):
        assert post().content == SCRIPT.sse()
    with Cassette(path, api_key="sk-test-1234567890") as replay:
        assert post().content == SCRIPT.sse()
    assert replay.play_counts == [1]
    server.reset()

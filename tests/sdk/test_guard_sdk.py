"""The network guard through writerai, sync and async: a client that would leave 127.0.0.1 fails at once naming the fix, while the doubles and the recorder's upstream still answer. Runs on writer-sdk 3.x and 2.x."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import writerai
from guardutil import REFUSED, SPY

from writer_stream_testkit import Cassette, FakeWriterServer, NetworkBlockedError, StreamScript, WriterMock
from writer_stream_testkit.doubles.guard import guard


def _literal(host: Any) -> bool:
    """An IP address needs no lookup: resolving it asks nobody."""
    try:
        ipaddress.ip_address(str(host))
    except ValueError:
        return False
    return True


@pytest.fixture
def no_resolution(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fail at once (and remember) any lookup of a host that is not this machine."""
    asked: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _literal(host) and host not in ("localhost", None):
            asked.append(str(host))
            raise socket.gaierror(socket.EAI_NONAME, f"the test refuses to resolve {host}")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield asked
    assert not asked, f"a connection to {asked} was attempted"


def test_a_client_without_base_url_beside_a_server_fails_at_once_naming_the_fix(
    no_resolution: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WRITER_BASE_URL", raising=False)
    with FakeWriterServer() as server:
        started = time.monotonic()
        with pytest.raises(writerai.InternalServerError) as failed:
            writerai.Writer(api_key="test-key").chat.chat(model="palmyra-x5", messages=[])
        assert time.monotonic() - started < 5, "never the SDK's 7 retries"
        assert guard.refused == ["POST https://api.writer.com/v1/chat"]
        guard.clear()
    assert REFUSED in failed.value.message
    assert "writer_server.base_url" in failed.value.message
    assert failed.value.response.headers["x-should-retry"] == "false"
    assert len(server.calls) == 0


def test_the_async_client_is_refused_the_same_way(no_resolution: list[str]) -> None:
    async def main() -> str:
        with FakeWriterServer():
            client = writerai.AsyncWriter(api_key="test-key", base_url="https://api.writer.com")
            with pytest.raises(writerai.InternalServerError) as failed:
                await client.chat.chat(model="palmyra-x5", messages=[])
            guard.clear()
        return failed.value.message

    assert REFUSED in asyncio.run(main())


def test_the_mock_still_answers_the_writer_api_itself(no_resolution: list[str]) -> None:
    with WriterMock() as mock, FakeWriterServer():
        mock.reply(StreamScript().content("Hi").finish())
        chunks = list(writerai.Writer(api_key="k").chat.chat(model="m", messages=[], stream=True))
    assert chunks[0].choices[0].delta.content == "Hi"
    assert guard.refused == []


def test_block_refuses_every_other_host_for_httpx_and_plain_sockets(no_resolution: list[str]) -> None:
    with FakeWriterServer() as server, guard.block(allowed_hosts=["allowed.invalid"]):
        server.reply(StreamScript().content("local").finish(), times=2)
        # loopback is this machine: allowed
        local = writerai.Writer(api_key="k", base_url=server.base_url)
        assert local.chat.chat(model="m", messages=[]).choices[0].message.content == "local"
        # any other host, through httpx: the non-retryable answer, naming the host and the fix
        response = httpx.get("http://example.invalid/x")
        assert response.status_code == 500
        assert response.headers["x-should-retry"] == "false"
        assert "GET http://example.invalid/x was refused: --writer-block-network is on" in response.text
        assert "writer_allowed_hosts" in response.text
        # a plain socket: the error names the host
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        with sock, pytest.raises(NetworkBlockedError, match=r"to 192\.0\.2\.1:80 was refused"):
            sock.connect(("192.0.2.1", 80))
        with pytest.raises(
            urllib.error.URLError, match=r"192\.0\.2\.1:80 was refused: --writer-block-network"
        ):
            urllib.request.urlopen("http://192.0.2.1/", timeout=1)
        # an allowed host passes the guard (and then fails to resolve here, as it should)
        with pytest.raises(httpx.ConnectError):
            httpx.get("http://allowed.invalid/")
        urllib.request.urlopen(server.base_url + "/v1/chat", data=b'{"model": "m", "messages": []}').read()
        guard.clear()
    assert no_resolution == ["allowed.invalid"]
    no_resolution.clear()


def test_the_recorders_upstream_requests_are_exempt(tmp_path: Any, no_resolution: list[str]) -> None:
    # Recording from the real API while a server runs: the guard lets the recorder's own request
    # through (the spy then refuses to resolve the host, so nothing leaves the machine).
    cassette = Cassette(tmp_path / "c.yaml", record_mode="once")
    with FakeWriterServer(), guard.block(), pytest.raises(writerai.APIStatusError) as failed, cassette:
        writerai.Writer(api_key="k", max_retries=0).chat.chat(model="m", messages=[])
    assert "did not answer" in failed.value.message
    assert no_resolution == ["api.writer.com"]
    assert guard.refused == []
    no_resolution.clear()


def test_writer_server_points_writer_base_url_at_itself_for_the_test_and_subprocesses(
    project: pytest.Pytester,
) -> None:
    project.makeconftest(SPY)
    project.makepyfile(
        test_app="""
        import os, subprocess, sys
        import writerai
        from writer_stream_testkit import StreamScript

        def test_default_client(writer_server):
            writer_server.reply(StreamScript().content("from the server").finish())
            answer = writerai.Writer().chat.chat(model="palmyra-x5", messages=[])
            assert answer.choices[0].message.content == "from the server"

        def test_subprocess(writer_server):
            writer_server.reply(StreamScript().content("child").finish())
            code = "import writerai; print(writerai.Writer().chat.chat(model='m', messages=[]).choices[0].message.content)"
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
            assert out.stdout.strip() == "child", out.stderr

        def test_restored_after():
            assert "WRITER_BASE_URL" not in os.environ

        def test_mock_beside_the_server(writer_mock, writer_server):
            writer_mock.reply(StreamScript().content("mock").finish())
            writer_server.reply(StreamScript().content("server").finish())
            mocked = writerai.Writer(base_url="https://api.writer.com").chat.chat(model="m", messages=[])
            served = writerai.Writer().chat.chat(model="m", messages=[])
            assert (mocked.choices[0].message.content, served.choices[0].message.content) == ("mock", "server")
        """
    )
    project.runpytest("-p", "no:randomly").assert_outcomes(passed=4)


def test_a_real_request_under_writer_server_fails_the_test_at_once(project: pytest.Pytester) -> None:
    project.makeconftest(SPY)
    project.makepyfile(
        test_app="""
        import writerai

        def test_swallowed(writer_server):
            try:
                writerai.Writer(base_url="https://api.writer.com").chat.chat(model="m", messages=[])
            except writerai.InternalServerError:
                pass  # the code under test swallows it: the test fails all the same
        """
    )
    started = time.monotonic()
    result = project.runpytest()
    assert time.monotonic() - started < 30
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "UnexpectedRequestError: 1 request tried to leave the test and was refused:",
            "  - POST https://api.writer.com/v1/chat",
        ]
    )

"""RecordingProxy over real loopback sockets: it streams, records, replays in once mode, saves off the event loop, and fails loudly."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from cliutil import BODY, ROOT, WAIT, stream_raw, wait_for
from proxyutil import clear_proxy_environment, forward_proxy

from writer_stream_testkit.cassettes import proxy as _proxy
from writer_stream_testkit.cassettes.cassette import Cassette
from writer_stream_testkit.cassettes.load import load_cassette
from writer_stream_testkit.cassettes.modes import save_recorded
from writer_stream_testkit.cassettes.proxy import RecordingProxy
from writer_stream_testkit.doubles.server import FakeWriterServer
from writer_stream_testkit.errors import CassetteMissError, CassetteRecordError
from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.scripts.faults import Fault


def proxy_server(
    path: Path, upstream_url: str, mode: str = "once", **extra: Any
) -> tuple[FakeWriterServer, RecordingProxy]:
    cassette = Cassette(path, record_mode=mode, upstream=upstream_url)  # type: ignore[arg-type]
    proxy = RecordingProxy(cassette, upstream_url, **extra)
    return FakeWriterServer(source=proxy), proxy


def test_record_proxy_answers_502_when_the_upstream_is_down(tmp_path: Path) -> None:
    with FakeWriterServer() as gone:
        dead_url = gone.base_url
    logged: list[str] = []
    server, proxy = proxy_server(tmp_path / "c.yaml", dead_url, log=logged.append)
    with (
        pytest.raises(CassetteRecordError, match=f"could not reach the upstream {dead_url}") as failed,
        server,
        httpx.Client(timeout=WAIT) as client,
    ):
        response = client.post(server.base_url + "/v1/chat", json=BODY)
    assert response.status_code == 502
    assert response.headers["x-should-retry"] == "false"
    assert str(failed.value) == response.json()["errors"][0]["description"].removeprefix(
        "writer-stream-testkit: "
    )
    description = response.json()["errors"][0]["description"]
    assert f"The record proxy could not reach the upstream {dead_url} for POST /v1/chat" in description
    assert description.endswith("Nothing was recorded.")
    assert logged == [description.removeprefix("writer-stream-testkit: ")]
    assert proxy.recorded == ()
    assert not (tmp_path / "c.yaml").exists()


def test_record_proxy_keeps_a_stream_the_client_abandoned_as_incomplete(
    tmp_path: Path, upstream: FakeWriterServer
) -> None:
    # Long enough (40 chunks, 2 s) that the proxy notices the hang-up well before the end,
    # however busy the machine is.
    pieces = [f"p{i}" for i in range(40)]
    upstream.reply(StreamScript().content(*pieces).finish().with_fault(Fault.delay(each=0.05)))
    server, proxy = proxy_server(tmp_path / "c.yaml", upstream.base_url)
    with server:
        with (
            httpx.Client(timeout=WAIT) as client,
            client.stream("POST", server.base_url + "/v1/chat", json=BODY) as response,
        ):
            first = next(response.iter_raw())
        wait_for(lambda: proxy.recorded, "the abandoned stream to be recorded")
    (interaction,) = load_cassette(tmp_path / "c.yaml").interactions
    assert interaction.response.complete is False
    assert first.startswith(b"data: ")
    events = interaction.response.events
    assert events is not None
    assert 1 <= len(events) < len(pieces) + 2


def test_record_proxy_replays_what_the_cassette_has_in_once_mode(
    tmp_path: Path, upstream: FakeWriterServer
) -> None:
    shutil.copy(ROOT / "cassettes" / "hello-stream.yaml", tmp_path / "c.yaml")
    (recorded,) = load_cassette(tmp_path / "c.yaml").interactions
    before = (tmp_path / "c.yaml").read_bytes()
    server, proxy = proxy_server(tmp_path / "c.yaml", upstream.base_url)
    server.start()
    try:
        pieces, _, status = stream_raw(server.base_url, recorded.request.json)
        _, _, miss = stream_raw(server.base_url, BODY)
    finally:
        server.stop()
    with pytest.raises(CassetteMissError, match="has no unplayed recording that matches POST /v1/chat"):
        server.verify()  # the miss fails the server's verification, as a cassette's would
    assert status == 200
    assert pieces == [data for data, _ in recorded.response.reads()]
    assert miss == 500  # once + existing file: an unmatched request is a miss, never recorded
    assert upstream.calls == []
    assert proxy.recorded == ()
    assert (tmp_path / "c.yaml").read_bytes() == before


def test_record_proxy_saving_after_each_response_keeps_every_one_in_rewrite_mode(
    tmp_path: Path, upstream: FakeWriterServer
) -> None:
    shutil.copy(ROOT / "cassettes" / "hello-stream.yaml", tmp_path / "c.yaml")
    upstream.reply(StreamScript().content("first").finish())
    upstream.reply(StreamScript().content("second").finish())
    server, proxy = proxy_server(tmp_path / "c.yaml", upstream.base_url, mode="rewrite")
    with server:
        for count in (1, 2):  # one after the other: the second save must not drop the first
            stream_raw(server.base_url)
            wait_for(lambda count=count: len(proxy.recorded) == count, f"recording {count}")
    contents = [
        "".join(json.loads(e.data or "{}")["choices"][0]["delta"].get("content", "") for e in events[:-1])
        for events in (i.response.events or () for i in load_cassette(tmp_path / "c.yaml").interactions)
    ]
    assert contents == ["first", "second"]


def test_record_proxy_goes_through_the_environment_proxy_unless_no_proxy_says_not(
    tmp_path: Path, upstream: FakeWriterServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    clear_proxy_environment(monkeypatch)
    upstream.reply(StreamScript().content("proxied").finish())
    upstream.reply(StreamScript().content("direct").finish())
    server, proxy = proxy_server(tmp_path / "c.yaml", upstream.base_url, mode="new_episodes")
    with forward_proxy() as forward, server, httpx.Client(timeout=WAIT, trust_env=False) as client:
        monkeypatch.setenv("HTTP_PROXY", forward.url)
        assert "proxied" in client.post(server.base_url + "/v1/chat", json=BODY).text
        assert forward.seen == [upstream.base_url + "/v1/chat"]
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        other = {**BODY, "messages": [{"role": "user", "content": "Say bye"}]}
        assert "direct" in client.post(server.base_url + "/v1/chat", json=other).text
        wait_for(lambda: len(proxy.recorded) == 2, "both responses to be recorded")
    assert forward.seen == [upstream.base_url + "/v1/chat"]  # NO_PROXY: the second went directly
    assert len(upstream.calls) == 2


def test_record_proxy_with_a_path_prefixed_upstream_records_what_the_client_sent(tmp_path: Path) -> None:
    script = StreamScript().content("behind", " a gateway").finish()
    paths: list[str] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=script.sse())

    path = tmp_path / "c.yaml"
    server, proxy = proxy_server(
        path, "http://gateway.example/gateway/writer", transport=httpx.MockTransport(gateway)
    )
    with server:
        pieces, _, status = stream_raw(server.base_url)
        wait_for(lambda: proxy.recorded, "the response to be recorded")
        sent_to = server.base_url + "/v1/chat"
    assert status == 200
    assert paths == ["/gateway/writer/v1/chat"]  # forwarded under the upstream's prefix
    (interaction,) = load_cassette(path).interactions
    assert interaction.request.url == sent_to  # recorded as the client sent it
    with FakeWriterServer(cassette=Cassette(path)) as replay:
        again, _, replayed = stream_raw(replay.base_url)
    assert replayed == 200
    assert b"".join(again) == b"".join(pieces) == script.sse()


def test_record_proxy_saves_off_the_event_loop_and_in_order(
    tmp_path: Path, upstream: FakeWriterServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    saving, release = threading.Event(), threading.Event()

    def held_save(*args: Any, **kwargs: Any) -> None:
        saving.set()
        release.wait(WAIT)
        save_recorded(*args, **kwargs)

    monkeypatch.setattr(_proxy, "save_recorded", held_save)
    upstream.reply(StreamScript().content("first").finish())
    upstream.reply(StreamScript().content("second").finish())
    logged: list[str] = []
    path = tmp_path / "c.yaml"
    server, proxy = proxy_server(path, upstream.base_url, mode="rewrite", log=logged.append)
    with server:
        try:
            stream_raw(server.base_url)
            assert saving.wait(WAIT)  # the first save has started, and is held
            # Served while that save is held: the save does not block the server's event loop.
            with httpx.Client(timeout=WAIT / 4) as client:
                second = client.post(server.base_url + "/v1/chat", json=BODY)
            assert "second" in second.text
            wait_for(lambda: len(proxy.recorded) == 2, "the second response to be recorded")
        finally:
            release.set()
        wait_for(lambda: sum(line.startswith("recorded: ") for line in logged) == 2, "both saves")
    contents = [
        "".join(json.loads(e.data or "{}")["choices"][0]["delta"].get("content", "") for e in events[:-1])
        for events in (i.response.events or () for i in load_cassette(path).interactions)
    ]
    assert contents == ["first", "second"]  # the later save, with both, was written last


def test_record_proxy_retries_a_failed_save_when_it_saves_again(
    tmp_path: Path, upstream: FakeWriterServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    failures = [OSError(28, "No space left on device")]

    def failing_once(*args: Any, **kwargs: Any) -> None:
        if failures:
            raise failures.pop()
        save_recorded(*args, **kwargs)

    monkeypatch.setattr(_proxy, "save_recorded", failing_once)
    upstream.reply(StreamScript().content("kept").finish())
    logged: list[str] = []
    path = tmp_path / "c.yaml"
    server, proxy = proxy_server(path, upstream.base_url, log=logged.append)
    with server:
        stream_raw(server.base_url)
        wait_for(lambda: logged, "the failed save to be reported")
    assert logged == [
        f"Saving the cassette {path} after POST /v1/chat -> 200 failed (OSError: [Errno 28] No space left on "
        "device); the recording is kept and saved again after the next response and when the proxy stops. "
        f"Make {tmp_path} writable and c.yaml a valid cassette so the save succeeds."
    ]
    assert not path.exists()
    assert proxy.save()  # what teardown and the CLI do when the proxy stops
    assert len(load_cassette(path).interactions) == 1
    assert not proxy.save()  # and now nothing is left unsaved


def test_record_proxy_passes_an_upstream_cut_on_and_records_it_as_incomplete(
    tmp_path: Path, upstream: FakeWriterServer
) -> None:
    upstream.reply(
        StreamScript().content("a", "b", "c").finish().with_fault(Fault.disconnect(after_chunks=2))
    )
    server, proxy = proxy_server(tmp_path / "c.yaml", upstream.base_url)
    received: list[bytes] = []
    with server:
        with (
            pytest.raises(httpx.RemoteProtocolError),
            httpx.Client(timeout=WAIT) as client,
            client.stream("POST", server.base_url + "/v1/chat", json=BODY) as response,
        ):
            received.extend(response.iter_raw())  # the cut comes mid-iteration
        wait_for(lambda: proxy.recorded, "the cut stream to be recorded")
    (interaction,) = load_cassette(tmp_path / "c.yaml").interactions
    assert interaction.response.complete is False
    assert b"".join(data for data, _ in interaction.response.reads()) == b"".join(received)
    assert b"[DONE]" not in b"".join(received)

"""Cassettes end to end: record from a fake upstream through the tee, replay to every client."""

from __future__ import annotations

import asyncio
import gzip
import itertools
import json
import re
import ssl
from dataclasses import replace
from pathlib import Path
from typing import Any

import certifi
import httpx
import pytest
import writerai
from proxyutil import clear_proxy_environment, forward_proxy

from writer_stream_testkit.cassettes import recorder
from writer_stream_testkit.cassettes.cassette import Cassette
from writer_stream_testkit.cassettes.load import load_cassette
from writer_stream_testkit.cassettes.model import RecordedRequest, RecordedResponse
from writer_stream_testkit.client import AsyncWriter, Writer
from writer_stream_testkit.doubles.server import FakeWriterServer
from writer_stream_testkit.errors import CassetteMissError, CassetteRecordError, SlowRetryWarning
from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.scripts.faults import Fault
from writer_stream_testkit.scripts.plan import Disconnect, Pause, Write
from writer_stream_testkit.wire.call import Call

KEY = "sk-planted-KEY-9f8e7d6c5b4a3210"
MESSAGES = [{"role": "user", "content": "Say hello"}]


def sdk_stream(messages: list[dict[str, Any]] = MESSAGES, **extra: Any) -> list[str]:
    client = writerai.Writer(api_key=KEY, max_retries=0)
    stream = client.chat.chat(model="palmyra-x5", messages=messages, stream=True, **extra)  # type: ignore[arg-type]
    return [c.choices[0].delta.content or "" for c in stream if c.choices]


def record(path: Path, server: FakeWriterServer, script: StreamScript, **options: Any) -> list[str]:
    server.reply(script)
    with Cassette(path, record_mode="once", upstream=server.base_url, **options):
        return sdk_stream()


# --- recording ------------------------------------------------------------------------------------


def test_records_each_read_and_replays_the_same_bytes(tmp_path: Path, server: FakeWriterServer) -> None:
    path = tmp_path / "c.yaml"
    script = (
        StreamScript()
        .content("Hé", "llo", " wörld")
        .finish()
        .with_fault(Fault.split(sizes=[7]), Fault.crlf())
    )
    server.reply(script)
    cassette = Cassette(path, record_mode="once", upstream=server.base_url)
    with cassette:
        assert "".join(sdk_stream()) == "Héllo wörld"
        captured = [data for data, _ in cassette._captures[0].reads]
    assert b"".join(captured) == script.sse(newline="\r\n")
    replay = Cassette(path)
    plan = replay.take(Call.create(method="POST", url="https://api.writer.com/v1/chat", content=_body()))
    assert [s.data for s in plan.steps if isinstance(s, Write)] == captured
    text = path.read_text()
    assert "raw:" in text  # CRLF framing is kept byte for byte
    assert "cuts:" in text


def _body(messages: list[dict[str, Any]] = MESSAGES) -> bytes:
    return json.dumps({"messages": messages, "model": "palmyra-x5", "stream": True}).encode()


def test_planted_api_key_appears_nowhere_on_disk(tmp_path: Path, server: FakeWriterServer) -> None:
    path = tmp_path / "c.yaml"
    server.reply(StreamScript().content(f"echo {KEY}").finish())
    with Cassette(path, record_mode="once", upstream=server.base_url, redact=[r"Say \w+"]):
        assert "".join(sdk_stream()) == f"echo {KEY}"
    for file in tmp_path.rglob("*"):
        if file.is_file():
            data = file.read_bytes()
            assert KEY.encode() not in data, file
            assert KEY[:12].encode() not in data, file
    text = path.read_text()
    assert "authorization: <redacted>" in text
    assert "echo <redacted>" in text
    assert "content: <redacted>" in text  # the user's own pattern


def test_replay_reproduces_recorded_timing_when_asked(tmp_path: Path, server: FakeWriterServer) -> None:
    path = tmp_path / "c.yaml"
    record(path, server, StreamScript().content("a", "b").finish().with_fault(Fault.delay(each=0.05)))
    events = load_cassette(path).interactions[0].response.events
    assert events is not None
    gaps = [b.t - a.t for a, b in itertools.pairwise(events)]
    # A busy client may read two delayed writes at once, so bound the total (t counts from
    # the request, and the upstream paused before every write), not each gap.
    assert events[-1].t >= 0.04 * len(events)
    call = Call.create(method="POST", url="https://api.writer.com/v1/chat", content=_body())
    fast = Cassette(path).take(call)
    assert not any(isinstance(s, Pause) for s in fast.steps)
    recorded = Cassette(path, timing="recorded").take(call)
    assert sum(s.seconds for s in recorded.steps if isinstance(s, Pause)) >= 0.04 * len(gaps)
    halved = Cassette(path, timing=0.5).take(call)
    assert sum(s.seconds for s in halved.steps if isinstance(s, Pause)) == pytest.approx(
        sum(s.seconds for s in recorded.steps if isinstance(s, Pause)) / 2
    )


def test_stream_the_upstream_cuts_is_recorded_incomplete(tmp_path: Path, server: FakeWriterServer) -> None:
    path = tmp_path / "c.yaml"
    server.reply(
        StreamScript()
        .content("a", "b", "c")
        .finish()
        .with_fault(Fault.disconnect(after_chunks=2, mid_chunk=True))
    )
    with (
        Cassette(path, record_mode="once", upstream=server.base_url),
        pytest.raises(httpx.RemoteProtocolError),
    ):
        sdk_stream()
    response = load_cassette(path).interactions[0].response
    assert response.complete is False
    assert response.events is not None
    assert response.events[-1].data is None  # the half block the upstream sent before hanging up
    with Cassette(path), pytest.raises(httpx.RemoteProtocolError):
        sdk_stream()


def test_stream_the_caller_abandons_is_recorded_as_far_as_it_went(
    tmp_path: Path, server: FakeWriterServer
) -> None:
    path = tmp_path / "c.yaml"
    server.reply(
        StreamScript().content(*[f"w{i} " for i in range(50)]).finish().with_fault(Fault.delay(each=0.01))
    )
    with Cassette(path, record_mode="once", upstream=server.base_url):
        client = writerai.Writer(api_key=KEY, max_retries=0)
        stream = client.chat.chat(model="palmyra-x5", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
        first = next(iter(stream))
        stream.close()
    assert first.choices[0].delta.content == "w0 "
    response = load_cassette(path).interactions[0].response
    assert response.complete is False
    assert response.events is not None
    assert 1 <= len(response.events) < 50
    plan = Cassette(path).take(
        Call.create(method="POST", url="https://api.writer.com/v1/chat", content=_body())
    )
    assert isinstance(plan.steps[-1], Disconnect)


def test_async_recording_tees_like_sync(tmp_path: Path, server: FakeWriterServer) -> None:
    path = tmp_path / "c.yaml"
    server.reply(StreamScript().content("async", " works").finish())

    async def main() -> str:
        async with Cassette(path, record_mode="once", upstream=server.base_url):
            client = writerai.AsyncWriter(api_key=KEY, max_retries=0)
            stream = await client.chat.chat(model="palmyra-x5", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
            return "".join([c.choices[0].delta.content or "" async for c in stream])

    assert asyncio.run(main()) == "async works"
    assert len(load_cassette(path).interactions) == 1


def test_a_compressed_upstream_is_recorded_as_the_bytes_the_client_decodes() -> None:
    body = b'data: {"a":1}\n\ndata: [DONE]\n\n'

    def upstream(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "text/event-stream", "content-encoding": "gzip"}
        return httpx.Response(200, headers=headers, content=gzip.compress(body))

    captures: list[recorder.Capture] = []
    request = httpx.Request("POST", "https://api.writer.com/v1/chat", content=b"{}")
    response = recorder.record(
        request, upstream=None, on_start=captures.append, transport=httpx.MockTransport(upstream)
    )
    assert "content-encoding" not in response.headers
    assert response.read() == body
    (capture,) = captures
    assert b"".join(data for data, _ in capture.reads) == body
    assert capture.complete


@pytest.mark.parametrize("no_proxy", [False, True])
def test_recording_goes_through_the_environment_proxy_unless_no_proxy_says_not(
    server: FakeWriterServer, monkeypatch: pytest.MonkeyPatch, no_proxy: bool
) -> None:
    clear_proxy_environment(monkeypatch)
    server.reply(StreamScript().content("sync").finish())
    server.reply(StreamScript().content("async").finish())
    request = httpx.Request("POST", "https://api.writer.com/v1/chat", content=_body())
    captures: list[recorder.Capture] = []
    with forward_proxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        if no_proxy:
            monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        response = recorder.record(request, upstream=server.base_url, on_start=captures.append)
        assert b"sync" in response.read()
        response.close()

        async def main() -> bytes:  # the async recorder routes the same way
            response = await recorder.arecord(request, upstream=server.base_url, on_start=captures.append)
            try:
                return await response.aread()
            finally:
                await response.aclose()

        assert b"async" in asyncio.run(main())
    assert proxy.seen == ([] if no_proxy else [server.base_url + "/v1/chat"] * 2)
    assert len(server.calls) == 2
    assert [c.complete for c in captures] == [True, True]


def test_a_cassette_records_with_a_proxy_set_while_respx_patches_httpcore(
    tmp_path: Path, server: FakeWriterServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    clear_proxy_environment(monkeypatch)
    with forward_proxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        assert "".join(record(tmp_path / "c.yaml", server, StreamScript().content("ok").finish())) == "ok"
    assert len(load_cassette(tmp_path / "c.yaml").interactions) == 1


def test_recording_shares_one_tls_context_across_proxy_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_proxy_environment(monkeypatch)
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    with recorder._client() as client:
        assert client._transport_for_url(httpx.URL("https://api.writer.com")) is not client._transport
        contexts = {
            t._pool._ssl_context for t in (client._transport, *client._mounts.values()) if t is not None
        }
    assert contexts == {recorder._tls()}


def test_tls_settings_are_built_once_per_ca_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    first = recorder._tls()
    assert recorder._tls() is first
    monkeypatch.setenv("SSL_CERT_FILE", certifi.where())
    assert recorder._tls() is not first


def test_non_streaming_and_error_bodies_are_recorded_as_body(
    tmp_path: Path, server: FakeWriterServer
) -> None:
    path = tmp_path / "c.yaml"
    server.reply(StreamScript().content("whole").finish())
    with pytest.warns(SlowRetryWarning):  # no retry wait; max_retries=0 below makes it moot
        server.reply(Fault.http_error(429))
    with Cassette(path, record_mode="once", upstream=server.base_url):
        client = writerai.Writer(api_key=KEY, max_retries=0)
        done = client.chat.chat(model="palmyra-x5", messages=MESSAGES)  # type: ignore[arg-type]
        assert done.choices[0].message.content == "whole"
        with pytest.raises(writerai.RateLimitError):
            client.chat.chat(model="palmyra-x5", messages=[{"role": "user", "content": "again"}])
    first, second = load_cassette(path).interactions
    assert first.response.events is None
    assert json.loads(first.response.body or b"")["choices"][0]["message"]["content"] == "whole"
    assert second.response.status == 429
    with Cassette(path):
        client = writerai.Writer(api_key=KEY, max_retries=0)
        assert client.chat.chat(model="palmyra-x5", messages=MESSAGES).choices[0].message.content == "whole"  # type: ignore[arg-type]


# --- replaying to every client ------------------------------------------------------------------------


@pytest.fixture
def recorded(tmp_path: Path, server: FakeWriterServer) -> Path:
    path = tmp_path / "c.yaml"
    record(path, server, StreamScript().content("Hello", ", ", "world").finish())
    server.verify()
    return path


def test_replay_to_writerai_sync_offline(recorded: Path) -> None:
    with Cassette(recorded) as cassette:
        assert "".join(sdk_stream()) == "Hello, world"
    assert cassette.play_counts == [1]


def test_replay_to_writerai_async(recorded: Path) -> None:
    async def main() -> str:
        async with Cassette(recorded):
            client = writerai.AsyncWriter(api_key="another-key-entirely", max_retries=0)
            stream = await client.chat.chat(model="palmyra-x5", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
            return "".join([c.choices[0].delta.content or "" async for c in stream])

    assert asyncio.run(main()) == "Hello, world"


def test_replay_to_the_kits_clients(recorded: Path) -> None:
    with Cassette(recorded):
        stream = Writer(api_key=KEY).chat.chat(model="palmyra-x5", messages=MESSAGES, stream=True)  # type: ignore[arg-type, call-overload]
        assert "".join(c.choices[0].delta.content or "" for c in stream) == "Hello, world"

    async def main() -> str:
        async with Cassette(recorded):
            client = AsyncWriter(api_key=KEY)
            stream = await client.chat.chat(model="palmyra-x5", messages=MESSAGES, stream=True)  # type: ignore[arg-type, call-overload]
            return "".join([c.choices[0].delta.content or "" async for c in stream])

    assert asyncio.run(main()) == "Hello, world"


def test_replay_over_a_socket_through_the_fake_server(recorded: Path) -> None:
    with FakeWriterServer(cassette=Cassette(recorded)) as replaying:
        client = writerai.Writer(api_key=KEY, base_url=replaying.base_url, max_retries=0)
        stream = client.chat.chat(model="palmyra-x5", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
        assert "".join(c.choices[0].delta.content or "" for c in stream) == "Hello, world"


def test_fake_server_reports_a_cassette_miss(recorded: Path) -> None:
    def run() -> None:
        with FakeWriterServer(cassette=Cassette(recorded)) as replaying:
            client = writerai.Writer(api_key=KEY, base_url=replaying.base_url, max_retries=0)
            with pytest.raises(writerai.InternalServerError):
                client.chat.chat(
                    model="palmyra-x5", messages=[{"role": "user", "content": "other"}], stream=True
                )  # type: ignore[arg-type]

    with pytest.raises(CassetteMissError, match="has no unplayed recording"):
        run()


def test_fake_server_with_a_recording_cassette_says_how_to_record_over_a_socket(tmp_path: Path) -> None:
    cassette = Cassette(tmp_path / "new.yaml", record_mode="once")
    with pytest.raises(CassetteMissError) as failed, FakeWriterServer(cassette=cassette) as replaying:
        httpx.post(replaying.base_url + "/v1/chat", json={"model": "palmyra-x5", "messages": []})
    assert str(failed.value).endswith(
        "FakeWriterServer(cassette=...) only replays. To record a client in another process, use the "
        "writer_server fixture with @pytest.mark.writer_cassette (it records through a proxy when the "
        "record mode may record) or `writer-stream-testkit record --upstream URL --cassette FILE`; "
        "in-process, wrap the code in `with Cassette(...):`."
    )


def test_replay_never_touches_the_network(recorded: Path) -> None:
    with Cassette(recorded, upstream="http://127.0.0.1:9"):  # a dead port: any network use would fail
        assert "".join(sdk_stream()) == "Hello, world"


def test_other_hosts_are_not_served(recorded: Path) -> None:
    # Answered at once with a non-retryable 500; the cassette fails as the block ends.
    with pytest.raises(AssertionError, match="answers only the Writer API"), Cassette(recorded):
        assert httpx.get("https://example.com/").status_code == 500


# --- misses and matching -------------------------------------------------------------------------------


def test_miss_is_a_readable_500_then_a_failure_at_exit(recorded: Path) -> None:
    other = [{"role": "user", "content": "Say goodbye"}]
    seen: list[str] = []

    def run() -> None:
        with Cassette(recorded):
            try:
                sdk_stream(other)
            except writerai.InternalServerError as error:
                seen.append(str(error))

    with pytest.raises(CassetteMissError) as info:
        run()
    assert "has no unplayed recording" in seen[0]  # the client's own error already says why
    message = str(info.value)
    assert f"Cassette {recorded} has no unplayed recording that matches POST /v1/chat" in message
    assert '-      "content": "Say hello",' in message
    assert '+      "content": "Say goodbye",' in message
    assert "--writer-record-mode=new_episodes" in message


def test_each_recording_replays_once_unless_repeats_are_allowed(recorded: Path) -> None:
    def twice() -> None:
        with Cassette(recorded):
            sdk_stream()
            with pytest.raises(writerai.InternalServerError):
                sdk_stream()

    with pytest.raises(CassetteMissError, match="already replayed"):
        twice()
    with Cassette(recorded, allow_playback_repeats=True) as cassette:
        assert sdk_stream() == sdk_stream()
    assert cassette.play_counts == [2]


def never(call: Call, recorded: object) -> bool:
    return False


def test_ignored_fields_and_custom_matchers_decide_what_replays(recorded: Path) -> None:
    with Cassette(recorded, ignore_fields=["body.temperature"]):
        assert "".join(sdk_stream(temperature=0.3)) == "Hello, world"
    with Cassette(
        recorded,
        match_on=("method", "path"),
        matchers=[lambda call, rec: call.json["model"] == rec.json["model"]],
    ):
        assert "".join(sdk_stream([{"role": "user", "content": "anything"}])) == "Hello, world"
    with (
        pytest.raises(CassetteMissError, match="differs in: never"),
        Cassette(recorded, matchers=[never]),
        pytest.raises(writerai.InternalServerError),
    ):
        sdk_stream()


def test_assert_all_played_reports_unused_recordings(recorded: Path) -> None:
    with (
        pytest.raises(CassetteMissError, match=r"never replayed: interactions\[0\]"),
        Cassette(recorded, assert_all_played=True),
    ):
        pass


# --- record modes end to end -----------------------------------------------------------------------------


def test_mode_none_never_records_and_never_creates_a_file(tmp_path: Path, server: FakeWriterServer) -> None:
    path = tmp_path / "c.yaml"
    with (
        pytest.raises(CassetteMissError, match=r"does not exist(.|\n)*--writer-record-mode=once"),
        Cassette(path, upstream=server.base_url),
        pytest.raises(writerai.InternalServerError),
    ):
        sdk_stream()
    assert not path.exists()
    assert server.calls == []


def test_mode_once_records_a_new_file_then_only_replays(tmp_path: Path, server: FakeWriterServer) -> None:
    path = tmp_path / "c.yaml"
    record(path, server, StreamScript().content("one").finish())
    before = path.read_bytes()

    def run() -> None:
        with Cassette(path, record_mode="once", upstream=server.base_url):
            assert "".join(sdk_stream()) == "one"
            with pytest.raises(writerai.InternalServerError):
                sdk_stream([{"role": "user", "content": "new"}])

    with pytest.raises(CassetteMissError, match="record_mode='once'"):
        run()
    assert path.read_bytes() == before
    assert len(server.calls) == 1


def test_mode_new_episodes_replays_known_and_appends_new(tmp_path: Path, server: FakeWriterServer) -> None:
    path = tmp_path / "c.yaml"
    record(path, server, StreamScript().content("one").finish())
    server.reply(StreamScript().content("two").finish())
    with Cassette(path, record_mode="new_episodes", upstream=server.base_url):
        assert "".join(sdk_stream()) == "one"
        assert "".join(sdk_stream([{"role": "user", "content": "new"}])) == "two"
    assert len(server.calls) == 2
    contents = [i.request.json["messages"][0]["content"] for i in load_cassette(path).interactions]
    assert contents == ["Say hello", "new"]


def test_mode_all_re_records_matches_and_keeps_the_rest(tmp_path: Path, server: FakeWriterServer) -> None:
    path = tmp_path / "c.yaml"
    server.reply(StreamScript().content("old a").finish())
    server.reply(StreamScript().content("old b").finish())
    with Cassette(path, record_mode="once", upstream=server.base_url):
        sdk_stream()
        sdk_stream([{"role": "user", "content": "b"}])
    server.reply(StreamScript().content("new a").finish())
    with Cassette(path, record_mode="all", upstream=server.base_url):
        assert "".join(sdk_stream()) == "new a"  # recorded afresh, not replayed
    interactions = load_cassette(path).interactions
    assert [i.request.json["messages"][0]["content"] for i in interactions] == ["b", "Say hello"]
    assert "new a" in (interactions[1].response.events or ())[0].data  # type: ignore[operator]


def test_mode_rewrite_starts_the_file_afresh(tmp_path: Path, server: FakeWriterServer) -> None:
    path = tmp_path / "c.yaml"
    server.reply(StreamScript().content("a").finish())
    server.reply(StreamScript().content("b").finish())
    with Cassette(path, record_mode="once", upstream=server.base_url):
        sdk_stream()
        sdk_stream([{"role": "user", "content": "b"}])
    server.reply(StreamScript().content("fresh").finish())
    with Cassette(path, record_mode="rewrite", upstream=server.base_url):
        assert "".join(sdk_stream()) == "fresh"
    interactions = load_cassette(path).interactions
    assert len(interactions) == 1
    assert "fresh" in (interactions[0].response.events or ())[0].data  # type: ignore[operator]


def test_bad_options_fail_at_construction(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="record_mode='sometimes' is not a record mode"):
        Cassette(tmp_path / "c.yaml", record_mode="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timing="):
        Cassette(tmp_path / "c.yaml", timing="slow")  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["notaurl", "api.writer.com", "ftp://x", "http://", "/v1"])
def test_an_upstream_that_is_not_an_http_url_fails_at_construction_naming_the_option(
    tmp_path: Path, bad: str
) -> None:
    with pytest.raises(ValueError) as info:
        Cassette(tmp_path / "c.yaml", record_mode="once", upstream=bad)
    assert str(info.value) == (
        f"upstream={bad!r} (--writer-upstream in pytest) is not an http(s) base URL; pass an absolute one "
        "such as https://api.writer.com or http://127.0.0.1:8000 (no path after the host unless the API "
        "lives under one)."
    )
    assert Cassette(tmp_path / "c.yaml", upstream="http://127.0.0.1:8000/api").upstream == (
        "http://127.0.0.1:8000/api"
    )


def _dead_url() -> str:
    with FakeWriterServer() as gone:
        return gone.base_url


def _expected_failure(path: Path, dead: str) -> str:
    return (
        f"Recording into cassette {path} failed for POST /v1/chat (model='palmyra-x5', stream=True, "
        f"1 message, last user: 'Say hello'): the upstream {dead} did not answer (ConnectError: "
    )


def test_an_unreachable_upstream_answers_a_502_at_once_and_fails_the_cassette(tmp_path: Path) -> None:
    path, dead = tmp_path / "c.yaml", _dead_url()
    attempts: list[httpx.Request] = []
    client = writerai.Writer(
        api_key=KEY, http_client=httpx.Client(event_hooks={"request": [attempts.append]})
    )  # the SDK's default retries: a 502 it may retry would be sent again
    with (
        pytest.raises(CassetteRecordError) as failed,  # raised as the block ends
        Cassette(path, record_mode="once", upstream=dead),
        pytest.raises(writerai.InternalServerError) as answered,
    ):
        client.chat.chat(model="palmyra-x5", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
    assert len(attempts) == 1
    assert answered.value.status_code == 502
    assert answered.value.response.headers["x-should-retry"] == "false"
    description = answered.value.response.json()["errors"][0]["description"]
    assert description.startswith("writer-stream-testkit: " + _expected_failure(path, dead))
    message = str(failed.value)
    assert message.startswith(_expected_failure(path, dead))
    assert message.endswith(
        "so nothing was recorded for it. Check the cassette's upstream= (--writer-upstream in pytest) and "
        "that the upstream is up and reachable; the client got a 502 it does not retry."
    )
    assert not path.exists()


def test_an_unreachable_upstream_fails_async_recording_the_same_way(tmp_path: Path) -> None:
    path, dead = tmp_path / "c.yaml", _dead_url()

    async def run() -> int:
        client = writerai.AsyncWriter(api_key=KEY, max_retries=0)
        try:
            await client.chat.chat(model="palmyra-x5", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
        except writerai.APIStatusError as error:
            return error.status_code
        return 0

    cassette = Cassette(path, record_mode="new_episodes", upstream=dead)
    with pytest.raises(CassetteRecordError, match=re.escape(_expected_failure(path, dead))), cassette:
        assert asyncio.run(run()) == 502
    cassette.reset()
    cassette.verify()  # reset forgets the failure with the rest of the run's state
    assert not path.exists()


# --- the first recording measures the upstream, not the kit (issue 13) ------------------------------


def test_an_http_upstream_records_without_building_tls_settings(
    tmp_path: Path, server: FakeWriterServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    clear_proxy_environment(monkeypatch)

    def no_ca_bundle() -> Any:
        raise AssertionError("the CA bundle was loaded for an http:// upstream")

    monkeypatch.setattr(recorder, "_tls", no_ca_bundle)
    assert "".join(record(tmp_path / "c.yaml", server, StreamScript().content("ok").finish())) == "ok"

    async def arecord() -> str:
        server.reply(StreamScript().content("async").finish())
        async with Cassette(tmp_path / "a.yaml", record_mode="once", upstream=server.base_url):
            client = writerai.AsyncWriter(api_key=KEY, max_retries=0)
            stream = await client.chat.chat(model="palmyra-x5", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
            return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

    assert asyncio.run(arecord()) == "async"


@pytest.mark.parametrize(
    ("url", "proxy", "full"),
    [
        ("http://127.0.0.1:8000", None, False),
        ("https://api.writer.com", None, True),
        ("http://127.0.0.1:8000", "https://proxy.example:3128", True),  # TLS to the proxy
        ("http://127.0.0.1:8000", "http://proxy.example:3128", False),
    ],
)
def test_tls_settings_are_built_only_where_tls_can_happen(
    url: str, proxy: str | None, full: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    clear_proxy_environment(monkeypatch)
    if proxy is not None:
        monkeypatch.setenv("HTTP_PROXY", proxy)
    context = recorder._tls_for_url(httpx.URL(url), trust_env=True)
    assert (context is recorder._tls()) is full
    if not full:  # it fails closed: verifies certificates but trusts none
        assert context.verify_mode == ssl.CERT_REQUIRED
        assert context.check_hostname
        assert context.cert_store_stats()["x509_ca"] == 0


# --- issue 20 item 1: a save never loses what was recorded ----------------------------------------


def _spoil(path: Path) -> None:
    """Make the cassette unreadable mid-run, as a concurrent writer or a hand edit might."""
    text = path.read_text().replace("messages:", "deep: " + "[" * 300 + "]" * 300 + "\n      messages:", 1)
    path.write_text(text)


def test_a_new_episodes_save_that_cannot_merge_keeps_the_recording_in_a_rescue_file(
    tmp_path: Path, server: FakeWriterServer
) -> None:
    path = tmp_path / "c.yaml"
    record(path, server, StreamScript().content("one").finish())
    server.reply(StreamScript().content("two").finish())

    def run() -> None:
        with Cassette(path, record_mode="new_episodes", upstream=server.base_url):
            assert "".join(sdk_stream([{"role": "user", "content": "new"}])) == "two"
            _spoil(path)

    with pytest.raises(CassetteRecordError) as caught:
        run()
    rescue = tmp_path / "c.unsaved.yaml"
    message = str(caught.value)
    assert f"Cassette {path} could not be saved (CassetteFormatError: Cassette {path} nests" in message
    assert f"so this run's 1 recording went to {rescue} instead" in message
    (saved,) = load_cassette(rescue).interactions
    assert saved.request.json["messages"] == [{"role": "user", "content": "new"}]
    assert KEY not in rescue.read_text()  # redacted like any recording


def test_a_save_whose_rescue_fails_too_keeps_the_recording_for_the_next_save(
    tmp_path: Path, server: FakeWriterServer
) -> None:
    path = tmp_path / "c.yaml"
    record(path, server, StreamScript().content("one").finish())
    server.reply(StreamScript().content("two").finish())
    cassette = Cassette(path, record_mode="new_episodes", upstream=server.base_url)
    rescue = tmp_path / "c.unsaved.yaml"
    rescue.mkdir()  # nothing can be written there
    with cassette:
        assert "".join(sdk_stream([{"role": "user", "content": "new"}])) == "two"
        _spoil(path)
        with pytest.raises(CassetteRecordError, match="They are kept in memory"):
            cassette.save()
        rescue.rmdir()
        path.unlink()
    contents = [i.request.json["messages"][0]["content"] for i in load_cassette(path).interactions]
    assert contents == ["new"]


# --- issue 21 item 7: vcrpy's record hooks --------------------------------------------------------


def _without_user(request: RecordedRequest) -> RecordedRequest:
    """A normalising hook: the per-run `user` field is left out of the recording (and of matching)."""
    body = {k: v for k, v in request.json.items() if k != "user"}
    return replace(request, json=body)


def test_a_request_hook_changes_what_is_recorded_and_what_is_matched(
    tmp_path: Path, server: FakeWriterServer
) -> None:
    path = tmp_path / "c.yaml"
    seen: list[RecordedRequest] = []

    def hook(request: RecordedRequest) -> RecordedRequest:
        seen.append(request)
        return _without_user(request)

    record(path, server, StreamScript().content("hi").finish(), before_record_request=hook)
    assert ("authorization", f"Bearer {KEY}") in seen[0].headers  # the hook runs before redaction
    assert "user" not in load_cassette(path).interactions[0].request.json
    with Cassette(path, before_record_request=_without_user):
        assert (
            "".join(sdk_stream(extra_body={"user": "run-42"})) == "hi"
        )  # normalised before matching, as vcrpy does

    def unhooked() -> None:
        with Cassette(path):
            sdk_stream(extra_body={"user": "run-42"})

    with pytest.raises(writerai.InternalServerError):  # without the hook, the body differs: a miss
        unhooked()


def test_a_response_hook_runs_before_redaction(tmp_path: Path, server: FakeWriterServer) -> None:
    def hook(response: RecordedResponse) -> RecordedResponse:
        assert response.events is not None
        events = tuple(
            replace(e, data=e.data.replace("hello", f"hello {KEY}"), raw=None) if e.data else e
            for e in response.events
        )
        return replace(response, headers=(*response.headers, ("x-hooked", "yes")), events=events)

    path = tmp_path / "c.yaml"
    script = StreamScript().content("hello").finish()
    assert "".join(record(path, server, script, before_record_response=hook)) == "hello"
    text = path.read_text()
    assert KEY not in text  # what the hook added was still redacted
    response = load_cassette(path).interactions[0].response
    assert ("x-hooked", "yes") in response.headers
    with Cassette(path):
        assert "".join(sdk_stream()) == "hello <redacted>"


def _drop_secret_request(request: RecordedRequest) -> RecordedRequest | None:
    return None if request.json["messages"][0]["content"] == "secret" else request


def _drop_dropped_response(response: RecordedResponse) -> RecordedResponse | None:
    return None if any("dropped" in (e.data or "") for e in response.events or ()) else response


@pytest.mark.parametrize(
    "options",
    [{"before_record_request": _drop_secret_request}, {"before_record_response": _drop_dropped_response}],
)
def test_a_hook_returning_none_leaves_the_exchange_out(
    tmp_path: Path, server: FakeWriterServer, options: dict[str, Any]
) -> None:
    path = tmp_path / "c.yaml"
    server.reply(StreamScript().content("kept").finish())
    server.reply(StreamScript().content("dropped").finish())
    with Cassette(path, record_mode="once", upstream=server.base_url, **options):
        assert "".join(sdk_stream()) == "kept"
        assert "".join(sdk_stream([{"role": "user", "content": "secret"}])) == "dropped"
    (only,) = load_cassette(path).interactions
    assert only.request.json["messages"] == MESSAGES


def test_a_request_the_hook_drops_is_never_replayed(recorded: Path) -> None:
    def run() -> None:
        with (
            Cassette(recorded, before_record_request=lambda request: None),
            pytest.raises(writerai.InternalServerError),
        ):
            sdk_stream()

    with pytest.raises(CassetteMissError, match="its before_record_request hook returned None for it"):
        run()


def test_a_hook_returning_the_wrong_type_says_what_to_return(
    tmp_path: Path, server: FakeWriterServer
) -> None:
    with pytest.raises(TypeError, match="before_record_response hook returned dict for POST /v1/chat"):
        record(
            tmp_path / "c.yaml",
            server,
            StreamScript().content("x").finish(),
            before_record_response=lambda r: {},
        )
    with pytest.raises(TypeError, match="must be a function"):
        Cassette(tmp_path / "c.yaml", before_record_request="not a function")  # type: ignore[arg-type]


def test_hooks_are_plain_keyword_arguments_a_config_dict_can_pass(
    tmp_path: Path, server: FakeWriterServer
) -> None:
    config: dict[str, Any] = {"record_mode": "once", "before_record_request": _without_user}
    server.reply(StreamScript().content("ok").finish())
    with Cassette(tmp_path / "c.yaml", upstream=server.base_url, **config):
        assert "".join(sdk_stream(extra_body={"user": "u"})) == "ok"
    assert "user" not in load_cassette(tmp_path / "c.yaml").interactions[0].request.json


# --- issue 22 item 5: the cassette answers the replay decision itself -------------------------------


def _call(messages: list[dict[str, Any]] = MESSAGES) -> Call:
    return Call.create(method="POST", url="https://api.writer.com/v1/chat", content=_body(messages))


def test_the_cassette_says_whether_it_can_play_plays_or_may_record(recorded: Path) -> None:
    replay = Cassette(recorded)
    assert replay.can_play(_call())
    assert not replay.may_record(_call())
    assert not replay.may_record()
    assert not replay.can_play(_call([{"role": "user", "content": "other"}]))
    plan = replay.play(_call())
    assert plan.status == 200
    assert replay.play_counts == [1]
    assert not replay.can_play(_call())  # played once
    assert replay.play(_call()).status == 500
    with pytest.raises(CassetteMissError):
        replay.verify()
    repeats = Cassette(recorded, allow_playback_repeats=True)
    assert repeats.can_play(_call(), unplayed=True)
    repeats.play(_call())
    assert repeats.can_play(_call())
    assert not repeats.can_play(_call(), unplayed=True)  # a directory of cassettes tries unplayed ones first
    episodes = Cassette(recorded, record_mode="new_episodes")
    assert episodes.can_play(_call())
    assert not episodes.may_record(_call())
    assert episodes.may_record()
    assert episodes.may_record(_call([{"role": "user", "content": "other"}]))
    every = Cassette(recorded, record_mode="all")
    assert not every.can_play(_call())
    assert every.may_record(_call())


def test_the_record_proxy_replays_a_repeat_the_cassette_allows(recorded: Path) -> None:
    from writer_stream_testkit.cassettes.proxy import RecordingProxy

    cassette = Cassette(recorded, record_mode="new_episodes", allow_playback_repeats=True)
    proxy = RecordingProxy(cassette, "http://127.0.0.1:9")  # a dead upstream: recording would fail
    with FakeWriterServer(source=proxy) as fake:
        client = writerai.Writer(api_key=KEY, base_url=fake.base_url, max_retries=0)
        for _ in range(2):  # the proxy used to re-derive the decision, ignoring allowed repeats
            stream = client.chat.chat(model="palmyra-x5", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
            assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Hello, world"
    assert cassette.play_counts == [2]

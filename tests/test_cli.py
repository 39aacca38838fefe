"""The command line end to end: serve, record, show, convert and verify over real loopback sockets."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from cliutil import WAIT, Background, run_cli, run_main
from proxyutil import clear_proxy_environment, forward_proxy

from writer_stream_testkit.cassettes import proxy as _proxy
from writer_stream_testkit.cassettes.cassette import Cassette
from writer_stream_testkit.cassettes.load import load_cassette
from writer_stream_testkit.cassettes.modes import save_recorded
from writer_stream_testkit.cassettes.proxy import RecordingProxy
from writer_stream_testkit.cli import build_parser
from writer_stream_testkit.doubles.server import FakeWriterServer
from writer_stream_testkit.errors import CassetteMissError, CassetteRecordError
from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.scripts.faults import Fault
from writer_stream_testkit.scripts.plan import ResponsePlan
from writer_stream_testkit.wire.call import Call

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-planted-KEY-4a5b6c7d8e9f0123"
BODY = {"model": "palmyra-x5", "stream": True, "messages": [{"role": "user", "content": "Say hello"}]}


def wait_for(condition: Any, what: str) -> None:
    """Poll an observable condition, bounded: for effects another process makes on its own schedule."""
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def stream_raw(url: str, body: Any = BODY, key: str = KEY) -> tuple[list[bytes], list[float], int]:
    """POST and read the raw body: the pieces, when each arrived (since the request), the status."""
    pieces: list[bytes] = []
    times: list[float] = []
    with httpx.Client(timeout=WAIT) as client:
        started = time.perf_counter()
        with client.stream(
            "POST", url + "/v1/chat", json=body, headers={"authorization": f"Bearer {key}"}
        ) as response:
            for piece in response.iter_raw():
                pieces.append(piece)
                times.append(time.perf_counter() - started)
    return pieces, times, response.status_code


# --- help and usage errors ------------------------------------------------------------------------


def test_the_console_script_lists_every_subcommand() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for name in ("serve", "record", "show", "convert", "verify"):
        assert f"    {name} " in result.stdout


@pytest.mark.parametrize("command", ["serve", "record", "show", "convert", "verify"])
def test_each_subcommand_explains_itself(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(capsys, command, "--help")
    assert code == 0
    assert out.startswith(f"usage: writer-stream-testkit {command} ")
    subparsers = build_parser()._subparsers
    assert subparsers is not None
    description = next(
        p.description
        for action in subparsers._group_actions
        for name, p in getattr(action, "choices", {}).items()
        if name == command
    )
    assert description
    assert description.endswith(".")
    assert description.split()[0] in out.replace("\n", " ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "missing.yaml"], "Cassette missing.yaml does not exist."),
        (["serve", "--cassettes", "nowhere"], "--cassettes nowhere is not a directory;"),
        (["serve", "--script", "x.yaml", "--timing", "slow"], "--timing slow is not a replay timing;"),
        (["record", "--upstream", "api.writer.com", "--cassette", "c.yaml"], "is not an http(s) base URL;"),
        (["verify", "c.yaml", "--upstream", "ftp://x"], "--upstream ftp://x is not an http(s) base URL;"),
        (["convert", "missing.yaml", "--out", "o.yaml"], "The vcrpy cassette missing.yaml does not exist;"),
        (["serve", "--allow-repeats"], "--allow-repeats replays cassettes, so it needs --cassettes DIR."),
        (["verify", "missing.yaml", "--upstream", "http://x"], "Cassette missing.yaml does not exist."),
    ],
)
def test_usage_errors_are_sentences_with_exit_code_2(
    args: list[str],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run_main(capsys, *args)
    assert code == 2
    assert err.startswith(f"writer-stream-testkit {args[0]}: error: ")
    assert message in err
    assert err.rstrip().endswith(".")


def test_show_of_a_missing_file_says_so_and_suggests_the_record_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run_main(capsys, "show", "nonexistent.yaml")
    assert code == 2
    assert err == (
        "writer-stream-testkit show: error: Cassette nonexistent.yaml does not exist. Check the path, or "
        "record it first with `writer-stream-testkit record --upstream URL --cassette nonexistent.yaml`.\n"
    )
    assert "record_mode" not in err


def test_convert_will_not_overwrite_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "v.yaml").write_text("interactions: []\nversion: 1\n")
    (tmp_path / "out.yaml").write_text("keep me")
    code, _, err = run_main(capsys, "convert", str(tmp_path / "v.yaml"), "--out", str(tmp_path / "out.yaml"))
    assert code == 2
    assert "already exists; pass --force to overwrite it" in err
    assert (tmp_path / "out.yaml").read_text() == "keep me"


def test_a_usage_error_in_a_subprocess_exits_2() -> None:
    result = run_cli("show", "no/such/file.yaml")
    assert result.returncode == 2
    assert "Cassette no/such/file.yaml does not exist." in result.stderr


# --- serve --cassettes ----------------------------------------------------------------------------


def test_serve_replays_every_cassette_in_a_directory_and_explains_a_miss(tmp_path: Path) -> None:
    for name in ("hello-stream.yaml", "tool-call.yaml"):
        shutil.copy(ROOT / "cassettes" / name, tmp_path / name)
    (tmp_path / "notes.txt").write_text("not a cassette")
    server = Background(["serve", "--cassettes", str(tmp_path), "--port", "0"])
    try:
        for name in ("tool-call.yaml", "hello-stream.yaml"):
            (recorded,) = load_cassette(tmp_path / name).interactions
            pieces, _, status = stream_raw(server.url, recorded.request.json)
            assert status == recorded.response.status
            assert pieces == [data for data, _ in recorded.response.reads()]
        _, _, status = stream_raw(server.url, {**BODY, "messages": [{"role": "user", "content": "Hi!"}]})
        assert status == 500
        with httpx.Client(timeout=WAIT) as client:
            again = client.post(server.url + "/v1/chat", json=json.loads(json.dumps(BODY)))
        description = again.json()["errors"][0]["description"]
        assert (
            f"No cassette in {tmp_path} has an unplayed recording that matches POST /v1/chat" in description
        )
        assert f"The closest recording is {tmp_path / 'hello-stream.yaml'} interactions[0]" in description
    finally:
        code, err = server.stop() if server.proc.poll() is None else (server.proc.returncode, "")
        server.kill()
    assert code == 0
    assert f"with 2 recording(s) from 2 cassette(s) in {tmp_path}" in err


def test_serve_plays_each_recording_once_and_says_how_to_allow_repeats(tmp_path: Path) -> None:
    shutil.copy(ROOT / "cassettes" / "hello-stream.yaml", tmp_path / "hello-stream.yaml")
    (recorded,) = load_cassette(tmp_path / "hello-stream.yaml").interactions
    server = Background(["serve", "--cassettes", str(tmp_path), "--port", "0"])
    try:
        assert stream_raw(server.url, recorded.request.json)[2] == 200
        with httpx.Client(timeout=WAIT) as client:
            again = client.post(server.url + "/v1/chat", json=recorded.request.json)
    finally:
        server.kill()
    assert again.status_code == 500
    description = again.json()["errors"][0]["description"]
    assert "which was already replayed (each recording replays once)." in description
    assert (
        "It is the same request, played before. To replay recordings as often as they are asked for, "
        f"restart the server with `writer-stream-testkit serve --cassettes {tmp_path} --allow-repeats`."
    ) in description


def test_serve_allow_repeats_replays_a_recording_every_time_it_is_asked_for(tmp_path: Path) -> None:
    shutil.copy(ROOT / "cassettes" / "hello-stream.yaml", tmp_path / "hello-stream.yaml")
    (recorded,) = load_cassette(tmp_path / "hello-stream.yaml").interactions
    server = Background(["serve", "--cassettes", str(tmp_path), "--port", "0", "--allow-repeats"])
    try:
        for _ in range(3):
            pieces, _, status = stream_raw(server.url, recorded.request.json)
            assert status == 200
            assert pieces == [data for data, _ in recorded.response.reads()]
        _, _, other = stream_raw(server.url, {**BODY, "messages": [{"role": "user", "content": "Hi!"}]})
        assert other == 500  # repeats replay what matches; anything else is still a miss
    finally:
        code, _ = server.stop() if server.proc.poll() is None else (server.proc.returncode, "")
        server.kill()
    assert code == 0


def test_serve_refuses_a_broken_cassette_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.yaml").write_text("version: 1\ninteractions: !!python/object:os.system {}\n")
    code, _, err = run_main(capsys, "serve", "--cassettes", str(tmp_path), "--port", "0")
    assert code == 2
    assert f"Cassette {tmp_path / 'bad.yaml'} uses the YAML tag" in err
    assert f"(It is one of the cassettes in --cassettes {tmp_path}.)" in err


# --- record ---------------------------------------------------------------------------------------


def test_record_proxy_streams_each_chunk_as_it_arrives_and_saves_a_replayable_redacted_cassette(
    tmp_path: Path, upstream: FakeWriterServer
) -> None:
    path = tmp_path / "rec" / "proxy.yaml"
    pieces_out = ["One", " two", " three", " four", " five", " six"]
    upstream.reply(StreamScript().content(*pieces_out).finish().with_fault(Fault.delay(each=0.05)))
    proxy = Background(["record", "--upstream", upstream.base_url, "--cassette", str(path), "--port", "0"])
    try:
        pieces, times, status = stream_raw(proxy.url)
        assert status == 200
        # Eight events, 50 ms apart upstream: a tee hands the first over long before the last exists.
        assert len(pieces) >= 6
        assert times[-1] - times[0] > 0.25
        wait_for(path.exists, "the cassette to be saved after the response")  # saved before shutdown
    finally:
        code, err = proxy.stop() if proxy.proc.poll() is None else (proxy.proc.returncode, "")
        proxy.kill()
    assert code == 0, err
    assert "recorded: POST /v1/chat -> 200, 8 events" in err
    assert "Recorded 1 interaction(s) into" in err
    text = path.read_text()
    assert KEY not in text
    assert "authorization: <redacted>" in text
    assert upstream.calls[0].headers["authorization"] == f"Bearer {KEY}"  # forwarded, never written

    with FakeWriterServer(cassette=Cassette(path)) as replay:
        again, _, status = stream_raw(replay.base_url, key="sk-another-key-entirely")
    assert status == 200
    assert b"".join(again) == b"".join(pieces)


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


# --- show -----------------------------------------------------------------------------------------


def test_show_prints_the_example_cassette(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(capsys, "show", str(ROOT / "cassettes" / "cut-stream.yaml"))
    assert code == 0
    assert "[0] POST https://api.writer.com/v1/chat" in out
    assert "!! incomplete: the stream was cut here" in out


# --- convert --------------------------------------------------------------------------------------


def test_convert_imports_a_cassette_vcrpy_recorded_from_httpx(
    tmp_path: Path, upstream: FakeWriterServer, capsys: pytest.CaptureFixture[str]
) -> None:
    vcr = pytest.importorskip("vcr")
    upstream.reply(StreamScript().content("Hello", " from", " vcrpy").finish())
    vcr_path = tmp_path / "vcr.yaml"
    with vcr.use_cassette(str(vcr_path), record_mode="all"):
        original, _, _ = stream_raw(upstream.base_url)
    assert KEY in vcr_path.read_text()  # vcrpy wrote the key; the conversion must not

    out = tmp_path / "ours.yaml"
    code, _, err = run_main(capsys, "convert", str(vcr_path), "--out", str(out))
    assert code == 0, err
    assert "Converted 1 interaction(s) (1 SSE stream(s))" in err
    assert KEY not in out.read_text()
    (interaction,) = load_cassette(out).interactions
    assert interaction.response.events is not None
    assert len(interaction.response.events) == 5
    with FakeWriterServer(cassette=Cassette(out)) as replay:
        again, _, status = stream_raw(replay.base_url)
    assert status == 200
    assert b"".join(again) == b"".join(original)


def test_convert_refuses_a_hostile_vcr_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hostile = tmp_path / "evil.yaml"
    hostile.write_text("interactions:\n- !!python/object/apply:os.system ['touch pwned']\nversion: 1\n")
    code, _, err = run_main(capsys, "convert", str(hostile), "--out", str(tmp_path / "o.yaml"))
    assert code == 2
    assert f"The vcrpy cassette {hostile} uses a YAML tag that is not plain data" in err
    assert not (tmp_path / "o.yaml").exists()
    assert not (tmp_path / "pwned").exists()


# --- verify ---------------------------------------------------------------------------------------


def record_cassette(path: Path, upstream: FakeWriterServer, script: StreamScript) -> None:
    upstream.reply(script)
    with (
        Cassette(path, record_mode="once", upstream=upstream.base_url),
        httpx.Client(base_url="https://api.writer.com", timeout=WAIT) as client,
    ):
        client.post("/v1/chat", json=BODY, headers={"authorization": f"Bearer {KEY}"})


def test_verify_reports_no_drift_when_only_the_text_changed(
    tmp_path: Path, upstream: FakeWriterServer, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.yaml"
    record_cassette(path, upstream, StreamScript().content("Hello", " there").finish())
    upstream.reply(StreamScript(id="new").content("Hi", " the", "re").finish())
    code, out, err = run_main(capsys, "verify", str(path), "--upstream", upstream.base_url, "--api-key", KEY)
    assert code == 0, out + err
    assert out.splitlines()[1].endswith(": same")
    assert "note: text of choice 0 differs (not drift): recorded 'Hello there', live 'Hi there'" in out
    assert out.rstrip().endswith("No drift: all 1 interactions stream the same shape as recorded.")
    assert upstream.calls[-1].headers["authorization"] == f"Bearer {KEY}"
    assert upstream.calls[-1].json == BODY


def test_verify_reports_drift_with_the_event_index_and_exits_1(
    tmp_path: Path, upstream: FakeWriterServer
) -> None:
    path = tmp_path / "c.yaml"
    record_cassette(path, upstream, StreamScript().content("Sunny").finish())
    upstream.reply(StreamScript().content("Checking").tool_call("get_weather", {"city": "Paris"}).finish())
    result = run_cli("verify", str(path), "--upstream", upstream.base_url)
    assert result.returncode == 1, result.stderr
    assert ": DRIFT" in result.stdout
    assert "the event shapes first differ at recorded event #1 / live event #1" in result.stdout
    assert "    +       #1    choice 0: tool_call[0] get_weather\n" in result.stdout
    assert "1 of 1 interactions drifted ([0])." in result.stdout


def test_verify_says_when_the_upstream_cannot_be_reached(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(ROOT / "cassettes" / "hello-stream.yaml", tmp_path / "c.yaml")
    with FakeWriterServer() as gone:
        dead_url = gone.base_url
    code, _, err = run_main(capsys, "verify", str(tmp_path / "c.yaml"), "--upstream", dead_url)
    assert code == 2
    assert f"The upstream {dead_url} did not answer interactions[0] (POST /v1/chat): ConnectError" in err


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


# --- failures on the server side are never silent -------------------------------------------------


def test_record_with_an_unreachable_upstream_reports_it_and_exits_1(tmp_path: Path) -> None:
    with FakeWriterServer() as gone:
        dead_url = gone.base_url
    path = tmp_path / "c.yaml"
    proxy = Background(["record", "--upstream", dead_url, "--cassette", str(path), "--port", "0"])
    try:
        _, _, status = stream_raw(proxy.url)
    finally:
        code, err = proxy.stop() if proxy.proc.poll() is None else (proxy.proc.returncode, "")
        proxy.kill()
    assert status == 502
    assert code == 1
    assert f"The record proxy could not reach the upstream {dead_url} for POST /v1/chat" in err
    assert "writer-stream-testkit record: error: recording failed, so the cassette is incomplete:" in err
    assert not path.exists()


def test_a_server_crash_while_serving_is_reported_on_stderr_with_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from writer_stream_testkit.cli._shared import finish

    class Broken:
        def take(self, call: Call) -> ResponsePlan:
            raise KeyError("the reply source broke")

    with FakeWriterServer(source=Broken()) as server, httpx.Client(timeout=WAIT) as client:
        assert client.post(server.base_url + "/v1/chat", json=BODY).status_code == 500
        code = finish(server, "serve")
        server.reset()  # reported: leaving the block has nothing more to verify
    err = capsys.readouterr().err
    assert code == 1
    assert "writer-stream-testkit serve: error: the server failed while answering" in err
    assert "KeyError: 'the reply source broke'" in err


def test_serve_reports_each_miss_on_stderr_but_a_miss_is_not_a_failed_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from writer_stream_testkit.cli._shared import finish
    from writer_stream_testkit.cli.serve import CassetteDirectory

    shutil.copy(ROOT / "cassettes" / "hello-stream.yaml", tmp_path / "hello-stream.yaml")
    directory = CassetteDirectory(tmp_path, [Cassette(tmp_path / "hello-stream.yaml")])
    with FakeWriterServer(source=directory) as server, httpx.Client(timeout=WAIT) as client:
        assert client.post(server.base_url + "/v1/chat", json={"other": 1}).status_code == 500
        code = finish(server, "serve")
        server.reset()
    err = capsys.readouterr().err
    assert code == 0
    assert "writer-stream-testkit serve: 1 request(s) found no recording:" in err
    assert f"No cassette in {tmp_path} has an unplayed recording that matches POST /v1/chat" in err

"""``serve`` on the inputs a user really gives it: documented defaults, odd paths, bad bodies, long runs."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from cliutil import BODY, ROOT, WAIT, Background, run_main, stream_raw
from rawhttp import (
    post_chat,
)

from writer_stream_testkit.cassettes.cassette import Cassette
from writer_stream_testkit.cassettes.load import load_cassette
from writer_stream_testkit.cli import serve as serve_module
from writer_stream_testkit.cli.serve import CassetteDirectory, Cycle, load_directory
from writer_stream_testkit.doubles.server import FakeWriterServer
from writer_stream_testkit.errors import (
    CassetteMissError,
    UnexpectedRequestError,
)
from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.scripts.plan import ResponsePlan
from writer_stream_testkit.wire.call import Call


def stopped(server: Background) -> tuple[int, str]:
    code, err = server.stop() if server.proc.poll() is None else (server.proc.returncode, "")
    server.kill()
    return code, err


def test_an_application_script_without_an_id_is_served_for_any_application(tmp_path: Path) -> None:
    """The documented default (any application) once crashed the banner: KeyError 'application_id'."""
    script = tmp_path / "app.yaml"
    script.write_text("kind: application\nsteps:\n  - content: Hi\n", encoding="utf-8")
    server = Background(["serve", "--port", "0", "--script", str(script)])
    try:
        with httpx.Client(timeout=WAIT) as client:
            response = client.post(
                server.url + "/v1/applications/abc-123", json={"inputs": [], "stream": True}
            )
    finally:
        code, err = stopped(server)
    assert response.status_code == 200, response.text
    assert '"Hi"' in response.text
    assert (code, "Traceback" in err) == (0, False), err
    assert "for POST /v1/applications/{application_id}" in err


def test_a_templated_json_path_and_braces_in_a_cassette_directory_start_the_server(tmp_path: Path) -> None:
    script = tmp_path / "file.yaml"
    script.write_text(
        "kind: json\npath: /v1/files/{file_id}\nmethod: GET\nbody: {id: f1}\n", encoding="utf-8"
    )
    server = Background(["serve", "--port", "0", "--script", str(script)])
    try:
        with httpx.Client(timeout=WAIT) as client:
            assert client.get(server.url + "/v1/files/f1").json() == {"id": "f1"}
    finally:
        code, err = stopped(server)
    assert code == 0, err
    directory = tmp_path / "run {1}"
    directory.mkdir()
    shutil.copy(ROOT / "cassettes" / "hello-stream.yaml", directory / "hello-stream.yaml")
    server = Background(["serve", "--port", "0", "--cassettes", str(directory)])
    code, err = stopped(server)
    assert code == 0, err
    assert f"cassette(s) in {directory}" in err


def test_serve_answers_a_body_that_is_not_json_with_400_as_both_doubles_do_and_lists_it_at_stop(
    tmp_path: Path,
) -> None:
    script = tmp_path / "chat.yaml"
    script.write_text(StreamScript().content("Hi").to_yaml(), encoding="utf-8")
    server = Background(["serve", "--port", "0", "--script", str(script)])
    try:
        with httpx.Client(timeout=WAIT) as client:
            bad = client.post(server.url + "/v1/chat", content=b"model=palmyra-x5")
            good = client.post(server.url + "/v1/chat", json=BODY)
            other = client.post(server.url + "/v1/completions", json={"model": "m", "prompt": "p"})
    finally:
        code, err = stopped(server)
    assert bad.status_code == 400
    assert "The Writer API answers such a request with 400" in bad.json()["errors"][0]["description"]
    assert good.status_code == 200  # the refused request used up no turn
    assert other.status_code == 500
    assert code == 0
    assert "2 request(s) got an error instead of a script's reply:" in err
    assert "  - POST /v1/chat" in err
    assert ": 400, " in err
    assert "  - POST /v1/completions" in err
    assert ": 500, no script: the scripts given serve POST /v1/chat. Pass a script for this endpoint" in err


def test_the_cycle_reports_what_it_refused_and_forgets_it_on_reset() -> None:
    cycle = Cycle([StreamScript().content("Hi")], history=2)
    cycle.verify()
    for _ in range(3):
        plan = cycle.take(Call.create(method="POST", url="http://x/v1/chat", content=b"not json"))
        assert plan.status == 400
    with pytest.raises(
        UnexpectedRequestError, match=r"^3 request\(s\) got an error .* \(the last 2 are shown\)"
    ):
        cycle.verify()
    cycle.reset()
    cycle.verify()


def test_the_cycle_answers_the_same_past_its_kept_routes_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    """Routes are matched once and kept up to a bound; stray paths past it are still matched, each time."""
    monkeypatch.setattr(serve_module, "_ROUTES", 2)
    cycle = Cycle([StreamScript().content("Hi")], history=10)
    for _ in range(2):
        for path in ("/v1/nowhere", "/v1/elsewhere", "/v1/chat", "/v1/completions"):
            plan = cycle.take(Call.create(method="POST", url=f"http://x{path}", content=b'{"stream": true}'))
            assert plan.status == (200 if path == "/v1/chat" else 500), path
        assert cycle.take(Call.create(method="POST", url="http://x/v1/chat", content=b"[]")).status == 400
        assert cycle.take(Call.create(method="GET", url="http://x/v1/chat")).status == 500
    assert len(cycle._routes) == 2


def test_serve_cassettes_keeps_no_more_than_its_history_however_long_it_runs(tmp_path: Path) -> None:
    """Each cassette's own calls and misses, and the directory's misses, are trimmed to --history."""
    shutil.copy(ROOT / "cassettes" / "hello-stream.yaml", tmp_path / "hello-stream.yaml")
    directory = load_directory(tmp_path, "fast", allow_repeats=True, history=3)
    (cassette,) = directory.cassettes
    recorded = cassette.interactions[0].request.json
    with (
        FakeWriterServer(source=directory, history=3) as server,
        httpx.Client(base_url=server.base_url, timeout=WAIT) as client,
    ):
        for _ in range(10):
            assert client.post("/v1/chat", json=recorded).status_code == 200
        for n in range(10):
            assert client.post("/v1/chat", json={**BODY, "n": n}).status_code == 500
        assert len(cassette.calls) == 3
        assert len(server.calls) == 3
        with pytest.raises(CassetteMissError) as caught:
            directory.verify()
        server.reset()
    message = str(caught.value)
    assert message.startswith("10 request(s) found no recording (the last 3 are shown):")
    assert message.count("No cassette in") == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--port", "99999"],
            "--port 99999 is not a port; pass a number from 1 to 65535, or 0 for any free one.",
        ),
        (["--port", "-1"], "--port -1 is not a port;"),
        (["--script", "."], "Script file . is a directory, not a file;"),
    ],
)
def test_serve_refuses_a_bad_port_or_a_directory_as_a_script_in_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_main(capsys, "serve", *args)
    assert code == 2
    assert err.startswith("writer-stream-testkit serve: error: ")
    assert message in err
    assert err.count("\n") == 1


def test_serve_refuses_a_directory_named_like_a_cassette_in_cassettes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(ROOT / "cassettes" / "hello-stream.yaml", tmp_path / "hello-stream.yaml")
    (tmp_path / "old.yaml").mkdir()
    code, _, err = run_main(capsys, "serve", "--port", "0", "--cassettes", str(tmp_path))
    assert code == 2
    assert err == (
        f"writer-stream-testkit serve: error: --cassettes {tmp_path} holds old.yaml, which is not a cassette "
        "file (a directory?); rename it or move it out, since every *.yaml in the directory is served as a "
        "cassette.\n"
    )


def test_a_cassette_with_a_history_keeps_its_last_calls_and_misses_but_counts_every_miss(
    tmp_path: Path,
) -> None:
    from writer_stream_testkit.cassettes.cassette import Cassette

    with pytest.raises(ValueError, match=r"Cannot keep a history of 0 requests"):
        Cassette(tmp_path / "c.yaml", history=0)
    shutil.copy(ROOT / "cassettes" / "hello-stream.yaml", tmp_path / "c.yaml")
    cassette = Cassette(tmp_path / "c.yaml", history=2)
    for n in range(5):
        call = Call.create(method="POST", url="https://api.writer.com/v1/chat", content=b'{"n": %d}' % n)
        assert cassette.take(call).status == 500
    assert [c.json for c in cassette.calls] == [{"n": 3}, {"n": 4}]
    with pytest.raises(CassetteMissError, match=r"^5 requests found no recording \(the last 2 are shown\):"):
        cassette.verify()
    cassette.reset()
    cassette.verify()


def test_the_control_journal_says_what_serve_script_and_serve_cassettes_refused(tmp_path: Path) -> None:
    """A 400/500 that serve --script or --cassettes gave once showed as "answered": true."""
    shutil.copy(ROOT / "cassettes" / "hello-stream.yaml", tmp_path / "hello-stream.yaml")
    directory = load_directory(tmp_path, "fast", allow_repeats=False)
    recorded = directory.cassettes[0].interactions[0].request.json
    for source, good in ((Cycle([StreamScript().content("Hi")]), BODY), (directory, recorded)):
        with (
            FakeWriterServer(source=source) as server,
            httpx.Client(base_url=server.base_url, timeout=WAIT) as client,
        ):
            assert client.post("/v1/chat", json=good).status_code == 200
            assert client.post("/v1/chat", content=b"not json").status_code in (400, 500)
            assert client.post("/v1/completions", json={"model": "m", "prompt": "p"}).status_code == 500
            calls = client.get("/__writer/calls").json()["calls"]
            server.reset()
        got = [(c["path"], c["status"], c["answered"]) for c in calls]
        refused = 400 if isinstance(source, Cycle) else 500
        assert got == [
            ("/v1/chat", 200, True),
            ("/v1/chat", refused, False),
            ("/v1/completions", 500, False),
        ], source


def test_reset_on_serve_cassettes_plays_every_recording_again_and_forgets_each_cassettes_calls(
    tmp_path: Path,
) -> None:
    """POST /__writer/reset cleared the misses, but a played recording stayed played (a 500 after reset)."""
    shutil.copy(ROOT / "cassettes" / "hello-stream.yaml", tmp_path / "hello-stream.yaml")
    directory = load_directory(tmp_path, "fast", allow_repeats=False)
    (cassette,) = directory.cassettes
    recorded = cassette.interactions[0].request.json
    with (
        FakeWriterServer(source=directory) as server,
        httpx.Client(base_url=server.base_url, timeout=WAIT) as client,
    ):
        assert client.post("/v1/chat", json=recorded).status_code == 200
        assert client.post("/__writer/reset").json() == {"reset": True}
        assert (cassette.play_counts, cassette.calls) == ([0], [])
        assert client.post("/v1/chat", json=recorded).status_code == 200
        assert client.get("/__writer/verify").json()["ok"] is True


def test_the_cycle_refuses_a_bad_body_to_a_percent_encoded_chat_path_as_the_queue_does() -> None:
    """The Cycle re-derived the queue's "JSON-body endpoint" check on the raw path: /v1/%63hat got a 500."""
    from writer_stream_testkit.doubles.replies import ReplyQueue

    call = Call.create(method="POST", url="http://x/v1/%63hat", content=b"not json")
    queued = ReplyQueue().take(call)
    cycled = Cycle([StreamScript().content("Hi")]).take(call)
    assert (cycled.status, cycled.body()) == (queued.status, queued.body()) == (400, cycled.body())


def test_serve_script_routes_a_percent_encoded_path_as_both_doubles_do() -> None:
    """serve --script matched the raw path: /v1/%63hat got "No script answers", where the doubles stream."""
    cycle = Cycle([StreamScript().content("Hi")])
    plan = cycle.take(Call.create(method="POST", url="http://x/v1/%63hat", content=b'{"stream": true}'))
    assert plan.status == 200
    assert b'"Hi"' in plan.body()
    cycle.verify()


class _AskedCassette(Cassette):
    """A real cassette that notes each question the directory asks it."""

    def __init__(self, path: Path, asked: list[tuple[str, str, bool]], **kwargs: Any) -> None:
        super().__init__(path, **kwargs)
        self.asked = asked

    def can_play(self, call: Call, *, unplayed: bool = False) -> bool:
        answer = super().can_play(call, unplayed=unplayed)
        self.asked.append((self.path.name, "can_play", unplayed))
        return answer

    def play(self, call: Call) -> ResponsePlan:
        self.asked.append((self.path.name, "play", False))
        return super().play(call)


def test_serve_cassettes_asks_each_cassette_for_an_unplayed_recording_before_a_repeat(tmp_path: Path) -> None:
    """``CassetteDirectory.take`` asks ``can_play(call, unplayed=True)`` of every file, then ``can_play(call)``."""
    for name in ("a.yaml", "b.yaml"):
        shutil.copy(ROOT / "cassettes" / "hello-stream.yaml", tmp_path / name)
    asked: list[tuple[str, str, bool]] = []
    cassettes = [
        _AskedCassette(tmp_path / name, asked, allow_playback_repeats=True, timing="fast")
        for name in ("a.yaml", "b.yaml")
    ]
    directory = CassetteDirectory(tmp_path, cassettes, allow_repeats=True)
    recorded = cassettes[0].interactions[0].request.json
    call = Call.create(
        method="POST", url="https://api.writer.com/v1/chat", content=json.dumps(recorded).encode()
    )
    for _ in range(3):
        assert directory.take(call).status == 200
    assert asked == [
        ("a.yaml", "can_play", True),
        ("a.yaml", "play", False),
        ("a.yaml", "can_play", True),
        ("b.yaml", "can_play", True),
        ("b.yaml", "play", False),
        ("a.yaml", "can_play", True),
        ("b.yaml", "can_play", True),
        ("a.yaml", "can_play", False),
        ("a.yaml", "play", False),
    ]
    asked.clear()
    other = Call.create(method="POST", url="https://api.writer.com/v1/chat", content=b'{"other": 1}')
    assert directory.take(other).status == 500
    assert [(name, unplayed) for name, _, unplayed in asked] == [
        ("a.yaml", True),
        ("b.yaml", True),
        ("a.yaml", False),
        ("b.yaml", False),
    ]


def test_serve_script_hands_out_each_endpoints_scripts_in_their_own_turn() -> None:
    import httpx

    from writer_stream_testkit import CompletionScript
    from writer_stream_testkit.cli.serve import Cycle

    scripts = [StreamScript().content("A"), StreamScript().content("B"), CompletionScript().text("C")]
    chat = {"model": "palmyra-x5", "messages": [], "stream": False}
    answers = []
    with FakeWriterServer(source=Cycle(scripts)) as server, httpx.Client(base_url=server.base_url) as client:
        for path in ("/v1/chat", "/v1/completions", "/v1/chat", "/v1/chat"):
            body = chat if path == "/v1/chat" else {"model": "palmyra-x5", "prompt": "p", "stream": False}
            reply = client.post(path, json=body, timeout=5.0).json()
            answers.append(
                reply["choices"][0].get("message", {}).get("content") or reply["choices"][0].get("text")
            )
    assert answers == ["A", "C", "B", "A"]


# --- serve --cassettes end to end -----------------------------------------------------------------


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


# --- serve --script in a subprocess ---------------------------------------------------------------


class Serve:
    """``writer-stream-testkit serve`` in a subprocess, stopped with SIGTERM (or killed) at the end."""

    def __init__(self, *args: str) -> None:
        command = [
            sys.executable,
            "-W",
            "error",
            "-m",
            "writer_stream_testkit.cli",
            "serve",
            "--port",
            "0",
            *args,
        ]
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: lines.put(self.proc.stdout.readline()), daemon=True).start()  # type: ignore[union-attr]
        try:
            self.base_url = lines.get(timeout=30).strip()
        except queue.Empty:
            self.proc.kill()
            self.proc.communicate()
            raise AssertionError("writer-stream-testkit serve printed no base URL within 30 s") from None

    def stop(self) -> tuple[int, str]:
        self.proc.terminate()
        try:
            _, err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return self.proc.returncode, err


@pytest.fixture
def script_files(tmp_path: Path) -> tuple[Path, Path]:
    first = tmp_path / "first.yaml"
    second = tmp_path / "second.yaml"
    first.write_text(StreamScript().content("first").to_yaml(), encoding="utf-8")
    second.write_text(StreamScript().content("second").to_yaml(), encoding="utf-8")
    return first, second


def test_cli_serves_scripts_in_turn_forever(script_files: tuple[Path, Path]) -> None:
    serve = Serve("--script", *map(str, script_files))
    try:
        assert serve.base_url.startswith("http://127.0.0.1:")
        bodies = [post_chat(serve.base_url).content for _ in range(5)]
    finally:
        code, err = serve.stop()
    first, second = (StreamScript().content(word).sse() for word in ("first", "second"))
    assert bodies == [first, second, first, second, first]
    if os.name == "posix":
        assert code == 0, err
        assert "Stopped after 5 request(s)." in err


def test_cli_times_limits_the_rounds_then_answers_500(script_files: tuple[Path, Path]) -> None:
    serve = Serve("--script", str(script_files[0]), "--times", "2")
    try:
        statuses = [post_chat(serve.base_url).status_code for _ in range(3)]
    finally:
        code, err = serve.stop()
    assert statuses == [200, 200, 500]
    if os.name == "posix":
        assert code == 0, err


def test_cli_reports_a_busy_port_in_one_sentence(
    server: FakeWriterServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # In this process: the command stops before serving (the console script's own exit codes
    # are checked in tests/cli/test_shared.py).
    code, _, err = run_main(capsys, "serve", "--port", str(server.port))
    assert code == 1
    assert f"cannot listen on 127.0.0.1:{server.port}" in err
    assert "Traceback" not in err


def test_cli_without_scripts_answers_500_naming_the_request() -> None:
    serve = Serve()
    try:
        response = post_chat(serve.base_url)
    finally:
        serve.stop()
    assert response.status_code == 500
    assert "had no matching reply" in response.text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cassettes", "{empty_dir}"], "holds no *.yaml cassettes"),
        (["--script", "no-such-file.yaml"], "does not exist"),
        (["--times", "2"], "--times needs --script"),
    ],
)
def test_cli_rejects_options_it_cannot_honour(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [arg.replace("{empty_dir}", str(tmp_path)) for arg in args]
    code, out, err = run_main(capsys, "serve", "--port", "0", *args)
    assert code == 2
    assert message in err
    assert out == ""


def test_chaos_on_a_cassette_directory_faults_a_recording_without_using_it_up(tmp_path: Path) -> None:
    """A faulted attempt peeks at the recording; the retry that chaos lets through still replays it."""
    from writer_stream_testkit.resilience.chaos import Chaos

    shutil.copy(ROOT / "cassettes" / "hello-stream.yaml", tmp_path / "hello-stream.yaml")
    cassette = Cassette(tmp_path / "hello-stream.yaml", timing="fast")
    directory = CassetteDirectory(tmp_path, [cassette])
    recorded = cassette.interactions[0].request.json
    with FakeWriterServer(source=directory, chaos=Chaos({"truncate": 1.0}, seed=1)) as server:
        with httpx.Client(timeout=WAIT) as client:
            for _ in range(2):
                faulted = client.post(server.base_url + "/v1/chat", json=recorded)
                assert faulted.status_code == 200
                assert b"[DONE]" not in faulted.content  # truncated: the recording, cut short
            assert cassette.play_counts == [0]
            assert directory.peek(Call.create(method="POST", url=server.base_url + "/v1/other")) is None
            server.chaos = None
            whole = client.post(server.base_url + "/v1/chat", json=recorded)
        assert whole.status_code == 200
        assert whole.content.rstrip().endswith(b"data: [DONE]")
        assert cassette.play_counts == [1]
        directory.verify()  # no miss: peeking at a request nothing answers notes nothing either

"""Regressions from the cassette audit: host ownership, open streams at exit, framing, locks, loader edges."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import writerai
from chunks import compact_text_chunk
from hypothesis import given, settings
from hypothesis import strategies as st

from writer_stream_testkit.cassettes import cassette as cassette_module
from writer_stream_testkit.cassettes import files as files_module
from writer_stream_testkit.cassettes.cassette import Cassette
from writer_stream_testkit.cassettes.dump import dump_cassette
from writer_stream_testkit.cassettes.files import lock_path, save_cassette, update_cassette
from writer_stream_testkit.cassettes.framing import frame_stream
from writer_stream_testkit.cassettes.load import load_cassette, parse_cassette
from writer_stream_testkit.cassettes.model import (
    CassetteContent,
    Interaction,
    RecordedEvent,
    RecordedRequest,
    RecordedResponse,
)
from writer_stream_testkit.cassettes.recorder import Capture
from writer_stream_testkit.doubles.server import FakeWriterServer
from writer_stream_testkit.errors import (
    CassetteError,
    CassetteFormatError,
    CassetteMissError,
    CassetteRecordError,
)
from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.wire.sse import ServerSentEvent, SSEDecoder

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-audit-0000-1111"
MESSAGES = [{"role": "user", "content": "Say hello"}]
ELSEWHERE = "https://elsewhere.example.test"
URL = "https://api.writer.com/v1/chat"


posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX users, modes and symlinks")


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


# --- 1. hosts the cassette does not own ------------------------------------------------------------


def test_unowned_host_fails_at_once_without_retries_sync(tmp_path: Path) -> None:
    path = write_cassette(tmp_path / "c.yaml")
    cassette = Cassette(path)

    def run() -> None:
        with cassette:
            client = writerai.Writer(api_key=KEY, base_url=ELSEWHERE)  # default max_retries
            with pytest.raises(writerai.InternalServerError, match=r"base_url="):
                stream_text(client)

    started = time.monotonic()
    with pytest.raises(CassetteMissError) as failed:
        run()
    assert time.monotonic() - started < 10, "no retries: writerai backs off for about 30 s over 7 retries"
    assert len(cassette.calls) == 1  # one attempt: the SDK did not retry
    message = str(failed.value)
    assert message.startswith(f"Cassette {path} does not answer POST /v1/chat (model='palmyra-x5', ")
    assert f"sent to {ELSEWHERE}/v1/chat: it answers only the Writer API at https://api.writer.com" in message
    assert f"Cassette(..., base_url={ELSEWHERE!r})" in message


def test_unowned_host_fails_at_once_without_retries_async(tmp_path: Path) -> None:
    path = write_cassette(tmp_path / "c.yaml")
    cassette = Cassette(path)

    async def main() -> None:
        async with cassette:
            client = writerai.AsyncWriter(api_key=KEY, base_url=ELSEWHERE)
            with pytest.raises(writerai.InternalServerError):
                await astream_text(client)

    started = time.monotonic()
    with pytest.raises(CassetteMissError, match=r"Cassette\(\.\.\., base_url="):
        asyncio.run(main())
    assert time.monotonic() - started < 10, "no retries: writerai backs off for about 30 s over 7 retries"
    assert len(cassette.calls) == 1


@pytest.mark.parametrize("asynchronous", [False, True])
def test_writer_base_url_set_after_the_cassette_is_built_is_owned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, asynchronous: bool
) -> None:
    monkeypatch.delenv("WRITER_BASE_URL", raising=False)
    path = write_cassette(tmp_path / "c.yaml", url=f"{ELSEWHERE}/v1/chat")
    cassette = Cassette(path)  # built first, as the writer_cassette fixture builds it before the test body
    monkeypatch.setenv("WRITER_BASE_URL", ELSEWHERE)
    started = time.monotonic()
    if asynchronous:

        async def main() -> str:
            async with cassette:
                return await astream_text(writerai.AsyncWriter(api_key=KEY))

        assert asyncio.run(main()) == "Hello"
    else:
        with cassette:
            assert stream_text(writerai.Writer(api_key=KEY)) == "Hello"
    assert time.monotonic() - started < 10, "no retries: writerai backs off for about 30 s over 7 retries"
    assert cassette.play_counts == [1]


def test_loopback_servers_in_the_same_test_pass_through(tmp_path: Path) -> None:
    path = write_cassette(tmp_path / "c.yaml")
    with FakeWriterServer() as server, Cassette(path) as cassette:
        server.reply(StreamScript().content("from the loopback server").finish())
        loopback = writerai.Writer(api_key=KEY, base_url=server.base_url, max_retries=0)
        assert stream_text(loopback) == "from the loopback server"
        assert stream_text(writerai.Writer(api_key=KEY, max_retries=0)) == "Hello"
    server.verify()
    assert cassette.play_counts == [1]


def test_other_respx_routers_still_answer_hosts_the_cassette_does_not_own(tmp_path: Path) -> None:
    import respx

    path = write_cassette(tmp_path / "c.yaml")
    with Cassette(path), respx.mock(assert_all_called=True) as router:
        router.get(f"{ELSEWHERE}/status").respond(json={"ok": True})
        assert httpx.get(f"{ELSEWHERE}/status").json() == {"ok": True}
        assert stream_text(writerai.Writer(api_key=KEY, max_retries=0)) == "Hello"


# --- 2. a stream still open when the block ends -----------------------------------------------------


def test_stream_left_open_at_exit_is_not_saved_truncated(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    other = [{"role": "user", "content": "Say goodbye"}]
    with FakeWriterServer() as server:
        server.reply(StreamScript().content("Hello").finish())
        server.reply(StreamScript().content("Goodbye").finish())
        client = writerai.Writer(api_key=KEY, max_retries=0)
        opened: list[Any] = []

        def run() -> None:
            with Cassette(path, record_mode="once", upstream=server.base_url):
                assert stream_text(client) == "Hello"
                opened.append(client.chat.chat(model="palmyra-x5", messages=other, stream=True))  # type: ignore[arg-type]

        with pytest.raises(CassetteRecordError) as failed:
            run()
        late = "".join(c.choices[0].delta.content or "" for c in opened[0] if c.choices)
    assert late == "Goodbye"  # the client still reads its stream; only the recording is refused
    assert str(failed.value) == (
        f"Cassette {path} did not save the recording of POST /v1/chat (model='palmyra-x5', stream=True, "
        "1 message, last user: 'Say goodbye'): its stream was begun inside the `with Cassette(...)` block "
        "and was still open when the block ended, so only part of it had been recorded. Consume or close "
        "the stream inside the `with` block (read it to the end, or open it with `with "
        "client.chat.chat(..., stream=True) as stream:`); the cassette's other recordings were saved."
    )
    saved = load_cassette(path).interactions
    assert [i.request.json["messages"] for i in saved] == [MESSAGES]
    assert saved[0].response.complete
    assert saved[0].response.events


def test_save_refuses_an_open_stream_then_saves_it_once_it_ends(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    with FakeWriterServer() as server:
        server.reply(StreamScript().content("Hello").finish())
        cassette = Cassette(path, record_mode="once", upstream=server.base_url).start()
        try:
            stream = writerai.Writer(api_key=KEY, max_retries=0).chat.chat(
                model="palmyra-x5",
                messages=MESSAGES,  # type: ignore[arg-type]
                stream=True,
            )
            with pytest.raises(CassetteRecordError, match=r"was still open when the block ended"):
                cassette.save()
            assert not path.exists()
            assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Hello"
            cassette.save()
        finally:
            cassette.stop()
    (saved,) = load_cassette(path).interactions
    assert saved.response.complete
    assert saved.response.events


# --- 3. one SSE parser for framing and decoding -----------------------------------------------------


def test_crlf_block_with_several_fields_is_one_event_with_its_name() -> None:
    block = b'event: error\r\ndata: {"error":"overloaded"}\r\n\r\n'
    reads = [(block, 0.1), (b"data: [DONE]\r\n\r\n", 0.2)]
    events = frame_stream(reads)
    assert [(e.event, e.data) for e in events] == [("error", '{"error":"overloaded"}'), (None, "[DONE]")]
    assert events[0].raw == block
    assert RecordedResponse(status=200, events=events).reads() == reads


def test_a_retry_too_long_for_int_is_ignored_as_the_decoder_ignores_it(tmp_path: Path) -> None:
    block = b"retry: " + b"9" * 5000 + b"\ndata: x\n\n"
    (event,) = frame_stream([(block, 0.1)])
    assert (event.data, event.retry, event.raw) == ("x", None, block)
    response = RecordedResponse(status=200, headers=(("content-type", "text/event-stream"),), events=(event,))
    path = tmp_path / "c.yaml"
    save_cassette(path, CassetteContent((Interaction(RecordedRequest("POST", URL), response),)))
    assert load_cassette(path).interactions[0].response.reads() == [(block, 0.1)]


_FIELD_NAMES = st.sampled_from(["data", "event", "id", "retry", "dat", "Data", ""])
_VALUES = st.text(
    alphabet=st.sampled_from(["a", "é", "中", " ", ":", "0", "7", "\x00", "\ufeff", "\ufffd"]), max_size=6
) | st.sampled_from(["[DONE]", "123", "9" * 5000, "-1", "1.5"])
_LINES = st.one_of(
    st.builds(
        lambda name, sep, value: f"{name}{sep}{value}",
        _FIELD_NAMES,
        st.sampled_from([":", ": ", ""]),
        _VALUES,
    ),
    st.builds(lambda text: f":{text}", _VALUES),  # a comment
    st.just(""),  # a blank line: the end of a block
)


@st.composite
def sse_streams(draw: st.DrawFn) -> list[tuple[bytes, float]]:
    """Any SSE byte stream: random fields, comments, blank lines and line ends, split into random reads."""
    lines = draw(st.lists(st.tuples(_LINES, st.sampled_from(["\n", "\r", "\r\n"])), max_size=14))
    stream = "".join(line + end for line, end in lines).encode()
    if draw(st.booleans()):
        stream = "\ufeff".encode() + stream
    stream += draw(st.sampled_from([b"", b"data: cut", b"\xc3", b"id: 9\n", b"\r"]))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(stream) - 1)), max_size=6)))
    pieces = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    return [(piece, round(0.01 * (i + 1), 4)) for i, piece in enumerate(pieces) if piece]


def _as_decoded(events: tuple[RecordedEvent, ...]) -> list[ServerSentEvent]:
    """The events a client decodes from a recording: each block's id persists, as the spec says."""
    out: list[ServerSentEvent] = []
    last_id: str | None = None
    for event in events:
        if event.id is not None:
            last_id = event.id
        if event.data is not None:
            out.append(ServerSentEvent(event.data, event.event, last_id, event.retry))
    return out


@given(sse_streams())
@settings(max_examples=400, deadline=None)
def test_framing_any_sse_stream_keeps_its_bytes_and_the_decoders_events(
    reads: list[tuple[bytes, float]],
) -> None:
    events = frame_stream(reads)
    assert RecordedResponse(status=200, events=events).reads() == reads
    decoder = SSEDecoder()
    expected = [e for data, _ in reads for e in decoder.feed(data)]
    assert _as_decoded(events) == expected
    response = RecordedResponse(status=200, headers=(("content-type", "text/event-stream"),), events=events)
    text = dump_cassette(CassetteContent((Interaction(RecordedRequest("POST", URL), response),)))
    loaded = parse_cassette(text, source="mem.yaml").interactions[0].response
    assert loaded.reads() == reads
    assert _as_decoded(loaded.events or ()) == expected


# --- 4. the lock directory is per user and checked -------------------------------------------------


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temp directory of the test's own, standing in for the shared /tmp."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    tmp.chmod(0o1777)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    return tmp


def _lock_directory_name() -> str:
    return f"writer-stream-testkit-locks-{os.getuid()}"


@posix_only
def test_lock_directory_is_per_user(tmp_path: Path, private_tmp: Path) -> None:
    sidecar = lock_path(tmp_path / "c.yaml")
    assert sidecar.parent == private_tmp / _lock_directory_name()
    assert stat.S_IMODE(sidecar.parent.stat().st_mode) & 0o077 == 0


@posix_only
@pytest.mark.parametrize("planted", ["symlink", "file"])
def test_a_lock_directory_that_is_not_ours_is_refused_by_name(
    tmp_path: Path, private_tmp: Path, planted: str
) -> None:
    directory = private_tmp / _lock_directory_name()
    if planted == "symlink":
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        directory.symlink_to(elsewhere)
        problem = "a symbolic link, not a directory"
    else:
        directory.write_text("")
        problem = "not a directory"
    path = tmp_path / "c.yaml"
    with pytest.raises(CassetteError) as failed:
        save_recorded_file(path)
    assert str(failed.value) == (
        f"Cassette {path} cannot be locked for saving: its lock directory {directory} is {problem}. The temp "
        "directory is shared, so the lock directory must be a real directory owned by this user. Remove that "
        "path (it is recreated as needed) or set TMPDIR to a directory you own, and run again."
    )
    assert not path.exists()
    if planted == "symlink":
        assert list((tmp_path / "elsewhere").iterdir()) == []


@posix_only
@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="chown needs root")
def test_a_lock_directory_owned_by_another_user_is_refused(tmp_path: Path, private_tmp: Path) -> None:
    directory = private_tmp / _lock_directory_name()
    directory.mkdir(mode=0o700)
    os.chown(directory, 65534, 65534)
    with pytest.raises(CassetteError, match=r"is owned by user id 65534, not by this user \(user id 0\)\."):
        save_recorded_file(tmp_path / "c.yaml")


@posix_only
def test_a_symlink_planted_as_the_lock_file_is_not_followed(tmp_path: Path, private_tmp: Path) -> None:
    path = tmp_path / "c.yaml"
    sidecar = lock_path(path)
    victim = tmp_path / "victim"
    sidecar.symlink_to(victim)
    with pytest.raises(CassetteError) as failed:
        save_recorded_file(path)
    message = str(failed.value)
    assert message.startswith(
        f"Cassette {path} cannot be locked for saving: opening or locking its lock file {sidecar} failed (OSError: "
    )
    assert message.endswith(
        "Check that this user can create and write that file (it must not be a symbolic link), or set TMPDIR "
        "to a directory you own, and run again."
    )
    assert not victim.exists()


def test_an_os_error_while_locking_names_the_cassette_and_the_lock_file(
    tmp_path: Path, private_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_locks(handle: object) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(files_module, "_lock_file", no_locks)
    path = tmp_path / "c.yaml"
    with pytest.raises(CassetteError) as failed:
        save_recorded_file(path)
    assert str(failed.value).startswith(
        f"Cassette {path} cannot be locked for saving: opening or locking its lock file {lock_path(path)} "
        "failed (OSError: [Errno 37] No locks available). "
    )
    assert isinstance(failed.value.__cause__, OSError)


SECOND_USER = textwrap.dedent(
    """
    import os, sys, tempfile
    from writer_stream_testkit.cassettes.files import update_cassette
    from tests.cassettes.test_cassette_audit import one_interaction

    tempfile.tempdir = sys.argv[1]
    os.setgid(65534)
    os.setuid(65534)  # imports done as root; from here on, the second user
    update_cassette(sys.argv[2], lambda current: one_interaction())
    """
)


@posix_only
@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="becoming a second user needs root")
def test_a_second_user_can_save_after_the_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = Path(tempfile.mkdtemp(prefix="wst-audit-", dir="/tmp"))  # traversable by the second user
    try:
        shared.chmod(0o1777)
        tmp = shared / "tmp"
        tmp.mkdir()
        tmp.chmod(0o1777)
        theirs = shared / "theirs"
        theirs.mkdir()
        os.chown(theirs, 65534, 65534)
        monkeypatch.setattr(tempfile, "tempdir", str(tmp))
        save_recorded_file(tmp_path / "mine.yaml")  # this user's lock directory now exists, mode 0700
        second = subprocess.run(
            [sys.executable, "-c", SECOND_USER, str(tmp), str(theirs / "c.yaml")],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT / "tests" / "support")},  # what this module imports
            capture_output=True,
            timeout=60,
        )
        assert second.returncode == 0, second.stderr.decode()
        assert load_cassette(theirs / "c.yaml") == one_interaction()
        assert sorted(p.name for p in tmp.iterdir()) == [
            "writer-stream-testkit-locks-0",
            "writer-stream-testkit-locks-65534",
        ]
    finally:
        shutil.rmtree(shared)


# --- 5. loader, start and save edges --------------------------------------------------------------------

_HEAD = "version: 1\ninteractions:\n- request: {method: POST, url: u}\n"


@pytest.mark.parametrize(
    ("value", "shown"), [(".inf", "inf"), (".Inf", "inf"), (".nan", "nan"), (".NaN", "nan")]
)
@pytest.mark.parametrize(
    ("response", "where"),
    [
        ("{status: 200, t: VALUE, events: []}", "interactions[0].response.t"),
        ("{status: 200, events: [{t: VALUE, data: x}]}", "interactions[0].response.events[0].t"),
        ("{status: 200, events: [{t: VALUE, data: x, event: e}]}", "interactions[0].response.events[0].t"),
        ("{status: 200, body: abc, body_t: VALUE}", "interactions[0].response.body_t"),
        ("{status: 200, body: abc, body_cuts: [[1, VALUE]]}", "interactions[0].response.body_cuts[0][1]"),
    ],
)
def test_non_finite_times_are_refused_naming_the_file_and_the_place(
    value: str, shown: str, response: str, where: str
) -> None:
    text = _HEAD + "  response: " + response.replace("VALUE", value) + "\n"
    with pytest.raises(CassetteFormatError) as failed:
        parse_cassette(text, source="tests/cassettes/x.yaml")
    assert str(failed.value) == (
        f"Cassette tests/cassettes/x.yaml: {where} must be a finite number of seconds, not {shown}. "
        "Write the time as a plain number like 0.25."
    )


def test_an_integer_too_long_to_read_is_refused_at_its_place() -> None:
    text = _HEAD + "  response: {status: 200, events: [{t: 1, data: x, retry: " + "9" * 5000 + "}]}\n"
    with pytest.raises(CassetteFormatError) as failed:
        parse_cassette(text, source="tests/cassettes/x.yaml")
    assert str(failed.value) == (
        "Cassette tests/cassettes/x.yaml has the number 99999999999999999999... at line 4, column 59, which "
        "is too long to read; write a shorter number there, or record the cassette again."
    )


def test_starting_a_started_cassette_is_refused_and_leaves_no_router_behind(tmp_path: Path) -> None:
    from respx.mocks import HTTPXMocker

    path = write_cassette(tmp_path / "c.yaml")
    cassette = Cassette(path).start()
    try:
        with pytest.raises(CassetteError) as failed:
            cassette.start()
        with pytest.raises(CassetteError, match="is already started"), cassette:
            pass
    finally:
        cassette.stop()
    assert str(failed.value) == (
        f"Cassette {path} is already started, and a cassette intercepts requests once: start() or `with` was "
        "used on it again before stop(). Use one `with Cassette(...)` block (the writer_cassette fixture's "
        "cassette is already started, so do not enter it again), or call stop() before starting it again."
    )
    assert [r for r in HTTPXMocker.routers if isinstance(r, cassette_module._Router)] == []
    with cassette:  # stopped, it starts again as usual
        assert stream_text(writerai.Writer(api_key=KEY, max_retries=0)) == "Hello"


def _capture(content: str) -> Capture:
    body = json.dumps(
        {"messages": [{"role": "user", "content": content}], "model": "palmyra-x5", "stream": True}
    )
    return Capture(
        method="POST",
        url=URL,
        headers=(("content-type", "application/json"),),
        content=body.encode(),
        status=200,
        response_headers=(("content-type", "text/event-stream"),),
        reads=[(f"data: {compact_text_chunk(content)}\n\n".encode(), 0.01), (b"data: [DONE]\n\n", 0.02)],
        complete=True,
        done=True,
        responded=True,
    )


def test_a_capture_added_while_saving_is_kept_for_the_next_save(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.yaml"
    cassette = Cassette(path, record_mode="new_episodes")
    cassette._started(_capture("first"))
    late = _capture("late")
    real_save = cassette_module.save_recorded

    def save_then_another_thread_records(*args: Any, **kwargs: Any) -> None:
        real_save(*args, **kwargs)
        cassette._started(late)  # another thread's stream ends while this save runs

    monkeypatch.setattr(cassette_module, "save_recorded", save_then_another_thread_records)
    cassette.save()
    assert [i.request.json["messages"][0]["content"] for i in load_cassette(path).interactions] == ["first"]
    monkeypatch.setattr(cassette_module, "save_recorded", real_save)
    cassette.save()
    contents = [i.request.json["messages"][0]["content"] for i in load_cassette(path).interactions]
    assert contents == ["first", "late"]
    cassette.save()  # nothing new: the file is left as it is
    assert [i.request.json["messages"][0]["content"] for i in load_cassette(path).interactions] == contents

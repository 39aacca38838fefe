"""Cassette files on disk: atomic replacement, crash safety, and concurrent writers merging."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from recorded import one_interaction, save_recorded_file

from writer_stream_testkit.cassettes import files as files_module
from writer_stream_testkit.cassettes.files import lock_path, save_cassette, update_cassette
from writer_stream_testkit.cassettes.framing import frame_stream
from writer_stream_testkit.cassettes.load import load_cassette
from writer_stream_testkit.cassettes.model import (
    CassetteContent,
    Interaction,
    RecordedRequest,
    RecordedResponse,
)
from writer_stream_testkit.errors import CassetteError, CassetteFormatError

ROOT = Path(__file__).resolve().parents[2]
# A child process importing this module needs what it imports from tests/support/.
SUPPORT_ON_PATH = {**os.environ, "PYTHONPATH": str(ROOT / "tests" / "support")}


def content(*labels: str) -> CassetteContent:
    interactions = []
    for label in labels:
        request = RecordedRequest(method="POST", url="https://api.writer.com/v1/chat", json={"label": label})
        events = frame_stream(
            [(f'data: {{"label":"{label}"}}\n\n'.encode(), 0.1), (b"data: [DONE]\n\n", 0.2)]
        )
        interactions.append(Interaction(request, RecordedResponse(status=200, events=events)))
    return CassetteContent(tuple(interactions))


def test_save_then_load_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "c.yaml"
    save_cassette(path, content("a", "b"))
    assert load_cassette(path) == content("a", "b")
    assert [p.name for p in path.parent.iterdir()] == ["c.yaml"]  # no temp file left behind


def test_failed_replace_leaves_old_cassette_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.yaml"
    save_cassette(path, content("old"))
    before = path.read_bytes()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk on fire"):
        save_cassette(path, content("new"))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]


@contextlib.contextmanager
def saving_stuck_before_rename(path: Path, *labels: str) -> Iterator[subprocess.Popen[bytes]]:
    """Another process saving ``content(*labels)`` to ``path``, held just before its ``os.replace``.

    The block runs while the new file is fully written but not yet renamed; leaving it kills
    the process with SIGKILL, as a crash at that moment would.
    """
    ready = path.parent / "ready"
    script = textwrap.dedent(
        f"""
        import os, time
        from writer_stream_testkit.cassettes import files as cassette
        from tests.cassettes.test_files import content

        def stuck_replace(src, dst):
            open({str(ready)!r}, "w").close()
            time.sleep(60)

        os.replace = stuck_replace
        cassette.save_cassette({str(path)!r}, content(*{list(labels)!r}))
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=SUPPORT_ON_PATH)
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert child.poll() is None, "the writer exited before reaching os.replace"
            assert time.monotonic() < deadline, "the writer never reached os.replace"
            time.sleep(0.01)
        yield child
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        ready.unlink(missing_ok=True)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_process_killed_between_temp_write_and_rename_leaves_old_cassette(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    save_cassette(path, content("old"))
    before = path.read_bytes()
    with saving_stuck_before_rename(path, "new", "newer"):
        temp = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        assert len(temp) == 1  # the new cassette is fully written, just not renamed
        assert load_cassette_text(temp[0]) == content("new", "newer")
    assert path.read_bytes() == before
    assert load_cassette(path) == content("old")


def load_cassette_text(path: Path) -> CassetteContent:
    from writer_stream_testkit.cassettes.load import parse_cassette

    return parse_cassette(path.read_text("utf-8"), source=str(path))


def test_update_merges_under_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"

    def add(label: str):  # type: ignore[no-untyped-def]
        def change(current: CassetteContent | None) -> CassetteContent:
            old = current.interactions if current else ()
            return CassetteContent((*old, *content(label).interactions))

        return change

    update_cassette(path, add("a"))
    update_cassette(path, add("b"))
    assert load_cassette(path) == content("a", "b")
    assert lock_path(path).exists()
    assert update_cassette(path, lambda current: None) is None
    assert load_cassette(path) == content("a", "b")


WRITER = textwrap.dedent(
    """
    import sys, time, writerai
    from writer_stream_testkit import Cassette
    from writer_stream_testkit import StreamScript
    from writer_stream_testkit import FakeWriterServer

    path, label, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
    with FakeWriterServer() as server:
        server.reply(StreamScript().content("from ", label).finish(), times=2)
        with Cassette(path, record_mode="new_episodes", upstream=server.base_url):
            client = writerai.Writer(api_key="sk-test-concurrent-0000")
            for turn in range(2):
                messages = [{"role": "user", "content": f"{label} turn {turn}"}]
                for _ in client.chat.chat(model="palmyra-x5", messages=messages, stream=True):
                    pass
            while time.time() < start:  # line the writers up so their saves overlap
                time.sleep(0.001)
    """
)


def test_concurrent_writers_merge_into_one_valid_cassette(tmp_path: Path) -> None:
    path = tmp_path / "shared.yaml"
    save_cassette(path, content("existing"))
    labels = [f"w{i}" for i in range(4)]
    start = time.time() + 3.0
    children = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), label, str(start)], cwd=ROOT, stderr=subprocess.PIPE
        )
        for label in labels
    ]
    for child in children:
        _, err = child.communicate(timeout=120)
        assert child.returncode == 0, err.decode()
    loaded = load_cassette(path)
    bodies = [i.request.json for i in loaded.interactions]
    assert bodies[0] == {"label": "existing"}
    contents = sorted(b["messages"][0]["content"] for b in bodies[1:])
    assert contents == sorted(f"{label} turn {turn}" for label in labels for turn in range(2))
    # each writer's two turns stay together and in order
    for label in labels:
        mine = [
            b["messages"][0]["content"] for b in bodies[1:] if b["messages"][0]["content"].startswith(label)
        ]
        assert mine == [f"{label} turn 0", f"{label} turn 1"]
    assert all(
        json.loads(i.response.events[0].data)["object"] == "chat.completion.chunk"
        for i in loaded.interactions[1:]
    )


def test_missing_and_non_utf8_files_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(CassetteError, match=r"does not exist\. Record it with record_mode='once'"):
        load_cassette(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"version: 1\n\xff\n")
    with pytest.raises(CassetteFormatError, match=r"bad\.yaml is not UTF-8 text \(byte 11"):
        load_cassette(bad)


def test_a_yaml_syntax_error_names_the_file_at_the_place(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\ninteractions:\n- request: {method: POST, url: 'u}\n")
    with pytest.raises(CassetteFormatError) as info:
        load_cassette(broken)
    message = str(info.value)
    assert message.startswith(f"Cassette {broken} is not valid YAML: ")
    assert f"at {broken}, line 3, column " in message
    assert "<unicode string>" not in message
    assert message.endswith("Fix the syntax at that place, or delete the file and record it again.")


@pytest.mark.parametrize(
    "name", ["hello-stream.yaml", "tool-call.yaml", "cut-stream.yaml", "rate-limited-then-ok.yaml"]
)
def test_example_cassettes_load_and_say_they_are_generated(name: str) -> None:
    path = ROOT / "cassettes" / name
    loaded = load_cassette(path)
    assert "StreamScript" in loaded.meta["generated_by"]
    assert loaded.interactions
    assert b"sk-example" not in path.read_bytes()


# --- symlinks, permissions, and what a killed save leaves behind ------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_a_symlinked_cassette_is_saved_into_its_target(tmp_path: Path) -> None:
    shared = tmp_path / "shared" / "c.yaml"
    save_cassette(shared, content("old"))
    link = tmp_path / "tests" / "c.yaml"
    link.parent.mkdir()
    link.symlink_to(shared)
    update_cassette(
        link, lambda now: CassetteContent((*(now or content()).interactions, *content("new").interactions))
    )
    assert link.is_symlink()  # still a link, not replaced by a regular file
    assert load_cassette(shared) == content("old", "new")
    assert lock_path(link) == lock_path(shared)  # one lock, whichever name a writer uses
    assert sorted(p.name for p in link.parent.iterdir()) == ["c.yaml"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_a_dangling_symlink_cassette_creates_its_target(tmp_path: Path) -> None:
    target = tmp_path / "shared" / "c.yaml"
    link = tmp_path / "c.yaml"
    link.symlink_to(target)
    save_cassette(link, content("a"))
    assert link.is_symlink()
    assert load_cassette(target) == content("a")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_cassette_honours_the_umask(tmp_path: Path, umask: int, mode: int) -> None:
    previous = os.umask(umask)
    try:
        save_cassette(tmp_path / "c.yaml", content("a"))
    finally:
        os.umask(previous)
    assert (tmp_path / "c.yaml").stat().st_mode & 0o777 == mode


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_a_rewritten_cassette_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    save_cassette(path, content("a"))
    path.chmod(0o640)
    save_cassette(path, content("b"))
    assert path.stat().st_mode & 0o777 == 0o640


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_a_later_save_clears_the_temp_file_a_killed_save_left(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    with saving_stuck_before_rename(path, "big") as child:
        pass
    left = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(left) == 1
    # Another process's temp file that is still being written, and a file that only looks alike.
    alive = tmp_path / left[0].replace(f"-{child.pid}.", f"-{os.getpid()}.")
    assert alive.name != left[0]  # temp files name the process writing them
    alive.write_bytes(b"in progress")
    lookalike = tmp_path / ".c.yaml.notours.tmp"
    lookalike.write_bytes(b"someone else's")
    save_cassette(path, content("new"))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([lookalike.name, alive.name, "c.yaml"])


posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX users, modes and symlinks")


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
    from recorded import one_interaction

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
            env=SUPPORT_ON_PATH,
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

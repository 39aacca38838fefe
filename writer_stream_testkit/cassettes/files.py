"""Cassette files: atomic writes and an inter-process lock, so concurrent writers merge."""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import os
import re
import secrets
import socket
import stat
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Final

from ..errors import CassetteError
from .dump import dump_cassette
from .load import load_cassette
from .model import CassetteContent

# --- files: atomic writes, an inter-process lock -------------------------------------------------


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":
        return  # Windows cannot open a directory; os.replace there is already durable enough
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` with ``data`` so a reader sees the old file or the new one, never half.

    Temp file in the same directory, flushed and fsynced, ``os.replace`` over the
    target, then the directory fsynced so the rename itself survives a crash. A
    symlinked ``path`` is followed, so the file it points to gets the data and the
    link stays. A new file gets the mode the umask allows (as ``open`` would give
    it), a replaced one keeps its own. Temp files that saves killed on this machine
    left beside the target are removed first.
    """
    target = resolved(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    _clear_stale_temp_files(target)
    tmp, fd = _create_temp(target)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, target.stat().st_mode & 0o7777)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(target.parent)


def resolved(path: str | os.PathLike[str]) -> Path:
    """``path`` absolute with every symlink followed: the file a save really writes (and locks)."""
    return Path(os.path.realpath(os.fspath(path)))


_HOST_TAG: Final = hashlib.sha256(socket.gethostname().encode("utf-8", "surrogateescape")).hexdigest()[:8]
"""This machine, in temp file names: a process id means nothing on another host sharing the directory."""


def _temp_prefix(target: Path) -> str:
    return f".{target.name}.{_HOST_TAG}-"


def _create_temp(target: Path) -> tuple[Path, int]:
    """A new temp file beside ``target`` named for this process, created with mode 0o666 less the umask."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_BINARY", 0)
    while True:
        tmp = target.parent / f"{_temp_prefix(target)}{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            return tmp, os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue


def _clear_stale_temp_files(target: Path) -> None:
    """Remove the temp files of saves of ``target`` whose process (on this machine) is gone.

    A process killed between writing its temp file and renaming it leaves the file
    behind; nothing else would ever remove it. Another process's save in progress
    is left alone: its process is alive. POSIX only (Windows has no cheap check).
    """
    if os.name != "posix":
        return
    prefix = _temp_prefix(target)
    try:
        names = [n for n in os.listdir(target.parent) if n.startswith(prefix) and n.endswith(".tmp")]
    except OSError:
        return
    for name in names:
        pid, _, rest = name[len(prefix) : -len(".tmp")].partition(".")
        if not pid.isdigit() or not rest or _alive(int(pid)):
            continue
        with contextlib.suppress(OSError):
            os.unlink(target.parent / name)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but belongs to someone else (EPERM)
        return True
    return True


def lock_path(path: str | os.PathLike[str]) -> Path:
    """The file locked while a cassette is read, merged and rewritten.

    It lives in a directory of the temp directory private to this user, keyed by
    the cassette's absolute path with symlinks followed (two names of one file share one lock), so no lock files appear beside cassettes (where
    they would get committed) and none is ever deleted while another process may
    be waiting on it. Every process of one user on one machine (pytest-xdist
    workers included) agrees on the same file; other users get their own
    directory, so one user's locks never block another's saves.
    """
    sidecar = _lock_name(path)
    with contextlib.suppress(FileExistsError):  # whatever is there, the check below looks at it
        os.mkdir(sidecar.parent, 0o700)
    _check_lock_directory(sidecar.parent, os.fspath(resolved(path)))
    return sidecar


def _lock_name(path: str | os.PathLike[str]) -> Path:
    digest = hashlib.sha256(os.fspath(resolved(path)).encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return Path(tempfile.gettempdir()) / f"writer-stream-testkit-locks-{_user_tag()}" / f"{digest}.lock"


def _user_tag() -> str:
    """This user, for the lock directory's name: the numeric user id, else the user name."""
    getuid = getattr(os, "getuid", None)
    if getuid is not None:
        return str(getuid())
    try:
        name = getpass.getuser()
    except Exception:  # getpass raises OSError, or KeyError before Python 3.13, when it finds no name
        name = "user"
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "user"


def _check_lock_directory(directory: Path, cassette: str) -> None:
    """Refuse a lock directory that is a symlink, not a directory, or someone else's.

    The temp directory is shared: another user could have put a link or a
    directory of their own at the name, to read or block our locks.
    """
    info = os.lstat(directory)
    problem = None
    if stat.S_ISLNK(info.st_mode):
        problem = "a symbolic link, not a directory"
    elif not stat.S_ISDIR(info.st_mode):
        problem = "not a directory"
    elif hasattr(os, "getuid") and info.st_uid != os.getuid():
        problem = f"owned by user id {info.st_uid}, not by this user (user id {os.getuid()})"
    if problem is not None:
        raise CassetteError(
            f"Cassette {cassette} cannot be locked for saving: its lock directory {directory} is {problem}. "
            "The temp directory is shared, so the lock directory must be a real directory owned by this "
            "user. Remove that path (it is recreated as needed) or set TMPDIR to a directory you own, and "
            "run again."
        )


_NOFOLLOW: Final = getattr(os, "O_NOFOLLOW", 0)


@contextlib.contextmanager
def locked(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive inter-process lock on ``path``'s sidecar lock file.

    Threads of one process also exclude each other, since POSIX record locks
    do not. The lock file is left in place: deleting it would let two
    processes lock different files of the same name. It is opened without
    following a symlink (where the platform allows), so a link planted in its
    place fails instead of locking, or creating, some other file.
    """
    with _THREAD_LOCK:
        try:
            sidecar = lock_path(path)
            fd = os.open(sidecar, os.O_RDWR | os.O_CREAT | _NOFOLLOW | getattr(os, "O_BINARY", 0), 0o600)
            handle = os.fdopen(fd, "r+b")
        except OSError as error:
            raise _lock_error(path, error) from error
        with handle:
            try:
                _lock_file(handle)
            except OSError as error:
                raise _lock_error(path, error) from error
            try:
                yield
            finally:
                _unlock_file(handle)


def _lock_error(path: str | os.PathLike[str], error: OSError) -> CassetteError:
    return CassetteError(
        f"Cassette {os.path.abspath(os.fspath(path))} cannot be locked for saving: opening or locking its "
        f"lock file {_lock_name(path)} failed ({type(error).__name__}: {error}). Check that this user can "
        "create and write that file (it must not be a symbolic link), or set TMPDIR to a directory you "
        "own, and run again."
    )


_THREAD_LOCK = threading.RLock()

if sys.platform == "win32":  # pragma: no cover - exercised on Windows CI only
    import msvcrt

    def _lock_file(handle: IO[bytes]) -> None:
        handle.seek(0)
        while True:
            try:
                msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
                return
            except OSError:
                continue

    def _unlock_file(handle: IO[bytes]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock_file(handle: IO[bytes]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)

    def _unlock_file(handle: IO[bytes]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def save_cassette(path: str | os.PathLike[str], content: CassetteContent) -> None:
    """Write ``content`` to ``path`` atomically (no lock: see :func:`update_cassette`)."""
    write_atomic(path, dump_cassette(content).encode("utf-8"))


def update_cassette(
    path: str | os.PathLike[str],
    change: Callable[[CassetteContent | None], CassetteContent | None],
    *,
    read: bool = True,
) -> CassetteContent | None:
    """Read, change and rewrite a cassette under its lock, so concurrent writers merge, not clobber.

    ``change`` gets the file as it is now (``None`` if absent, or if ``read`` is
    false because the new content does not depend on it) and returns what to
    write, or ``None`` to leave the file alone.
    """
    with locked(path):
        current = load_cassette(path) if read and Path(path).exists() else None
        new = change(current)
        if new is not None:
            save_cassette(path, new)
        return new

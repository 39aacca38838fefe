"""What every command shares: the commands' names, the usage error, option checks, and running a server until a stop signal.

It imports only what ``--help`` needs; the cassette reader and the server are
imported where a command uses them, so the command line starts fast.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from ..errors import CassetteError, CassetteRecordError

if TYPE_CHECKING:
    from ..cassettes.cassette import Cassette
    from ..cassettes.model import CassetteContent
    from ..doubles.server import FakeWriterServer

__all__ = [
    "COMMANDS",
    "PROG",
    "SERVE_HISTORY",
    "UsageError",
    "check_port",
    "check_upstream",
    "load_cassette",
    "not_a_file",
    "finish",
    "read_cassette",
    "run_until_stopped",
    "stop_signals",
]

PROG = "writer-stream-testkit"

COMMANDS: dict[str, str] = {
    "serve": "run a fake Writer API on a local port",
    "record": "record any client's Writer traffic into a cassette, through a local proxy",
    "show": "print a cassette as a readable transcript",
    "convert": "import a vcrpy cassette whose responses are SSE streams",
    "verify": "re-send recorded requests and report where the live stream drifted",
    "docs": "print one of the kit's documents (they ship in the package)",
}
"""Each command (a module of this wing by that name) and its line in ``--help``, in the order listed there."""
SERVE_HISTORY = 1000
"""How many requests ``serve`` and ``record`` remember: a server that runs for days must not grow."""


class UsageError(Exception):
    """Options that parse but cannot be honoured; reported like an argparse error."""


def check_upstream(url: str) -> str:
    from ..cassettes.modes import check_upstream as check_upstream_url

    try:
        return check_upstream_url(url, option=f"--upstream {url}").rstrip("/")
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def check_port(port: int) -> int:
    """A port to listen on, or the usage error: the socket's own complaint is a traceback."""
    if not 0 <= port <= 65535:
        raise UsageError(
            f"--port {port} is not a port; pass a number from 1 to 65535, or 0 for any free one."
        )
    return port


def not_a_file(path: Path, what: str) -> str | None:
    """Why ``path`` cannot be read or written as ``what`` (a directory, say), or ``None`` when it can."""
    if path.is_dir():
        return f"{what} {path} is a directory, not a file; pass the path of one *.yaml file in it" + (
            f" (serve a whole directory with `{PROG} serve --cassettes {path}`)."
            if what == "Cassette"
            else "."
        )
    if path.exists() and not path.is_file():
        return f"{what} {path} is not a regular file; pass the path of a *.yaml file."
    return None


def load_cassette(path: Path) -> CassetteContent:
    """The cassette in ``path``; its reader (and YAML) is imported here, on first use, not by ``--help``."""
    from ..cassettes.load import load_cassette as load

    return load(path)


def read_cassette(path: Path) -> CassetteContent:
    if not path.exists():
        raise UsageError(
            f"Cassette {path} does not exist. Check the path, or record it first with "
            f"`{PROG} record --upstream URL --cassette {path}`."
        )
    problem = not_a_file(path, "Cassette")
    if problem:
        raise UsageError(problem)
    try:
        return load_cassette(path)
    except CassetteError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(
            f"Cassette {path} cannot be read ({exc.strerror or exc}); check its permissions."
        ) from None


def run_until_stopped(
    server: FakeWriterServer,
    command: str,
    banner: Callable[[str], str],
    *,
    cassette: Cassette | None = None,
) -> int:
    """Serve until a stop signal (the URL alone on stdout's first line), then report as :func:`finish`.

    ``banner`` makes the sentence for stderr from the URL: a function, not a
    template, since paths and script endpoints may hold braces of their own.
    """
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    try:
        server.start()  # not `with`: a long-running server has no test for verify() to fail
    except OSError as exc:
        print(
            f"{PROG} {command}: error: cannot listen on {server.host}:{server.port} ({exc.strerror or exc}); "
            "pick another --port, or --port 0 for any free one.",
            file=sys.stderr,
        )
        return 1
    previous = {sig: signal.signal(sig, on_signal) for sig in stop_signals()}
    try:
        print(server.base_url, flush=True)
        print(banner(server.base_url) + " Press Ctrl-C to stop.", file=sys.stderr, flush=True)
        stop.wait()
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(f"Stopped after {server.replies.received} request(s).", file=sys.stderr, flush=True)
    return finish(server, command, cassette)


def finish(server: FakeWriterServer, command: str, cassette: Cassette | None = None) -> int:
    """Report on stderr what went wrong while serving; 1 when the run failed, else 0.

    A crash while answering, and (``record``) a request that could not be
    recorded, fail the run. Requests that found no reply are reported but do not:
    each client already got a 500 saying why.
    """
    code = 0
    try:
        server.verify()
    except RuntimeError as exc:
        print(f"{PROG} {command}: error: the server failed while answering:\n{exc}", file=sys.stderr)
        return 1
    except AssertionError as exc:
        if cassette is not None:
            try:
                cassette.verify()
            except CassetteRecordError:
                code = 1
        if code:
            print(
                f"{PROG} {command}: error: recording failed, so the cassette is incomplete:\n\n{exc}",
                file=sys.stderr,
            )
        else:
            print(f"{PROG} {command}: {exc}", file=sys.stderr)
    return code


def stop_signals() -> list[signal.Signals]:
    names = ("SIGINT", "SIGTERM", "SIGBREAK")
    return [getattr(signal, name) for name in names if hasattr(signal, name)]

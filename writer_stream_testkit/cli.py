"""``writer-stream-testkit``: the kit's command line, one subcommand per job.

Only ``serve`` exists so far; ``record``, ``show``, ``convert`` and ``verify`` are
added as further subparsers, each with a ``_cmd_<name>(args) -> int`` function.
"""

from __future__ import annotations

import argparse
import itertools
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from ._replies import Call
from .plan import ResponsePlan
from .server import FakeWriterServer

if TYPE_CHECKING:
    from .script import StreamScript

__all__ = ["build_parser", "main"]

_PROG = "writer-stream-testkit"


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, so tests and docs can inspect it without running anything."""
    parser = argparse.ArgumentParser(
        prog=_PROG,
        description="Test doubles, fault injection and cassettes for code that streams from the Writer chat API.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = commands.add_parser(
        "serve",
        help="run a fake Writer chat API on a local port",
        description=(
            "Serve POST /v1/chat on a local port until Ctrl-C. The base URL is printed alone on "
            "the first line of stdout, for scripts to read; point any Writer SDK at it."
        ),
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    serve.add_argument(
        "--port", type=int, default=8000, help="port to bind; 0 picks a free one (default: %(default)s)"
    )
    source = serve.add_mutually_exclusive_group()
    source.add_argument(
        "--script",
        dest="scripts",
        metavar="FILE.yaml",
        type=Path,
        nargs="+",
        default=[],
        help="StreamScript YAML files; requests get them in turn, cycling",
    )
    source.add_argument(
        "--cassettes", metavar="DIR", type=Path, help="replay the cassettes in this directory"
    )
    serve.add_argument(
        "--times",
        type=int,
        metavar="N",
        help="serve the scripts N rounds, then answer 500 (default: cycle forever)",
    )
    serve.set_defaults(handler=_cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``writer-stream-testkit`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except _UsageError as exc:
        parser.exit(2, f"{parser.prog} {args.command}: error: {exc}\n")
    return code


class _UsageError(Exception):
    """Options that parse but cannot be honoured; reported like an argparse error."""


# --- serve ----------------------------------------------------------------------------------------


class _Cycle:
    """A reply source that answers every request, handing out the scripts in turn forever."""

    def __init__(self, scripts: Sequence[StreamScript]) -> None:
        self._lock = threading.Lock()
        self._next: Iterator[StreamScript] = itertools.cycle(scripts)

    def take(self, call: Call) -> ResponsePlan:
        with self._lock:
            script = next(self._next)
        return script.plan(call)


def _cmd_serve(args: argparse.Namespace) -> int:
    if args.cassettes is not None:
        raise _UsageError("--cassettes is not supported yet; serve scripts with --script FILE.yaml instead.")
    if args.times is not None and (args.times < 1 or not args.scripts):
        raise _UsageError("--times needs --script and a whole number of at least 1.")
    scripts = [_load_script(path) for path in args.scripts]
    server = FakeWriterServer(
        host=args.host,
        port=args.port,
        source=_Cycle(scripts) if scripts and args.times is None else None,
    )
    for _ in range(args.times or 0):
        for script in scripts:
            server.reply(script)

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    try:
        server.start()  # not `with`: a long-running server has no test for verify() to fail
    except OSError as exc:
        print(
            f"{_PROG} serve: error: cannot listen on {args.host}:{args.port} ({exc.strerror or exc}); "
            "pick another --port, or --port 0 for any free one.",
            file=sys.stderr,
        )
        return 1
    previous = {sig: signal.signal(sig, on_signal) for sig in _stop_signals()}
    try:
        print(server.base_url, flush=True)
        what = f"{len(scripts)} script(s)" if scripts else "no replies (every request gets a 500)"
        print(
            f"Serving POST /v1/chat at {server.base_url} with {what}. Press Ctrl-C to stop.",
            file=sys.stderr,
            flush=True,
        )
        stop.wait()
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(f"Stopped after {len(server.calls)} request(s).", file=sys.stderr, flush=True)
    return 0


def _stop_signals() -> list[signal.Signals]:
    names = ("SIGINT", "SIGTERM", "SIGBREAK")
    return [getattr(signal, name) for name in names if hasattr(signal, name)]


def _load_script(path: Path) -> StreamScript:
    from .errors import ScriptError
    from .script import StreamScript

    if not path.is_file():
        raise _UsageError(f"Script file {path} does not exist; pass the path of a StreamScript YAML file.")
    try:
        return StreamScript.from_yaml(path)
    except ScriptError as exc:
        raise _UsageError(f"Script file {path} is not a valid StreamScript: {exc}") from None


if __name__ == "__main__":
    sys.exit(main())

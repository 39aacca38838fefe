"""``writer-stream-testkit``: the kit's command line, one module per subcommand.

``serve`` (scripts or a directory of cassettes over a socket), ``record`` (a
recording proxy), ``show`` (a cassette as a transcript), ``convert`` (vcrpy
cassettes into ours), ``verify`` (has the upstream drifted from a recording?)
and ``docs`` (the documents shipped in the package). Each module adds its
subparser (``add_parser``) with a ``run(args) -> int``; what they print and
decide lives in ``cassettes/tools.py``, so this wing only moves bytes. Exit
codes: 0 fine, 1 a finding (``verify`` drift, a port in use), 2 a usage error.

A run imports only the command it runs: the others appear in ``--help`` by the
name and line ``_shared.COMMANDS`` gives them, and each command module imports
the server, the cassettes or httpx only inside ``run``. So ``--help`` and a
usage error cost little more than Python's start, and the test suite, which
starts the command line in a hundred subprocesses, does not pay for the whole
kit in each.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Iterable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING

from .._docs import docs_directory
from ._shared import COMMANDS, PROG, SERVE_HISTORY, UsageError

__all__ = ["SERVE_HISTORY", "build_parser", "command_module", "docs_directory", "main"]


def command_module(name: str) -> ModuleType:
    """The module of the command ``name`` (one of ``COMMANDS``), imported on first use.

    Each import is spelled out, not built from the name, so tests/test_architecture.py
    sees this wing's imports as it sees every other.
    """
    if name == "serve":
        from . import serve

        return serve
    if name == "record":
        from . import record

        return record
    if name == "show":
        from . import show

        return show
    if name == "convert":
        from . import convert

        return convert
    if name == "verify":
        from . import verify

        return verify
    if name == "docs":
        from . import docs

        return docs
    raise LookupError(f"{PROG} has no command {name!r}; its commands are {', '.join(COMMANDS)}.")


def build_parser(commands: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """The command line, so tests and docs can inspect it without running anything.

    ``commands`` are the commands whose options are added (default: all of them);
    the others are listed by name and summary only, so ``main`` imports just the
    command it runs.
    """
    full = set(COMMANDS if commands is None else commands)
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Test doubles, fault injection and cassettes for code that calls the Writer API, streaming or not.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, summary in COMMANDS.items():
        if name in full:
            command_module(name).add_parser(subparsers)
        else:
            subparsers.add_parser(name, help=summary)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``writer-stream-testkit`` console script."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    # The command is the first word that is not an option (the top level has none but -h).
    chosen = next((word for word in arguments if not word.startswith("-")), None)
    parser = build_parser([chosen] if chosen in COMMANDS else [])
    args = parser.parse_args(arguments)
    try:
        code: int = args.handler(args)
    except UsageError as exc:
        parser.exit(2, f"{parser.prog} {args.command}: error: {exc}\n")
    return code


if not TYPE_CHECKING:  # type checkers see each command module through its own import

    def __getattr__(name: str) -> ModuleType:
        """``cli.serve`` and the like, imported on first use (PEP 562).

        ``importlib``, not :func:`command_module`: its ``from . import serve`` asks
        this very function whether the package has ``serve`` yet.
        """
        if name in COMMANDS:
            return importlib.import_module(f"{__name__}.{name}")
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

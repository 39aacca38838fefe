"""``writer-stream-testkit``: the kit's command line, one module per subcommand.

``serve`` (scripts or a directory of cassettes over a socket), ``record`` (a
recording proxy), ``show`` (a cassette as a transcript), ``convert`` (vcrpy
cassettes into ours), ``verify`` (has the upstream drifted from a recording?)
and ``docs`` (the documents shipped in the package). Each module adds its
subparser (``add_parser``) with a ``run(args) -> int``; what they print and
decide lives in ``cassettes/tools.py``, so this wing only moves bytes. Exit
codes: 0 fine, 1 a finding (``verify`` drift, a port in use), 2 a usage error.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from . import convert, docs, record, serve, show, verify
from ._shared import PROG, SERVE_HISTORY, UsageError
from .docs import docs_directory

__all__ = ["SERVE_HISTORY", "build_parser", "docs_directory", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, so tests and docs can inspect it without running anything."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Test doubles, fault injection and cassettes for code that calls the Writer API, streaming or not.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in (serve, record, show, convert, verify, docs):
        command.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``writer-stream-testkit`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except UsageError as exc:
        parser.exit(2, f"{parser.prog} {args.command}: error: {exc}\n")
    return code

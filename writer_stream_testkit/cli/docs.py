"""``docs``: print one of the documents that ship in the package, the README included."""

from __future__ import annotations

import argparse
import sys

from .._docs import docs_directory, documents, find_document
from ._shared import COMMANDS, UsageError

__all__ = ["add_parser", "docs_directory", "run"]


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    docs = commands.add_parser(
        "docs",
        help=COMMANDS["docs"],
        description="Print a document that ships with the package; with no NAME, list them.",
    )
    docs.add_argument("name", nargs="?", metavar="NAME", help="a document, e.g. README, cassettes or scripts")
    docs.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.name is None:
        print(f"Documents ({docs_directory()}):")
        for name in documents():
            print(f"  writer-stream-testkit docs {name}")
        return 0
    try:
        path = find_document(args.name)
    except LookupError as error:
        raise UsageError(str(error)) from None
    sys.stdout.write(path.read_text(encoding="utf-8"))
    return 0

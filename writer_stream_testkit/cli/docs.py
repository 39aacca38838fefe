"""``docs``: print one of the documents that ship in the package."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._shared import UsageError

__all__ = ["add_parser", "docs_directory", "run"]


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    docs = commands.add_parser(
        "docs",
        help="print one of the kit's documents (they ship in the package)",
        description="Print a document that ships with the package; with no NAME, list them.",
    )
    docs.add_argument("name", nargs="?", metavar="NAME", help="a document, e.g. cassettes or scripts")
    docs.set_defaults(handler=run)


def docs_directory() -> Path:
    """The kit's documents: inside the package when installed from a wheel, else the checkout's docs/."""
    here = Path(__file__).resolve().parent.parent
    shipped = here / "docs"
    return shipped if shipped.is_dir() else here.parent / "docs"


def run(args: argparse.Namespace) -> int:
    directory = docs_directory()
    available = sorted(p.stem for p in directory.glob("*.md"))
    if args.name is None:
        print(f"Documents ({directory}):")
        for name in available:
            print(f"  writer-stream-testkit docs {name}")
        return 0
    wanted = args.name.removesuffix(".md")
    match = next((name for name in available if name.lower() == wanted.lower()), None)
    if match is None:
        raise UsageError(
            f"There is no document called {args.name!r}; choose one of {', '.join(available)} "
            "(`writer-stream-testkit docs` lists them)."
        )
    sys.stdout.write((directory / f"{match}.md").read_text(encoding="utf-8"))
    return 0

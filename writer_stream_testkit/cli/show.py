"""``show``: a cassette as a readable transcript."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..cassettes.tools import render_cassette_text
from ._shared import read_cassette

__all__ = ["add_parser", "run"]


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    show = commands.add_parser(
        "show",
        help="print a cassette as a readable transcript",
        description=(
            "Print each recorded interaction: the request line, model and last user message, the "
            "status, then every event with its time offset (chat chunks decoded into the SDK's stream "
            "events; completions, KG question and application chunks as their text and fields, then "
            "what the stream adds up to), incomplete streams marked, plain bodies shown briefly."
        ),
    )
    show.add_argument("file", metavar="FILE", type=Path, help="the cassette to show")
    show.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    content = read_cassette(args.file)
    sys.stdout.write(render_cassette_text(content, source=str(args.file)))
    return 0

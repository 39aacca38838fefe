"""``convert``: a vcrpy cassette whose responses are SSE streams, into this kit's format."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import CassetteError
from ._shared import COMMANDS, UsageError, not_a_file

__all__ = ["add_parser", "run"]


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    convert = commands.add_parser(
        "convert",
        help=COMMANDS["convert"],
        description=(
            "Convert a vcrpy YAML cassette into this kit's format: each text/event-stream body is "
            "split into events, credentials are redacted on the way, and since vcrpy keeps no "
            "timing every event gets t=0. The vcrpy file is read as plain data only: a "
            "!!python/... tag is refused."
        ),
    )
    convert.add_argument("vcr_file", metavar="VCR_FILE", type=Path, help="the vcrpy cassette to read")
    convert.add_argument("--out", required=True, metavar="FILE", type=Path, help="the cassette to write")
    convert.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    convert.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..cassettes.files import save_cassette
    from ..cassettes.tools import convert_vcr

    source: Path = args.vcr_file
    out: Path = args.out
    problem = not_a_file(source, "The vcrpy cassette")
    if problem:
        raise UsageError(problem)
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(
            f"The vcrpy cassette {source} does not exist; pass the path of a vcrpy YAML file."
        ) from None
    except (UnicodeDecodeError, OSError) as exc:
        raise UsageError(f"The vcrpy cassette {source} cannot be read as UTF-8 text ({exc}).") from None
    problem = not_a_file(out, "--out")
    if problem:
        raise UsageError(problem)
    if out.exists() and not args.force:
        raise UsageError(f"{out} already exists; pass --force to overwrite it, or choose another --out.")
    key = os.environ.get("WRITER_API_KEY")
    try:
        content = convert_vcr(text, source=str(source), secrets=[key] if key else [])
    except CassetteError as exc:
        raise UsageError(str(exc)) from None
    save_cassette(out, content)
    streams = sum(1 for i in content.interactions if i.response.events is not None)
    print(
        f"Converted {len(content.interactions)} interaction(s) ({streams} SSE stream(s)) from {source} "
        f"into {out}; vcrpy keeps no timing, so every event has t=0.",
        file=sys.stderr,
    )
    return 0

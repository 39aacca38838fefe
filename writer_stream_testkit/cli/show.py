"""``show``: a cassette as a readable transcript."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ._shared import COMMANDS, PROG, UsageError, read_cassette

if TYPE_CHECKING:
    from ..scripts.load import AnyScript

__all__ = ["WHAT_SCRIPT", "add_parser", "run", "script_or_none"]

WHAT_SCRIPT = {
    "chat": "a chat script",
    "completion": "a completion script",
    "question": "a Knowledge Graph question script",
    "application": "an application script",
    "json": "a JSON reply script",
}
"""Each kind of script file, as a sentence names it."""


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    show = commands.add_parser(
        "show",
        help=COMMANDS["show"],
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
    from ..cassettes.tools import render_cassette_text

    try:
        content = read_cassette(args.file)
    except UsageError:
        doc = _yaml_or_none(args.file)
        if doc == {}:  # no key to go by: a script's defaults would read it as a chat script with no steps
            raise UsageError(
                f"{args.file} holds an empty mapping ({{}}), which is neither a cassette (it would have version "
                f"and interactions) nor a script (it would have steps, and kind: for any but a chat script). "
                f"Record a cassette with `{PROG} record`, or see `{PROG} docs scripts` to write a script."
            ) from None
        script = script_or_none(args.file)
        if script is None:
            raise
        raise UsageError(
            f"{args.file} is {WHAT_SCRIPT[script.kind]} (it answers {script.endpoint}), not a cassette: `show` prints "
            f"recorded interactions. To watch what the script streams, serve it with `{PROG} serve --script "
            f"{args.file}` and send it a request; `{PROG} docs scripts` describes the format."
        ) from None
    sys.stdout.write(render_cassette_text(content, source=str(args.file)))
    return 0


def script_or_none(path: Path) -> AnyScript | None:
    """The script in ``path`` when the file is one (so ``show`` can say so), else ``None``."""
    from ..errors import ScriptError
    from ..scripts.load import script_from_yaml

    try:
        return script_from_yaml(path)
    except ScriptError:
        return None


def _yaml_or_none(path: Path) -> object:
    """What ``path`` holds as YAML, or ``None`` when it cannot be read as such."""
    from ..errors import ScriptError
    from ..scripts.base import read_yaml

    try:
        return read_yaml(path)[0]
    except ScriptError:
        return None

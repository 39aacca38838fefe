"""The cassette loader's two paths side by side: the fast line reader must agree with the full YAML loader."""

from __future__ import annotations

from typing import Any

from writer_stream_testkit.cassettes.load import _content, parse_cassette
from writer_stream_testkit.cassettes.model import CassetteContent
from writer_stream_testkit.cassettes.yaml_read import yaml_data
from writer_stream_testkit.errors import CassetteFormatError

SOURCE = "tests/cassettes/x.yaml"
HEAD = "version: 1\ninteractions:\n- request:\n    method: POST\n    url: u\n"
"""A cassette up to its first request's url: a test adds the rest of the request and the response."""


def outcome(parse: Any, text: str) -> tuple[str, Any]:
    """What loading ``text`` gives: ("content", the content) or ("error", the message)."""
    try:
        return "content", parse(text)
    except CassetteFormatError as error:
        return "error", str(error)


def full(text: str) -> CassetteContent:
    """The full YAML loader alone: the reference the fast path must agree with."""
    return _content(yaml_data(text, SOURCE), SOURCE)


def both_agree(text: str) -> tuple[str, Any]:
    """Load ``text`` both ways, check they agree (content or error), and return the outcome."""
    fast = outcome(lambda t: parse_cassette(t, source=SOURCE), text)
    assert fast == outcome(full, text)
    return fast


def alias_bomb(depth: int = 9) -> str:
    """A billion-laughs in ``request.json``: each level is ten aliases of the one before."""
    levels = ["      l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, depth):
        refs = ", ".join([f"*l{i - 1}"] * 10)
        levels.append(f"      l{i}: &l{i} [{refs}]")
    return HEAD + "    json:\n" + "\n".join(levels) + "\n  response: {status: 200, body: ''}\n"

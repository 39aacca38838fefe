"""Reading a script file (scripts/base.py read_yaml): aliases bounded as a cassette's are, and files
too deep or not UTF-8 named in a ScriptError."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from writer_stream_testkit.errors import ScriptError
from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.wire.call import Call


def _alias_bomb(levels: int) -> str:
    """A few hundred bytes of YAML whose aliases stand for 10**levels values."""
    lines = ["kind: json", "path: /v1/models", "body:", "  l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    for n in range(1, levels):
        lines.append(f"  l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("read", ["script_from_yaml", "file", "StreamScript.from_yaml"])
def test_a_script_yaml_alias_bomb_is_refused_as_a_cassette_s_is(read: str, tmp_path: Path) -> None:
    from writer_stream_testkit._yaml_bounds import ALIAS_EXPANSION_LIMIT
    from writer_stream_testkit.scripts.load import script_from_yaml

    bomb = _alias_bomb(6)  # 10**6 values of two characters each: twice the limit
    assert len(bomb) < 500
    assert ALIAS_EXPANSION_LIMIT == 1_000_000
    path = tmp_path / "bomb.yaml"
    path.write_text(bomb, encoding="utf-8")
    load = {
        "script_from_yaml": lambda: script_from_yaml(bomb),
        "file": lambda: script_from_yaml(path),
        "StreamScript.from_yaml": lambda: StreamScript.from_yaml(bomb),
    }[read]
    message = (
        r"uses YAML aliases that stand for more than 1,000,000 characters of data; .* Write the values out"
    )
    with pytest.raises(ScriptError, match=message) as caught:
        load()
    assert str(caught.value).startswith(str(path) if read == "file" else "<script YAML>")


def test_a_script_may_still_repeat_a_value_through_an_alias() -> None:
    from writer_stream_testkit.scripts.load import script_from_yaml

    script = script_from_yaml(_alias_bomb(3))  # 1,000 values: well inside the bound
    assert script.plan(Call.create(method="GET", url="https://api.writer.com/v1/models")).status == 200
    looped = "steps:\n  - content: &hi Hello\n  - content: *hi\n"
    assert StreamScript.from_yaml(looped) == StreamScript().content("Hello").content("Hello")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            # Block lists, one inside the next: PyYAML scans nested flow lists (`[[[...]]]`) in
            # time quadratic in their depth, which made this case take over a second.
            b"steps:\n" + b"- " * 2000 + b"x\n",
            r"^{path} nests lists or mappings too deeply to read \(more than Python's recursion allows\); "
            r"no script needs that many levels, so write it flatter\.$",
        ),
        (
            b"steps:\n- content: caf\xe9\n",
            r"^Cannot read the script file {path}: it is not UTF-8 text \(.*\); save it as UTF-8\.$",
        ),
    ],
    ids=["nested-past-the-recursion-limit", "not-utf-8"],
)
def test_a_script_file_too_deep_or_not_utf8_is_a_script_error_naming_it(
    content: bytes, message: str, tmp_path: Path
) -> None:
    """``serve --script`` once printed a RecursionError or UnicodeDecodeError traceback for these."""
    from writer_stream_testkit.scripts.load import script_from_yaml

    path = tmp_path / "odd.yaml"
    path.write_bytes(content)
    with pytest.raises(ScriptError, match=message.format(path=re.escape(str(path)))):
        script_from_yaml(path)

"""The safe YAML reader under every load: syntax errors placed as file, line and column; tags and hostile input refused, not run."""

from __future__ import annotations

from pathlib import Path

import pytest

from writer_stream_testkit.cassettes.load import parse_cassette
from writer_stream_testkit.errors import (
    CassetteFormatError,
)


def test_yaml_syntax_errors_give_the_place_as_file_line_column() -> None:
    text = "version: 1\ninteractions:\n- request:\n    method: POST\n   url: x\n"
    with pytest.raises(CassetteFormatError) as info:
        parse_cassette(text, source="tests/cassettes/x.yaml")
    assert str(info.value) == (
        "Cassette tests/cassettes/x.yaml is not valid YAML: while parsing a block mapping at "
        "tests/cassettes/x.yaml, line 3, column 3; did not find expected key at tests/cassettes/x.yaml, "
        "line 5, column 4. Fix the syntax at that place, or delete the file and record it again."
    )
    assert "<unicode string>" not in str(info.value)


@pytest.mark.parametrize(
    "hostile",
    [
        "!!python/object/apply:os.system ['echo pwned']\n",
        "version: 1\ninteractions:\n- !!python/object/apply:os.system ['echo pwned']\n",
        "version: !!python/name:os.system 1\n",
        "version: 1\nmeta: {when: 2024-01-01}\n",
        "version: 1\nmeta: &a {x: *a}\n",
    ],
)
def test_hostile_yaml_is_refused_not_executed(hostile: str, tmp_path: Path) -> None:
    with pytest.raises(CassetteFormatError) as info:
        parse_cassette(hostile, source="evil.yaml")
    assert "evil.yaml" in str(info.value)


def test_python_tags_are_named_in_the_refusal() -> None:
    with pytest.raises(
        CassetteFormatError, match=r"tag 'tag:yaml.org,2002:python/object/apply:os.system' at line 1"
    ):
        parse_cassette("!!python/object/apply:os.system ['echo pwned']\n", source="evil.yaml")

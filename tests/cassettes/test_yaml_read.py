"""The safe YAML reader under every load: syntax errors placed as file, line and column; tags and hostile input refused, not run."""

from __future__ import annotations

from pathlib import Path

import pytest
from loaders import HEAD, SOURCE, alias_bomb, both_agree

from writer_stream_testkit.cassettes.load import parse_cassette
from writer_stream_testkit.cassettes.yaml_read import (
    ALIAS_EXPANSION_LIMIT,
    names_an_anchor,
)
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


# --- aliases that expand past a limit -------------------------------------------------------------


def test_an_alias_bomb_in_the_request_body_is_refused_when_loading() -> None:
    text = alias_bomb()
    assert len(text) < 1000  # stands for 10^9 strings: a miss diff of it would never end
    kind, message = both_agree(text)
    assert kind == "error"
    assert message.startswith(
        f"Cassette {SOURCE} uses YAML aliases that stand for more than 1,000,000 characters"
    )
    assert "Write the values out instead of using aliases" in message


def test_a_few_aliases_still_load() -> None:
    text = (
        HEAD + "    json: {a: &m [1, 2, 3], b: *m, c: &s text, d: *s}\n  response: {status: 200, body: ''}\n"
    )
    kind, content = both_agree(text)
    assert kind == "content"
    assert content.interactions[0].request.json == {"a": [1, 2, 3], "b": [1, 2, 3], "c": "text", "d": "text"}


def test_aliases_of_one_long_string_count_its_length() -> None:
    long = "x" * 200_000
    refs = ", ".join(["*s"] * 6)
    text = HEAD + f"    json: {{a: &s {long}, b: [{refs}]}}\n  response: {{status: 200, body: ''}}\n"
    assert ALIAS_EXPANSION_LIMIT < 6 * 200_001
    kind, message = both_agree(text)
    assert kind == "error"
    assert "uses YAML aliases that stand for more than" in message


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("- {t: 0.1, data: 'a & b &c'}", False),  # in quotes: text, not an anchor
        ('- {t: 0.1, data: "&a"}', False),
        ("- {t: 0.1, data: x&y}", False),  # inside a plain scalar
        ("- {t: 0.1, data: &a 'x'}", True),
        ("- &e {t: 0.1, data: 'x'}", True),
        ("- {t: 0.1, data: &a 'x}", True),  # cannot be scanned: the full reader decides
        ("- {t: 0.1, data: 'x'}", False),
    ],
)
def test_names_an_anchor_asks_the_scanner_not_a_search_for_the_ampersand(text: str, named: bool) -> None:
    assert names_an_anchor(text) is named

"""The dumper every script file is written with: short lists and small records on one line, and
any text read back exactly, Unicode line breaks included."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from writer_stream_testkit.scripts._yaml_dump import ScriptDumper


def dump(value: Any) -> str:
    """As the script kinds call it (scripts/base.py and scripts/json_reply.py)."""
    return yaml.dump(value, Dumper=ScriptDumper, sort_keys=False, allow_unicode=True, width=100)


def test_scalar_lists_and_records_of_scalars_sit_on_one_line() -> None:
    assert dump({"content": ["Hi", " there", 3, None, True]}) == "content: [Hi, ' there', 3, null, true]\n"
    assert dump({"usage": {"prompt_tokens": 1, "completion_tokens": 2}}) == (
        "usage: {prompt_tokens: 1, completion_tokens: 2}\n"
    )


def test_one_key_records_and_lists_of_records_stay_in_block_style() -> None:
    """A step (``- content: [...]``) reads one per line; a one-key record is the step itself."""
    doc = {"steps": [{"content": ["a"]}, {"finish": {"reason": "stop", "choice": 1}}, {"usage": None}]}
    assert dump(doc) == ("steps:\n- content: [a]\n- finish: {reason: stop, choice: 1}\n- usage: null\n")
    assert dump({"nested": [[1, 2], [3]]}) == "nested:\n- [1, 2]\n- [3]\n"


def test_unicode_line_breaks_are_written_escaped_so_they_survive() -> None:
    text = "a\x85b\u2028c\u2029d"
    written = dump({"content": [text]})
    assert '"a\\Nb\\Lc\\Pd"' in written
    assert yaml.safe_load(written) == {"content": [text]}
    # The plain dumper leaves them raw, and YAML folds them on reading: the reason for this dumper.
    assert yaml.safe_load(yaml.dump({"c": text}, allow_unicode=True)) != {"c": text}


def test_keys_keep_the_order_they_were_given() -> None:
    doc = {"model": "m", "kind": "json", "steps": [{"content": ["a"]}]}
    assert dump(doc) == "model: m\nkind: json\nsteps:\n- content: [a]\n"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=100, deadline=None)
@given(JSON)
def test_every_json_value_reads_back_as_it_was(value: Any) -> None:
    assert yaml.safe_load(dump({"body": value})) == {"body": value}

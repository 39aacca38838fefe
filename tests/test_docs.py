"""The documentation's examples run: a doc that drifts from the code is a bug."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from writer_stream_testkit import Call, Fault, StreamScript, script_events
from writer_stream_testkit.scripts.load import script_from_yaml

ROOT = Path(__file__).resolve().parent.parent


def test_the_script_yaml_example_in_the_docs_loads_and_round_trips() -> None:
    text = (ROOT / "docs" / "scripts.md").read_text()
    block = re.search(r"```yaml\n(.*?)```", text, re.S)
    assert block is not None
    script = StreamScript.from_yaml(block.group(1))
    assert StreamScript.from_yaml(script.to_yaml()) == script
    assert script_events(script).error is None


def test_the_fault_yaml_example_uses_the_constructors_keys() -> None:
    text = (ROOT / "docs" / "scripts.md").read_text()
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if b.startswith("# faults in YAML"))
    script = StreamScript.from_yaml(block)
    expected = (
        Fault.split(one_byte=True),
        Fault.split_mid_utf8(),
        Fault.keep_alive(every=1),
        Fault.delay(first_byte=0.01),
    )
    assert script.faults == expected
    # each comment names the Python call its line stands for
    lines = [ln for ln in block.splitlines() if ln.startswith("- ") and "#" in ln]
    for line, fault in zip(lines, expected, strict=True):
        assert fault == eval(line.split("# ", 1)[1].split(":", 1)[0], {"Fault": Fault})
    assert StreamScript.from_yaml(script.to_yaml()) == script
    assert "one_byte: true" in script.to_yaml()
    assert "split_mid_utf8" in script.to_yaml()


def test_the_old_fault_keys_still_read() -> None:
    old = "steps:\n- content: [a]\nfaults:\n- split: {sizes: [1]}\n- http_error: {status: 500, headers: [[x-a, b]]}\n"
    assert StreamScript.from_yaml(old).faults == (
        Fault.split(one_byte=True),
        Fault.http_error(500, headers={"x-a": "b"}),
    )
    assert StreamScript.from_yaml("steps: []\nfaults:\n- split: {mid_crlf: true}\n").faults == (
        Fault.split_mid_crlf(),
    )


def test_every_kind_of_script_yaml_in_the_docs_loads_and_round_trips() -> None:
    text = (ROOT / "docs" / "scripts.md").read_text()
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if b.startswith("kind:")]
    kinds = [script_from_yaml(block).kind for block in blocks]
    assert kinds == ["completion", "question", "application", "json"]
    for block in blocks:
        script = script_from_yaml(block)
        assert script_from_yaml(script.to_yaml()) == script
        streamed = Call.create(method="POST", url="https://api.writer.com/x", content=b'{"stream":true}')
        assert script.plan(streamed).status == 200


def test_the_readme_quick_start_holds_exactly_the_demo_and_test_commands() -> None:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1]
    block = re.search(r"```\n(.*?)```", section, re.S)
    assert block is not None
    assert block.group(1).split("\n")[:-1] == ["python3 tasks.py demo", "python3 tasks.py test"]
    assert "python3 tasks.py test" in (ROOT / ".ci" / "run").read_text()


def _limit_rows() -> list[tuple[str, list[str]]]:
    """(default cell, backticked names in the "where" cell) for each row of the Limits table."""
    text = (ROOT / "docs" / "limits.md").read_text()
    table = text.split("## Limits", 1)[1]
    lines = [line for line in table.splitlines() if line.startswith("| ") and not set(line) <= set("|- ")]
    rows = [line.split("|")[1:-1] for line in lines]
    return [(cells[1], re.findall(r"`([\w.]+)`", cells[2])) for cells in rows[1:]]


def test_every_default_in_the_limits_table_is_the_value_in_the_code() -> None:
    import importlib

    import httpx

    rows = _limit_rows()
    assert len(rows) >= 7
    for default, names in rows:
        stated = [float(n) for n in re.findall(r"\d+(?:\.\d+)?", default)]
        module = None
        checked = 0
        for name in names:
            if name.startswith("writer_stream_testkit."):
                module_name, _, name = name.rpartition(".")
                module = importlib.import_module(module_name)
            if module is None or not hasattr(module, name):
                continue
            value = getattr(module, name)
            if isinstance(value, httpx.Timeout):
                assert stated == [value.connect, value.read], (default, name)
                assert value.connect == value.write == value.pool, name
            else:
                assert stated[:1] == [float(value)], (default, name)
            checked += 1
        assert checked, f"no constant found for the row with default {default!r}"


def test_the_readme_links_the_limits() -> None:
    assert "(docs/limits.md)" in (ROOT / "README.md").read_text()


def test_the_readme_first_test_passes_as_written(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The user's path right after the Quick start: install, write the test shown, run pytest, one pass."""
    text = (ROOT / "README.md").read_text()
    _, rest = text.split("## Quick start", 1)[1].split("\n## ", 1)
    assert rest.startswith("From `pip install` to a first passing test"), (
        "the user's path follows the Quick start"
    )
    section = rest.split("\n## ", 1)[0]
    assert "pip install" in section
    block = re.search(r"```python\n(.*?)```", section, re.S)
    assert block is not None
    monkeypatch.delenv("WRITER_API_KEY", raising=False)
    monkeypatch.delenv("WRITER_BASE_URL", raising=False)
    pytester.makeini("[pytest]\nfilterwarnings = error\naddopts = -p no:cacheprovider\n")
    pytester.makepyfile(test_first=block.group(1))
    pytester.runpytest().assert_outcomes(passed=1)

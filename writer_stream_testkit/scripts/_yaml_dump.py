"""The YAML dumper every script kind writes its file with.

Its own private room, so the chat, JSON and base scripts take it without reaching into one another.
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["ScriptDumper"]


class ScriptDumper(yaml.SafeDumper):
    """Safe YAML with short lists and small records on one line, steps one per line."""


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _represent_list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.Node:
    flow = all(_is_scalar(v) for v in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


def _represent_dict(dumper: yaml.SafeDumper, value: dict[Any, Any]) -> yaml.Node:
    flow = len(value) > 1 and all(_is_scalar(v) for v in value.values())
    return dumper.represent_mapping("tag:yaml.org,2002:map", value, flow_style=flow)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    # Unicode line breaks survive only escaped: unquoted or single-quoted, YAML folds them.
    style = '"' if any(ch in value for ch in "\x85\u2028\u2029") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


ScriptDumper.add_representer(str, _represent_str)
ScriptDumper.add_representer(list, _represent_list)
ScriptDumper.add_representer(dict, _represent_dict)

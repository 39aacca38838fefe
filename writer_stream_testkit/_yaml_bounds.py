"""How far YAML aliases may expand a document: one bound for cassettes and script files alike.

A composed YAML document is a graph: an alias is the same node used again, so a
few hundred bytes can stand for gigabytes. These functions measure what the
aliases add without building anything, in time linear in the nodes.
"""

from __future__ import annotations

import math
from typing import Final

from yaml.nodes import MappingNode, Node, ScalarNode

__all__ = ["ALIAS_EXPANSION_LIMIT", "alias_expansion", "expanded_size"]

ALIAS_EXPANSION_LIMIT: Final = 1_000_000
"""How much YAML aliases may add to a file: each use of ``*name`` counts the size of what it
stands for (characters of text, plus one per list item, mapping entry and value). A few
repeated values pass; an alias bomb (a 700-byte file standing for gigabytes) is refused."""


def expanded_size(node: Node, memo: dict[int, float], active: set[int]) -> float:
    """The size ``node`` stands for with every alias in it expanded: characters of text plus one
    per item, entry and value (memoised by node, so linear); infinite for a node that contains itself."""
    key = id(node)
    size = memo.get(key)
    if size is not None:
        return size
    if node.__class__ is ScalarNode:
        size = len(node.value) + 1
    else:
        if key in active:
            return math.inf
        active.add(key)
        if node.__class__ is MappingNode:
            size = 1 + sum(
                expanded_size(k, memo, active) + expanded_size(v, memo, active) for k, v in node.value
            )
        else:
            size = 1 + sum(expanded_size(item, memo, active) for item in node.value)
        active.discard(key)
    memo[key] = size
    return size


def alias_expansion(node: Node) -> float:
    """How much the aliases in a composed YAML document add to it (``inf`` when one contains itself)."""
    seen: set[int] = set()
    own = 0
    stack = [node]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if item.__class__ is ScalarNode:
            own += len(item.value) + 1
        else:
            own += 1
            if item.__class__ is MappingNode:
                stack.extend(part for pair in item.value for part in pair)
            else:
                stack.extend(item.value)
    return expanded_size(node, {}, set()) - own

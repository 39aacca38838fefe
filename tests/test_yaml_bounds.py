"""How far YAML aliases may expand a document, measured on the composed graph without building it:
checked against the plain expansion on random documents, and on the documents that motivate it."""

from __future__ import annotations

import math

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from yaml.nodes import MappingNode, Node, ScalarNode

from writer_stream_testkit._yaml_bounds import ALIAS_EXPANSION_LIMIT, alias_expansion, expanded_size


def naive_size(node: Node) -> int:
    """The size by walking every alias again: exponential, fine for the small documents here."""
    if isinstance(node, ScalarNode):
        return len(node.value) + 1
    if isinstance(node, MappingNode):
        return 1 + sum(naive_size(k) + naive_size(v) for k, v in node.value)
    return 1 + sum(naive_size(item) for item in node.value)


def written_size(node: Node) -> int:
    """The size of the document as written: each node counted once, however often it is used."""
    seen: set[int] = set()

    def walk(item: Node) -> int:
        if id(item) in seen:
            return 0
        seen.add(id(item))
        if isinstance(item, ScalarNode):
            return len(item.value) + 1
        if isinstance(item, MappingNode):
            return 1 + sum(walk(k) + walk(v) for k, v in item.value)
        return 1 + sum(walk(i) for i in item.value)

    return walk(node)


def compose(text: str) -> Node:
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    assert node is not None
    return node


def test_a_document_without_aliases_adds_nothing() -> None:
    node = compose("a: [x, yy]\nb: {c: d}\n")
    assert alias_expansion(node) == 0
    # 1 (mapping) + a, b, c, d, x (2 each) + yy (3) + 1 (list) + 1 (inner mapping)
    assert expanded_size(node, {}, set()) == naive_size(node) == 16


def test_each_use_of_an_alias_counts_what_it_stands_for() -> None:
    node = compose("a: &v [x, x]\nb: *v\nc: *v\n")
    # [x, x] is 1 + 2 + 2 = 5; it is used twice more than it is written
    assert alias_expansion(node) == 10
    assert expanded_size(node, {}, set()) == naive_size(node)


def test_a_bomb_of_a_few_hundred_bytes_stands_for_more_than_the_limit() -> None:
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    for n in range(1, 6):
        lines.append(f"l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 10) + "]")
    text = "\n".join(lines) + "\n"
    assert len(text) < 500
    assert alias_expansion(compose(text)) > ALIAS_EXPANSION_LIMIT  # 10**6 values of two characters


def test_a_node_that_contains_itself_is_infinite() -> None:
    node = compose("&loop [a, *loop]\n")
    assert alias_expansion(node) == math.inf
    assert expanded_size(node, {}, set()) == math.inf


def test_the_memo_is_shared_so_a_later_call_reuses_what_an_earlier_one_measured() -> None:
    node = compose("a: &v [x, x]\nb: *v\n")
    memo: dict[int, float] = {}
    first = expanded_size(node, memo, set())
    assert memo[id(node)] == first
    assert expanded_size(node, memo, set()) == first


KEYS = st.sampled_from(["a", "b", "c"])


@st.composite
def aliased_yaml(draw: st.DrawFn) -> str:
    """A document whose later values may be aliases of earlier anchored ones."""
    anchors: list[str] = []
    lines = []
    for n in range(draw(st.integers(1, 6))):
        if anchors and draw(st.booleans()):
            items = draw(st.lists(st.sampled_from(anchors), min_size=1, max_size=4))
            value = "[" + ", ".join(f"*{a}" for a in items) + "]"
        else:
            value = "[" + ", ".join(draw(st.lists(st.text("xyz", min_size=1, max_size=3), max_size=3))) + "]"
        anchor = f"n{n}"
        anchors.append(anchor)
        lines.append(f"k{n}{draw(KEYS)}: &{anchor} {value}")
    return "\n".join(lines) + "\n"


@settings(max_examples=100, deadline=None)
@given(aliased_yaml())
def test_the_measure_equals_the_plain_expansion(text: str) -> None:
    node = compose(text)
    size = expanded_size(node, {}, set())
    assert size == naive_size(node)
    assert alias_expansion(node) == size - written_size(node)

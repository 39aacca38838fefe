"""The safe YAML reader behind every cassette load: tags refused, aliases bounded, each problem placed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Final, cast

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .._yaml_bounds import ALIAS_EXPANSION_LIMIT, expanded_size
from ..errors import CassetteFormatError
from ..wire.call import MAX_JSON_DEPTH

FAST_MARK = "__writer_stream_testkit_fast_events_"
"""The key under which the fast path parks event lists it has already read (see ``fast_load``)."""

# --- limits ---------------------------------------------------------------------------------------

LONGEST_TIME: Final = 86_400.0
"""The largest time offset (seconds since the request) a cassette may hold: one day. A larger
one cannot be a recording, and waiting for it at replay overflows the clock."""

DEEPEST_NESTING: Final = MAX_JSON_DEPTH + 8
"""How deep lists and mappings may nest anywhere in a cassette: the request-body limit
(``MAX_JSON_DEPTH``, 128) plus the levels of the cassette's own layout around a body. Reading
a deeper file would exhaust Python's stack (a bare ``RecursionError``), and saving one again
could fail after the run had recorded; it is refused, naming the place."""

# --- YAML: reading and validating -----------------------------------------------------------------

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[valid-type,misc]
    """The safe loader with tag resolution short-cut for what cassettes hold most: quoted text and keys.

    The parser asks for a tag for every scalar; a quoted one is always a string, and
    the few distinct keys are resolved once and remembered.
    """

    _known: ClassVar[dict[str, str]] = {}

    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:
            if not implicit[0] and implicit[1]:
                return _STR
            if implicit[0] and len(value) <= 12:
                tag = self._known.get(value)
                if tag is None:
                    tag = super().resolve(kind, value, implicit)
                    if len(self._known) < 256 and not value[:1].isdigit():
                        self._known[value] = tag
                return tag
        return cast(str, super().resolve(kind, value, implicit))


_STR = "tag:yaml.org,2002:str"
_SAFE_SCALAR_TAGS = frozenset(
    {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"}
)
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


def _where(node: Node) -> str:
    mark = node.start_mark
    return f"line {mark.line + 1}, column {mark.column + 1}"


class _Builder:
    """Nodes to Python values, refusing any tag but plain YAML data.

    Faster than PyYAML's constructor (strings, the bulk of a cassette, need no
    work) and stricter: a ``!!python/...`` tag, a timestamp or a merge key is
    an error, not an object.
    """

    def __init__(
        self,
        source: str,
        loader: yaml.SafeLoader,
        *,
        scalar_aliases: bool = True,
        tags: Mapping[str, Any] = {},
    ) -> None:
        self._source = source
        self._loader = loader
        self._building: set[int] = set()
        self._done: dict[int, Any] = {}
        self._sizes: dict[int, float] = {}
        # A scalar can only be an alias's target where an alias can appear at all: the
        # text has a `*`. Tracking every scalar costs a set insertion each, so only then.
        self._scalars: set[int] | None = set() if scalar_aliases else None
        self._tags = tags
        self.markers: list[tuple[str, int]] | None = None
        """When a list, (value, line) of each fast-path placeholder met as a block mapping's value."""
        self.expansion = 0.0
        """What the aliases met so far add to the document (see ``ALIAS_EXPANSION_LIMIT``)."""
        self._depth = 0

    def _aliased(self, node: Node) -> None:
        """Count one more use of ``node`` (an alias to it) against the expansion budget."""
        self.expansion += expanded_size(node, self._sizes, set())
        if self.expansion > ALIAS_EXPANSION_LIMIT:
            raise CassetteFormatError(
                f"Cassette {self._source} uses YAML aliases that stand for more than "
                f"{ALIAS_EXPANSION_LIMIT:,} characters of data (one is the value at {_where(node)}, used "
                "again through an alias); "
                "files with aliases that expand that far are refused, since reading them would take "
                "unbounded memory. Write the values out instead of using aliases (cassettes the kit "
                "writes never use them), or record the cassette again."
            )

    def build(self, node: Node) -> Any:
        if node.__class__ is ScalarNode:
            if self._scalars is not None:
                key = id(node)
                if key in self._scalars:
                    self._aliased(node)
                else:
                    self._scalars.add(key)
            if node.tag == _STR:
                return node.value
            if node.tag in self._tags:
                return self._tags[node.tag](self._loader, node)
            if node.tag in _SAFE_SCALAR_TAGS:
                try:
                    return self._loader.construct_object(node, deep=True)
                except ValueError:  # an integer with more digits than int() will read
                    text = node.value if len(node.value) <= 20 else node.value[:20] + "..."
                    raise CassetteFormatError(
                        f"Cassette {self._source} has the number {text} at {_where(node)}, which is too long "
                        "to read; write a shorter number there, or record the cassette again."
                    ) from None
            raise self._refuse(node)
        key = id(node)
        if key in self._done:
            self._aliased(node)
            return self._done[key]
        if key in self._building:
            raise CassetteFormatError(
                f"Cassette {self._source} refers to itself through a YAML alias at {_where(node)}; "
                "a cassette is plain data, so replace the alias with the value it stands for."
            )
        self._building.add(key)
        self._depth += 1
        if self._depth > DEEPEST_NESTING:
            raise CassetteFormatError(
                f"Cassette {self._source} nests lists and mappings more than {DEEPEST_NESTING} levels deep "
                f"at {_where(node)}; a request body may nest at most {MAX_JSON_DEPTH} levels (what the "
                "doubles read), so no recording holds more. Flatten the value there, or record the "
                "cassette again."
            )
        value: Any
        if node.__class__ is MappingNode and node.tag == _MAP:
            value = {}
            for key_node, value_node in node.value:
                name = self.build(key_node)
                if isinstance(name, (dict, list)):
                    raise CassetteFormatError(
                        f"Cassette {self._source} has a mapping key that is not a scalar at "
                        f"{_where(key_node)}; write keys as plain strings."
                    )
                value[name] = self.build(value_node)
                if (
                    self.markers is not None
                    and value_node.__class__ is ScalarNode
                    and value_node.value.startswith(FAST_MARK)
                    and not value_node.style  # plain: None (PyYAML) or "" (libyaml)
                    and node.flow_style is False
                ):
                    self.markers.append((value_node.value, value_node.start_mark.line))
        elif node.__class__ is SequenceNode and node.tag == _SEQ:
            value = [self.build(item) for item in node.value]
        else:
            raise self._refuse(node)
        self._depth -= 1
        self._building.discard(key)
        self._done[key] = value
        return value

    def _refuse(self, node: Node) -> CassetteFormatError:
        return CassetteFormatError(
            f"Cassette {self._source} uses the YAML tag {node.tag!r} at {_where(node)}, which cassettes "
            "do not allow: they are loaded as plain data (strings, numbers, booleans, null, lists, "
            "mappings), never as Python objects. Remove the tag, or quote the value if it is text."
        )


def _yaml_problem(error: yaml.MarkedYAMLError, source: str) -> str:
    """PyYAML's account of a syntax error, with each place given as ``FILE, line L, column C``.

    PyYAML names the stream it parsed (``"<unicode string>"``), not the file.
    """
    parts: list[str] = []
    for text, mark in ((error.context, error.context_mark), (error.problem, error.problem_mark)):
        if text is None and mark is None:
            continue
        where = f" at {source}, line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        parts.append(f"{text or 'error'}{where}")
    if error.note:
        parts.append(error.note)
    return "; ".join(parts) or type(error).__name__


def names_an_anchor(text: str) -> bool:
    """Whether ``text`` defines a YAML anchor (``&name``), told by the scanner, not by a search for ``&``.

    The fast path reads a file's odd event lines apart from the rest of it, where an anchor
    named twice (an error) or used across the parts would read differently; it hands such a
    file to the full reader. Text that cannot be scanned answers ``True`` for the same reason.
    """
    if "&" not in text:
        return False
    try:
        return any(isinstance(token, yaml.AnchorToken) for token in yaml.scan(text, Loader=_BaseLoader))
    except yaml.YAMLError:
        return True


def yaml_data(text: str, source: str) -> Any:
    """The plain data of one YAML document, or ``CassetteFormatError`` naming the file and place."""
    return yaml_node_data(text, source)[0]


def yaml_node_data(
    text: str,
    source: str,
    *,
    loader_class: type[yaml.SafeLoader] | None = None,
    tags: Mapping[str, Any] = {},
    markers: list[tuple[str, int]] | None = None,
) -> tuple[Any, float]:
    """The data of one YAML document and how much its aliases expanded it."""
    loader = (loader_class or _Loader)(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            raise CassetteFormatError(
                f"Cassette {source} is not valid YAML: {_yaml_problem(exc, source)}. Fix the syntax at "
                "that place, or delete the file and record it again."
            ) from None
        except yaml.YAMLError as exc:
            raise CassetteFormatError(
                f"Cassette {source} is not valid YAML ({exc}); delete it and record it again."
            ) from None
        except RecursionError:  # the pure-Python parser, without libyaml's nesting limit
            raise CassetteFormatError(
                f"Cassette {source} nests lists and mappings more than {DEEPEST_NESTING} levels deep; "
                "flatten the deepest value, or record the cassette again."
            ) from None
        if node is None:
            return None, 0
        builder = _Builder(source, loader, scalar_aliases="*" in text, tags=tags)
        builder.markers = markers
        try:
            return builder.build(node), builder.expansion
        except yaml.YAMLError as exc:
            raise CassetteFormatError(
                f"Cassette {source} has a value that cannot be read ({exc}); fix it or record the cassette again."
            ) from None
    finally:
        loader.dispose()

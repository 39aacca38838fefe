"""The layout of docs/ARCHITECTURE.md, enforced: imports run from the edges down to the core, never back.

Every module's imports of the package are read from its source (lazy imports
inside functions included; imports under ``if TYPE_CHECKING:`` are for the type
checker only and are left out). Each wing has a rank, and a module may import
only its own wing or a wing of lower rank; a module of the pure core may never
import an edge, whatever the ranks say.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import writer_stream_testkit

PACKAGE = Path(writer_stream_testkit.__file__).parent

# The rank of each wing (or top-level module): a module imports only from its own wing or lower ranks.
RANKS: dict[str, int] = {
    "_version": 0,
    "errors": 0,
    "wire": 1,
    "_retry": 1,
    "helpers": 2,
    "scripts": 3,
    "testing": 3,
    "_base_client": 4,
    "client": 5,
    "doubles": 4,
    "cassettes": 5,
    "resilience": 6,
    "pytest_plugin": 9,
    "cli": 9,
    "demo": 10,
    "__init__": 9,
}

# The thin I/O edges. Everything else is the pure core, which never imports these.
EDGES = frozenset(
    {
        "_base_client",
        "client",
        "helpers.streaming",
        "doubles.mock",
        "doubles.server",
        "cassettes.cassette",
        "cassettes.proxy",
        "cassettes.recorder",
        "cassettes.tools",
        "testing.snapshot",
        "pytest_plugin",
        "cli",
        "demo",
        "__init__",
    }
)


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts)
        found[name] = path
    return found


MODULES = _modules()


def _wing(module: str) -> str:
    return module.split(".")[0]


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(module: str) -> set[str]:
    """The package modules ``module`` imports at run time, as names relative to the package."""
    path = MODULES[module]
    is_package = path.name == "__init__.py"
    here = module.split(".") if module != "__init__" else []
    base_package = here if is_package else here[:-1]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base_package[: len(base_package) - (node.level - 1)]
                target = [*anchor, *(node.module.split(".") if node.module else [])]
            elif node.module and node.module.split(".")[0] == "writer_stream_testkit":
                target = node.module.split(".")[1:]
            else:
                target = None
            if target is not None:
                for alias in node.names:
                    candidate = ".".join([*target, alias.name])
                    found.add(candidate if candidate in MODULES else ".".join(target) or "__init__")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "writer_stream_testkit":
                    found.add(".".join(alias.name.split(".")[1:]) or "__init__")
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    found.discard(module)
    return {name for name in found if name in MODULES}


def test_every_module_has_a_wing_with_a_rank() -> None:
    unranked = sorted(m for m in MODULES if _wing(m) not in RANKS)
    assert unranked == [], f"Give these modules' wings a rank in RANKS (and docs/ARCHITECTURE.md): {unranked}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_run_down_the_wings(module: str) -> None:
    rank = RANKS[_wing(module)]
    upward = sorted(
        target
        for target in _runtime_imports(module)
        if _wing(target) != _wing(module) and RANKS[_wing(target)] >= rank
    )
    assert upward == [], (
        f"{module} (wing {_wing(module)!r}, rank {rank}) imports {upward}, which are not below it; "
        "move the shared piece down a wing, or import it under TYPE_CHECKING if only types need it."
    )


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m not in EDGES))
def test_the_core_never_imports_an_edge(module: str) -> None:
    edges = sorted(_runtime_imports(module) & EDGES)
    assert edges == [], f"{module} is pure core but imports the I/O edges {edges}."


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    """The rules can fail: a core module importing the mock is caught."""
    source = "from ..doubles.mock import WriterMock\n"
    MODULES["wire.fake_for_test"] = tmp_path / "fake.py"
    try:
        (tmp_path / "fake.py").write_text(source)
        assert "doubles.mock" in _runtime_imports("wire.fake_for_test")
        with pytest.raises(AssertionError, match="imports"):
            test_imports_run_down_the_wings("wire.fake_for_test")
        with pytest.raises(AssertionError, match="pure core"):
            test_the_core_never_imports_an_edge("wire.fake_for_test")
    finally:
        del MODULES["wire.fake_for_test"]


def test_no_import_cycles() -> None:
    graph = {m: _runtime_imports(m) for m in MODULES}
    """Not even lazy imports may close a loop: a cycle means two rooms share one job."""
    seen: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def walk(node: str) -> None:
        seen[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if seen.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in seen:
                walk(nxt)
        stack.pop()
        seen[node] = 2

    for module in sorted(graph):
        if module not in seen:
            walk(module)
    assert cycles == [], f"Import cycles: {cycles}"

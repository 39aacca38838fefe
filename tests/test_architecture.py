"""The layout of docs/ARCHITECTURE.md, enforced: imports run from the edges down to the core, never back.

Every module's imports of the package are read from its source (lazy imports
inside functions included, and the modules a lazy-export table names, as the
package root's ``_EXPORTS``; imports under ``if TYPE_CHECKING:`` are for the type
checker only and are left out). Each wing has a rank, and a module may import
only its own wing or a wing of lower rank; a module of the pure core may never
import an edge, whatever the ranks say.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

import writer_stream_testkit

PACKAGE = Path(writer_stream_testkit.__file__).parent

# The rank of each wing (or top-level module): a module imports only from its own wing or lower ranks.
RANKS: dict[str, int] = {
    "_version": 0,
    "_sentinels": 0,
    "errors": 0,
    "_yaml_bounds": 0,
    "wire": 1,
    "_retry": 1,
    "_docs": 1,
    "helpers": 2,
    "scripts": 3,
    "testing": 3,
    "_arguments": 4,
    "_chat_call": 5,
    "_attempts": 4,
    "_config": 4,
    "_response": 4,
    "_streams": 4,
    "client": 6,
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
        "_config",
        "_chat_call",
        "_response",
        "_streams",
        "client",
        "helpers.streaming",
        "doubles.mock",
        "doubles.server",
        "doubles.respond",
        "doubles.reading",
        "doubles.guard",
        "cassettes.cassette",
        "cassettes.intercept",
        "cassettes.proxy",
        "cassettes.recorder",
        "cassettes.convert",
        "cassettes.tools",
        "testing.snapshot",
        "resilience.plugin",
        "pytest_plugin",
        "cli",
        "cli.__main__",
        "cli._shared",
        "cli.convert",
        "cli.docs",
        "cli.record",
        "cli.serve",
        "cli.show",
        "cli.verify",
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


LAZY_TABLE = "_EXPORTS"
"""A module-level ``{name: ".module"}`` table whose modules are imported when a name is first asked for (PEP 562)."""


def _lazy_table(tree: ast.Module) -> dict[str, str]:
    """The ``_EXPORTS`` table of a module's source, if it has one: public name -> relative module."""
    for node in tree.body:
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        if isinstance(target, ast.Name) and target.id == LAZY_TABLE and isinstance(value, ast.Dict):
            return {
                ast.literal_eval(k): ast.literal_eval(v)
                for k, v in zip(value.keys, value.values, strict=True)
                if k
            }
    return {}


@functools.cache
def _parsed(source: str) -> tuple[ast.Module, tuple[ast.AST, ...]]:
    """A module's syntax tree and every node in it.

    Each check below runs once per module; parsing and walking every module again for
    each of them took most of this file's time. Keyed by the source text, so a file the
    checks' own tests write is parsed as it is.
    """
    tree = ast.parse(source)
    return tree, tuple(ast.walk(tree))


def _nodes(path: Path) -> tuple[ast.AST, ...]:
    return _parsed(path.read_text(encoding="utf-8"))[1]


@functools.cache
def _runtime_import_nodes(source: str) -> tuple[ast.Import | ast.ImportFrom, ...]:
    """The import statements of a module's source that run at run time (none under ``if TYPE_CHECKING:``)."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(_parsed(source)[0])
    return tuple(found)


def _runtime_imports(module: str) -> set[str]:
    """The package modules ``module`` imports at run time, as names relative to the package."""
    path = MODULES[module]
    is_package = path.name == "__init__.py"
    here = module.split(".") if module != "__init__" else []
    base_package = here if is_package else here[:-1]
    found: set[str] = set()
    source = path.read_text(encoding="utf-8")
    for node in _runtime_import_nodes(source):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base_package[: len(base_package) - (node.level - 1)]
                target = [*anchor, *(node.module.split(".") if node.module else [])]
            elif node.module and node.module.split(".")[0] == "writer_stream_testkit":
                target = node.module.split(".")[1:]
            else:
                continue
            for alias in node.names:
                candidate = ".".join([*target, alias.name])
                found.add(candidate if candidate in MODULES else ".".join(target) or "__init__")
        else:
            for alias in node.names:
                if alias.name.split(".")[0] == "writer_stream_testkit":
                    found.add(".".join(alias.name.split(".")[1:]) or "__init__")
    for relative in _lazy_table(
        _parsed(source)[0]
    ).values():  # imported on first use, as `from .module import name`
        level = len(relative) - len(relative.lstrip("."))
        anchor = base_package[: len(base_package) - (level - 1)]
        found.add(".".join([*anchor, *relative.lstrip(".").split(".")]))
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


def test_the_checker_sees_a_lazy_export(tmp_path: Path) -> None:
    """A module's lazy-export table counts as its imports: the root's lazy names keep the layering honest."""
    assert {"cassettes.cassette", "doubles.server", "errors", "testing.snapshot"} <= _runtime_imports(
        "__init__"
    )
    MODULES["wire.fake_lazy"] = tmp_path / "fake_lazy.py"
    try:
        (tmp_path / "fake_lazy.py").write_text(
            '_EXPORTS: dict[str, str] = {"WriterMock": "..doubles.mock"}\n'
        )
        assert _runtime_imports("wire.fake_lazy") == {"doubles.mock"}
        with pytest.raises(AssertionError, match="pure core"):
            test_the_core_never_imports_an_edge("wire.fake_lazy")
    finally:
        del MODULES["wire.fake_lazy"]


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


def _private_names_of_base_writer() -> set[str]:
    tree = ast.parse((PACKAGE / "_config.py").read_text(encoding="utf-8"))
    (base,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "BaseWriter"]
    names = set()
    for node in ast.walk(base):
        if isinstance(node, ast.FunctionDef | ast.AnnAssign | ast.Attribute):
            name = (
                node.name
                if isinstance(node, ast.FunctionDef)
                else node.target.id
                if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                else node.attr
                if isinstance(node, ast.Attribute)
                else ""
            )
            if name.startswith("_") and not name.startswith("__"):
                names.add(name)
    return names


def test_client_reads_no_private_attribute_of_base_writer_but_its_own() -> None:
    """client.py asks _config.py by plain names; it reads BaseWriter's privates only on ``self`` (a subclass)."""
    private = _private_names_of_base_writer()
    assert {"_request_builder", "_strict_response_validation"} <= private
    tree = ast.parse((PACKAGE / "client.py").read_text(encoding="utf-8"))
    reached = sorted(
        f"{ast.unparse(node)} (line {node.lineno})"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in private
        and not (isinstance(node.value, ast.Name) and node.value.id == "self")
    )
    assert reached == [], "client.py reads BaseWriter's private attributes: " + ", ".join(reached)


def _private_names_taken(module: str) -> list[str]:
    """The underscored names ``module`` imports from another package module (a private module's own name is fine)."""
    path = MODULES[module]
    is_package = path.name == "__init__.py"
    here = module.split(".") if module != "__init__" else []
    base_package = here if is_package else here[:-1]
    taken = []
    for node in _nodes(path):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            anchor = base_package[: len(base_package) - (node.level - 1)]
            target = [*anchor, *(node.module.split(".") if node.module else [])]
        elif node.module and node.module.split(".")[0] == "writer_stream_testkit":
            target = node.module.split(".")[1:]
        else:
            continue
        source = ".".join(target) or "__init__"
        for alias in node.names:
            private = alias.name.startswith("_") and not alias.name.startswith("__")
            if private and ".".join([*target, alias.name]) not in MODULES:
                taken.append(f"{alias.name} from {source}")
    return taken


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_takes_another_modules_private_names(module: str) -> None:
    """Shared helpers are plain names in a private module (STYLE.md shape 1), never another room's ``_name``."""
    taken = _private_names_taken(module)
    assert taken == [], (
        f"{module} imports the private names {taken}; move what they share into an _-prefixed module "
        "with an __all__ of plain names and import it from there."
    )


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_empty_type_checking_block(module: str) -> None:
    """An ``if TYPE_CHECKING: pass`` block is dead code that hides the imports it once held."""
    empty = [
        node.lineno
        for node in _nodes(MODULES[module])
        if isinstance(node, ast.If)
        and _is_type_checking(node)
        and all(isinstance(child, ast.Pass) for child in node.body)
    ]
    assert empty == [], f"{module} has empty `if TYPE_CHECKING:` blocks at lines {empty}; delete them."


def test_the_checker_sees_a_private_name_taken(tmp_path: Path) -> None:
    """The private-name and dead-block rules can fail; a private module's own name still passes."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "from ..scripts.faults import _fault_for_test, Fault\n"
        "from .. import _retry\n"
        "from writer_stream_testkit.wire.call import _other\n"
        "if TYPE_CHECKING:\n    pass\n"
    )
    MODULES["testing.fake_for_test"] = tmp_path / "fake.py"
    try:
        (tmp_path / "fake.py").write_text(source)
        assert _private_names_taken("testing.fake_for_test") == [
            "_fault_for_test from scripts.faults",
            "_other from wire.call",
        ]
        with pytest.raises(AssertionError, match="private names"):
            test_no_module_takes_another_modules_private_names("testing.fake_for_test")
        with pytest.raises(AssertionError, match="empty `if TYPE_CHECKING:`"):
            test_no_empty_type_checking_block("testing.fake_for_test")
    finally:
        del MODULES["testing.fake_for_test"]


# --- every module has its test module ---------------------------------------------------------------

TESTS = Path(__file__).resolve().parent

# The client's private modules (its arguments, attempts, config, responses, streams, retry
# policy and markers) are tested with it, in tests/client/.
CLIENT_ROOM = frozenset(
    {
        "client",
        "_arguments",
        "_attempts",
        "_chat_call",
        "_config",
        "_response",
        "_streams",
        "_retry",
        "_sentinels",
    }
)

# Modules with no test module of their own, and why none is needed.
NO_TEST_MODULE: dict[str, str] = {
    "_version": "one version string, which hatch reads when it builds the wheel",
    "__init__": "the public surface, pinned name by name in tests/test_public_api.py",
    "cli.__main__": "one call of cli.main for `python -m`, the way tests/support/cliutil.py runs every command",
}

# Modules whose tests still live in a file named after another module (the one they were
# written beside), to be moved into their own test module one by one. The list may only
# shrink: a module that gains its test module must leave it.
TESTED_ELSEWHERE: dict[str, str] = {}


def _is_wing_init(module: str) -> bool:
    return MODULES[module].name == "__init__.py" and module != "__init__"


def where_tested(module: str) -> Path:
    """Where ``module``'s tests live: tests/<wing>/test_<module>.py, the client's room in tests/client/."""
    parts = module.split(".")
    if len(parts) == 1 and module in CLIENT_ROOM:
        return TESTS / "client" / f"test_{module.lstrip('_')}.py"
    return TESTS.joinpath(*parts[:-1], f"test_{parts[-1].lstrip('_')}.py")


def test_every_module_has_its_test_module() -> None:
    missing = sorted(
        f"{module} -> {where_tested(module).relative_to(TESTS.parent)}"
        for module in MODULES
        if not _is_wing_init(module)
        and module not in NO_TEST_MODULE
        and module not in TESTED_ELSEWHERE
        and not where_tested(module).is_file()
    )
    assert missing == [], (
        f"These modules have no test module: {missing}. Put each module's tests in the file named "
        "after it (tests/<wing>/test_<module>.py), so a reader finds them beside the code's wing."
    )


def test_the_list_of_modules_tested_elsewhere_only_shrinks() -> None:
    stale = sorted(m for m in TESTED_ELSEWHERE if m not in MODULES or where_tested(m).is_file())
    assert stale == [], f"Remove {stale} from TESTED_ELSEWHERE: each is gone or now has its own test module."
    lost = sorted(
        f"{m}: tests/{path}" for m, path in TESTED_ELSEWHERE.items() if not (TESTS / path).is_file()
    )
    assert lost == [], (
        f"TESTED_ELSEWHERE names test files that do not exist: {lost}; point each at its tests."
    )


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _is_wing_init(m)))
def test_a_wing_init_only_gathers_its_wings_names(module: str) -> None:
    """A wing's __init__ holds no code (a docstring, imports, __all__), or has tests/test_<wing>.py."""
    if where_tested(module).is_file():
        return
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    code = [
        f"line {node.lineno}"
        for node in tree.body
        if not isinstance(node, ast.Import | ast.ImportFrom)
        and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
        and not (isinstance(node, ast.If) and _is_type_checking(node))
        and not (
            isinstance(node, ast.Assign | ast.AnnAssign)
            and any(
                isinstance(t, ast.Name) and t.id == "__all__"
                for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
            )
        )
    ]
    assert code == [], (
        f"writer_stream_testkit/{module.replace('.', '/')}/__init__.py holds code ({code}); move it into a "
        "module of the wing with its own test module, or test it in tests/test_<wing>.py."
    )


def test_the_checker_sees_a_module_without_tests(tmp_path: Path) -> None:
    """The rule can fail: a new module with no test module is named, with where its tests go."""
    MODULES["wire.fake_untested"] = tmp_path / "fake_untested.py"
    try:
        with pytest.raises(AssertionError, match=r"wire\.fake_untested -> tests/wire/test_fake_untested\.py"):
            test_every_module_has_its_test_module()
    finally:
        del MODULES["wire.fake_untested"]
    assert where_tested("_config") == TESTS / "client" / "test_config.py"
    assert where_tested("cli") == TESTS / "test_cli.py"


def test_test_helpers_live_in_tests_support() -> None:
    """Outside tests/support/ (on pytest's pythonpath) a helper module is not importable by the tests."""
    stray = sorted(
        str(path.relative_to(TESTS.parent))
        for path in TESTS.rglob("*.py")
        if path.parent.name not in {"support", "data"}
        and path.name != "conftest.py"
        and not path.name.startswith("test_")
    )
    assert stray == [], f"Move these helper modules into tests/support/ with git mv: {stray}"

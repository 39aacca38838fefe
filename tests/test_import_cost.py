"""What importing the kit costs, pinned by what it loads (never by timing it).

The test suite starts Python about a hundred times (the command line, pytester
projects, their workers), and a user's pytest loads the plugin on every run: each
start used to import the whole kit, pydantic, httpx, respx, syrupy and the
server with it. Now the package root loads its names on first use, the plugin
loads a fixture's objects when the fixture runs, and the command line loads only
the command it runs. These tests fail as soon as an eager import comes back.
"""

from __future__ import annotations

import json

import pytest
from fresh import run_fresh

# Third-party packages the kit uses only once a double, a cassette, a client or a snapshot is used.
HEAVY = ("httpx", "httpcore", "h11", "anyio", "respx", "pydantic", "syrupy", "yaml", "writerai")

# The kit's own modules that pull those in (and the server, which imports asyncio).
KIT_HEAVY = (
    "writer_stream_testkit.client",
    "writer_stream_testkit.wire.types",
    "writer_stream_testkit.helpers.parsing",
    "writer_stream_testkit.doubles.hosts",
    "writer_stream_testkit.doubles.mock",
    "writer_stream_testkit.doubles.server",
    "writer_stream_testkit.cassettes.cassette",
    "writer_stream_testkit.cassettes.proxy",
    "writer_stream_testkit.testing.snapshot",
    "writer_stream_testkit.resilience.chaos",
)

REPORT = f"""
import json, sys
heavy = sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r}))
kit = sorted(m for m in sys.modules if m in {KIT_HEAVY!r})
print(json.dumps({{"heavy": heavy, "kit": kit}}))
"""


def loaded_after(code: str) -> dict[str, list[str]]:
    """Run ``code`` in a fresh interpreter and say which heavy packages and kit modules it loaded."""
    result: dict[str, list[str]] = json.loads(run_fresh(code + "\n" + REPORT).splitlines()[-1])
    return result


def run_cli(*argv: str) -> str:
    return f"""
import contextlib, io
from writer_stream_testkit.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    main({list(argv)!r})
"""


def test_importing_the_package_loads_nothing_heavy() -> None:
    code = "import writer_stream_testkit as kit\nkit.__version__, kit.ScriptError, kit.RateLimitError"
    assert loaded_after(code) == {"heavy": [], "kit": []}


def test_a_name_loads_only_what_it_needs() -> None:
    """A script needs no server, no cassette, no client; asking for the server loads it."""
    assert loaded_after("from writer_stream_testkit import StreamScript, Fault") == {"heavy": [], "kit": []}
    server = loaded_after("from writer_stream_testkit import FakeWriterServer")
    assert "writer_stream_testkit.doubles.server" in server["kit"]


def test_a_double_loads_no_yaml_no_pydantic_no_syrupy() -> None:
    """A test that queues a script built in code reads no YAML, parses no chunk model, takes no snapshot."""
    seen = loaded_after(
        "from writer_stream_testkit import FakeWriterServer, StreamScript, WriterMock\n"
        "StreamScript().content('hi').finish().plan"
    )
    assert not {"yaml", "pydantic", "syrupy", "writerai"} & set(seen["heavy"]), seen
    mock = loaded_after("from writer_stream_testkit import StreamScript, WriterMock")
    assert set(mock["kit"]) == {"writer_stream_testkit.doubles.hosts", "writer_stream_testkit.doubles.mock"}


def test_a_script_loads_yaml_when_it_reads_or_writes_yaml() -> None:
    seen = loaded_after(
        "from writer_stream_testkit import StreamScript\nStreamScript().content('hi').to_yaml()"
    )
    assert "yaml" in seen["heavy"]


def test_the_report_sees_an_eager_import() -> None:
    """The pin can fail: a module that imports httpx and the server is seen doing so."""
    seen = loaded_after("import httpx\nimport writer_stream_testkit.doubles.server")
    assert "httpx" in seen["heavy"]
    assert "writer_stream_testkit.doubles.server" in seen["kit"]


def test_loading_the_plugin_loads_nothing_heavy() -> None:
    """Registering options, markers and hooks needs pytest and a few plain modules only."""
    code = (
        "import pytest\nimport writer_stream_testkit.pytest_plugin\n"
        "import writer_stream_testkit.resilience.plugin"
    )
    assert loaded_after(code) == {"heavy": [], "kit": []}


def test_a_pytest_run_that_uses_no_fixture_loads_no_double(pytester: pytest.Pytester) -> None:
    """The plugin is autoloaded (with respx's and syrupy's own plugins), yet no kit fixture means no double."""
    pytester.makeconftest(
        "import json, sys\n"
        "def pytest_sessionfinish(session):\n"
        f"    kit = sorted(m for m in sys.modules if m in {KIT_HEAVY!r})\n"
        "    heavy = sorted({m.split('.')[0] for m in sys.modules} & {'pydantic', 'yaml', 'writerai'})\n"
        "    plugin = 'writer_stream_testkit.pytest_plugin' in sys.modules\n"
        "    print('LOADED ' + json.dumps([plugin, kit, heavy]))\n"
    )
    pytester.makepyfile("def test_plain():\n    assert True\n")
    result = pytester.runpytest_subprocess("-p", "no:xdist", "-p", "no:cacheprovider", "-s")
    result.assert_outcomes(passed=1)
    assert "LOADED [true, [], []]" in result.stdout.str()


@pytest.mark.parametrize(
    "argv",
    [
        ("--help",),
        ("serve", "--help"),
        ("record", "--help"),
        ("show", "--help"),
        ("convert", "--help"),
        ("verify", "--help"),
        ("docs",),
        ("nonsense",),
    ],
    ids=" ".join,
)
def test_the_command_line_loads_only_what_the_command_runs(argv: tuple[str, ...]) -> None:
    assert loaded_after(run_cli(*argv)) == {"heavy": [], "kit": []}


def test_the_command_line_imports_only_the_command_it_runs() -> None:
    code = run_cli("docs") + (
        "\nimport sys\nprint(sorted(m.rsplit('.', 1)[1] for m in sys.modules "
        "if m.startswith('writer_stream_testkit.cli.')))"
    )
    assert run_fresh(code).splitlines()[-1] == "['_shared', 'docs']"


def test_running_a_command_loads_what_it_needs() -> None:
    """Laziness moves the imports, it does not lose them: `show` on a cassette loads the cassette reader."""
    seen = loaded_after(run_cli("show", "/nonexistent/cassette.yaml"))
    assert "yaml" in seen["heavy"]

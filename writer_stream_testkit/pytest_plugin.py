"""The pytest plugin: fixtures, the ``writer_cassette`` marker and the ``--writer-*`` options.

Registered through the ``pytest11`` entry point, so installing the package is
enough; disable it with ``-p no:writer_stream_testkit``. Listing it in
``pytest_plugins`` (or ``-p writer_stream_testkit.pytest_plugin``) as well is
harmless: the second registration is skipped. It only wires pytest to
the library's objects (``WriterMock``, ``FakeWriterServer``, ``Cassette``,
``WriterSnapshotExtension``) and keeps no logic of its own.

Cassette settings, strongest first: the marker's keyword arguments (they are
``Cassette(...)``'s own), the command line, the ``writer_cassette_config``
fixture, then the ini file; ``cassettes/settings.py`` holds that order.

Strictness follows the library: when a test's body passes, the doubles it used
are verified before its result is reported (an unexpected request, an unused
reply or a cassette miss fails the test itself, with the kit's message first,
not "passed" plus a teardown error); teardown verifies again for what only
stopping can find. When the test itself fails, nothing is verified on top, so
the test's own failure is the one reported; what the double saw is appended to
that failure as a ``writer-stream-testkit`` section instead.

No real request by accident: while a double runs, a request to the real Writer
API fails at once (``doubles/guard.py``), and ``writer_server`` points
``WRITER_BASE_URL`` at its server for the test and its subprocesses.
``--writer-block-network`` refuses every host but this machine, as
pytest-recording's ``--block-network`` does.

API key: ``writerai.Writer()`` refuses to start without ``WRITER_API_KEY``.
When it is unset, ``writer_mock``, ``writer_server`` and a replay-only
``writer_cassette`` set it to a dummy value for the test (nothing real is ever
called). A cassette that may record gets no dummy: recording needs the real key.

Loading the plugin costs next to nothing: registering the options, markers and
hooks needs only pytest and a few plain modules, and each fixture imports the
library objects it wires (the doubles, the cassettes, syrupy's extension) when
it first runs, so a project that uses no kit fixture never loads them.
"""

from __future__ import annotations

import inspect
import os
import re
import sys
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest

from .cassettes.model import RECORD_MODES
from .doubles.guard import guard
from .errors import CassetteMissError, ReplyError, ScriptError, TestkitError, UnexpectedRequestError
from .resilience import plugin as resilience

if TYPE_CHECKING:
    from .cassettes.cassette import Cassette
    from .cassettes.model import Timing
    from .cassettes.proxy import RecordingProxy
    from .cassettes.settings import CassetteSettings
    from .doubles.mock import WriterMock
    from .doubles.server import FakeWriterServer

__all__ = ["DUMMY_API_KEY", "cassette_path_for"]

DUMMY_API_KEY = "writer-stream-testkit-dummy-key"
"""The ``WRITER_API_KEY`` the fixtures set when it is unset and no request can reach the real API."""

_MARKER = "writer_cassette"
_BLOCK_MARKER = "writer_block_network"
_SECTION = "writer-stream-testkit"


class _Double(Protocol):
    def verify(self) -> None: ...


_FAILED = pytest.StashKey[bool]()
_DOUBLES = pytest.StashKey[list[tuple[str, _Double]]]()
_HINTS = pytest.StashKey[list[str]]()
_VERIFIED = pytest.StashKey[bool]()
_REFUSED_FROM = pytest.StashKey[int]()

_OPTIONS: dict[str, tuple[str, str]] = {
    # ini key: (command-line flag, help)
    "writer_record_mode": (
        "--writer-record-mode",
        "Cassette record mode: none (default, replay only), once, new_episodes, all or rewrite.",
    ),
    "writer_cassette_dir": (
        "--writer-cassette-dir",
        "Directory for cassettes (relative paths: to the current directory on the command line, to "
        "the ini file's directory in the ini file); default: a 'cassettes' folder next to each test file.",
    ),
    "writer_replay_timing": (
        "--writer-replay-timing",
        "Replay speed: 'fast' (default, no waits), 'recorded' (the recorded gaps), or a factor such as 0.5.",
    ),
    "writer_upstream": (
        "--writer-upstream",
        "Base URL that recording modes send requests to (default: the real Writer API).",
    ),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(
        "writer-stream-testkit", "writer-stream-testkit: Writer API doubles and cassettes"
    )
    for ini, (flag, help_text) in _OPTIONS.items():
        kwargs: dict[str, Any] = {"choices": RECORD_MODES} if ini == "writer_record_mode" else {}
        group.addoption(flag, dest=ini, default=None, help=f"{help_text} Ini key: {ini}.", **kwargs)
        parser.addini(ini, help=help_text, default="")
    parser.addini(
        "writer_redact_patterns",
        type="linelist",
        help="Extra regular expressions redacted from every cassette the plugin records (one per line).",
        default=[],
    )
    group.addoption(
        "--writer-block-network",
        dest="writer_block_network",
        action="store_true",
        default=None,
        help="Refuse every connection to a host that is not this machine (pytest-recording's --block-network); "
        "requests the Writer SDK makes fail at once, naming the host. Ini key: writer_block_network.",
    )
    parser.addini(
        "writer_block_network",
        type="bool",
        help="Refuse every connection to a host that is not this machine (see --writer-block-network).",
        default=False,
    )
    parser.addini(
        "writer_allowed_hosts",
        type="linelist",
        help="Hosts --writer-block-network still lets through, one per line (loopback is always allowed).",
        default=[],
    )
    parser.addini(
        "writer_base_urls",
        type="linelist",
        help="Extra Writer API base URLs the writer_mock fixture answers for, one per line "
        "(https://api.writer.com and WRITER_BASE_URL are always answered).",
        default=[],
    )
    resilience.add_options(parser)


# The names this module is registered under: the pytest11 entry point's, and its own when a
# conftest lists it in pytest_plugins (or -p names it). pluggy refuses one plugin under two names.
_PLUGIN_NAMES = ("writer_stream_testkit", __name__)


def pytest_plugin_registered(plugin: object, manager: pytest.PytestPluginManager) -> None:
    """Once this module is registered under one of its names, skip registering it under the other.

    Blocking a name is pytest's public way to skip a plugin (``-p no:NAME`` does it), so
    ``pytest_plugins = ["writer_stream_testkit.pytest_plugin"]`` beside the entry point is a no-op
    instead of "Plugin already registered under a different name".
    """
    if plugin is not sys.modules[__name__]:
        return
    registered_as = manager.get_name(plugin)
    for name in _PLUGIN_NAMES:
        if name != registered_as and not manager.is_blocked(name):
            manager.set_blocked(name)


def pytest_configure(config: pytest.Config) -> None:
    resilience.configure(config)
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(path=None, **options): use a cassette for this test; the path is relative to the "
        "cassette directory, and keyword arguments are Cassette options (record_mode=..., timing=..., ...).",
    )
    config.addinivalue_line(
        "markers",
        f"{_BLOCK_MARKER}(allowed_hosts=()): refuse every host but this machine (and allowed_hosts) in this "
        "test, as --writer-block-network does for every test.",
    )
    # Bad settings stop the run at once, naming the option, instead of failing every test.
    mode = _setting(config, "writer_record_mode")
    if mode is not None:
        from .cassettes.modes import check_record_mode

        try:
            check_record_mode(mode)
        except ValueError as error:
            raise pytest.UsageError(f"writer_record_mode in {config.inipath}: {error}") from None
    timing = _setting(config, "writer_replay_timing")
    if timing is not None:
        _parse_timing(timing)
    for pattern in config.getini("writer_redact_patterns"):
        try:
            re.compile(pattern)
        except re.error as error:
            raise pytest.UsageError(
                f"writer_redact_patterns in {config.inipath} has {pattern!r}, which is not a regular "
                f"expression ({error}); fix or remove that line."
            ) from None
    base_urls = config.getini("writer_base_urls")
    if base_urls or os.environ.get("WRITER_BASE_URL"):  # the base URLs writer_mock will answer for
        from .doubles.hosts import BaseURLs

        try:
            BaseURLs(base_urls)
        except ScriptError as error:
            raise pytest.UsageError(f"writer_base_urls in {config.inipath}: {error}") from None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, Any, Any]:
    """Hold ``--writer-block-network`` for the whole test, fixtures included; keep its refusals its own.

    The refusals a test caused are forgotten when it ends, so a test that runs
    pytest inside itself (pytester) is not failed by its inner tests' refusals.
    """
    item.stash[_REFUSED_FROM] = len(guard.refused)
    config = item.config
    marker = item.get_closest_marker(_BLOCK_MARKER)
    allowed = [
        *config.getini("writer_allowed_hosts"),
        *(marker.kwargs.get("allowed_hosts", ()) if marker else ()),
    ]
    try:
        if (
            marker
            or config.getoption("writer_block_network", default=None)
            or config.getini("writer_block_network")
        ):
            with guard.block(allowed):
                return (yield)
        return (yield)
    finally:
        guard.forget(since=item.stash[_REFUSED_FROM])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    """Verify the test's doubles as its body ends, so their verdict fails the test itself.

    Verified at teardown instead, an unused reply would read "1 passed, 1 error".
    Teardown verifies again (stopping a double may find more), without repeating
    what was found here.
    """
    result = yield
    refused = guard.refused[item.stash.get(_REFUSED_FROM, 0) :]
    item.stash[_VERIFIED] = True
    problems: list[str] = []
    if refused:
        listed = "".join(f"\n  - {line}" for line in refused)
        problems.append(
            f"{len(refused)} request{'s' if len(refused) != 1 else ''} tried to leave the test and "
            f"{'were' if len(refused) != 1 else 'was'} refused:{listed}\nPoint the client at a double "
            "(writer_server.base_url, writer_mock) or record with a cassette; the client's error says which."
        )
    first: AssertionError | None = None
    for name, double in item.stash.get(_DOUBLES, []):
        try:
            double.verify()
        except AssertionError as problem:
            first = first or problem
            problems.append(f"{name}: {problem}" if len(item.stash.get(_DOUBLES, [])) > 1 else str(problem))
    if len(problems) == 1 and first is not None:
        raise first  # the double's own error, as it raised it
    if problems:
        kind = type(first) if first is not None and not refused else UnexpectedRequestError
        raise kind("\n\n".join(problems))
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """Put the kit's own verdict where a reader looks first.

    A failing test's report starts with what the doubles saw (a strict miss
    reaches the test as the client's HTTP 500, after the client's traceback),
    and a teardown verdict is its message alone, not the fixture's source.
    """
    report = yield
    if report.when == "call" and report.failed and item.stash.get(_VERIFIED, False) and _is_verdict(call):
        item.stash[_FAILED] = True
        assert call.excinfo is not None
        report.longrepr = f"{type(call.excinfo.value).__name__}: {call.excinfo.value}"
    elif report.when == "call" and report.failed:
        item.stash[_FAILED] = True
        causes = []
        for name, double in item.stash.get(_DOUBLES, []):
            try:
                double.verify()
            except (UnexpectedRequestError, CassetteMissError, ReplyError) as problem:
                # a request the double could not answer is most likely why the test failed
                causes.append(f"{_SECTION}: {name} saw: {type(problem).__name__}: {problem}")
            except (AssertionError, RuntimeError) as problem:
                report.sections.append((f"{_SECTION}: {name} also saw", str(problem)))
        causes.extend(_flat_question_read_as_data(item, call))
        if causes and report.longrepr is not None:
            report.longrepr = "\n\n".join([*causes, f"The test failed with:\n{report.longrepr}"])
        for hint in item.stash.get(_HINTS, []):
            report.sections.append((f"{_SECTION}: hint", hint))
    elif report.when == "call" and call.excinfo is not None:
        item.stash[_FAILED] = True  # raised but reported otherwise (xfail): teardown does not verify on top
    elif report.when == "teardown" and report.failed and _is_verdict(call):
        assert call.excinfo is not None
        report.longrepr = f"{type(call.excinfo.value).__name__}: {call.excinfo.value}"
    return report


def _flat_question_read_as_data(item: pytest.Item, call: pytest.CallInfo[None]) -> list[str]:
    """Explain ``chunk.data.answer`` on a Knowledge Graph question chunk, the one mistake no double can see.

    Writer's API (and ``QuestionScript``'s default ``shape="flat"``) sends each chunk as the
    ``Question`` itself; ``writerai``'s ``QuestionResponseChunk`` declares it wrapped as
    ``{"data": Question}``, so ``chunk.data`` is ``None`` and ``chunk.data.answer`` raises.
    """
    error = call.excinfo.value if call.excinfo is not None else None
    if not isinstance(error, AttributeError) or "'NoneType' object has no attribute" not in str(error):
        return []
    asked = any(
        getattr(c, "path", "").endswith("/v1/graphs/question")
        for _, double in item.stash.get(_DOUBLES, [])
        for c in getattr(double, "calls", [])
    )
    if not asked:
        return []
    return [
        f"{_SECTION}: this test asked a Knowledge Graph question and then read an attribute of None "
        f"({error}). Each streamed question chunk is the Question itself, as Writer's API sends it: read "
        "chunk.answer (and chunk.sources ...), not chunk.data.answer; writerai's QuestionResponseChunk "
        "declares a {'data': Question} wrapper the API does not send, so chunk.data is None. To test code "
        "that reads chunk.data, queue QuestionScript(shape='spec')."
    ]


def _is_verdict(call: pytest.CallInfo[None]) -> bool:
    """Whether ``call`` failed with the kit's own verdict (shown as its message alone, no traceback)."""
    verdict = call.excinfo.value if call.excinfo is not None else None
    return isinstance(verdict, TestkitError) and isinstance(verdict, AssertionError)


# --- settings -------------------------------------------------------------------------------------


def _setting(config: pytest.Config, ini: str) -> str | None:
    """The command-line value, else the ini value, else ``None``."""
    value = config.getoption(ini, default=None)
    if value is None:
        value = config.getini(ini) or None
    return str(value) if value is not None else None


def _cassette_dir(config: pytest.Config) -> Path | None:
    flag = config.getoption("writer_cassette_dir", default=None)
    if flag:
        return Path(os.path.normpath(config.invocation_params.dir / str(flag)))
    ini = config.getini("writer_cassette_dir")
    if ini:
        base = config.inipath.parent if config.inipath else config.rootpath
        return Path(os.path.normpath(base / str(ini)))
    return None


def _parse_timing(value: str) -> Timing:
    from .cassettes.timing import parse_timing

    try:
        return parse_timing(value)
    except ValueError:
        raise pytest.UsageError(
            f"--writer-replay-timing / writer_replay_timing={value!r} is not understood; use 'fast', "
            "'recorded', or a number >= 0 that scales the recorded gaps (0.5 replays twice as fast)."
        ) from None


def cassette_path_for(item: pytest.Item, cassette_dir: Path | None = None) -> Path:
    """Where a test's cassette lives by default: ``<dir>/<test module>/<test name>.yaml``.

    ``<dir>`` is ``cassette_dir`` (``--writer-cassette-dir``) or a ``cassettes``
    folder next to the test file; the module sub-folder keeps two modules' tests
    of the same name apart.
    """
    test_file = Path(str(item.path))
    base = cassette_dir if cassette_dir is not None else test_file.parent / "cassettes"
    name = re.sub(r"[^\w.\-\[\]]+", "_", item.name).strip("_") or "cassette"
    return base / test_file.stem / f"{name}.yaml"


def _make_cassette(request: pytest.FixtureRequest, config_fixture: Any) -> Cassette:
    from .cassettes.cassette import Cassette

    node = request.node
    marker = node.get_closest_marker(_MARKER)
    args: tuple[Any, ...] = marker.args if marker else ()
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    if len(args) > 1 or (args and "path" in options):
        pytest.fail(
            f"@pytest.mark.{_MARKER} on {node.nodeid} takes one cassette path (positionally or as "
            f"path=...), but got {args!r} and {options.get('path')!r}; pass the other options as keywords.",
            pytrace=False,
        )
    explicit = options.pop("path", None) or (args[0] if args else None)
    settings = _settings(request.config, options, config_fixture)
    problem = settings.check(
        [name for name in inspect.signature(Cassette).parameters if name != "path"],
        marker=f"@pytest.mark.{_MARKER} on {node.nodeid}",
        config=f"The writer_cassette_config fixture (for {node.nodeid})",
    )
    if problem is not None:
        raise pytest.fail.Exception(problem, pytrace=False) from None
    cassette_dir = _cassette_dir(request.config)
    if explicit is None:
        path = cassette_path_for(node, cassette_dir)
    else:
        given = Path(os.fspath(explicit))
        base = cassette_dir if cassette_dir is not None else Path(str(node.path)).parent / "cassettes"
        path = given if given.is_absolute() else base / given
    try:
        return Cassette(path, **settings.options())
    except (TypeError, ValueError) as error:
        problem = f"The cassette for {node.nodeid} is misconfigured: {error}"
    raise pytest.fail.Exception(problem, pytrace=False) from None


def _settings(config: pytest.Config, marker: dict[str, Any], config_fixture: Any) -> CassetteSettings:
    """The four layers of a cassette's options, as the command line, marker, fixture and ini file give them."""
    from .cassettes.settings import CassetteSettings

    flags: dict[str, Any] = {}
    ini: dict[str, Any] = {}
    for option, key in (("record_mode", "writer_record_mode"), ("upstream", "writer_upstream")):
        flags[option] = config.getoption(key, default=None)
        ini[option] = config.getini(key) or None
    for layer, value in (
        (flags, config.getoption("writer_replay_timing", default=None)),
        (ini, config.getini("writer_replay_timing") or None),
    ):
        layer["timing"] = None if value is None else _parse_timing(str(value))
    return CassetteSettings(
        flags=flags,
        marker=marker,
        config=config_fixture,
        ini=ini,
        extra_redact=tuple(config.getini("writer_redact_patterns")),
    )


def _watch(request: pytest.FixtureRequest, name: str, double: _Double) -> None:
    request.node.stash.setdefault(_DOUBLES, []).append((name, double))


def _verify_unless_failed(request: pytest.FixtureRequest, double: _Double) -> None:
    if not request.node.stash.get(_FAILED, False):
        double.verify()


def _dummy_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    if not os.environ.get("WRITER_API_KEY"):
        monkeypatch.setenv("WRITER_API_KEY", DUMMY_API_KEY)


def _api_key_for(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, cassette: Cassette) -> bool:
    """Give a replay-only cassette the dummy key; return whether ``cassette`` may record.

    A cassette that may record gets no dummy (recording needs the real key); when
    the key is unset, a failing test's report says so.
    """
    may_record = cassette.may_record()
    if not may_record:
        _dummy_api_key(monkeypatch)
    elif not os.environ.get("WRITER_API_KEY"):
        request.node.stash.setdefault(_HINTS, []).append(
            f"Cassette {cassette.path} may record in this test (record_mode={cassette.record_mode!r}) and "
            "WRITER_API_KEY is not set: recording needs a real WRITER_API_KEY (the plugin sets a dummy key "
            "only for replay). If the failure is about the API key, set WRITER_API_KEY to a real key and "
            "run again."
        )
    return may_record


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def writer_cassette_config() -> dict[str, Any]:
    """The default options of every cassette in its scope, as ``Cassette`` keyword arguments (none here).

    Override it in a conftest.py or a test module, as pytest-recording's
    ``vcr_config``: ``return {"match_on": ["method", "path", "body"], "redact": [...]}``.
    The marker's keyword arguments and the command line beat it; it beats the ini file.
    """
    return {}


@pytest.fixture
def writer_mock(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[WriterMock]:
    """An in-process Writer API double; unexpected requests and unused replies fail the test.

    It answers for https://api.writer.com, ``WRITER_BASE_URL`` and the base URLs
    listed under the ``writer_base_urls`` ini key; add more with ``add_base_url()``.
    """
    from .doubles.mock import WriterMock

    _dummy_api_key(monkeypatch)
    mock = WriterMock(base_url=request.config.getini("writer_base_urls")).start()
    _watch(request, "writer_mock", mock)
    try:
        yield mock
    finally:
        mock.stop()
    _verify_unless_failed(request, mock)


@pytest.fixture
def writer_server(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, writer_cassette_config: Any
) -> Iterator[FakeWriterServer]:
    """A real HTTP server on 127.0.0.1 speaking the Writer API; give clients its ``base_url``.

    When the test carries ``@pytest.mark.writer_cassette``, the server serves
    that cassette; otherwise it serves the replies queued with ``reply()``. A
    cassette whose record mode may record is served through the record proxy
    (as ``writer-stream-testkit record`` does), so a client in any process
    records into it from ``upstream`` (default: the real API); the file is
    saved after each response and at teardown. A replay-only cassette is served
    as it is.
    """
    from .cassettes.proxy import RecordingProxy
    from .doubles.mock import DEFAULT_BASE_URL
    from .doubles.server import FakeWriterServer

    marked = request.node.get_closest_marker(_MARKER)
    cassette = _make_cassette(request, writer_cassette_config) if marked else None
    proxy: RecordingProxy | None = None
    if cassette is None:
        _dummy_api_key(monkeypatch)
        server = FakeWriterServer()
    elif _api_key_for(request, monkeypatch, cassette):
        # The record proxy behind `writer-stream-testkit record`: any client, in any process, records.
        upstream = cassette.upstream or DEFAULT_BASE_URL
        proxy = RecordingProxy(
            cassette, upstream, upstream_option="the cassette's upstream= (--writer-upstream)"
        )
        server = FakeWriterServer(source=proxy)
        server.cassette = cassette
    else:
        server = FakeWriterServer(cassette=cassette)
    server.chaos = resilience.marker_chaos(request.node)
    server.start()
    # writerai.Writer() with no base_url, here or in a subprocess, reaches the server, not the real API
    monkeypatch.setenv("WRITER_BASE_URL", server.base_url)
    _watch(request, "writer_server", server)
    try:
        yield server
    finally:
        server.stop()
        if proxy is not None:
            proxy.save()  # each response saved itself as it ended; this catches streams the stop cut
    _verify_unless_failed(request, server)


@pytest.fixture
def writer_cassette(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, writer_cassette_config: Any
) -> Iterator[Cassette]:
    """The test's cassette, active in-process: Writer requests replay from it or are recorded into it."""
    cassette = _make_cassette(request, writer_cassette_config)
    _api_key_for(request, monkeypatch, cassette)
    cassette.start()
    _watch(request, "writer_cassette", cassette)
    try:
        yield cassette
    finally:
        cassette.stop()
        cassette.save()
    _verify_unless_failed(request, cassette)


@pytest.fixture
def writer_snapshot(snapshot: Any) -> Any:
    """syrupy's ``snapshot``, storing stream events as a readable ``.stream.txt`` transcript."""
    from .testing.snapshot import WriterSnapshotExtension

    return snapshot.use_extension(WriterSnapshotExtension)

"""The pytest plugin: fixtures, the ``writer_cassette`` marker and the ``--writer-*`` options.

Registered through the ``pytest11`` entry point, so installing the package is
enough; disable it with ``-p no:writer_stream_testkit``. Listing it in
``pytest_plugins`` (or ``-p writer_stream_testkit.pytest_plugin``) as well is
harmless: the second registration is skipped. It only wires pytest to
the library's objects (``WriterMock``, ``FakeWriterServer``, ``Cassette``,
``WriterSnapshotExtension``) and keeps no logic of its own.

Settings, strongest first: the marker's keyword arguments (they are
``Cassette(...)``'s own), then the command line, then the ini file.

Strictness follows the library: when a test passes, each fixture verifies its
double at teardown (an unexpected request, an unused reply or a cassette miss
fails there). When the test itself fails, teardown does not verify, so the
test's own failure is the one reported; what the double saw is appended to that
failure as a ``writer-stream-testkit`` section instead.

API key: ``writerai.Writer()`` refuses to start without ``WRITER_API_KEY``.
When it is unset, ``writer_mock``, ``writer_server`` and a replay-only
``writer_cassette`` set it to a dummy value for the test (nothing real is ever
called). A cassette that may record gets no dummy: recording needs the real key.
"""

from __future__ import annotations

import difflib
import inspect
import os
import re
import sys
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest

from .cassettes.cassette import Cassette
from .cassettes.model import RECORD_MODES, Timing
from .cassettes.modes import check_record_mode
from .cassettes.proxy import RecordingProxy
from .cassettes.timing import parse_timing
from .doubles.mock import DEFAULT_BASE_URL, WriterMock
from .doubles.server import FakeWriterServer
from .errors import CassetteMissError, ScriptError, TestkitError, UnexpectedRequestError
from .testing.snapshot import WriterSnapshotExtension

__all__ = ["DUMMY_API_KEY", "cassette_path_for"]

DUMMY_API_KEY = "writer-stream-testkit-dummy-key"
"""The ``WRITER_API_KEY`` the fixtures set when it is unset and no request can reach the real API."""

_MARKER = "writer_cassette"
_SECTION = "writer-stream-testkit"


class _Double(Protocol):
    def verify(self) -> None: ...


_FAILED = pytest.StashKey[bool]()
_DOUBLES = pytest.StashKey[list[tuple[str, _Double]]]()
_HINTS = pytest.StashKey[list[str]]()

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
    parser.addini(
        "writer_base_urls",
        type="linelist",
        help="Extra Writer API base URLs the writer_mock fixture answers for, one per line "
        "(https://api.writer.com and WRITER_BASE_URL are always answered).",
        default=[],
    )


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
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(path=None, **options): use a cassette for this test; the path is relative to the "
        "cassette directory, and keyword arguments are Cassette options (record_mode=..., timing=..., ...).",
    )
    # Bad settings stop the run at once, naming the option, instead of failing every test.
    mode = _setting(config, "writer_record_mode")
    if mode is not None:
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
    try:
        WriterMock(base_url=config.getini("writer_base_urls"))
    except ScriptError as error:
        raise pytest.UsageError(f"writer_base_urls in {config.inipath}: {error}") from None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """Put the kit's own verdict where a reader looks first.

    A failing test's report starts with what the doubles saw (a strict miss
    reaches the test as the client's HTTP 500, after the client's traceback),
    and a teardown verdict is its message alone, not the fixture's source.
    """
    report = yield
    if report.when == "call" and report.failed:
        item.stash[_FAILED] = True
        causes = []
        for name, double in item.stash.get(_DOUBLES, []):
            try:
                double.verify()
            except (UnexpectedRequestError, CassetteMissError) as problem:
                # a request the double could not answer is most likely why the test failed
                causes.append(f"{_SECTION}: {name} saw: {type(problem).__name__}: {problem}")
            except (AssertionError, RuntimeError) as problem:
                report.sections.append((f"{_SECTION}: {name} also saw", str(problem)))
        if causes and report.longrepr is not None:
            report.longrepr = "\n\n".join([*causes, f"The test failed with:\n{report.longrepr}"])
        for hint in item.stash.get(_HINTS, []):
            report.sections.append((f"{_SECTION}: hint", hint))
    elif report.when == "teardown" and report.failed and call.excinfo is not None:
        verdict = call.excinfo.value
        if isinstance(verdict, TestkitError) and isinstance(verdict, AssertionError):
            report.longrepr = f"{type(verdict).__name__}: {verdict}"
    return report


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


def _make_cassette(request: pytest.FixtureRequest) -> Cassette:
    config = request.config
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
    _check_marker_options(node, options)
    cassette_dir = _cassette_dir(config)
    if explicit is None:
        path = cassette_path_for(node, cassette_dir)
    else:
        given = Path(os.fspath(explicit))
        base = cassette_dir if cassette_dir is not None else Path(str(node.path)).parent / "cassettes"
        path = given if given.is_absolute() else base / given
    # The marker's keywords beat the command line, which beats the ini file (both read by _setting).
    for option, ini in (("record_mode", "writer_record_mode"), ("upstream", "writer_upstream")):
        value = _setting(config, ini)
        if value is not None:
            options.setdefault(option, value)
    timing = _setting(config, "writer_replay_timing")
    if timing is not None:
        options.setdefault("timing", _parse_timing(timing))
    patterns = list(config.getini("writer_redact_patterns"))
    if patterns:
        options["redact"] = [*patterns, *options.get("redact", ())]
    problem: str | None = None
    try:
        return Cassette(path, **options)
    except TypeError as error:
        problem = (
            f"@pytest.mark.{_MARKER} on {node.nodeid} passed an option Cassette does not take ({error}). "
            "The marker's keyword arguments go straight to Cassette(...); see its signature."
        )
    except ValueError as error:
        problem = f"The cassette for {node.nodeid} is misconfigured: {error}"
    raise pytest.fail.Exception(problem, pytrace=False) from None


def _check_marker_options(node: pytest.Item, options: dict[str, Any]) -> None:
    """Fail once, naming the test, for a marker keyword ``Cassette`` does not take (a typo, usually)."""
    valid = [name for name in inspect.signature(Cassette).parameters if name != "path"]
    unknown = [name for name in options if name not in valid]
    if not unknown:
        return
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(name, valid, n=1)
        parts.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    noun = "an option" if len(unknown) == 1 else "options"
    raise pytest.fail.Exception(
        f"@pytest.mark.{_MARKER} on {node.nodeid} passed {noun} Cassette does not take: {', '.join(parts)}. "
        f"The marker's keyword arguments go straight to Cassette(...), which takes path, {', '.join(valid)}; "
        "fix the spelling or remove the keyword.",
        pytrace=False,
    ) from None


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


@pytest.fixture
def writer_mock(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[WriterMock]:
    """An in-process Writer API double; unexpected requests and unused replies fail the test.

    It answers for https://api.writer.com, ``WRITER_BASE_URL`` and the base URLs
    listed under the ``writer_base_urls`` ini key; add more with ``add_base_url()``.
    """
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
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
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
    cassette = _make_cassette(request) if request.node.get_closest_marker(_MARKER) else None
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
    server.start()
    _watch(request, "writer_server", server)
    try:
        yield server
    finally:
        server.stop()
        if proxy is not None:
            proxy.save()  # each response saved itself as it ended; this catches streams the stop cut
    _verify_unless_failed(request, server)


@pytest.fixture
def writer_cassette(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cassette]:
    """The test's cassette, active in-process: Writer requests replay from it or are recorded into it."""
    cassette = _make_cassette(request)
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
    return snapshot.use_extension(WriterSnapshotExtension)

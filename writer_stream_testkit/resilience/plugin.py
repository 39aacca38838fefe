"""The pytest edge of the resilience run: options, fault items, the hook per test, the merged report.

With ``--writer-resilience``, every collected test is kept as it is (its plain
run) and gets one more item per fault kind, made at collection time
(``test_x[fault=rate-limit]``), so pytest-xdist spreads them like any other
items. While an item runs, its :class:`~.inject.Injector` is the process-wide
fault hook every double asks; the item's report then carries its verdict,
passing or failing by it, and the verdicts of every worker meet on the
controller (``pytest_runtest_logreport``), which renders the report once.

Which tests stream is only known by running them: a fault item whose test
made no streaming request is skipped (its plain run, when it ran first in the
same process, skips it before it starts), is left out of the report, and is
remembered in pytest's cache, so the next run does not make it at all
(``--cache-clear`` forgets). Without the switch this module only adds its
options and marker, and it imports what a run needs (the injector, the judge,
chaos) only when one starts, so loading the plugin stays cheap.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..doubles import faulting
from ..errors import ScriptError
from .kinds import KINDS, parse_kinds
from .report import VERDICTS, build_report, plural, terminal_lines

if TYPE_CHECKING:
    from .chaos import Chaos
    from .inject import Injector, Observer
    from .judge import ErrorOrigin, Frame

__all__ = ["DEFAULT_TIMEOUT", "add_options", "configure", "marker_chaos"]

DEFAULT_TIMEOUT = 10.0
"""Seconds a stalled stream may be waited on before the verdict is ``hung`` and the kit cuts it."""

MARKER = "writer_resilience"
SERVER_MARKER = "writer_server"
CACHE_KEY = "writer_stream_testkit/resilience_streamed"
RESULT = "writer_resilience"
PLAIN = "writer_resilience_plain"

_KIND = pytest.StashKey[str]()
_TWIN = pytest.StashKey[str]()
_HOOK = pytest.StashKey[Any]()
_EXPECT = pytest.StashKey[dict[str, str]]()


def add_options(parser: pytest.Parser) -> None:
    """The ``--writer-resilience*`` options (called from the plugin's ``pytest_addoption``)."""
    group = parser.getgroup("writer-stream-testkit")
    group.addoption(
        "--writer-resilience",
        action="store_true",
        default=False,
        help="Run every test that streams through a double once more per fault kind, and judge how the "
        "app met each fault.",
    )
    group.addoption(
        "--writer-resilience-faults",
        default=None,
        metavar="KIND,KIND",
        help=f"Fault kinds to inject: some of {', '.join(KINDS)}, or 'all' (default: every kind but crlf).",
    )
    group.addoption(
        "--writer-resilience-timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"How long a stalled stream is waited on before the verdict is hung (default {DEFAULT_TIMEOUT:g}).",
    )
    group.addoption(
        "--writer-resilience-json", default=None, metavar="PATH", help="Write the verdicts as JSON."
    )
    group.addoption(
        "--writer-resilience-html", default=None, metavar="PATH", help="Write the verdicts as one HTML page."
    )
    group.addoption(
        "--writer-resilience-fail-on",
        choices=("failing", "never"),
        default="failing",
        help="Which verdicts fail their item (and so the run): 'failing' (default) or 'never' (report only).",
    )


def configure(config: pytest.Config) -> None:
    """Register the marker; with the switch on, check the options and register the run's hooks."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(skip=False, faults=None, expect=None): in a --writer-resilience run, skip=True leaves "
        "the test out, faults=[...] picks its fault kinds, and expect={kind: verdict} declares a verdict "
        "the test expects, which then does not fail the run.",
    )
    config.addinivalue_line(
        "markers",
        f"{SERVER_MARKER}(chaos=None, seed=None): the writer_server fixture faults streaming requests at "
        "random, chaos='KIND=RATE,...' (rate-limit=0.2,disconnect=0.05), from the seed (printed on failure).",
    )
    if not config.getoption("writer_resilience", default=False):
        return
    try:
        kinds = parse_kinds(config.getoption("writer_resilience_faults"))
    except ScriptError as error:
        raise pytest.UsageError(str(error)) from None
    timeout = config.getoption("writer_resilience_timeout")
    if not timeout > 0:
        raise pytest.UsageError(
            f"--writer-resilience-timeout got {timeout}; pass a number of seconds above 0 (default 10)."
        )
    if config.getoption("writer_resilience_html") and importlib.util.find_spec(f"{__package__}.html") is None:
        raise pytest.UsageError(
            "--writer-resilience-html needs the HTML renderer, writer_stream_testkit.resilience.html, which is not "
            "installed with this version; write --writer-resilience-json=PATH instead."
        )
    config.pluginmanager.register(ResiliencePlugin(config, kinds, float(timeout)), "writer_resilience")


def marker_chaos(item: pytest.Item) -> Chaos | None:
    """The ``writer_server`` marker's chaos for the fixture's server, its seed added to the test's report."""
    marker = item.get_closest_marker(SERVER_MARKER)
    if marker is None:
        return None
    from .chaos import Chaos

    unknown = sorted(set(marker.kwargs) - {"chaos", "seed"})
    rates = marker.kwargs.get("chaos")
    if unknown or marker.args or rates is None:
        raise pytest.UsageError(
            f"@pytest.mark.{SERVER_MARKER} on {item.nodeid} takes chaos='KIND=RATE,...' (or a dict of rates) "
            "and seed=; pass chaos=, and nothing else."
        )
    try:
        chaos = (
            Chaos.parse(rates, seed=marker.kwargs.get("seed"))
            if isinstance(rates, str)
            else Chaos(dict(rates), seed=marker.kwargs.get("seed"))
        )
    except ScriptError as error:
        raise pytest.UsageError(f"@pytest.mark.{SERVER_MARKER} on {item.nodeid}: {error}") from None
    item.add_report_section(
        "call",
        "writer-stream-testkit chaos",
        f"seed {chaos.seed}: pass seed={chaos.seed} to replay these faults",
    )
    return chaos


def _marker_options(
    item: pytest.Item, kinds: tuple[str, ...]
) -> tuple[bool, tuple[str, ...], dict[str, str]]:
    marker = item.get_closest_marker(MARKER)
    if marker is None:
        return False, kinds, {}
    where = f"@pytest.mark.{MARKER} on {item.nodeid}"
    unknown = sorted(set(marker.kwargs) - {"skip", "faults", "expect"})
    if unknown or marker.args:
        raise pytest.UsageError(
            f"{where} takes only the keyword arguments skip=, faults= and expect=; "
            f"remove {', '.join(unknown) or 'the positional arguments'}."
        )
    picked = marker.kwargs.get("faults")
    try:
        chosen = kinds if picked is None else parse_kinds(",".join(picked), where=where)
    except ScriptError as error:
        raise pytest.UsageError(str(error)) from None
    expect = dict(marker.kwargs.get("expect") or {})
    bad = {k: v for k, v in expect.items() if k not in KINDS or v not in VERDICTS}
    if bad:
        raise pytest.UsageError(
            f"{where} expects {bad!r}: keys must be fault kinds ({', '.join(KINDS)}) and values verdicts "
            f"({', '.join(VERDICTS)})."
        )
    return bool(marker.kwargs.get("skip", False)), chosen, expect


def _with_fault_id(callspec: Any, kind: str) -> Any:
    """The parametrized item's call spec with the fault in its id, where pytest builds node ids from it."""
    idlist = getattr(callspec, "_idlist", None)
    if idlist is None or not dataclasses.is_dataclass(callspec) or isinstance(callspec, type):
        return callspec  # pragma: no cover - a pytest that builds the node id from the name
    return dataclasses.replace(callspec, _idlist=(*idlist, f"fault={kind}"))


def _fault_name(name: str, kind: str) -> str:
    return f"{name[:-1]}-fault={kind}]" if name.endswith("]") else f"{name}[fault={kind}]"


class ResiliencePlugin:
    """The hooks of one ``--writer-resilience`` session (on the controller and on each xdist worker)."""

    def __init__(self, config: pytest.Config, kinds: tuple[str, ...], timeout: float) -> None:
        self.config = config
        self.kinds = kinds
        self.timeout = timeout
        self.worker = hasattr(config, "workerinput")
        self.fail_on = config.getoption("writer_resilience_fail_on")
        self.results: list[dict[str, Any]] = []
        self.plain: dict[str, dict[str, Any]] = {}
        self.streamed_here: dict[str, bool] = {}
        cache = getattr(config, "cache", None)
        known = cache.get(CACHE_KEY, {}) if cache is not None else {}
        self.known: dict[str, bool] = known if isinstance(known, dict) else {}

    # --- collection: one more item per (test, fault) -----------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        # first, so every other plugin sees the fault items as collected (syrupy checks under xdist
        # that each item run was collected) and -k / -m deselect them with their test
        extra: list[pytest.Item] = []
        for item in items:
            # plain test functions only: a unittest case or another plugin's item is not copied here
            if type(item) is not pytest.Function or _KIND in item.stash:
                continue
            skip, kinds, expect = _marker_options(item, self.kinds)
            if skip or self.known.get(item.nodeid) is False:
                continue
            callspec = getattr(item, "callspec", None)
            for kind in kinds:
                twin = pytest.Function.from_parent(
                    item.parent,
                    name=_fault_name(item.name, kind),
                    callspec=_with_fault_id(callspec, kind),
                    callobj=item.obj,
                    # the plain item's fixture closure, parametrized arguments included
                    fixtureinfo=item._fixtureinfo,
                    keywords={f"writer_resilience_{kind}": True},
                    originalname=None if callspec is None else item.originalname,
                )
                twin.stash[_KIND] = kind
                twin.stash[_TWIN] = item.nodeid
                twin.stash[_EXPECT] = expect
                extra.append(twin)
        items.extend(extra)

    def pytest_report_collectionfinish(self, items: list[pytest.Item]) -> str:
        faulted = sum(1 for item in items if _KIND in item.stash)
        return (
            f"writer-resilience: {plural(faulted, 'fault item')} added to {plural(len(items) - faulted, 'test')} "
            f"({', '.join(self.kinds)}; timeout {self.timeout:g} s)"
        )

    # --- running: the hook around each item ---------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        twin = item.stash.get(_TWIN, None)
        if twin is not None and self.streamed_here.get(twin) is False:
            pytest.skip(f"writer-resilience: {twin} made no streaming request through a double")

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, object, object]:
        from .inject import Injector, Observer

        kind = item.stash.get(_KIND, None)
        hook: Injector | Observer = (
            Observer() if kind is None else Injector(KINDS[kind], timeout=self.timeout)
        )
        item.stash[_HOOK] = hook
        faulting.install(hook)
        try:
            return (yield)
        finally:
            faulting.uninstall(hook)
            if isinstance(hook, Observer):
                self.streamed_here[item.nodeid] = hook.streamed

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        from .inject import Injector

        try:
            return (yield)
        finally:
            hook = item.stash.get(_HOOK, None)
            if isinstance(hook, Injector):
                hook.close()  # the test is over: a stall that ends from now on hung nobody

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        from .inject import Injector, Observer

        report = yield
        hook = item.stash.get(_HOOK, None)
        if isinstance(hook, Observer):
            if report.when == "call" or (report.when == "setup" and not report.passed):
                report.user_properties.append(
                    (PLAIN, {"test": item.nodeid, "streamed": hook.streamed, "outcome": report.outcome})
                )
            return report
        if not isinstance(hook, Injector):
            return report
        if report.when == "teardown":
            if report.failed and call.excinfo is not None and _origin(call.excinfo) == "kit-check":
                report.outcome = "passed"  # the kit's own strictness does not count against the app here
                report.longrepr = None
            return report
        if report.when == "setup" and (report.passed or report.skipped):
            return report
        hook.close()
        self._judge(item, hook, call, report)
        return report

    def _judge(
        self, item: pytest.Item, hook: Injector, call: pytest.CallInfo[None], report: pytest.TestReport
    ) -> None:
        from .judge import Facts, judge

        kind = item.stash[_KIND]
        excinfo = call.excinfo
        origin: ErrorOrigin = "none" if excinfo is None else _origin(excinfo)
        error = "" if excinfo is None else _describe(excinfo)
        outcome = "passed" if report.passed else "error" if report.when == "setup" else "failed"
        per_request: dict[int, list[Any]] = {}
        for attempt in hook.attempts:
            per_request.setdefault(attempt.request, []).append(attempt)
        faulted = [runs for runs in per_request.values() if runs[0].faulted]
        gaps = [runs[1].at - runs[0].at for runs in faulted if len(runs) > 1]
        facts = Facts(
            kind=kind,
            streamed=hook.streamed,
            faulted=len(faulted),
            attempts=max((len(runs) for runs in faulted), default=0),
            retry_gap=min(gaps) if gaps else None,
            hung=hook.hung,
            outcome=outcome,  # type: ignore[arg-type]
            origin=origin,
            error=error,
            notes=tuple(hook.notes),
            attempts_any=max((len(runs) for runs in per_request.values()), default=0),
        )
        verdict = judge(facts)
        expected = item.stash.get(_EXPECT, {}).get(kind) == verdict.name
        if verdict.name == "not-applicable" and not hook.streamed:
            report.outcome = "skipped"
            report.longrepr = (
                str(item.path),
                item.location[1] or 0,
                f"Skipped: writer-resilience: {verdict.reason}",
            )
            return
        attempt_log = [
            {"at": round(a.at, 4), "method": a.method, "path": a.path, "status": a.status, "note": a.note}
            for a in hook.attempts
        ]
        result: dict[str, Any] = {
            "test": item.stash[_TWIN],
            "fault": kind,
            "verdict": verdict.name,
            "reason": verdict.reason,
            "fix": verdict.fix,
            "attempts": facts.attempts,
            "attempt_log": attempt_log,
            "outcome": outcome,
            "duration": round(report.duration, 4),
            "worker": getattr(self.config, "workerinput", {}).get("workerid"),
            "expected": expected,
        }
        report.user_properties.append((RESULT, result))
        failing = VERDICTS[verdict.name].failing and not expected and self.fail_on == "failing"
        if failing:
            log = "\n".join(
                f"  {a['at']:8.3f} s  {a['method']} {a['path']}  {a['status'] or '-'}  {a['note']}"
                for a in attempt_log
            )
            # a fault may leave a reply unused: the kit's strictness then fires, not the app's doing
            if origin == "kit-check":
                ended = f"\n\n(The kit's own check also fired, ignored in a fault run: {error}.)"
            elif report.longrepr is not None:
                ended = f"\n\nThe test ended with:\n{report.longrepr}"
            else:
                ended = ""
            report.outcome = "failed"
            report.longrepr = (
                f"writer-resilience: {verdict.name} under the {kind} fault: {verdict.reason}.\n"
                f"Fix: {verdict.fix}\nAttempts (seconds from the first request):\n{log}{ended}"
            )
        elif verdict.name == "not-applicable":
            report.outcome = "skipped"
            report.longrepr = (
                str(item.path),
                item.location[1] or 0,
                f"Skipped: writer-resilience: {verdict.reason}",
            )
        elif report.when == "call":
            report.outcome = "passed"
            report.longrepr = None
            report.sections.append(("writer-resilience", f"{verdict.name}: {verdict.reason}."))

    # --- the controller: merge and render --------------------------------------------------------------

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.worker:
            return
        for name, value in report.user_properties:
            if name == RESULT and isinstance(value, dict):
                self.results.append(value)
            elif name == PLAIN and isinstance(value, dict):
                self.plain[value["test"]] = value

    def report(self) -> dict[str, Any]:
        failed = [t for t, v in self.plain.items() if v["outcome"] != "passed"]
        return build_report(self.results, faults=self.kinds, baseline_failed=failed)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.worker:
            return
        cache = getattr(self.config, "cache", None)
        if cache is not None and self.plain:
            known = dict(self.known)
            known.update({test: bool(v["streamed"]) for test, v in self.plain.items()})
            cache.set(CACHE_KEY, known)
        document = self.report()
        json_path = self.config.getoption("writer_resilience_json")
        if json_path:
            _write(Path(json_path), json.dumps(document, indent=2) + "\n")
        html_path = self.config.getoption("writer_resilience_html")
        if html_path:
            from . import html  # type: ignore[attr-defined,unused-ignore]  # written beside this module

            _write(Path(html_path), html.render_html(document))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.worker or not (self.results or self.plain):
            return
        terminalreporter.section("writer-stream-testkit resilience")
        for line in terminal_lines(
            self.report(), width=terminalreporter.config.get_terminal_writer().fullwidth
        ):
            terminalreporter.write_line(line)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _frames(tb: Any) -> list[Frame]:
    from .judge import Frame

    out = []
    while tb is not None:
        frame = tb.tb_frame
        out.append(Frame(str(frame.f_globals.get("__name__", "")), frame.f_code.co_filename))
        tb = tb.tb_next
    return out


def _origin(excinfo: pytest.ExceptionInfo[BaseException]) -> ErrorOrigin:
    exc = excinfo.value
    origin = _origin_of_exception(exc)
    cause = exc.__cause__
    if origin == "app-crash" and cause is not None and _origin_of_exception(cause) == "sdk":
        return "sdk"  # the app raised deliberately `from` the SDK's error: the fault reached the test
    return origin


def _origin_of_exception(exc: BaseException) -> ErrorOrigin:
    from .judge import error_origin

    cls = type(exc)
    module = sys.modules.get(cls.__module__)
    return error_origin(
        type_name=cls.__name__,
        type_module=cls.__module__,
        type_file=str(getattr(module, "__file__", "") or ""),
        frames=_frames(exc.__traceback__),
        is_assertion=isinstance(exc, AssertionError),
    )


def _describe(excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    exc = excinfo.value
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = text if len(text) <= 120 else text[:117] + "..."
    where = ""
    frames = _frames(exc.__traceback__)
    if frames:
        last = frames[-1]
        where = f" in {Path(last.filename).name}"
    return f"{type(exc).__name__}: {text}{where}" if text else f"{type(exc).__name__}{where}"

"""``writer-stream-testkit``: the kit's command line, one subcommand per job.

``serve`` (scripts or a directory of cassettes over a socket), ``record`` (a
recording proxy), ``show`` (a cassette as a transcript), ``convert`` (vcrpy
cassettes into ours), ``verify`` (has the upstream drifted from a recording?)
and ``docs`` (the documents shipped in the package).
Each is a subparser with a ``_cmd_<name>(args) -> int``; what they print and
decide lives in ``cassettes/tools.py``, so this module only moves bytes. Exit
codes: 0 fine, 1 a finding (``verify`` drift, a port in use), 2 a usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import httpx

from .cassettes.cassette import Cassette
from .cassettes.files import save_cassette
from .cassettes.framing import body_from_reads, frame_stream
from .cassettes.load import load_cassette
from .cassettes.model import RECORD_MODES, CassetteContent, Interaction, RecordedResponse, Timing
from .cassettes.modes import check_upstream
from .cassettes.redact import is_credential_header
from .cassettes.timing import parse_timing
from .cassettes.tools import (
    Drift,
    compare_responses,
    convert_vcr,
    directory_miss_message,
    render_cassette_text,
    render_verify_report,
)
from .doubles.server import DEFAULT_MAX_BODY_SIZE, FakeWriterServer
from .errors import CassetteError, CassetteMissError, CassetteRecordError, ScriptError
from .resilience.chaos import Chaos
from .scripts.plan import ResponsePlan, error_plan
from .wire.call import Call

if TYPE_CHECKING:
    from .scripts.load import AnyScript

__all__ = ["build_parser", "main"]

_PROG = "writer-stream-testkit"
SERVE_HISTORY = 1000
"""How many requests ``serve`` and ``record`` remember: a server that runs for days must not grow."""


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, so tests and docs can inspect it without running anything."""
    parser = argparse.ArgumentParser(
        prog=_PROG,
        description="Test doubles, fault injection and cassettes for code that streams from the Writer chat API.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = commands.add_parser(
        "serve",
        help="run a fake Writer API on a local port",
        description=(
            "Serve the Writer API on a local port until Ctrl-C. The base URL is printed alone on "
            "the first line of stdout, for scripts to read; point any Writer SDK at it. Replies "
            "come from script files (--script: chat, completion, question and application scripts, "
            "and kind: json replies for any other endpoint; each answers its own endpoint) or from "
            "every *.yaml cassette in a directory (--cassettes), where each request replays the first "
            "unplayed recording that matches it."
        ),
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    serve.add_argument(
        "--port", type=int, default=8000, help="port to bind; 0 picks a free one (default: %(default)s)"
    )
    source = serve.add_mutually_exclusive_group()
    source.add_argument(
        "--script",
        dest="scripts",
        metavar="FILE.yaml",
        type=Path,
        nargs="+",
        default=[],
        help="script YAML files (kind: chat, completion, question, application or json); requests to "
        "each endpoint get the files for it in turn, cycling",
    )
    source.add_argument(
        "--cassettes",
        metavar="DIR",
        type=Path,
        help="replay every *.yaml cassette in this directory; a request no recording matches gets a 500 "
        "naming the closest one",
    )
    serve.add_argument(
        "--allow-repeats",
        action="store_true",
        help="with --cassettes: replay a recording again once every recording matching the request has "
        "played (default: each recording plays once, then the request gets a 500)",
    )
    serve.add_argument(
        "--times",
        type=int,
        metavar="N",
        help="serve the scripts N rounds, then answer 500 (default: cycle forever)",
    )
    serve.add_argument(
        "--timing",
        default="fast",
        metavar="fast|recorded|FACTOR",
        help="cassette replay speed: no waits, the recorded gaps, or the gaps times FACTOR (default: %(default)s)",
    )
    serve.add_argument(
        "--max-body-size",
        type=int,
        default=DEFAULT_MAX_BODY_SIZE,
        metavar="BYTES",
        help="refuse request bodies larger than this with a 413 (default: %(default)s, 32 MiB)",
    )
    serve.add_argument(
        "--history",
        type=int,
        default=SERVE_HISTORY,
        metavar="N",
        help="remember only the last N requests, so a long run does not grow (default: %(default)s)",
    )
    serve.add_argument(
        "--chaos", metavar="KIND=RATE,...", help="fault streaming requests at random, a rate per kind"
    )
    serve.add_argument(
        "--seed", type=int, help="seed for --chaos, to replay the same faults (default: random, printed)"
    )
    serve.add_argument(
        "--resilience-report",
        type=Path,
        metavar="FILE",
        help="with --chaos, write the clients' verdicts as JSON at exit",
    )
    serve.set_defaults(handler=_cmd_serve)

    record = commands.add_parser(
        "record",
        help="record any client's Writer traffic into a cassette, through a local proxy",
        description=(
            "Listen on a local port and forward each request (any method and path) to the upstream, streaming every "
            "chunk back to the client the moment it arrives while recording it into the cassette. "
            "Point any client (any language) at the base URL printed on the first line of stdout, "
            "with its real API key: the key is forwarded upstream but never written to the file. "
            "The cassette is saved (atomically) after each response and on Ctrl-C."
        ),
    )
    record.add_argument(
        "--upstream", required=True, metavar="URL", help="the API to record, e.g. https://api.writer.com"
    )
    record.add_argument(
        "--cassette", required=True, metavar="FILE", type=Path, help="the cassette file to write"
    )
    record.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    record.add_argument(
        "--port", type=int, default=8000, help="port to bind; 0 picks a free one (default: %(default)s)"
    )
    record.add_argument(
        "--record-mode",
        default="once",
        choices=[m for m in RECORD_MODES if m != "none"],
        help="what to do when the cassette exists, as in tests (default: %(default)s; see: writer-stream-testkit docs cassettes)",
    )
    record.add_argument(
        "--redact",
        action="append",
        default=[],
        metavar="REGEX",
        help="also replace matches of REGEX with <redacted> (repeatable); API keys are always removed",
    )
    record.set_defaults(handler=_cmd_record)

    show = commands.add_parser(
        "show",
        help="print a cassette as a readable transcript",
        description=(
            "Print each recorded interaction: the request line, model and last user message, the "
            "status, then every event with its time offset (chat chunks decoded into the SDK's stream "
            "events; completions, KG question and application chunks as their text and fields, then "
            "what the stream adds up to), incomplete streams marked, plain bodies shown briefly."
        ),
    )
    show.add_argument("file", metavar="FILE", type=Path, help="the cassette to show")
    show.set_defaults(handler=_cmd_show)

    convert = commands.add_parser(
        "convert",
        help="import a vcrpy cassette whose responses are SSE streams",
        description=(
            "Convert a vcrpy YAML cassette into this kit's format: each text/event-stream body is "
            "split into events, credentials are redacted on the way, and since vcrpy keeps no "
            "timing every event gets t=0. The vcrpy file is read as plain data only: a "
            "!!python/... tag is refused."
        ),
    )
    convert.add_argument("vcr_file", metavar="VCR_FILE", type=Path, help="the vcrpy cassette to read")
    convert.add_argument("--out", required=True, metavar="FILE", type=Path, help="the cassette to write")
    convert.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    convert.set_defaults(handler=_cmd_convert)

    verify = commands.add_parser(
        "verify",
        help="re-send recorded requests and report where the live stream drifted",
        description=(
            "Send each recorded request to the upstream again and compare the live stream's shape "
            "with the recording: status, which choices and delta fields each event carries, tool "
            "names, finish reasons and the SDK's .done events (for completions, KG question and "
            "application streams: which fields each chunk carries). Ids, timestamps, how the text is "
            "chunked and the text itself may differ (text differences are printed as notes). "
            "Exit status: 0 no drift, 1 drift, 2 usage error."
        ),
    )
    verify.add_argument("file", metavar="FILE", type=Path, help="the cassette to verify")
    verify.add_argument("--upstream", required=True, metavar="URL", help="the API to compare with")
    verify.add_argument(
        "--api-key",
        metavar="KEY",
        help="the key to send, since recordings hold none (default: $WRITER_API_KEY)",
    )
    verify.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="give up on a response after this long without a byte (default: %(default)s)",
    )
    verify.set_defaults(handler=_cmd_verify)

    docs = commands.add_parser(
        "docs",
        help="print one of the kit's documents (they ship in the package)",
        description="Print a document that ships with the package; with no NAME, list them.",
    )
    docs.add_argument("name", nargs="?", metavar="NAME", help="a document, e.g. cassettes or scripts")
    docs.set_defaults(handler=_cmd_docs)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``writer-stream-testkit`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except _UsageError as exc:
        parser.exit(2, f"{parser.prog} {args.command}: error: {exc}\n")
    return code


class _UsageError(Exception):
    """Options that parse but cannot be honoured; reported like an argparse error."""


# --- serve ----------------------------------------------------------------------------------------


class _Cycle:
    """A reply source that answers every request, handing out the scripts for its endpoint in turn forever.

    Each endpoint keeps its own turn, so a completions request between two chat
    requests does not make the chat scripts skip one.
    """

    def __init__(self, scripts: Sequence[AnyScript]) -> None:
        self._lock = threading.Lock()
        self._scripts = list(scripts)
        self._turns: dict[tuple[int, ...], int] = {}

    def take(self, call: Call) -> ResponsePlan:
        fitting = tuple(i for i, s in enumerate(self._scripts) if s.endpoint.matches(call.method, call.path))
        if not fitting:
            served = ", ".join(dict.fromkeys(str(s.endpoint) for s in self._scripts))
            return error_plan(
                500,
                f"No script answers {call.describe()}: the scripts given serve {served}. "
                "Pass a script for this endpoint with --script (kind: json for a JSON answer).",
            )
        with self._lock:
            turn = self._turns.get(fitting, 0)
            self._turns[fitting] = turn + 1
        return self._scripts[fitting[turn % len(fitting)]].plan(call)


class _CassetteDirectory:
    """A reply source over every cassette in a directory: one ``Cassette`` per file, tried in name order."""

    def __init__(
        self, directory: Path, cassettes: Sequence[Cassette], *, allow_repeats: bool = False
    ) -> None:
        self.directory = directory
        self.cassettes = list(cassettes)
        self.allow_repeats = allow_repeats
        self._lock = threading.Lock()
        self._misses: list[str] = []

    def take(self, call: Call) -> ResponsePlan:
        # Unplayed recordings first, in every file; then, with --allow-repeats, played ones.
        for unplayed_only in (True, False) if self.allow_repeats else (True,):
            for cassette in self.cassettes:
                counts = cassette.play_counts
                if any(
                    (counts[i] == 0 or not unplayed_only) and cassette.matches(call, x.request)
                    for i, x in enumerate(cassette.interactions)
                ):
                    return cassette.take(call)
        candidates = [
            (str(c.path), i, x.request, c.play_counts[i] > 0)
            for c in self.cassettes
            for i, x in enumerate(c.interactions)
        ]
        message = directory_miss_message(str(self.directory), call, candidates)
        with self._lock:
            self._misses.append(message)
        return error_plan(500, message)

    def verify(self) -> None:
        """Fail with every request no cassette answered (``FakeWriterServer.verify`` calls this)."""
        with self._lock:
            misses = list(self._misses)
        if misses:
            raise CassetteMissError(f"{len(misses)} request(s) found no recording:\n\n" + "\n\n".join(misses))

    def reset(self) -> None:
        with self._lock:
            self._misses.clear()


def _load_directory(directory: Path, timing: Timing, *, allow_repeats: bool) -> _CassetteDirectory:
    if not directory.is_dir():
        raise _UsageError(
            f"--cassettes {directory} is not a directory; pass the directory that holds the *.yaml cassettes."
        )
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise _UsageError(
            f"The directory {directory} holds no *.yaml cassettes; record one with `{_PROG} record` or "
            "point --cassettes at the right directory."
        )
    cassettes = [Cassette(path, timing=timing, allow_playback_repeats=allow_repeats) for path in files]
    for cassette in cassettes:
        try:
            cassette.load()
        except CassetteError as exc:
            raise _UsageError(f"{exc} (It is one of the cassettes in --cassettes {directory}.)") from None
    return _CassetteDirectory(directory, cassettes, allow_repeats=allow_repeats)


def _timing(text: str) -> Timing:
    try:
        return parse_timing(text)
    except ValueError:
        raise _UsageError(
            f"--timing {text} is not a replay timing; use fast (no waits), recorded (the recorded gaps), "
            "or a number >= 0 that scales them (0.5 replays twice as fast)."
        ) from None


def _cmd_serve(args: argparse.Namespace) -> int:
    if args.max_body_size < 0:
        raise _UsageError("--max-body-size needs a number of bytes, 0 or more.")
    if args.history < 1:
        raise _UsageError("--history needs a whole number of requests, at least 1.")
    if args.times is not None and (args.times < 1 or not args.scripts):
        raise _UsageError("--times needs --script and a whole number of at least 1.")
    if args.allow_repeats and args.cassettes is None:
        raise _UsageError("--allow-repeats replays cassettes, so it needs --cassettes DIR.")
    chaos = _chaos(args)
    timing = _timing(args.timing)
    directory = (
        _load_directory(args.cassettes, timing, allow_repeats=args.allow_repeats)
        if args.cassettes is not None
        else None
    )
    scripts = [_load_script(path) for path in args.scripts]
    server = FakeWriterServer(
        host=args.host,
        port=args.port,
        max_body_size=args.max_body_size,
        history=args.history,
        chaos=chaos,
        source=directory
        if directory is not None
        else _Cycle(scripts)
        if scripts and args.times is None
        else None,
    )
    for _ in range(args.times or 0):
        for script in scripts:
            server.reply(script)
    if directory is not None:
        count = sum(len(c.interactions) for c in directory.cassettes)
        what = f"{count} recording(s) from {len(directory.cassettes)} cassette(s) in {directory.directory}"
    elif scripts:
        served = ", ".join(dict.fromkeys(str(s.endpoint) for s in scripts))
        what = f"{len(scripts)} script(s) for {served}"
    else:
        what = "no replies (every request gets a 500)"
    if chaos is not None:
        what += f", chaos {args.chaos} (seed {chaos.seed}; --seed {chaos.seed} replays it)"
    status = _run_until_stopped(server, "serve", f"Serving the Writer API at {{url}} with {what}.")
    if chaos is not None and args.resilience_report is not None:
        args.resilience_report.write_text(json.dumps(chaos.report(), indent=2) + "\n", encoding="utf-8")
        print(f"Wrote the resilience report to {args.resilience_report}.", file=sys.stderr, flush=True)
    return status


def _chaos(args: argparse.Namespace) -> Chaos | None:
    if args.chaos is None:
        if args.seed is not None or args.resilience_report is not None:
            raise _UsageError("--seed and --resilience-report need --chaos KIND=RATE,...")
        return None
    try:
        return Chaos.parse(args.chaos, seed=args.seed)
    except ScriptError as error:
        raise _UsageError(str(error)) from None


def _run_until_stopped(
    server: FakeWriterServer, command: str, banner: str, *, cassette: Cassette | None = None
) -> int:
    """Serve until a stop signal (the URL alone on stdout's first line), then report as :func:`_finish`."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    try:
        server.start()  # not `with`: a long-running server has no test for verify() to fail
    except OSError as exc:
        print(
            f"{_PROG} {command}: error: cannot listen on {server.host}:{server.port} ({exc.strerror or exc}); "
            "pick another --port, or --port 0 for any free one.",
            file=sys.stderr,
        )
        return 1
    previous = {sig: signal.signal(sig, on_signal) for sig in _stop_signals()}
    try:
        print(server.base_url, flush=True)
        print(banner.format(url=server.base_url) + " Press Ctrl-C to stop.", file=sys.stderr, flush=True)
        stop.wait()
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(f"Stopped after {server.replies.received} request(s).", file=sys.stderr, flush=True)
    return _finish(server, command, cassette)


def _finish(server: FakeWriterServer, command: str, cassette: Cassette | None = None) -> int:
    """Report on stderr what went wrong while serving; 1 when the run failed, else 0.

    A crash while answering, and (``record``) a request that could not be
    recorded, fail the run. Requests that found no reply are reported but do not:
    each client already got a 500 saying why.
    """
    code = 0
    try:
        server.verify()
    except RuntimeError as exc:
        print(f"{_PROG} {command}: error: the server failed while answering:\n{exc}", file=sys.stderr)
        return 1
    except AssertionError as exc:
        if cassette is not None:
            try:
                cassette.verify()
            except CassetteRecordError:
                code = 1
        if code:
            print(
                f"{_PROG} {command}: error: recording failed, so the cassette is incomplete:\n\n{exc}",
                file=sys.stderr,
            )
        else:
            print(f"{_PROG} {command}: {exc}", file=sys.stderr)
    return code


def _stop_signals() -> list[signal.Signals]:
    names = ("SIGINT", "SIGTERM", "SIGBREAK")
    return [getattr(signal, name) for name in names if hasattr(signal, name)]


def _load_script(path: Path) -> AnyScript:
    from .errors import ScriptError
    from .scripts.load import script_from_yaml

    if not path.is_file():
        raise _UsageError(f"Script file {path} does not exist; pass the path of a script YAML file.")
    try:
        return script_from_yaml(path)
    except ScriptError as exc:
        raise _UsageError(f"Script file {path} is not a valid script: {exc}") from None


# --- record ---------------------------------------------------------------------------------------


def _check_upstream(url: str) -> str:
    try:
        return check_upstream(url, option=f"--upstream {url}").rstrip("/")
    except ValueError as exc:
        raise _UsageError(str(exc)) from None


def _cmd_record(args: argparse.Namespace) -> int:
    from .cassettes.proxy import RecordingProxy

    upstream = _check_upstream(args.upstream)
    try:
        cassette = Cassette(
            args.cassette,
            record_mode=args.record_mode,
            redact=args.redact,
            upstream=upstream,
            meta={"recorded_with": f"{_PROG} record"},
        )
        cassette.load()
    except ValueError as exc:
        raise _UsageError(str(exc)) from None
    except CassetteError as exc:
        raise _UsageError(f"{exc} To record it afresh instead, pass --record-mode rewrite.") from None

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    proxy = RecordingProxy(cassette, upstream, log=log)
    server = FakeWriterServer(host=args.host, port=args.port, source=proxy, history=SERVE_HISTORY)
    banner = (
        f"Recording every request at {{url}} from {upstream} into {args.cassette} "
        f"(record mode {args.record_mode})."
    )
    code = _run_until_stopped(server, "record", banner, cassette=cassette)
    try:
        proxy.save()  # streams cut by the shutdown saved themselves; this catches any stragglers
    except Exception as exc:
        print(
            f"{_PROG} record: error: saving {args.cassette} failed ({type(exc).__name__}: {exc}); what was "
            "recorded since the last successful save is lost. Make the cassette's directory writable and "
            "record again.",
            file=sys.stderr,
        )
        code = 1
    recorded = len(proxy.recorded)
    print(
        f"Recorded {recorded} interaction(s) into {args.cassette}."
        if recorded
        else f"Recorded nothing; {args.cassette} is unchanged.",
        file=sys.stderr,
        flush=True,
    )
    return code


# --- show -----------------------------------------------------------------------------------------


def _read_cassette(path: Path) -> CassetteContent:
    if not path.exists():
        raise _UsageError(
            f"Cassette {path} does not exist. Check the path, or record it first with "
            f"`{_PROG} record --upstream URL --cassette {path}`."
        )
    try:
        return load_cassette(path)
    except CassetteError as exc:
        raise _UsageError(str(exc)) from None


def _cmd_show(args: argparse.Namespace) -> int:
    content = _read_cassette(args.file)
    sys.stdout.write(render_cassette_text(content, source=str(args.file)))
    return 0


# --- convert --------------------------------------------------------------------------------------


def _cmd_convert(args: argparse.Namespace) -> int:
    source: Path = args.vcr_file
    out: Path = args.out
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _UsageError(
            f"The vcrpy cassette {source} does not exist; pass the path of a vcrpy YAML file."
        ) from None
    except (UnicodeDecodeError, OSError) as exc:
        raise _UsageError(f"The vcrpy cassette {source} cannot be read as UTF-8 text ({exc}).") from None
    if out.exists() and not args.force:
        raise _UsageError(f"{out} already exists; pass --force to overwrite it, or choose another --out.")
    key = os.environ.get("WRITER_API_KEY")
    try:
        content = convert_vcr(text, source=str(source), secrets=[key] if key else [])
    except CassetteError as exc:
        raise _UsageError(str(exc)) from None
    save_cassette(out, content)
    streams = sum(1 for i in content.interactions if i.response.events is not None)
    print(
        f"Converted {len(content.interactions)} interaction(s) ({streams} SSE stream(s)) from {source} "
        f"into {out}; vcrpy keeps no timing, so every event has t=0.",
        file=sys.stderr,
    )
    return 0


# --- verify ---------------------------------------------------------------------------------------

_NOT_RESENT = frozenset({"host", "content-length", "connection", "transfer-encoding", "accept-encoding"})


def _live_response(
    client: httpx.Client, interaction: Interaction, upstream: str, key: str | None
) -> RecordedResponse:
    """Send the recorded request to ``upstream`` and read the answer the way the recorder would."""
    request = interaction.request
    recorded_url = httpx.URL(request.url)
    base = httpx.URL(upstream)
    url = base.copy_with(raw_path=base.raw_path.rstrip(b"/") + recorded_url.raw_path)
    headers = [(k, v) for k, v in request.headers if k not in _NOT_RESENT and not is_credential_header(k)]
    headers.append(("accept-encoding", "identity"))
    if key:
        headers.append(("authorization", f"Bearer {key}"))
    reads: list[tuple[bytes, float]] = []
    started = time.perf_counter()
    with client.stream(request.method, url, headers=headers, content=request.content) as response:
        head_t = time.perf_counter() - started
        complete = True
        try:
            for chunk in response.iter_bytes():
                reads.append((chunk, time.perf_counter() - started))
        except httpx.TransportError:
            complete = False
    kept = tuple((k.lower(), v) for k, v in response.headers.multi_items())
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        return RecordedResponse(
            response.status_code, kept, head_t, events=frame_stream(reads), complete=complete
        )
    body, body_t, cuts = body_from_reads(reads)
    return RecordedResponse(
        response.status_code, kept, head_t, body=body, body_t=body_t, body_cuts=cuts, complete=complete
    )


def _cmd_verify(args: argparse.Namespace) -> int:
    upstream = _check_upstream(args.upstream)
    if args.timeout <= 0:
        raise _UsageError(f"--timeout {args.timeout:g} must be a number of seconds above 0.")
    content = _read_cassette(args.file)
    if not content.interactions:
        raise _UsageError(f"Cassette {args.file} holds no interactions, so there is nothing to verify.")
    key = args.api_key or os.environ.get("WRITER_API_KEY")
    results: list[tuple[Interaction, Drift]] = []
    refused = False
    with httpx.Client(timeout=httpx.Timeout(args.timeout)) as client:
        for index, interaction in enumerate(content.interactions):
            try:
                live = _live_response(client, interaction, upstream, key)
            except httpx.TransportError as exc:
                raise _UsageError(
                    f"The upstream {upstream} did not answer interactions[{index}] "
                    f"({interaction.request.method} {interaction.request.path}): {type(exc).__name__}: {exc}. "
                    "Check --upstream and that it is up."
                ) from None
            refused = refused or live.status in (401, 403)
            results.append((interaction, compare_responses(interaction.response, live)))
    sys.stdout.write(render_verify_report(str(args.file), upstream, results))
    if refused and key is None:
        print(
            "The upstream refused a request as unauthorised: cassettes hold no credentials, so pass "
            "--api-key KEY or set WRITER_API_KEY.",
            file=sys.stderr,
        )
    return 1 if any(d.drifted for _, d in results) else 0


def docs_directory() -> Path:
    """The kit's documents: inside the package when installed from a wheel, else the checkout's docs/."""
    here = Path(__file__).resolve().parent
    shipped = here / "docs"
    return shipped if shipped.is_dir() else here.parent / "docs"


def _cmd_docs(args: argparse.Namespace) -> int:
    directory = docs_directory()
    available = sorted(p.stem for p in directory.glob("*.md"))
    if args.name is None:
        print(f"Documents ({directory}):")
        for name in available:
            print(f"  writer-stream-testkit docs {name}")
        return 0
    wanted = args.name.removesuffix(".md")
    match = next((name for name in available if name.lower() == wanted.lower()), None)
    if match is None:
        raise _UsageError(
            f"There is no document called {args.name!r}; choose one of {', '.join(available)} "
            "(`writer-stream-testkit docs` lists them)."
        )
    sys.stdout.write((directory / f"{match}.md").read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``serve``: the fake Writer API on a local port, answering from script files or a directory of cassettes."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

from ..doubles.framing import DEFAULT_MAX_BODY_SIZE
from ..errors import CassetteError, CassetteMissError, ScriptError, UnexpectedRequestError
from ..scripts.plan import ResponsePlan, error_plan
from ._shared import COMMANDS, PROG, SERVE_HISTORY, UsageError, check_port, not_a_file, run_until_stopped

if TYPE_CHECKING:
    from ..cassettes.cassette import Cassette
    from ..cassettes.model import Timing
    from ..resilience.chaos import Chaos
    from ..scripts.load import AnyScript
    from ..wire.call import Call

__all__ = [
    "CassetteDirectory",
    "Cycle",
    "add_parser",
    "chaos_option",
    "load_directory",
    "load_script",
    "run",
    "timing_option",
]


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser(
        "serve",
        help=COMMANDS["serve"],
        description=(
            "Serve the Writer API on a local port until Ctrl-C. The base URL is printed alone on "
            "the first line of stdout, for scripts to read; point any Writer SDK at it. Replies "
            "come from script files (--script: chat, completion, question and application scripts, "
            "and kind: json replies for any other endpoint; each answers its own endpoint) or from "
            "every *.yaml cassette in a directory (--cassettes), where each request replays the first "
            "unplayed recording that matches it. Without either, a suite in any language queues replies "
            "over HTTP and reads the requests and the verdict: POST /__writer/replies, GET /__writer/calls, "
            "GET /__writer/verify, POST /__writer/reset (see: writer-stream-testkit docs control)."
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
    serve.set_defaults(handler=run)


_ROUTES = 1024
"""How many (method, path) pairs ``Cycle`` keeps the matching scripts of."""


class Cycle:
    """A reply source that answers every request, handing out the scripts for its endpoint in turn forever.

    Each endpoint keeps its own turn, so a completions request between two chat
    requests does not make the chat scripts skip one. As both doubles do, a
    streaming endpoint's body that is not a JSON object gets a Writer-shaped 400
    (using up no turn); that and a request no script answers are kept (the last
    ``history``) for :meth:`verify`, so ``serve`` lists them when it stops.
    """

    def __init__(self, scripts: Sequence[AnyScript], *, history: int | None = None) -> None:
        self._lock = threading.Lock()
        self._scripts = list(scripts)
        self._turns: dict[tuple[int, ...], int] = {}
        self._routes: dict[tuple[str, str], tuple[int, ...]] = {}
        self._unanswered: deque[tuple[str, int, str]] = deque(maxlen=history)
        """(the request described, the status it got, why): the description only, not the body."""
        self._count = 0

    def take(self, call: Call) -> ResponsePlan:
        problem = call.body_problem()
        if problem is not None:
            return self._refuse(call, 400, problem)
        fitting = self._route(
            call.method, unquote(call.path)
        )  # as both doubles route: /v1/%63hat is /v1/chat
        if not fitting:
            served = ", ".join(dict.fromkeys(str(s.endpoint) for s in self._scripts))
            advice = (
                f"the scripts given serve {served}. Pass a script for this endpoint with --script "
                "(kind: json for a JSON answer)."
            )
            return self._refuse(
                call, 500, f"No script answers {call.describe()}: {advice}", f"no script: {advice}"
            )
        with self._lock:
            turn = self._turns.get(fitting, 0)
            self._turns[fitting] = turn + 1
        return self._scripts[fitting[turn % len(fitting)]].plan(call)

    def _route(self, method: str, path: str) -> tuple[int, ...]:
        """Which scripts answer ``method`` ``path`` (asked once per route).

        Matching every endpoint's pattern on every request cost more than choosing the
        reply; a client's stray paths fill at most ``_ROUTES`` entries, then are matched each time.
        """
        key = (method, path)
        route = self._routes.get(key)
        if route is None:
            route = tuple(i for i, s in enumerate(self._scripts) if s.endpoint.matches(method, path))
            if len(self._routes) < _ROUTES:
                self._routes[key] = route
        return route

    def _refuse(self, call: Call, status: int, problem: str, listed: str | None = None) -> ResponsePlan:
        """Answer ``status`` saying ``problem``, and keep the request for :meth:`verify` (as ``listed``)."""
        with self._lock:
            self._unanswered.append((call.describe(), status, listed or problem))
            self._count += 1
        return error_plan(status, problem)

    def verify(self) -> None:
        """Fail listing every request no script answered (``FakeWriterServer.verify`` calls this)."""
        with self._lock:
            unanswered, count = list(self._unanswered), self._count
        if unanswered:
            shown = "" if count == len(unanswered) else f" (the last {len(unanswered)} are shown)"
            lines = [f"  - {request}: {status}, {why}" for request, status, why in unanswered]
            raise UnexpectedRequestError(
                f"{count} request(s) got an error instead of a script's reply{shown}:\n" + "\n".join(lines)
            )

    def reset(self) -> None:
        with self._lock:
            self._unanswered.clear()
            self._count = 0


class CassetteDirectory:
    """A reply source over every cassette in a directory: one ``Cassette`` per file, tried in name order.

    ``history=N`` keeps only the last ``N`` misses (each cassette is given the
    same bound for its own calls), so a long run does not grow.
    """

    def __init__(
        self,
        directory: Path,
        cassettes: Sequence[Cassette],
        *,
        allow_repeats: bool = False,
        history: int | None = None,
    ) -> None:
        self.directory = directory
        self.cassettes = list(cassettes)
        self.allow_repeats = allow_repeats
        self._lock = threading.Lock()
        self._misses: deque[str] = deque(maxlen=history)
        self._missed = 0

    def _player(self, call: Call) -> Cassette | None:
        """The cassette that plays ``call``: unplayed recordings first, in every file; then, with
        --allow-repeats, played ones. Each cassette answers for itself (``can_play``): the
        directory never walks its recordings."""
        for unplayed in (True, False) if self.allow_repeats else (True,):
            for cassette in self.cassettes:
                if cassette.can_play(call, unplayed=unplayed):
                    return cassette
        return None

    def peek(self, call: Call) -> ResponsePlan | None:
        """The recording :meth:`take` would play for ``call``, played by nobody (``None``: none would).

        ``serve --cassettes DIR --chaos`` faults this plan on an attempt, so the retry
        chaos lets through still replays the recording itself.
        """
        player = self._player(call)
        return None if player is None else player.peek(call)

    def take(self, call: Call) -> ResponsePlan:
        player = self._player(call)
        if player is not None:
            return player.play(call)
        candidates = [
            (str(c.path), i, x.request, c.play_counts[i] > 0)
            for c in self.cassettes
            for i, x in enumerate(c.interactions)
        ]
        from ..cassettes.tools import directory_miss_message

        message = directory_miss_message(str(self.directory), call, candidates)
        with self._lock:
            self._misses.append(message)
            self._missed += 1
        return error_plan(500, message)

    def verify(self) -> None:
        """Fail with every request no cassette answered (``FakeWriterServer.verify`` calls this)."""
        with self._lock:
            misses, missed = list(self._misses), self._missed
        if misses:
            shown = "" if missed == len(misses) else f" (the last {len(misses)} are shown)"
            raise CassetteMissError(
                f"{missed} request(s) found no recording{shown}:\n\n" + "\n\n".join(misses)
            )

    def reset(self) -> None:
        """Forget the misses and every cassette's plays and calls, so each recording plays again."""
        with self._lock:
            self._misses.clear()
            self._missed = 0
        for cassette in self.cassettes:
            cassette.reset()


def load_directory(
    directory: Path, timing: Timing, *, allow_repeats: bool, history: int | None = None
) -> CassetteDirectory:
    if not directory.is_dir():
        raise UsageError(
            f"--cassettes {directory} is not a directory; pass the directory that holds the *.yaml cassettes."
        )
    files = sorted(directory.glob("*.yaml"))
    for path in files:
        if not path.is_file():
            raise UsageError(
                f"--cassettes {directory} holds {path.name}, which is not a cassette file (a directory?); "
                "rename it or move it out, since every *.yaml in the directory is served as a cassette."
            )
    if not files:
        raise UsageError(
            f"The directory {directory} holds no *.yaml cassettes; record one with `{PROG} record` or "
            "point --cassettes at the right directory."
        )
    from ..cassettes.cassette import Cassette

    cassettes = [
        Cassette(path, timing=timing, allow_playback_repeats=allow_repeats, history=history) for path in files
    ]
    for cassette in cassettes:
        try:
            cassette.load()
        except CassetteError as exc:
            raise UsageError(f"{exc} (It is one of the cassettes in --cassettes {directory}.)") from None
    return CassetteDirectory(directory, cassettes, allow_repeats=allow_repeats, history=history)


def timing_option(text: str) -> Timing:
    from ..cassettes.timing import parse_timing

    try:
        return parse_timing(text)
    except ValueError:
        raise UsageError(
            f"--timing {text} is not a replay timing; use fast (no waits), recorded (the recorded gaps), "
            "or a number >= 0 that scales them (0.5 replays twice as fast)."
        ) from None


def run(args: argparse.Namespace) -> int:
    from ..doubles.server import FakeWriterServer

    check_port(args.port)
    if args.max_body_size < 0:
        raise UsageError("--max-body-size needs a number of bytes, 0 or more.")
    if args.history < 1:
        raise UsageError("--history needs a whole number of requests, at least 1.")
    if args.times is not None and (args.times < 1 or not args.scripts):
        raise UsageError("--times needs --script and a whole number of at least 1.")
    if args.allow_repeats and args.cassettes is None:
        raise UsageError("--allow-repeats replays cassettes, so it needs --cassettes DIR.")
    chaos = chaos_option(args)
    timing = timing_option(args.timing)
    directory = (
        load_directory(args.cassettes, timing, allow_repeats=args.allow_repeats, history=args.history)
        if args.cassettes is not None
        else None
    )
    scripts = [load_script(path) for path in args.scripts]
    server = FakeWriterServer(
        host=args.host,
        port=args.port,
        max_body_size=args.max_body_size,
        history=args.history,
        chaos=chaos,
        source=directory
        if directory is not None
        else Cycle(scripts, history=args.history)
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
        what = "no replies yet (queue them with POST /__writer/replies: writer-stream-testkit docs control)"
    if chaos is not None:
        what += f", chaos {args.chaos} (seed {chaos.seed}; --seed {chaos.seed} replays it)"
    status = run_until_stopped(server, "serve", lambda url: f"Serving the Writer API at {url} with {what}.")
    if chaos is not None and args.resilience_report is not None:
        args.resilience_report.write_text(json.dumps(chaos.report(), indent=2) + "\n", encoding="utf-8")
        print(f"Wrote the resilience report to {args.resilience_report}.", file=sys.stderr, flush=True)
    return status


def chaos_option(args: argparse.Namespace) -> Chaos | None:
    """``--chaos`` (with ``--seed`` and ``--resilience-report``) as a :class:`Chaos`, or ``None``."""
    if args.chaos is None:
        if args.seed is not None or args.resilience_report is not None:
            raise UsageError("--seed and --resilience-report need --chaos KIND=RATE,...")
        return None
    from ..resilience.chaos import Chaos

    try:
        return Chaos.parse(args.chaos, seed=args.seed)
    except ScriptError as error:
        raise UsageError(str(error)) from None


def load_script(path: Path) -> AnyScript:
    from ..errors import ScriptError
    from ..scripts.load import script_from_yaml

    if not path.exists():
        raise UsageError(f"Script file {path} does not exist; pass the path of a script YAML file.")
    problem = not_a_file(path, "Script file")
    if problem:
        raise UsageError(problem)
    try:
        return script_from_yaml(path)
    except ScriptError as exc:
        raise UsageError(f"Script file {path} is not a valid script: {exc}") from None

"""``record``: a local proxy that records any client's Writer traffic into a cassette."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..cassettes.model import RECORD_MODES
from ..errors import CassetteError
from ._shared import (
    COMMANDS,
    PROG,
    SERVE_HISTORY,
    UsageError,
    check_port,
    check_upstream,
    not_a_file,
    run_until_stopped,
)

__all__ = ["add_parser", "run"]


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    record = commands.add_parser(
        "record",
        help=COMMANDS["record"],
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
    record.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..cassettes.cassette import Cassette
    from ..cassettes.proxy import RecordingProxy
    from ..doubles.server import FakeWriterServer

    upstream = check_upstream(args.upstream)
    check_port(args.port)
    problem = not_a_file(args.cassette, "--cassette")
    if problem:
        raise UsageError(problem)
    try:
        cassette = Cassette(
            args.cassette,
            record_mode=args.record_mode,
            redact=args.redact,
            upstream=upstream,
            meta={"recorded_with": f"{PROG} record"},
        )
        cassette.load()
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except CassetteError as exc:
        raise UsageError(f"{exc} To record it afresh instead, pass --record-mode rewrite.") from None

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    proxy = RecordingProxy(cassette, upstream, log=log)
    server = FakeWriterServer(host=args.host, port=args.port, source=proxy, history=SERVE_HISTORY)

    def banner(url: str) -> str:
        return (
            f"Recording every request at {url} from {upstream} into {args.cassette} "
            f"(record mode {args.record_mode})."
        )

    code = run_until_stopped(server, "record", banner, cassette=cassette)
    try:
        proxy.save()  # streams cut by the shutdown saved themselves; this catches any stragglers
    except Exception as exc:
        print(
            f"{PROG} record: error: saving {args.cassette} failed ({type(exc).__name__}: {exc}); what was "
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

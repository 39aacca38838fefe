"""``verify``: re-send a cassette's requests and report where the live stream drifted from the recording."""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..cassettes.framing import body_from_reads, frame_stream
from ..cassettes.model import RecordedResponse
from ..cassettes.redact import is_credential_header
from ._shared import COMMANDS, UsageError, check_upstream, read_cassette

if TYPE_CHECKING:
    import httpx

    from ..cassettes.model import Interaction
    from ..cassettes.tools import Drift

__all__ = ["add_parser", "live_response", "run"]


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    verify = commands.add_parser(
        "verify",
        help=COMMANDS["verify"],
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
    verify.set_defaults(handler=run)


NOT_RESENT = frozenset({"host", "content-length", "connection", "transfer-encoding", "accept-encoding"})


def live_response(
    client: httpx.Client, interaction: Interaction, upstream: str, key: str | None
) -> RecordedResponse:
    """Send the recorded request to ``upstream`` and read the answer the way the recorder would."""
    import httpx  # here, not at the top: `verify --help` needs no HTTP client

    request = interaction.request
    recorded_url = httpx.URL(request.url)
    base = httpx.URL(upstream)
    url = base.copy_with(raw_path=base.raw_path.rstrip(b"/") + recorded_url.raw_path)
    headers = [(k, v) for k, v in request.headers if k not in NOT_RESENT and not is_credential_header(k)]
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


def run(args: argparse.Namespace) -> int:
    import httpx

    from ..cassettes.tools import compare_responses, render_verify_report

    upstream = check_upstream(args.upstream)
    if not math.isfinite(args.timeout) or args.timeout <= 0:
        raise UsageError(f"--timeout {args.timeout:g} must be a number of seconds above 0.")
    content = read_cassette(args.file)
    if not content.interactions:
        raise UsageError(f"Cassette {args.file} holds no interactions, so there is nothing to verify.")
    key = args.api_key or os.environ.get("WRITER_API_KEY")
    results: list[tuple[Interaction, Drift]] = []
    refused = False
    with httpx.Client(timeout=httpx.Timeout(args.timeout)) as client:
        for index, interaction in enumerate(content.interactions):
            try:
                live = live_response(client, interaction, upstream, key)
            except httpx.TransportError as exc:
                raise UsageError(
                    f"The upstream {upstream} did not answer interactions[{index}] "
                    f"({interaction.request.method} {interaction.request.path}): {type(exc).__name__}: {exc}. "
                    "Check --upstream and that it is up."
                ) from None
            refused = refused or live.status in (401, 403)
            results.append((interaction, compare_responses(interaction.response, live)))
    sys.stdout.write(render_verify_report(str(args.file), upstream, results, meta=content.meta))
    if refused and key is None:
        print(
            "The upstream refused a request as unauthorised: cassettes hold no credentials, so pass "
            "--api-key KEY or set WRITER_API_KEY.",
            file=sys.stderr,
        )
    return 1 if any(d.drifted for _, d in results) else 0

"""``serve --cassettes DIR``: why no cassette in the directory answers a request (pure)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from ..wire.call import Call
from .matching import bounded_diff, closest
from .model import RecordedRequest

__all__ = ["directory_miss_message"]


def directory_miss_message(
    directory: str, call: Call, candidates: Sequence[tuple[str, int, RecordedRequest, bool]]
) -> str:
    """Why no cassette in ``directory`` answers ``call``: the closest recording, as a body diff.

    ``candidates`` are (file, index, request, already played) for every recording served.
    """
    lines = [f"No cassette in {directory} has an unplayed recording that matches {call.describe()}."]
    incoming = (
        json.dumps(call.json, indent=2, sort_keys=True, ensure_ascii=False)
        if call.json is not None
        else call.content.decode("utf-8", "replace")
    )
    scored: list[tuple[int, str]] = []
    for _, _, request, _ in candidates:
        stored = (
            json.dumps(request.json, indent=2, sort_keys=True, ensure_ascii=False)
            if request.json is not None
            else request.body or ""
        )
        scored.append(((request.method.upper() == call.method.upper()) + (request.path == call.path), stored))
    best = closest(incoming, scored)
    if best is None:
        lines.append(f"{directory} holds no recordings at all (no *.yaml cassette with interactions).")
    else:
        file, index, request, played = candidates[best]
        lines.append(
            f"The closest recording is {file} interactions[{index}] ({request.method} {request.url})"
            + (", which was already replayed (each recording replays once)." if played else ".")
        )
        stored = scored[best][1]
        diff = bounded_diff(
            stored.splitlines(),
            incoming.splitlines(),
            fromfile=f"{file} interactions[{index}] body (recorded)",
            tofile="this request's body",
        )
        if diff:
            lines.append(diff)
        elif played and request.method.upper() == call.method.upper() and request.path == call.path:
            lines.append(
                "It is the same request, played before. To replay recordings as often as they are asked "
                f"for, restart the server with `writer-stream-testkit serve --cassettes {directory} "
                "--allow-repeats`."
            )
    lines.append(
        f"Record this request into a cassette in {directory} with `writer-stream-testkit record --upstream URL "
        "--cassette FILE --record-mode new_episodes`, or send the request the cassette holds."
    )
    return "\n".join(lines)

"""The fault kinds of a resilience run, their families and where each lands in a stream.

A kind is a name people read in reports. Each belongs to a family that says how
a correct client meets it, and so how its verdict is judged:

- ``retryable``: the whole response is an error a client should retry
  (``rate-limit``, ``server-error``, ``refused``);
- ``final``: an error a client must not retry (``bad-request``);
- ``cut``: the stream breaks part-way, so the answer is incomplete unless the
  client retries or says so (``disconnect``, ``truncate``, ``malformed``,
  ``error-event``, ``stall``);
- ``harmless``: the bytes arrive differently but mean the same (``split-utf8``,
  ``keep-alive``, ``crlf``); a correct client's outcome does not change.

Every kind is injected on the first attempt of each streaming request only, at
the place ``place`` documents, so a retry gets the reply the test expects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..errors import ScriptError
from ..scripts.faults import ConnectionRefused, Fault, HttpError

__all__ = [
    "DEFAULT_KINDS",
    "KINDS",
    "RATE_LIMIT_WAIT",
    "Family",
    "Kind",
    "parse_kinds",
]

Family = Literal["retryable", "final", "cut", "harmless"]

RATE_LIMIT_WAIT = 0.1
"""Seconds the injected 429 asks for (``retry-after-ms: 100``): long enough to tell a wait from none."""


@dataclass(frozen=True)
class Kind:
    """One fault kind: its report name, family, where it lands, and the replacing fault if it is one."""

    name: str
    family: Family
    place: str
    fault: Fault | None = None
    """The whole response for a replacing kind; ``None`` for kinds that change a stream."""

    @property
    def retry_after(self) -> float | None:
        """The wait the fault asks for, in seconds, when it asks for one."""
        if isinstance(self.fault, HttpError) and self.fault.retry_after_ms is not None:
            return self.fault.retry_after_ms / 1000
        return None


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "rate-limit",
            "retryable",
            "the first attempt gets a 429 with retry-after-ms: 100 and Retry-After: 1",
            Fault.http_error(
                429,
                retry_after=1,
                retry_after_ms=int(RATE_LIMIT_WAIT * 1000),
                message="Rate limit exceeded (injected by the writer-stream-testkit resilience run).",
            ),
        ),
        Kind(
            "server-error",
            "retryable",
            "the first attempt gets a 503 with Writer's error body and retry-after-ms: 10 (so the SDK "
            "retries at once instead of after its backoff of about a second)",
            Fault.http_error(
                503, retry_after_ms=10, message="Service unavailable (injected by the resilience run)."
            ),
        ),
        Kind(
            "bad-request",
            "final",
            "the first attempt gets a 400 with Writer's error body",
            Fault.http_error(400, message="Invalid request (injected by the resilience run)."),
        ),
        Kind("refused", "retryable", "the first attempt's connection is refused", ConnectionRefused()),
        Kind("disconnect", "cut", "the connection drops after half the stream's chunks (rounded down)"),
        Kind(
            "truncate",
            "cut",
            "the stream ends cleanly after half its chunks, before its finish chunk and [DONE]; "
            "a stream with no finish chunk (Knowledge Graph questions, applications, completions) "
            "cannot be judged",
        ),
        Kind("malformed", "cut", "a chunk that is not JSON after half the stream's chunks"),
        Kind("error-event", "cut", "an `event: error` block after half the stream's chunks; the stream ends"),
        Kind(
            "stall",
            "cut",
            "silence after half the stream's chunks, until --writer-resilience-timeout; then the kit cuts it",
        ),
        Kind(
            "split-utf8",
            "harmless",
            "every multi-byte UTF-8 character is split after its first byte (with none, every write "
            "is split in two)",
        ),
        Kind("keep-alive", "harmless", "a `:` comment before every SSE block"),
        Kind("crlf", "harmless", "every line end is CRLF instead of LF"),
    )
}

DEFAULT_KINDS: tuple[str, ...] = tuple(name for name in KINDS if name != "crlf")
"""The kinds a run injects unless ``--writer-resilience-faults`` picks (``crlf`` only on request)."""


def parse_kinds(text: str | None, *, where: str = "--writer-resilience-faults") -> tuple[str, ...]:
    """``"rate-limit,stall"`` as known kind names (``None`` or ``"all"``: the default kinds)."""
    if text is None or not text.strip() or text.strip() == "default":
        return DEFAULT_KINDS
    if text.strip() == "all":
        return tuple(KINDS)
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in KINDS]
    if unknown:
        raise ScriptError(
            f"{where} names {', '.join(map(repr, unknown))}, which "
            f"{'is not a fault kind' if len(unknown) == 1 else 'are not fault kinds'}; "
            f"use some of {', '.join(KINDS)} (comma-separated), or 'all'."
        )
    return tuple(dict.fromkeys(names))

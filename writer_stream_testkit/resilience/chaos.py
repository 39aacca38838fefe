"""Seeded, probabilistic chaos for a whole session, and verdicts read from its journal.

Where the resilience run faults each test's first attempts one kind at a time,
chaos faults a running server's streaming requests at random, at a rate per
kind (``rate-limit=0.2,disconnect=0.05``), from a seeded generator: the same
seed and the same order of requests give the same faults, so a failure
replays exactly. Every attempt goes into a journal; :meth:`Chaos.report`
judges what the server can see of the client's behaviour (request-side
verdicts: retried 400s, ignored waits, storms, faults never retried), in the
resilience report's JSON shape, so a Node or Go suite gets them too.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..doubles.faulting import FaultHook
from ..errors import ScriptError
from ..scripts.faults import ConnectionRefused, HttpError
from ..scripts.plan import ResponsePlan
from ..wire.call import Call
from .inject import Attempt, fault_stream, is_streaming
from .judge import STORM_BOUND
from .kinds import KINDS
from .report import build_report

__all__ = ["Chaos", "parse_rates", "session_results"]


def parse_rates(text: str, *, where: str = "--chaos") -> dict[str, float]:
    """``"rate-limit=0.2,disconnect=0.05"`` as ``{kind: rate}``, each rate from 0 to 1, their sum at most 1."""
    rates: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, sep, value = part.partition("=")
        name = name.strip()
        try:
            rate = float(value)
        except ValueError:
            rate = -1.0
        if not sep or name not in KINDS or not 0 <= rate <= 1:
            raise ScriptError(
                f"{where} got {part!r}; write KIND=RATE pairs separated by commas, each RATE from 0 to 1 "
                f"(rate-limit=0.2,disconnect=0.05), with KIND one of {', '.join(KINDS)}."
            )
        rates[name] = rate
    return check_rates(rates, where)


def check_rates(rates: Mapping[str, float], where: str = "chaos") -> dict[str, float]:
    unknown = [k for k in rates if k not in KINDS]
    if unknown or not rates:
        raise ScriptError(
            f"{where} needs at least one fault kind with its rate, from {', '.join(KINDS)}; "
            f"got {dict(rates)!r}."
        )
    total = sum(rates.values())
    if total > 1:
        raise ScriptError(
            f"{where} rates add up to {total:g}, but a request can carry one fault at most: make them add "
            "up to 1 or less."
        )
    return dict(rates)


@dataclass
class Chaos(FaultHook):
    """Fault each streaming request at random, a rate per kind, from a seeded generator.

    ``seed=None`` picks one; it is kept in :attr:`seed`, which a run prints so that
    the same faults replay. Thread-safe; pass it to ``FakeWriterServer(chaos=...)``.
    """

    rates: Mapping[str, float]
    seed: int | None = None
    timeout: float = 10.0
    clock: Callable[[], float] = time.monotonic
    journal: list[Attempt] = field(default_factory=list)
    _keys: dict[tuple[str, str, bytes], int] = field(default_factory=dict)
    _counts: dict[int, int] = field(default_factory=dict)
    _start: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.rates = check_rates(self.rates)
        if self.seed is None:
            self.seed = random.SystemRandom().randrange(2**31)
        self._random = random.Random(self.seed)

    @classmethod
    def parse(cls, text: str, *, seed: int | None = None, timeout: float = 10.0) -> Chaos:
        return cls(parse_rates(text), seed=seed, timeout=timeout)

    def _draw(self) -> str | None:
        roll = self._random.random()
        for name, rate in self.rates.items():
            if roll < rate:
                return name
            roll -= rate
        return None

    def answer(self, call: Call, peek: Callable[[], ResponsePlan | None]) -> ResponsePlan | None:
        if not is_streaming(call):
            return None
        now = self.clock()
        with self._lock:
            self._start = now if self._start is None else self._start
            request = self._keys.setdefault((call.method, call.path, call.content), len(self._keys))
            number = self._counts[request] = self._counts.get(request, 0) + 1
            name = self._draw()
        at = now - (self._start or now)

        def log(status: int | None, note: str, faulted: bool) -> None:
            with self._lock:
                self.journal.append(
                    Attempt(at, call.method, call.path, status, note, request, number, faulted)
                )

        if name is None:
            log(None, "answered as usual", False)
            return None
        kind = KINDS[name]
        if isinstance(kind.fault, (HttpError, ConnectionRefused)):
            plan = kind.fault.response()
            log(None if plan.refuse else plan.status, f"{name} injected", True)
            return plan
        original = peek()
        faulted = None if original is None else fault_stream(kind, original, timeout=self.timeout)
        if faulted is None or faulted.plan is None:
            log(None, f"{name} drawn, not applicable: {faulted.note if faulted else 'no reply'}", False)
            return None
        log(200, f"{name} injected: {faulted.note}", True)
        return faulted.plan

    def report(self) -> dict[str, Any]:
        """The session's request-side verdicts in the resilience report's JSON shape."""
        with self._lock:
            journal = list(self.journal)
        kinds = tuple(self.rates)
        return build_report(session_results(journal), faults=kinds, seed=self.seed)


def session_results(journal: list[Attempt]) -> list[dict[str, Any]]:
    """A verdict for each faulted attempt, from what followed it in the journal (the server's side only)."""
    by_request: dict[int, list[Attempt]] = {}
    for attempt in journal:
        by_request.setdefault(attempt.request, []).append(attempt)
    rows: list[dict[str, Any]] = []
    for runs in by_request.values():
        for i, attempt in enumerate(runs):
            if not attempt.faulted:
                continue
            name = attempt.note.split(" ", 1)[0]
            kind = KINDS[name]
            following = runs[i + 1] if i + 1 < len(runs) else None
            verdict, reason, fix = _session_verdict(
                kind.family, kind.retry_after, attempt, following, len(runs)
            )
            rows.append(
                {
                    "test": f"{attempt.method} {attempt.path} (request {attempt.request + 1})",
                    "fault": name,
                    "verdict": verdict,
                    "reason": reason,
                    "fix": fix,
                    "attempts": len(runs),
                    "attempt_log": [
                        {
                            "at": round(a.at, 4),
                            "method": a.method,
                            "path": a.path,
                            "status": a.status,
                            "note": a.note,
                        }
                        for a in runs
                    ],
                    "outcome": "unknown",
                    "duration": round(runs[-1].at - runs[0].at, 4),
                    "worker": None,
                }
            )
    return rows


def _session_verdict(
    family: str, retry_after: float | None, attempt: Attempt, following: Attempt | None, total: int
) -> tuple[str, str, str]:
    if total > STORM_BOUND:
        return (
            "retry-storm",
            f"the request was sent {total} times, more than the {STORM_BOUND} the SDK's retries allow",
            "Bound the client's retries and do not wrap the SDK's retries in more retries.",
        )
    if following is None:
        if family == "retryable":
            return (
                "gave-up",
                "a retryable fault was never retried",
                "Let the SDK retry 429, 5xx and refused connections, honouring Retry-After.",
            )
        return (
            "not-applicable",
            "the client did not send the request again; whether it surfaced the fault is on its side "
            "(run its tests with pytest --writer-resilience to judge that)",
            "Check that the app raises, or says the answer is incomplete, when the stream breaks.",
        )
    gap = following.at - attempt.at
    if family == "final":
        return (
            "retried-non-retryable",
            f"a 400 was sent again {gap:.3f} s later; it fails the same way every time",
            "Do not retry 400, 401, 403, 404 or 422: surface the error instead.",
        )
    if retry_after is not None and gap < 0.9 * retry_after:
        return (
            "ignored-retry-after",
            f"the retry came {gap:.3f} s after the fault, which asked for {retry_after:g} s",
            "Wait at least as long as Retry-After / retry-after-ms say before retrying.",
        )
    return ("ok", f"the client retried {gap:.3f} s later", "Nothing to fix.")

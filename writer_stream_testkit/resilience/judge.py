"""The verdict rules: what the double saw and how the test ended in, one verdict out.

The rules are a table (:data:`RULES`), walked in order; the first that holds
gives the verdict. Everything here is pure: the pytest edge gathers
:class:`Facts` (the injector's attempt log, the test's outcome, where its
exception was raised), and :func:`judge` decides.

How an exception is read (:func:`error_origin`): the innermost frame that is
not the standard library says who raised it. A frame in ``writerai``, httpx,
httpcore, anyio, h11 or this kit means the SDK raised it, which is the fault
reaching the test as it should (``ok``); so does an exception class the app
defines itself. A built-in or library exception raised in the app's own code is
a crash. An ``AssertionError`` raised in the test is the test's own assertion,
and the kit's own strictness checks (unused replies and the like) are ignored in
a fault run.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from .kinds import KINDS, Family

__all__ = [
    "NOT_APPLICABLE",
    "RULES",
    "SDK_PACKAGES",
    "STORM_BOUND",
    "ErrorOrigin",
    "Facts",
    "Frame",
    "Rule",
    "Verdict",
    "error_origin",
    "judge",
]

ErrorOrigin = Literal["none", "kit-check", "assertion", "sdk", "app-defined", "app-crash"]

SDK_PACKAGES = frozenset({"writerai", "httpx", "httpcore", "anyio", "h11", "writer_stream_testkit"})
"""Top-level packages whose frames are "inside the SDK": an error raised there is the fault reaching the test."""

KIT_CHECKS = frozenset({"UnusedRepliesError", "UnexpectedRequestError", "CassetteMissError", "ReplyError"})
"""The kit's own strictness errors: they do not count against the app in a fault run."""

STORM_BOUND = 8
"""Most attempts of one request a client may make: writerai's default of 7 retries, plus the first."""

NOT_APPLICABLE = "not-applicable"


@dataclass(frozen=True)
class Frame:
    """One traceback frame, as much as the judge needs: its module and file."""

    module: str
    filename: str


def _origin_of(module: str, filename: str) -> str:
    top = module.split(".", 1)[0]
    if top in SDK_PACKAGES:
        return "sdk"
    if top in ("pytest", "_pytest"):
        return "test"
    if top in sys.stdlib_module_names or top == "builtins":
        return "stdlib"
    if "site-packages" in filename or "dist-packages" in filename:
        return "library"
    return "app"


def error_origin(
    *, type_name: str, type_module: str, type_file: str, frames: Sequence[Frame], is_assertion: bool
) -> ErrorOrigin:
    """Who the exception came from, read from its class and its traceback (innermost frame last)."""
    if type_name in KIT_CHECKS and type_module.startswith("writer_stream_testkit"):
        return "kit-check"
    if is_assertion and type_module.startswith("writer_stream_testkit"):
        return "assertion"  # the kit's checks a test calls itself (assert_stream_contract): its own assertion
    raiser = next((f for f in reversed(frames) if _origin_of(f.module, f.filename) != "stdlib"), None)
    where = "app" if raiser is None else _origin_of(raiser.module, raiser.filename)
    type_origin = _origin_of(type_module, type_file)
    if "sdk" in (where, type_origin):
        # raised inside the SDK, or the SDK's own error re-raised by the app: the fault reached the test
        return "sdk"
    if type_origin == "app":
        return "app-defined"
    if is_assertion or "test" in (where, type_origin):
        return "assertion"
    return "app-crash"


@dataclass(frozen=True)
class Facts:
    """Everything the verdict depends on, for one test under one fault kind."""

    kind: str
    streamed: bool
    faulted: int
    """How many first attempts carried the fault."""
    attempts: int
    """The most attempts any faulted request got (1: never retried)."""
    retry_gap: float | None
    """Seconds from a faulted attempt to its retry (the shortest), if there was a retry."""
    hung: bool
    outcome: Literal["passed", "failed", "error"]
    origin: ErrorOrigin
    error: str = ""
    """``Type: message`` of the test's exception, short, for the reason."""
    notes: tuple[str, ...] = ()
    """Why the kind could not apply (when ``faulted`` is 0)."""
    attempts_any: int = 0
    """The most attempts of any request, faulted or not (a storm shows here)."""

    @property
    def family(self) -> Family:
        return KINDS[self.kind].family

    @property
    def retried(self) -> bool:
        return self.attempts > 1

    @property
    def error_reached(self) -> bool:
        """The fault reached the test as an error: the SDK's, raised inside it, or the app's own class."""
        return self.origin in ("sdk", "app-defined")

    @property
    def clean(self) -> bool:
        """The test ended as if nothing happened: passed, or only the kit's own checks complained."""
        return self.outcome == "passed" or self.origin == "kit-check"


@dataclass(frozen=True)
class Verdict:
    name: str
    reason: str
    fix: str


@dataclass(frozen=True)
class Rule:
    verdict: str
    when: Callable[[Facts], bool]
    reason: Callable[[Facts], str]
    fix: str


def _wait(f: Facts) -> str:
    asked = KINDS[f.kind].retry_after or 0.0
    return f"the retry came {f.retry_gap or 0.0:.3f} s after the 429, which asked for {asked:g} s"


def _with_error(f: Facts) -> str:
    return f" ({f.error})" if f.error else ""


RULES: tuple[Rule, ...] = (
    Rule(
        NOT_APPLICABLE,
        lambda f: not f.streamed,
        lambda f: "the test made no streaming request through a double, so there was nothing to fault",
        "Nothing to fix; opt the test out with @pytest.mark.writer_resilience(skip=True) to save the run.",
    ),
    Rule(
        NOT_APPLICABLE,
        lambda f: f.faulted == 0,
        lambda f: f.notes[0] if f.notes else "no stream the test received could carry this fault",
        "Nothing to fix for this fault.",
    ),
    Rule(
        "hung",
        lambda f: f.hung,
        lambda f: "the stream stalled and the app was still waiting when the kit cut it at the timeout",
        "Give the client a read timeout (writerai.Writer(timeout=httpx.Timeout(30, read=10))) so a "
        "stalled stream fails instead of hanging a worker.",
    ),
    Rule(
        "retry-storm",
        lambda f: max(f.attempts, f.attempts_any, f.faulted) > STORM_BOUND,
        lambda f: (
            f"one request was sent {max(f.attempts, f.attempts_any)} times, more than the "
            f"{STORM_BOUND} the SDK's retries allow"
            if max(f.attempts, f.attempts_any) > STORM_BOUND
            else f"the app asked {f.faulted} times over, each time with a new request the fault cut "
            f"again, more than the {STORM_BOUND} attempts the SDK's retries allow"
        ),
        "Bound the app's retries (max_retries= on the client, a stop condition on any retry loop of "
        "its own) and do not wrap the SDK's retries in more retries.",
    ),
    Rule(
        "retried-non-retryable",
        lambda f: f.family == "final" and f.retried,
        lambda f: f"a 400 was sent again ({f.attempts} attempts); it fails the same way every time",
        "Do not retry 400, 401, 403, 404 or 422: surface the error (writerai.BadRequestError) instead.",
    ),
    Rule(
        "ignored-retry-after",
        lambda f: (
            f.retried
            and KINDS[f.kind].retry_after is not None
            and (f.retry_gap or 0.0) < 0.9 * (KINDS[f.kind].retry_after or 0.0)
        ),
        _wait,
        "Wait at least as long as Retry-After / retry-after-ms say before retrying (writerai does this "
        "itself; an app loop of its own must read the header too).",
    ),
    Rule(
        "ok",
        lambda f: f.family == "harmless" and f.clean,
        lambda f: "the bytes arrived differently and the test passed as before",
        "Nothing to fix.",
    ),
    Rule(
        "corrupted",
        lambda f: f.family == "harmless",
        lambda f: f"bytes that mean the same changed the test's outcome to {f.outcome}{_with_error(f)}",
        "Read the stream with an SSE parser that joins reads (the SDK's own iterator does), decode UTF-8 "
        "incrementally, and skip comment lines.",
    ),
    Rule(
        "crashed",
        lambda f: f.origin == "app-crash",
        lambda f: f"the app's own code raised {f.error or 'an error'} while meeting the fault",
        "Catch the SDK's errors (writerai.APIError and its subclasses) and read Writer's error body "
        "defensively; parse partial chunks only once the stream has finished.",
    ),
    Rule(
        "ok",
        lambda f: f.family == "retryable" and f.retried and f.clean,
        lambda f: f"the app retried ({f.attempts} attempts) and the test passed",
        "Nothing to fix.",
    ),
    Rule(
        "gave-up",
        lambda f: f.family == "retryable" and not f.retried,
        lambda f: (
            "a retryable fault was never retried" + (f"; the test ended with {f.error}" if f.error else "")
        ),
        "Let the SDK retry (do not set max_retries=0 on the streaming client), or retry 429, 5xx and "
        "connection errors yourself, honouring Retry-After.",
    ),
    Rule(
        "corrupted",
        lambda f: f.family == "retryable",
        lambda f: f"the app retried, but the test then ended {f.outcome}{_with_error(f)}",
        "Make sure nothing from the failed attempt is kept when the request is retried.",
    ),
    Rule(
        "ok",
        lambda f: f.family == "final",
        lambda f: (
            "the 400 was not retried" + (f" and reached the test as {f.error}" if f.error_reached else "")
        ),
        "Nothing to fix.",
    ),
    Rule(
        "ok",
        lambda f: f.error_reached,
        lambda f: f"the cut reached the test as an error{_with_error(f)}",
        "Nothing to fix.",
    ),
    Rule(
        "ok",
        lambda f: f.retried and f.clean,
        lambda f: f"the app retried the cut stream ({f.attempts} attempts) and the test passed",
        "Nothing to fix.",
    ),
    Rule(
        "corrupted",
        lambda f: f.retried,
        lambda f: f"the app retried the cut stream, but the test then ended {f.outcome}{_with_error(f)}",
        "Make sure nothing from the failed attempt is kept when the request is retried.",
    ),
    Rule(
        "truncated-accepted",
        lambda f: True,
        lambda f: (
            "the stream was cut and no error reached the test: it used half an answer"
            + (" and passed" if f.clean else f" and failed only on its own assertion{_with_error(f)}")
        ),
        "Treat a stream that ends without its finish chunk (finish_reason) or [DONE] as incomplete: "
        "raise, or retry the request, instead of showing what arrived.",
    ),
)


def judge(facts: Facts) -> Verdict:
    """The first rule of :data:`RULES` that holds for ``facts``."""
    for rule in RULES:
        if rule.when(facts):
            return Verdict(rule.verdict, rule.reason(facts), rule.fix)
    raise AssertionError("the last rule always holds")  # pragma: no cover

"""The retry policy of the official SDK, as pure functions.

Whether a failed attempt is retried and how long the client waits first are
decided here from plain values (status, headers, attempt number, a random
draw, the clock), so the sync and async clients share one policy and tests
pin every branch without sleeping. The numbers are the SDK's own: retries on
408, 409, 429 and 5xx or a transport error, ``x-should-retry`` overriding the
status, a server-given wait (``retry-after-ms``, then ``Retry-After`` as
seconds or an HTTP date) honoured when it is in ``(0, 60]`` seconds, and
otherwise ``min(1 * 2**n, 60)`` seconds shrunk by up to 25% of jitter.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping

import httpx

__all__ = [
    "DEFAULT_CONNECTION_LIMITS",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "INITIAL_RETRY_DELAY",
    "MAX_RETRY_DELAY",
    "parse_retry_after",
    "retry_delay",
    "should_retry_status",
]

DEFAULT_MAX_RETRIES = 7
"""The SDK's default (``writerai.DEFAULT_MAX_RETRIES``): up to 8 attempts in all."""

DEFAULT_TIMEOUT = httpx.Timeout(timeout=180, connect=5.0)
DEFAULT_CONNECTION_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)

INITIAL_RETRY_DELAY = 1.0
MAX_RETRY_DELAY = 60.0

_MAX_SERVER_DELAY = 60.0
"""A server-requested wait above this (or <= 0) is ignored in favour of backoff."""

_MAX_EXPONENT = 1000
"""Caps ``2**n`` so a huge ``max_retries`` cannot overflow the float."""


def should_retry_status(status_code: int, headers: Mapping[str, str]) -> bool:
    """Whether an error response is worth another attempt, as the SDK decides.

    ``headers`` must be case-insensitive (``httpx.Headers``) or use lower-case keys.
    """
    should_retry = headers.get("x-should-retry")
    if should_retry == "true":
        return True
    if should_retry == "false":
        return False
    return status_code in (408, 409, 429) or status_code >= 500


def parse_retry_after(headers: Mapping[str, str], *, now: Callable[[], float] = time.time) -> float | None:
    """The wait in seconds the server asked for, or None when it asked for none we can read.

    ``retry-after-ms`` wins over ``Retry-After``; the latter may be (fractional)
    seconds or an HTTP date, which is measured against ``now()``. A date the
    calendar cannot hold (year 99999) counts as unreadable; writerai raises
    ``ValueError`` there (docs/deviations.md). The result is not bounded here;
    :func:`retry_delay` decides whether to honour it.
    """
    retry_after_ms = headers.get("retry-after-ms")
    if retry_after_ms is not None:
        try:
            return float(retry_after_ms) / 1000
        except ValueError:
            pass

    retry_after = headers.get("retry-after")
    if retry_after is None:
        return None
    try:
        return float(retry_after)
    except ValueError:
        pass

    parsed = email.utils.parsedate_tz(retry_after)
    if parsed is None:
        return None
    try:
        when = email.utils.mktime_tz(parsed)
    except (ValueError, OverflowError):  # a year past 9999: no wait we can read, like "not a date"
        return None
    return float(when - now())


def retry_delay(
    retries_taken: int,
    headers: Mapping[str, str] | None,
    *,
    random: Callable[[], float] = random.random,
    now: Callable[[], float] = time.time,
) -> float:
    """Seconds to wait before retry number ``retries_taken + 1``.

    ``headers`` are those of the failed response, or None when the attempt
    failed without one (a connection error or timeout). ``random`` returns a
    float in ``[0, 1)``; injecting it makes the jitter deterministic in tests.
    """
    if headers is not None:
        requested = parse_retry_after(headers, now=now)
        if requested is not None and 0 < requested <= _MAX_SERVER_DELAY:
            return requested

    exponent = min(retries_taken, _MAX_EXPONENT)
    backoff = min(INITIAL_RETRY_DELAY * 2.0**exponent, MAX_RETRY_DELAY)
    return max(backoff * (1 - 0.25 * random()), 0.0)

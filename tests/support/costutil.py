"""Complexity checks without timing assertions: how cost grows when the input grows.

A linear operation costs about ``factor`` times as much on an input ``factor``
times as long; a quadratic one ``factor ** 2`` times. Comparing the two sizes
in one run (CPU time of this thread, best of a few, so other processes and
one-off pauses do not count) tells them apart on any machine, however fast.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable

Run = Callable[[], object]

FLOOR = 1e-3
"""Costs below a millisecond count as a millisecond: too small to measure a ratio from."""


def cpu_seconds(run: Run, *, repeat: int = 3) -> float:
    """The least CPU time this thread spent in ``run()`` over ``repeat`` runs."""
    best = float("inf")
    for _ in range(repeat):
        start = time.thread_time()
        run()
        best = min(best, time.thread_time() - start)
    return best


def time_growth(make: Callable[[int], Run], n: int, factor: int = 4, *, repeat: int = 3) -> float:
    """How many times more CPU ``make(n * factor)()`` takes than ``make(n)()``."""
    small, large = make(n), make(n * factor)
    return cpu_seconds(large, repeat=repeat) / max(cpu_seconds(small, repeat=repeat), FLOOR)


def peak_bytes(run: Run) -> int:
    """The peak of memory allocated while ``run()`` ran (tracemalloc; deterministic)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        run()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def memory_growth(make: Callable[[int], Run], n: int, factor: int = 4) -> float:
    """How many times more memory ``make(n * factor)()`` peaks at than ``make(n)()``."""
    small, large = make(n), make(n * factor)
    return peak_bytes(large) / max(peak_bytes(small), 64 * 1024)

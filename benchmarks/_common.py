"""Shared helpers of the benchmark scripts: timing, percentiles, task code of a given size.

Code run in a subprocess is a constant with no placeholders, and its size comes first as a plain
assignment (:func:`with_n`): a ``.format`` template breaks on the first f-string or dict put in it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def best_of(runs: int, fn: Callable[[], Any]) -> float:
    """The fastest of ``runs`` wall-clock timings of ``fn()`` (the least disturbed by a noisy machine)."""
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        timings.append(time.perf_counter() - start)
    return min(timings)


def with_n(code: str, n: int) -> str:
    """``code`` (which uses ``n``) preceded by ``n = <n>``."""
    return f"n = {int(n)}\n{code}"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


__all__ = ["best_of", "percentile", "with_n"]

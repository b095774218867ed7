"""Shared helpers of the benchmark scripts: timing, ratios, a tidy report."""

from __future__ import annotations

import statistics
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


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(title: str, rows: list[tuple[str, str]], verdicts: list[tuple[str, bool]]) -> int:
    """Print a small table and the verdicts; returns the number of missed targets."""
    print(f"\n== {title}")
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    for text, ok in verdicts:
        print(f"  [{'ok' if ok else 'MISSED'}] {text}")
    return sum(not ok for _, ok in verdicts)


__all__ = ["best_of", "percentile", "report", "statistics"]

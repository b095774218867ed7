"""Latency: how long an event takes from the engine's ``emit`` to the host's callback, at 1,000
events/s (target p99 <= 5 ms), and the time to the first worker event compared with starting a bare
interpreter (``python -c pass``) in the same run (target <= 1.5x).

Usage: ``python benchmarks/latency.py [seconds]``
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

from _common import best_of, percentile, report

from cmbjupyter import IsolatedTaskExecutor

PACED = """
import time
start = time.perf_counter()
for i in range({n}):
    while time.perf_counter() < start + i / 1000:
        pass
    emit.event("ping", {{"sent": time.time()}})
"""


def event_latencies(seconds: float) -> list[float]:
    latencies: list[float] = []

    def callback(event_type: str, data: dict) -> None:
        if event_type == "ping":
            latencies.append((time.time() - data["sent"]) * 1000)

    task = PACED.format(n=int(seconds * 1000))
    asyncio.run(IsolatedTaskExecutor().execute("latency", task, {"engine": "python"}, callback))
    return latencies


def first_event_seconds() -> float:
    async def run() -> float:
        started = time.perf_counter()
        first = asyncio.get_running_loop().create_future()

        def callback(event_type: str, data: dict) -> None:
            if event_type == "status" and data.get("status") == "running" and not first.done():
                first.set_result(time.perf_counter() - started)

        await IsolatedTaskExecutor().execute("first", "pass", {"engine": "python"}, callback)
        return first.result()

    return min(asyncio.run(run()) for _ in range(10))


def main() -> int:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    latencies = event_latencies(seconds)
    p50, p99, worst = percentile(latencies, 0.5), percentile(latencies, 0.99), max(latencies)
    bare = best_of(10, lambda: subprocess.run([sys.executable, "-c", "pass"], check=True))
    first = first_event_seconds()
    return report(
        f"latency, {len(latencies):,} events at 1,000/s",
        [
            ("p50", f"{p50:.3f} ms"),
            ("p99", f"{p99:.3f} ms"),
            ("max", f"{worst:.3f} ms"),
            ("python -c pass", f"{bare * 1000:.1f} ms"),
            ("first worker event", f"{first * 1000:.1f} ms"),
            ("first event / bare interpreter", f"{first / bare:.2f}x"),
        ],
        [
            (f"p99 <= 5 ms ({p99:.3f} ms)", p99 <= 5.0),
            (f"first event <= 1.5x python -c pass ({first / bare:.2f}x)", first / bare <= 1.5),
        ],
    )


if __name__ == "__main__":
    sys.exit(main())

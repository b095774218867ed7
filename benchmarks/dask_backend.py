"""The Dask backend against the local backend, measured in the same run on a real LocalCluster
(2 worker processes, 1 thread each, on this machine):

* throughput: N ``output`` events through ``execute`` with a no-op callback;
* latency: ``emit`` to callback at 1,000 events/s (p50, p99);
* time to the first worker event (a run's start-up: submit, Dask task, worker subprocess).

Every event of the Dask run crosses two extra hops (Dask worker -> scheduler -> host, through a
distributed Queue), so the figures show what that costs. No hard target: the ratios are printed
so that a change that makes the Dask path slower shows up.

Usage: ``python benchmarks/dask_backend.py [--n N] [--seconds S] [--repeats R] [--smoke]``
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from _common import percentile, with_n
from _report import Report, options
from latency import PACED
from throughput import EMITTER

from cmbjupyter import IsolatedTaskExecutor


async def throughput(config: dict[str, Any], n: int, repeats: int) -> float:
    """Seconds for ``n`` output events, best of ``repeats``."""
    count = 0

    def callback(event_type: str, data: dict) -> None:
        nonlocal count
        count += event_type == "output"

    task = with_n(EMITTER, n)
    timings = []
    for _ in range(repeats):
        count = 0
        started = time.perf_counter()
        await IsolatedTaskExecutor().execute("bench", task, config, callback)
        timings.append(time.perf_counter() - started)
        assert count == n, count
    return min(timings)


async def latencies(config: dict[str, Any], seconds: float) -> list[float]:
    values: list[float] = []

    def callback(event_type: str, data: dict) -> None:
        if event_type == "ping":
            values.append((time.time() - data["sent"]) * 1000)

    await IsolatedTaskExecutor().execute("latency", with_n(PACED, int(seconds * 1000)), config, callback)
    return values


async def first_event(config: dict[str, Any]) -> float:
    """Seconds from ``execute`` to the worker's first event."""
    started = time.perf_counter()
    first: list[float] = []

    def callback(event_type: str, data: dict) -> None:
        if event_type == "status" and data.get("status") == "running" and not first:
            first.append(time.perf_counter() - started)

    await IsolatedTaskExecutor().execute("first", "pass", config, callback)
    return first[0]


async def measure(address: str, n: int, seconds: float, repeats: int) -> dict[str, dict[str, Any]]:
    from cmbjupyter.backends.dask import close_clients

    configs = {
        "local": {"engine": "python"},
        "dask": {"engine": "python", "backend": "dask", "scheduler_address": address},
    }
    figures: dict[str, dict[str, Any]] = {}
    try:
        await IsolatedTaskExecutor().execute("warm-up", "pass", configs["dask"])  # client, worker imports
        for name, config in configs.items():
            lat = await latencies(config, seconds)
            figures[name] = {
                "seconds": await throughput(config, n, repeats),
                "p50": percentile(lat, 0.5),
                "p99": percentile(lat, 0.99),
                "first": min([await first_event(config) for _ in range(repeats)]),
            }
    finally:
        await close_clients()
    return figures


def main() -> None:
    from distributed import LocalCluster

    args = options(__doc__, n=(100_000, 2_000), seconds=(3.0, 0.2), repeats=(5, 1))
    n, seconds = args.n, args.seconds
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
    ) as cluster:
        figures = asyncio.run(measure(cluster.scheduler_address, n, seconds, args.repeats))
    local, dask = figures["local"], figures["dask"]
    report = Report(
        "dask_backend",
        f"Dask backend vs local backend, {n:,} events; latency at 1,000 events/s for {seconds:g} s",
    )
    for name, f in figures.items():
        report.add(f"{name}: throughput", f"{f['seconds']:.3f} s ({n / f['seconds']:,.0f} events/s)")
        report.add(f"{name}: latency p50 / p99", f"{f['p50']:.3f} ms / {f['p99']:.3f} ms")
        report.add(f"{name}: first worker event", f"{f['first'] * 1000:.1f} ms")
    speed = local["seconds"] / dask["seconds"]
    report.add("dask/local events/s", f"{speed:.2f}x", ">= 0.25x", speed >= 0.25)
    report.add("dask/local latency p50", f"{dask['p50'] / local['p50']:.2f}x")
    report.add("dask/local latency p99", f"{dask['p99'] / local['p99']:.2f}x")
    report.add("dask p99 latency", f"{dask['p99']:.3f} ms", "<= 20 ms", dask["p99"] <= 20.0)
    report.add("dask/local first event", f"{dask['first'] / local['first']:.2f}x")
    report.finish()


if __name__ == "__main__":
    main()

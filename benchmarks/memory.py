"""Host memory: RSS growth of the host process over a run of N output events with a session on
(sidecar saves, event log, conversation buffer, RunState), target <= 20 MB for 1M events. The
baseline is the host's RSS after a warm-up run in the same process, so imports and caches are
not counted as growth.

Usage: ``python benchmarks/memory.py [--n N] [--smoke]``
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time
from typing import Final

import psutil
from _common import with_n
from _report import Report, options

from cmbjupyter import IsolatedTaskExecutor, SessionManager

#: ``n`` agent messages, a new phase step every 100,000 (run as ``with_n(MESSAGES, n)``).
MESSAGES: Final = """
for i in range(n):
    emit.output('agent message number %d' % i, agent='engineer')
    if i % 100000 == 0:
        phase('execution', step=i // 100000 + 1)
"""


def run(n: int, root: str, task_id: str) -> None:
    task = with_n(MESSAGES, n)
    executor = IsolatedTaskExecutor(session_manager=SessionManager(root))
    asyncio.run(
        executor.execute(
            task_id, task, {"engine": "python", "mode": "control", "session_id": task_id}, lambda t, d: None
        )
    )


def main() -> None:
    args = options(__doc__, n=(1_000_000, 20_000), warmup=(20_000, 2_000))
    n = args.n
    process = psutil.Process()
    with tempfile.TemporaryDirectory() as root:
        run(args.warmup, root, "warmup")
        baseline = process.memory_info().rss
        peak = baseline
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, process.memory_info().rss)
                time.sleep(0.05)

        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.perf_counter()
        run(n, root, "big")
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
        log_size = (SessionManager(root).event_log_path("big")).stat().st_size
    growth = (peak - baseline) / 2**20
    report = Report("memory", f"host memory, {n:,} output events with a session on")
    report.add("baseline RSS", f"{baseline / 2**20:.1f} MB")
    report.add("peak RSS", f"{peak / 2**20:.1f} MB")
    report.add("RSS growth", f"{growth:.1f} MB", "<= 20 MB", growth <= 20)
    report.add("run time", f"{elapsed:.1f} s ({n / elapsed:,.0f} events/s)")
    report.add("event log on disk", f"{log_size / 2**20:.1f} MB (bounded at 64 MB)")
    report.finish()


if __name__ == "__main__":
    main()

"""Host memory: RSS growth of the host process over a run of N output events with a session on
(sidecar saves, event log, conversation buffer, RunState), target <= 20 MB for 1M events. The
baseline is the host's RSS after a warm-up run in the same process, so imports and caches are
not counted as growth.

Usage: ``python benchmarks/memory.py [N]``
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import threading
import time

import psutil
from _common import report

from cmbjupyter import IsolatedTaskExecutor, SessionManager


def run(n: int, root: str, task_id: str) -> None:
    task = (
        f"for i in range({n}):\n    emit.output('agent message number %d' % i, agent='engineer')\n"
        "    if i % 100000 == 0:\n        phase('execution', step=i // 100000 + 1)"
    )
    executor = IsolatedTaskExecutor(session_manager=SessionManager(root))
    asyncio.run(
        executor.execute(
            task_id, task, {"engine": "python", "mode": "control", "session_id": task_id}, lambda t, d: None
        )
    )


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    process = psutil.Process()
    with tempfile.TemporaryDirectory() as root:
        run(20_000, root, "warmup")
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
    return report(
        f"host memory, {n:,} output events with a session on",
        [
            ("baseline RSS", f"{baseline / 2**20:.1f} MB"),
            ("peak RSS", f"{peak / 2**20:.1f} MB"),
            ("growth", f"{growth:.1f} MB"),
            ("run time", f"{elapsed:.1f} s ({n / elapsed:,.0f} events/s)"),
            ("event log on disk", f"{log_size / 2**20:.1f} MB (bounded at 64 MB)"),
        ],
        [(f"RSS growth <= 20 MB ({growth:.1f} MB)", growth <= 20)],
    )


if __name__ == "__main__":
    sys.exit(main())

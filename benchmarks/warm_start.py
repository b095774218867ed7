"""Warm start: a real cmbagent run (offline, scripted LLM) in a cold worker vs a warm pool worker.

Measured in one run, in cmbagent's own environment (.venv-cmbagent, `make cmbagent`), each run a
new task (the warm ones take a worker that the pool started, and imported cmbagent in, beforehand):

* time to the worker's first event, to the first agent message, and to the end of a one-shot run;
* the idle memory (RSS) of a warm worker, against the pool's bound (``warm_memory_limit_mb``).

Prints ``first agent message: cold X s, warm Y s, warm/cold 0.NNx`` among its lines (scripts read
that shape). Usage: ``python benchmarks/warm_start.py [--repeats R] [--smoke]``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Final

from _report import Report, options

from cmbjupyter import IsolatedTaskExecutor
from cmbjupyter.backends.warm import WarmPool, install, uninstall
from cmbjupyter.testing.llm_server import ScriptedLLMServer

#: cmbagent's own environment (`make cmbagent`).
PYTHON: Final = Path(__file__).resolve().parents[1] / ".venv-cmbagent" / "bin" / "python"
TASK: Final = "Compute 2 + 2 in Python."
#: Seconds a warm worker may take to be ready (it imports cmbagent: 6-12 s on a loaded machine).
READY_WAIT: Final = 300.0
#: The pool's memory bound per warm worker (MB), as the server's default.
MEMORY_LIMIT_MB: Final = 2048.0


async def one_run(executor: IsolatedTaskExecutor, name: str, work_dir: str) -> tuple[float, float, float]:
    """Seconds to the worker's first event, to the first agent message, and to the end."""
    marks: dict[str, float] = {}
    started = time.perf_counter()

    def on_event(event_type: str, data: dict) -> None:
        if event_type == "status" and data.get("pid"):
            marks.setdefault("worker", time.perf_counter() - started)
        if event_type == "output" and data.get("agent") not in (None, "cmbjupyter"):
            marks.setdefault("agent", time.perf_counter() - started)

    config = {"engine": "cmbagent", "mode": "one-shot", "work_dir": work_dir, "python": str(PYTHON)}
    await executor.execute(name, TASK, config, output_callback=on_event)
    return marks["worker"], marks["agent"], time.perf_counter() - started


async def ready(pool: WarmPool) -> dict:
    deadline = time.monotonic() + READY_WAIT
    while time.monotonic() < deadline:
        rows = [r for r in pool.status() if r["state"] == "ready"]
        if rows:
            return rows[0]
        await asyncio.sleep(0.1)
    raise SystemExit("no warm worker became ready")


async def measure(repeats: int, work_dir: str) -> tuple[list, list, list[float]]:
    executor = IsolatedTaskExecutor()
    cold = [await one_run(executor, f"cold-{i}", work_dir) for i in range(repeats)]
    pool = install(WarmPool(size=1, memory_limit_mb=MEMORY_LIMIT_MB), ["cmbagent"], python=str(PYTHON))
    warm, idle_rss = [], []
    try:
        for i in range(repeats):
            row = await ready(pool)
            await asyncio.sleep(1.0)  # let the pool's worker settle: its RSS is its idle RSS
            idle_rss.append(next(r["rss_mb"] for r in pool.status() if r["pid"] == row["pid"]))
            taken = pool.taken
            warm.append(await one_run(executor, f"warm-{i}", work_dir))
            if pool.taken != taken + 1:
                raise SystemExit("the warm run did not take the warm worker")
    finally:
        await uninstall()
    return cold, warm, idle_rss


def main() -> None:
    args = options(__doc__, repeats=(3, 1))
    if not PYTHON.exists():
        sys.exit(f"{PYTHON} is missing: run `make cmbagent` first")
    report = Report("warm_start", f"warm start: real cmbagent one-shot, offline, median of {args.repeats}")
    with ScriptedLLMServer() as server, tempfile.TemporaryDirectory() as work_dir:
        os.environ.update(OPENAI_API_KEY="sk-offline", OPENAI_BASE_URL=server.base_url)
        cold, warm, idle_rss = asyncio.run(measure(args.repeats, work_dir))
    c_worker, c_agent, c_total = (statistics.median(r[i] for r in cold) for i in range(3))
    w_worker, w_agent, w_total = (statistics.median(r[i] for r in warm) for i in range(3))
    ratio = w_agent / c_agent
    report.add("worker's first event", f"cold {c_worker * 1000:.0f} ms, warm {w_worker * 1000:.0f} ms")
    print(f"first agent message: cold {c_agent:.2f} s, warm {w_agent:.2f} s, warm/cold {ratio:.2f}x")
    report.add(
        "first agent message",
        f"cold {c_agent:.2f} s, warm {w_agent:.2f} s, warm/cold {ratio:.2f}x",
        "warm <= 1.0 s and <= 0.2x cold",
        w_agent <= 1.0 and ratio <= 0.2,
    )
    report.add(
        "one-shot run", f"cold {c_total:.2f} s, warm {w_total:.2f} s, warm/cold {w_total / c_total:.2f}x"
    )
    rss = max(idle_rss)
    report.add(
        "idle RSS of a warm worker",
        f"{rss:.0f} MB",
        f"<= {MEMORY_LIMIT_MB:.0f} MB (the bound)",
        rss <= MEMORY_LIMIT_MB,
    )
    report.finish()


if __name__ == "__main__":
    main()

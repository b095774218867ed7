"""What a real cmbagent run costs through cmbjupyter, offline (the scripted LLM server).

Measured in the same run, in cmbagent's own environment (.venv-cmbagent, `make cmbagent`):

* baseline: ``python -c "import cmbagent"`` (what any cmbagent run pays before its first agent);
* time to the worker's first event (its "loading cmbagent" line) and to the first agent message;
* a full one-shot run, and a full 2-step planning-control run, to ``complete``.

Prints each as seconds and as a ratio to the import baseline (machines are noisy; ratios travel).

Usage: ``python benchmarks/cmbagent_run.py [--repeats R] [--smoke]`` (``--smoke``: one one-shot run).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Final

from _report import Report, options

from cmbjupyter import IsolatedTaskExecutor, SessionManager
from cmbjupyter.testing.llm_server import ScriptedLLMServer

#: The runs measured: mode and task.
RUNS: Final = (("one-shot", "Compute 2 + 2 in Python."), ("planning-control", "Compute 2 + 2 in two steps."))
#: cmbagent's own environment (`make cmbagent`).
PYTHON: Final = Path(__file__).resolve().parents[1] / ".venv-cmbagent" / "bin" / "python"


def import_seconds() -> float:
    started = time.perf_counter()
    subprocess.run([str(PYTHON), "-c", "import cmbagent"], check=True, capture_output=True)
    return time.perf_counter() - started


async def run_seconds(mode: str, task: str, work_dir: str) -> tuple[float, float, float]:
    """Seconds to the worker's first output, to the first agent's message, and to the end."""
    executor = IsolatedTaskExecutor(session_manager=SessionManager(Path(work_dir) / "sessions"))
    marks: dict[str, float] = {}
    started = time.perf_counter()

    def on_event(event_type: str, data: dict) -> None:
        if event_type == "output":
            marks.setdefault("worker", time.perf_counter() - started)
            if data.get("agent") not in (None, "cmbjupyter"):
                marks.setdefault("agent", time.perf_counter() - started)

    config = {"engine": "cmbagent", "mode": mode, "work_dir": work_dir, "python": str(PYTHON)}
    await executor.execute(f"bench-{mode}", task, config, output_callback=on_event)
    return marks["worker"], marks["agent"], time.perf_counter() - started


def main() -> None:
    args = options(__doc__, repeats=(3, 1))
    if not PYTHON.exists():
        sys.exit(f"{PYTHON} is missing: run `make cmbagent` first")
    repeats = args.repeats
    report = Report("cmbagent_run", f"real cmbagent, offline (scripted LLM), median of {repeats}")
    with ScriptedLLMServer() as server, tempfile.TemporaryDirectory() as work_dir:
        os.environ.update(OPENAI_API_KEY="sk-offline", OPENAI_BASE_URL=server.base_url)
        baseline = statistics.median(import_seconds() for _ in range(repeats))
        report.add("import cmbagent (baseline)", f"{baseline:.2f} s")
        for mode, task in RUNS[:1] if args.smoke else RUNS:
            runs = [asyncio.run(run_seconds(mode, task, work_dir)) for _ in range(repeats)]
            worker, agent, total = (statistics.median(r[i] for r in runs) for i in range(3))
            calls = len(server.requests) // repeats
            report.add(
                f"{mode}: worker's first event", f"{worker * 1000:.0f} ms ({worker / baseline:.3f}x import)"
            )
            report.add(f"{mode}: first agent message", f"{agent:.2f} s ({agent / baseline:.2f}x import)")
            report.add(
                f"{mode}: full run", f"{total:.2f} s ({total / baseline:.2f}x import), {calls} LLM calls"
            )
            server.reset()
    report.finish()


if __name__ == "__main__":
    main()

"""What a real cmbagent run costs through cmbjupyter, offline (the scripted LLM server).

Measured in the same run, in cmbagent's own environment (.venv-cmbagent, `make cmbagent`):

* baseline: ``python -c "import cmbagent"`` (what any cmbagent run pays before its first agent);
* time to the worker's first event (its "loading cmbagent" line) and to the first agent message;
* a full one-shot run, and a full 2-step planning-control run, to ``complete``.

Prints each as seconds and as a ratio to the import baseline (machines are noisy; ratios travel).

Usage: ``python benchmarks/cmbagent_run.py [repeats]``
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

from cmbjupyter import IsolatedTaskExecutor, SessionManager
from cmbjupyter.testing.llm_server import ScriptedLLMServer

PYTHON = Path(__file__).resolve().parents[1] / ".venv-cmbagent" / "bin" / "python"


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
    if not PYTHON.exists():
        sys.exit(f"{PYTHON} is missing: run `make cmbagent` first")
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    with ScriptedLLMServer() as server, tempfile.TemporaryDirectory() as work_dir:
        os.environ.update(OPENAI_API_KEY="sk-offline", OPENAI_BASE_URL=server.base_url)
        baseline = statistics.median(import_seconds() for _ in range(repeats))
        print(f"import cmbagent (baseline): {baseline:.2f} s")
        for mode, task in (
            ("one-shot", "Compute 2 + 2 in Python."),
            ("planning-control", "Compute 2 + 2 in two steps."),
        ):
            runs = [asyncio.run(run_seconds(mode, task, work_dir)) for _ in range(repeats)]
            worker, agent, total = (statistics.median(r[i] for r in runs) for i in range(3))
            calls = len(server.requests) // repeats
            print(f"{mode}: worker's first event {worker * 1000:.0f} ms ({worker / baseline:.3f}x import)")
            print(f"{mode}: first agent message {agent:.2f} s ({agent / baseline:.2f}x import)")
            print(f"{mode}: full run {total:.2f} s ({total / baseline:.2f}x import), {calls} LLM calls")
            server.reset()


if __name__ == "__main__":
    main()

"""What a real cmbagent run costs through cmbjupyter, offline (the scripted LLM server), for the newest
cmbagent on Python 3.13 and post30 on 3.11 side by side, in one run.

Measured in each of cmbagent's environments that exists (``make cmbagent``):

* baseline: ``python -c "import cmbagent"`` (what any cmbagent run pays before its first agent);
* time to the worker's first event (its "loading cmbagent" line) and to the first agent message;
* a full one-shot run, and a full 2-step planning-control run, to ``complete``.

Prints each as seconds and as a ratio to that environment's import baseline (machines are noisy;
ratios travel).

Usage: ``python benchmarks/cmbagent_run.py [--repeats R] [--smoke]`` (``--smoke``: one one-shot run
in the first environment that exists).
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
#: cmbagent's environments (`make cmbagent`): name -> interpreter, the default first.
ROOT: Final = Path(__file__).resolve().parents[1]
PYTHONS: Final = {
    "post63 py3.13": ROOT / ".venv-cmbagent-313" / "bin" / "python",
    "post30 py3.11": ROOT / ".venv-cmbagent" / "bin" / "python",
}


def import_seconds(python: Path) -> float:
    started = time.perf_counter()
    subprocess.run([str(python), "-c", "import cmbagent"], check=True, capture_output=True)
    return time.perf_counter() - started


async def run_seconds(python: Path, mode: str, task: str, work_dir: str) -> tuple[float, float, float]:
    """Seconds to the worker's first output, to the first agent's message, and to the end."""
    executor = IsolatedTaskExecutor(session_manager=SessionManager(Path(work_dir) / "sessions"))
    marks: dict[str, float] = {}
    started = time.perf_counter()

    def on_event(event_type: str, data: dict) -> None:
        if event_type == "output":
            marks.setdefault("worker", time.perf_counter() - started)
            if data.get("agent") not in (None, "cmbjupyter"):
                marks.setdefault("agent", time.perf_counter() - started)

    config = {"engine": "cmbagent", "mode": mode, "work_dir": work_dir, "python": str(python)}
    await executor.execute(f"bench-{mode}", task, config, output_callback=on_event)
    return marks["worker"], marks["agent"], time.perf_counter() - started


def measure(report: Report, server: ScriptedLLMServer, name: str, python: Path, repeats: int, runs) -> None:
    with tempfile.TemporaryDirectory() as work_dir:
        baseline = statistics.median(import_seconds(python) for _ in range(repeats))
        report.add(f"{name}: import cmbagent (baseline)", f"{baseline:.2f} s")
        for mode, task in runs:
            timings = [asyncio.run(run_seconds(python, mode, task, work_dir)) for _ in range(repeats)]
            worker, agent, total = (statistics.median(r[i] for r in timings) for i in range(3))
            calls = len(server.requests) // repeats
            report.add(
                f"{name}: {mode}: worker's first event",
                f"{worker * 1000:.0f} ms ({worker / baseline:.3f}x import)",
            )
            report.add(
                f"{name}: {mode}: first agent message", f"{agent:.2f} s ({agent / baseline:.2f}x import)"
            )
            report.add(
                f"{name}: {mode}: full run",
                f"{total:.2f} s ({total / baseline:.2f}x import), {calls} LLM calls",
            )
            server.reset()


def main() -> None:
    args = options(__doc__, repeats=(3, 1))
    pythons = {name: python for name, python in PYTHONS.items() if python.exists()}
    if not pythons:
        sys.exit(f"none of {', '.join(map(str, PYTHONS.values()))} exists: run `make cmbagent` first")
    if args.smoke:
        pythons = dict(list(pythons.items())[:1])
    report = Report("cmbagent_run", f"real cmbagent, offline (scripted LLM), median of {args.repeats}")
    for name in PYTHONS.keys() - pythons.keys():
        report.add(f"{name}: skipped", f"{PYTHONS[name]} is missing")
    with ScriptedLLMServer() as server:
        os.environ.update(OPENAI_API_KEY="sk-offline", OPENAI_BASE_URL=server.base_url)
        for name, python in pythons.items():
            measure(report, server, name, python, args.repeats, RUNS[:1] if args.smoke else RUNS)
    report.finish()


if __name__ == "__main__":
    main()

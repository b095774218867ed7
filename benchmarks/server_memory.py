"""Server memory: the RSS of a real ``jupyter server`` with the cmbjupyter extension, at its baseline
(after one small warm-up task, so imports and caches are not counted) and after six tasks that each
printed ``MB`` megabytes (python engine) have ended. Finished tasks stay listed, but what they keep in
memory is bounded by ``c.CmbJupyter.finished_tasks_memory_mb``, so the RSS must come back near the
baseline: target <= 1.5x the baseline, measured in the same run.

Usage: ``python benchmarks/server_memory.py [--mb MB per task] [--finished-mb MB (0: the server's
default)] [--smoke]``
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import psutil
from _report import Report, options

from cmbjupyter.remote.client import ServerClient
from cmbjupyter.testing.jupyter_server import free_port, start_jupyter_server

TASKS = 6
#: Characters per printed line: big lines, as a model dump or a data table would print.
LINE_CHARS = 10_000
PRINTER = """
line = "x" * {width}
for i in range({lines}):
    print(i, line)
"""


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {what}")


def run_all(client: ServerClient, task: str, count: int) -> None:
    ids = [client.submit(task, {"engine": "python"}).task_id for _ in range(count)]
    ended = ("completed", "failed", "cancelled")
    for task_id in ids:
        status = _wait(lambda task_id=task_id: ended_status(client, task_id, ended), 600, f"task {task_id}")
        if status != "completed":
            raise RuntimeError(f"task {task_id} ended {status}: {client.task(task_id)['error']}")


def ended_status(client: ServerClient, task_id: str, ended: tuple[str, ...]) -> str | None:
    status = client.task(task_id)["status"]
    return status if status in ended else None


def settled_rss(process: psutil.Process) -> int:
    """The RSS once it stops moving (two readings 0.5 s apart within 1 MB; at most 15 s)."""
    last = process.memory_info().rss
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = process.memory_info().rss
        if abs(now - last) < 2**20:
            return now
        last = now
    return last


def main() -> None:
    args = options(__doc__, mb=(50.0, 2.0), finished_mb=(0.0, 0.0))
    mb, memory_mb = args.mb, (args.finished_mb or None)
    lines = max(1, int(mb * 2**20 / LINE_CHARS))
    port, token = free_port(), "server-memory-benchmark"
    with tempfile.TemporaryDirectory() as tmp:
        settings = [] if memory_mb is None else [f"c.CmbJupyter.finished_tasks_memory_mb = {memory_mb!r}"]
        server = start_jupyter_server(
            Path(tmp), sessions_dir=Path(tmp) / "sessions", port=port, token=token, settings=settings
        )
        try:
            client = ServerClient(f"http://127.0.0.1:{port}/", token, timeout=30)
            _wait(client.ping, 60, "the Jupyter server")
            process = psutil.Process(server.pid)
            run_all(client, PRINTER.format(width=LINE_CHARS, lines=10), 1)
            baseline = settled_rss(process)
            started = time.perf_counter()
            run_all(client, PRINTER.format(width=LINE_CHARS, lines=lines), TASKS)
            elapsed = time.perf_counter() - started
            after = settled_rss(process)
            listed = len(client.tasks())
        finally:
            server.terminate()
            server.wait(30)
    ratio = after / baseline
    report = Report("server_memory", f"server memory, {TASKS} tasks printing {mb:g} MB each")
    report.add("baseline RSS", f"{baseline / 2**20:.1f} MB")
    report.add("RSS after the tasks ended", f"{after / 2**20:.1f} MB")
    report.add("ratio to baseline", f"{ratio:.2f}x", "<= 1.5x", ratio <= 1.5)
    report.add("tasks still listed", str(listed))
    report.add("run time", f"{elapsed:.1f} s")
    report.finish()


if __name__ == "__main__":
    main()

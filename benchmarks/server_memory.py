"""Server memory: the RSS of a real ``jupyter server`` with the cmbjupyter extension, at its baseline
(after one small warm-up task, so imports and caches are not counted) and after six tasks that each
printed ``MB`` megabytes (python engine) have ended. Finished tasks stay listed, but what they keep in
memory is bounded by ``c.CmbJupyter.finished_tasks_memory_mb``, so the RSS must come back near the
baseline: target <= 1.5x the baseline, measured in the same run.

Usage: ``python benchmarks/server_memory.py [--mb MB per task] [--finished-mb MB (0: the server's
default)] [--smoke]``
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from _report import Report, options

from cmbjupyter.remote.client import ServerClient

TASKS = 6
#: Characters per printed line: big lines, as a model dump or a data table would print.
LINE_CHARS = 10_000
PRINTER = """
line = "x" * {width}
for i in range({lines}):
    print(i, line)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {what}")


def start_server(root: Path, port: int, token: str, memory_mb: float | None) -> subprocess.Popen:
    config = root / "config.py"
    lines = ["c.ServerApp.jpserver_extensions = {'cmbjupyter.server': True}"]
    lines.append(f"c.CmbJupyter.sessions_dir = {str(root / 'sessions')!r}")
    if memory_mb is not None:
        lines.append(f"c.CmbJupyter.finished_tasks_memory_mb = {memory_mb!r}")
    config.write_text("\n".join(lines) + "\n")
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(root / "config"),
        "JUPYTER_RUNTIME_DIR": str(root / "runtime"),
        "JUPYTER_DATA_DIR": str(root / "data"),
    }
    work = root / "work"
    work.mkdir()
    command = [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root", "--ip=127.0.0.1"]
    command += [f"--port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}"]
    command += [f"--config={config}"]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


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
    port, token = _free_port(), "server-memory-benchmark"
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp), port, token, memory_mb)
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

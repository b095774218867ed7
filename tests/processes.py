"""Which processes a task left: found by the CMBJUPYTER_TASK_ID the executor puts in its worker's
environment, so other children of the test process (kernels, clusters) never count."""

from __future__ import annotations

import psutil


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def processes_of(task_id: str) -> list[int]:
    """Live processes started for ``task_id``."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get("CMBJUPYTER_TASK_ID") == task_id and alive(process.pid):
                found.append(process.pid)
        except psutil.Error:
            continue
    return found

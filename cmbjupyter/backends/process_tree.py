"""A worker's process tree, seen from the host: find it, signal it, end it -- and never another process.

A worker's processes are found three ways, because each can miss some: its process group (what
``killpg`` reaches), its descendants (the worker is their subreaper, so daemons that left the group
stay descendants while the worker lives), and the ``CMBJUPYTER_WORKER_TREE`` every one of them
inherits in its environment (what is left once the worker itself is dead: its daemons were
reparented to init). A recorded worker (pid + start time in the session sidecar) is only ever
ended when both match, so a reused pid is never touched.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from collections.abc import Mapping
from typing import Any, Final

import psutil

__all__ = ["TREE_VAR", "end_recorded", "identity", "live_recorded", "marked", "signal_tree"]

#: The environment variable, unique per spawned worker, that marks every process of its tree.
TREE_VAR: Final = "CMBJUPYTER_WORKER_TREE"
#: A process whose start time differs from the recorded one by more than this is another process.
START_SLACK: Final = 1.0
#: How long :func:`end_recorded` waits for the killed processes to disappear.
END_WAIT: Final = 10.0


def marked(tree_id: str) -> list[psutil.Process]:
    """Live processes whose environment carries ``tree_id`` (a worker's tree, even orphaned)."""
    found = []
    me = os.getpid()
    for process in psutil.process_iter():
        if process.pid == me:
            continue
        with contextlib.suppress(psutil.Error):
            if process.environ().get(TREE_VAR) == tree_id and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
    return found


def signal_tree(pid: int, signum: int, *, tree_id: str | None = None, exited: bool = False) -> None:
    """Send ``signum`` to ``pid``'s process group, to ``pid`` and its descendants unless it has
    ``exited`` (its pid may be reused), and, with ``tree_id``, to every process marked with it."""
    targets: dict[int, psutil.Process] = {}
    if not exited:
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(pid)
            targets.update((p.pid, p) for p in [root, *root.children(recursive=True)])
    if tree_id is not None:
        targets.update((p.pid, p) for p in marked(tree_id))
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)
    for process in targets.values():
        with contextlib.suppress(psutil.Error):
            process.send_signal(signum)  # psutil checks the pid still names the same process


def identity(pid: int, tree_id: str) -> dict[str, Any]:
    """What a session records of its worker, to find it again after a restart (and only it)."""
    host = psutil.Process()
    try:
        started = psutil.Process(pid).create_time()
    except psutil.Error:
        started = None
    return {
        "pid": pid,
        "started": started,
        "tree": tree_id,
        "hostname": socket.gethostname(),
        "host_pid": host.pid,
        "host_started": host.create_time(),
    }


def _same(pid: Any, started: Any) -> psutil.Process | None:
    if not isinstance(pid, int) or not isinstance(started, (int, float)):
        return None
    try:
        process = psutil.Process(pid)
        if abs(process.create_time() - started) <= START_SLACK and process.status() != psutil.STATUS_ZOMBIE:
            return process
    except psutil.Error:
        pass
    return None


def live_recorded(record: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The recorded worker of a session if it still runs on this machine (pid *and* start time
    match), with ``host_alive``: whether the host that started it still runs too."""
    if not isinstance(record, Mapping) or record.get("hostname") != socket.gethostname():
        return None
    if _same(record.get("pid"), record.get("started")) is None:
        return None
    host_alive = _same(record.get("host_pid"), record.get("host_started")) is not None
    return {**record, "host_alive": host_alive}


def end_recorded(record: Mapping[str, Any] | None, wait: float = END_WAIT) -> bool:
    """End a recorded worker and its whole tree if it still runs (never a reused pid); True if it did."""
    live = live_recorded(record)
    if live is None:
        return False
    process = _same(live["pid"], live["started"])
    if process is None:
        return False
    tree_id = live.get("tree") if isinstance(live.get("tree"), str) else None
    tree = [process, *_children(process), *(marked(tree_id) if tree_id else [])]
    leads_group = False
    with contextlib.suppress(OSError):
        leads_group = os.getpgid(process.pid) == process.pid
    for member in tree:
        with contextlib.suppress(psutil.Error):
            member.send_signal(signal.SIGKILL)
    if leads_group:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if not any(_running(member) for member in tree) and not (tree_id and marked(tree_id)):
            break
        time.sleep(0.05)
    return True


def _children(process: psutil.Process) -> list[psutil.Process]:
    try:
        return process.children(recursive=True)
    except psutil.Error:
        return []


def _running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False

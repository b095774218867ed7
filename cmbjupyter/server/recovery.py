"""Sessions across server restarts: mark the interrupted ones suspended; rebuild a state from its log.

Every task the server runs records ``config["origin"] = {"server_pid", "server_started", "notebook"}``
in its sidecar. When a server starts, a sidecar still ``active`` whose server process is gone (the
server was killed, the machine rebooted) can never be finished by anyone: it is marked
``suspended`` with the reason, so it shows up as resumable instead of "running" forever. Sidecars
without an origin were written by kernel-mode runs; their kernel may still be alive, so they are
left alone. A worker such a session recorded (pid + start time) that still runs -- a worker that
could not notice its server's death -- is ended first, with its whole tree, so a resume never runs
beside it; a process that merely reuses the pid is never touched.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

from .. import _safefile
from ..backends.process_tree import end_recorded
from ..errors import InvalidSessionId, SessionCorrupt, SessionNotFound, SessionWriteError
from ..session import SessionManager, origin_of

__all__ = ["session_state", "suspend_interrupted"]

#: A process whose start time differs from the recorded one by more than this is another process.
PID_REUSE_SLACK: Final = 2.0


def _server_alive(origin: Mapping[str, Any]) -> bool:
    """True if the server process recorded in ``origin`` is still running (not a reused pid)."""
    import psutil

    pid, started = origin.get("server_pid"), origin.get("server_started")
    if not isinstance(pid, int) or not isinstance(started, (int, float)):
        return False
    try:
        return abs(psutil.Process(pid).create_time() - started) <= PID_REUSE_SLACK
    except psutil.Error:
        return False


def suspend_interrupted(manager: SessionManager, log: logging.Logger | None = None) -> list[str]:
    """Suspend every ``active`` server session whose server is gone; returns their ids."""
    log = log or logging.getLogger(__name__)
    if not manager.root.is_dir():
        return []
    suspended = []
    for path in sorted(manager.root.glob("*.json")):
        session_id = path.name[: -len(".json")]
        try:
            record = manager.load_session(session_id)
        except (SessionCorrupt, SessionNotFound, InvalidSessionId):
            continue
        origin = origin_of(record)
        if record.get("status") != "active" or "server_pid" not in origin or _server_alive(origin):
            continue
        if end_recorded(record.get("worker")):
            log.warning(
                "cmbagent session %s: ended its worker (pid %s), still running",
                session_id,
                record["worker"].get("pid"),
            )
        reason = (
            f"interrupted: the Jupyter server that ran it (pid {origin.get('server_pid')}) stopped "
            f"while it was {record.get('run_status') or 'running'}"
        )
        try:
            manager.suspend_session(
                session_id, reason=reason, run_status="interrupted", interrupted=True, worker=None
            )
        except SessionWriteError as exc:
            log.warning("could not mark session %s suspended: %s", session_id, exc)
            continue
        log.info("cmbagent session %s marked suspended (%s)", session_id, reason)
        suspended.append(session_id)
    return suspended


def session_state(manager: SessionManager, session_id: str) -> dict[str, Any]:
    """The RunState snapshot of a session, rebuilt from its event log by the one reducer.

    For sessions no task of this server holds (finished long ago, or run before a restart), so the
    sidebar draws them with the same view as live ones. SessionNotFound if there is no log.
    """
    from ..events import iter_log
    from ..state import RunState

    record = manager.load_session(session_id)
    path = manager.event_log_path(session_id)
    try:
        with _safefile.open_regular(path) as lines:
            state = RunState.from_events(
                iter_log(lines), session_id=session_id, mode=record.get("mode"), engine=record.get("engine")
            )
    except FileNotFoundError:
        raise SessionNotFound(f"session {session_id!r} has no event log to rebuild its state from") from None
    except OSError as exc:
        raise SessionCorrupt(f"event log {path} cannot be read: {exc.strerror or exc}") from exc
    snapshot = state.snapshot()
    if record.get("status") == "suspended" and snapshot["status"] not in ("completed", "failed", "cancelled"):
        snapshot["status"] = "suspended"  # e.g. interrupted by a dead server: its log just stops
    snapshot["message"] = record.get("suspend_reason") or snapshot["message"]
    return snapshot

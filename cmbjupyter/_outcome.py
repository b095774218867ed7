"""How a run ended, decided once from what the supervisor saw: the failure (or None) and the DAG's
closing statuses. Pure functions of the facts, so the rule reads in one place (_supervisor.py
publishes what they decide).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .backends.local import signal_name
from .errors import TaskFailed, WorkerCrashed, error_class_for

__all__ = ["closing_statuses", "failure_of"]


def failure_of(
    *,
    result: Any,
    stop: tuple[type[TaskFailed], str] | None,
    worker_error: Mapping[str, Any] | None,
    returncode: int | None,
    event_pipe_open: bool,
    stderr_tail: Sequence[str],
    ids: Mapping[str, str | None],
) -> TaskFailed | None:
    """The run's failure, or None when it succeeded: a result wins (even over a stop that raced with
    it), then a stop the host made (cancel, timeout, budget, memory), then the engine's own error,
    then how the worker died."""
    if result is not None:
        return None
    if stop is not None:
        reason, message = stop
        return reason(message, **ids)
    if worker_error is not None:
        cls = error_class_for(worker_error.get("error_type"))
        return cls(
            str(worker_error.get("message") or "the engine failed"),
            error_type=worker_error.get("error_type"),
            traceback=worker_error.get("traceback"),
            **ids,
        )
    tail = "\n".join(stderr_tail) or None
    if returncode is not None and returncode < 0:
        name = signal_name(returncode)
        return WorkerCrashed(
            f"the worker was killed by {name} before reporting a result",
            signal=name,
            exit_code=returncode,
            traceback=tail,
            **ids,
        )
    if not event_pipe_open and returncode == 0:
        message = "the worker exited without reporting a result"
    else:
        message = f"the worker exited with code {returncode} before reporting a result"
    return WorkerCrashed(message, exit_code=returncode, traceback=tail, **ids)


def closing_statuses(
    nodes: Mapping[str, Mapping[str, Any]], failed: bool, cancelled: bool = False
) -> dict[str, str]:
    """The node statuses that close the DAG: on success running nodes complete and pending ones are
    skipped; on failure running nodes fail; on a cancel they are cancelled (one outcome: the run's).
    Only the changes, ``end`` last."""
    if failed:
        ending = "cancelled" if cancelled else "failed"
        closing = {nid: ending for nid, n in nodes.items() if n.get("status") == "running"}
        closing["end"] = ending
    else:
        closing = {
            nid: status
            for nid, n in nodes.items()
            if (status := {"running": "completed", "pending": "skipped"}.get(str(n.get("status"))))
        }
        closing["end"] = "completed"
    return {nid: s for nid, s in closing.items() if nid in nodes and nodes[nid].get("status") != s}

"""SessionRecorder: the sink that keeps a run's session file up to date.

It saves (with the run's ``work_dir``, artifact manifest without thumbnails, bounded transcript and
outcome) on every ``phase_change`` (the seed's rule), at the end (the supervisor calls :meth:`save`,
and the ``complete`` event saves the outcome), and at least every ``save_interval`` seconds while
events arrive, so a crash loses at most that much. It also keeps the conversation buffer bounded
(the last 100 entries, each capped: agents' messages and output lines) and appends every event to
the session's JSONL event log, which it flushes often enough that a killed host loses about a second
of events at most (on append, and on :meth:`flush_stale`, which the supervisor calls on a timer
while the worker is quiet). A failed save (a full disk) never stops the run: it becomes a
``warning`` event and the previous sidecar stays intact.

A resumed session's earlier files (:func:`earlier_files`) are read from its sidecar before the new
run's first save replaces the manifest: the supervisor shows those still there as they were saved.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Mapping
from typing import Any, Final

from ._shapes import event_problem
from ._version import __version__
from .backends.process_tree import end_recorded, live_recorded
from .cost import PRICES_VERSION
from .errors import ConfigError, NotFound, SessionError, SessionWriteError, TaskFailed
from .eventlog import MAX_UNFLUSHED_AGE, EventLog
from .events import Event
from .redact import Redactor
from .session import ENTRY_CHARS, HISTORY_ENTRIES, SessionManager
from .snapshots import store_for, summary
from .state import RunState
from .workdir import resolve

__all__ = ["SessionRecorder", "claim_session", "earlier_files", "lineage", "manifest"]

DEFAULT_SAVE_INTERVAL: Final = 30.0
#: Events after which the sidecar is saved at once: a phase change (the seed's rule), a plan proposed
#: (a session list shows it awaiting approval) and the decision on it.
_SAVED_ON: Final = frozenset({"phase_change", "plan_proposed", "plan_decision"})
#: A sidecar's transcript: each text capped at this many characters...
SIDECAR_TEXT_CHARS: Final = 4000
#: ... and the newest items whose texts fit in this many (a sidecar stays far below its 16 MiB).
SIDECAR_TRANSCRIPT_CHARS: Final = 2_000_000


def claim_session(manager: SessionManager, session_id: str) -> None:
    """Never two workers for one session: a worker an earlier run recorded that still runs is ended
    if its host is gone (an orphan); if its host is alive, SessionError (HTTP 409) refuses the run."""
    try:
        record = manager.load_session(session_id)
    except (SessionError, OSError):
        return
    live = live_recorded(record.get("worker"))
    if live is None:
        return
    if live["host_alive"]:
        raise SessionError(
            f"session {session_id!r} is still running in worker pid {live['pid']} of host pid "
            f"{live['host_pid']}; cancel it there (or wait for it) before running it again"
        )
    end_recorded(live)


def earlier_files(
    manager: SessionManager, session_id: str, work_dir: str
) -> tuple[str, list[dict[str, Any]]] | None:
    """``(work dir, records)`` of the files the session's earlier attempts made that are still there
    unchanged (same size), marked ``restored``, when the new run works in the same folder; else None.
    (A worker in a shared folder, the python engine's cwd, reports only the files it makes.)"""
    try:
        record = manager.load_session(session_id)
    except (SessionError, OSError):
        return None
    saved = record.get("work_dir")
    if not isinstance(saved, str) or os.path.realpath(saved) != os.path.realpath(work_dir):
        return None
    kept = []
    for item in (record.get("artifacts") or {}).get("items") or ():
        if not isinstance(item, dict) or event_problem("artifact", item) is not None:
            continue
        try:
            still = resolve(saved, item["path"]).stat().st_size == item.get("size")
        except (NotFound, ConfigError, OSError):
            still = False
        if still:
            kept.append({**item, "restored": True})
    return saved, kept


def manifest(state: RunState) -> dict[str, Any]:
    """The run's artifact manifest as the sidecar keeps it: paths, hashes and metadata, never the
    contents nor the thumbnails (the views make those again from the files while they exist)."""
    return {
        "items": [{k: v for k, v in a.items() if k != "thumbnail"} for a in state.artifacts.values()],
        "count": state.artifact_count,
        "dropped": state.artifact_count_dropped,
    }


def lineage(restart: Mapping[str, Any] | None) -> dict[str, Any]:
    """A fork's lineage as its sidecar keeps it (``parent_session``, ``forked_at_step``, the
    ``changes``) and, for any resumed or forked run, ``restart`` (where it restarted); {} otherwise.
    From the run's ``restart`` event (``state.restart``), or its config before the run starts."""
    if not isinstance(restart, Mapping) or not restart:
        return {}
    kept = {"restart": {k: v for k, v in restart.items() if k in ("message", "at_step", "restored_steps")}}
    if restart.get("parent_session"):
        kept.update(
            parent_session=restart["parent_session"],
            forked_at_step=restart.get("forked_at_step"),
            changes=restart.get("changes") or {},
            work_dir_from=restart.get("work_dir_from"),  # a fork's: "snapshot" (before step N) or "final"
        )
    return kept


class SessionRecorder:
    """Saves ``state`` into ``manager``'s sidecar for ``session_id``; add it to a Router after the state."""

    def __init__(
        self,
        manager: SessionManager,
        session_id: str,
        state: RunState,
        *,
        save_interval: float = DEFAULT_SAVE_INTERVAL,
        event_log: EventLog | None = None,
    ) -> None:
        self.manager = manager
        self.session_id = session_id
        self.state = state
        self.save_interval = save_interval
        self.event_log = event_log
        self.conversation: deque[dict[str, Any]] = deque(maxlen=HISTORY_ENTRIES)
        self.saves = 0
        self.warnings: list[str] = []
        self._last_save = time.monotonic()
        self._log_error_reported = False

    def __call__(self, event: Event) -> None:
        self._keep(event)
        kind = event["type"]
        if kind == "complete":
            self.record_outcome()
        elif kind in _SAVED_ON or time.monotonic() - self._last_save >= self.save_interval:
            self.save()

    def many(self, events: list[Event]) -> None:
        """A run of events (the Router's batch form): kept one by one, saved when one of them says
        so, else at most once after them when ``save_interval`` has passed."""
        for event in events:
            if event["type"] == "complete" or event["type"] in _SAVED_ON:
                self(event)
            else:
                self._keep(event)
        if time.monotonic() - self._last_save >= self.save_interval:
            self.save()

    def _keep(self, event: Event) -> None:
        """The event into the log, and a printed line or message into the conversation."""
        if self.event_log is not None:
            self.event_log.append(event)
            if self.event_log.error and not self._log_error_reported:
                self._log_error_reported = True
                self.warnings.append(self.event_log.error)
        kind = event["type"]
        if kind in ("output", "message"):
            data = event["data"]
            text = data.get("message" if kind == "output" else "content")
            text = text if isinstance(text, str) else str(text)
            self.conversation.append(
                {
                    "role": data.get("agent") or data.get("stream") or "system",
                    "content": text if len(text) <= ENTRY_CHARS else text[:ENTRY_CHARS] + "…",
                    "timestamp": event.get("ts"),
                }
            )

    def save(self, **fields: Any) -> bool:
        """Write the sidecar now; False (and a queued warning) if it could not be written."""
        self._last_save = time.monotonic()
        state = self.state
        if self.event_log is not None:
            self.event_log.flush()
        try:
            self.manager.save_session_state(
                self.session_id,
                list(self.conversation),
                state.context,
                state.phase,
                state.step,
                task_id=state.task_id,
                engine=state.engine,
                dag=state.dag(),
                cost=state.cost,
                run_status=state.status,
                last_seq=state.last_seq,
                output_count=state.output_count,
                prices_version=PRICES_VERSION,
                work_dir=state.work_dir,
                artifacts=manifest(state),
                run_started_at=state.started_at,
                run_ended_at=state.ended_at,
                **lineage(state.restart),
                plan=state.plan,
                transcript=state.transcript.bounded(SIDECAR_TEXT_CHARS, SIDECAR_TRANSCRIPT_CHARS),
                outcome=state.outcome,
                **fields,
            )
        except OSError as exc:  # SessionWriteError: disk full, permissions
            self.warnings.append(str(exc))
            return False
        self.saves += 1
        return True

    def record_outcome(self) -> None:
        """Add the run's outcome (decided as its ``complete`` event was folded) to the ended session."""
        # the work-dir snapshots the worker kept (read once, at the end): from which step on there are none
        snapshots = summary(store_for(self.manager.path(self.session_id)))
        try:
            self.manager.update_session(
                self.session_id,
                close=True,
                outcome=self.state.outcome,
                run_status=self.state.status,
                **({"snapshots": snapshots} if snapshots else {}),
            )
        except (SessionError, OSError) as exc:  # the sidecar is gone or unwritable: the run ends anyway
            self.warnings.append(str(exc))

    def flush_stale(self, max_age: float = MAX_UNFLUSHED_AGE) -> None:
        """Flush the event log if its oldest unwritten event is ``max_age`` old (a timer's tick)."""
        if self.event_log is not None:
            self.event_log.flush_stale(max_age)

    def take_warnings(self) -> list[str]:
        warnings, self.warnings = self.warnings, []
        return warnings

    # ------------------------------------------------------------------ the session's life

    def create(self, task: str, config: dict[str, Any], redactor: Redactor) -> None:
        """Write the session as created (or reopened, for a resume): its first save."""
        state = self.state
        try:
            self.manager.create_session(
                self.session_id,
                mode=state.mode,
                task=task,
                config=config,
                task_id=state.task_id,
                engine=state.engine,
                redactor=redactor,
                cmbjupyter_version=__version__,
                **lineage(config.get("restart")),  # the lineage is there from the first write
            )
        except SessionWriteError as exc:
            self.warnings.append(str(exc))

    def record_worker(self, identity: dict[str, Any]) -> None:
        """Save the worker's pid and start time in the session, so a restarted server can end it."""
        try:
            self.manager.update_session(self.session_id, worker=identity)
        except SessionWriteError as exc:  # the run goes on; only a restart's recovery loses it
            self.warnings.append(str(exc))

    def end(self, failure: TaskFailed | None, result: Any = None) -> None:
        """The session's last writes: the final state, then completed (with the result) or suspended
        (with the failure, so it can be resumed). Its worker is gone: the record says so."""
        self.save(worker=None)
        try:
            if failure is None:
                self.manager.complete_session(self.session_id, result=result)
            else:
                self.manager.suspend_session(
                    self.session_id,
                    reason=failure.message,
                    error=failure.to_event_data(),
                    run_status=self.state.status,
                )
        except SessionWriteError as exc:
            self.warnings.append(str(exc))

    def close(self) -> None:
        if self.event_log is not None:
            self.event_log.close()

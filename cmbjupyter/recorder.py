"""SessionRecorder: the sink that keeps a run's session file up to date.

It saves on every ``phase_change`` (the seed's rule), at the end (the supervisor calls
:meth:`save`), and at least every ``save_interval`` seconds while events arrive, so a crash loses at
most that much. It also keeps the conversation buffer bounded (the last 100 entries, each capped)
and appends every event to the session's JSONL event log, which it flushes often enough that a
killed host loses about a second of events at most (on append, and on :meth:`flush_stale`, which
the supervisor calls on a timer while the worker is quiet). A failed save (a full disk) never stops
the run: it becomes a ``warning`` event and the previous sidecar stays intact.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any, Final

from .cost import PRICES_VERSION
from .eventlog import MAX_UNFLUSHED_AGE, EventLog
from .events import Event
from .session import ENTRY_CHARS, HISTORY_ENTRIES, SessionManager
from .state import RunState

__all__ = ["SessionRecorder"]

DEFAULT_SAVE_INTERVAL: Final = 30.0


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
        if self.event_log is not None:
            self.event_log.append(event)
            if self.event_log.error and not self._log_error_reported:
                self._log_error_reported = True
                self.warnings.append(self.event_log.error)
        kind = event["type"]
        if kind == "output":
            data = event["data"]
            text = data.get("message")
            text = text if isinstance(text, str) else str(text)
            self.conversation.append(
                {
                    "role": data.get("agent") or data.get("stream") or "system",
                    "content": text if len(text) <= ENTRY_CHARS else text[:ENTRY_CHARS] + "…",
                    "timestamp": event.get("ts"),
                }
            )
        if kind == "phase_change" or time.monotonic() - self._last_save >= self.save_interval:
            self.save()

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
                **fields,
            )
        except OSError as exc:  # SessionWriteError: disk full, permissions
            self.warnings.append(str(exc))
            return False
        self.saves += 1
        return True

    def flush_stale(self, max_age: float = MAX_UNFLUSHED_AGE) -> None:
        """Flush the event log if its oldest unwritten event is ``max_age`` old (a timer's tick)."""
        if self.event_log is not None:
            self.event_log.flush_stale(max_age)

    def take_warnings(self) -> list[str]:
        warnings, self.warnings = self.warnings, []
        return warnings

    def close(self) -> None:
        if self.event_log is not None:
            self.event_log.close()

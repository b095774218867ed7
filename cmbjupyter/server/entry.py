"""One task of the server, as the registry and the handlers see it, and the feed of task changes.

A :class:`TaskEntry` holds the task's :class:`~cmbjupyter.executor.PreparedRun` (its RunState and
sinks), its replay buffer (:mod:`.replay`) and where it came from (the notebook); its ``version``
moves on the :class:`ChangeFeed` whenever the task changes, which is how the ``updates`` WebSocket
sends only the tasks that changed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..events import Event, now_iso
from ..executor import PreparedRun
from ..state import RunState
from ._memory import entry_bytes
from .replay import EventBuffer

__all__ = ["ChangeFeed", "TaskEntry"]


class ChangeFeed:
    """A version counter with wake-ups: how the sessions panel learns that some task changed."""

    def __init__(self) -> None:
        self.version = 0
        self._waiters: set[asyncio.Event] = set()

    def bump(self) -> int:
        self.version += 1
        for waiter in self._waiters:
            waiter.set()
        return self.version

    def subscribe(self) -> asyncio.Event:
        waiter = asyncio.Event()
        self._waiters.add(waiter)
        return waiter

    def unsubscribe(self, waiter: asyncio.Event) -> None:
        self._waiters.discard(waiter)


class TaskEntry:
    """One submitted task: its prepared run (state, sinks), its replay buffer and where it came from."""

    def __init__(self, run: PreparedRun, buffer: EventBuffer, feed: ChangeFeed, notebook: str | None) -> None:
        self.run = run
        self.buffer = buffer
        self.notebook = notebook
        self.submitted_at = now_iso()
        self.runner: asyncio.Task[None] | None = None
        self.cancel_requested = False
        self.version = feed.bump()
        #: Estimated bytes this task keeps in memory once finished (see ``_memory.entry_bytes``).
        self.memory = 0
        self.shed_done = False
        self._feed = feed

    @property
    def task_id(self) -> str:
        return self.run.task_id

    @property
    def state(self) -> RunState:
        return self.run.state

    @property
    def session_id(self) -> str | None:
        return self.run.session_id

    @property
    def done(self) -> bool:
        return self.buffer.closed

    def shed(self) -> int:
        """Drop what a finished task keeps besides its RunState; returns the bytes freed (estimated)."""
        if self.shed_done:
            return 0
        self.shed_done = True
        before = self.memory
        self.buffer.release()
        self.run.release()
        self.memory = entry_bytes(self)
        return before - self.memory

    def touch(self, event: Event) -> None:
        """Router sink: mark this task changed for the sessions feed (no work per event beyond that)."""
        self.version = self._feed.bump()

    def summary(self, queued_position: int | None = None) -> dict[str, Any]:
        """The listing entry: RunState's summary without the per-node map, plus progress and origin."""
        summary = self.state.summary()
        nodes = summary.pop("nodes")
        work = [s for node_id, s in nodes.items() if node_id not in ("start", "end")]
        summary.update(
            message=self.state.message,
            progress={"done": sum(s in ("completed", "skipped") for s in work), "total": len(work)},
            notebook=self.notebook,
            submitted_at=self.submitted_at,
            queued_position=queued_position,
            last_seq=self.state.last_seq,
            input_request=self.state.input_request,
            budget_warning=bool(self.state.cost.get("warning")),  # the sidebar's notifications
        )
        return summary

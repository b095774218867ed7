"""TaskRegistry: the server's tasks, from submission through the queue to their end.

The registry owns one :class:`~cmbjupyter.executor.IsolatedTaskExecutor`, so every worker is a child
of the Jupyter server, never of a kernel: a task outlives the kernel (or tab) that submitted it.
At most ``max_concurrent`` tasks run at once; the others wait in FIFO order with a ``queued``
status event. Each task's events go, inline and in order, to its RunState, its session recorder
and an :class:`~.replay.EventBuffer` (the last ``event_log_limit`` events) from which any number of
WebSocket subscribers replay and follow at their own pace.

Finished tasks stay listed (with their final RunState) until ``keep_finished`` newer ones have
finished; only the newest 20 keep their whole replay buffer (older ones answer late subscribers with
a snapshot). Their memory is also bounded in bytes (``finished_memory_bytes``, estimated once per
task as it ends, see ``_memory.py``): past it, the oldest finished tasks first drop their replay
buffers, then are forgotten altogether (the newest is always kept), and the heap is trimmed, so
the server's RSS comes back near its baseline after big tasks. Sessions stay on disk for good.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections import deque
from collections.abc import Mapping
from typing import Any, Final

from .._recorder import claim_session
from ..config import new_session_id, validate_session_id
from ..errors import (
    ConfigError,
    SessionError,
    TaskConflict,
    TaskFailed,
    TaskNotFound,
)
from ..executor import IsolatedTaskExecutor
from ..fork import fork_config
from ..session import SessionManager
from ._memory import entry_bytes, trim_heap
from .entry import ChangeFeed, TaskEntry
from .replay import EventBuffer

__all__ = ["TaskRegistry"]

#: Finished tasks whose whole replay buffer is kept; older ones keep their final state only.
FULL_BUFFERS_KEPT: Final = 20
#: Default bound of what finished tasks keep in memory (replay buffers and states), in bytes.
FINISHED_MEMORY_BYTES: Final = 32 * 2**20
#: How long shutdown waits for running workers to stop (after SIGTERM, then SIGKILL).
SHUTDOWN_WAIT: Final = 10.0


class TaskRegistry:
    """Submits, queues, runs, cancels and lists the tasks of one Jupyter server."""

    def __init__(
        self,
        sessions: SessionManager,
        *,
        max_concurrent: int = 4,
        event_log_limit: int = 10_000,
        keep_finished: int = 200,
        finished_memory_bytes: int = FINISHED_MEMORY_BYTES,
        defaults: Mapping[str, Any] | None = None,
        cancel_grace: float = 3.0,
        root_dir: str | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        if max_concurrent < 1:
            raise ValueError(f"max_concurrent_tasks must be at least 1, not {max_concurrent}")
        if event_log_limit < 1:
            raise ValueError(f"event_log_limit must be at least 1, not {event_log_limit}")
        self.sessions = sessions
        self.executor = IsolatedTaskExecutor(session_manager=sessions, cancel_grace=cancel_grace)
        self.max_concurrent = max_concurrent
        self.event_log_limit = event_log_limit
        self.keep_finished = keep_finished
        self.finished_memory_bytes = finished_memory_bytes
        self.defaults = {k: v for k, v in (defaults or {}).items() if v not in (None, "")}
        self.log = log or logging.getLogger(__name__)
        self.root_dir = root_dir
        self.tasks: dict[str, TaskEntry] = {}
        self.feed = ChangeFeed()
        self._queue: deque[TaskEntry] = deque()
        self._running: set[str] = set()
        self._finished: deque[str] = deque()
        self._origin = {"server_pid": os.getpid(), "server_started": time.time()}
        self._closing = False

    # ------------------------------------------------------------------ lookups

    def get(self, task_id: str) -> TaskEntry:
        entry = self.tasks.get(task_id)
        if entry is None:
            raise TaskNotFound(f"no task {task_id!r} on this server")
        return entry

    def queued_position(self, entry: TaskEntry) -> int | None:
        """1 for the next task to start, None when not queued."""
        try:
            return self._queue.index(entry) + 1
        except ValueError:
            return None

    def list(self) -> list[dict[str, Any]]:
        """Every known task, newest submission first."""
        positions = {entry.task_id: n for n, entry in enumerate(self._queue, 1)}
        entries = sorted(self.tasks.values(), key=lambda e: e.submitted_at, reverse=True)
        return [entry.summary(positions.get(entry.task_id)) for entry in entries]

    def live_for_session(self, session_id: str) -> TaskEntry | None:
        """The newest task of this session that is queued or running."""
        for entry in reversed(list(self.tasks.values())):
            if entry.session_id == session_id and not entry.done:
                return entry
        return None

    def latest_for_session(self) -> dict[str, TaskEntry]:
        """The newest task of each session (live or finished) this server still remembers."""
        latest: dict[str, TaskEntry] = {}
        for entry in self.tasks.values():
            if entry.session_id:
                latest[entry.session_id] = entry
        return latest

    def notebook_path(self, notebook: str | None) -> str | None:
        """The notebook's path as JupyterLab names it (relative to root_dir, ``/``-separated).

        Kernels started for a notebook get ``JPY_SESSION_NAME`` as an absolute OS path; the sidebar
        opens and matches notebooks by their contents-API path.
        """
        if not notebook or not self.root_dir or not os.path.isabs(notebook):
            return notebook or None
        root = os.path.realpath(self.root_dir)
        path = os.path.realpath(notebook)
        if os.path.commonpath([root, path]) != root:
            return notebook
        return os.path.relpath(path, root).replace(os.sep, "/")

    @property
    def running(self) -> int:
        return len(self._running)

    @property
    def queued(self) -> int:
        return len(self._queue)

    # ------------------------------------------------------------------ submission

    async def submit(
        self,
        task: Any,
        config: Any = None,
        *,
        task_id: str | None = None,
        notebook: str | None = None,
    ) -> TaskEntry:
        """Check and register a task; start it now or queue it. Raises ConfigError / TaskConflict."""
        if self._closing:
            raise TaskConflict("the server is shutting down; no new tasks")
        if config is not None and not isinstance(config, Mapping):
            raise ConfigError(f"config must be an object, not {type(config).__name__}")
        if notebook is not None and not isinstance(notebook, str):
            raise ConfigError(f"notebook must be a path string, not {type(notebook).__name__}")
        notebook = self.notebook_path(notebook)
        config = {**self.defaults, **(config or {})}
        config.pop("sessions_dir", None)  # the server's own store holds every session it runs
        config.setdefault("session_id", new_session_id())
        config["origin"] = {**self._origin, "notebook": notebook}
        if task_id is None:
            task_id = f"srv-{uuid.uuid4().hex[:12]}"
        else:
            try:
                validate_session_id(task_id)
            except ValueError as exc:
                raise ConfigError(str(exc).replace("session id", "task id")) from None
        if task_id in self.tasks:
            raise TaskConflict(f"task {task_id!r} already exists")
        session_id = config["session_id"]
        if isinstance(session_id, str) and self.live_for_session(session_id) is not None:
            raise TaskConflict(f"session {session_id!r} is already running or queued on this server")
        try:
            run = self.executor.prepare(task_id, task, config)
        except ImportError as exc:  # e.g. backend "dask" without distributed installed on the server
            raise ConfigError(f"this server cannot run the task: {exc}") from None
        claim_session(self.sessions, run.config.session_id)  # SessionError (409): another worker runs it
        entry = TaskEntry(run, EventBuffer(self.event_log_limit), self.feed, notebook)
        run.subscribe(entry.buffer)
        run.subscribe(entry.touch)
        self.tasks[task_id] = entry
        if len(self._running) < self.max_concurrent and not self._queue:
            self._start(entry)
        else:
            self._queue.append(entry)
            ahead = len(self._queue) - 1
            await run.queued(
                ahead + 1,
                f"waiting for a free slot ({self.running} running, {ahead} queued ahead, "
                f"max_concurrent_tasks={self.max_concurrent})",
            )
        return entry

    async def resume(
        self, session_id: str, overrides: Mapping[str, Any] | None = None, *, notebook: str | None = None
    ) -> TaskEntry:
        """Run a suspended session again from its saved phase and step (as a new task)."""
        if self.live_for_session(session_id) is not None:
            raise TaskConflict(f"session {session_id!r} is already running or queued on this server")
        task, config = self.executor.resume_config(session_id, **dict(overrides or {}))
        origin = config.pop("origin", None) or {}
        return await self.submit(task, config, notebook=notebook or origin.get("notebook"))

    async def fork(
        self,
        parent_id: str,
        at_step: int,
        changes: Mapping[str, Any] | None = None,
        *,
        session_id: str | None = None,
        overrides: Mapping[str, Any] | None = None,
        notebook: str | None = None,
    ) -> TaskEntry:
        """Fork a saved session at ``at_step`` into a new session (:func:`cmbjupyter.fork.fork_config`:
        the work dir is copied off the event loop) and run it as a new task."""
        if self.live_for_session(parent_id) is not None:
            raise TaskConflict(f"session {parent_id!r} is running or queued: fork it once it has stopped")
        task, config = await asyncio.to_thread(
            fork_config,
            self.sessions,
            parent_id,
            at_step,
            session_id=session_id,
            changes=changes,
            overrides=overrides,
        )
        origin = config.pop("origin", None) or {}
        return await self.submit(task, config, notebook=notebook or origin.get("notebook"))

    # ------------------------------------------------------------------ running

    def _start(self, entry: TaskEntry) -> None:
        self._running.add(entry.task_id)
        entry.runner = asyncio.get_running_loop().create_task(
            self._run(entry), name=f"cmbjupyter-task-{entry.task_id}"
        )

    def _pump(self) -> None:
        while self._queue and len(self._running) < self.max_concurrent and not self._closing:
            self._start(self._queue.popleft())

    async def _run(self, entry: TaskEntry) -> None:
        try:
            if entry.cancel_requested:
                await entry.run.abandon("the task was cancelled before it started")
                return
            await entry.run.start()
        except (TaskFailed, SessionError):
            pass  # the run's ending is already published: its error + complete events
        except asyncio.CancelledError:
            raise
        except Exception:  # the supervisor ends every run it started; this is a bug to report
            self.log.exception("cmbagent task %s failed on the server side", entry.task_id)
        finally:
            self._finish(entry)

    def _finish(self, entry: TaskEntry) -> None:
        self._running.discard(entry.task_id)
        entry.buffer.close()
        entry.version = self.feed.bump()
        self._finished.append(entry.task_id)
        entry.memory = entry_bytes(entry)
        while len(self._finished) > self.keep_finished:
            self.tasks.pop(self._finished.popleft(), None)
        if len(self._finished) > FULL_BUFFERS_KEPT:  # bounded memory however many tasks ran
            old = self.tasks.get(self._finished[-FULL_BUFFERS_KEPT - 1])
            if old is not None:
                old.shed()
        self._bound_memory()
        self._pump()

    def _bound_memory(self) -> None:
        """Keep finished tasks under ``finished_memory_bytes``: shed the oldest tasks' replay buffers
        first, then forget the oldest tasks (never the newest); then give the memory back to the OS."""
        finished = [self.tasks[task_id] for task_id in self._finished if task_id in self.tasks]
        total = sum(entry.memory for entry in finished)
        freed = 0
        for entry in finished:
            if total <= self.finished_memory_bytes:
                break
            shed = entry.shed()
            total, freed = total - shed, freed + shed
        while total > self.finished_memory_bytes and len(self._finished) > 1:
            forgotten = self.tasks.pop(self._finished.popleft(), None)
            if forgotten is not None:
                total, freed = total - forgotten.memory, freed + forgotten.memory
        trim_heap(freed)

    # ------------------------------------------------------------------ control

    async def cancel(self, task_id: str, reason: str = "the task was cancelled") -> str:
        """Cancel a queued or running task; returns its status (a finished task is left as it is)."""
        entry = self.get(task_id)
        if entry.done:
            return entry.state.status
        if entry in self._queue:
            self._queue.remove(entry)
            try:
                await entry.run.abandon(f"{reason} while queued")
            finally:
                self._finish(entry)
            return entry.state.status
        # The cancel is a state of the run: a runner that has not started ends it without a worker,
        # a spawn under way is stopped as soon as it returns, a running worker is stopped now.
        if await entry.run.cancel(reason):
            entry.cancel_requested = True
        return entry.state.status

    async def send_input(self, task_id: str, request_id: Any, text: Any) -> None:
        """Answer the task's pending ``input_request``."""
        if not isinstance(request_id, str) or not isinstance(text, str):
            raise ConfigError("input needs 'request_id' and 'text', both strings")
        entry = self.get(task_id)
        pending = entry.state.input_request
        if entry.done or pending is None:
            raise TaskConflict(f"task {task_id!r} is not waiting for input")
        if str(pending.get("request_id")) != request_id:
            raise TaskConflict(
                f"task {task_id!r} is waiting for request {pending.get('request_id')!r}, not {request_id!r}"
            )
        try:
            await entry.run.send_input(request_id, text)
        except (KeyError, RuntimeError) as exc:
            raise TaskConflict(f"task {task_id!r} cannot take input now: {exc}") from None

    async def shutdown(self, reason: str = "the Jupyter server shut down") -> None:
        """Stop everything: queued tasks end cancelled, running ones are stopped and their sessions
        suspended (resumable), and this waits for their workers to exit."""
        self._closing = True
        while self._queue:
            entry = self._queue.popleft()
            try:
                await entry.run.abandon(f"{reason} while the task was queued")
            finally:
                self._finish(entry)
        runners = []
        for entry in self.tasks.values():
            if not entry.done and entry.runner is not None:
                entry.cancel_requested = True
                entry.run.stop(f"{reason} while the task was running")
                runners.append(entry.runner)
        if runners:
            _done, pending = await asyncio.wait(runners, timeout=SHUTDOWN_WAIT)
            for runner in pending:
                runner.cancel()

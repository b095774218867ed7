"""IsolatedTaskExecutor: the public way to run a task in an isolated worker and route its events.

::

    sessions = SessionManager(root="path/to/sessions")
    executor = IsolatedTaskExecutor(session_manager=sessions)
    result = await executor.execute(task_id="t1", task="...", config={"mode": "one-shot"}, output_callback=cb)

The same class serves the kernel (kernel mode), the jupyter_server extension (server mode) and the
CLI. The worker is always a separate process: an engine that crashes, leaks or hangs can take down
its worker, never the caller.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from ._supervisor import TaskSupervisor
from .books import attempt_entries, resume_restart
from .config import TaskConfig, check_encodable
from .errors import ConfigError, SessionError, TaskCancelled
from .redact import REDACTED
from .router import EventSink
from .session import SessionManager
from .snapshots import store_for
from .state import RunState

__all__ = ["IsolatedTaskExecutor", "PreparedRun"]

OutputCallback = Callable[..., Any]


def _backend_for(config: TaskConfig) -> Any:
    if config.backend == "dask":
        from .backends.dask import DaskBackend

        return DaskBackend.from_config(config)
    from .backends.local import LocalBackend

    return LocalBackend()


class IsolatedTaskExecutor:
    """Runs tasks in isolated worker processes and routes their events.

    ``session_manager``: where sessions are saved when a task's config has a ``session_id``.
    ``cancel_grace``: seconds between SIGTERM and SIGKILL when a task is stopped.
    ``save_interval``: a running session is saved at least this often while events arrive.
    """

    def __init__(
        self,
        session_manager: SessionManager | None = None,
        *,
        cancel_grace: float = 3.0,
        save_interval: float = 30.0,
        log_events: bool = True,
    ) -> None:
        self.session_manager = session_manager
        self.cancel_grace = cancel_grace
        self.save_interval = save_interval
        self.log_events = log_events
        self._runs: dict[str, TaskSupervisor] = {}

    async def execute(
        self,
        task_id: str,
        task: str,
        config: Mapping[str, Any] | None = None,
        output_callback: OutputCallback | None = None,
        *,
        subscribers: list[EventSink] | None = None,
    ) -> dict[str, Any]:
        """Run ``task`` and return the engine's result (a dict with ``"context"``).

        ``output_callback(event_type, data)`` -- a function or coroutine function -- receives every
        event in order; one that accepts a third argument also gets the whole event (``seq``, ``ts``).
        ``subscribers`` are extra Router sinks (throttled widgets, websockets) added after it.
        Raises ConfigError (a ValueError) before anything starts if the config is invalid, and a
        TaskFailed subclass after the ``error`` event if the task fails.
        """
        prepared = self.prepare(task_id, task, config, output_callback)
        for sink in subscribers or ():
            prepared.subscribe(sink)
        return await prepared.start()

    def prepare(
        self,
        task_id: str,
        task: str,
        config: Mapping[str, Any] | None = None,
        output_callback: OutputCallback | None = None,
    ) -> PreparedRun:
        """Check the config and set up a run without starting it: subscribe sinks to the returned
        :class:`PreparedRun`, then ``start()`` it (or ``abandon()`` it if it never starts)."""
        if not isinstance(task_id, str) or not task_id:
            raise ConfigError(f"task_id must be a non-empty string, not {task_id!r}")
        if not isinstance(task, str):
            raise ConfigError(f"task must be a string, not {type(task).__name__}")
        if task_id in self._runs:
            raise ConfigError(f"task {task_id!r} is already running")
        check_encodable(task, "the task text")
        checked = TaskConfig(config)
        if checked.session_id and self.session_manager is None:
            self.session_manager = SessionManager()
        if checked.session_id and checked.backend == "local" and self.session_manager is not None:
            # the work dir before each step, for a fork there (a Dask worker may not see this folder)
            store = store_for(self.session_manager.path(checked.session_id))
            checked.snapshot_dir = os.path.abspath(store)
        try:
            backend = _backend_for(checked)
            supervisor = TaskSupervisor(
                task_id,
                task,
                checked,
                backend=backend,
                session_manager=self.session_manager,
                output_callback=output_callback,
                cancel_grace=self.cancel_grace,
                save_interval=self.save_interval,
                log_events=self.log_events,
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"invalid config: {exc}") from exc
        return PreparedRun(self, supervisor)

    async def _run(self, supervisor: TaskSupervisor) -> dict[str, Any]:
        """Run a prepared task to its end (see :meth:`execute`)."""
        if supervisor.task_id in self._runs:
            raise ConfigError(f"task {supervisor.task_id!r} is already running")
        self._runs[supervisor.task_id] = supervisor
        try:
            return await supervisor.run()
        finally:
            self._runs.pop(supervisor.task_id, None)

    async def cancel(self, task_id: str) -> bool:
        """Stop a running task (SIGTERM to its process group, SIGKILL after ``cancel_grace``).

        Returns False if no such task is running, or if its outcome was already decided (it is
        finishing). Otherwise ``execute`` raises TaskCancelled, whatever stage the run was at: a
        cancel before the worker is spawned means it never is.
        """
        supervisor = self._runs.get(task_id)
        if supervisor is None:
            return False
        return await supervisor.cancel()

    async def send_input(self, task_id: str, request_id: str, text: str) -> None:
        """Answer an ``input_request`` event of a running task (human-in-the-loop)."""
        supervisor = self._runs.get(task_id)
        if supervisor is None:
            raise KeyError(f"no running task {task_id!r}")
        await supervisor.send_input(request_id, text)

    def state(self, task_id: str) -> RunState | None:
        """The live RunState of a running task."""
        supervisor = self._runs.get(task_id)
        return supervisor.state if supervisor else None

    @property
    def running(self) -> list[str]:
        return list(self._runs)

    async def resume(
        self,
        session_id: str,
        *,
        task_id: str | None = None,
        task: str | None = None,
        output_callback: OutputCallback | None = None,
        **overrides: Any,
    ) -> dict[str, Any]:
        """Run a suspended session again from where it stopped.

        The config is the session's (secrets were never saved: pass ``env=...`` again if the engine
        needs it), with ``restart_at_step`` set to the saved step and ``context`` to the saved
        context variables, so engines that support it (cmbagent planning-control) continue there.
        """
        record_task, config = self.resume_config(session_id, **overrides)
        task_id = task_id or f"{session_id}-resume-{os.getpid()}-{len(self._runs)}"
        return await self.execute(task_id, task if task is not None else record_task, config, output_callback)

    def resume_config(self, session_id: str, **overrides: Any) -> tuple[str, dict[str, Any]]:
        """The task and the config that resume ``session_id``.

        Where it restarts is decided here, before anything runs (:func:`books.resume_restart`: the
        saved step, or the beginning for an engine that cannot restart mid-way), and the run's
        ``restart`` event carries the books of the earlier attempts (cost, tokens, time).
        """
        manager = self.session_manager or SessionManager()
        self.session_manager = manager
        record = manager.load_session(session_id)
        if record.get("status") == "completed":
            raise SessionError(f"session {session_id!r} is completed; there is nothing to resume")
        config = {k: v for k, v in (record.get("config") or {}).items() if v != REDACTED and k != "env"}
        for key in ("restart", "restart_at_step"):
            config.pop(key, None)  # a fork's: this attempt restarts where the session stopped
        config.update(overrides)
        config["session_id"] = session_id
        step, mid_way, message = resume_restart(record)
        if step is not None:
            config.setdefault("restart_at_step", step)
        if mid_way:  # the context saved when that step started, not the one the run was given
            config["context"] = record.get("context_variables") or {}
        config.setdefault("context", record.get("context_variables") or {})
        config["resume"] = {"phase": record.get("current_phase"), "step": step}
        at = config.get("restart_at_step") if mid_way else None
        restart = {
            "message": f"resumes {session_id}: {message}",
            "at_step": at,
            "restored_steps": list(range(1, at)) if isinstance(at, int) else [],
            "carried": attempt_entries(record),
        }
        lineage = {
            k: record[k]
            for k in ("parent_session", "forked_at_step", "changes", "work_dir_from")
            if k in record
        }
        config["restart"] = {**restart, **lineage}
        return str(record.get("task") or ""), config

    async def aclose(self) -> None:
        """Cancel every running task and wait for them to end."""
        running = list(self._runs.values())
        for supervisor in running:
            await self.cancel(supervisor.task_id)
        for supervisor in running:
            await supervisor.finished.wait()


class PreparedRun:
    """A task checked and set up, not started yet: the one handle its caller holds.

    Subscribe sinks first (:meth:`subscribe`), then :meth:`start` it; a run that will never start
    (cancelled while queued, a server shutting down) is :meth:`abandon`-ed instead. Either way the
    supervisor makes every ending: ``error``/``result`` and ``complete`` events and the session's
    last write. ``state`` is the live RunState (the reducer's; read it, never set it).
    """

    def __init__(self, executor: IsolatedTaskExecutor, supervisor: TaskSupervisor) -> None:
        self._executor = executor
        self._supervisor = supervisor
        self.task_id = supervisor.task_id
        self.config = supervisor.config
        self.state = supervisor.state
        #: Set when the run is over (its ending published, its worker gone).
        self.finished = supervisor.finished
        manager = supervisor.sessions
        session_id = self.config.session_id
        #: The session's sidecar file, or None for a run without a session.
        self.sidecar = str(manager.path(session_id)) if manager is not None and session_id else None

    @property
    def session_id(self) -> str | None:
        return self.config.session_id

    def subscribe(self, sink: EventSink) -> None:
        """Add a Router sink: it gets every event of the run, in order (add before :meth:`start`)."""
        self._supervisor.router.add(sink)

    async def start(self) -> dict[str, Any]:
        """Run to the end; the engine's result, or the run's TaskFailed raised after its events."""
        return await self._executor._run(self._supervisor)

    async def queued(self, position: int, message: str) -> None:
        """Say the run waits for a free slot (a ``queued`` status event)."""
        data = {"status": "queued", "message": message, "position": position}
        await self._supervisor.publish("status", data)

    async def cancel(self, message: str = "the task was cancelled") -> bool:
        """Cancel at any stage (see :meth:`TaskSupervisor.cancel`); False if the outcome was decided."""
        return await self._supervisor.cancel(message)

    def stop(self, message: str) -> None:
        """Cancel without the ``cancelling`` status (a server shutting down stops every run at once)."""
        self._supervisor.stop(TaskCancelled, message)

    async def abandon(self, reason: str) -> None:
        """End the run without starting it: cancelled, its session suspended (resumable)."""
        await self._supervisor.abandon(reason)

    async def send_input(self, request_id: str, text: str) -> None:
        """Answer the run's pending ``input_request``."""
        await self._supervisor.send_input(request_id, text)

    async def approve(self, plan: Any = None) -> None:
        """Approve the plan the run waits on; ``plan``: the edited steps (None: as proposed)."""
        await self._supervisor.decide_plan(True, plan=plan)

    async def reject(self, feedback: str) -> None:
        """Reject the plan the run waits on; the planner plans again with ``feedback``."""
        await self._supervisor.decide_plan(False, feedback=feedback)

    def worker_pids(self) -> list[int]:
        """The worker's processes while it runs (empty before and after)."""
        worker = self._supervisor.worker
        return list(worker.pids()) if worker is not None else []

    def held_bytes(self) -> int:
        """What the run keeps besides its state and buffers: its stderr tail and conversation."""
        supervisor = self._supervisor
        held = sum(len(line) for line in supervisor.stderr_tail)
        if supervisor.recorder is not None:
            held += sum(len(str(e.get("content", ""))) for e in supervisor.recorder.conversation)
        return held

    def release(self) -> None:
        """Drop what a finished run holds beyond its state (a long-lived server keeps many)."""
        supervisor = self._supervisor
        supervisor.stderr_tail.clear()
        if supervisor.recorder is not None:
            supervisor.recorder.conversation.clear()

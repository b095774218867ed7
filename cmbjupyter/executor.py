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

from .config import TaskConfig, check_encodable
from .errors import ConfigError, SessionError
from .redact import REDACTED
from .router import EventSink
from .session import SessionManager
from .state import RunState
from .supervisor import TaskSupervisor

__all__ = ["IsolatedTaskExecutor"]

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
        supervisor = self.prepare(task_id, task, config, output_callback)
        for sink in subscribers or ():
            supervisor.router.add(sink)
        return await self.run(supervisor)

    def prepare(
        self,
        task_id: str,
        task: str,
        config: Mapping[str, Any] | None = None,
        output_callback: OutputCallback | None = None,
    ) -> TaskSupervisor:
        """Check the config and set up a run without starting it (so callers can subscribe first)."""
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
        return supervisor

    async def run(self, supervisor: TaskSupervisor) -> dict[str, Any]:
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
        config = self.resume_config(session_id, **overrides)
        record_task = config.pop("_task")
        task_id = task_id or f"{session_id}-resume-{os.getpid()}-{len(self._runs)}"
        return await self.execute(task_id, task if task is not None else record_task, config, output_callback)

    def resume_config(self, session_id: str, **overrides: Any) -> dict[str, Any]:
        """The config that resumes ``session_id`` (its task under the key ``_task``)."""
        manager = self.session_manager or SessionManager()
        self.session_manager = manager
        record = manager.load_session(session_id)
        if record.get("status") == "completed":
            raise SessionError(f"session {session_id!r} is completed; there is nothing to resume")
        config = {k: v for k, v in (record.get("config") or {}).items() if v != REDACTED and k != "env"}
        config.update(overrides)
        config["session_id"] = session_id
        step = record.get("current_step")
        if step is not None:
            config.setdefault("restart_at_step", step)
        config.setdefault("context", record.get("context_variables") or {})
        config["resume"] = {"phase": record.get("current_phase"), "step": step}
        config["_task"] = record.get("task") or ""
        return config

    async def aclose(self) -> None:
        """Cancel every running task and wait for them to end."""
        running = list(self._runs.values())
        for supervisor in running:
            await self.cancel(supervisor.task_id)
        for supervisor in running:
            await supervisor.finished.wait()

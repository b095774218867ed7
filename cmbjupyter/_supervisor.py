"""TaskSupervisor: one task from spawn to outcome.

It owns the worker process and turns everything that can happen to it into events, in order, with
``seq`` 1, 2, 3...: the DAG template, the worker's own events, prices and budget checks, and at the
end exactly one of ``result`` + ``complete(success)`` or ``error`` + ``complete(failed|cancelled)``.
A worker that dies without a result (a signal, an exit code, a closed pipe, a timeout, the memory
or cost limit) is described in that ``error`` event, the session is suspended, and the matching
:class:`~cmbjupyter.errors.TaskFailed` subclass is raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import traceback
from collections.abc import Callable
from typing import Any, Final

from ._intake import WorkerEventIntake
from ._outcome import closing_statuses, failure_of
from ._recorder import SessionRecorder, claim_session
from ._watch import HeldTime, reap, watch_memory, watch_timeout
from .config import TaskConfig
from .dag import first_work_node, template_for
from .errors import (
    MemoryLimitExceeded,
    SessionError,
    TaskCancelled,
    TaskConflict,
    TaskFailed,
    TaskTimeout,
    WorkerCrashed,
)
from .eventlog import EventLog
from .events import PROTOCOL_VERSION, Event, now_iso
from .plans import check_feedback, check_plan
from .redact import Redactor
from .router import Router, callback_sink
from .session import SessionManager
from .state import RunState

__all__ = ["TaskSupervisor"]

#: After the event pipe closes without a result, the worker has this long to exit on its own.
CHANNEL_GRACE: Final = 2.0
#: How often (and past what age) the event log is flushed while no event arrives to flush it.
FLUSH_INTERVAL: Final = 0.5
#: The worker enforces the timeout and budget itself this long after the host would have stopped it
#: (on top of the cancel grace): the second line, for a host that is frozen or gone.
WORKER_LIMIT_SLACK: Final = 5.0


class TaskSupervisor(WorkerEventIntake):
    """Runs one task on a backend; ``await run()`` returns the result or raises TaskFailed."""

    def __init__(
        self,
        task_id: str,
        task: str,
        config: TaskConfig,
        *,
        backend: Any,
        session_manager: SessionManager | None = None,
        output_callback: Callable[..., Any] | None = None,
        cancel_grace: float = 3.0,
        save_interval: float = 30.0,
        log_events: bool = True,
    ) -> None:
        self.task_id, self.task, self.config, self.backend = task_id, task, config, backend
        self.cancel_grace = cancel_grace
        self.state = RunState(
            task_id,
            session_id=config.session_id,
            mode=config.mode,
            engine=config.engine,
            budget_usd=config.budget_usd,
        )
        self.router = Router()
        self.router.add(self.state.apply, many=self.state.apply_many)
        self.held = HeldTime(self.state)
        self.router.add(self.held)
        self.redactor = Redactor.for_task(config.raw)
        self._init_intake(config)
        self.sessions = session_manager if config.session_id else None
        self.history = session_manager
        self.recorder: SessionRecorder | None = None
        if self.sessions is not None and config.session_id:
            log = EventLog(self.sessions.event_log_path(config.session_id)) if log_events else None
            self.recorder = SessionRecorder(
                self.sessions, config.session_id, self.state, save_interval=save_interval, event_log=log
            )
            self.router.add(self.recorder, many=self.recorder.many)
        if output_callback is not None:
            self.router.add(callback_sink(output_callback))
        self.seq = 0
        self.worker: Any = None
        self.stop_reason: type[TaskFailed] | None = None
        self.stop_message = ""
        self.peak_rss_mb = 0.0
        self._started = False  # run() has begun
        self._decided = False  # _finish() has chosen the outcome: a stop comes too late
        #: Set when the run is over (result or error published, worker gone).
        self.finished = asyncio.Event()
        self._kill_timer: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------------ publishing

    async def publish(self, type: str, data: dict[str, Any]) -> None:
        """Publish a host-made event."""
        await self._dispatch({"v": PROTOCOL_VERSION, "type": type, "ts": now_iso(), "data": data})

    async def _dispatch(self, event: Event) -> None:
        await self._dispatch_many([event])

    async def _dispatch_many(self, events: list[Event]) -> None:
        """Number, redact and publish events (a run of several: only printed ``output``)."""
        for event in events:
            self.seq += 1
            event["seq"], event["task_id"] = self.seq, self.task_id
            if event["type"] != "output":
                self.redactor.learn(event["data"])  # e.g. a context variable named "password"
            if self.redactor.secrets:
                event["data"] = self.redactor.value(event["data"])
        await (self.router.publish(events[0]) if len(events) == 1 else self.router.publish_many(events))
        if self.recorder is not None and self.recorder.warnings:
            for message in self.recorder.take_warnings():
                await self.publish("warning", {"message": message, "kind": "session"})

    # ------------------------------------------------------------------ control

    def stop(self, reason: type[TaskFailed], message: str) -> None:
        """Stop the run for ``reason``, at whatever stage it is.

        The stop is recorded first: a run that has not spawned its worker yet never spawns it, a
        worker spawned meanwhile is stopped as soon as ``spawn`` returns, and a running worker gets
        SIGTERM (its group; SIGKILL after the grace period). Once the outcome is decided (the run is
        finishing), a stop changes nothing.
        """
        if self._decided:
            return
        if self.stop_reason is None:
            self.stop_reason, self.stop_message = reason, message
        self._signal_stop()

    async def cancel(self, message: str = "the task was cancelled") -> bool:
        """Cancel the run (queued, starting, running: any stage); False if its outcome was already
        decided. The first cancel publishes a ``cancelling`` status."""
        if self._decided:
            return False
        first = self.stop_reason is None
        self.stop(TaskCancelled, message)
        if first:
            await self.publish("status", {"status": "cancelling", "message": "cancel requested"})
        return True

    def _signal_stop(self) -> None:
        worker = self.worker
        if worker is None or worker.returncode is not None:
            return
        worker.signal(signal.SIGTERM)
        if self._kill_timer is None:
            self._kill_timer = asyncio.get_running_loop().call_later(
                self.cancel_grace, worker.signal, signal.SIGKILL
            )

    async def send_input(self, request_id: str, text: str) -> None:
        if self.worker is None:
            raise RuntimeError(f"task {self.task_id!r} has no running worker")
        await self.worker.send({"type": "input", "request_id": request_id, "text": text})
        await self.publish("input_response", {"request_id": request_id})

    async def decide_plan(self, approved: bool, plan: Any = None, feedback: Any = None) -> None:
        """Answer the plan the run waits on: approved (``plan``: the edited steps, None: as proposed)
        or rejected with ``feedback``. The decision is an event (replay and the sidecar show it)
        and goes to the worker on the control channel. ConfigError (400) for a bad plan or empty
        feedback, TaskConflict (409) when no plan awaits approval or cannot be planned again."""
        pending = (self.state.plan or {}).get("request_id")
        if pending is None or self.worker is None or self._decided:
            raise TaskConflict(f"task {self.task_id!r} has no plan awaiting approval")
        if not approved and self.config.reject_refused:  # a given plan: no planner to plan again
            raise TaskConflict(f"task {self.task_id!r} cannot reject its plan: {self.config.reject_refused}")
        data: dict[str, Any] = {"request_id": pending, "approved": bool(approved)}
        if approved:
            steps = check_plan(self.state.plan["steps"] if plan is None else plan)
            self.step_budgets = {s["step"]: s["budget_usd"] for s in steps if "budget_usd" in s}
            data["plan"] = steps
        else:
            data["feedback"] = check_feedback(feedback)
        await self.publish("plan_decision", data)  # the reducer clears the request first: one answer
        await self.worker.send({"type": "plan_decision", **data})

    # ------------------------------------------------------------------ the run

    async def abandon(self, reason: str) -> None:
        """End a run that never started (cancelled while queued, the server shutting down): its
        ``error`` and ``complete(cancelled)`` events and a suspended session, which can be resumed."""
        self._decided = True
        failure = TaskCancelled(reason, task_id=self.task_id, session_id=self.config.session_id)
        await self.publish("error", failure.to_event_data())
        if self.recorder is not None:
            self.recorder.create(self.task, self.config.raw, self.redactor)
            await self._close_session(failure)
            self.recorder.close()
        await self.publish("complete", {"status": "cancelled"})
        self.finished.set()

    async def run(self) -> dict[str, Any]:
        config = self.config
        earlier = self._earlier_files()  # before the first save replaces the session's manifest
        if self.recorder is not None:
            try:
                claim_session(self.recorder.manager, self.recorder.session_id)
            except SessionError as refused:  # another worker runs this session: leave it alone
                self._decided = True
                await self.publish("error", {"message": str(refused), "error_type": "SessionError"})
                await self.publish("complete", {"status": "failed"})
                self.finished.set()
                raise
            self.recorder.create(self.task, config.raw, self.redactor)
        self._started = True
        dag = template_for(config.mode, config.raw)
        await self.publish("dag_created", dag)
        if config.restart is not None:  # where it restarts, said before anything runs; the books
            await self.publish("restart", dict(config.restart))
        if self.stop_reason is None:
            message = f"starting the {config.engine} worker"
            about = {"mode": config.mode, "engine": config.engine, "budget_usd": config.budget_usd}
            await self.publish("status", {"status": "starting", "message": message, **about})
        if earlier:
            await self._restore_files(*earlier)
        spec = {
            "task_id": self.task_id,
            "task": self.task,
            "config": config.engine_config,
            "engine": config.engine,
            "dag": dag,
            "first_node": first_work_node(dag),
            "work_dir": None,
            "limits": {
                "timeout": config.timeout,
                "budget_usd": config.budget_usd,
                "prices": config.prices,
                "grace": self.cancel_grace + WORKER_LIMIT_SLACK,
            },
        }
        try:
            try:
                if self.stop_reason is None:  # stopped before the spawn: no worker at all
                    self.worker = await self.backend.spawn(spec, **self._spawn_options())
            except OSError as exc:
                self.stop(WorkerCrashed, f"could not start the worker: {exc}")
            if self.worker is not None:
                identity = getattr(self.worker, "identity", None)
                if self.recorder is not None and identity is not None:
                    self.recorder.record_worker(identity())
                if self.stop_reason is not None:  # stopped while the spawn was under way
                    self._signal_stop()
                await self._supervise()
            return await self._finish()
        except TaskFailed:
            raise
        except Exception as exc:  # a host-side failure (a sink, a bug): the run still ends cleanly
            raise await self._end_after_host_error(exc) from exc
        except asyncio.CancelledError:
            self.stop(TaskCancelled, "the task was cancelled (its caller was cancelled)")
            with contextlib.suppress(TaskFailed):
                await self._finish_after_cancel()
            raise
        finally:
            if self._kill_timer is not None:
                self._kill_timer.cancel()
            if self.worker is not None:
                self.worker.signal(signal.SIGKILL)  # nothing of the group survives its run
                self.worker.close_pipes()
            if self.recorder is not None:
                self.recorder.close()
            self.finished.set()

    def _spawn_options(self) -> dict[str, Any]:
        env = {**os.environ, **self.config.env, "CMBJUPYTER_TASK_ID": self.task_id}
        cwd = None
        if self.config.work_dir is not None:
            cwd = os.fspath(self.config.work_dir)
            os.makedirs(cwd, exist_ok=True)
        return {"python": self.config.python, "env": env, "cwd": cwd}

    async def _supervise(self) -> None:
        worker = self.worker
        watchers = [asyncio.create_task(reap(worker)), asyncio.create_task(self._watch_channel())]
        if self.config.timeout:
            watchers.append(asyncio.create_task(self._watch_timeout(self.config.timeout)))
        if self.config.memory_limit_mb:
            watchers.append(asyncio.create_task(self._watch_memory(self.config.memory_limit_mb)))
        if self.recorder is not None:
            watchers.append(asyncio.create_task(self._flush_log()))
        try:
            async for batch in worker.batches():
                await self._take(batch)
            for stream, text in self.output_redactor.close().items():  # the streams are closed
                await self.publish("output", {"message": text, "stream": stream})
            await watchers[0]
        finally:
            for task in watchers:
                task.cancel()

    async def _finish_after_cancel(self) -> None:
        if self.worker is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.worker.wait(), self.cancel_grace + 1)
        await self._finish()

    async def _watch_channel(self) -> None:
        await self.worker.event_pipe_closed.wait()
        if self.result is None and self.worker_error is None:
            try:
                await asyncio.wait_for(asyncio.shield(self.worker.wait()), CHANNEL_GRACE)
            except TimeoutError:
                self.stop(
                    WorkerCrashed, "the worker closed its event channel before reporting a result; stopped"
                )

    async def _watch_timeout(self, seconds: float) -> None:
        await watch_timeout(seconds, self.held)  # time awaiting approval of a plan is not counted
        self.stop(TaskTimeout, f"the task ran longer than its timeout of {seconds:g} s; stopped")

    async def _flush_log(self) -> None:
        """Flush the event log while the worker is quiet, so a killed host loses about a second at most
        (while events flow, the log flushes itself on append)."""
        while True:
            await asyncio.sleep(FLUSH_INTERVAL)
            self.recorder.flush_stale(FLUSH_INTERVAL)  # type: ignore[union-attr]

    async def _watch_memory(self, limit_mb: float) -> None:
        def peak(used: int) -> None:
            self.peak_rss_mb = max(self.peak_rss_mb, used / 2**20)

        self.stop(MemoryLimitExceeded, await watch_memory(self.worker, limit_mb, peak))

    # ------------------------------------------------------------------ outcome

    async def _finish(self) -> dict[str, Any]:
        self._decided = True
        worker = self.worker
        failure = failure_of(
            result=self.result,
            stop=(self.stop_reason, self.stop_message) if self.stop_reason is not None else None,
            worker_error=self.worker_error,
            returncode=worker.returncode if worker else None,
            event_pipe_open=bool(worker and worker.event_pipe_open),
            stderr_tail=self.stderr_tail,
            ids={"task_id": self.task_id, "session_id": self.config.session_id},
        )
        if failure is not None:
            await self.publish("error", failure.to_event_data())
        cancelled = isinstance(failure, TaskCancelled)
        for node_id, status in closing_statuses(self.state.nodes, failure is not None, cancelled).items():
            await self.publish("dag_node_update", {"node_id": node_id, "status": status})
        await self._close_session(failure)
        outcome = (
            "success" if failure is None else "cancelled" if isinstance(failure, TaskCancelled) else "failed"
        )
        await self.publish("complete", {"status": outcome})
        if failure is not None:
            raise failure
        return dict(self.result or {})

    async def _end_after_host_error(self, exc: Exception) -> TaskFailed:
        """The run's end when the host itself failed: its ``error`` and ``complete`` events (as far
        as its sinks take them: the RunState comes first), a suspended session, the TaskFailed."""
        self._decided = True
        failure = TaskFailed(
            f"cmbjupyter failed on the host side: {type(exc).__name__}: {exc}",
            error_type=type(exc).__name__,
            traceback="".join(traceback.format_exception(exc)),
            task_id=self.task_id,
            session_id=self.config.session_id,
        )
        if not self.state.counts.get("complete"):
            for kind, data in (("error", failure.to_event_data()), ("complete", {"status": "failed"})):
                with contextlib.suppress(Exception):  # the failing sink may fail again
                    await self.publish(kind, data)
        if self.recorder is not None:
            with contextlib.suppress(Exception):
                self.recorder.end(failure)
        return failure

    async def _close_session(self, failure: TaskFailed | None) -> None:
        if self.recorder is None:
            return
        self.recorder.end(failure, self.result)
        for message in self.recorder.take_warnings():
            await self.publish("warning", {"message": message, "kind": "session"})

"""Run: a task started from a kernel, in the foreground or the background.

``cmbjupyter.run(task, **config)`` and the ``%%cmbagent`` magic both return a :class:`Run`. The task
runs in a worker process; the kernel only watches. Its events feed a RunState, whose snapshots reach
the RunWidget at most 20 times a second, and whose summary is saved to the notebook (output metadata)
on every phase change and at the end.

Where the task runs (docs/architecture.md, "Where tasks run"): by the jupyter_server extension when one is
reachable (the task then outlives the kernel), else in this kernel's own executor ("kernel mode"),
on a private event-loop thread so the kernel stays responsive.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import threading
import uuid
from collections.abc import Callable, Coroutine
from typing import Any, BinaryIO

from ._verdict import format_usd
from .errors import TaskCancelled, TaskConflict, TaskFailed
from .plans import check_feedback, check_plan
from .state import RunState

__all__ = [
    "LoopThread",
    "Run",
    "local_sessions",
    "new_task_id",
    "prepare_in_kernel",
    "runs",
    "set_forker",
    "start_in_kernel",
]


class LoopThread:
    """One asyncio loop on a daemon thread per kernel: where kernel-mode tasks are supervised."""

    _instance: LoopThread | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="cmbjupyter-loop", daemon=True)
        self.thread.start()

    @classmethod
    def get(cls) -> LoopThread:
        with cls._lock:
            if cls._instance is None or not cls._instance.thread.is_alive():
                cls._instance = cls()
            return cls._instance

    def submit(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        self.loop.call_soon_threadsafe(fn, *args)


_RUNS: dict[str, Run] = {}


#: ``cmbjupyter.api.fork``, which :meth:`Run.fork` calls (api imports this module, not the reverse).
_FORKER: Callable[..., Run] | None = None


def set_forker(fork: Callable[..., Run]) -> None:
    """Name the function :meth:`Run.fork` calls (``cmbjupyter.api`` does, on import)."""
    global _FORKER
    _FORKER = fork


def runs() -> list[Run]:
    """Every Run started in this kernel, oldest first."""
    return list(_RUNS.values())


class Run:
    """A task started from this kernel: watch it, wait for it, cancel it, answer its questions.

    ``state`` is the live RunState; ``result`` the engine's result once done (raises the task's
    TaskFailed if it failed); ``error`` that exception or None.
    """

    def __init__(
        self,
        task_id: str,
        *,
        session_id: str | None,
        mode: str,
        engine: str,
        state: RunState | None = None,
        where: str = "kernel",
        sidecar: str | None = None,
    ) -> None:
        self.task_id = task_id
        self.session_id = session_id
        self.mode = mode
        self.engine = engine
        self.where = where
        self.state = state or RunState(task_id, session_id=session_id, mode=mode, engine=engine)
        self.error: TaskFailed | None = None
        self._result: dict[str, Any] | None = None
        self._done = threading.Event()
        self._cancel: Callable[[], None] | None = None
        self._answer: Callable[[str, str], None] | None = None
        #: Sends a plan decision (approved, steps or None, feedback or None) to whoever runs the task.
        self._decide: Callable[[bool, Any, Any], None] | None = None
        self._done_callbacks: list[Callable[[Run], None]] = []
        self._ended = False  # the outcome is set (the callbacks run, then ``_done`` is set)
        self._callbacks_lock = threading.Lock()
        self._sinks: list[Callable[[Any], Any]] = []
        self._starter: Callable[[list[Callable[[Any], Any]]], None] | None = None
        self.view: Any = None  # the RunView that draws this run (set by cmbjupyter.view)
        self.sidecar = sidecar  # the session's file, in the store of whoever runs the task
        # server mode: streams a file of the run's work dir from the server (the kernel may not see it)
        self._open_remote: Callable[[str], BinaryIO] | None = None
        _RUNS[task_id] = self

    # ------------------------------------------------------------------ what users call

    def subscribe(self, sink: Callable[[Any], Any]) -> None:
        """Give every event of the run to ``sink`` too (a view), in order; call before :meth:`start`."""
        if self._starter is None:
            raise RuntimeError(f"run {self.task_id!r} has started: subscribe before start()")
        self._sinks.append(sink)

    def start(self) -> Run:
        """Start the task (kernel mode) or following it (server mode); a second call does nothing."""
        starter, self._starter = self._starter, None
        if starter is not None:
            starter(list(self._sinks))
        return self

    @property
    def status(self) -> str:
        return self.state.status

    @property
    def result(self) -> dict[str, Any] | None:
        """The engine's result; None while running; raises the task's error if it failed."""
        if self.error is not None:
            raise self.error
        return self._result

    @property
    def outcome(self) -> dict[str, Any] | None:
        """What happened, as the header says it (None while running): ``status`` (completed,
        completed_with_errors, failed, cancelled, budget_stopped, timed_out), a one-line ``label``,
        the ``failed_executions`` (transcript ids), the ``error``, the ``final_answer``, the
        ``budget_usd`` as given."""
        return copy.deepcopy(self.state.outcome)

    @property
    def artifacts(self) -> Any:
        """The files the run made, oldest first (each a :class:`cmbjupyter.results.Artifact`)."""
        from .results import artifacts_of

        return artifacts_of(self)

    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> dict[str, Any] | None:
        """Block until the task ends and return its result (raises TaskFailed if it failed).

        Interrupting the kernel while waiting cancels the task, waits for it to stop, and re-raises
        the KeyboardInterrupt, so "Run All" stops as it should.
        """
        try:
            if not self._done.wait(timeout):
                raise TimeoutError(f"task {self.task_id!r} still running after {timeout} s")
        except KeyboardInterrupt:
            self.cancel()
            self._done.wait(30)
            raise
        return self.result

    def cancel(self, wait: bool = True, timeout: float = 30) -> None:
        """Stop the task (its whole worker process group)."""
        if self._cancel is not None and not self.done():
            self._cancel()
            if wait:
                self._done.wait(timeout)

    def answer(self, text: str) -> None:
        """Answer the question the task is waiting on (``state.input_request``)."""
        request = self.state.input_request
        if request is None:
            raise RuntimeError(f"task {self.task_id!r} is not waiting for input")
        if self._answer is None:
            raise RuntimeError("this run cannot receive input")
        self._answer(str(request["request_id"]), text)

    def fork(self, at_step: int, **changes: Any) -> Run:
        """Fork this run's session at step ``at_step`` into a new session: ``cmbjupyter.api.fork(
        self.session_id, at_step, **changes)`` (``instructions``, ``model``, ``budget_usd``,
        ``session``); steps before ``at_step`` are restored, not re-run. Returns the new Run."""
        if self.session_id is None:
            raise RuntimeError(f"run {self.task_id!r} has no session to fork")
        if _FORKER is None:  # pragma: no cover - cmbjupyter.api sets it when it is imported
            raise RuntimeError("import cmbjupyter to fork runs")
        return _FORKER(self.session_id, at_step, force_kernel=self.where == "kernel", **changes)

    def approve(self, plan: list[dict[str, Any]] | None = None) -> None:
        """Approve the plan the run waits on (``state.plan``, status ``awaiting_approval``): as
        proposed, or ``plan``, the edited steps (``{sub_task, agent, bullets[, budget_usd]}``, in
        the order to run); the control phase then runs exactly those. A bad plan is a ConfigError."""
        self._waiting_plan()
        self._decide(True, None if plan is None else check_plan(plan), None)  # type: ignore[misc]

    def reject(self, feedback: str) -> None:
        """Reject the plan the run waits on: the planner plans again with ``feedback``. A run of a
        given plan (cmbagent's control mode) has no planner: TaskConflict, edit and approve it instead."""
        self._waiting_plan()
        self._decide(False, None, check_feedback(feedback))  # type: ignore[misc]

    def _waiting_plan(self) -> None:
        if not (self.state.plan or {}).get("request_id") or self.done():
            raise TaskConflict(f"task {self.task_id!r} has no plan awaiting approval")
        if self._decide is None:
            raise RuntimeError("this run cannot receive a plan decision")

    def add_done_callback(self, fn: Callable[[Run], None]) -> None:
        with self._callbacks_lock:
            if not self._ended:
                self._done_callbacks.append(fn)
                return
        fn(self)

    def summary(self) -> dict[str, Any]:
        """The session summary saved to notebook metadata (cleaned there: no secrets, no traceback)."""
        from .notebook import session_summary

        return session_summary(self.state, where=self.where, sidecar=self.sidecar)

    # ------------------------------------------------------------------ display

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        if self.view is not None and self.view.displayed:
            return {"text/plain": repr(self)}, {}  # already drawn live above: no second view
        from .notebook import static_bundle

        return static_bundle(self)

    def __repr__(self) -> str:
        cost, budget = self.state.cost["total_usd"], self.state.cost.get("budget_usd")
        status = (self.state.outcome or {}).get("status") or self.status
        of = f" of {format_usd(budget)}" if budget else ""
        return f"<Run {self.task_id} {self.mode} {status} ${cost:.4f}{of}>"

    # ------------------------------------------------------------------ for the starters

    def _finish_from(self, future: concurrent.futures.Future[Any]) -> None:
        """End with a finished future's outcome, whatever it is (the result, or its exception)."""
        try:
            result = future.result()
        except BaseException as exc:
            self._finish(None, exc)
        else:
            self._finish(result, None)

    def _finish(self, result: dict[str, Any] | None, error: BaseException | None) -> None:
        if isinstance(error, TaskFailed):
            self.error = error
        elif isinstance(error, (asyncio.CancelledError, concurrent.futures.CancelledError)):
            self.error = TaskCancelled(
                "the task was cancelled", task_id=self.task_id, session_id=self.session_id
            )
        elif error is not None:
            self.error = TaskFailed(
                f"{type(error).__name__}: {error}",
                error_type=type(error).__name__,
                task_id=self.task_id,
                session_id=self.session_id,
            )
        else:
            self._result = result
        with self._callbacks_lock:
            self._ended = True
            callbacks = list(self._done_callbacks)
        # The callbacks (the view's last flush, the notebook's last save) run before ``wait()``
        # returns, so whoever waited sees the run's views final; one that fails stops no other.
        for fn in callbacks:
            try:
                fn(self)
            except Exception:  # a view's error must not leave the waiters hanging
                import logging

                logging.getLogger(__name__).exception(
                    "cmbjupyter: a done callback of %s failed", self.task_id
                )
        self._done.set()


def local_sessions(root: str | None = None) -> Any:
    """The kernel's session store: ``root``, else ``$CMBJUPYTER_SESSIONS_DIR``, else
    ``.cmbagent/sessions`` beside the notebook."""
    from .config import sessions_dir
    from .session import SessionManager

    return SessionManager(sessions_dir(root))


def new_task_id() -> str:
    return f"nb-{uuid.uuid4().hex[:10]}"


def prepare_in_kernel(task: str, config: dict[str, Any], *, task_id: str | None = None) -> Run:
    """A Run of ``task`` in this kernel's executor (kernel mode), not started: subscribe its view,
    then :meth:`Run.start` it (the task runs on the loop thread)."""
    from .executor import IsolatedTaskExecutor

    task_id = task_id or new_task_id()
    executor = IsolatedTaskExecutor(session_manager=local_sessions(config.pop("sessions_dir", None)))
    prepared = executor.prepare(task_id, task, config)
    checked = prepared.config
    run = Run(
        task_id,
        session_id=checked.session_id,
        mode=checked.mode,
        engine=checked.engine,
        state=prepared.state,
        where="kernel",
        sidecar=prepared.sidecar,
    )
    loop = LoopThread.get()
    # The prepared run itself, not a lookup of running tasks: a cancel before the run starts is kept.
    run._cancel = lambda: loop.call(lambda: asyncio.ensure_future(prepared.cancel()))
    run._answer = lambda request_id, text: loop.call(
        lambda: asyncio.ensure_future(prepared.send_input(request_id, text))
    )

    def decide(approved: bool, plan: Any, feedback: Any) -> None:
        decision = prepared.approve(plan) if approved else prepared.reject(feedback)
        loop.submit(decision).result(30)  # a refusal (TaskConflict) is raised here, to the caller

    run._decide = decide

    def start(sinks: list[Callable[[Any], Any]]) -> None:
        for sink in sinks:
            prepared.subscribe(sink)
        loop.submit(prepared.start()).add_done_callback(lambda f: run._finish_from(f))

    run._starter = start
    return run


def start_in_kernel(task: str, config: dict[str, Any], *, task_id: str | None = None) -> Run:
    """Start ``task`` in this kernel's executor (kernel mode); see :func:`prepare_in_kernel`."""
    return prepare_in_kernel(task, config, task_id=task_id).start()

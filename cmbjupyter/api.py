"""The Python API behind ``%%cmbagent``: start, resume, list, show and cancel runs from a kernel.

``cmbjupyter.run(task, **config)`` is the magic without the magic: it returns a :class:`~cmbjupyter.run.Run`.
A task goes to the jupyter_server extension when one is reachable from this kernel (server mode: the
task outlives the kernel), otherwise it runs in this kernel's own executor (kernel mode). Either way
the run is drawn live below the cell and its summary is saved in the notebook.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .runs import Run, local_sessions, new_task_id, prepare_in_kernel, runs, set_forker

__all__ = ["approve", "cancel", "fork", "reject", "resume", "run", "sessions_table", "show", "warm"]


def _in_kernel() -> bool:
    """True inside a Jupyter kernel (where outputs and widgets can be displayed)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _server() -> Any:
    """The Jupyter server this kernel belongs to (server mode), or None (kernel mode)."""
    from .remote.client import connect

    return connect()


def _started(run: Run, display: bool) -> Run:
    """Start ``run``, drawn live below the cell first when ``display`` (its view subscribes before
    the first event)."""
    if display:
        from .view import RunView

        view = RunView(run)
        for sink in view.sinks(run.state):
            run.subscribe(sink)
        view.show()
    return run.start()


def _start(task: str, config: dict[str, Any], *, display: bool, force_kernel: bool) -> Run:
    config = dict(config)
    if display:
        config.setdefault("session_id", f"s-{new_task_id()[3:]}")  # every notebook run is a session
    client = None if force_kernel else _server()
    if client is None:
        return _started(prepare_in_kernel(task, config), display)
    from .remote.runs import submit_to_server

    return _started(submit_to_server(client, task, config), display)


def run(
    task: str,
    *,
    background: bool = True,
    display: bool | None = None,
    force_kernel: bool = False,
    inputs: Mapping[str, Any] | None = None,
    inputs_pickle: bool = False,
    inputs_parquet: bool = False,
    **config: Any,
) -> Run:
    """Start ``task`` and return its Run (``background=False`` waits for the end first).

    ``config`` is the task config (``mode``, ``engine``, ``session_id``, ``budget_usd``, ``timeout``...).
    ``inputs`` (name -> numpy array, DataFrame, JSON value) are written into the work dir's
    ``data/inputs/`` and named in the task (:mod:`cmbjupyter.inputs`); a pickle only with
    ``inputs_pickle``, a DataFrame as parquet with ``inputs_parquet``.
    """
    display = _in_kernel() if display is None else display
    if inputs:
        from .config import TaskConfig
        from .inputs import stage_inputs

        TaskConfig(config)  # a bad config is refused before any input file is written
        task, config = stage_inputs(task, config, inputs, pickle=inputs_pickle, parquet=inputs_parquet)
    started = _start(task, config, display=display, force_kernel=force_kernel)
    if not background:
        started.wait()
    return started


def resume(session_id: str, **overrides: Any) -> Run:
    """Resume a suspended session from its saved phase and step (on the server if it holds it)."""
    force_kernel = bool(overrides.pop("force_kernel", False))
    client = None if force_kernel else _server()
    if client is not None and _server_has(client, session_id):
        from .remote.runs import resume_on_server

        return _started(resume_on_server(client, session_id, overrides), _in_kernel())
    from .executor import IsolatedTaskExecutor

    task, config = IsolatedTaskExecutor(session_manager=local_sessions()).resume_config(
        session_id, **overrides
    )
    return run(task, force_kernel=True, **config)


def fork(
    session_id: str,
    at_step: int,
    *,
    session: str | None = None,
    instructions: str | None = None,
    model: str | None = None,
    budget_usd: float | None = None,
    background: bool = True,
    display: bool | None = None,
    force_kernel: bool = False,
    **overrides: Any,
) -> Run:
    """Fork ``session_id`` at step ``at_step`` into a new session (``session``, else
    ``<id>-fork<N>``) that starts from the saved state before that step, with the changes
    (``instructions``, ``model``, ``budget_usd``); on the server when the server holds the session.
    A ConfigError says, before anything is copied or run, why a session cannot be forked there.
    """
    changes = {"instructions": instructions, "model": model, "budget_usd": budget_usd}
    changes = {k: v for k, v in changes.items() if v is not None}
    client = None if force_kernel else _server()
    if client is not None and _server_has(client, session_id):
        from .remote.runs import fork_on_server

        shown = _in_kernel() if display is None else display
        started = _started(fork_on_server(client, session_id, at_step, changes, session), shown)
    else:
        from .fork import fork_config

        task, config = fork_config(
            local_sessions(), session_id, at_step, session_id=session, changes=changes, overrides=overrides
        )
        started = run(task, force_kernel=True, display=display, **config)
    if not background:
        started.wait()
    return started


set_forker(fork)


def _server_has(client: Any, session_id: str) -> bool:
    from .errors import NotFound

    try:
        client.session(session_id)
    except NotFound:
        return False
    return True


def _find(run_or_session_id: str) -> Run | None:
    for candidate in reversed(runs()):
        if run_or_session_id in (candidate.task_id, candidate.session_id):
            return candidate
    return None


def cancel(run_or_session_id: str) -> str:
    found = _find(run_or_session_id)
    if found is not None:
        found.cancel()
        return found.status
    client, task_id = _server_task(run_or_session_id, "cancel")
    cancelled: str = client.cancel(task_id)
    return cancelled


def _server_task(run_or_session_id: str, what: str) -> tuple[Any, str]:
    """The server's unfinished task of a task or session id (started by another, perhaps dead, kernel)."""
    from .state import TERMINAL

    client = _server()
    for task in client.tasks() if client is not None else ():
        ids = (task.get("task_id"), task.get("session_id"))
        if run_or_session_id in ids and task.get("status") not in TERMINAL:
            return client, str(task["task_id"])
    raise KeyError(f"no running task {run_or_session_id!r} to {what} in this kernel or on the server")


def approve(run_or_session_id: str, plan: list[dict[str, Any]] | None = None) -> None:
    """Approve the plan a run waits on (by task or session id; a task of the server too, even one
    an earlier kernel started): as proposed, or ``plan``, the edited steps."""
    found = _find(run_or_session_id)
    if found is not None and not found.done():
        found.approve(plan)
        return
    client, task_id = _server_task(run_or_session_id, "approve")
    client.approve_plan(task_id, plan)


def reject(run_or_session_id: str, feedback: str) -> None:
    """Reject the plan a run waits on (as :func:`approve` finds it): planning again with ``feedback``
    (TaskConflict for a run of a given plan, cmbagent's control mode: it has no planner)."""
    found = _find(run_or_session_id)
    if found is not None and not found.done():
        found.reject(feedback)
        return
    client, task_id = _server_task(run_or_session_id, "reject")
    client.reject_plan(task_id, feedback)


def show(session_id: str) -> Any:
    """A saved session drawn statically (DAG, cost, conversation tail) from its sidecar: this
    kernel's store first, then the server's."""
    found = _find(session_id)
    if found is not None:
        return found
    from .errors import NotFound, SessionNotFound

    try:
        return local_sessions().load_session(session_id)
    except SessionNotFound as missing:
        client = _server()
        if client is None:
            raise
        try:
            return client.session(session_id)
        except NotFound:
            raise missing from None


def sessions_table() -> Any:
    """The sessions saved beside this notebook and, in server mode, those of the server's store."""
    rows = {s["session_id"]: {**s, "where": "kernel"} for s in local_sessions().list_sessions()}
    client = _server()
    for session in client.sessions() if client is not None else ():
        live = session.pop("live", None) or {}
        rows[session["session_id"]] = {
            **session,
            "status": live.get("status") or session.get("status"),
            "where": "server",
        }
    ordered = sorted(rows.values(), key=lambda s: str(s.get("updated_at") or ""), reverse=True)
    return SessionsTable(ordered)


class SessionsTable(list[dict[str, Any]]):
    """A list of session summaries that draws itself as an HTML table in notebooks."""

    COLUMNS = (
        "session_id",
        "status",
        "mode",
        "phase",
        "step",
        "total_usd",
        "carried_usd",
        "parent_session",
        "updated_at",
        "where",
    )

    def _repr_html_(self) -> str:
        from html import escape

        head = "".join(f"<th>{c}</th>" for c in self.COLUMNS)
        rows = "".join(
            "<tr>"
            + "".join(
                f"<td>{escape(str(s.get(c) if s.get(c) is not None else ''))}</td>" for c in self.COLUMNS
            )
            + "</tr>"
            for s in self
        )
        return f"<table class='cmbagent-sessions'><tr>{head}</tr>{rows}</table>"


def warm(
    engine: str | None = None,
    *,
    python: str | None = None,
    size: int = 1,
    idle_timeout: float | None = 600.0,
    memory_limit_mb: float | None = 2048.0,
) -> list[dict[str, Any]]:
    """Kernel mode: keep ``size`` warm workers for ``engine`` (default: the default engine, with
    ``python`` or ``$CMBJUPYTER_PYTHON``), so this kernel's next tasks skip the engine's import
    (cmbagent: 6-9 s). Off by default (a kernel lives shorter than a server; in server mode the
    server keeps its own). ``size=0`` turns it off and ends them. Returns the warm workers, as
    ``GET /cmbagent/api/status`` lists them."""
    import asyncio

    from .backends.warm import WarmPool, install, uninstall
    from .config import default_python, resolve_engine
    from .runs import LoopThread

    pool = WarmPool(size=size, idle_timeout=idle_timeout, memory_limit_mb=memory_limit_mb)
    engines = [resolve_engine({"engine": engine} if engine else {})]

    async def replace() -> list[dict[str, Any]]:
        await uninstall()
        if size == 0:
            return []
        install(pool, engines, python=python or default_python())
        await asyncio.sleep(0)
        return pool.status()

    status: list[dict[str, Any]] = LoopThread.get().submit(replace()).result(timeout=60)
    return status

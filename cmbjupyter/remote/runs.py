"""Server mode of :class:`~cmbjupyter.runs.Run`: the Jupyter server runs the task, the kernel watches.

``cmbjupyter.run`` and ``%%cmbagent`` come here when :func:`~cmbjupyter.remote.client.connect`
finds the server the kernel belongs to. The task is submitted over REST; its events come back over
the WebSocket, on the kernel's loop thread, into the same RunState and the same sinks (throttled
RunWidget, save points) as in kernel mode. So the notebook looks the same, but the worker is a child
of the server: restarting or killing the kernel leaves the task running (the sidebar still shows
it), and ``%cmbagent show`` finds it on the server afterwards.

What the kernel was told travels with the task, since the worker is not the kernel's child: paths
in the config (``work_dir``, ``python``, ``log``) are made absolute (the server's working folder is
its root_dir, not the notebook's folder), and the kernel's LLM endpoint settings (``OPENAI_API_KEY``,
``OPENAI_BASE_URL``...: e.g. a notebook that starts the scripted LLM server) go into the task's
``env``, which is redacted everywhere it could be written. ``$CMBJUPYTER_ENGINE`` and
``$CMBJUPYTER_PYTHON`` of the kernel become the task's ``engine`` and ``python`` unless given.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, BinaryIO

from ..errors import MessageTooBig, NotFound, TaskFailed, error_class_for
from ..events import make_event
from ..runs import LoopThread, Run
from ..state import RunState
from .client import ServerClient, Submission, update_state

__all__ = [
    "follow",
    "fork_on_server",
    "portable_config",
    "prepare_follow",
    "resume_on_server",
    "start_on_server",
    "submit_to_server",
]

#: Config values that name files or folders, resolved against the kernel's folder before submitting.
PATH_KEYS = ("work_dir", "python", "log")
#: The kernel's environment variables a task takes along (the LLM providers' keys and endpoints).
KERNEL_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "GEMINI_API_KEY",
    "MISTRAL_API_KEY",
    "PERPLEXITY_API_KEY",
)


def portable_config(
    config: dict[str, Any], cwd: str | None = None, *, defaults: bool = True
) -> dict[str, Any]:
    """``config`` as the server must see it: the kernel's engine, interpreter and LLM settings
    included, relative paths made absolute against ``cwd`` (the kernel's folder). ``defaults=False``
    (a resume: the session keeps its engine and interpreter) carries the LLM settings only."""
    cwd = cwd or os.getcwd()
    portable = dict(config)
    for key, variable in (("engine", "CMBJUPYTER_ENGINE"), ("python", "CMBJUPYTER_PYTHON")):
        if defaults and not portable.get(key) and os.environ.get(variable):
            portable[key] = os.environ[variable]
    carried = {name: os.environ[name] for name in KERNEL_ENV if os.environ.get(name)}
    if carried:
        portable["env"] = {**carried, **(portable.get("env") or {})}
    for key in PATH_KEYS:
        value = portable.get(key)
        if isinstance(value, str) and value and not os.path.isabs(os.path.expanduser(value)):
            portable[key] = os.path.join(cwd, value)
    return portable


def submit_to_server(client: ServerClient, task: str, config: dict[str, Any]) -> Run:
    """Submit ``task`` to the server; a Run that will follow it (server mode), not started: subscribe
    its view, then :meth:`Run.start` it."""
    config = portable_config(config)
    config.pop("sessions_dir", None)  # the server keeps its own store (c.CmbJupyter.sessions_dir)
    if config.get("engine") == "replay" and os.path.isfile(task.strip()):
        task = os.path.abspath(task.strip())  # the replay engine's task is its event log's path
    return prepare_follow(client, client.submit(task, config))


def start_on_server(client: ServerClient, task: str, config: dict[str, Any]) -> Run:
    """Submit ``task`` to the server and return a Run that follows it (server mode)."""
    return submit_to_server(client, task, config).start()


def resume_on_server(client: ServerClient, session_id: str, overrides: dict[str, Any]) -> Run:
    """Resume a session the server holds (from its saved phase and step); a Run that will follow it,
    not started (see :func:`submit_to_server`)."""
    return prepare_follow(client, client.resume(session_id, portable_config(overrides, defaults=False)))


def fork_on_server(
    client: ServerClient, session_id: str, at_step: int, changes: dict[str, Any], new_session: str | None
) -> Run:
    """Fork a session the server holds at ``at_step`` (the server copies its work dir); a Run that
    will follow the new session's task, not started (see :func:`submit_to_server`)."""
    config = portable_config({}, defaults=False)  # the kernel's LLM settings, as for a resume
    return prepare_follow(
        client, client.fork(session_id, at_step, changes, new_session=new_session, config=config)
    )


def prepare_follow(client: ServerClient, submission: Submission) -> Run:
    """A Run for a task the server runs, not started: once started, its events stream into
    ``run.state`` and its sinks on the loop thread."""
    snapshot = client.task(submission.task_id)
    state = update_state(RunState(submission.task_id), {"type": "snapshot", "data": snapshot})
    run = Run(
        submission.task_id,
        session_id=submission.session_id,
        mode=str(state.mode or "one-shot"),
        engine=str(state.engine or ""),
        state=state,
        where="server",
        sidecar=submission.sidecar,
    )
    run._cancel = lambda: client.cancel(run.task_id)
    run._answer = lambda request_id, text: client.send_input(run.task_id, request_id, text)
    run._decide = lambda approved, plan, feedback: (
        client.approve_plan(run.task_id, plan) if approved else client.reject_plan(run.task_id, feedback)
    )
    run._open_remote = lambda path: _open_file(client, run, path)

    def start(sinks: list[Callable[[Any], Any]]) -> None:
        future = LoopThread.get().submit(_follow(client, run, sinks))
        future.add_done_callback(lambda f: _finished(run, f))

    run._starter = start
    return run


def _open_file(client: ServerClient, run: Run, path: str) -> BinaryIO:
    """A file of the run's work dir from the server: by task while the server keeps the task, else
    by session (a forgotten task's session stays in the server's store)."""
    try:
        return client.open_file("tasks", run.task_id, path)
    except NotFound:
        if not run.session_id:
            raise
    return client.open_file("sessions", run.session_id, path)


def follow(client: ServerClient, submission: Submission) -> Run:
    """A Run following a task the server runs, started (see :func:`prepare_follow`)."""
    return prepare_follow(client, submission).start()


async def _follow(client: ServerClient, run: Run, sinks: list[Callable[[Any], Any]]) -> None:
    """Fold the task's events into ``run.state`` and pass each to the view's sinks, until its end.

    If the stream breaks (the server is gone, or a message is too big to take), the run ends like any
    other failed run: an ``error`` and a ``complete`` event, made here, go through the same reducer
    and sinks.
    """

    def deliver(message: Mapping[str, Any]) -> None:
        update_state(run.state, message)
        for sink in sinks:
            sink(message)

    if run.state.finished:  # it ended before we looked (a quick task, a resumed one): nothing to follow
        return
    try:
        async for message in client.events(run.task_id, since=run.state.last_seq):
            deliver(message)
    except Exception as exc:
        if isinstance(exc, MessageTooBig):  # the server is fine: one message was too big to take
            message = f"{exc}; the task goes on on the server: see it with %cmbagent show {run.session_id}"
        else:
            message = (
                f"lost the Jupyter server while following the task ({type(exc).__name__}: {exc}); its "
                "session stays in the server's store: list it with %cmbagent sessions once the server "
                "is back, and resume it from there"
            )
        deliver(make_event("error", {"error_type": type(exc).__name__, "message": message}))
        deliver(make_event("complete", {"status": "failed"}))


def _finished(run: Run, future: Any) -> None:
    state = run.state
    try:
        future.result()
    except BaseException as exc:  # the follower itself was cancelled or broke: say so, never hang
        run._finish(None, TaskFailed(str(exc) or type(exc).__name__, task_id=run.task_id))
        return
    if state.status == "completed":
        run._finish(state.result, None)
        return
    error = dict(state.error or {})
    message = str(error.pop("message", None) or f"the task ended {state.status}")
    cls: type[TaskFailed] = error_class_for(error.get("error_type") or _status_error(state.status))
    known = {k: error.get(k) for k in ("error_type", "traceback", "exit_code", "signal")}
    run._finish(None, cls(message, task_id=run.task_id, session_id=run.session_id, **known))


def _status_error(status: str) -> str | None:
    return {"cancelled": "TaskCancelled"}.get(status)

"""REST handlers under ``/cmbagent/api/``: JSON in, JSON out, every route behind jupyter_server auth.

Each method is ``@web.authenticated`` (token, cookie + XSRF: jupyter_server's identity provider)
and ``@authorized`` on the resource ``cmbagent`` (GET is ``read``, POST/DELETE are ``write``), so a
custom Authorizer can allow watching without allowing control. Errors are JSON
``{"message", "reason"}``: 400 for a bad request (ConfigError), 404 for an unknown task or
session, 409 when the request does not fit the task's state.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from jupyter_server.auth.decorator import authorized
from tornado import web

from .._version import __version__
from ..backends.warm import active_pool
from ..errors import ConfigError
from ..fork import CHANGES
from ..notebook import clean_summary, session_summary
from ._base import BaseHandler, json_errors
from .entry import TaskEntry
from .recovery import session_state
from .registry import TaskRegistry

#: The longest ``q`` (search words) the sessions listing takes.
MAX_QUERY: Final = 200

__all__ = [
    "SessionForkHandler",
    "SessionHandler",
    "SessionResumeHandler",
    "SessionsHandler",
    "StatusHandler",
    "TaskHandler",
    "TaskInputHandler",
    "TasksHandler",
]


def _created(entry: TaskEntry, registry: TaskRegistry) -> dict[str, Any]:
    session_id = entry.session_id
    position = registry.queued_position(entry)
    status = entry.state.status
    if status == "queued" and position is None:  # RunState starts "queued"; this one got a slot at once
        status = "starting"
    return {
        "task_id": entry.task_id,
        "session_id": session_id,
        "status": status,
        "queued_position": position,
        "sidecar": str(registry.sessions.path(session_id)) if session_id else None,
    }


class StatusHandler(BaseHandler):
    """``GET status``: that the extension is here, its version and load (what clients probe)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        registry = self.registry
        self.reply(
            {
                "name": "cmbjupyter",
                "version": __version__,
                "running": registry.running,
                "queued": registry.queued,
                "max_concurrent_tasks": registry.max_concurrent,
                "event_log_limit": registry.event_log_limit,
                "sessions_dir": str(registry.sessions.root),
                "warm_workers": pool.status() if (pool := active_pool()) is not None else [],
            }
        )


class TasksHandler(BaseHandler):
    """``GET tasks`` lists them; ``POST tasks {task, config, notebook?, task_id?}`` submits one."""

    @web.authenticated
    @authorized
    @json_errors
    async def get(self) -> None:
        self.reply({"tasks": self.registry.list()})

    @web.authenticated
    @authorized
    @json_errors
    async def post(self) -> None:
        body = self.body()
        if "task" not in body:
            raise ConfigError("the request body needs 'task' (a string) and optionally 'config' (an object)")
        entry = await self.registry.submit(
            body["task"], body.get("config"), task_id=body.get("task_id"), notebook=body.get("notebook")
        )
        self.reply(_created(entry, self.registry), status=201)


class TaskHandler(BaseHandler):
    """``GET tasks/{id}``: the RunState snapshot (``?view=summary``: the notebook-metadata summary);
    ``DELETE tasks/{id}``: cancel it."""

    @web.authenticated
    @authorized
    @json_errors
    async def get(self, task_id: str) -> None:
        entry = self.registry.get(task_id)
        view = self.get_argument("view", "snapshot")
        if view == "summary":
            sidecar = str(self.registry.sessions.path(entry.session_id)) if entry.session_id else None
            summary = session_summary(entry.state, where="server", sidecar=sidecar, notebook=entry.notebook)
            self.reply(clean_summary(summary))
            return
        if view != "snapshot":
            raise ConfigError("'view' must be 'snapshot' or 'summary'")
        snapshot = entry.state.snapshot()
        snapshot["notebook"] = entry.notebook
        snapshot["queued_position"] = self.registry.queued_position(entry)
        self.reply(snapshot)

    @web.authenticated
    @authorized
    @json_errors
    async def delete(self, task_id: str) -> None:
        status = await self.registry.cancel(task_id)
        self.reply({"task_id": task_id, "status": status}, status=202)


class TaskInputHandler(BaseHandler):
    """``POST tasks/{id}/input {request_id, text}``: answer the task's question."""

    @web.authenticated
    @authorized
    @json_errors
    async def post(self, task_id: str) -> None:
        body = self.body()
        await self.registry.send_input(task_id, body.get("request_id"), body.get("text"))
        self.reply({"task_id": task_id, "request_id": body["request_id"]}, status=202)


def _count_argument(handler: BaseHandler, name: str, default: int | None) -> int | None:
    """A non-negative integer query argument (``limit``, ``offset``); ConfigError (400) otherwise."""
    raw = handler.get_argument(name, None)
    if raw is None:
        return default
    if not raw.isdecimal():
        raise ConfigError(f"'{name}' must be a non-negative integer, not {raw[:40]!r}")
    return int(raw)


def _search_argument(handler: BaseHandler) -> str | None:
    """The ``q`` query argument (words to find in a session's id, task or mode), or None when absent;
    ConfigError (400) when it is blank, too long or holds control characters."""
    values = handler.request.query_arguments.get("q")  # as sent: tornado's get_argument blanks controls
    if not values:
        return None
    try:
        raw = values[-1].decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("'q' must be UTF-8 text") from None
    if not raw.strip():
        raise ConfigError("'q' must hold words to search for (a session id, task text or mode), not blank")
    if len(raw) > MAX_QUERY:
        raise ConfigError(f"'q' must be at most {MAX_QUERY} characters, not {len(raw)}")
    if any(not ch.isprintable() for ch in raw):
        raise ConfigError(f"'q' must be printable text, not {raw[:40]!r}")
    return raw


class SessionsHandler(BaseHandler):
    """``GET sessions[?limit=N&offset=M][&q=WORDS]``: the sidecars newest first (all by default, else
    one page), with the live status of the ones running here, and the ``total`` count; with ``q``,
    only the sessions whose id, task or mode holds each of its words (case-insensitive), paged the
    same way, ``total`` then counting those.

    The listing reads the folder in a worker thread (an index re-reads only changed sidecars), so a
    large or hostile sessions folder never stalls the server's event loop."""

    @web.authenticated
    @authorized
    @json_errors
    async def get(self) -> None:
        limit = _count_argument(self, "limit", None)
        offset = _count_argument(self, "offset", 0)
        query = _search_argument(self)
        registry = self.registry
        sessions, total = await asyncio.to_thread(registry.sessions.list_page, offset, limit, query)
        latest = registry.latest_for_session()
        for session in sessions:
            entry = latest.get(str(session.get("session_id")))
            if entry is not None:
                session["live"] = entry.summary(registry.queued_position(entry))
        self.reply({"sessions": sessions, "total": total, "offset": offset, "limit": limit, "q": query})


class SessionHandler(BaseHandler):
    """``GET sessions/{id}``: the sidecar record (redacted when written); ``?view=state``: the
    RunState snapshot rebuilt from the session's event log. Both read the file in a worker thread."""

    @web.authenticated
    @authorized
    @json_errors
    async def get(self, session_id: str) -> None:
        view = self.get_argument("view", "record")
        if view == "state":
            self.reply(await asyncio.to_thread(session_state, self.registry.sessions, session_id))
            return
        if view != "record":
            raise ConfigError("'view' must be 'record' or 'state'")
        record = await asyncio.to_thread(self.registry.sessions.load_session, session_id)
        entry = self.registry.latest_for_session().get(session_id)
        record["live"] = entry.summary(self.registry.queued_position(entry)) if entry else None
        self.reply(record)


class SessionResumeHandler(BaseHandler):
    """``POST sessions/{id}/resume {config?, notebook?}``: run a suspended session again."""

    @web.authenticated
    @authorized
    @json_errors
    async def post(self, session_id: str) -> None:
        body = self.body()
        overrides = body.get("config") or {}
        if not isinstance(overrides, dict):
            raise ConfigError("'config' must be an object of config overrides")
        entry = await self.registry.resume(session_id, overrides, notebook=body.get("notebook"))
        self.reply(_created(entry, self.registry), status=201)


class SessionForkHandler(BaseHandler):
    """``POST sessions/{id}/fork {at_step, instructions?, model?, budget_usd?, session_id?, config?,
    notebook?}``: a new session from the saved one's state before step ``at_step`` (201, as a task)."""

    FIELDS = ("at_step", *CHANGES, "session_id", "config", "notebook")

    @web.authenticated
    @authorized
    @json_errors
    async def post(self, session_id: str) -> None:
        body = self.body()
        unknown = sorted(set(body) - set(self.FIELDS))
        if unknown:
            raise ConfigError(
                f"unknown fork fields {', '.join(unknown)}: a fork takes {', '.join(self.FIELDS)}"
            )
        overrides = body.get("config")
        overrides = {} if overrides is None else overrides
        if not isinstance(overrides, dict):
            raise ConfigError("'config' must be an object of config overrides")
        new_id = body.get("session_id")
        if new_id is not None and not isinstance(new_id, str):
            raise ConfigError(f"'session_id' must be a session id, not {new_id!r}")
        entry = await self.registry.fork(
            session_id,
            body.get("at_step"),  # type: ignore[arg-type]  # checked by fork_config
            {k: body[k] for k in CHANGES if body.get(k) is not None},
            session_id=new_id,
            overrides=overrides,
            notebook=body.get("notebook"),
        )
        self.reply(_created(entry, self.registry), status=201)

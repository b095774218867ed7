"""REST handlers under ``/cmbagent/api/``: JSON in, JSON out, every route behind jupyter_server auth.

Each method is ``@web.authenticated`` (token, cookie + XSRF: jupyter_server's identity provider)
and ``@authorized`` on the resource ``cmbagent`` (GET is ``read``, POST/DELETE are ``write``), so a
custom Authorizer can allow watching without allowing control. Errors are JSON
``{"message", "reason"}``: 400 for a bad request (ConfigError), 404 for an unknown task or
session, 409 when the request does not fit the task's state.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web

from .._version import __version__
from ..errors import ConfigError, InvalidSessionId, SessionError, SessionNotFound
from .recovery import list_sessions, session_state
from .registry import TaskConflict, TaskEntry, TaskNotFound, TaskRegistry, notebook_summary

__all__ = ["AUTH_RESOURCE", "handlers"]

AUTH_RESOURCE = "cmbagent"

F = TypeVar("F", bound=Callable[..., Awaitable[None]])


def _status_for(exc: Exception) -> tuple[int, str] | None:
    if isinstance(exc, (TaskNotFound, SessionNotFound, InvalidSessionId)):
        return 404, "Not Found"
    if isinstance(exc, ConfigError):
        return 400, "Bad Request"
    if isinstance(exc, (TaskConflict, SessionError)):
        return 409, "Conflict"
    return None


def json_errors(method: F) -> F:
    """Turn the library's errors into JSON responses with the right status (inside the auth checks)."""

    @functools.wraps(method)
    async def wrapper(self: BaseHandler, *args: Any, **kwargs: Any) -> None:
        try:
            await method(self, *args, **kwargs)
        except Exception as exc:
            mapped = _status_for(exc)
            if mapped is None:
                raise
            status, reason = mapped
            self.log.info("cmbagent API %s %s -> %d: %s", self.request.method, self.request.path, status, exc)
            self.set_status(status, reason)
            self.finish(json.dumps({"message": str(exc), "reason": reason}))

    return wrapper  # type: ignore[return-value]


class BaseHandler(ExtensionHandlerMixin, APIHandler):
    """Shared helpers: the registry, the JSON body, JSON replies."""

    auth_resource = AUTH_RESOURCE

    @property
    def registry(self) -> TaskRegistry:
        return self.settings["cmbjupyter_registry"]  # type: ignore[no-any-return]

    def body(self) -> dict[str, Any]:
        """The request's JSON object (an empty body is ``{}``); ConfigError (400) otherwise."""
        raw = self.request.body
        if not raw or not raw.strip():
            return {}
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise ConfigError(f"the request body is not valid JSON: {exc}") from None
        except RecursionError:
            raise ConfigError("the request body is nested too deeply to be read as JSON") from None
        if not isinstance(value, dict):
            raise ConfigError(f"the request body must be a JSON object, not {type(value).__name__}")
        return value

    def reply(self, value: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(value, default=str))


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
            sessions = self.registry.sessions
            self.reply(
                notebook_summary(entry, str(sessions.path(entry.session_id)) if entry.session_id else None)
            )
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


class SessionsHandler(BaseHandler):
    """``GET sessions``: every sidecar, with the live status of the ones running here."""

    @web.authenticated
    @authorized
    @json_errors
    async def get(self) -> None:
        registry = self.registry
        sessions = list_sessions(registry.sessions)
        latest = registry.latest_for_session()
        for session in sessions:
            entry = latest.get(str(session.get("session_id")))
            if entry is not None:
                session["live"] = entry.summary(registry.queued_position(entry))
        self.reply({"sessions": sessions})


class SessionHandler(BaseHandler):
    """``GET sessions/{id}``: the sidecar record (redacted when written); ``?view=state``: the
    RunState snapshot rebuilt from the session's event log."""

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
        record = self.registry.sessions.load_session(session_id)
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


_ID = r"(?P<{}>[^/]+)"


def handlers() -> list[tuple[str, type, dict[str, Any]]]:
    """The extension's routes (relative to the server's base_url)."""
    from .websocket import TaskEventsSocket, UpdatesSocket

    api = "cmbagent/api"
    task = _ID.format("task_id")
    session = _ID.format("session_id")
    return [
        (rf"/{api}/status", StatusHandler, {}),
        (rf"/{api}/tasks", TasksHandler, {}),
        (rf"/{api}/tasks/{task}", TaskHandler, {}),
        (rf"/{api}/tasks/{task}/input", TaskInputHandler, {}),
        (rf"/{api}/tasks/{task}/events", TaskEventsSocket, {}),
        (rf"/{api}/updates", UpdatesSocket, {}),
        (rf"/{api}/sessions", SessionsHandler, {}),
        (rf"/{api}/sessions/{session}", SessionHandler, {}),
        (rf"/{api}/sessions/{session}/resume", SessionResumeHandler, {}),
    ]

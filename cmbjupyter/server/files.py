"""The files a run made, over HTTP: ``tasks/{id}/files[/{path}]`` and ``sessions/{id}/files[/{path}]``.

``GET .../files`` lists the run's artifact manifest (each record with ``exists``); ``GET
.../files/{path}`` serves one file of the run's work dir -- the work dir a task's RunState knows,
or the one its session's sidecar recorded -- with tornado's StaticFileHandler (streamed in 64 KiB
pieces, never read whole; ``Range`` requests; ``If-Modified-Since``), its MIME type from its name,
and ``?download=1`` as an attachment. The path is confined by :func:`cmbjupyter.workdir.resolve`:
absolute paths, ``..``, a symlink out of the work dir and a missing file are all 404; a path that
cannot be one (NUL, too long) is 400.

Like every route: ``@web.authenticated`` + ``@authorized`` on the ``cmbagent`` resource (``read``).
An agent-written HTML or SVG file is served under the same sandboxing Content-Security-Policy as
jupyter_server's own ``/files/``, so its scripts cannot act on the server with the user's session.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web

from ..workdir import listing, resolve
from ._base import AUTH_RESOURCE, BaseHandler, json_errors
from .registry import TaskRegistry

__all__ = ["SessionFileHandler", "SessionFilesHandler", "TaskFileHandler", "TaskFilesHandler"]


#: What a run's files are: its work dir and its manifest ``{"items": [...], "count", "dropped"}``.
Files = tuple[str | None, Mapping[str, Any]]


def _manifest(value: Any) -> dict[str, Any]:
    """A manifest as a snapshot or a sidecar keeps it (``{"items": [...], "count", "dropped"}``)."""
    value = value if isinstance(value, Mapping) else {"items": value}
    items = [dict(r) for r in value.get("items") or () if isinstance(r, Mapping)]
    return {"items": items, "count": value.get("count", len(items)), "dropped": value.get("dropped", 0)}


def _state_files(state: Any) -> Files:
    """Read on the event loop, where the state changes: never from a worker thread."""
    return state.work_dir, _manifest(state.snapshot()["artifacts"])


def _task_files(registry: TaskRegistry, task_id: str) -> Files:
    return _state_files(registry.get(task_id).state)  # TaskNotFound: 404


async def _session_source(registry: TaskRegistry, session_id: str) -> tuple[Any, Mapping[str, Any]]:
    """(state, None) of a task of the session this server holds, which knows its files first; else
    (None, its sidecar record), read in a worker thread (a hostile sessions folder never stalls the
    loop). SessionNotFound, InvalidSessionId: 404."""
    entry = registry.latest_for_session().get(session_id)
    if entry is not None and entry.state.work_dir:
        return entry.state, {}
    return None, await asyncio.to_thread(registry.sessions.load_session, session_id)


async def _session_files(registry: TaskRegistry, session_id: str) -> Files:
    state, record = await _session_source(registry, session_id)
    if state is not None:
        return _state_files(state)
    return record.get("work_dir"), _manifest(record.get("artifacts"))


class _Listing(BaseHandler):
    async def files(self, ident: str) -> Files:
        raise NotImplementedError

    @web.authenticated
    @authorized
    @json_errors
    async def get(self, **ids: str) -> None:
        (ident,) = ids.values()
        work_dir, manifest = await self.files(ident)
        items = await asyncio.to_thread(listing, work_dir, manifest["items"])  # stats the files
        self.reply({**manifest, "work_dir": work_dir, "items": items})


class TaskFilesHandler(_Listing):
    """``GET tasks/{id}/files``: the task's work dir and artifact manifest."""

    async def files(self, ident: str) -> Files:
        return _task_files(self.registry, ident)


class SessionFilesHandler(_Listing):
    """``GET sessions/{id}/files``: the session's work dir and artifact manifest."""

    async def files(self, ident: str) -> Files:
        return await _session_files(self.registry, ident)


class _FileHandler(ExtensionHandlerMixin, JupyterHandler, web.StaticFileHandler):
    """One file of a run's work dir, served by StaticFileHandler once the path is confined."""

    auth_resource = AUTH_RESOURCE
    #: The route's group that names the task or the session.
    id_name = ""

    def initialize(self, name: str, **kwargs: Any) -> None:  # type: ignore[override]
        super().initialize(name, path="/", **kwargs)  # the root is the run's work dir, set per request

    @property
    def registry(self) -> TaskRegistry:
        return self.settings["cmbjupyter_registry"]  # type: ignore[no-any-return]

    async def work_dir(self, ident: str) -> str | None:
        raise NotImplementedError

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()
        if not self.check_origin():  # a foreign page: as jupyter_server's APIHandler answers
            raise web.HTTPError(404)

    def get_login_url(self) -> str:
        raise web.HTTPError(403)  # an API route: refuse, never redirect to the login page

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Content-Type", "application/json")  # error replies; a file sets its own

    @property
    def content_security_policy(self) -> str:
        # as jupyter_server's /files/: an HTML or SVG file's scripts run in a unique, sandboxed origin
        return super().content_security_policy + "; sandbox allow-scripts"

    async def _serve(self, path: str, include_body: bool, ids: Mapping[str, str]) -> None:
        work_dir = await self.work_dir(ids[self.id_name])
        self._confined = await asyncio.to_thread(resolve, work_dir, path)
        if self.get_argument("download", None) not in (None, "", "0"):
            self.set_attachment_header(os.path.basename(path))
        await web.StaticFileHandler.get(self, path, include_body=include_body)

    @web.authenticated
    @authorized
    @json_errors
    async def get(self, path: str, **ids: str) -> None:  # type: ignore[override]
        await self._serve(path, True, ids)

    @web.authenticated
    @authorized
    @json_errors
    async def head(self, path: str, **ids: str) -> None:  # type: ignore[override]
        await self._serve(path, False, ids)

    def validate_absolute_path(self, root: str, absolute_path: str) -> str:
        return str(self._confined)  # resolved and confined in _serve: never a path outside

    def compute_etag(self) -> str | None:
        return None  # StaticFileHandler would hash the whole file on every request; mtime serves

    def set_extra_headers(self, path: str) -> None:
        self.set_header("Cache-Control", "no-cache")  # a rewritten file is checked again (304s)
        self.set_header("X-Content-Type-Options", "nosniff")

    def get_content_type(self) -> str:
        content_type = super().get_content_type()
        return content_type + "; charset=UTF-8" if content_type.startswith("text/") else content_type


class TaskFileHandler(_FileHandler):
    """``GET tasks/{id}/files/{path}``: a file of the task's work dir."""

    id_name = "task_id"

    async def work_dir(self, ident: str) -> str | None:
        return self.registry.get(ident).state.work_dir


class SessionFileHandler(_FileHandler):
    """``GET sessions/{id}/files/{path}``: a file of the session's work dir."""

    id_name = "session_id"

    async def work_dir(self, ident: str) -> str | None:
        state, record = await _session_source(self.registry, ident)
        return state.work_dir if state is not None else record.get("work_dir")

"""The kernel side of server mode: find the Jupyter server, submit tasks to it, follow their events.

Importing this module never imports jupyter_server (REST calls use ``urllib``; the WebSocket uses
tornado's client, imported only when :meth:`ServerClient.events` is first iterated; ipykernel has
tornado loaded already). So ``%%cmbagent`` can try server mode in every kernel for the price of a
few file reads and one local HTTP request.

API (what the magic calls)::

    from cmbjupyter.remote.client import connect, update_state

    client = connect()                 # ServerClient, or None: no server with the extension is
    if client is None:                 # reachable -> run in the kernel (kernel mode)
        ...
    sub = client.submit(task, {"engine": "python", "session_id": "s-1"})   # -> Submission
    sub.task_id, sub.session_id, sub.sidecar                                # str(sub) == task_id
    async for message in client.events(sub.task_id, since=0):   # on the kernel's loop thread
        update_state(run.state, message)   # an event, or a "snapshot" (RunState at seq N)
    client.cancel(task_id)             # -> status; cancels a queued or running task
    client.send_input(task_id, request_id, text)
    client.task(task_id)               # RunState snapshot (dict)
    client.tasks(); client.sessions(); client.session(session_id)
    client.open_file("tasks", task_id, "data/fit.png")   # a run's file, streamed (binary file object)
    client.resume(session_id, config_overrides)   # -> Submission of a new task

``events()`` ends after the task's ``complete`` event. It reconnects by itself after a dropped
connection, asking for the events after the last ``seq`` it saw, so nothing is missed; if those
events are no longer buffered the server sends a ``snapshot`` first (:func:`update_state` handles
both). The REST methods are synchronous (loopback calls of a few ms, safe from the kernel's main
thread); call them through ``asyncio.to_thread`` from async code if you must not block a loop.

Errors (all in :mod:`cmbjupyter.errors`): ``ServerUnreachable`` (a ``ConnectionError``) when the
server stops answering; ``MessageTooBig`` when an event-stream message is over ``max_message_bytes``
(not a lost server); otherwise the class the server raised, by its HTTP status: ``ConfigError`` (a
``ValueError``) for a 400, ``NotFound`` (a ``LookupError``) for a 404, ``TaskConflict`` for a 409,
``ServerError`` for anything else (``.status``, ``.message``).

Discovery (:mod:`.discovery`): ``CMBJUPYTER_SERVER=off`` forces kernel mode;
``CMBJUPYTER_SERVER_URL``/``CMBJUPYTER_SERVER_TOKEN`` name a server; otherwise the runtime files of
running servers whose root_dir holds the kernel's folder. ``JPY_SESSION_NAME``
(set by jupyter_server for kernels of a notebook) is sent as the task's ``notebook``, so the sidebar
can open the notebook a session came from.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO, Final

from ..errors import (
    CmbJupyterError,
    MessageTooBig,
    NotFound,
    ServerError,
    ServerUnreachable,
    error_for_status,
)
from ..events import MAX_EVENT_BYTES
from ..state import RunState
from .discovery import ServerInfo, candidates

__all__ = [
    "ServerClient",
    "Submission",
    "connect",
    "update_state",
]

API: Final = "cmbagent/api/"
#: A successful discovery is reused for this long (the magic calls connect() on every run).
CACHE_SECONDS: Final = 30.0
RECONNECT_DELAYS: Final = (0.2, 0.5, 1.0, 2.0, 5.0)
#: The largest WebSocket message the client takes (tornado's default is 10 MiB). Events are bounded
#: at their source to MAX_EVENT_BYTES; a snapshot holds a run's result, context and capped console,
#: so this leaves room for several of them.
MAX_MESSAGE_BYTES: Final = 16 * MAX_EVENT_BYTES
#: The WebSocket close code of a message over the reader's limit (RFC 6455).
MESSAGE_TOO_BIG: Final = 1009
NOTEBOOK_ENV: Final = "JPY_SESSION_NAME"


@dataclass(frozen=True)
class Submission:
    """A submitted task: ``str(submission)`` is its task id."""

    task_id: str
    session_id: str | None
    sidecar: str | None
    status: str
    queued_position: int | None = None

    def __str__(self) -> str:
        return self.task_id


def _quote(part: str) -> str:
    return urllib.parse.quote(part, safe="")


class ServerClient:
    """Talks to one Jupyter server's cmbjupyter extension (``url`` includes the base_url)."""

    def __init__(
        self,
        url: str,
        token: str = "",
        *,
        timeout: float = 10.0,
        notebook: str | None = None,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
    ) -> None:
        self.url = url if url.endswith("/") else url + "/"
        self.token = token
        self.timeout = timeout
        self.max_message_bytes = max_message_bytes
        self.notebook = notebook if notebook is not None else os.environ.get(NOTEBOOK_ENV) or None
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy

    def __repr__(self) -> str:
        return f"<ServerClient {self.url}>"

    # ------------------------------------------------------------------ HTTP

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"token {self.token}"
        return headers

    def request(self, method: str, path: str, body: Any = None, timeout: float | None = None) -> Any:
        """One JSON request to ``<url>/cmbagent/api/<path>``; returns the decoded reply."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + API + path, data=data, method=method, headers=self._headers())
        try:
            with self._opener.open(req, timeout=timeout or self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise self._error(exc) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ServerUnreachable(f"cannot reach the Jupyter server at {self.url}: {reason}") from None
        return json.loads(raw) if raw.strip() else None

    def _error(self, exc: urllib.error.HTTPError) -> CmbJupyterError:
        try:
            message = json.loads(exc.read() or b"{}").get("message") or exc.reason
        except ValueError:
            message = exc.reason
        return error_for_status(exc.code, str(message))

    # ------------------------------------------------------------------ REST

    def status(self, timeout: float | None = None) -> dict[str, Any]:
        """The extension's version and load; raises if it is not there."""
        return self.request("GET", "status", timeout=timeout)  # type: ignore[no-any-return]

    def ping(self, timeout: float = 1.0) -> bool:
        """True if the server answers and has the cmbjupyter extension."""
        try:
            return self.status(timeout=timeout).get("name") == "cmbjupyter"
        except (CmbJupyterError, ValueError, AttributeError):
            return False

    def submit(
        self, task: str, config: Mapping[str, Any] | None = None, *, task_id: str | None = None
    ) -> Submission:
        """Start (or queue) ``task`` on the server. Raises ConfigError for an invalid config."""
        body: dict[str, Any] = {"task": task, "config": dict(config or {}), "notebook": self.notebook}
        if task_id is not None:
            body["task_id"] = task_id
        return self._submission(self.request("POST", "tasks", body))

    def resume(self, session_id: str, config: Mapping[str, Any] | None = None) -> Submission:
        """Run a suspended session again, from its saved phase and step (a new task)."""
        body = {"config": dict(config or {}), "notebook": self.notebook}
        return self._submission(self.request("POST", f"sessions/{_quote(session_id)}/resume", body))

    def fork(
        self,
        session_id: str,
        at_step: int,
        changes: Mapping[str, Any] | None = None,
        *,
        new_session: str | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> Submission:
        """Fork a session the server holds at ``at_step`` into a new session (a new task)."""
        body: dict[str, Any] = {"at_step": at_step, **dict(changes or {}), "config": dict(config or {})}
        body["notebook"] = self.notebook
        if new_session is not None:
            body["session_id"] = new_session
        return self._submission(self.request("POST", f"sessions/{_quote(session_id)}/fork", body))

    @staticmethod
    def _submission(reply: Mapping[str, Any]) -> Submission:
        return Submission(
            task_id=reply["task_id"],
            session_id=reply.get("session_id"),
            sidecar=reply.get("sidecar"),
            status=reply.get("status") or "queued",
            queued_position=reply.get("queued_position"),
        )

    def task(self, task_id: str) -> dict[str, Any]:
        """The task's RunState snapshot."""
        return self.request("GET", f"tasks/{_quote(task_id)}")  # type: ignore[no-any-return]

    def tasks(self) -> list[dict[str, Any]]:
        return self.request("GET", "tasks")["tasks"]  # type: ignore[no-any-return]

    def cancel(self, task_id: str) -> str:
        """Cancel a queued or running task; returns its status (``cancelling``, ``cancelled``...)."""
        return self.request("DELETE", f"tasks/{_quote(task_id)}")["status"]  # type: ignore[no-any-return]

    def send_input(self, task_id: str, request_id: str, text: str) -> None:
        """Answer the task's ``input_request``."""
        self.request("POST", f"tasks/{_quote(task_id)}/input", {"request_id": request_id, "text": text})

    def approve_plan(self, task_id: str, plan: list[dict[str, Any]] | None = None) -> None:
        """Approve the plan the task waits on (``plan``: the edited steps; None: as proposed)."""
        body = {} if plan is None else {"plan": plan}
        self.request("POST", f"tasks/{_quote(task_id)}/plan/approve", body)

    def reject_plan(self, task_id: str, feedback: str) -> None:
        """Reject the plan the task waits on; the planner plans again with ``feedback``."""
        self.request("POST", f"tasks/{_quote(task_id)}/plan/reject", {"feedback": feedback})

    def sessions(self) -> list[dict[str, Any]]:
        """Every session the server's store holds (newest first), with ``live`` task info if running."""
        return self.request("GET", "sessions")["sessions"]  # type: ignore[no-any-return]

    def session(self, session_id: str) -> dict[str, Any]:
        return self.request("GET", f"sessions/{_quote(session_id)}")  # type: ignore[no-any-return]

    def open_file(self, kind: str, ident: str, path: str) -> BinaryIO:
        """A file of a task's (``kind="tasks"``) or a session's (``"sessions"``) work dir, as a binary
        file object streamed from the server (read it in pieces; close it when done)."""
        if kind not in ("tasks", "sessions"):
            raise ValueError(f"kind must be 'tasks' or 'sessions', not {kind!r}")
        quoted = "/".join(_quote(part) for part in path.split("/"))
        headers = {k: v for k, v in self._headers().items() if k != "Content-Type"}
        headers["Accept"] = "*/*"
        url = f"{self.url}{API}{kind}/{_quote(ident)}/files/{quoted}"
        try:
            return self._opener.open(urllib.request.Request(url, headers=headers), timeout=self.timeout)  # type: ignore[no-any-return]
        except urllib.error.HTTPError as exc:
            raise self._error(exc) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ServerUnreachable(f"cannot reach the Jupyter server at {self.url}: {reason}") from None

    # ------------------------------------------------------------------ WebSocket

    def events_url(self, task_id: str, since: int = 0, mode: str = "events") -> str:
        base = urllib.parse.urlsplit(self.url)
        scheme = "wss" if base.scheme == "https" else "ws"
        query = urllib.parse.urlencode({"since": since, "mode": mode})
        return urllib.parse.urlunsplit(
            (scheme, base.netloc, f"{base.path}{API}tasks/{_quote(task_id)}/events", query, "")
        )

    async def events(
        self, task_id: str, since: int = 0, *, mode: str = "events", reconnect: bool = True
    ) -> AsyncIterator[dict[str, Any]]:
        """The task's events after ``since`` (or ``snapshot`` messages), until its ``complete``.

        ``mode="state"`` asks for RunState snapshots only (at most 20/s) instead of events.
        """
        from tornado.httpclient import HTTPClientError, HTTPRequest
        from tornado.websocket import websocket_connect

        cursor, delays, finished = since, deque(RECONNECT_DELAYS), False
        closed_at: int | None = None  # the cursor when the stream last closed early
        while not finished:
            request = HTTPRequest(
                self.events_url(task_id, cursor, mode),
                headers=self._headers(),
                connect_timeout=self.timeout,
                request_timeout=self.timeout,
            )
            try:
                connection = await websocket_connect(request, max_message_size=self.max_message_bytes)
            except HTTPClientError as exc:
                if exc.code == 404:
                    raise NotFound(f"no task {task_id!r} on the server") from None
                raise ServerError(f"event stream refused: {exc}", exc.code) from None
            except OSError as exc:
                if not (reconnect and delays):
                    raise ServerUnreachable(f"cannot reach the Jupyter server at {self.url}: {exc}") from None
                await asyncio.sleep(delays.popleft())
                continue
            try:
                while True:
                    raw = await connection.read_message()
                    if raw is None:
                        break
                    message = json.loads(raw)
                    cursor = max(cursor, int(message.get("seq") or 0))
                    delays = deque(RECONNECT_DELAYS)
                    yield message
                    finished = _is_final(message)
                    if finished:
                        break
            finally:
                connection.close()
            if not finished and closed_at == cursor and await asyncio.to_thread(self.ping):
                # Closed twice at the same event while the server answers: tornado closes the stream
                # (code 1009) on a message over max_message_size, and the server sends it again.
                raise MessageTooBig(
                    f"the event stream of task {task_id!r} sent a message over this client's "
                    f"limit of {self.max_message_bytes} bytes (after seq {cursor})",
                    MESSAGE_TOO_BIG,
                )
            closed_at = cursor
            if not finished and not (reconnect and delays):
                raise ServerUnreachable(f"the event stream of task {task_id!r} closed before its end")
            if not finished:
                await asyncio.sleep(delays.popleft())


def _is_final(message: Mapping[str, Any]) -> bool:
    if message.get("type") == "complete":
        return True
    if message.get("type") == "snapshot":
        return (message.get("data") or {}).get("ended_at") is not None
    return False


def update_state(state: RunState, message: Mapping[str, Any]) -> RunState:
    """Fold one message of :meth:`ServerClient.events` into ``state`` (in place; same object).

    Events go through the reducer; a ``snapshot`` replaces the state's content (it includes every
    event up to its ``seq``), so a widget holding ``state`` keeps working.
    """
    if message.get("type") != "snapshot":
        return state.apply(message)  # type: ignore[arg-type]
    snapshot = dict(message.get("data") or {})
    snapshot["last_seq"] = snapshot.get("last_seq") or message.get("seq") or 0
    return state.restore(snapshot)


_cached: tuple[float, ServerClient] | None = None


def connect(*, refresh: bool = False, timeout: float = 1.0) -> ServerClient | None:
    """A client for the first reachable server with the extension, or None (then use kernel mode).

    Never raises for "no server": a missing runtime dir, a dead server, a server without the
    extension, a refused token all mean None.
    """
    global _cached
    if _cached is not None and not refresh and time.monotonic() - _cached[0] < CACHE_SECONDS:
        return _cached[1]
    try:
        servers: list[ServerInfo] = candidates()
    except (OSError, ValueError, ImportError):
        servers = []
    for info in servers:
        client = ServerClient(info.url, info.token)
        if client.ping(timeout=timeout):
            _cached = (time.monotonic(), client)
            return client
    _cached = None
    return None

"""WebSockets: a task's event stream (with replay) and the live task list.

``tasks/{id}/events?since=SEQ&mode=events|state``

* ``mode=events`` (default; kernels): every event with ``seq > since`` (replayed from the task's
  buffer), then each new one, as one JSON event per frame. If ``since`` is older than the buffer
  (or the client reads too slowly to keep up), the client first gets one ``snapshot`` message
  (RunState at ``seq`` N) and then the events after N: it never misses a change, it may get some of
  them folded into the snapshot. The socket closes (code 1000) after the task's ``complete`` event.
* ``mode=state`` (browsers): RunState ``snapshot`` messages, at most 20 a second and always the final one.

``updates``: ``{"type": "tasks", "full": bool, "version": n, "tasks": [summary...]}`` whenever
tasks change, at most 4 times a second, only the changed ones after the first (full) message.

Both go through jupyter_server's WebSocket auth: ``@ws_authenticated`` (token or cookie), the
``cmbagent`` authorization resource (``read``), and the Origin check of ``WebSocketMixin``
(cross-origin upgrades are refused unless ``allow_origin`` says otherwise). The subscriber loops
(:mod:`.replay`) never block the task: they read the shared buffer at the client's pace.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Final

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web
from tornado.iostream import StreamClosedError
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from ..errors import TaskNotFound
from ..events import dumps
from ._base import AUTH_RESOURCE
from .registry import TaskRegistry
from .replay import follow_events, follow_state

__all__ = ["TaskEventsSocket", "UpdatesSocket"]

#: The task list is pushed at most this often (seconds between messages).
UPDATES_INTERVAL: Final = 0.25


class _Socket(WebSocketMixin, WebSocketHandler, ExtensionHandlerMixin, JupyterHandler):
    """Auth, authorization and a background sender shared by both sockets."""

    auth_resource = AUTH_RESOURCE
    _sender: asyncio.Task[None] | None = None

    @property
    def registry(self) -> TaskRegistry:
        return self.settings["cmbjupyter_registry"]  # type: ignore[no-any-return]

    def set_default_headers(self) -> None:
        """No HTML security headers on an upgrade response (as jupyter_server's kernel socket)."""

    def get_compression_options(self) -> dict[str, Any] | None:
        return self.settings.get("websocket_compression_options", None)

    async def authorize(self) -> None:
        allowed = await ensure_async(
            self.authorizer.is_authorized(self, self.current_user, "read", AUTH_RESOURCE)
        )
        if not allowed:
            raise web.HTTPError(403, f"not authorized to read {AUTH_RESOURCE}")

    async def send(self, messages: list[dict[str, Any]]) -> None:
        """Write the messages, then wait until the socket took them (flow control per batch)."""
        future = None
        for message in messages:
            future = self.write_message(dumps(message))
        if future is not None:
            await future

    def start(self, loop_coro: Any) -> None:
        self._sender = asyncio.get_running_loop().create_task(self._guard(loop_coro))

    async def _guard(self, loop_coro: Any) -> None:
        try:
            await loop_coro
        except (WebSocketClosedError, StreamClosedError):
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            self.log.exception("cmbagent socket %s failed", self.request.path)
            with contextlib.suppress(Exception):
                self.close(1011, "server error")
            return
        with contextlib.suppress(Exception):
            self.close(1000, "done")

    def on_message(self, message: str | bytes) -> None:
        """Clients only listen; control goes through the REST API."""

    def on_close(self) -> None:
        if self._sender is not None:
            self._sender.cancel()


class TaskEventsSocket(_Socket):
    """``tasks/{id}/events``: replay from ``since``, then follow (events or throttled state)."""

    @ws_authenticated
    async def get(self, task_id: str) -> None:
        await self.authorize()
        try:
            self.entry = self.registry.get(task_id)
        except TaskNotFound as exc:
            raise web.HTTPError(404, str(exc)) from None
        try:
            self.since = int(self.get_argument("since", "0"))
        except ValueError:
            raise web.HTTPError(400, "'since' must be an integer event seq") from None
        self.mode = self.get_argument("mode", "events")
        if self.mode not in ("events", "state"):
            raise web.HTTPError(400, "'mode' must be 'events' or 'state'")
        await super().get(task_id)

    def open(self, task_id: str) -> None:
        super().open()
        follow = follow_events if self.mode == "events" else follow_state
        self.start(follow(self.entry.buffer, self.entry.state, self.since, self.send))


class UpdatesSocket(_Socket):
    """``updates``: the task list, then the tasks that changed, at most every UPDATES_INTERVAL s."""

    @ws_authenticated
    async def get(self) -> None:
        await self.authorize()
        await super().get()

    def open(self) -> None:
        super().open()
        self.start(self._follow())

    async def _follow(self) -> None:
        registry = self.registry
        feed = registry.feed
        waiter = feed.subscribe()
        sent_version = -1
        try:
            while True:
                waiter.clear()
                version = feed.version
                if version != sent_version:
                    positions = {e.task_id: registry.queued_position(e) for e in registry.tasks.values()}
                    entries = [e for e in registry.tasks.values() if e.version > sent_version]
                    await self.send(
                        [
                            {
                                "type": "tasks",
                                "full": sent_version < 0,
                                "version": version,
                                "tasks": [e.summary(positions[e.task_id]) for e in entries],
                            }
                        ]
                    )
                    sent_version = version
                    await asyncio.sleep(UPDATES_INTERVAL)
                    continue
                await waiter.wait()
        finally:
            feed.unsubscribe(waiter)

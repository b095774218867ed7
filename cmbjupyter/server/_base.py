"""What every cmbagent route shares: the authorization resource, the JSON error replies, the handler base.

REST handlers (:mod:`.handlers`) and WebSockets (:mod:`.websocket`) both build on this module, so
neither imports the other; the route table that joins them is the ExtensionApp's (:mod:`.app`).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any, Final, TypeVar

from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin

from ..errors import CmbJupyterError, ConfigError
from .registry import TaskRegistry

__all__ = ["AUTH_RESOURCE", "BaseHandler", "json_errors"]

#: The authorization resource of every route (GET: ``read``; POST, DELETE: ``write``).
AUTH_RESOURCE: Final = "cmbagent"

F = TypeVar("F", bound=Callable[..., Awaitable[None]])


def json_errors(method: F) -> F:
    """Turn the library's errors into JSON replies with their ``http_status`` (inside the auth checks)."""

    @functools.wraps(method)
    async def wrapper(self: BaseHandler, *args: Any, **kwargs: Any) -> None:
        try:
            await method(self, *args, **kwargs)
        except CmbJupyterError as exc:
            status = exc.http_status
            if status is None:
                raise
            reason = HTTPStatus(status).phrase
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

"""Every exception cmbjupyter raises, in one hierarchy.

Like nbclient's ``CellTimeoutError(TimeoutError)``, each class also subclasses the builtin a caller
would naturally catch, so ``except TimeoutError`` or ``except ValueError`` keep working. Errors a
request can cause carry their ``http_status``: the server's handlers answer with it, and the
kernel-side client raises the same class again from the status it gets (:func:`error_for_status`).
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "BudgetExceeded",
    "CmbJupyterError",
    "ConfigError",
    "EngineError",
    "EngineNotFound",
    "InvalidSessionId",
    "MemoryLimitExceeded",
    "MessageTooBig",
    "NotFound",
    "ProtocolError",
    "ServerError",
    "ServerUnreachable",
    "SessionCorrupt",
    "SessionError",
    "SessionNotFound",
    "SessionWriteError",
    "TaskCancelled",
    "TaskConflict",
    "TaskFailed",
    "TaskNotFound",
    "TaskTimeout",
    "WorkDirTooLarge",
    "WorkerCrashed",
    "error_class_for",
    "error_for_status",
]


class CmbJupyterError(Exception):
    """Base class of every cmbjupyter error."""

    #: The HTTP status the server answers with when a request raises this (None: a server error, 500).
    http_status: ClassVar[int | None] = None


class ConfigError(CmbJupyterError, ValueError):
    """A task's configuration is invalid (unknown mode, bad engine name, bad limit...).

    Raised before anything starts, so nothing needs cleaning up.
    """

    http_status = 400


class WorkDirTooLarge(ConfigError):
    """A fork would copy more of its parent's work dir than the limit (``snapshot_max_bytes``) allows.

    Raised before anything is copied; the message names the size and the limit (HTTP 400).
    """


class NotFound(CmbJupyterError, LookupError):
    """No such task or session (HTTP 404)."""

    http_status = 404


class TaskNotFound(NotFound):
    """No task with this id is known to this server (HTTP 404)."""


class TaskConflict(CmbJupyterError, RuntimeError):
    """The request does not fit the task's current state (HTTP 409)."""

    http_status = 409


class ServerError(CmbJupyterError):
    """The Jupyter server answered a kernel's request with an error (``http_status``, ``message``)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = status  # type: ignore[misc]  # per instance: whatever the server said

    @property
    def status(self) -> int | None:
        return self.http_status


class ServerUnreachable(ServerError, ConnectionError):
    """No answer from the Jupyter server (not running, wrong URL, network)."""


class MessageTooBig(ServerError, ValueError):
    """The server sent a message over the client's ``max_message_bytes``: the server is fine, the
    message is too big to take (raised instead of reconnecting to get the same message again)."""


class ProtocolError(CmbJupyterError, ValueError):
    """A line on the event pipe is not a valid event."""


class TaskFailed(CmbJupyterError, RuntimeError):
    """A task ended without a result.

    Carries the fields of the ``error`` event that was delivered to the output callback just
    before this was raised, so callers see the same facts either way.
    """

    #: The ``error_type`` reported when the worker gives none.
    default_error_type = "TaskFailed"

    def __init__(
        self,
        message: str,
        *,
        error_type: str | None = None,
        traceback: str | None = None,
        exit_code: int | None = None,
        signal: str | None = None,
        task_id: str | None = None,
        session_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error_type = error_type or self.default_error_type
        self.traceback = traceback
        self.exit_code = exit_code
        self.signal = signal
        self.task_id = task_id
        self.session_id = session_id

    def __str__(self) -> str:
        return self.message

    def to_event_data(self) -> dict[str, Any]:
        """The ``data`` of the ``error`` event that describes this failure."""
        data: dict[str, Any] = {"message": self.message, "error_type": self.error_type}
        for key in ("traceback", "exit_code", "signal"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data


class TaskCancelled(TaskFailed):
    """The task was cancelled (``executor.cancel``, Ctrl-C, kernel interrupt)."""

    default_error_type = "TaskCancelled"


class TaskTimeout(TaskFailed, TimeoutError):
    """The task ran longer than ``config["timeout"]`` seconds and was stopped."""

    default_error_type = "TaskTimeout"


class WorkerCrashed(TaskFailed):
    """The worker process died without reporting a result (signal, exit code, lost pipe)."""

    default_error_type = "WorkerCrashed"


class MemoryLimitExceeded(WorkerCrashed, MemoryError):
    """The worker's process tree used more than ``config["memory_limit_mb"]`` and was stopped."""

    default_error_type = "MemoryLimitExceeded"


class BudgetExceeded(TaskFailed):
    """The run's cost reached ``config["budget_usd"]`` and the worker was stopped."""

    default_error_type = "BudgetExceeded"


class SessionError(CmbJupyterError):
    """Base class of session-store errors (HTTP 409: the session cannot do what was asked)."""

    http_status = 409


class SessionNotFound(SessionError, NotFound, KeyError):
    """No sidecar file exists for this session id."""

    http_status = 404

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "session not found"


class SessionCorrupt(SessionError, ValueError):
    """A sidecar file exists but cannot be read (truncated, not JSON, future version...)."""


class InvalidSessionId(SessionError, ValueError):
    """A session id that could escape the sessions folder or is not a plain name (HTTP 404: no such
    session can exist)."""

    http_status = 404


class SessionWriteError(SessionError, OSError):
    """A sidecar could not be written (disk full, permissions); the previous version is intact.

    Raised as ``SessionWriteError(errno, message)``: ``errno`` is the OS error's, the message says it all.
    """

    def __str__(self) -> str:
        return str(self.strerror)


_BY_TYPE: dict[str, type[TaskFailed]] = {
    cls.default_error_type: cls
    for cls in (TaskCancelled, TaskTimeout, WorkerCrashed, MemoryLimitExceeded, BudgetExceeded)
}


def error_class_for(error_type: str | None) -> type[TaskFailed]:
    """The exception class that stands for an ``error`` event's ``error_type``.

    Engine exceptions (``ZeroDivisionError``...) map to plain :class:`TaskFailed`, which keeps the
    engine's type name in ``error_type``.
    """
    return _BY_TYPE.get(error_type or "", TaskFailed)


def error_for_status(status: int, message: str) -> CmbJupyterError:
    """The error a kernel raises for a server's error reply: the class the server raised, by status."""
    for cls in (ConfigError, NotFound, TaskConflict):
        if cls.http_status == status:
            return cls(message)
    if status == 403:
        return ServerError(f"the Jupyter server refused the request (403): {message}", status)
    return ServerError(message, status)


class EngineError(CmbJupyterError):
    """An engine failed for a reason it can state plainly (a missing package, no API key...).

    The worker reports it without a traceback: the message names the fix.
    """


class EngineNotFound(EngineError, ImportError):
    """The engine named in the config cannot be imported in the worker."""

"""CmbJupyter: the jupyter_server extension that runs cmbagent tasks for kernels and the sidebar.

Enabled on install (``jupyter-config/jupyter_server_config.d/cmbjupyter.json``); configured with
traitlets, e.g. in ``jupyter_server_config.py``::

    c.CmbJupyter.max_concurrent_tasks = 2
    c.CmbJupyter.sessions_dir = "/data/cmbagent-sessions"

On start it marks the sessions that a dead server left ``active`` as suspended, first ending any
worker they recorded that still runs (pid and start time must both match: see ``recovery.py``), so
no session can be resumed beside its old worker; on stop it cancels queued and running tasks (their
sessions are suspended, so they can be resumed).
"""

from __future__ import annotations

import os
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Enum, Float, Integer, Unicode, validate

from ..session import DEFAULT_ROOT, SessionManager
from .handlers import handlers
from .recovery import suspend_interrupted
from .registry import TaskRegistry

__all__ = ["CmbJupyter"]


class CmbJupyter(ExtensionApp):
    """Runs cmbagent tasks in worker processes owned by the Jupyter server (see DESIGN.md)."""

    name = "cmbjupyter"
    description = "Run and watch cmbagent tasks from Jupyter (REST + WebSocket under /cmbagent/api)."
    load_other_extensions = True

    sessions_dir = Unicode(
        "",
        help=(
            "Folder of the session sidecar files (<session_id>.json) and event logs. Relative paths are "
            f"resolved against the server's root_dir; empty means <root_dir>/{DEFAULT_ROOT}, the folder "
            "kernel-mode runs use beside a notebook at the root."
        ),
    ).tag(config=True)

    max_concurrent_tasks = Integer(
        4,
        help=(
            "How many tasks run at once; more are queued (status 'queued') and start in submission order. "
            "Each task is a worker process (and, for cmbagent, LLM calls that cost money)."
        ),
    ).tag(config=True)

    default_engine = Unicode(
        "",
        help=(
            "Engine for tasks whose config names none ('cmbagent', 'python', 'replay' or "
            "'package.module:callable'). Empty: $CMBJUPYTER_ENGINE, else 'cmbagent'."
        ),
    ).tag(config=True)

    default_budget_usd = Float(
        None,
        allow_none=True,
        help="Budget in US dollars for tasks whose config sets no budget_usd; the run stops when it is "
        "reached. None: no budget unless the task sets one.",
    ).tag(config=True)

    event_log_limit = Integer(
        10_000,
        help=(
            "Events kept in memory per task for WebSocket replay (?since=SEQ). A client asking for older "
            "events gets a RunState snapshot first, then the events after it. The full log stays on disk "
            "in the session's .events.jsonl."
        ),
    ).tag(config=True)

    backend = Enum(
        ["local", "dask"],
        default_value="local",
        help="Where workers run when a task's config does not say: 'local' subprocesses of this server, "
        "or 'dask' (a dask.distributed cluster; see config['scheduler_address']).",
    ).tag(config=True)

    keep_finished_tasks = Integer(
        200,
        help="Finished tasks kept in memory (state + replay buffer) for GET tasks and late subscribers; "
        "their sessions stay on disk regardless.",
    ).tag(config=True)

    @validate("max_concurrent_tasks", "event_log_limit")
    def _at_least_one(self, proposal: Any) -> int:
        value = int(proposal["value"])
        if value < 1:
            raise ValueError(f"{proposal['trait'].name} must be at least 1, not {value}")
        return value

    def resolved_sessions_dir(self) -> str:
        root = getattr(self.serverapp, "root_dir", None) or os.getcwd()
        path = os.path.expanduser(self.sessions_dir or DEFAULT_ROOT)
        return path if os.path.isabs(path) else os.path.join(root, path)

    def initialize_settings(self) -> None:
        sessions = SessionManager(self.resolved_sessions_dir())
        interrupted = suspend_interrupted(sessions, self.log)
        if interrupted:
            self.log.warning(
                "cmbjupyter: %d session(s) were left running by a server that stopped; marked suspended: %s",
                len(interrupted),
                ", ".join(interrupted),
            )
        self.registry = TaskRegistry(
            sessions,
            max_concurrent=self.max_concurrent_tasks,
            event_log_limit=self.event_log_limit,
            keep_finished=self.keep_finished_tasks,
            defaults={
                "engine": self.default_engine,
                "budget_usd": self.default_budget_usd,
                "backend": self.backend,
            },
            root_dir=getattr(self.serverapp, "root_dir", None),
            log=self.log,
        )
        self.settings["cmbjupyter_registry"] = self.registry
        self.log.info(
            "cmbjupyter: sessions in %s, at most %d concurrent tasks",
            sessions.root,
            self.max_concurrent_tasks,
        )

    def initialize_handlers(self) -> None:
        self.handlers.extend(handlers())

    async def stop_extension(self) -> None:
        """Server shutdown: no orphan workers; interrupted sessions are saved as suspended."""
        registry = getattr(self, "registry", None)
        if registry is not None:
            await registry.shutdown()

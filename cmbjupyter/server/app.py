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
from typing import Any, Final

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Enum, Float, Integer, List, Unicode, validate

from ..backends.warm import WarmPool, install, uninstall
from ..config import DEFAULT_SESSIONS_DIR, default_python, resolve_engine
from ..session import SessionManager
from .files import SessionFileHandler, SessionFilesHandler, TaskFileHandler, TaskFilesHandler
from .handlers import (
    SessionForkHandler,
    SessionHandler,
    SessionResumeHandler,
    SessionsHandler,
    StatusHandler,
    TaskHandler,
    TaskInputHandler,
    TasksHandler,
)
from .recovery import suspend_interrupted
from .registry import TaskRegistry
from .reports import CompareHandler, SessionCostHandler, SessionExportHandler
from .steer import PLAN_ACTION, PlanDecisionHandler
from .websocket import TaskEventsSocket, UpdatesSocket

__all__ = ["CmbJupyter"]

#: Where the API lives, below the server's base_url.
API_PREFIX: Final = "/cmbagent/api"
_TASK: Final = "(?P<task_id>[^/]+)"
_SESSION: Final = "(?P<session_id>[^/]+)"
#: A file's path below a run's work dir (confined by the handler, not by the pattern).
_FILE: Final = "(?P<path>.+)"
#: The extension's routes (path below API_PREFIX, handler), as jupyter_server's own examples list them.
ROUTES: Final = (
    ("/status", StatusHandler),
    ("/tasks", TasksHandler),
    (f"/tasks/{_TASK}", TaskHandler),
    (f"/tasks/{_TASK}/input", TaskInputHandler),
    (f"/tasks/{_TASK}/plan/{PLAN_ACTION}", PlanDecisionHandler),
    (f"/tasks/{_TASK}/events", TaskEventsSocket),
    (f"/tasks/{_TASK}/files", TaskFilesHandler),
    (f"/tasks/{_TASK}/files/{_FILE}", TaskFileHandler),
    ("/updates", UpdatesSocket),
    ("/sessions", SessionsHandler),
    (f"/sessions/{_SESSION}", SessionHandler),
    (f"/sessions/{_SESSION}/resume", SessionResumeHandler),
    (f"/sessions/{_SESSION}/fork", SessionForkHandler),
    (f"/sessions/{_SESSION}/files", SessionFilesHandler),
    (f"/sessions/{_SESSION}/files/{_FILE}", SessionFileHandler),
    ("/compare", CompareHandler),
    (f"/sessions/{_SESSION}/export", SessionExportHandler),
    (f"/sessions/{_SESSION}/cost", SessionCostHandler),
)


class CmbJupyter(ExtensionApp):
    """Runs cmbagent tasks in worker processes owned by the Jupyter server (see docs/architecture.md)."""

    name = "cmbjupyter"
    description = "Run and watch cmbagent tasks from Jupyter (REST + WebSocket under /cmbagent/api)."
    load_other_extensions = True

    sessions_dir = Unicode(
        "",
        help=(
            "Folder of the session sidecar files (<session_id>.json) and event logs. Relative paths "
            "are resolved against the server's root_dir; empty means "
            f"<root_dir>/{DEFAULT_SESSIONS_DIR}, the folder kernel-mode runs use beside a notebook "
            "at the root."
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

    finished_tasks_memory_mb = Float(
        32.0,
        help="Memory that finished tasks may keep (replay buffers and final states, estimated in MB). "
        "Past it, the oldest finished tasks drop their replay buffers (late subscribers get a snapshot), "
        "then are forgotten (no longer listed; their sessions stay on disk). The newest finished task is "
        "always kept.",
    ).tag(config=True)

    warm_pool = Bool(
        True,
        help="Keep warm workers: processes that have already imported their engine (cmbagent takes "
        "6-9 s to import) and wait for one task each, so a task's first agent message comes in about "
        "a second. Each task still gets a process of its own, never reused. False: every task starts "
        "a fresh worker. Only for the local backend.",
    ).tag(config=True)

    warm_pool_size = Integer(
        1,
        help="Warm workers kept per worker environment (interpreter + engine); one taken by a task is "
        "replaced in the background. 0: none (as warm_pool = False).",
    ).tag(config=True)

    warm_engines = List(
        Unicode(),
        default_value=None,
        allow_none=True,
        help="Engines warmed when the server starts, with $CMBJUPYTER_PYTHON (else this server's "
        "interpreter). None: the default engine (default_engine). A cmbagent environment that a "
        "task used without a warm worker (e.g. another interpreter) is warmed for its next task.",
    ).tag(config=True)

    warm_idle_timeout = Float(
        600.0,
        allow_none=True,
        help="Seconds without a task after which an environment's warm workers are ended (and no "
        "longer replaced until its next task). None: never.",
    ).tag(config=True)

    warm_memory_limit_mb = Float(
        2048.0,
        allow_none=True,
        help="Largest RSS (MB) of a warm worker once it has imported its engine (a cmbagent one: "
        "about 490 MB); a bigger one is ended and its environment no longer warmed. None: no bound.",
    ).tag(config=True)

    snapshot_max_bytes = Integer(
        None,
        allow_none=True,
        help="Most bytes of a session's work-dir snapshots (the files before each step, kept so that "
        "a fork at step N starts from them; each content once, cloned where the filesystem can) and of "
        "a python-engine fork's copy of its parent's final folder. Past it a run stops snapshotting and "
        "a fork at a later step starts from the parent's final files, saying so. 0: no snapshots. "
        "None: $CMBJUPYTER_SNAPSHOT_MAX_BYTES, else 1 GiB. A task's config['snapshot_max_bytes'] wins.",
    ).tag(config=True)

    @validate("snapshot_max_bytes")
    def _bytes(self, proposal: Any) -> int | None:
        value = proposal["value"]
        if value is not None and value < 0:
            raise ValueError(f"snapshot_max_bytes must be 0 or more bytes, not {value}")
        return value

    @validate("max_concurrent_tasks", "event_log_limit")
    def _at_least_one(self, proposal: Any) -> int:
        value = int(proposal["value"])
        if value < 1:
            raise ValueError(f"{proposal['trait'].name} must be at least 1, not {value}")
        return value

    @validate("finished_tasks_memory_mb", "warm_pool_size")
    def _not_negative(self, proposal: Any) -> float:
        value = proposal["value"]
        if value < 0:
            raise ValueError(f"{proposal['trait'].name} must be 0 or more, not {value:g}")
        return value

    def resolved_sessions_dir(self) -> str:
        root = getattr(self.serverapp, "root_dir", None) or os.getcwd()
        path = os.path.expanduser(self.sessions_dir or DEFAULT_SESSIONS_DIR)
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
            finished_memory_bytes=int(self.finished_tasks_memory_mb * 2**20),
            defaults={
                "engine": self.default_engine,
                "budget_usd": self.default_budget_usd,
                "backend": self.backend,
                "snapshot_max_bytes": self.snapshot_max_bytes,
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

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        """On the running event loop: start the warm workers (see ``backends/warm.py``)."""
        if not self.warm_pool or not self.warm_pool_size or self.backend != "local":
            return
        pool = WarmPool(
            size=self.warm_pool_size,
            idle_timeout=self.warm_idle_timeout or None,
            memory_limit_mb=self.warm_memory_limit_mb,
            log=self.log,
        )
        engines = (
            self.warm_engines
            if self.warm_engines is not None
            else [resolve_engine({"engine": self.default_engine})]
        )
        self.warm = install(pool, engines, python=default_python())
        self.log.info(
            "cmbjupyter: warm workers for %s (%d each)", ", ".join(engines) or "no engine", pool.size
        )

    def initialize_handlers(self) -> None:
        self.handlers.extend((API_PREFIX + path, handler) for path, handler in ROUTES)

    async def stop_extension(self) -> None:
        """Server shutdown: no orphan workers; interrupted sessions are saved as suspended."""
        registry = getattr(self, "registry", None)
        if registry is not None:
            await registry.shutdown()
        if getattr(self, "warm", None) is not None:
            await uninstall()  # the warm workers end with the server (and by themselves if it is killed)

"""The warm worker pool: a task's worker has already imported its engine when the task arrives.

``import cmbagent`` takes 6-9 s (AG2, openai, cobaya, matplotlib...), almost all of the time to a
run's first agent message. The pool keeps, per worker environment (interpreter, engine, and the
environment variables that shape an interpreter), ``size`` workers started with ``--warm ENGINE``:
each has imported the engine's modules and waits for its one task. A task that matches takes one,
and a fresh one is started in the background to replace it.

Pre-started idle processes, not a fork server: after ``import cmbagent`` a process has native
threads (a jemalloc background thread, two more from the numeric libraries: 4 OS threads, 1 Python
thread, measured), and ``fork()`` of a process with threads may copy locks they hold. An idle worker
also keeps everything the cold path has: its own process group and tree id, the guard's subreaper
and PDEATHSIG (its host is this process), limits from the spec, the memory watchdog and tree kill.

Isolation: a warm worker is launched without the task's variables (:func:`late_variable`: secrets
and LLM endpoints, the task id); when a task takes it, the spec carries the task's whole
environment and folder, applied before the engine is imported again (``worker/_warm.py`` forgets
cmbagent's own modules, which read keys and the folder at import). One task per process, never
reused. A worker above ``memory_limit_mb`` once warm is ended and its environment no longer warmed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Iterable, Mapping
from typing import Any, Final

import psutil

from ..redact import is_secret_env_name
from .local import LocalBackend, LocalWorker, worker_environ
from .process_tree import TREE_VAR

__all__ = ["LEARN", "WarmPool", "active_pool", "install", "late_variable", "uninstall"]

#: Seconds a warm worker may take to import its engine before it is given up.
WARM_START_TIMEOUT: Final = 180.0
#: Failed warm starts in a row after which an environment is no longer warmed.
MAX_FAILURES: Final = 3
#: Variables applied when the task starts rather than at launch (besides secret-named ones):
#: read at run time by the engines (checked for cmbagent 0.0.1.post30, AG2 and openai).
#: (PYTEST_CURRENT_TEST: pytest rewrites it between a test's phases; no engine reads it.)
LATE_NAMES: Final = frozenset({"CMBJUPYTER_TASK_ID", TREE_VAR, "PYTEST_CURRENT_TEST"})
LATE_SUFFIXES: Final = ("_BASE_URL", "_API_BASE", "_ENDPOINT")

#: Engines whose environment is warmed once a task used it without a warm worker (the engines
#: that are slow to import; the others start in tens of milliseconds).
LEARN: Final = frozenset({"cmbagent"})

Key = tuple[str, str, frozenset[tuple[str, str]]]


def late_variable(name: str) -> bool:
    """True for a variable that belongs to the task (a key, an endpoint), not to the interpreter."""
    return name in LATE_NAMES or is_secret_env_name(name) or name.upper().endswith(LATE_SUFFIXES)


def _launch_env(env: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if not late_variable(k)}


def _rss_mb(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        root = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)]) / 2**20
    except psutil.Error:
        return None


class _Warm:
    """One pool worker: the process, since when it is ready."""

    def __init__(self, key: Key, worker: LocalWorker) -> None:
        self.key, self.worker = key, worker
        self.ready_at: float | None = None


class WarmPool:
    """Warm workers per environment, on the event loop that creates them (the server's, the kernel's
    loop thread). ``size``: idle workers kept per environment; ``idle_timeout``: seconds without a
    task after which an environment's workers are ended (None: never); ``memory_limit_mb``: the
    largest RSS (MB) a warm worker may have once ready."""

    def __init__(
        self,
        *,
        size: int = 1,
        idle_timeout: float | None = 600.0,
        memory_limit_mb: float | None = 2048.0,
        log: logging.Logger | logging.LoggerAdapter[Any] | None = None,
    ) -> None:
        if size < 0:
            raise ValueError(f"the warm pool size must be 0 or more, not {size}")
        self.size = size
        self.idle_timeout = idle_timeout
        self.memory_limit_mb = memory_limit_mb
        self.log = log or logging.getLogger("cmbjupyter.warm")
        self.loop: asyncio.AbstractEventLoop | None = None
        self._envs: dict[Key, dict[str, str]] = {}  # the launch environment of each warmed key
        self._used: dict[Key, float] = {}
        self._failures: dict[Key, int] = {}
        #: Environments no longer warmed (the engine does not import, or its worker is too big).
        self.refused: set[Key] = set()
        self._expiring: set[Key] = set()
        self._asked: set[Key] = set()  # warmed by warm(): warmed again on a task after an expiry
        self._workers: list[_Warm] = []  # starting and ready
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        #: Warm workers handed to tasks (for tests and the status: never handed twice).
        self.taken = 0

    # ------------------------------------------------------------------ keys

    @staticmethod
    def key(python: str, engine: str, env: Mapping[str, str]) -> Key:
        return python, engine, frozenset(_launch_env(env).items())

    def warm(self, engine: str, *, python: str | None = None, env: Mapping[str, str] | None = None) -> None:
        """Keep ``size`` warm workers for ``engine`` (default environment: this process's)."""
        interpreter, environ = worker_environ(python, env)
        key = self.key(interpreter, engine, environ)
        self._asked.add(key)
        self._register(key, environ)

    def _register(self, key: Key, environ: Mapping[str, str]) -> None:
        if self._closed or self.size == 0 or key in self.refused:
            return
        self.loop = self.loop or asyncio.get_running_loop()
        self._envs.setdefault(key, _launch_env(environ))
        self._used[key] = time.monotonic()
        self._fill(key)

    def _fill(self, key: Key) -> None:
        if self._closed or key not in self._envs:
            return
        for _ in range(self.size - sum(1 for w in self._workers if w.key == key)):
            self._spawn_task(self._start(key))
        if self.idle_timeout and key not in self._expiring:
            self._expiring.add(key)
            self._spawn_task(self._expire_later(key)).add_done_callback(lambda _: self._expiring.discard(key))

    def _spawn_task(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ------------------------------------------------------------------ workers

    async def _start(self, key: Key) -> None:
        python, engine, _ = key
        worker = LocalWorker()
        entry = _Warm(key, worker)
        self._workers.append(entry)
        status: str | None = None
        try:
            env = {**self._envs[key], TREE_VAR: worker.tree_id}
            await worker.launch(python=python, env=env, warm=engine)
            status = await asyncio.wait_for(worker.warmed(), WARM_START_TIMEOUT)
        except (TimeoutError, OSError) as exc:
            self.log.warning("cmbjupyter: a warm %s worker could not start: %s", engine, exc)
        if entry not in self._workers:  # ended meanwhile (shutdown, expiry)
            return
        refused = None
        if status == "cold":
            refused = f"{engine} does not import with {python} (its tasks report why)"
        elif status == "warm" and self.memory_limit_mb is not None:
            rss = _rss_mb(worker.pid)
            if rss is not None and rss > self.memory_limit_mb:
                refused = (
                    f"its warm worker uses {rss:.0f} MB, more than the bound of {self.memory_limit_mb:g} MB"
                )
        if status == "warm" and refused is None:
            self._failures.pop(key, None)
            entry.ready_at = time.monotonic()
            return
        await self._end(entry)
        failures = self._failures[key] = self._failures.get(key, 0) + 1
        if refused is None and failures < MAX_FAILURES:
            self._fill(key)
            return
        self.refused.add(key)
        self._envs.pop(key, None)
        self.log.warning(
            "cmbjupyter: %s workers are no longer warmed: %s", engine, refused or f"{failures} failed"
        )

    async def _end(self, entry: _Warm) -> None:
        with contextlib.suppress(ValueError):
            self._workers.remove(entry)
        worker = entry.worker
        worker.signal(signal.SIGKILL)
        worker.close_pipes()
        if worker.process is not None:
            with contextlib.suppress(Exception):
                await worker.wait()

    async def take(
        self, spec: Mapping[str, Any], *, python: str, env: Mapping[str, str], cwd: str | None
    ) -> LocalWorker | None:
        """A ready warm worker for this task, given its spec (with the task's environment and
        folder), or None (then the caller starts a cold one; for an engine in :data:`LEARN`, this
        environment is warmed for the next task). A replacement starts in the background."""
        key = self.key(python, str(spec.get("engine")), env)
        if self._closed or self.loop not in (None, asyncio.get_running_loop()):
            return None  # another loop's tasks (e.g. a Dask worker thread): cold, as before
        for entry in [w for w in self._workers if w.key == key and w.ready_at is not None]:
            self._workers.remove(entry)
            worker = entry.worker
            message = {**spec, "environ": {**env, TREE_VAR: worker.tree_id}, "cwd": cwd or os.getcwd()}
            try:
                if worker.returncode is not None or not worker.event_pipe_open:
                    raise BrokenPipeError("the warm worker had exited")
                await worker.send(message)
            except OSError:
                await self._end(entry)
                continue
            self.taken += 1
            self._used[key] = time.monotonic()
            self._fill(key)
            return worker
        if key in self._asked or key[1] in LEARN:  # the next task of this environment finds one
            self._register(key, env)
        return None

    async def _expire_later(self, key: Key) -> None:
        """End a key's workers once it has had no task for ``idle_timeout`` seconds."""
        assert self.idle_timeout
        while key in self._envs and not self._closed:
            left = self._used.get(key, 0.0) + self.idle_timeout - time.monotonic()
            if left > 0:
                await asyncio.sleep(left)
                continue
            self._envs.pop(key, None)
            for entry in [w for w in self._workers if w.key == key]:
                await self._end(entry)
            return

    # ------------------------------------------------------------------ status, shutdown

    def status(self) -> list[dict[str, Any]]:
        """One row per warm worker: pid, engine, interpreter, ready or starting, idle seconds, RSS."""
        now = time.monotonic()
        return [
            {
                "pid": entry.worker.pid,
                "engine": entry.key[1],
                "python": entry.key[0],
                "state": "ready" if entry.ready_at is not None else "starting",
                "idle_s": round(now - entry.ready_at, 1) if entry.ready_at is not None else None,
                "rss_mb": None if (rss := _rss_mb(entry.worker.pid)) is None else round(rss, 1),
            }
            for entry in self._workers
        ]

    def pids(self) -> list[int]:
        return [entry.worker.pid for entry in self._workers if entry.worker.pid is not None]

    async def shutdown(self) -> None:
        """End every warm worker (and stop warming)."""
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        for entry in list(self._workers):
            await self._end(entry)
        self._envs.clear()


_active: WarmPool | None = None


def install(pool: WarmPool, engines: Iterable[str] = (), *, python: str | None = None) -> WarmPool:
    """Make ``pool`` the one local tasks of this process take workers from, and warm ``engines``
    (call on the event loop that runs the tasks)."""
    global _active
    _active = pool
    LocalBackend.warm_source = pool
    for engine in engines:
        pool.warm(engine, python=python)
    return pool


def active_pool() -> WarmPool | None:
    return _active


async def uninstall() -> None:
    """Stop taking warm workers, and end them."""
    global _active
    pool, _active = _active, None
    LocalBackend.warm_source = None
    if pool is not None:
        await pool.shutdown()

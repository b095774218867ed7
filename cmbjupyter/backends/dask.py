"""The Dask backend: the worker runs on a dask.distributed cluster; its events stream back in order.

``config["backend"] = "dask"`` (scheduler: ``config["scheduler_address"]``, or see
:mod:`.dask_clients`). For each run the host

1. creates two distributed ``Queue`` objects on the scheduler: *events* (bounded, worker -> host) and
   *control* (host -> worker), and puts the ``start`` ticket (spec, environment, limits) on *control*;
2. submits :func:`.dask_remote.forward` (``pure=False``), which runs the very same worker
   (``python -m cmbjupyter.worker``) as a subprocess of the Dask worker through the local backend,
   and relays its events and exit status back on *events*;
3. hands the supervisor a :class:`DaskWorker`, which behaves like a local worker: ordered batches,
   ``returncode`` (the real one: ``-11`` for a segfault), ``signal()`` reaching the remote process
   group, ``send()`` for human input. ``seq`` is still assigned by the host's supervisor, and every
   session file is still written by the host.

What only a remote run can do is reported as the local backend would: the remote memory watchdog
sends the same ``MemoryLimitExceeded`` error; a Dask worker lost mid-task (noticed from the
scheduler's ``remove-worker`` event, or from a restarted attempt) becomes a ``WorkerCrashed`` error
naming the worker, so the run ends and its session is suspended. A task is never run twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Mapping
from signal import SIGKILL, SIGTERM
from typing import Any, Final

from .._version import __version__
from ..config import TaskConfig
from ..events import Event, dumps, make_event
from .dask_clients import (
    SharedClient,
    close_clients,
    connect,
    resolve_scheduler,
    set_scheduler,
    track_cleanup,
)
from .dask_remote import drop_queues, forward
from .local import HIGH_WATER, LOW_WATER

__all__ = ["DaskBackend", "DaskWorker", "close_clients", "set_scheduler"]

#: Items (each up to a few thousand events) the events queue holds before the remote relay waits.
QUEUE_ITEMS: Final = 16
#: The remote relay ends its run when it hears nothing from the host for this long (a dead host).
HOST_TIMEOUT: Final = 30.0
#: After the remote relay said ``end``, its task has this long to finish before it is released.
FINISH_GRACE: Final = 10.0


class DaskBackend:
    """Starts workers on a Dask cluster (one Dask task per run, holding one worker thread)."""

    name = "dask"

    def __init__(
        self,
        scheduler_address: str,
        *,
        security: Any = None,
        env: Mapping[str, str] | None = None,
        memory_limit_mb: float | None = None,
        resources: Mapping[str, float] | None = None,
        host_timeout: float = HOST_TIMEOUT,
    ) -> None:
        self.scheduler_address, self.security = scheduler_address, security
        self.env = dict(env or {})
        self.memory_limit_mb = memory_limit_mb
        self.resources = dict(resources) if resources else None
        self.host_timeout = host_timeout

    @classmethod
    def from_config(cls, config: TaskConfig) -> DaskBackend:
        """The backend of one run (its keys were checked by TaskConfig). Raises ValueError (reported
        as a config error) before anything starts when no scheduler can be found.

        Uses ``scheduler_address``, ``env`` (sent to the remote worker: the host's own environment
        is not), ``memory_limit_mb`` (enforced remotely), ``dask_resources`` (Dask worker resources
        the run needs, e.g. ``{"cmbagent": 1}``) and ``dask_host_timeout`` (seconds).
        """
        address, security = resolve_scheduler(config.raw)
        return cls(
            address,
            security=security,
            env=config.env,
            memory_limit_mb=config.memory_limit_mb,
            resources=config.dask_resources,
            host_timeout=config.dask_host_timeout or HOST_TIMEOUT,
        )

    async def spawn(
        self,
        spec: Mapping[str, Any],
        *,
        python: str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> DaskWorker:
        """Submit the run; returns at once (the task may wait for a free Dask worker thread).

        Raises OSError when the scheduler cannot be reached (the supervisor reports it as a worker
        that could not start).
        """
        from distributed import Queue

        shared = await connect(self.scheduler_address, self.security)
        run_id = f"cmbjupyter-{spec.get('task_id', 'task')}-{uuid.uuid4().hex[:12]}"
        client = shared.client
        try:
            events, control = await asyncio.gather(
                Queue(f"{run_id}-events", client=client, maxsize=QUEUE_ITEMS),
                Queue(f"{run_id}-control", client=client),
            )
            shared.queues.update((events.name, control.name))
            await control.put(
                {
                    "op": "start",
                    "spec": dumps(spec),
                    # Only what the run itself needs travels: the host's own environment stays here.
                    "env": {
                        **self.env,
                        **{k: v for k, v in (env or {}).items() if k == "CMBJUPYTER_TASK_ID"},
                    },
                    "python": python,
                    "cwd": cwd,
                    "memory_limit_mb": self.memory_limit_mb,
                    "host_timeout": self.host_timeout,
                }
            )
            worker = DaskWorker(shared, run_id, events, control, heartbeat=min(5.0, self.host_timeout / 4))
            shared.on_lost[run_id] = worker._worker_lost  # before submitting: no loss can be missed
            future = client.submit(
                forward, events.name, control.name, key=run_id, pure=False, resources=self.resources
            )
        except BaseException as exc:
            shared.on_lost.pop(run_id, None)
            shared.release()
            if isinstance(exc, Exception) and not isinstance(exc, OSError):
                raise OSError(f"cannot submit the run to the Dask scheduler: {exc!r}") from exc
            raise
        worker._start(future)
        return worker


class DaskWorker:
    """One run on the cluster, as the supervisor sees it (see ``backends.WorkerHandle``)."""

    def __init__(
        self, shared: SharedClient, key: str, events: Any, control: Any, *, heartbeat: float
    ) -> None:
        self.key = key
        self.event_pipe_open = True
        self.event_pipe_closed = asyncio.Event()
        self.pipes_closed = asyncio.Event()
        #: What the remote relay said when the worker started (Dask worker, host, pid, version).
        self.started: dict[str, Any] | None = None
        self._shared, self._events, self._control = shared, events, control
        self._heartbeat = heartbeat
        self._future: Any = None
        self._returncode: int | None = None
        self._exited = asyncio.Event()
        self._batches: asyncio.Queue[list[Event] | None] = asyncio.Queue()
        self._queued = 0
        self._room = asyncio.Event()
        self._room.set()
        self._outbox: asyncio.Queue[tuple[dict[str, Any] | None, asyncio.Future[None] | None]] = (
            asyncio.Queue()
        )
        self._tasks: set[asyncio.Task[Any]] = set()
        self._over = False  # the stream has ended (no more batches)
        self._remote_ended = False  # the relay said "end": nobody is left to signal
        self._we_cancelled = False
        self._last_signal = SIGTERM

    # ------------------------------------------------------------------ WorkerHandle

    @property
    def returncode(self) -> int | None:
        return self._returncode

    async def batches(self) -> AsyncIterator[list[Event]]:
        while (batch := await self._batches.get()) is not None:
            self._queued -= len(batch)
            if self._queued <= LOW_WATER:
                self._room.set()
            yield batch

    async def send(self, message: Mapping[str, Any]) -> None:
        """Send a control message (human input) to the remote worker."""
        if self._over or self._remote_ended:
            raise BrokenPipeError("the worker's control channel is closed")
        done = asyncio.get_running_loop().create_future()
        self._outbox.put_nowait(({"op": "send", "message": dumps(message)}, done))
        await done

    def signal(self, signum: int) -> None:
        """Signal the remote worker's process group. A run that has not started yet is cancelled
        on the scheduler instead, so a stop never waits for a free Dask worker."""
        if self._remote_ended or self._over:
            return
        self._last_signal = signum
        self._outbox.put_nowait(({"op": "signal", "signum": int(signum)}, None))
        if self.started is None and not self._we_cancelled and self._future is not None:
            self._we_cancelled = True
            self._spawn_task(self._future.cancel(reason="cmbjupyter: the run was stopped before it started"))

    async def wait(self) -> int:
        await self._exited.wait()
        assert self._returncode is not None
        return self._returncode

    def pids(self) -> list[int]:
        """Nothing local to watch: the memory limit is enforced on the Dask worker."""
        return []

    def close_pipes(self) -> None:
        """Stop reading: the run is over for the host (the remote relay is told to stop too)."""
        if not self._over:
            self._outbox.put_nowait(({"op": "close"}, None))
            self._end(returncode=-self._last_signal)
            self._spawn_task(self._note({"note": "closed"}))

    # ------------------------------------------------------------------ the stream

    def _start(self, future: Any) -> None:
        self._future = future
        reader = self._spawn_task(self._read())
        self._sender = self._spawn_task(self._send_control())
        self._watcher = self._spawn_task(self._watch_future(future))
        reader.add_done_callback(lambda _: track_cleanup(self._spawn_task(self._cleanup())))

    def _spawn_task(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _read(self) -> None:
        """Take the relay's items (and the host's own notes) off the events queue, in order."""
        try:
            while not self._over:
                await self._room.wait()
                item = await self._events.get()
                if isinstance(item, str):
                    self._on_records(json.loads(item))
                elif isinstance(item, dict):
                    self._on_note(item)
        except Exception as exc:  # the scheduler went away
            self._end(error=_crash(f"lost the connection to the Dask scheduler: {exc!r}"))

    def _on_records(self, records: list[Any]) -> None:
        batch: list[Event] = []
        for record in records:
            if record.__class__ is dict:
                batch.append(record)
                continue
            if batch:
                self._push(batch)
                batch = []
            kind, value = record
            if kind == "closed":
                self._close_event_pipe()
            elif kind == "exit":
                self._set_returncode(value)
            elif kind == "started":
                self.started = value
                if value.get("version") != __version__:
                    message = (
                        f"the Dask worker {value.get('worker')} runs cmbjupyter {value.get('version')}, "
                        f"this host {__version__}: install the same version on both"
                    )
                    self._push([make_event("warning", {"message": message, "kind": "dask"})])
            elif kind == "spawn_error":
                self._push([make_event("error", _crash(f"could not start the worker: {value}"))])
            elif kind == "rerun":
                self._end(error=_lost(value, restarted=True))
            elif kind == "end":
                self._remote_ended = True
                self._end(returncode=127 if value is None else value)
        if batch:
            self._push(batch)

    def _on_note(self, note: dict[str, Any]) -> None:
        """A note the host put on its own events queue, after every item the relay had put."""
        if "lost" in note:
            self._end(error=_lost(note["lost"]))
        elif "failed" in note:
            self._end(error=_crash(note["failed"], traceback=note.get("traceback")))
        elif "cancelled" in note:
            error = None if self._we_cancelled else _crash("the Dask task of this run was cancelled")
            self._end(error=error, returncode=-self._last_signal)
        elif "done" in note:
            self._end(error=_crash("the Dask task of this run ended without reporting how the worker ended"))

    def _push(self, batch: list[Event]) -> None:
        if self._over:
            return
        self._batches.put_nowait(batch)
        self._queued += len(batch)
        if self._queued >= HIGH_WATER:
            self._room.clear()

    def _close_event_pipe(self) -> None:
        if self.event_pipe_open:
            self.event_pipe_open = False
            self.event_pipe_closed.set()

    def _set_returncode(self, returncode: int) -> None:
        if self._returncode is None:
            self._returncode = int(returncode)
            self._exited.set()

    def _end(self, *, error: dict[str, Any] | None = None, returncode: int = -SIGKILL) -> None:
        """The stream is over: an error if the host had to find out itself, then every pipe closes."""
        if self._over:
            return
        if error is not None:
            self._push([make_event("error", error)])
        self._over = True
        self._room.set()
        self._close_event_pipe()
        self._set_returncode(returncode)
        self.pipes_closed.set()
        self._batches.put_nowait(None)

    # ------------------------------------------------------------------ host-side watchers

    def _worker_lost(self, address: str) -> None:
        """The scheduler removed the Dask worker that was running this task."""
        if not self._over:
            self._spawn_task(self._note({"lost": address}))
            self._spawn_task(self._future.cancel(reason="cmbjupyter: its Dask worker was lost"))

    async def _note(self, note: dict[str, Any]) -> None:
        """Put a note on our own events queue: it is read after everything the relay put before it."""
        try:  # bounded: once the stream is over nobody reads, and no put may hang on the scheduler
            await self._events.put(note, timeout=FINISH_GRACE)
        except Exception:  # the queue is unreachable (or full and unread): end here
            self._end(error=_lost(None) if "lost" in note else None)

    async def _watch_future(self, future: Any) -> None:
        """When the Dask task ends, note how: read after the relay's last item, it tells whether the
        relay reported its end (then the note is moot) or died without a word."""
        from concurrent.futures import CancelledError

        note: dict[str, Any]
        try:
            await future
            note = {"done": True}
        except CancelledError:
            note = {"cancelled": True}
        except Exception as exc:
            import traceback

            note = {
                "failed": f"the Dask task of this run failed: {exc!r}",
                "traceback": "".join(traceback.format_exception(exc)),
            }
        if not self._over:
            await self._note(note)

    async def _send_control(self) -> None:
        """Deliver control operations in order; a heartbeat when there is nothing to say."""
        while True:
            try:
                op, done = await asyncio.wait_for(self._outbox.get(), self._heartbeat)
            except TimeoutError:
                op, done = {"op": "hb"}, None
            if op is None:
                return
            try:
                await self._control.put(op)
            except Exception as exc:
                if done is not None and not done.done():
                    done.set_exception(BrokenPipeError(f"the worker's control channel is closed: {exc}"))
                continue
            if done is not None and not done.done():
                done.set_result(None)

    async def _cleanup(self) -> None:
        """Release the Dask task and both queues once the stream is over."""
        future, shared = self._future, self._shared
        with contextlib.suppress(Exception):  # the relay finishes right after its "end"
            await asyncio.wait_for(asyncio.shield(self._watcher), FINISH_GRACE if self._remote_ended else 1.0)
        self._outbox.put_nowait((None, None))  # after the last signal/close: delivered in order
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(self._sender), FINISH_GRACE)
        shared.on_lost.pop(self.key, None)
        if not future.done():
            with contextlib.suppress(Exception):
                await future.cancel(reason="cmbjupyter: the run is over")
        future.release()
        names = [self._events.name, self._control.name]
        shared.queues.difference_update(names)
        try:
            await shared.client.run_on_scheduler(drop_queues, names)
        except Exception:  # cmbjupyter not importable on the scheduler: release our references
            for queue in (self._events, self._control):
                with contextlib.suppress(Exception):
                    queue.close()
        shared.release()


def _crash(message: str, **extra: Any) -> dict[str, Any]:
    """The data of an ``error`` event for a worker the host saw die (raised as WorkerCrashed)."""
    return {"message": message, "error_type": "WorkerCrashed", **{k: v for k, v in extra.items() if v}}


def _lost(address: str | None, *, restarted: bool = False) -> dict[str, Any]:
    where = f"the Dask worker {address}" if address and not restarted else "the Dask worker"
    message = (
        f"{where} running this task was lost mid-run (its process died or it left the cluster); "
        "the run stopped"
    )
    if restarted:
        message += f" (Dask restarted the task on {address}; cmbjupyter never runs a task twice)"
    return _crash(message)

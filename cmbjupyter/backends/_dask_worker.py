"""The host's handle of one run on a Dask cluster: a worker, as the supervisor sees any worker.

:class:`DaskWorker` reads the run's *events* queue (filled by :func:`._dask_remote.forward` on the
Dask worker) into ordered batches, with the same back-pressure as a local worker's pipes
(:data:`~.local.HIGH_WATER`/:data:`~.local.LOW_WATER`); sends control operations (signals, human
input, heartbeats) on the *control* queue; learns the remote ``returncode``; and turns a Dask worker
lost mid-run (or a task Dask restarted) into a ``WorkerCrashed`` error. When the run is over it
releases the task and the two queues on the scheduler.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from signal import SIGKILL, SIGTERM
from typing import Any, Final

from .._version import __version__
from ..events import Event, dumps, make_event
from ._dask_files import HostCopy
from ._dask_remote import drop_queues
from .dask_clients import SharedClient, track_cleanup
from .local import HIGH_WATER, LOW_WATER

__all__ = ["DaskWorker"]

#: After the remote relay said ``end``, its task has this long to finish before it is released.
FINISH_GRACE: Final = 10.0


class DaskWorker:
    """One run on the cluster, as the supervisor sees it (see ``backends.WorkerHandle``)."""

    def __init__(
        self,
        shared: SharedClient,
        key: str,
        events: Any,
        control: Any,
        *,
        heartbeat: float,
        files: HostCopy | None = None,
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
        #: The host's copy of the work dir of a run on another machine.
        self._files = files or HostCopy(".", key)

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
                if self._files.active:
                    self._files.event(record)
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
            elif kind == "artifact_file":
                self._files.write(value)  # before its artifact event is dispatched
            elif kind == "started":
                self.started = value
                self._files.started(value)
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

"""The remote half of the Dask backend: a Dask task that runs the worker and relays its events.

The task (:func:`forward`) runs in a thread of a Dask worker. It starts the ordinary worker
(``python -m cmbjupyter.worker``) with the local backend -- same pipes, same process group, same
stdout/stderr capture -- and relays what the local backend reads, in order, to the host:

* host <- here: one distributed ``Queue`` of JSON strings, each a list of records: an event (a dict),
  or ``[kind, value]`` for what the host cannot see from afar (``started``, ``closed`` when the
  event pipe closes, ``exit`` with the return code, ``spawn_error``, ``rerun``, and ``end`` last).
  The queue is bounded: a host that reads slowly stops this relay, which stops reading the pipes,
  which blocks the worker's writes -- the same back-pressure as the local backend.
* host -> here: a second ``Queue`` of control operations: the ``start`` ticket (the spec, first),
  ``signal``, ``send`` (human input), ``close``, and heartbeats.

A task crash must never take the Dask worker down, and a Dask worker that dies must not leave its
run behind: the worker's process group is watched by a tiny guard process that kills it when this
Dask worker's end of a pipe closes, i.e. when this process dies, however it dies. The memory limit
is enforced here, because only this machine can see the worker's processes. Nothing here ever
writes a session file: the host does that.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from typing import Any, Final

from .._version import __version__
from .._watch import reap, watch_memory
from ..events import dumps, make_event
from ._dask_files import RemoteFiles
from .local import LocalBackend, LocalWorker

__all__ = ["drop_queues", "forward"]


def drop_queues(names: list[str], dask_scheduler: Any = None) -> None:
    """Run on the scheduler: forget a finished run's queues whatever their reference counts.

    A Dask task that was cancelled, lost with its worker, or cut off from a dead host never
    releases its references, so counting releases alone would leave the queues there for good.
    """
    extension = dask_scheduler.extensions["queues"]
    for name in names:
        extension.queues.pop(name, None)
        extension.client_refcount.pop(name, None)


#: The most records sent in one Queue item (so one item stays a few MB at most).
ITEM_RECORDS: Final = 4096
#: Events waiting to be sent before the pipes stop being read.
PENDING_LIMIT: Final = 8192
#: A blocked put is retried after this many seconds (checking in between that the host is alive).
PUT_RETRY: Final = 1.0
#: The SIGTERM-to-SIGKILL grace of a worker over its memory limit (reaping and measuring: _watch.py).
MEMORY_KILL_GRACE: Final = 3.0

#: The guard: waits on a pipe from this process; end of file without a byte means this process
#: died without saying goodbye, so the worker's process group is killed.
GUARD: Final = (
    "import os, sys\n"
    "if not sys.stdin.buffer.read(1):\n"
    "    try:\n"
    "        os.killpg(int(sys.argv[1]), 9)\n"
    "    except OSError:\n"
    "        pass\n"
)


def forward(events_name: str, control_name: str) -> dict[str, Any]:
    """The Dask task: run one worker, relay its events; returns ``{"returncode", "worker"}``.

    Only the first attempt runs the worker: the ``start`` ticket is taken from the control queue
    atomically by the scheduler. If Dask restarts this task after losing a worker (it would), the
    new attempt finds no ticket, tells the host and returns: a run is never silently started twice.
    """
    from distributed import Queue, get_client, get_worker

    address = get_worker().address
    events, control = Queue(events_name), Queue(control_name)
    relay: _Relay | None = None
    try:
        waiting = control.get(batch=True)
        if not waiting or waiting[0].get("op") != "start":
            with contextlib.suppress(Exception):
                events.put(dumps([["rerun", address]]), timeout=PUT_RETRY)
            return {"returncode": None, "worker": address, "rerun": True}
        relay = _Relay(events, control, waiting[0], address)
        returncode = asyncio.run(relay.run(waiting[1:]))
        return {"returncode": returncode, "worker": address}
    finally:
        if relay is not None and relay.abandoned:  # the host is gone: nobody else will drop them
            with contextlib.suppress(Exception):
                get_client().run_on_scheduler(drop_queues, [events_name, control_name])
        for queue in (events, control):
            with contextlib.suppress(Exception):
                queue.close()


class _Relay:
    """One run on this Dask worker: the worker subprocess, its guard, and both queues."""

    def __init__(self, events: Any, control: Any, ticket: dict[str, Any], address: str) -> None:
        self.events, self.control, self.ticket, self.address = events, control, ticket, address
        self.host_timeout = float(ticket.get("host_timeout") or 30.0)
        self.worker: LocalWorker | None = None
        self.records: list[Any] = []
        self.pending_events = 0
        self.memory_error: dict[str, Any] | None = None
        self.abandoned: str | None = None  # why the host is presumed gone
        self.early_signal: int | None = None  # a stop that arrived before the worker started
        self.done = False
        #: Small files of a run the host cannot read come back with its events.
        self.files = RemoteFiles(address, ticket.get("host"), ticket.get("artifact_transfer_max_bytes"))

    # ------------------------------------------------------------------ the run

    async def run(self, early_ops: list[dict[str, Any]]) -> int | None:
        self.wake = asyncio.Event()
        self.room = asyncio.Event()
        for op in early_ops:
            await self.apply(op)
        sender = asyncio.create_task(self.send_records())
        control = asyncio.create_task(self.read_control())
        guard: subprocess.Popen[bytes] | None = None
        returncode: int | None = None
        try:
            if self.early_signal is not None:  # stopped before it started: nothing to start
                returncode = -self.early_signal
                self.record(["exit", returncode])
            elif await self.spawn():
                assert self.worker is not None
                guard = _start_guard(self.worker.pid)
                if self.early_signal is not None:  # a stop that arrived while the worker started
                    self.worker.signal(self.early_signal)
                returncode = await self.relay(self.worker)
        finally:
            if self.worker is not None:
                self.worker.signal(signal.SIGKILL)  # nothing of the group outlives its run
                self.worker.close_pipes()
            if guard is not None:
                _release_guard(guard)
            self.record(["end", returncode])
            self.done = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(sender, None if self.abandoned is None else 0.1)
            control.cancel()
            with contextlib.suppress(Exception):  # unblocks our own pending control read
                await asyncio.to_thread(self.control.put, {"op": "wake"}, timeout=PUT_RETRY)
        return returncode

    async def spawn(self) -> bool:
        ticket = self.ticket
        env = {**os.environ, **(ticket.get("env") or {})}
        cwd = ticket.get("cwd")
        try:
            if cwd:
                os.makedirs(cwd, exist_ok=True)
            self.worker = await LocalBackend().spawn(
                json.loads(ticket["spec"]), python=ticket.get("python"), env=env, cwd=cwd
            )
        except OSError as exc:
            self.record(["spawn_error", f"{exc} (on the Dask worker {self.address})"])
            return False
        self.record(
            [
                "started",
                {
                    "worker": self.address,
                    "host": socket.gethostname(),
                    "pid": self.worker.pid,
                    "version": __version__,
                },
            ]
        )
        return True

    async def relay(self, worker: LocalWorker) -> int | None:
        """Relay the worker's stream until its pipes close and it has exited; its return code."""
        reaper = asyncio.create_task(reap(worker, lambda code: self.record(["exit", code])))
        limit = self.ticket.get("memory_limit_mb")
        watchdog = asyncio.create_task(self.watch_memory(worker, float(limit))) if limit else None
        try:
            async for item in worker.items():
                if item.__class__ is list:
                    self.record_events(self.files.records(item))  # type: ignore[arg-type]
                elif item == "events":
                    if self.memory_error is not None:  # last, so that nothing overrides it
                        self.record_events([make_event("error", self.memory_error)])
                    self.record(["closed", "events"])
                while self.pending_events >= PENDING_LIMIT and self.abandoned is None:
                    self.room.clear()
                    await self.room.wait()
            await reaper
        finally:
            reaper.cancel()
            if watchdog is not None:
                watchdog.cancel()
        return worker.returncode

    async def watch_memory(self, worker: LocalWorker, limit_mb: float) -> None:
        """Stop the worker when its process tree uses more than ``limit_mb`` (as the host does locally)."""
        message = await watch_memory(worker, limit_mb)
        self.memory_error = {"message": message, "error_type": "MemoryLimitExceeded"}
        worker.signal(signal.SIGTERM)
        asyncio.get_running_loop().call_later(MEMORY_KILL_GRACE, _kill_if_running, worker)

    # ------------------------------------------------------------------ to the host

    def record(self, record: Any) -> None:
        self.records.append(record)
        self.wake.set()

    def record_events(self, batch: list[Any]) -> None:
        """Events (and the ``artifact_file`` records among them, not counted as events)."""
        self.records.extend(batch)
        self.pending_events += sum(r.__class__ is dict for r in batch)
        self.wake.set()

    async def send_records(self) -> None:
        """Put the pending records on the events queue, as many per item as have piled up."""
        while True:
            await self.wake.wait()
            self.wake.clear()
            while self.records:
                chunk = self.records[:ITEM_RECORDS]
                del self.records[:ITEM_RECORDS]
                self.pending_events -= sum(r.__class__ is dict for r in chunk)
                self.room.set()
                if not await self.put(dumps(chunk)):
                    return
            if self.done:
                return

    async def put(self, text: str) -> bool:
        while self.abandoned is None:
            try:
                await asyncio.to_thread(self.events.put, text, timeout=PUT_RETRY)
                return True
            except TimeoutError:
                continue  # the host reads slowly; read_control notices if it is gone
            except Exception as exc:  # the queue was released or the scheduler is gone
                self.abandon(f"cannot reach the host: {exc!r}")
        return False

    # ------------------------------------------------------------------ from the host

    async def read_control(self) -> None:
        while True:
            try:
                op = await asyncio.to_thread(self.control.get, timeout=self.host_timeout)
            except TimeoutError:
                self.abandon(f"no word from the host for {self.host_timeout:g} s")
                return
            except Exception as exc:
                self.abandon(f"cannot reach the host: {exc!r}")
                return
            await self.apply(op)

    async def apply(self, op: dict[str, Any]) -> None:
        kind, worker = op.get("op"), self.worker
        if kind == "signal":
            if worker is None:
                self.early_signal = int(op["signum"])
            else:
                worker.signal(int(op["signum"]))
        elif kind == "send" and worker is not None:
            with contextlib.suppress(OSError):  # the worker is gone; its exit is reported anyway
                await worker.send(json.loads(op["message"]))
        elif kind == "close" and worker is not None:
            worker.close_pipes()

    def abandon(self, reason: str) -> None:
        """The host is gone: end the run here, nobody is left to watch it."""
        if self.abandoned is None:
            self.abandoned = reason
            self.early_signal = signal.SIGKILL
            if self.worker is not None:
                self.worker.signal(signal.SIGKILL)
                self.worker.close_pipes()
            self.room.set()
            self.wake.set()


def _kill_if_running(worker: LocalWorker) -> None:
    if worker.returncode is None:  # never a group whose leader is gone: its id may be reused
        worker.signal(signal.SIGKILL)


def _start_guard(pgid: int | None) -> subprocess.Popen[bytes] | None:
    """A process, outside the worker's group, that kills the group if this Dask worker dies."""
    if pgid is None:
        return None
    return subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", GUARD, str(pgid)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _release_guard(guard: subprocess.Popen[bytes]) -> None:
    """The run ended here, in order: the guard leaves without killing anything."""
    with contextlib.suppress(OSError):
        assert guard.stdin is not None
        guard.stdin.write(b"x")
        guard.stdin.close()
    with contextlib.suppress(subprocess.TimeoutExpired):
        guard.wait(5)

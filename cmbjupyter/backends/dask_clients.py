"""Which Dask scheduler the ``dask`` backend uses, and the one client per event loop that talks to it.

A run's config stays JSON (it is sent to the worker and saved in the session sidecar for resume), so
it names a scheduler by address, never by a live object::

    config = {"backend": "dask", "scheduler_address": "tcp://scheduler:8786"}

Without ``scheduler_address``, the backend uses, in this order: what :func:`set_scheduler` registered
(a ``distributed.Client``, a cluster object such as dask-jobqueue's ``SLURMCluster`` or dask-kubernetes'
``KubeCluster``, or an address), the process's default ``distributed`` client (the last ``Client(...)``
created in the notebook), then dask's ``scheduler-address`` setting (``$DASK_SCHEDULER_ADDRESS``).

The backend never uses the user's client object itself: it opens its own asynchronous client on the
event loop that runs the executor (same address, same TLS security), shared by the runs on that loop
and closed a minute after the last of them. So it never touches the user's event handlers or
futures, and works whatever thread or loop the user's client lives on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, Final

__all__ = [
    "SharedClient",
    "close_clients",
    "connect",
    "resolve_scheduler",
    "set_scheduler",
    "track_cleanup",
]

#: An idle shared client is closed after this many seconds (the next run opens a new one).
LINGER: Final = 60.0

_registered: tuple[str, Any] | None = None
_shared: dict[tuple[asyncio.AbstractEventLoop, str], asyncio.Task[SharedClient]] = {}


def _address_of(target: Any) -> tuple[str, Any]:
    """``(address, security)`` of a Client, a Cluster or an address string."""
    if isinstance(target, str):
        return target, None
    scheduler = getattr(target, "scheduler", None)
    address = getattr(target, "scheduler_address", None) or getattr(scheduler, "address", None)
    if not isinstance(address, str) or not address:
        raise TypeError(f"expected a distributed Client, a Dask cluster or an address, not {target!r}")
    return address, getattr(target, "security", None)


def set_scheduler(target: Any) -> None:
    """Use ``target`` (a ``distributed.Client``, a Dask cluster object, or an address) for every run
    with ``backend="dask"`` and no ``scheduler_address``; ``None`` forgets it."""
    global _registered
    _registered = None if target is None else _address_of(target)


def resolve_scheduler(config: dict[str, Any]) -> tuple[str, Any]:
    """``(address, security)`` for a run's config; ValueError (a config error) when there is none."""
    address = config.get("scheduler_address")
    if address is not None:
        if not isinstance(address, str) or not address.strip():
            raise ValueError(
                f"config['scheduler_address'] must be an address like 'tcp://host:8786', not {address!r}"
            )
        return address, None
    if _registered is not None:
        return _registered
    import dask
    from distributed import default_client

    with contextlib.suppress(ValueError):
        return _address_of(default_client())
    address = dask.config.get("scheduler-address", None) or dask.config.get("scheduler_address", None)
    if address:
        return str(address), None
    raise ValueError(
        "backend 'dask' needs a scheduler: set config['scheduler_address'] (e.g. 'tcp://host:8786'), "
        "call cmbjupyter.backends.dask.set_scheduler(client_or_cluster), or create a distributed.Client"
    )


class SharedClient:
    """An asynchronous ``distributed.Client`` on one event loop, shared by the runs on that loop.

    It subscribes to the scheduler's cluster events before any run is submitted, so that a worker
    lost mid-task is always noticed: the scheduler names the tasks that worker was running.
    """

    def __init__(self, client: Any, key: tuple[asyncio.AbstractEventLoop, str]) -> None:
        self.client = client
        self.key = key
        self.users = 0
        #: Task key -> callback(worker address) of the run waiting on that key.
        self.on_lost: dict[str, Callable[[str], None]] = {}
        #: Queues of this client's runs not yet dropped on the scheduler (dropped at the latest on close).
        self.queues: set[str] = set()
        self._linger: asyncio.TimerHandle | None = None
        client.subscribe_topic("all", self._on_cluster_event)

    def _on_cluster_event(self, event: Any) -> None:
        _, message = event
        if not isinstance(message, dict) or message.get("action") != "remove-worker":
            return
        for key in message.get("processing-tasks") or ():
            callback = self.on_lost.get(key)
            if callback is not None:
                callback(str(message.get("worker")))

    def acquire(self) -> None:
        self.users += 1
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None

    def release(self) -> None:
        self.users -= 1
        if self.users <= 0 and self._linger is None:
            self._linger = asyncio.get_running_loop().call_later(
                LINGER, lambda: asyncio.ensure_future(self.close())
            )

    async def close(self) -> None:
        if _shared.get(self.key) is not None and self.users <= 0:
            _shared.pop(self.key, None)
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None
        if self.queues:  # runs whose own cleanup never ran (e.g. their coroutine was cancelled)
            from ._dask_remote import drop_queues

            with contextlib.suppress(Exception):
                await self.client.run_on_scheduler(drop_queues, sorted(self.queues))
            self.queues.clear()
        with contextlib.suppress(Exception):
            # Unsubscribed first: else the scheduler tells us, on a closed comm, that we left.
            self.client.unsubscribe_topic("all")
            await self.client.close()


async def connect(address: str, security: Any = None) -> SharedClient:
    """The shared client of the running loop for ``address`` (opened on first use); acquired for
    the caller, who must :meth:`~SharedClient.release` it. Raises OSError if the scheduler is away."""
    loop = asyncio.get_running_loop()
    key = (loop, address)
    task = _shared.get(key)
    if task is None or (task.done() and not _usable(task)):
        task = _shared[key] = asyncio.ensure_future(_open(address, security, key))
    try:
        shared = await asyncio.shield(task)
    except BaseException:
        if _shared.get(key) is task and task.done():
            _shared.pop(key, None)
        raise
    shared.acquire()
    return shared


def _usable(task: asyncio.Task[SharedClient]) -> bool:
    return not task.cancelled() and task.exception() is None and task.result().client.status == "running"


async def _open(address: str, security: Any, key: tuple[asyncio.AbstractEventLoop, str]) -> SharedClient:
    from distributed import Client

    options: dict[str, Any] = {"asynchronous": True, "set_as_default": False}
    if security is not None:
        options["security"] = security
    try:
        client = await Client(address, **options)
    except (OSError, TimeoutError) as exc:
        raise OSError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
    return SharedClient(client, key)


#: Runs still releasing their Dask task and queues: closing a client first would drop the releases.
_cleanups: set[asyncio.Task[Any]] = set()


def track_cleanup(task: asyncio.Task[Any]) -> None:
    """Let :func:`close_clients` wait for ``task`` (a run's release of its scheduler resources)."""
    _cleanups.add(task)
    task.add_done_callback(_cleanups.discard)


async def close_clients(timeout: float = 30.0) -> None:  # noqa: ASYNC109 - a bound on the wait
    """Close the shared clients of the running loop now (at shutdown, or between tests).

    Runs still releasing their queues and task on the scheduler are waited for first (up to
    ``timeout`` seconds), so nothing of theirs is left behind on a long-lived cluster.
    """
    loop = asyncio.get_running_loop()
    pending = [task for task in _cleanups if task.get_loop() is loop and not task.done()]
    if pending:
        await asyncio.wait(pending, timeout=timeout)
    for key, task in list(_shared.items()):
        if key[0] is loop:
            _shared.pop(key, None)
            if task.done() and not task.cancelled() and task.exception() is None:
                shared = task.result()
                shared.users = 0
                await shared.close()

"""The Dask backend: the worker runs on a dask.distributed cluster; its events stream back in order.

``config["backend"] = "dask"`` (scheduler: ``config["scheduler_address"]``, or see
:mod:`.dask_clients`). For each run the host

1. creates two distributed ``Queue`` objects on the scheduler: *events* (bounded, worker -> host) and
   *control* (host -> worker), and puts the ``start`` ticket (spec, environment, limits) on *control*;
2. submits :func:`._dask_remote.forward` (``pure=False``), which runs the very same worker
   (``python -m cmbjupyter.worker``) as a subprocess of the Dask worker through the local backend,
   and relays its events and exit status back on *events*;
3. hands the supervisor a :class:`~._dask_worker.DaskWorker`, which behaves like a local worker:
   ordered batches, ``returncode`` (the real one: ``-11`` for a segfault), ``signal()`` reaching the
   remote process group, ``send()`` for human input. ``seq`` is still assigned by the host's
   supervisor, and every session file is still written by the host.

What only a remote run can do is reported as the local backend would: the remote memory watchdog
sends the same ``MemoryLimitExceeded`` error; a Dask worker lost mid-task (noticed from the
scheduler's ``remove-worker`` event, or from a restarted attempt) becomes a ``WorkerCrashed`` error
naming the worker, so the run ends and its session is suspended. A task is never run twice. The
files a run on another machine makes come back to the host when small (``_dask_files.py``).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Mapping
from typing import Any, Final

from ..config import TaskConfig
from ..events import dumps
from ._dask_files import HostCopy, host_name
from ._dask_remote import forward
from ._dask_worker import DaskWorker
from .dask_clients import (
    close_clients,
    connect,
    resolve_scheduler,
    set_scheduler,
)

__all__ = ["DaskBackend", "DaskWorker", "close_clients", "set_scheduler"]

#: Items (each up to a few thousand events) the events queue holds before the remote relay waits.
QUEUE_ITEMS: Final = 16
#: The remote relay ends its run when it hears nothing from the host for this long (a dead host).
HOST_TIMEOUT: Final = 30.0


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
        artifact_transfer_max_bytes: int | None = None,
    ) -> None:
        self.scheduler_address, self.security = scheduler_address, security
        self.env = dict(env or {})
        self.memory_limit_mb = memory_limit_mb
        self.resources = dict(resources) if resources else None
        self.host_timeout = host_timeout
        self.artifact_transfer_max_bytes = artifact_transfer_max_bytes

    @classmethod
    def from_config(cls, config: TaskConfig) -> DaskBackend:
        """The backend of one run (its keys were checked by TaskConfig). Raises ValueError (reported
        as a config error) before anything starts when no scheduler can be found.

        Uses ``scheduler_address``, ``env`` (sent to the remote worker: the host's own environment
        is not), ``memory_limit_mb`` (enforced remotely), ``dask_resources`` (Dask worker resources
        the run needs, e.g. ``{"cmbagent": 1}``), ``dask_host_timeout`` (seconds) and
        ``artifact_transfer_max_bytes`` (the largest file of a run on another machine that comes back
        to the host's ``dask_output/<run>/`` copy of its work dir; default 5 MB).
        """
        address, security = resolve_scheduler(config.raw)
        return cls(
            address,
            security=security,
            env=config.env,
            memory_limit_mb=config.memory_limit_mb,
            resources=config.dask_resources,
            host_timeout=config.dask_host_timeout or HOST_TIMEOUT,
            artifact_transfer_max_bytes=config.artifact_transfer_max_bytes,
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
                    # A run on another machine sends its small files back (backends/_dask_files.py).
                    "host": host_name(),
                    "artifact_transfer_max_bytes": self.artifact_transfer_max_bytes,
                }
            )
            worker = DaskWorker(
                shared,
                run_id,
                events,
                control,
                heartbeat=min(5.0, self.host_timeout / 4),
                files=HostCopy(os.getcwd(), run_id),
            )
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

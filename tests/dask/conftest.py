"""Fixtures of the Dask suite: one real LocalCluster per test module (2 worker processes, 1 thread
each), and the core suite's fixtures with an ``executor`` whose runs go to the backend under test.

Tests written for the core suite run here unchanged: the executor below adds
``{"backend": "dask", "scheduler_address": ...}`` to every config it is given.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

pytest.importorskip("distributed")

from cmbjupyter import IsolatedTaskExecutor
from cmbjupyter.backends.dask import close_clients
from tests.core.conftest import collected, run_python, sessions  # noqa: F401 - pytest fixtures


@pytest.fixture(scope="module", autouse=True)
def cluster():
    """Started before any function fixture, so leak checks count its processes as already there."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
    ) as cluster:
        yield cluster


def _leftovers(scheduler: Any) -> list[str]:
    """Queues and tasks of cmbjupyter runs still on the scheduler (read from the cluster's thread)."""
    for _ in range(10):
        try:
            names = [*scheduler.extensions["queues"].queues, *map(str, scheduler.tasks)]
            return [name for name in names if name.startswith("cmbjupyter-")]
        except RuntimeError:  # changed size while read
            continue
    return []


@pytest.fixture(autouse=True)
def nothing_left_on_the_scheduler(cluster):
    """Every run, however it ended, releases its Dask task and both queues."""
    yield
    deadline = time.monotonic() + 15
    while (left := _leftovers(cluster.scheduler)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left, f"left on the scheduler: {left} {cluster.scheduler.extensions['queues'].client_refcount}"


@pytest.fixture(params=["local", "dask"])
def backend(request) -> str:
    return request.param


class BackendExecutor(IsolatedTaskExecutor):
    """An executor whose every run gets ``defaults`` under its own config keys."""

    def __init__(self, defaults: dict[str, Any], **options: Any) -> None:
        super().__init__(**options)
        self.defaults = defaults

    def prepare(self, task_id, task, config=None, output_callback=None):  # type: ignore[override]
        return super().prepare(task_id, task, {**self.defaults, **(config or {})}, output_callback)


def backend_config(backend: str, cluster: Any) -> dict[str, Any]:
    return {"backend": "dask", "scheduler_address": cluster.scheduler_address} if backend == "dask" else {}


@pytest.fixture
async def executor(sessions, backend, cluster):  # noqa: F811 - the fixture
    yield BackendExecutor(backend_config(backend, cluster), session_manager=sessions, cancel_grace=1.0)
    await close_clients()

"""The server's warm workers: started with the extension, listed with their memory in ``GET
status``, taken by a matching task (and replaced), ended on shutdown.

pytest-jupyter does not run the server's post-start hook; each test starts the extensions itself
(``start_all_extensions``, what ``ServerApp._post_start`` does), inside the test.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from cmbjupyter.backends.warm import uninstall
from tests.processes import alive

#: Generous bound for a condition on a loaded 2-core machine.
WAIT = 60.0


@pytest.fixture
def cmb_config() -> dict[str, Any]:
    return {"warm_engines": ["python"], "warm_pool_size": 1}


@pytest.fixture(autouse=True)
async def no_pool_left():
    yield
    await uninstall()


@pytest.fixture
def extension(jp_serverapp):
    return jp_serverapp.extension_manager.extension_points["cmbjupyter"].app


async def warm_rows(api) -> list[dict[str, Any]]:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        rows = [r for r in (await api.get("status"))["warm_workers"] if r["state"] == "ready"]
        if rows:
            return rows
        await asyncio.sleep(0.1)
    pytest.fail("no warm worker is listed as ready")


async def test_status_lists_the_warm_workers_with_their_memory(jp_serverapp, extension, api):
    assert (await api.get("status"))["warm_workers"] == []  # not started before the server is
    await jp_serverapp.extension_manager.start_all_extensions()
    (row,) = await warm_rows(api)
    assert row["engine"] == "python" and alive(row["pid"])
    assert row["rss_mb"] > 1


async def test_a_task_takes_the_warm_worker_and_shutdown_ends_the_replacement(jp_serverapp, extension, api):
    await jp_serverapp.extension_manager.start_all_extensions()
    (row,) = await warm_rows(api)
    created = await api.submit("import os\nresult = os.getpid()\n")
    await api.wait(created["task_id"])
    snapshot = await api.get("tasks", created["task_id"])
    assert snapshot["result"]["result"] == row["pid"]
    deadline = time.monotonic() + WAIT
    while (rows := await warm_rows(api)) and rows[0]["pid"] == row["pid"]:
        assert time.monotonic() < deadline, "the used warm worker was not replaced"
        await asyncio.sleep(0.1)
    await extension.stop_extension()
    deadline = time.monotonic() + WAIT
    while alive(rows[0]["pid"]):
        assert time.monotonic() < deadline, "the warm worker outlived the server's shutdown"
        await asyncio.sleep(0.05)
    assert (await api.get("status"))["warm_workers"] == []


@pytest.mark.parametrize("cmb_config", [{"warm_engines": ["python"], "warm_pool": False}])
async def test_the_pool_can_be_switched_off(jp_serverapp, api, cmb_config):
    await jp_serverapp.extension_manager.start_all_extensions()
    created = await api.submit("result = 1\n")
    await api.wait(created["task_id"])
    assert (await api.get("status"))["warm_workers"] == []

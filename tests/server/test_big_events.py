"""Big events in server mode: a 12 MB result and a 12 MB output line reach the kernel-side client
whole (over tornado's 10 MiB default message cap); what is over the event limit is cut at its source
with a marker; and a message over the client's own limit is reported as such, not as a lost server."""

from __future__ import annotations

import asyncio

import pytest

from cmbjupyter.errors import MessageTooBig, TaskFailed
from cmbjupyter.events import MAX_EVENT_BYTES
from cmbjupyter.remote.client import ServerClient, update_state
from cmbjupyter.remote.runs import follow
from cmbjupyter.state import RunState
from tests.server.test_client import server_client  # noqa: F401 - pytest fixture

MB = 1_000_000
BIG = f"""
emit.output("o" * {12 * MB})
result = "r" * {12 * MB}
"""
HUGE = f"""
emit.output("o" * {MAX_EVENT_BYTES + MB})
print("p" * {MAX_EVENT_BYTES + MB})
result = "r" * {MAX_EVENT_BYTES + MB}
"""


async def _follow(client: ServerClient, source: str) -> tuple[RunState, list[dict]]:
    submission = await asyncio.to_thread(client.submit, source, {"engine": "python"})
    state, messages = RunState(), []
    async for message in client.events(submission.task_id):
        messages.append(message)
        update_state(state, message)
    return state, messages


async def test_a_12_mb_result_and_output_line_reach_the_client_whole(server_client):  # noqa: F811
    state, messages = await _follow(server_client, BIG)
    assert state.status == "completed"
    assert len(state.result["result"]) == 12 * MB
    [line] = [
        m["data"]["message"] for m in messages if m["type"] == "output" and m["data"]["stream"] == "agent"
    ]
    assert len(line) == 12 * MB


async def test_events_over_the_limit_are_cut_at_the_source_with_a_marker(server_client):  # noqa: F811
    state, messages = await _follow(server_client, HUGE)
    assert state.status == "completed"
    outputs = [m["data"]["message"] for m in messages if m["type"] == "output"]
    texts = [state.result["result"], *[o for o in outputs if o[:1] in "op"]]
    assert len(texts) == 3
    for text in texts:
        assert len(text.encode()) < MAX_EVENT_BYTES
        assert "more characters cut: the event was" in text[-200:]


async def test_a_message_over_the_clients_limit_is_reported_as_such(server_client):  # noqa: F811
    small = ServerClient(server_client.url, server_client.token, max_message_bytes=MB)
    source = f'ask("go on?")\nemit.output("o" * {2 * MB})\nresult = "done"'
    submission = await asyncio.to_thread(small.submit, source, {"engine": "python"})
    run = await asyncio.to_thread(follow, small, submission)  # following before the big event exists
    deadline = asyncio.get_running_loop().time() + 60
    while run.state.input_request is None:
        assert asyncio.get_running_loop().time() < deadline, run.status
        await asyncio.sleep(0.05)
    await asyncio.to_thread(small.send_input, run.task_id, run.state.input_request["request_id"], "yes")
    with pytest.raises(TaskFailed, match=f"over this client's limit of {MB} bytes") as raised:
        await asyncio.to_thread(run.wait, 60)
    assert raised.value.error_type == MessageTooBig.__name__
    assert "lost the Jupyter server" not in str(raised.value)
    snapshot = await asyncio.to_thread(small.task, run.task_id)
    while snapshot["status"] != "completed":  # the server, and the task, are fine
        await asyncio.sleep(0.05)
        snapshot = await asyncio.to_thread(small.task, run.task_id)

"""mode="hitl": cmbagent's human_in_the_loop, where the human's turns are input requests answered from
the notebook (here: the test, through the executor's input channel), never the worker's stdin."""

from __future__ import annotations

import asyncio

import pytest

from cmbjupyter import IsolatedTaskExecutor, SessionManager


@pytest.fixture
def executor(tmp_path):
    return IsolatedTaskExecutor(session_manager=SessionManager(tmp_path / "sessions"))


async def test_a_hitl_chat_asks_the_notebook_for_the_human_turn(seed_engine_env, executor):
    events: list[tuple[str, dict]] = []
    answers = iter(["Now print 3 + 3 too.", "exit"])

    async def callback(event_type, data):
        events.append((event_type, data))
        if event_type == "input_request":
            asyncio.get_running_loop().call_soon(
                lambda: asyncio.ensure_future(executor.send_input("hitl", data["request_id"], next(answers)))
            )

    result = await asyncio.wait_for(
        executor.execute(
            "hitl",
            "Compute 2 + 2 in Python.",
            {"engine": "cmbagent", "mode": "hitl", "session_id": "hitl", "max_rounds": 20},
            output_callback=callback,
        ),
        300,
    )
    requests = [d for k, d in events if k == "input_request"]
    assert requests and "exit" in requests[0]["prompt"], "cmbagent's own human prompt, over the channel"
    answered = [d for k, d in events if k == "input_response"]
    assert answered[0]["request_id"] == requests[0]["request_id"]
    said = [d["content"] for k, d in events if k == "message" and d.get("agent") == "admin"]
    assert "Now print 3 + 3 too." in said, "the answer is the human agent's message in the chat"
    assert any("Now print 3 + 3 too." in str(r["messages"]) for r in seed_engine_env.requests)
    assert events[-1] == ("complete", {"status": "success"})
    assert result["context"]["main_task"] == "Compute 2 + 2 in Python."
    record = executor.session_manager.load_session("hitl")
    assert record["status"] == "completed"

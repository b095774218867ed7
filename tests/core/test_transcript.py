"""The transcript: each Emitter method of the python engine becomes one structured event and one item
of the run's bounded transcript, in the snapshot, the sidecar and after a restore."""

from __future__ import annotations

import json

import pytest

from cmbjupyter import TaskFailed
from cmbjupyter.events import make_event
from cmbjupyter.state import RunState

EVERY_METHOD = """
phase("execution")
step(1)
emit.speaker("engineer")
emit.message("# Plan\\nI will **compute** it.", agent="engineer", recipient="executor")
emit.tool_call("call-1", "record_status", {"current_status": "in progress"}, agent="control")
emit.tool_result("call-1", "recorded", agent="control")
emit.code_execution("python", "print(2 + 2)", exit_code=0, output="4\\n", duration_s=0.25, agent="executor")
emit.message("plain words", agent="admin", role="user", content_type="text")
emit.tool_result("call-2", "no such file", is_error=True)
emit.termination("TERMINATE received")
"""

KINDS = [
    "speaker",
    "message",
    "tool_call",
    "tool_result",
    "code_execution",
    "message",
    "tool_result",
    "termination",
]


async def test_each_emitter_method_is_one_numbered_event_and_one_transcript_item(
    run_python, collected, sessions
):
    await run_python(EVERY_METHOD, session_id="said", mode="planning-control")
    said = [e for e in collected.events if e["type"] in set(KINDS)]
    assert [e["type"] for e in said] == KINDS
    assert [e["data"]["message_id"] for e in said] == list(range(1, 9)), "numbered in order, per run"
    for event in said:  # where the run was when each was said
        assert event["data"]["step"] == 1 and event["data"]["node_id"] == "execution"
    message = said[1]["data"]
    assert message == message | {
        "agent": "engineer",
        "role": "assistant",
        "content": "# Plan\nI will **compute** it.",
        "content_type": "markdown",
        "recipient": "executor",
    }
    assert said[2]["data"]["arguments"] == {"current_status": "in progress"}
    assert said[3]["data"] == said[3]["data"] | {
        "call_id": "call-1",
        "content": "recorded",
        "is_error": False,
    }
    execution = said[4]["data"]
    assert execution == execution | {"language": "python", "code": "print(2 + 2)", "exit_code": 0}
    assert execution | {"output": "4\n", "duration_s": 0.25, "agent": "executor"} == execution
    assert said[5]["data"]["content_type"] == "text" and said[5]["data"]["role"] == "user"
    assert said[6]["data"]["is_error"] is True and said[6]["data"]["agent"] is None
    assert said[7]["data"]["reason"] == "TERMINATE received"

    transcript = sessions.load_session("said")["transcript"]
    assert [i["kind"] for i in transcript["items"]] == KINDS
    assert [i["id"] for i in transcript["items"]] == list(range(1, 9))
    assert transcript["items"][4]["seq"] == said[4]["seq"] and transcript["items"][4]["output"] == "4\n"
    assert transcript["count"] == 8 and transcript["dropped"] == 0
    assert transcript["by_kind"] == {
        "speaker": 1,
        "message": 2,
        "tool_call": 1,
        "tool_result": 2,
        "code_execution": 1,
        "termination": 1,
    }
    assert transcript["by_agent"] == {"engineer": 2, "control": 2, "executor": 1, "admin": 1, "unknown": 2}


@pytest.mark.parametrize(
    ("call", "problem"),
    [
        ("emit.message('hi', content_type='html')", "content_type must be one of markdown, text"),
        ("emit.message('hi', agent=3)", "agent must be a string or None"),
        ("emit.tool_call('c', None, {})", "name must be the tool's name"),
        ("emit.code_execution('python', 'x')", "exit_code"),
        ("emit.code_execution('python', 'x', exit_code='0')", "'exit_code' must be an integer"),
        ("emit.speaker(None)", "agent must be a string"),
        ("emit.code_execution('python', 'x', exit_code=0, duration_s='1s')", "duration_s must be a number"),
    ],
)
async def test_a_bad_emitter_call_fails_the_task_naming_the_problem(run_python, call, problem):
    with pytest.raises(TaskFailed, match=problem):
        await run_python(call)


async def test_library_warnings_go_to_the_warnings_stream_not_stderr(run_python, collected):
    await run_python("import warnings\nwarnings.warn('numpy is old', UserWarning)")
    outputs = collected.of("output")
    warned = [o for o in outputs if "numpy is old" in o["message"]]
    assert [o["stream"] for o in warned] == ["warnings"]
    assert "UserWarning" in warned[0]["message"]


async def test_long_texts_are_bounded_in_the_event_and_in_the_state(run_python, collected):
    await run_python(
        "emit.code_execution('python', 'x = 1\\n' * 20_000, exit_code=1, output='line\\n' * 10_000)\n"
        "emit.message('word ' * 10_000)"
    )
    sent = collected.of("code_execution")[0]
    assert len(sent["output"]) < 20_100 and sent["output"].endswith("line\n"), "the tail is kept"
    assert len(sent["code"]) == 120_000, "the event log keeps the code whole"
    state = RunState.from_events(collected.events)
    item = state.snapshot()["transcript"]["items"][0]
    assert (
        len(item["code"]) < 50_100 and item["code"].startswith("x = 1") and "characters cut" in item["code"]
    )
    assert item["code"].endswith("x = 1\n"), "head and tail"
    assert len(state.snapshot()["transcript"]["items"][1]["content"]) < 20_100


def _message(i: int, agent: str = "engineer") -> dict:
    data = {"message_id": i, "agent": agent, "step": None, "node_id": None, "role": "assistant"}
    return {**make_event("message", {**data, "content": f"message {i}"}), "seq": i}


def test_the_transcript_keeps_the_last_items_and_exact_counts():
    state = RunState("t")
    for i in range(1, 2501):
        state.apply(_message(i, agent="engineer" if i % 2 else "researcher"))
    transcript = state.snapshot()["transcript"]
    assert len(transcript["items"]) == 1000 and transcript["items"][0]["id"] == 1501
    assert transcript["items"][-1]["content"] == "message 2500"
    assert (transcript["count"], transcript["dropped"]) == (2500, 1500)
    assert transcript["by_agent"] == {"engineer": 1250, "researcher": 1250}
    assert json.loads(json.dumps(transcript)) == transcript


def test_restore_gives_back_the_transcript_and_the_outcome():
    state = RunState("t")
    for i in range(1, 4):
        state.apply(_message(i))
    state.apply({**make_event("complete", {"status": "success"}), "seq": 4})
    snapshot = state.snapshot()
    assert snapshot["outcome"]["status"] == "completed"
    restored = RunState("other").restore(json.loads(json.dumps(snapshot)))
    assert restored.snapshot() == snapshot
    restored.apply(_message(5))
    assert restored.snapshot()["transcript"]["count"] == 4


def test_an_old_snapshot_without_a_transcript_restores_an_empty_one():
    snapshot = RunState("t").snapshot()
    del snapshot["transcript"], snapshot["outcome"]
    restored = RunState("t").restore(snapshot)
    assert restored.snapshot()["transcript"]["count"] == 0 and restored.outcome is None


def test_a_malformed_transcript_event_is_kept_aside_never_folded():
    state = RunState("t")
    state.apply({**make_event("message", {"message_id": "one", "content": 3}), "seq": 1})
    assert state.snapshot()["transcript"]["count"] == 0
    assert state.snapshot()["other_events"][0]["type"] == "message"


def test_a_million_messages_keep_the_state_bounded_and_the_counts_exact():
    import tracemalloc

    state = RunState("t")
    ts = make_event("message", {})["ts"]
    for i in range(1, 1_000_001):
        data = {"message_id": i, "agent": f"agent{i % 3}", "role": "assistant", "content": "a message"}
        state.apply({"type": "message", "ts": ts, "seq": i, "data": data})
        if i == 980_000:  # traced from here; its kept items are all traced ones by 990k
            tracemalloc.start()
        elif i == 990_000:  # the last 10k messages: the state no longer grows
            before, _ = tracemalloc.get_traced_memory()
    after, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    transcript = state.snapshot()["transcript"]
    assert (transcript["count"], transcript["dropped"]) == (1_000_000, 999_000)
    assert transcript["by_agent"] == {"agent0": 333_333, "agent1": 333_334, "agent2": 333_333}
    assert transcript["by_kind"] == {"message": 1_000_000} and state.counts["message"] == 1_000_000
    assert [i["id"] for i in transcript["items"]] == list(range(999_001, 1_000_001))
    assert after - before < 100_000, f"the state grew {after - before} bytes over the last 10k messages"


def test_huge_messages_keep_fewer_items_so_the_state_stays_bounded():
    from cmbjupyter._transcript import TRANSCRIPT_CHARS

    state = RunState("t")
    for i in range(1, 501):
        data = {"message_id": i, "agent": "engineer", "role": "assistant", "content": str(i) * 30_000}
        state.apply({"type": "message", "ts": None, "seq": i, "data": data})
    transcript = state.snapshot()["transcript"]
    kept = transcript["items"]
    assert sum(len(i["content"]) for i in kept) <= TRANSCRIPT_CHARS
    assert len(kept) >= TRANSCRIPT_CHARS // 20_100 and kept[-1]["id"] == 500, "the newest are kept"
    assert transcript["count"] == 500 and transcript["dropped"] == 500 - len(kept)
    assert RunState("t").restore(state.snapshot()).snapshot()["transcript"] == transcript


async def test_each_finished_plan_step_has_its_duration(run_python, collected):
    await run_python(
        "import time\nemit.add_node('step_1', 'Step 1')\nemit.add_node('step_2', 'Step 2')\n"
        "step(1)\ntime.sleep(0.2)\nstep(2)\nemit.message('done', agent='engineer')",
        mode="planning-control",
    )
    durations = RunState.from_events(collected.events).snapshot()["step_durations"]
    assert set(durations) >= {"1", "2"} and durations["1"] >= 0.2

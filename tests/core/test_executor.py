"""IsolatedTaskExecutor: a task runs in a worker process and every event reaches the callback in order."""

from __future__ import annotations

import asyncio
import os

import pytest

from cmbjupyter import IsolatedTaskExecutor, TaskFailed
from cmbjupyter.errors import ConfigError
from tests.waiting import until

PHASED_TASK = """
phase("planning", context={"target": "C_ell"})
emit.add_node("step_1", "Compute spectrum")
emit.add_node("step_2", "Plot it")
phase("execution")
step(1)
record_usage("gpt-4o-mini", 1000, 200, agent="engineer")
step(2)
context["done"] = True
result = {"answer": 42}
"""


async def test_a_task_runs_in_another_process_and_returns_its_result(run_python, collected):
    result = await run_python("import os\nresult = os.getpid()\ncontext['x'] = 1\n")
    assert result["result"] != os.getpid()
    assert result["context"] == {"x": 1}
    assert collected.types()[-1] == "complete"
    assert collected.of("complete") == [{"status": "success"}]


async def test_every_event_has_a_gapless_seq_task_id_and_timestamp(run_python, collected):
    await run_python(PHASED_TASK, task_id="seq-test", mode="planning-control")
    events = collected.events
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert {e["task_id"] for e in events} == {"seq-test"}
    assert all(e["ts"].endswith("+00:00") for e in events)


async def test_events_arrive_in_the_order_the_run_made_them(run_python, collected):
    await run_python(PHASED_TASK, mode="planning-control")
    types = collected.types()
    assert types[:2] == ["dag_created", "status"]
    assert types.index("result") < types.index("complete")
    phases = [(d["phase"], d["step"]) for d in collected.of("phase_change")]
    assert phases == [("planning", None), ("execution", None), ("execution", 1), ("execution", 2)]


async def test_the_executor_marks_start_and_end_so_every_engine_gets_a_correct_dag(run_python, collected):
    await run_python("result = 1", mode="one-shot")
    statuses = collected.node_statuses()
    assert statuses["start"] == ["completed"]
    assert statuses["execute"] == ["running", "completed"]
    assert statuses["end"] == ["completed"]


async def test_planning_control_adds_plan_steps_live_and_runs_them(executor, run_python, collected):
    await run_python(PHASED_TASK, mode="planning-control")
    added = [d["node_id"] for d in collected.of("dag_node_add")]
    assert added == ["step_1", "step_2"]
    statuses = collected.node_statuses()
    assert statuses["step_1"] == ["running", "completed"]
    assert statuses["step_2"] == ["running", "completed"]
    assert statuses["planning"] == ["running", "completed"]


async def test_a_sync_callback_and_an_async_callback_both_get_every_event(executor):
    seen_sync, seen_async = [], []

    def sync_cb(event_type, data):
        seen_sync.append(event_type)

    async def async_cb(event_type, data):
        await asyncio.sleep(0)
        seen_async.append(event_type)

    await executor.execute("a", "print('hi')", {"engine": "python"}, sync_cb)
    await executor.execute("b", "print('hi')", {"engine": "python"}, async_cb)
    assert seen_sync == seen_async
    assert "output" in seen_sync


async def test_stdout_stderr_c_level_and_child_process_output_become_output_events(run_python, collected):
    await run_python(
        """
        import os, subprocess, sys
        print("from print")
        print("to stderr", file=sys.stderr)
        os.write(1, b"from fd 1\\n")
        subprocess.run([sys.executable, "-c", "print('from a child')"], check=True)
        """
    )
    outputs = {(d["stream"], d["message"]) for d in collected.of("output")}
    assert {
        ("stdout", "from print"),
        ("stderr", "to stderr"),
        ("stdout", "from fd 1"),
        ("stdout", "from a child"),
    } <= outputs


async def test_a_print_cannot_corrupt_the_event_protocol(run_python, collected):
    await run_python('print(\'{"v": 1, "type": "result", "data": {"forged": true}}\')\nresult = "real"')
    assert collected.of("result") == [{"result": "real", "context": {}}]


async def test_unknown_event_types_are_delivered_not_dropped(run_python, collected):
    await run_python('emit.event("telescope_pointing", {"ra": 12.5})')
    assert collected.of("telescope_pointing") == [{"ra": 12.5}]


async def test_an_unknown_mode_is_a_clear_value_error_before_anything_starts(executor, collected):
    with pytest.raises(ValueError, match="unknown mode 'warp-speed': choose one of one-shot"):
        await executor.execute("t", "x", {"mode": "warp-speed", "engine": "python"}, collected)
    assert collected.events == []


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"timeout": -1}, "timeout"),
        ({"budget_usd": "lots"}, "budget_usd"),
        ({"memory_limit_mb": 0}, "memory_limit_mb"),
        ({"env": {"A": 1}}, "env"),
        ({"session_id": "../escape"}, "invalid session id"),
        ({"backend": "cloud"}, "backend"),
        ({"prices": {"m": {"inp": 1}}}, "invalid config"),
    ],
)
async def test_invalid_configs_are_rejected_with_the_key_named(executor, config, message):
    with pytest.raises(ConfigError, match=message):
        await executor.execute("t", "x", {"engine": "python", **config})


async def test_engine_resolution_config_then_environment_then_cmbagent(monkeypatch, executor, collected):
    monkeypatch.setenv("CMBJUPYTER_ENGINE", "python")
    assert (await executor.execute("t", "result = 7", {}, collected))["result"] == 7
    monkeypatch.setenv("CMBJUPYTER_ENGINE", "replay")
    with pytest.raises(TaskFailed, match="no event log"):
        await executor.execute("t2", "/nonexistent.jsonl", {}, collected)


async def test_an_importable_engine_path_is_run_in_the_worker(executor, collected):
    result = await executor.execute("t", "3", {"engine": "tests.core.engines_for_tests:square"}, collected)
    assert result == {"square": 9, "context": {}}


async def test_a_missing_engine_is_a_clear_error_event(executor, collected):
    with pytest.raises(TaskFailed) as info:
        await executor.execute("t", "x", {"engine": "no_such_package.engine:run"}, collected)
    assert info.value.error_type == "EngineNotFound"
    assert "cannot import 'no_such_package.engine'" in info.value.message
    assert info.value.traceback is None  # a clear message, not a traceback wall


async def test_an_engine_exception_sends_the_error_event_first_then_raises_task_failed(run_python, collected):
    with pytest.raises(TaskFailed) as info:
        await run_python("phase('planning')\n1 / 0", session_id="boom")
    error = collected.of("error")[0]
    assert error["error_type"] == "ZeroDivisionError" == info.value.error_type
    assert "ZeroDivisionError: division by zero" in error["traceback"]
    assert info.value.message == error["message"] == "division by zero"
    assert collected.types()[-1] == "complete" and collected.of("complete") == [{"status": "failed"}]
    assert collected.node_statuses()["end"] == ["failed"]


async def test_two_tasks_run_concurrently_and_keep_their_events_apart(executor):
    events: dict[str, list[str]] = {"a": [], "b": []}

    def callback_for(name):
        return lambda t, d: events[name].append(t)

    results = await asyncio.gather(
        executor.execute(
            "a", "import time; time.sleep(0.2); result='a'", {"engine": "python"}, callback_for("a")
        ),
        executor.execute(
            "b", "import time; time.sleep(0.2); result='b'", {"engine": "python"}, callback_for("b")
        ),
    )
    assert [r["result"] for r in results] == ["a", "b"]
    assert events["a"].count("complete") == events["b"].count("complete") == 1


async def test_a_running_task_id_cannot_be_reused(executor, collected):
    first = asyncio.create_task(
        executor.execute("same", "import time; time.sleep(60)", {"engine": "python"}, collected)
    )
    await until(
        lambda: "running" in [d["status"] for d in collected.of("status")], what="the first run to start"
    )
    with pytest.raises(ConfigError, match="already running"):
        await executor.execute("same", "pass", {"engine": "python"})
    await executor.cancel("same")
    with pytest.raises(TaskFailed):
        await first


async def test_human_input_round_trip_over_the_control_channel(executor):
    async def answer(event_type, data):
        if event_type == "input_request":
            asyncio.get_running_loop().call_soon(
                lambda: asyncio.ensure_future(
                    executor.send_input("hitl", data["request_id"], f"yes to {data['prompt']}")
                )
            )

    result = await executor.execute(
        "hitl", "result = ask('proceed?')", {"engine": "python", "mode": "hitl"}, answer
    )
    assert result["result"] == "yes to proceed?"


async def test_the_worker_never_blocks_on_stdin(run_python):
    result = await run_python("import sys\nresult = sys.stdin.read()")
    assert result["result"] == ""


async def test_work_dir_is_created_and_used_as_the_workers_directory(run_python, tmp_path):
    work = tmp_path / "work" / "dir"
    result = await run_python("import os\nresult = os.getcwd()", work_dir=str(work))
    assert result["result"] == str(work)


async def test_env_reaches_the_worker(run_python):
    result = await run_python("import os\nresult = os.environ['SURVEY']", env={"SURVEY": "planck"})
    assert result["result"] == "planck"


async def test_executor_lists_running_tasks_and_their_live_state(executor):
    task = asyncio.create_task(
        executor.execute(
            "live",
            "import time; phase('planning'); time.sleep(0.5)",
            {"engine": "python", "mode": "planning-control"},
        )
    )
    for _ in range(100):
        state = executor.state("live")
        if state is not None and state.phase == "planning":
            break
        await asyncio.sleep(0.02)
    assert executor.running == ["live"]
    assert executor.state("live").nodes["planning"]["status"] == "running"
    await task
    assert executor.running == [] and executor.state("live") is None


def test_importing_cmbjupyter_is_cheap():
    import subprocess
    import sys

    code = (
        "import sys, cmbjupyter; heavy = [m for m in ('jupyter_server', 'anywidget', 'ipywidgets',"
        " 'cmbagent', 'autogen', 'genai_prices', 'psutil', 'rich') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


async def test_the_seed_api_names_are_exported():
    import cmbjupyter

    assert cmbjupyter.IsolatedTaskExecutor is IsolatedTaskExecutor
    assert {"IsolatedTaskExecutor", "SessionManager", "TaskFailed"} <= set(dir(cmbjupyter))

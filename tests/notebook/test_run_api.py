"""cmbjupyter.run: the magic without the magic. A Run can be waited on, cancelled and answered, and
the kernel's own thread is never the one that runs (or blocks on) the task."""

from __future__ import annotations

import threading

import pytest

import cmbjupyter
from cmbjupyter.errors import TaskCancelled, TaskFailed
from tests.waiting import wait_until


@pytest.fixture(autouse=True)
def sessions_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CMBJUPYTER_SESSIONS_DIR", str(tmp_path / "sessions"))


def test_a_background_run_returns_at_once_and_wait_gives_the_result(tmp_path):
    go = tmp_path / "go"  # the task cannot end before the test creates this file
    task = f"import os, time\nwhile not os.path.exists({str(go)!r}):\n    time.sleep(0.01)\nresult = 6 * 7"
    run = cmbjupyter.run(task, engine="python", display=False)
    assert not run.done()  # run() returned while its task is still going
    go.touch()
    assert run.wait(timeout=60) == {"result": 42, "context": {}}
    assert run.status == "completed" and run.result["result"] == 42
    assert run in cmbjupyter.runs.runs()


def test_a_foreground_run_blocks_until_the_end():
    run = cmbjupyter.run("result = 1", engine="python", display=False, background=False)
    assert run.done() and run.result == {"result": 1, "context": {}}


def test_a_failed_run_raises_its_task_failed_from_result_and_wait():
    run = cmbjupyter.run("1 / 0", engine="python", display=False)
    with pytest.raises(TaskFailed, match="division by zero"):
        run.wait(timeout=30)
    assert isinstance(run.error, TaskFailed) and run.status == "failed"
    with pytest.raises(TaskFailed):
        _ = run.result


def test_cancel_stops_the_worker_and_the_run_ends_cancelled():
    run = cmbjupyter.run("import time\ntime.sleep(60)", engine="python", display=False, session_id="stopme")
    wait_until(lambda: run.state.status == "running", what="the run to start")
    run.cancel()
    assert run.done() and isinstance(run.error, TaskCancelled)
    assert run.status == "cancelled"


def test_answering_a_question_from_the_kernel():
    run = cmbjupyter.run("result = ask('which spectrum?')", engine="python", mode="hitl", display=False)
    wait_until(lambda: run.state.input_request, what="the question")
    assert run.state.input_request["prompt"] == "which spectrum?"
    run.answer("TT")
    assert run.wait(timeout=30)["result"] == "TT"
    with pytest.raises(RuntimeError, match="not waiting for input"):
        run.answer("again")


def test_a_wait_timeout_is_a_timeout_error_and_the_run_goes_on():
    run = cmbjupyter.run("import time\ntime.sleep(1)\nresult = 'late'", engine="python", display=False)
    with pytest.raises(TimeoutError):
        run.wait(timeout=0.1)
    assert run.wait(timeout=30)["result"] == "late"


def test_runs_are_supervised_off_the_calling_thread():
    run = cmbjupyter.run("result = 1", engine="python", display=False)
    run.wait(timeout=30)
    names = {t.name for t in threading.enumerate()}
    assert "cmbjupyter-loop" in names


def test_the_summary_holds_what_the_notebook_keeps():
    run = cmbjupyter.run(
        "phase('planning')\nrecord_usage('gpt-4o-mini', 100, 10)",
        engine="python",
        mode="planning-control",
        display=False,
        session_id="summarized",
    )
    run.wait(timeout=30)
    summary = run.summary()
    assert summary["session_id"] == "summarized" and summary["status"] == "completed"
    assert summary["nodes"]["planning"] == "completed"
    assert summary["cost"]["calls"] == 1 and summary["prices"] == "genai-prices 0.2.3"
    assert summary["sidecar"].endswith("sessions/summarized.json")


def test_sessions_show_and_resume_use_the_kernels_store(tmp_path):
    """``$CMBJUPYTER_SESSIONS_DIR`` (set above) is where runs save, and where the helpers look."""
    from cmbjupyter import api

    run = cmbjupyter.run("phase('fit')\n1 / 0", engine="python", display=False, session_id="listed")
    with pytest.raises(TaskFailed):
        run.wait(timeout=30)
    table = api.sessions_table()
    assert [(s["session_id"], s["status"], s["where"]) for s in table] == [("listed", "suspended", "kernel")]
    assert "<td>listed</td>" in table._repr_html_() and "<th>where</th>" in table._repr_html_()
    cmbjupyter.runs._RUNS.clear()  # as after a kernel restart: show reads the sidecar
    assert api.show("listed")["status"] == "suspended"
    resumed = api.resume("listed", display=False, force_kernel=True)
    assert resumed.session_id == "listed" and resumed.where == "kernel"
    with pytest.raises(TaskFailed):
        resumed.wait(timeout=30)


PLAN_TASK = (
    "steps = approved_plan(lambda feedback: [{'sub_task': feedback or 'first idea', 'agent': 'engineer'}])\n"
    "result = [s['sub_task'] for s in steps]"
)


def test_approving_and_rejecting_a_plan_from_the_kernel():
    run = cmbjupyter.run(
        PLAN_TASK, engine="python", mode="planning-control", approve_plan=True, display=False
    )
    wait_until(lambda: run.status == "awaiting_approval", what="the plan")
    assert run.state.plan["steps"][0]["sub_task"] == "first idea"
    run.reject("a better idea")
    wait_until(lambda: (run.state.plan or {}).get("round") == 2 and run.status == "awaiting_approval")
    with pytest.raises(ValueError, match="plan step 1: 'sub_task'"):
        run.approve([{"agent": "engineer"}])
    run.approve([{"sub_task": "edited", "agent": "engineer"}, {"sub_task": "and more"}])
    assert run.wait(timeout=30)["result"] == ["edited", "and more"]
    with pytest.raises(RuntimeError, match="no plan awaiting approval"):
        run.approve()

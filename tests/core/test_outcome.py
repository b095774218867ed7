"""A truthful outcome: a run whose code failed and was never fixed did not simply "complete", a
budget stop is not a crash, and the budget reads with the precision it was given. The same outcome
is in the state, the sidecar, the notebook summary and ``Run.outcome``."""

from __future__ import annotations

import pytest

import cmbjupyter
from cmbjupyter import TaskFailed
from cmbjupyter._verdict import format_usd
from cmbjupyter.notebook import clean_summary, session_summary
from cmbjupyter.state import RunState
from tests.waiting import wait_until

FAILED_IN_STEP_2 = """
step(1)
emit.code_execution("python", "print(1)", exit_code=0, output="1", agent="engineer")
step(2)
emit.code_execution("python", "import camb", exit_code=1,
                    output="ModuleNotFoundError: No module named 'camb'", agent="engineer")
emit.message("I could not import camb.", agent="engineer")
result = "no plot"
"""


def _outcome(collected) -> dict:
    return RunState.from_events(collected.events).snapshot()["outcome"]


async def test_a_code_execution_that_failed_and_was_not_recovered_ends_completed_with_errors(
    run_python, collected, sessions
):
    await run_python(FAILED_IN_STEP_2, session_id="camb", mode="planning-control")
    failed = [e for e in collected.events if e["type"] == "code_execution"][1]
    outcome = _outcome(collected)
    assert outcome["status"] == "completed_with_errors"
    assert outcome["failed_executions"] == [failed["data"]["message_id"]] == [2]
    assert outcome["label"] == "completed with errors: 1 code execution failed (step 2, engineer)"
    assert outcome["error"] is None and outcome["final_answer"] == "no plot"
    record = sessions.load_session("camb")
    assert record["outcome"] == outcome, "the sidecar records the outcome"
    assert record["status"] == "completed" and record["run_status"] == "completed"


async def test_a_failure_fixed_by_a_later_run_of_the_same_step_and_agent_is_recovered(run_python, collected):
    await run_python(
        """
step(1)
emit.code_execution("python", "import camb", exit_code=1, output="No module named 'camb'", agent="engineer")
emit.code_execution("python", "import math", exit_code=0, agent="executor")
emit.code_execution("python", "import math", exit_code=0, agent="engineer")
""",
        mode="planning-control",
    )
    outcome = _outcome(collected)
    assert (outcome["status"], outcome["label"], outcome["failed_executions"]) == (
        "completed",
        "completed",
        [],
    )


async def test_a_failed_run_says_its_error(run_python, collected):
    with pytest.raises(TaskFailed):
        await run_python("raise RuntimeError('the fit diverged')\n")
    outcome = _outcome(collected)
    assert outcome["status"] == "failed"
    assert outcome["error"] == {"type": "RuntimeError", "message": "the fit diverged"}
    assert outcome["label"] == "failed: RuntimeError: the fit diverged"


async def test_a_budget_stop_is_budget_stopped_with_the_budget_as_given(run_python, collected):
    with pytest.raises(TaskFailed, match=r"budget of \$0\.001;"):
        await run_python(
            "record_usage('gpt-4o', 1_000_000, 0)\nimport time\ntime.sleep(60)", budget_usd=0.001
        )
    outcome = _outcome(collected)
    assert outcome["status"] == "budget_stopped" and outcome["budget_usd"] == 0.001
    assert outcome["label"] == "stopped at its budget of $0.001 (spent $2.50)"
    assert outcome["error"]["type"] == "BudgetExceeded"


async def test_a_timeout_is_timed_out(run_python, collected):
    with pytest.raises(TaskFailed):
        await run_python("import time\ntime.sleep(60)", timeout=1)
    outcome = _outcome(collected)
    assert outcome["status"] == "timed_out" and outcome["label"].startswith("timed out: the task ran longer")


@pytest.mark.parametrize(
    ("amount", "text"),
    [(0.001, "$0.001"), (0.5, "$0.50"), (2, "$2.00"), (0.0015, "$0.0015"), (12.345, "$12.345")],
)
def test_a_budget_reads_with_the_precision_it_was_given(amount, text):
    assert format_usd(amount) == text


def test_run_outcome_the_notebook_summary_and_the_repr_carry_it(tmp_path, monkeypatch):
    monkeypatch.setenv("CMBJUPYTER_SESSIONS_DIR", str(tmp_path / "sessions"))
    run = cmbjupyter.run(
        FAILED_IN_STEP_2, engine="python", mode="planning-control", display=False, budget_usd=0.001
    )
    run.wait(timeout=60)
    assert run.outcome["status"] == "completed_with_errors" and run.outcome["budget_usd"] == 0.001
    summary = clean_summary(session_summary(run.state, where="kernel"))
    assert summary["outcome"] == run.outcome
    assert repr(run).endswith("completed_with_errors $0.0000 of $0.001>")


def test_a_cancelled_run_is_cancelled_not_failed(tmp_path, monkeypatch):
    monkeypatch.setenv("CMBJUPYTER_SESSIONS_DIR", str(tmp_path / "sessions"))
    run = cmbjupyter.run("import time\ntime.sleep(60)", engine="python", display=False)
    wait_until(lambda: run.state.status == "running", what="the run to start")
    assert run.outcome is None, "no outcome while it runs"
    run.cancel()
    assert run.outcome["status"] == "cancelled" and run.outcome["label"].startswith("cancelled")


async def test_the_final_answer_is_found_in_a_task_result_that_is_a_dict(run_python, collected):
    """A task's result dict with a ``final_answer`` (or ``summary``) is the outcome's answer too."""
    await run_python('result = {"final_answer": "H0 = 67.4", "chains": [1, 2]}')
    assert _outcome(collected)["final_answer"] == "H0 = 67.4"
    collected.events.clear()
    await run_python('result = {"summary": "fitted", "n": 3}')
    assert _outcome(collected)["final_answer"] == "fitted"

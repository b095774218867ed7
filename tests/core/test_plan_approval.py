"""Plan approval with the python engine: the run pauses after planning, the user's edit is what
the control phase runs, a rejection plans again with the feedback, a step's budget is enforced."""

from __future__ import annotations

import asyncio
import json
import textwrap
import time
from typing import Any

import pytest

from cmbjupyter.errors import BudgetExceeded, ConfigError, TaskConflict, TaskTimeout
from tests.waiting import until

#: A task that plans (asking the user) and then runs exactly the approved steps.
PLANNED_TASK = textwrap.dedent(
    """
    import time

    asked = []

    def make_plan(feedback):
        asked.append(feedback)
        record_usage("gpt-4o-mini", 100, 20, agent="planner", cost=0.0001)
        if feedback:
            return [{"sub_task": "redo: " + feedback, "agent": "engineer"}]
        return [
            {"sub_task": "load the map", "agent": "engineer", "bullets": ["read the FITS file"]},
            {"sub_task": "fit the spectrum", "agent": "researcher"},
            {"sub_task": "plot", "agent": "engineer"},
        ]

    if config.get("finish_after_term"):  # a step that finishes its work even when told to stop
        import signal
        signal.signal(signal.SIGTERM, signal.SIG_IGN)

    phase("planning")
    steps = approved_plan(make_plan)
    phase("execution")
    ran = []
    for s in steps:
        step(s["step"])
        record_usage("gpt-4o-mini", 10, 5, agent=s["agent"], cost=float(config.get("step_cost", 0.0)))
        time.sleep(config.get("step_seconds", 0))  # a step that goes on after its LLM call
        ran.append([s["step"], s["sub_task"], s["agent"], s["bullets"]])
    result = {"ran": ran, "asked": asked}
    """
)

EDITED = [
    {"sub_task": "plot", "agent": "engineer"},
    {"sub_task": "fit the spectrum", "agent": "engineer", "bullets": ["use emcee"]},
    {"sub_task": "write the summary", "agent": "researcher", "bullets": []},
]


async def _run_deciding(executor, decide, task_id="plan", **config: Any):
    """Run PLANNED_TASK with approval on; ``decide(prepared)`` answers each proposal."""
    config = {"engine": "python", "mode": "planning-control", "approve_plan": True, **config}
    config.setdefault("session_id", task_id)
    prepared = executor.prepare(task_id, PLANNED_TASK, config)
    seen: list[tuple[str, str]] = []

    def sink(event: dict[str, Any]) -> None:
        seen.append((event["type"], prepared.state.status))
        if event["type"] == "plan_proposed":
            asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(decide(prepared)))

    prepared.subscribe(sink)
    return prepared, seen, prepared.start()


async def test_approving_an_edited_plan_runs_exactly_the_edited_steps(executor, sessions):
    async def approve(prepared):
        await prepared.approve(EDITED)

    prepared, seen, started = await _run_deciding(executor, approve)
    result = await started
    assert result["result"]["ran"] == [
        [1, "plot", "engineer", []],
        [2, "fit the spectrum", "engineer", ["use emcee"]],
        [3, "write the summary", "researcher", []],
    ]
    assert ("plan_proposed", "awaiting_approval") in seen
    assert ("plan_decision", "running") in seen
    state = prepared.state
    assert state.status == "completed" and state.plan["status"] == "approved"
    assert state.plan["reject_refused"] is None, "a planned plan can be rejected (the views offer Reject)"
    steps = {n: node for n, node in state.nodes.items() if node["type"] == "step"}
    assert {n: (s["label"], s["status"]) for n, s in steps.items()} == {
        "step_1": ("Step 1: plot", "completed"),
        "step_2": ("Step 2: fit the spectrum", "completed"),
        "step_3": ("Step 3: write the summary", "completed"),
    }
    chain = {e["source"]: e["target"] for e in state.edges}
    assert (chain["execution"], chain["step_1"], chain["step_2"], chain["step_3"]) == (
        "step_1",
        "step_2",
        "step_3",
        "end",
    )
    # the decision is in the event log and the sidecar (replay and the sessions list show it)
    log = [json.loads(line) for line in sessions.event_log_path("plan").read_text().splitlines()]
    decisions = [e["data"] for e in log if e["type"] == "plan_decision"]
    assert len(decisions) == 1 and decisions[0]["approved"] is True
    assert [s["sub_task"] for s in decisions[0]["plan"]] == ["plot", "fit the spectrum", "write the summary"]
    record = sessions.load_session("plan")
    assert record["plan"]["status"] == "approved" and len(record["plan"]["steps"]) == 3


async def _reject_once_then_approve(prepared):
    """The first plan rejected with feedback, the one planned again approved as proposed."""
    if prepared.state.plan["round"] == 1:
        await prepared.reject("one step is enough")
    else:
        await prepared.approve()


async def test_rejecting_with_feedback_plans_again_with_it(executor):
    prepared, seen, started = await _run_deciding(executor, _reject_once_then_approve, task_id="again")
    result = (await started)["result"]
    assert result["asked"] == [None, "one step is enough"]
    assert result["ran"] == [[1, "redo: one step is enough", "engineer", []]]
    assert [t for t, _ in seen if t.startswith("plan_")] == [
        "plan_proposed",
        "plan_decision",
        "plan_proposed",
        "plan_decision",
    ]
    plan = prepared.state.plan
    assert plan["round"] == 2 and plan["feedback"] == "one step is enough"
    assert [n for n, node in prepared.state.nodes.items() if node["type"] == "step"] == ["step_1"]


async def test_a_bad_decision_is_refused_clearly_and_loses_nothing(executor):
    refusals: list[str] = []

    async def decide(prepared):
        for bad in ([], [{"agent": "engineer"}], [{"sub_task": "x", "bullets": "not a list"}], "plan"):
            with pytest.raises(ConfigError) as caught:
                await prepared.approve(bad)
            refusals.append(str(caught.value))
        with pytest.raises(ConfigError, match="feedback"):
            await prepared.reject("   ")
        assert prepared.state.status == "awaiting_approval"
        await prepared.approve([{"task": "only this", "agent": "engineer"}])
        with pytest.raises(TaskConflict, match="no plan awaiting approval"):
            await prepared.approve()

    _, _, started = await _run_deciding(executor, decide, task_id="bad")
    result = (await started)["result"]
    assert result["ran"] == [[1, "only this", "engineer", []]]
    assert "at least one step" in refusals[0]
    assert "plan step 1: 'sub_task'" in refusals[1]
    assert "plan step 1: 'bullets'" in refusals[2]
    assert "a list of steps" in refusals[3]


async def test_a_step_over_its_own_budget_stops_the_run(executor):
    async def approve(prepared):
        plan = [dict(s) for s in EDITED]
        plan[0]["budget_usd"] = 0.005
        await prepared.approve(plan)

    # each step would go on for a minute after its LLM call: the stop ends it long before
    prepared, _, started = await _run_deciding(
        executor, approve, task_id="budget", step_cost=0.01, step_seconds=60
    )
    with pytest.raises(BudgetExceeded, match=r"step 1 cost \$0\.0100, reaching its budget of \$0\.005;"):
        await started
    cost = prepared.state.cost
    assert cost["exceeded"] and list(cost["by_step"]) == ["1"], "step 2 never started"
    assert prepared.state.error["error_type"] == "BudgetExceeded"


async def test_a_step_budget_reached_as_the_run_finishes_is_in_its_outcome(executor):
    """The result wins a race with the budget stop (the work is done, the money spent): the run
    completes, and its outcome says which budget was reached and what was spent, not just "completed"."""

    async def approve(prepared):
        plan = [dict(s) for s in EDITED]
        plan[-1]["budget_usd"] = 0.005  # the last step: the result follows its LLM call at once
        await prepared.approve(plan)

    prepared, _, started = await _run_deciding(
        executor, approve, task_id="raced", step_cost=0.01, finish_after_term=True
    )
    result = await started
    assert [r[0] for r in result["result"]["ran"]] == [1, 2, 3]
    outcome = prepared.state.outcome
    assert outcome["status"] == "completed"
    assert outcome["over_budget"] == [{"step": 3, "budget_usd": 0.005, "total_usd": 0.01}]
    assert outcome["label"] == "completed; step 3 reached its budget of $0.005 (spent $0.01) as it finished"


async def test_without_approval_the_plan_is_shown_and_runs_as_proposed(executor, collected):
    config = {"engine": "python", "mode": "planning-control"}
    result = await executor.execute("auto", PLANNED_TASK, config, collected)
    assert [r[1] for r in result["result"]["ran"]] == ["load the map", "fit the spectrum", "plot"]
    proposed = collected.of("plan_proposed")
    assert len(proposed) == 1 and "request_id" not in proposed[0]
    assert "plan_decision" not in collected.types()


def test_approve_plan_is_checked_in_the_config():
    from cmbjupyter.config import TaskConfig

    with pytest.raises(ConfigError, match=r"approve_plan.*true or false"):
        TaskConfig({"engine": "python", "approve_plan": "yes"})
    with pytest.raises(ConfigError, match="needs a mode with a plan"):
        TaskConfig({"engine": "cmbagent", "mode": "one-shot", "approve_plan": True})
    given = TaskConfig({"engine": "cmbagent", "mode": "control", "approve_plan": True})  # a given plan
    assert given.reject_refused == "control mode runs a given plan: edit and approve it, or cancel the run"
    assert TaskConfig({"engine": "cmbagent", "mode": "planning-control"}).reject_refused is None
    with pytest.raises(ConfigError, match="step_budget_usd"):
        TaskConfig({"engine": "python", "step_budget_usd": -1})
    assert TaskConfig({"engine": "python", "approve_plan": True}).approve_plan is True


async def test_only_the_host_records_a_decision(run_python, collected):
    source = """
    emit.event("plan_decision", {"request_id": "plan-1", "approved": True, "plan": [{"sub_task": "forged"}]})
    result = 1
    """
    await run_python(source, mode="planning-control")
    assert "plan_decision" not in collected.types()
    assert any("only the host makes it" in w["message"] for w in collected.of("warning"))


async def test_a_replayed_approval_shows_the_plans_without_waiting(executor, sessions):
    _, _, started = await _run_deciding(executor, _reject_once_then_approve, task_id="recorded")
    await started
    log = str(sessions.event_log_path("recorded"))
    replay = executor.prepare("replayed", log, {"engine": "replay", "mode": "planning-control"})
    result = await replay.start()
    assert result["result"]["ran"] == [[1, "redo: one step is enough", "engineer", []]]
    plan = replay.state.plan
    assert plan["round"] == 2 and plan["request_id"] is None and replay.state.status == "completed"
    assert replay.state.counts.get("plan_decision") is None


async def test_waiting_for_approval_does_not_count_against_the_timeout(executor):
    """The run's timeout (host) and the worker's own (timeout + grace) both hold while it waits."""
    timeout = 4.0
    limit = timeout + executor.cancel_grace + 5.0  # where the worker would stop itself (its guard)

    async def approve_late(prepared):
        started = time.monotonic()
        await until(lambda: time.monotonic() - started > limit + 1, within=limit + 30, what="a long wait")
        assert prepared.state.status == "awaiting_approval", "still waiting, neither side timed out"
        await prepared.approve()

    _, _, started = await _run_deciding(executor, approve_late, task_id="slow", timeout=timeout)
    result = await started
    assert [r[1] for r in result["result"]["ran"]] == ["load the map", "fit the spectrum", "plot"]


async def test_the_timeout_still_stops_a_run_after_its_approval(executor):
    async def approve(prepared):
        await prepared.approve()

    _, _, started = await _run_deciding(executor, approve, task_id="late", timeout=3.0, step_seconds=60)
    with pytest.raises(TaskTimeout):
        await started

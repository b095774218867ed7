"""Plan approval in server mode: the REST routes (validated, 400/404/409 with clear messages), the
decision recorded as an event (replay and the sidecar show it), and a kernel that restarted while
the task waited approving it by session id."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

from tests.engines.conftest import ENVS

#: Plans (asking the user), then runs exactly the approved steps.
PLANNED = textwrap.dedent(
    """
    def make_plan(feedback):
        if feedback:
            return [{"sub_task": "redo: " + feedback, "agent": "engineer"}]
        return [{"sub_task": "load", "agent": "engineer"}, {"sub_task": "fit", "agent": "researcher"}]

    phase("planning")
    steps = approved_plan(make_plan)
    phase("execution")
    for s in steps:
        step(s["step"])
    result = [[s["step"], s["sub_task"], s["agent"], s["bullets"]] for s in steps]
    """
)


async def test_the_plan_routes_validate_reject_and_approve(api, read_stream):
    task = await api.submit(PLANNED, mode="planning-control", approve_plan=True, session_id="s-plan")
    task_id = task["task_id"]
    snapshot = await api.wait(task_id, ("awaiting_approval",))
    assert [s["sub_task"] for s in snapshot["plan"]["steps"]] == ["load", "fit"]

    async def post(action: str, body: object, tid: str = task_id) -> tuple[int, dict]:
        return await api.call("POST", "tasks", tid, "plan", action, body=body)

    for body, message in [
        ({"plan": []}, "at least one step"),
        ({"plan": [{"agent": "engineer"}]}, "plan step 1: 'sub_task' must be a non-empty string"),
        ({"plan": [{"sub_task": "x", "budget_usd": -1}]}, "plan step 1: 'budget_usd' must be a positive"),
        ({"plan": [{"sub_task": "x"}], "steps": 1}, "plan/approve takes only 'plan', not 'steps'"),
        ("[1, 2]", "the request body must be a JSON object"),
    ]:
        code, reply = await post("approve", body)
        assert (code, reply["reason"]) == (400, "Bad Request") and message in reply["message"], (body, reply)
    code, reply = await post("reject", {"feedback": ""})
    assert code == 400 and "the feedback of a rejected plan must be a non-empty string" in reply["message"]
    code, reply = await post("approve", {}, tid="no-such-task")
    assert code == 404
    assert (await api.get("tasks", task_id))["status"] == "awaiting_approval"  # nothing was lost

    code, reply = await post("reject", {"feedback": "one step"})
    assert code == 202 and reply["approved"] is False
    # the decision is folded before the reply: the task is running again, until the second plan
    snapshot = await api.wait(task_id, ("awaiting_approval",))
    assert snapshot["plan"]["round"] == 2
    assert snapshot["plan"]["steps"][0]["sub_task"] == "redo: one step"

    edited = [{"sub_task": "fit", "agent": "engineer", "bullets": ["emcee"]}, {"sub_task": "plot"}]
    code, reply = await post("approve", {"plan": edited})
    assert code == 202 and reply["plan"]["status"] == "approved"
    snapshot = await api.wait(task_id)
    assert snapshot["result"]["result"] == [[1, "fit", "engineer", ["emcee"]], [2, "plot", None, []]]
    code, reply = await post("approve", {})
    assert code == 409 and "no plan awaiting approval" in reply["message"]

    events = await read_stream(task_id)
    decisions = [m["data"] for m in events if m.get("type") == "plan_decision"]
    assert [d["approved"] for d in decisions] == [False, True]
    assert decisions[0]["feedback"] == "one step" and [s["sub_task"] for s in decisions[1]["plan"]] == [
        "fit",
        "plot",
    ]
    record = await api.get("sessions", "s-plan")
    assert record["plan"]["status"] == "approved" and len(record["plan"]["steps"]) == 2


async def test_a_given_plan_cannot_be_rejected_over_rest(api, tmp_path):
    """cmbagent's control mode runs a given plan (no planner): a rejection is a 409 that loses nothing."""
    # the environment on this Python: pytest-jupyter's jp_environ puts this process's sys.path (its
    # standard library too) on PYTHONPATH, which another Python's worker cannot start with
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    python = next((str(e.python) for e in ENVS if e.interpreter == here and e.python.exists()), None)
    if python is None:
        pytest.skip(f"no cmbagent environment on Python {here} (`make cmbagent-311` makes one)")
    given = tmp_path / "given_plan.json"
    given.write_text(json.dumps({"sub_tasks": [{"sub_task": "fit", "sub_task_agent": "engineer"}]}))
    # the run pauses before any LLM call: a key is needed, an endpoint is not
    env = {"OPENAI_API_KEY": "sk-offline", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    config = {"engine": "cmbagent", "mode": "control", "plan": str(given), "python": python, "env": env}
    task = await api.submit("Fit H0.", **config, approve_plan=True, session_id="s-given")
    task_id = task["task_id"]
    snapshot = await api.wait(task_id, ("awaiting_approval",), timeout=300)
    assert [s["sub_task"] for s in snapshot["plan"]["steps"]] == ["fit"]
    code, reply = await api.call("POST", "tasks", task_id, "plan", "reject", body={"feedback": "plan again"})
    assert code == 409, reply
    assert "control mode runs a given plan: edit and approve it, or cancel the run" in reply["message"]
    assert (await api.get("tasks", task_id))["status"] == "awaiting_approval"  # nothing was lost
    code, _ = await api.call("DELETE", "tasks", task_id)
    assert code in (200, 202)
    await api.wait(task_id, ("cancelled",), timeout=120)


SUBMIT = """%%cmbagent --engine python --mode planning-control --session s-restarted --approve-plan
{task}"""


async def test_a_kernel_that_restarted_approves_the_plan_by_session(api, notebook_kernel):
    kernel = await notebook_kernel("approve.ipynb")
    await kernel.execute("%load_ext cmbjupyter")
    await kernel.execute(SUBMIT.format(task=PLANNED))  # --approve-plan: the cell returns at once
    [task] = [t for t in (await api.get("tasks"))["tasks"] if t["session_id"] == "s-restarted"]
    await api.wait(task["task_id"], ("awaiting_approval",))
    await kernel.shutdown()

    again = await notebook_kernel("approve.ipynb")
    printed = await again.execute(
        "from cmbjupyter import api\n"
        "try:\n    api.approve('s-restarted', [{'task': 'only'}, {'task': 'x', 'agent': 'two words'}])\n"
        "except ValueError as exc:\n    print('REFUSED', exc)\n"
        "api.approve('s-restarted', [{'task': 'only', 'agent': 'engineer'}])\nprint('APPROVED')"
    )
    assert "REFUSED plan step 2: 'agent' must be an agent name" in printed and "APPROVED" in printed
    snapshot = await api.wait(task["task_id"])
    assert snapshot["result"]["result"] == [[1, "only", "engineer", []]]

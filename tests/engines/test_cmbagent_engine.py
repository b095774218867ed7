"""engine="cmbagent": cmbagent's real one-shot, run offline through AG2 and the openai client against
the scripted server: agent messages, the executed code's output, DAG, exact cost, session, errors."""

from __future__ import annotations

import json
import sys

import pytest

from cmbjupyter import IsolatedTaskExecutor, SessionManager, TaskFailed
from cmbjupyter.cost import CostLedger
from cmbjupyter.testing.llm_server import Rule


@pytest.fixture
def executor(tmp_path):
    return IsolatedTaskExecutor(session_manager=SessionManager(tmp_path / "sessions"))


async def run_cmbagent(executor, collected, task="Compute 2 + 2 in Python.", **config):
    return await executor.execute(
        "t1", task, {"engine": "cmbagent", "mode": "one-shot", **config}, output_callback=collected
    )


class Collected(list):
    async def __call__(self, event_type, data):
        self.append((event_type, data))

    def of(self, event_type):
        return [data for kind, data in self if kind == event_type]


async def test_a_one_shot_runs_cmbagent_end_to_end_offline(seed_engine_env, executor):
    seed_engine_env.script.append(
        Rule(match="engineer", content="I will compute it in Python.", times=1, usage=(1200, 80, 1000))
    )
    collected = Collected()
    result = await run_cmbagent(executor, collected, session_id="oneshot")
    agents = {m.get("agent") for m in collected.of("message")}
    assert {"engineer", "engineer_response_formatter", "executor"} <= agents
    ran = collected.of("code_execution")
    assert any("scripted answer: 4" in c["output"] for c in ran), "the engineer's code really ran"
    nodes = collected.of("dag_node_update")
    assert {"node_id": "execute", "status": "completed"} in nodes
    assert collected.of("complete")[-1]["status"] == "success"
    # cost: each LLM response's raw usage, priced by the ledger (cache discount included)
    costs = collected.of("cost_update")
    assert len(costs) == len(seed_engine_env.requests) >= 3, "every LLM response counted once"
    ledger = CostLedger()
    for cost in costs:
        tokens = {
            k: cost[k] for k in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
        }
        assert cost["cost"] == pytest.approx(ledger.price(cost["model"], tokens))
    assert costs[0] == pytest.approx(
        costs[0] | {"agent": "engineer", "input_tokens": 1200, "cache_read_tokens": 1000}
    )
    ours = sum(c["cost"] for c in costs)
    report = result["cmbagent_cost_report"]
    scripted = 1200 + 100 * (len(seed_engine_env.requests) - 1)  # the rule's usage, then the defaults'
    assert sum(c["input_tokens"] for c in costs) == scripted
    # cmbagent's own report is kept beside ours; it differs (AG2's tables: no cache discount, and
    # cmbagent 0.0.1.post30 counts the nested engineer's tokens twice)
    assert report["files"] >= 1 and report["usd"] > ours
    assert result["context"]["main_task"] == "Compute 2 + 2 in Python."
    record = executor.session_manager.load_session("oneshot")
    assert record["status"] == "completed" and record["current_phase"] == "execution"


async def test_without_an_api_key_the_error_names_the_key(seed_engine_env, executor, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    collected = Collected()
    with pytest.raises(TaskFailed, match="OPENAI_API_KEY") as caught:
        await run_cmbagent(executor, collected, session_id="nokey")
    assert caught.value.error_type == "EngineError" and "Traceback" not in caught.value.message
    assert executor.session_manager.load_session("nokey")["status"] == "suspended"


async def test_a_mode_this_cmbagent_lacks_names_the_function_and_the_release_that_has_it(
    cmbagent_env, seed_engine_env, executor
):
    if cmbagent_env.newest:
        pytest.skip("this cmbagent has every mode (tests/engines/test_cmbagent_documents.py)")
    with pytest.raises(TaskFailed, match=r"cmbagent\.arxiv_filter.*cmbagent==0\.0\.1\.post63"):
        await run_cmbagent(executor, Collected(), task="https://arxiv.org/abs/1807.06209", mode="arxiv")


async def test_a_worker_python_without_cmbagent_says_how_to_install_it(seed_engine_env, executor):
    with pytest.raises(TaskFailed, match="make cmbagent"):
        await run_cmbagent(executor, Collected(), python=sys.executable)


async def test_an_unreachable_endpoint_is_a_clear_error(seed_engine_env, executor, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    with pytest.raises(TaskFailed, match=r"(?i)connection") as caught:
        await run_cmbagent(executor, Collected(), session_id="offline")
    assert executor.session_manager.load_session("offline")["status"] == "suspended"
    assert caught.value.error_type == "EngineError" and "127.0.0.1:9" in caught.value.message


async def test_a_two_step_planning_control_adds_its_plan_to_the_dag_and_saves_each_phase(
    seed_engine_env, executor
):
    collected = Collected()
    result = await run_cmbagent(
        executor,
        collected,
        task="Compute 2 + 2 in two steps.",
        mode="planning-control",
        session_id="plan",
        max_plan_steps=2,
    )
    added = collected.of("dag_node_add")
    assert [(a["node_id"], a["agent"]) for a in added] == [("step_1", "engineer"), ("step_2", "engineer")]
    assert added[1]["label"] == "Step 2: carry out part 2 of the task"
    phases = collected.of("phase_change")
    assert [(p["phase"], p["step"]) for p in phases] == [
        ("planning", None),
        ("control", None),
        ("control", 1),
        ("control", 2),
    ]
    assert phases[2]["context"]["number_of_steps_in_plan"] == 2, "each phase carries cmbagent's context"
    statuses = {}
    for update in collected.of("dag_node_update"):
        statuses.setdefault(update["node_id"], []).append(update["status"])
    assert statuses["step_1"] == statuses["step_2"] == ["running", "completed"]
    assert statuses["planning"][-1] == statuses["execution"][-1] == statuses["end"][-1] == "completed"
    speakers = {m.get("agent") for m in collected.of("message") + collected.of("tool_call")}
    assert {"planner", "plan_reviewer", "control", "engineer", "executor", "terminator"} <= speakers
    ran = [c for c in collected.of("code_execution") if "scripted answer: 4" in c["output"]]
    assert len(ran) == 2 and {c["exit_code"] for c in ran} == {0}, "each step's code ran"
    costs = collected.of("cost_update")
    assert len(costs) == len(seed_engine_env.requests) and {c.get("step") for c in costs} == {None, 1, 2}
    assert "Step 2" in result["context"]["final_plan"]
    record = executor.session_manager.load_session("plan")
    assert (record["status"], record["current_phase"], record["current_step"]) == ("completed", "control", 2)
    nodes = {n["id"]: n["status"] for n in record["dag"]["nodes"]}
    assert nodes["step_1"] == nodes["step_2"] == "completed"


async def test_a_session_suspended_in_step_2_resumes_at_step_2_without_planning_again(
    seed_engine_env, executor
):
    # cmbagent's AG2 fork retries a failed call once: fail both
    outage = Rule(match="You are the control_starter agent", status=400, content="scripted outage", times=2)
    seed_engine_env.script.append(outage)
    first = Collected()
    with pytest.raises(TaskFailed, match="scripted outage"):
        await run_cmbagent(
            executor, first, task="Compute 2 + 2 in two steps.", mode="planning-control", session_id="resumed"
        )
    record = executor.session_manager.load_session("resumed")
    assert (record["status"], record["current_phase"], record["current_step"]) == ("suspended", "control", 2)
    seed_engine_env.requests.clear()
    again = Collected()
    result = await executor.resume("resumed", output_callback=again)
    assert [(p["phase"], p["step"]) for p in again.of("phase_change")] == [("control", None), ("control", 2)]
    systems = [str(r["messages"][0].get("content")) for r in seed_engine_env.requests]
    assert not any("planner" in s[:40] for s in systems), "the saved plan is used, not a new one"
    assert any(s.lstrip().startswith("You are the control_starter agent") for s in systems)
    added = {a["node_id"]: a["status"] for a in again.of("dag_node_add")}
    assert added == {"step_1": "completed", "step_2": "pending"}
    ran = [c for c in again.of("code_execution") if "scripted answer" in c["output"]]
    assert len(ran) == 1 and ran[0]["step"] == 2, "only step 2 ran"
    assert result["context"]["current_plan_step_number"] == 2
    record = executor.session_manager.load_session("resumed")
    assert (record["status"], record["current_step"]) == ("completed", 2)


async def test_idea_generation_plans_with_the_idea_maker_and_hater_and_records_the_ideas(
    seed_engine_env, executor
):
    collected = Collected()
    result = await run_cmbagent(
        executor,
        collected,
        task="Find a research idea about CMB lensing.",
        mode="idea-generation",
        session_id="ideas",
    )
    added = {a["node_id"]: a.get("agent") for a in collected.of("dag_node_add")}
    assert added == {"step_1": "idea_maker", "step_2": "idea_hater"}, "the plan's agents, from cmbagent"
    said = {m.get("agent") for m in collected.of("message") + collected.of("tool_call")}
    assert {"idea_maker", "idea_saver", "idea_hater", "idea_hater_response_formatter"} <= said
    assert any("delensing the B-mode map" in m["content"] for m in collected.of("message"))
    setter = next(r for r in seed_engine_env.requests if "plan setter" in str(r["messages"][0]["content"]))
    assert "idea_maker" in str(setter["messages"][0]["content"]), "the idea instructions reached cmbagent"
    assert result["context"]["current_plan_step_number"] == 2
    record = executor.session_manager.load_session("ideas")
    assert (record["status"], record["current_phase"], record["current_step"]) == ("completed", "control", 2)
    nodes = {n["id"]: n["status"] for n in record["dag"]["nodes"]}
    assert nodes["step_1"] == nodes["step_2"] == "completed"


async def test_control_runs_a_given_plan_step_by_step_in_one_chat(seed_engine_env, executor, tmp_path):
    plan = tmp_path / "plan.json"
    steps = [("Compute 2 + 2", "engineer"), ("Critique the method", "idea_hater")]
    plan.write_text(
        json.dumps(
            {"sub_tasks": [{"sub_task": t, "sub_task_agent": a, "bullet_points": [t]} for t, a in steps]}
        )
    )
    collected = Collected()
    await run_cmbagent(executor, collected, mode="control", plan=str(plan), session_id="given")
    added = {a["node_id"]: (a["label"], a.get("agent")) for a in collected.of("dag_node_add")}
    assert added == {
        "step_1": ("Step 1: Compute 2 + 2", "engineer"),
        "step_2": ("Step 2: Critique the method", "idea_hater"),
    }
    # one chat: the control agent's record_status calls move the run from step to step
    assert [(p["phase"], p["step"]) for p in collected.of("phase_change")] == [
        ("control", None),
        ("control", 1),
        ("control", 2),
    ]
    said = {m.get("agent") for m in collected.of("message")}
    assert {"engineer", "executor", "idea_hater"} <= said
    record = executor.session_manager.load_session("given")
    nodes = {n["id"]: n["status"] for n in record["dag"]["nodes"]}
    assert nodes["step_1"] == nodes["step_2"] == "completed"
    assert (record["status"], record["current_step"]) == ("completed", 2)

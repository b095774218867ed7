"""RunState: one reducer builds the whole state of a run; the state is bounded and rebuildable."""

from __future__ import annotations

import json

from cmbjupyter.dag import template_for
from cmbjupyter.events import make_event
from cmbjupyter.state import NODE_MESSAGES, OUTPUT_LINES, TEXT_CHARS, RunState, apply


def _events(*pairs):
    return [{**make_event(t, d), "seq": i, "task_id": "t"} for i, (t, d) in enumerate(pairs, start=1)]


def _planning_run():
    return _events(
        ("dag_created", template_for("planning-control")),
        ("status", {"status": "running"}),
        ("dag_node_update", {"node_id": "planning", "status": "running"}),
        ("output", {"message": "here is the plan", "agent": "planner", "stream": "agent"}),
        ("phase_change", {"phase": "planning", "step": None, "context": {"plan": ["a", "b"]}}),
        ("dag_node_add", {"node_id": "step_1", "label": "Step 1", "type": "step"}),
        ("dag_node_add", {"node_id": "step_2", "label": "Step 2", "type": "step"}),
        ("dag_node_update", {"node_id": "planning", "status": "completed"}),
        ("dag_node_update", {"node_id": "step_1", "status": "running", "agent": "engineer"}),
        (
            "cost_update",
            {
                "model": "gpt-4o",
                "agent": "engineer",
                "input_tokens": 1000,
                "output_tokens": 10,
                "cache_read_tokens": 200,
                "cache_write_tokens": 0,
                "cost": 0.5,
                "step": 1,
            },
        ),
        (
            "cost_update",
            {
                "model": "mystery-model",
                "agent": "engineer",
                "input_tokens": 5,
                "output_tokens": 5,
                "cache_read_tokens": 0,
                "cache_write_tokens": 0,
                "cost": None,
                "unpriced": True,
            },
        ),
        ("telescope", {"ra": 1}),
        ("result", {"value": 1, "context": {"done": True}}),
        ("complete", {"status": "success"}),
    )


def test_the_reducer_folds_every_event_kind_into_the_state():
    state = RunState("t", mode="planning-control", budget_usd=2.0)
    for event in _planning_run():
        apply(state, event)
    assert state.status == "completed" and state.finished
    assert state.phase == "planning"
    assert state.nodes["planning"]["status"] == "completed"
    assert state.nodes["step_1"]["agent"] == "engineer" and state.nodes["step_1"]["cost_usd"] == 0.5
    assert state.cost["total_usd"] == 0.5 and state.cost["calls"] == 2
    assert state.cost["by_model"]["gpt-4o"]["usd"] == 0.5
    assert state.cost["by_agent"]["engineer"]["calls"] == 2
    assert state.cost["by_step"]["1"]["cache_read_tokens"] == 200
    assert state.cost["unpriced"] == ["mystery-model"]
    assert state.cost["budget_fraction"] == 0.25
    assert state.context == {"done": True}
    assert state.other_events[0]["type"] == "telescope"
    assert state.nodes["planning"]["messages"][0]["text"] == "here is the plan"


def test_plan_steps_are_inserted_before_the_end_node_in_order():
    state = RunState.from_events(_planning_run())
    edges = {(e["source"], e["target"]) for e in state.edges}
    assert ("execution", "step_1") in edges and ("step_1", "step_2") in edges and ("step_2", "end") in edges
    assert ("execution", "end") not in edges


def test_a_node_can_be_added_after_a_given_node():
    state = RunState.from_events(
        _events(
            ("dag_created", template_for("one-shot")),
            ("dag_node_add", {"node_id": "review", "label": "Review", "after": "start"}),
        )
    )
    edges = {(e["source"], e["target"]) for e in state.edges}
    assert edges == {("start", "review"), ("review", "execute"), ("execute", "end")}


def test_the_output_buffer_and_texts_are_bounded():
    state = RunState("t")
    for i in range(OUTPUT_LINES * 5):
        state.apply({**make_event("output", {"message": f"line {i}", "stream": "stdout"}), "seq": i})
    state.apply(make_event("output", {"message": "x" * (TEXT_CHARS * 10), "stream": "stdout"}))
    assert len(state.output) == OUTPUT_LINES
    assert state.output_count == OUTPUT_LINES * 5 + 1
    assert len(state.output[-1]["text"]) < TEXT_CHARS + 50


def test_node_messages_are_bounded():
    events = [
        ("dag_created", template_for("one-shot")),
        ("dag_node_update", {"node_id": "execute", "status": "running"}),
    ]
    events += [("output", {"message": f"m{i}", "agent": "engineer"}) for i in range(50)]
    state = RunState.from_events(_events(*events))
    assert [m["text"] for m in state.nodes["execute"]["messages"]] == [
        f"m{i}" for i in range(50 - NODE_MESSAGES, 50)
    ]


def test_a_snapshot_is_json_and_can_be_rebuilt_from_the_event_log_alone():
    events = _planning_run()
    live = RunState("t", mode="planning-control")
    for event in events:
        live.apply(event)
    snapshot = live.snapshot()
    assert json.loads(json.dumps(snapshot)) == snapshot
    rebuilt = RunState.from_events(json.loads(json.dumps(events)), mode="planning-control")
    assert rebuilt.snapshot() == snapshot


def test_a_snapshot_is_a_copy_not_a_view():
    state = RunState.from_events(_planning_run())
    snapshot = state.snapshot()
    snapshot["dag"]["nodes"]["planning"]["status"] = "tampered"
    assert state.nodes["planning"]["status"] == "completed"


def test_the_summary_is_compact_and_has_no_traceback():
    state = RunState.from_events(
        _events(
            ("dag_created", template_for("one-shot")),
            ("error", {"message": "boom", "error_type": "X", "traceback": "long"}),
        )
    )
    summary = state.summary()
    assert summary["status"] == "failed"
    assert summary["error"] == {"message": "boom", "error_type": "X"}
    assert summary["nodes"] == {"start": "pending", "execute": "pending", "end": "pending"}


def test_input_requests_are_shown_until_answered():
    state = RunState.from_events(_events(("input_request", {"request_id": "r1", "prompt": "go?"})))
    assert state.snapshot()["input_request"] == {"request_id": "r1", "prompt": "go?"}
    state.apply(make_event("input_response", {"request_id": "r1"}))
    assert state.input_request is None


def test_a_terminal_status_is_not_overwritten_by_late_status_events():
    state = RunState.from_events(
        _events(("complete", {"status": "cancelled"}), ("status", {"status": "running"}))
    )
    assert state.status == "cancelled"


def test_restore_is_the_inverse_of_snapshot_and_keeps_the_object():
    original = RunState.from_events(_planning_run(), session_id="s", mode="planning-control")
    held = RunState("late-joiner")
    restored = held.restore(original.snapshot())
    assert restored is held  # a widget holding the state keeps working
    assert held.snapshot() == original.snapshot()
    more = _events(("output", {"message": "after the snapshot", "stream": "stdout"}))[0]
    more["seq"] = original.last_seq + 1
    assert held.apply(more).snapshot() == original.apply(more).snapshot()  # the reducer goes on from there


def _mixed_run(rng):
    """A run with printed lines of every shape among the events that change what they are noted on."""
    pairs = [("dag_created", template_for("planning-control")), ("status", {"status": "running"})]
    nodes = ["planning", "step_1", "step_2", "nowhere"]
    for i in range(3000):
        roll = rng.random()
        if roll < 0.85:
            data = {"message": rng.choice([f"line {i}", "x" * rng.randint(0, 3 * TEXT_CHARS), i, None])}
            for key, values in (
                ("stream", ["agent", "stdout", "protocol", "warnings", None, ["unhashable"]]),
                ("agent", ["engineer", None]),
            ):
                if rng.random() < 0.7:
                    data[key] = rng.choice(values)
            pairs.append(("output", data))
        elif roll < 0.92:
            pairs.append(("dag_node_update", {"node_id": rng.choice(nodes), "status": "running"}))
        elif roll < 0.96:
            pairs.append(("message", {"agent": "engineer", "content": f"said {i}", "message_id": i}))
        else:
            pairs.append(("phase_change", {"phase": "control", "step": rng.randint(1, 2)}))
    events = _events(*pairs)
    for event in rng.sample(events, 50):
        event["ts"] = None  # a replayed log may lack them: started_at is the first time seen
    return events


def test_folding_a_batch_is_folding_its_events_one_by_one():
    """``apply_many`` (the host's batch path for floods of printed lines) builds exactly the state
    ``apply`` builds event by event: console lines, counts, node messages, sequence and times."""
    import random

    for seed in range(5):
        events = _mixed_run(random.Random(seed))
        one_by_one, batched = RunState("t"), RunState("t")
        for event in events:
            one_by_one.apply(event)
        cut = random.Random(seed).sample(range(1, len(events)), 40)
        for start, end in zip([0, *sorted(cut)], [*sorted(cut), len(events)], strict=True):
            batched.apply_many(events[start:end])
        assert batched.snapshot() == one_by_one.snapshot()
        assert batched.output_count == one_by_one.output_count > OUTPUT_LINES


def test_a_batch_of_printed_lines_keeps_the_running_nodes_last_messages():
    state = RunState("t")
    state.apply_many(
        _events(
            ("dag_created", template_for("one-shot")),
            ("dag_node_update", {"node_id": "execute", "status": "running"}),
        )
    )
    lines = [("output", {"message": f"m{i}", "stream": "agent"}) for i in range(10)]
    state.apply_many(_events(*lines, ("output", {"message": "hidden", "stream": "protocol"})))
    messages = state.snapshot()["dag"]["nodes"]["execute"]["messages"]
    assert [m["text"] for m in messages] == [f"m{i}" for i in range(10 - NODE_MESSAGES, 10)]

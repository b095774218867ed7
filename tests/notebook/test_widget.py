"""RunWidget: coalesced live updates (never a comm message per event), the exact final state, the
browser's cancel and input messages, and the static view a saved notebook shows."""

from __future__ import annotations

import base64
import re
import time

import pytest

from cmbjupyter.errors import TaskCancelled
from cmbjupyter.notebook import static_bundle
from cmbjupyter.runs import prepare_in_kernel
from cmbjupyter.state import RunState
from cmbjupyter.static_html import render_html, usd
from cmbjupyter.view import RunView
from cmbjupyter.widget import RunWidget
from tests.waiting import wait_until

FLOOD = """
phase('planning')
emit.cost('gpt-4o-mini', 1000, 200, agent='planner')
phase('control', step=1)
for i in range(100_000):
    emit.output(f'line {i}', agent='engineer')
emit.cost('gpt-4o-mini', 3000, 500, agent='engineer')
result = 'done'
"""


@pytest.fixture(autouse=True)
def sessions_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CMBJUPYTER_SESSIONS_DIR", str(tmp_path / "sessions"))


class CountedWidget:
    """Counts the comm messages a RunWidget sends (every send_state is one comm message)."""

    def __init__(self, widget: RunWidget) -> None:
        self.messages: list[tuple[float, tuple[str, ...]]] = []
        send_state = widget.send_state

        def counted(key=None):
            keys = (key,) if isinstance(key, str) else tuple(key or ())
            self.messages.append((time.monotonic(), keys))
            return send_state(key)

        widget.send_state = counted


def live_run(task: str, **config):
    run = prepare_in_kernel(task, {"engine": "python", "mode": "planning-control", **config})
    view = RunView(run)
    view.counted = CountedWidget(view.widget)
    for sink in view.sinks(run.state):
        run.subscribe(sink)
    return run.start(), view


def test_a_100k_event_run_reaches_the_widget_coalesced_and_ends_in_the_exact_state():
    started = time.monotonic()
    run, view = live_run(FLOOD)
    run.wait(timeout=120)
    elapsed = time.monotonic() - started
    widget, messages = view.widget, view.counted.messages
    assert len(messages) <= 20 * elapsed + 3, f"{len(messages)} messages in {elapsed:.1f} s"
    final = run.state.snapshot()
    assert widget.console["count"] == final["output_count"] >= 100_000
    assert widget.console["lines"][-1]["text"] == "line 99999"
    assert widget.run["status"] == "completed"
    assert widget.cost["total_usd"] == pytest.approx(final["cost"]["total_usd"]) and widget.cost["calls"] == 2
    assert {n["status"] for n in widget.dag["nodes"].values()} <= {"completed", "skipped"}
    assert all(len(keys) >= 1 for _, keys in messages), "each message carries the parts that changed"


def test_only_the_parts_that_changed_are_synced():
    state = RunState(task_id="t1", mode="one-shot")
    widget = RunWidget(state.snapshot())
    assert widget.update_from(state.snapshot()) == []
    for seq, text in ((1, "hello"), (2, "again")):
        ts = "2026-01-01T00:00:00+00:00"
        state.apply({"v": 1, "seq": seq, "type": "output", "ts": ts, "data": {"message": text}})
        changed = widget.update_from(state.snapshot())
    assert changed == ["console"]
    assert widget.console["lines"][-1]["text"] == "again"


def test_cancel_from_the_browser_ends_the_run_cancelled():
    run, view = live_run("import time\nphase('planning')\ntime.sleep(60)")
    wait_until(lambda: run.state.phase == "planning", what="the planning phase")
    view.widget._handle_message(view.widget, {"type": "cancel"}, [])
    with pytest.raises(TaskCancelled):
        run.wait(timeout=30)
    assert run.status == "cancelled"


def test_an_answer_typed_in_the_browser_reaches_the_task():
    run, view = live_run("answer = emit.ask('Which dataset?')\nresult = answer", mode="hitl")
    wait_until(lambda: run.state.input_request, what="the question")
    view.widget._handle_message(view.widget, {"type": "input", "text": "planck"}, [])
    assert run.wait(timeout=30)["result"] == "planck"
    view.widget._handle_message(view.widget, {"type": "bogus"}, [])  # ignored, not an error
    view.widget._handle_message(view.widget, "not a dict", [])


def test_the_static_view_shows_every_node_its_status_and_the_cost_without_script():
    run, _ = live_run("phase('planning')\nemit.cost('gpt-4o-mini', 1000, 200, agent='planner')\nresult = 1")
    run.wait(timeout=30)
    snapshot = run.state.snapshot()
    html = render_html(snapshot)
    for node_id, node in snapshot["dag"]["nodes"].items():
        assert f'data-node-id="{node_id}" data-status="{node["status"]}"' in html
    assert usd(snapshot["cost"]["total_usd"]) in html and "gpt-4o-mini" in html
    assert "<script" not in html and "completed" in html
    data, metadata = static_bundle(run)
    assert data["text/html"] == html
    assert data["application/vnd.cmbagent.run+json"]["status"] == "completed"
    assert metadata["cmbagent"]["session"]["status"] == "completed"


def test_hostile_labels_are_escaped_in_the_static_view():
    state = RunState(task_id="t1", mode="one-shot")
    state.apply(
        {
            "v": 1,
            "seq": 1,
            "type": "dag_created",
            "ts": "2026-01-01T00:00:00+00:00",
            "data": {"nodes": [{"id": "<x>", "label": "<img src=x onerror=alert(1)>"}], "edges": []},
        }
    )
    html = render_html(state.snapshot())
    assert html.count("<img") == 1 and 'class="cmb-dag-picture"' in html  # the DAG picture only
    assert "&lt;img" in html and "<img src=x" not in html
    picture = base64.b64decode(re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', html)[1]).decode()
    assert "&lt;img" in picture and "<img" not in picture


def test_a_300_node_dag_renders_to_a_bounded_static_view():
    nodes = [{"id": f"step_{i}", "label": f"Step {i}"} for i in range(300)]
    edges = [{"source": f"step_{i}", "target": f"step_{i + 1}"} for i in range(299)]
    state = RunState(task_id="t1", mode="planning-control")
    state.apply(
        {"v": 1, "seq": 1, "type": "dag_created", "ts": "x", "data": {"nodes": nodes, "edges": edges}}
    )
    html = render_html(state.snapshot())
    assert len(re.findall(r"data-node-id=", html)) == 300
    assert len(html) < 200_000


def test_a_plan_edited_and_approved_in_the_browser_is_the_one_that_runs():
    task = "steps = approved_plan(lambda fb: [{'sub_task': 'a'}, {'sub_task': 'b'}])\nresult = steps"
    run, view = live_run(task, approve_plan=True)
    wait_until(lambda: run.status == "awaiting_approval", what="the plan")
    sent: list = []
    view.widget.send = lambda content, buffers=None: sent.append(content)
    view.widget._handle_message(view.widget, {"type": "approve", "plan": [{"bullets": ["x"]}]}, [])
    assert sent and sent[-1]["type"] == "plan_error" and "plan step 1: 'sub_task'" in sent[-1]["message"]
    edited = [{"sub_task": "b", "agent": "engineer", "bullets": ["fast"]}]
    view.widget._handle_message(view.widget, {"type": "approve", "plan": edited}, [])
    assert run.wait(timeout=30)["result"] == [
        {"step": 1, "sub_task": "b", "agent": "engineer", "bullets": ["fast"]}
    ]
    wait_until(lambda: (view.widget.run.get("plan") or {}).get("status") == "approved", what="the widget")


def test_transcript_items_travel_beside_the_trait_once_each_and_again_to_a_view_that_asks():
    from tests.notebook.test_results_view import Sent

    run = prepare_in_kernel(
        "for i in range(1200):\n    emit.message(f'message {i}', agent='engineer')\n"
        "emit.code_execution('python', 'import camb', exit_code=1, agent='engineer')",
        {"engine": "python", "mode": "one-shot"},
    )
    view = RunView(run)
    sent = Sent(view.widget)
    for sink in view.sinks(run.state):
        run.subscribe(sink)
    run.start().wait(timeout=60)
    widget = view.widget
    assert widget.transcript == {"count": 1201, "dropped": 201, "last_id": 1201}
    pushed = [content for content, _ in sent.messages if content["type"] == "transcript"]
    assert all(len(m["items"]) <= 500 and "reset" not in m for m in pushed)
    ids = [item["id"] for m in pushed for item in m["items"]]
    assert ids == sorted(set(ids)), "each item once, in order"
    assert set(range(202, 1202)) <= set(ids), "every kept item reached the browser"
    assert widget.run["outcome"]["status"] == "completed_with_errors", "the run part carries the outcome"

    sent.messages.clear()  # a view rendered again (a page reload) asks for everything kept
    widget._handle_message(widget, {"type": "transcript", "since": 0}, [])
    replies = [content for content, _ in sent.messages]
    assert [len(r["items"]) for r in replies] == [500, 500] and replies[0]["reset"] is True
    assert replies[0]["items"][0]["id"] == 202 and "reset" not in replies[1]
    sent.messages.clear()
    widget._handle_message(widget, {"type": "transcript", "since": 1195}, [])
    assert [i["id"] for i in sent.messages[0][0]["items"]] == list(range(1196, 1202))
    sent.messages.clear()
    widget._handle_message(widget, {"type": "transcript", "since": "bogus"}, [])  # read as 0
    assert sent.messages[0][0]["reset"] is True

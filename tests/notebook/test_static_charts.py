"""The static copy of a run carries its timeline and cost chart (SVG from the snapshot, as ``<img>``
data URLs that survive HTML sanitizers): one bar per step that ran, a tick per LLM call, the
cumulative cost and the budget line."""

from __future__ import annotations

import base64
import re

from cmbjupyter.state import RunState
from cmbjupyter.static_html import render_html


def ev(seq: int, kind: str, second: int, **data) -> dict:
    return {"type": kind, "seq": seq, "ts": f"2026-11-30T10:00:{second:02d}+00:00", "data": data}


def planned_run() -> RunState:
    state = RunState("t1", mode="planning-control", budget_usd=0.05)
    events = [
        ev(
            1,
            "dag_created",
            0,
            nodes=[
                {"id": "start", "label": "Start", "type": "start", "status": "pending"},
                {"id": "end", "label": "End", "type": "end", "status": "pending"},
            ],
            edges=[{"source": "start", "target": "end"}],
        ),
    ]
    seq = 2
    for n in (1, 2, 3):
        events.append(ev(seq, "dag_node_add", n, node_id=f"step_{n}", label=f"Step {n}", type="step"))
        seq += 1
    for n in (1, 2, 3):
        events.append(ev(seq, "dag_node_update", 10 * n, node_id=f"step_{n}", status="running"))
        events.append(
            ev(
                seq + 1,
                "cost_update",
                10 * n + 2,
                model="gpt-4o-mini",
                agent="engineer",
                input_tokens=10,
                output_tokens=2,
                cost=0.01,
            )
        )
        events.append(ev(seq + 2, "dag_node_update", 10 * n + 5, node_id=f"step_{n}", status="completed"))
        seq += 3
    events.append(ev(seq, "complete", 40, status="success"))
    for event in events:
        state.apply(event)
    return state


def pictures(html: str) -> str:
    """The SVG of each chart picture in ``html`` (never inline: sanitizers drop inline SVG)."""
    assert "<svg" not in html
    found = re.findall(
        r'<img class="cmb-(?:timeline|cost-chart)-picture" [^>]*src="data:image/svg\+xml;base64,([^"]+)"',
        html,
    )
    return "".join(base64.b64decode(data).decode() for data in found)


def test_the_static_copy_has_one_bar_per_step_the_calls_and_the_budget_line():
    html = pictures(render_html(planned_run().snapshot()))
    assert 'class="cmb-timeline"' in html and 'class="cmb-cost-chart"' in html
    for n in (1, 2, 3):
        assert len(re.findall(rf'<g data-node-id="step_{n}" data-kind="step">.*?<rect', html)) == 1
    ticks = re.search(r'<g data-agent="engineer" data-kind="agent">.*?<path d="([^"]+)"', html).group(1)
    assert ticks.count("M") == 3
    assert 'data-key="total"' in html and "budget $0.0500" in html
    assert "<script" not in html


def test_a_run_that_has_not_started_has_no_charts():
    assert "cmb-timeline" not in render_html(RunState("t0").snapshot())

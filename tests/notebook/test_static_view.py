"""The static copy of a run stays readable through an HTML sanitizer (issue 15, item 3).

A fresh clone is untrusted: JupyterLab (and GitHub) sanitize the saved ``text/html``. Whatever a
sanitizer drops (inline SVG, images, styles), the DAG must still read as one row per node, never
as loose labels run together."""

from __future__ import annotations

import base64
import itertools
import re
from html.parser import HTMLParser

import bleach

from cmbjupyter.state import RunState
from cmbjupyter.static_html import render_html

#: A strict sanitizer: text markup and tables only (no SVG, no images, no attributes).
TEXT_TAGS = {"div", "p", "strong", "em", "code", "table", "thead", "tbody", "tr", "th", "td"}


class _Rows(HTMLParser):
    """The text of each table row, cells joined by " | "."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def _state() -> RunState:
    state = RunState(task_id="t1", mode="planning-control")
    nodes = [
        {"id": "start", "label": "Start", "type": "start"},
        {"id": "planning", "label": "Planning", "agent": "planner"},
        {"id": "step_1", "label": "Sample the spectrum of a 2.7255 K black body", "agent": "engineer"},
        {"id": "end", "label": "End", "type": "end"},
    ]
    edges = [{"source": a["id"], "target": b["id"]} for a, b in itertools.pairwise(nodes)]
    events = [
        ("dag_created", "2026-01-01T00:00:00+00:00", {"nodes": nodes, "edges": edges}),
        ("dag_node_update", "2026-01-01T00:00:01+00:00", {"node_id": "planning", "status": "running"}),
        ("dag_node_update", "2026-01-01T00:00:03.5+00:00", {"node_id": "planning", "status": "completed"}),
        ("dag_node_update", "2026-01-01T00:00:04+00:00", {"node_id": "step_1", "status": "failed"}),
    ]
    for seq, (kind, ts, data) in enumerate(events, 1):
        state.apply({"v": 1, "seq": seq, "type": kind, "ts": ts, "data": data})
    return state


def test_the_dag_reads_as_one_row_per_node_through_a_sanitizer_that_drops_svg_and_images():
    html = render_html(_state().snapshot())
    clean = bleach.clean(html, tags=TEXT_TAGS, attributes={}, strip=True)
    parser = _Rows()
    parser.feed(clean)
    rows = {row[0]: row[1:] for row in parser.rows if row}
    assert rows["step"] == ["status", "agent", "time", "cost"]
    assert rows["Start"][0] == "pending"
    assert rows["Planning"][:3] == ["completed", "planner", "2.5 s"]
    assert rows["Sample the spectrum of a 2.7255 K black body"][:2] == ["failed", "engineer"]  # never cut
    assert rows["End"][0] == "pending"
    assert "(completed)" not in clean and "StartPlanning" not in re.sub(r"\s+", "", clean)


def test_the_dag_picture_is_a_self_contained_image_of_every_node():
    html = render_html(_state().snapshot())
    assert "<svg" not in html  # inline SVG is what sanitizers garble
    match = re.search(
        r'<img class="cmb-dag-picture" alt="([^"]+)" src="data:image/svg\+xml;base64,([^"]+)"', html
    )
    assert match and "4 nodes" in match[1]
    picture = base64.b64decode(match[2]).decode()
    assert picture.startswith("<svg") and picture.count("<rect") == 4
    assert "Planning (completed)" in picture and "http" not in picture.replace(
        "http://www.w3.org/2000/svg", ""
    )


def test_plan_steps_added_after_end_are_listed_and_drawn_before_it():
    state = RunState(task_id="t1", mode="planning-control")
    nodes = [
        {"id": "start", "label": "Start"},
        {"id": "planning", "label": "Planning"},
        {"id": "end", "label": "End"},
    ]
    edges = [{"source": "start", "target": "planning"}, {"source": "planning", "target": "end"}]
    state.apply(
        {"v": 1, "seq": 1, "type": "dag_created", "ts": "x", "data": {"nodes": nodes, "edges": edges}}
    )
    for seq, (node_id, after) in enumerate([("step_1", "planning"), ("step_2", "step_1")], 2):
        data = {
            "node_id": node_id,
            "label": node_id.replace("_", " ").title(),
            "after": after,
            "before": "end",
        }
        state.apply({"v": 1, "seq": seq, "type": "dag_node_add", "ts": "x", "data": data})
    html = render_html(state.snapshot())
    assert re.findall(r'<tr data-node-id="([^"]+)"', html) == ["start", "planning", "step_1", "step_2", "end"]
    picture = base64.b64decode(re.search(r'base64,([^"]+)"', html)[1]).decode()
    tops = {
        label: float(y)
        for y, label in re.findall(r'<text x="[\d.]+" y="([\d.]+)"[^>]*>([^<]+)</text>', picture)
    }
    assert tops["Start"] < tops["Planning"] < tops["Step 1"] < tops["Step 2"] < tops["End"], tops


def test_the_outcome_line_and_answer_read_through_a_sanitizer():
    """The saved copy says what happened, as the widget's outcome line does (issue 14's outcome)."""
    state = _state()
    state.apply(
        {
            "v": 1,
            "seq": 9,
            "type": "result",
            "ts": "2026-01-01T00:00:05+00:00",
            "data": {"result": {"final_answer": "T = 2.7255 K <fits>"}},
        }
    )
    state.apply(
        {
            "v": 1,
            "seq": 10,
            "type": "complete",
            "ts": "2026-01-01T00:00:06+00:00",
            "data": {"status": "success"},
        }
    )
    snapshot = state.snapshot()
    assert snapshot["outcome"]["label"]
    clean = bleach.clean(render_html(snapshot), tags=TEXT_TAGS, attributes={}, strip=True)
    text = re.sub(r"<[^>]+>", "", clean)
    assert f"Outcome: {snapshot['outcome']['label']}" in text
    assert "Answer: T = 2.7255 K &lt;fits&gt;" in text, "the answer is text, escaped"
    assert "Outcome:" not in render_html(_state().snapshot()), "a run still going has no outcome line"

"""The static view of a run: status, DAG, cost table and the list of its files, as one HTML
fragment (its plots are saved as image outputs beside it: cmbjupyter.notebook).

This is what GitHub, nbviewer and ``jupyter nbconvert --to html`` show, where no widget can run,
and what JupyterLab shows of an untrusted notebook, through its HTML sanitizer. So the DAG is told
twice: as a table of its nodes (plain table markup, which every sanitizer keeps: readable anywhere)
and, as an enhancement, as a picture: an SVG drawn here, embedded as an ``<img>`` data URL. An
inline ``<svg>`` would be dropped by sanitizers, leaving its labels run together as loose text; an
image is either shown whole or not at all. It has no script and no external resource. The layout is
deliberately simple (layers by longest path, top to bottom) since the live widget uses dagre; node
colours and dollar formatting match the widget.
"""

from __future__ import annotations

import graphlib
from collections.abc import Mapping
from datetime import datetime
from html import escape
from typing import Any, Final

from ._charts import charts_html, svg_image

__all__ = ["render_html", "usd"]

#: The most files listed by name (the rest are counted).
FILES_LISTED: Final = 100
BOX_STYLE: Final = (
    "font-family:sans-serif;font-size:13px;border:1px solid #d0d7de;border-radius:6px;padding:8px"
)
#: The DAG picture's node box, gaps and margin (pixels).
NODE_W, NODE_H, GAP_X, GAP_Y, MARGIN = 150, 34, 18, 26, 8
#: Where the node table scrolls (a 300-step plan stays a box, not a page).
TABLE_STYLE: Final = "max-height:320px;overflow:auto;margin:4px 0"
COLOURS = {
    "pending": ("#ffffff", "#8c959f"),
    "running": ("#ffffff", "#0969da"),
    "completed": ("#dafbe1", "#1a7f37"),
    "failed": ("#ffebe9", "#cf222e"),
    "skipped": ("#ffffff", "#bf8700"),
    "cancelled": ("#fff8c5", "#bf8700"),
}


def usd(value: float | None) -> str:
    """Dollars as the widget shows them: 2 decimals from $1, else 4."""
    v = float(value or 0.0)
    return f"${v:.{2 if abs(v) >= 1 else 4}f}"


def _layers(nodes: list[Mapping[str, Any]], edges: list[Mapping[str, Any]]) -> dict[str, int]:
    """Each node's layer: the longest path from a source. Edges that would close a cycle (the back
    edges of a depth-first walk in node order) are ignored; plan steps added after End still come
    before it, as their edges say."""
    ids = [str(n["id"]) for n in nodes]
    out: dict[str, list[str]] = {i: [] for i in ids}
    for edge in edges:
        source, target = str(edge["source"]), str(edge["target"])
        if source in out and target in out and source != target:
            out[source].append(target)
    kept: dict[str, list[str]] = {i: [] for i in ids}
    seen: dict[str, bool] = {}  # node -> still on the walk's stack
    for root in ids:
        if root in seen:
            continue
        seen[root] = True
        stack = [(root, iter(out[root]))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                seen[node] = False
                stack.pop()
            elif not seen.get(child, False):
                kept[node].append(child)
                if child not in seen:
                    seen[child] = True
                    stack.append((child, iter(out[child])))
    before: dict[str, list[str]] = {i: [] for i in ids}
    for source, targets in kept.items():
        for target in targets:
            before[target].append(source)
    layer = dict.fromkeys(ids, 0)
    for node in graphlib.TopologicalSorter(before).static_order():
        for target in kept[node]:
            layer[target] = max(layer[target], layer[node] + 1)
    return layer


def _nodes(dag: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The nodes top to bottom: by layer, then in the order they were added."""
    nodes = sorted((dag.get("nodes") or {}).values(), key=lambda n: n.get("order", 0))
    layer = _layers(nodes, dag.get("edges") or [])
    return sorted(nodes, key=lambda n: layer[str(n["id"])])


def _svg(dag: Mapping[str, Any]) -> str:
    """The DAG drawn as a standalone SVG document (for the picture)."""
    nodes = _nodes(dag)
    layer = _layers(nodes, dag.get("edges") or [])
    rows: dict[int, list[str]] = {}
    for node in nodes:
        rows.setdefault(layer[str(node["id"])], []).append(str(node["id"]))
    width = max(len(r) for r in rows.values()) * (NODE_W + GAP_X) - GAP_X + 2 * MARGIN
    height = (max(rows) + 1) * (NODE_H + GAP_Y) - GAP_Y + 2 * MARGIN
    centre: dict[str, tuple[float, float]] = {}
    for depth, ids in rows.items():
        offset = (width - (len(ids) * (NODE_W + GAP_X) - GAP_X)) / 2
        for i, node_id in enumerate(ids):
            x = offset + i * (NODE_W + GAP_X) + NODE_W / 2
            centre[node_id] = (x, MARGIN + depth * (NODE_H + GAP_Y) + NODE_H / 2)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="12">'
    ]
    for edge in dag.get("edges") or []:
        a, b = centre.get(str(edge["source"])), centre.get(str(edge["target"]))
        if a and b:
            parts.append(
                f'<line x1="{a[0]:.0f}" y1="{a[1] + NODE_H / 2:.0f}" '
                f'x2="{b[0]:.0f}" y2="{b[1] - NODE_H / 2:.0f}" stroke="#8c959f" stroke-width="1.2"/>'
            )
    for node in nodes:
        status = str(node.get("status") or "pending")
        fill, stroke = COLOURS.get(status, COLOURS["pending"])
        x, y = centre[str(node["id"])]
        label = str(node.get("label") or node["id"])
        short = label if len(label) <= 22 else label[:21] + "…"
        restored = ", restored: not re-run" if node.get("restored") else ""
        width = 3 if status == "running" else 1.5
        dashed = ' stroke-dasharray="2 2"' if restored else ""
        parts.append(
            f'<g data-node-id="{escape(str(node["id"]))}" data-status="{escape(status)}">'
            f"<title>{escape(label)} ({escape(status)}{restored})</title>"
            f'<rect x="{x - NODE_W / 2:.0f}" y="{y - NODE_H / 2:.0f}" width="{NODE_W}" height="{NODE_H}" '
            f'rx="6" fill="{fill}" stroke="{stroke}" stroke-width="{width}"{dashed}/>'
            f'<text x="{x:.0f}" y="{y + 4:.0f}" text-anchor="middle" fill="#1f2328">{escape(short)}</text>'
            "</g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _picture(dag: Mapping[str, Any]) -> str:
    """The DAG as an ``<img>`` of the SVG (a data URL: no external resource)."""
    count = len(dag.get("nodes") or {})
    alt = f"DAG of the run ({count} nodes; listed below)"
    picture = svg_image(_svg(dag), cls="cmb-dag-picture", alt=alt)
    return f'<div style="max-height:380px;overflow:auto">{picture}</div>'


def _seconds(start: Any, end: Any) -> str:
    """Seconds between two ISO timestamps, as the widget shows them ("" when unknown)."""
    try:
        t0, t1 = datetime.fromisoformat(str(start)), datetime.fromisoformat(str(end))
    except ValueError:
        return ""
    return f"{(t1 - t0).total_seconds():.1f} s"


def _node_table(dag: Mapping[str, Any]) -> str:
    """Every node of the DAG as a table row: the DAG readable where the picture is not shown."""
    rows = []
    for node in _nodes(dag):
        status = str(node.get("status") or "pending")
        colour = COLOURS.get(status, COLOURS["pending"])[1]
        cost = node.get("cost_usd")
        restored = ", restored: not re-run" if node.get("restored") else ""
        rows.append(
            f'<tr data-node-id="{escape(str(node["id"]))}" data-status="{escape(status)}">'
            f"<td>{escape(str(node.get('label') or node['id']))}</td>"
            f'<td style="color:{colour}">{escape(status)}{restored}</td>'
            f"<td>{escape(str(node.get('agent') or ''))}</td>"
            f"<td>{_seconds(node.get('started_at'), node.get('ended_at'))}</td>"
            f"<td>{usd(cost) if cost else ''}</td></tr>"
        )
    return (
        f'<div class="cmb-dag-table" style="{TABLE_STYLE}"><table><thead><tr><th>step</th><th>status</th>'
        "<th>agent</th><th>time</th><th>cost</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div>"
    )


def _dag(dag: Mapping[str, Any]) -> str:
    if not dag.get("nodes"):
        return "<p><em>No DAG.</em></p>"
    return _picture(dag) + _node_table(dag)


def _cost_table(cost: Mapping[str, Any]) -> str:
    rows = []
    for group in ("by_model", "by_agent"):
        for name, bucket in sorted((cost.get(group) or {}).items()):
            rows.append(
                f"<tr><td>{group[3:]}</td><td>{escape(str(name))}</td><td>{bucket.get('calls', 0)}</td>"
                f"<td>{bucket.get('input_tokens', 0):,}</td><td>{bucket.get('output_tokens', 0):,}</td>"
                f"<td>{usd(bucket.get('usd'))}</td></tr>"
            )
    budget = cost.get("budget_usd")
    budget_text = f" of {usd(budget)} budget" if budget else ""
    if cost.get("exceeded"):
        budget_text += " (exceeded)"
    elif cost.get("warning"):
        budget_text += " (warning)"
    head = (
        f'<p><strong class="cmb-cost-total">{usd(cost.get("total_usd"))}</strong>{budget_text} · '
        f"{cost.get('input_tokens', 0):,} in / {cost.get('output_tokens', 0):,} out tokens · "
        f"{cost.get('calls', 0)} calls</p>"
    )
    carried = cost.get("carried")
    if carried:
        head += (
            f'<p class="cmb-carried">+ {usd(carried.get("total_usd"))} carried from '
            f"{escape(', '.join(str(e.get('session_id')) for e in carried.get('sessions') or []))} = "
            f"{usd(cost.get('grand_total_usd'))} in all</p>"
        )
    if not rows:
        return head
    return (
        head
        + "<table><thead><tr><th></th><th>name</th><th>calls</th><th>in</th><th>out</th><th>USD</th></tr>"
        "</thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _size(n: Any) -> str:
    v = float(n or 0)
    if v < 1024:
        return f"{v:.0f} B"
    return f"{v / 1024:.1f} KB" if v < 1024 * 1024 else f"{v / 1024 / 1024:.1f} MB"


def _files(snapshot: Mapping[str, Any]) -> str:
    manifest = snapshot.get("artifacts") or {}
    items = list(manifest.get("items") or [])
    if not items:
        return ""
    rows = "".join(
        f'<tr data-path="{escape(str(r.get("path")))}"><td>{escape(str(r.get("path")))}</td>'
        f"<td>{escape(str(r.get('category') or 'other'))}</td><td>{_size(r.get('size'))}</td>"
        f"<td>{escape(str(r.get('step') if r.get('step') is not None else ''))}</td></tr>"
        for r in items[:FILES_LISTED]
    )
    more = len(items) - FILES_LISTED + int(manifest.get("dropped") or 0)
    folder = snapshot.get("work_dir")
    total = len(items) + int(manifest.get("dropped") or 0)
    return (
        f'<div class="cmb-files-static"><p><strong>Files</strong> ({total})'
        + (f" in <code>{escape(str(folder))}</code>" if folder else "")
        + "</p><table><thead><tr><th>path</th><th>category</th><th>size</th><th>step</th></tr></thead><tbody>"
        + rows
        + "</tbody></table>"
        + (f"<p>… and {more:,} more</p>" if more > 0 else "")
        + "</div>"
    )


def _outcome(outcome: Any) -> str:
    """The outcome line the widget shows (``_verdict.py``: what happened, in words) and the run's
    final answer, as plain text (a sanitizer keeps them)."""
    if not isinstance(outcome, Mapping) or not outcome.get("label"):
        return ""
    status = str(outcome.get("status") or "")
    label = escape(str(outcome["label"]))
    html = f'<div class="cmb-outcome" data-outcome="{escape(status)}"><strong>Outcome:</strong> {label}</div>'
    answer = outcome.get("final_answer")
    if isinstance(answer, str) and answer.strip():
        html += f'<div style="white-space:pre-wrap"><strong>Answer:</strong> {escape(answer)}</div>'
    return html


def render_html(snapshot: Mapping[str, Any]) -> str:
    """The whole static view of a RunState snapshot (see module docstring)."""
    status = str(snapshot.get("status") or "pending")
    where = " · ".join(
        str(bit)
        for bit in (
            snapshot.get("mode"),
            snapshot.get("phase") and f"phase {snapshot['phase']}",
            snapshot.get("step") is not None and f"step {snapshot['step']}",
            snapshot.get("session_id") and f"session {snapshot['session_id']}",
        )
        if bit
    )
    error = snapshot.get("error") or {}
    restart = snapshot.get("restart") or {}
    message = error.get("message") or snapshot.get("message") or ""
    colour = COLOURS.get(status, ("", "#57606a"))[1] if status != "cancelled" else "#bf8700"
    return (
        f'<div class="cmbjupyter-run-static" data-status="{escape(status)}" '
        f'style="{BOX_STYLE}">'
        f'<div><strong style="color:{colour}">{escape(status)}</strong> {escape(where)}</div>'
        + _outcome(snapshot.get("outcome"))
        + (f'<div style="white-space:pre-wrap">{escape(str(message))}</div>' if message else "")
        + (f"<div>{escape(str(restart['message']))}</div>" if restart.get("message") else "")
        + _dag(snapshot.get("dag") or {})
        + _cost_table(snapshot.get("cost") or {})
        + charts_html(snapshot)  # the timeline and the cost chart (cmbjupyter/_charts.py)
        + _files(snapshot)
        + "</div>"
    )

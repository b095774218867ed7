"""The timeline and the cost chart of a run as inline SVG, for the static copy of its output.

The live widget draws them in the browser (``js/src/timeline.js``); a saved notebook shown where no
widget runs (GitHub, nbviewer, ``nbconvert``) gets the same two pictures from here, laid out from
the same RunState snapshot: a Gantt of the nodes that ran, coloured by status, with each agent's
LLM calls as ticks (``cost.points``), and the cumulative cost in total and by agent against the
budget line. No script, no external resource, inline styles only.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime
from html import escape
from typing import Any, Final

__all__ = ["charts_html", "svg_image"]

#: Width of both charts, the row labels' share, a row's and the axis' height (as the widget's).
WIDTH: Final = 560
LABEL_W: Final = 150
ROW_H: Final = 16
AXIS_H: Final = 18
CHART_H: Final = 120
#: The most node rows drawn (the latest started).
MAX_ROWS: Final = 40
#: Bar colours by node status (the widget's).
BAR: Final = {
    "pending": "#8c959f",
    "running": "#0969da",
    "completed": "#1a7f37",
    "failed": "#cf222e",
    "skipped": "#bf8700",
    "cancelled": "#bf8700",
}
#: Line colours of the agents, in order (the widget's palette).
PALETTE: Final = ("#0969da", "#8250df", "#1a7f37", "#bf8700", "#cf222e", "#0a7ea4", "#6e7781")
_TEXT: Final = 'font-family="sans-serif" font-size="10"'


def _ms(value: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(value)).timestamp() * 1000
    except (TypeError, ValueError):
        return None


def _clock(seconds: float) -> str:
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


def _usd(v: float) -> str:
    return f"${v:.{2 if abs(v) >= 1 else 4}f}"


def _cut(text: Any, n: int = 24) -> str:
    s = str(text or "")
    return s if len(s) <= n else s[: n - 1] + "…"


def _layout(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """The geometry ``js/src/timeline.js``'s ``chartsOf`` computes, from a snapshot."""
    cost = snapshot.get("cost") or {}
    nodes = sorted(
        (
            n
            for n in ((snapshot.get("dag") or {}).get("nodes") or {}).values()
            if _ms(n.get("started_at")) is not None and n.get("type") not in ("start", "end")
        ),
        key=lambda n: n.get("order", 0),
    )
    points = [p for p in cost.get("points") or () if _ms(p.get("ts")) is not None]
    end = _ms(snapshot.get("ended_at")) or _ms(snapshot.get("updated_at"))
    starts = [_ms(snapshot.get("started_at")), *(_ms(n["started_at"]) for n in nodes)]
    starts += [_ms(p["ts"]) for p in points]
    known = [t for t in starts if t is not None]
    t0 = min(known) if known else 0.0
    ends = [t for t in [end, *(_ms(n.get("ended_at")) for n in nodes), *starts] if t is not None]
    t1 = max([t0 + 1000, *ends])
    rows = [
        {
            "id": str(n.get("id")),
            "label": n.get("label") or n.get("id"),
            "status": str(n.get("status") or "pending"),
            "start": _ms(n["started_at"]),
            "end": _ms(n.get("ended_at")) or t1,
        }
        for n in nodes[-MAX_ROWS:]
    ]
    agents: dict[str, list[float]] = {}
    for p in points:
        agents.setdefault(str(p.get("agent")), []).append(_ms(p["ts"]) or t0)
    base = cost.get("points_base") or {}

    def cumulative(agent: str | None, start: float) -> list[tuple[float, float]]:
        steps, total = [(t0, start)], start
        for p in points:
            if agent is None or p.get("agent") == agent:
                total += float(p.get("usd") or 0.0)
                steps.append((_ms(p["ts"]) or t0, total))
        return steps

    series = [("total", cumulative(None, sum((base.get("by_model") or {}).values())))]
    series += [(a, cumulative(a, float((base.get("by_agent") or {}).get(a, 0.0)))) for a in agents]
    budget = float(cost.get("budget_usd") or 0) or None
    top = max(series[0][1][-1][1], budget or 0.0)
    return {
        "t0": t0,
        "t1": t1,
        "rows": rows,
        "agents": agents,
        "series": series,
        "budget": budget,
        "ymax": top * 1.08 if top > 0 else 0.0001,
    }


def _axis(layout: Mapping[str, Any], y: float) -> str:
    t0, t1 = layout["t0"], layout["t1"]
    span = (t1 - t0) / 1000
    step = next(
        (s for s in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200) if span / s <= 6), 14400
    )
    parts = [f'<line x1="{LABEL_W}" x2="{WIDTH}" y1="{y}" y2="{y}" stroke="#8c959f"/>']
    s = 0
    while s <= span:
        x = _x(layout, t0 + s * 1000)
        parts.append(
            f'<text x="{x:.1f}" y="{y + 13}" text-anchor="middle" fill="#57606a" {_TEXT}>{_clock(s)}</text>'
        )
        s += step
    return "".join(parts)


def _x(layout: Mapping[str, Any], t: float) -> float:
    return LABEL_W + (t - layout["t0"]) / (layout["t1"] - layout["t0"]) * (WIDTH - LABEL_W - 4)


def _timeline(layout: Mapping[str, Any]) -> str:
    rows, agents = layout["rows"], layout["agents"]
    height = (len(rows) + len(agents)) * ROW_H + AXIS_H + 4
    parts = []
    for i, r in enumerate(rows):
        y, left = i * ROW_H, _x(layout, r["start"])
        width = max(2.0, _x(layout, r["end"]) - left)
        parts.append(
            f'<g data-node-id="{escape(r["id"])}" data-kind="step"><title>{escape(str(r["label"]))} · '
            f"{escape(r['status'])} · {_clock((r['end'] - r['start']) / 1000)}</title>"
            f'<text x="{LABEL_W - 6}" y="{y + 11}" text-anchor="end" fill="#1f2328" {_TEXT}>'
            f"{escape(_cut(r['label']))}</text>"
            f'<rect x="{left:.1f}" y="{y + 3}" width="{width:.1f}" height="{ROW_H - 6}" rx="2" '
            f'fill="{BAR.get(r["status"], BAR["pending"])}"/></g>'
        )
    for i, (name, calls) in enumerate(agents.items(), start=len(rows)):
        y = i * ROW_H
        ticks = " ".join(f"M{_x(layout, t):.1f},{y + 2} v{ROW_H - 4}" for t in calls)
        parts.append(
            f'<g data-agent="{escape(name)}" data-kind="agent"><title>{escape(name)} · {len(calls)} LLM '
            f'calls</title><text x="{LABEL_W - 6}" y="{y + 11}" text-anchor="end" fill="#1f2328" {_TEXT}>'
            f'{escape(_cut(name))}</text><path d="{ticks}" stroke="#0969da" stroke-width="1.5"/></g>'
        )
    parts.append(_axis(layout, (len(rows) + len(agents)) * ROW_H + 2))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="cmb-timeline" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="timeline">{"".join(parts)}</svg>'
    )


def _cost_chart(layout: Mapping[str, Any]) -> str:
    ymax, budget = layout["ymax"], layout["budget"]
    height = CHART_H + AXIS_H + 4

    def y(v: float) -> float:
        return 4 + (1 - v / ymax) * (CHART_H - 4)

    label = f'x="{LABEL_W - 6}" text-anchor="end" fill="#57606a" {_TEXT}'
    parts = [
        f'<text y="{y(v) + 4:.1f}" {label}>{_usd(v)}</text>' for v in (0.0, ymax / 2 / 1.08, ymax / 1.08)
    ]
    if budget is not None:
        at = y(budget)
        parts.append(
            f'<line class="cmb-cc-budget" x1="{LABEL_W}" x2="{WIDTH}" y1="{at:.1f}" y2="{at:.1f}" '
            f'stroke="#cf222e" stroke-dasharray="5 3"/><text x="{WIDTH - 4}" y="{at - 3:.1f}" '
            f'text-anchor="end" fill="#cf222e" {_TEXT}>budget {_usd(budget)}</text>'
        )
    for i, (key, steps) in enumerate(layout["series"]):
        points = [*steps, (layout["t1"], steps[-1][1])]
        d = " ".join(
            f"H{_x(layout, t):.1f} V{y(v):.1f}" if k else f"M{_x(layout, t):.1f},{y(v):.1f}"
            for k, (t, v) in enumerate(points)
        )
        colour = "#1f2328" if i == 0 else PALETTE[(i - 1) % len(PALETTE)]
        parts.append(
            f'<path class="cmb-cc-line" data-key="{escape(key)}" d="{d}" fill="none" stroke="{colour}" '
            f'stroke-width="{2 if i == 0 else 1.5}"><title>{escape(key)}: {_usd(steps[-1][1])}</title></path>'
        )
    parts.append(_axis(layout, CHART_H + 2))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="cmb-cost-chart" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="cumulative cost">{"".join(parts)}</svg>'
    )


def svg_image(svg: str, *, cls: str, alt: str) -> str:
    """``svg`` as an ``<img>`` of a data URL: no external resource, and it survives the HTML
    sanitizers of untrusted notebooks and nbviewer, which drop inline ``<svg>``."""
    data = base64.b64encode(svg.encode()).decode()
    return f'<img class="{escape(cls)}" alt="{escape(alt)}" src="data:image/svg+xml;base64,{data}"/>'


def charts_html(snapshot: Mapping[str, Any]) -> str:
    """The timeline and the cost chart of ``snapshot`` ("" when nothing has run yet)."""
    layout = _layout(snapshot)
    if not layout["rows"] and not layout["agents"]:
        return ""
    return (
        '<div class="cmb-charts-static" style="margin-top:6px">'
        "<div><strong>Timeline and cost</strong></div>"
        + svg_image(_timeline(layout), cls="cmb-timeline-picture", alt="timeline of the steps and LLM calls")
        + svg_image(
            _cost_chart(layout), cls="cmb-cost-chart-picture", alt="cumulative cost against the budget"
        )
        + "</div>"
    )

// The timeline and the cost chart, laid out from the run's state as plain SVG (no chart library).
//
// Timeline: a Gantt over wall time, one bar per DAG node that has started (its phases, agents and
// plan steps), coloured by status, then one row per agent with a tick per LLM call
// (`cost.points`). Cost chart: the cumulative cost against time, in total and by agent, with the
// budget as a dashed line. `chartsOf(run, dag, cost, now)` is the pure layout (unit-tested in
// js/test/timeline.test.js); the static copy draws the same from Python (cmbjupyter/_charts.py).

import { clock } from "./progress.js";
import { el, usd } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";
export const WIDTH = 560;
const LABEL_W = 150; // px of the row labels, left of the time axis
const ROW_H = 16;
const AXIS_H = 18;
const CHART_H = 120;
/** At most this many node rows (the latest started); a long plan says how many more there are. */
export const MAX_ROWS = 40;
const PALETTE = ["#0969da", "#8250df", "#1a7f37", "#bf8700", "#cf222e", "#0a7ea4", "#6e7781"];

const ms = (iso) => {
  const t = Date.parse(iso ?? "");
  return Number.isNaN(t) ? null : t;
};

/** "Chain 1: sample posterior…" for a label longer than `n`. */
function cut(text, n = 24) {
  const s = String(text ?? "");
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

/**
 * The charts' geometry from a run's state.
 * @returns {{t0: number, t1: number, rows: object[], hidden: number, agents: object[],
 *            series: object[], budget: number | null, ymax: number, ticks: object[]}}
 */
export function chartsOf(run, dag, cost, now = Date.now()) {
  const nodes = Object.values(dag?.nodes ?? {})
    .filter((n) => n.started_at && n.type !== "start" && n.type !== "end")
    .sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
  const points = (cost?.points ?? []).filter((p) => ms(p.ts) !== null);
  const starts = [ms(run?.started_at), ...nodes.map((n) => ms(n.started_at)), ...points.map((p) => ms(p.ts))];
  const t0 = Math.min(...starts.filter((t) => t !== null), now);
  const ended = ms(run?.ended_at);
  const ends = [ended ?? now, ...nodes.map((n) => ms(n.ended_at) ?? now)];
  const t1 = Math.max(t0 + 1000, ...ends.filter((t) => t !== null));
  const hidden = Math.max(0, nodes.length - MAX_ROWS);
  const rows = nodes.slice(hidden).map((n) => ({
    id: n.id,
    label: n.label ?? n.id,
    status: n.status ?? "pending",
    start: ms(n.started_at),
    end: ms(n.ended_at) ?? ended ?? now,
  }));
  const byAgent = new Map();
  for (const p of points) {
    if (!byAgent.has(p.agent)) byAgent.set(p.agent, []);
    byAgent.get(p.agent).push(ms(p.ts));
  }
  const agents = [...byAgent].map(([name, calls]) => ({ name, calls }));
  const base = cost?.points_base ?? {};
  const total = Object.values(base.by_model ?? {}).reduce((a, b) => a + b, 0);
  const series = [{ key: "total", label: "total", steps: cumulative(points, () => true, total, t0) }];
  for (const [i, { name }] of agents.entries()) {
    const start = base.by_agent?.[name] ?? 0;
    const steps = cumulative(points, (p) => p.agent === name, start, t0);
    series.push({ key: name, label: name, steps, colour: PALETTE[i % PALETTE.length] });
  }
  const budget = Number(cost?.budget_usd) > 0 ? Number(cost.budget_usd) : null;
  const top = Math.max(series[0].steps.at(-1)?.[1] ?? 0, budget ?? 0);
  const ymax = top > 0 ? top * 1.08 : 0.0001;
  const span = (t1 - t0) / 1000;
  const step =
    [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200].find((s) => span / s <= 6) ?? 14_400;
  const ticks = [];
  for (let s = 0; s <= span; s += step) ticks.push({ at: t0 + s * 1000, label: clock(s) });
  return { t0, t1, rows, hidden, agents, series, budget, ymax, ticks };
}

/** [[time, cumulative USD], ...] of the points `keep` selects, from `start` USD at `t0`. */
function cumulative(points, keep, start, t0) {
  const steps = [[t0, start]];
  let sum = start;
  for (const p of points) {
    if (!keep(p)) continue;
    sum += Number(p.usd ?? 0);
    steps.push([ms(p.ts), sum]);
  }
  return steps;
}

/** @param {string} tag @param {Record<string, string | number>} attrs */
function svg(tag, attrs = {}, text = undefined) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function timeAxis(root, layout, x, y) {
  root.appendChild(svg("line", { x1: LABEL_W, x2: WIDTH, y1: y, y2: y, class: "cmb-tl-axis" }));
  for (const t of layout.ticks) {
    const at = x(t.at).toFixed(1);
    root.appendChild(svg("line", { x1: at, x2: at, y1: y, y2: y + 3, class: "cmb-tl-axis" }));
    root.appendChild(
      svg("text", { x: at, y: y + 13, "text-anchor": "middle", class: "cmb-tl-tick-label" }, t.label),
    );
  }
}

/** The Gantt of nodes and agents as an <svg>. */
export function timelineSvg(layout) {
  const { rows, agents, t0, t1 } = layout;
  const height = (rows.length + agents.length) * ROW_H + AXIS_H + 4;
  const root = svg("svg", {
    class: "cmb-timeline",
    viewBox: `0 0 ${WIDTH} ${height}`,
    width: WIDTH,
    height,
    role: "img",
    "aria-label": `timeline of ${rows.length} steps and ${agents.length} agents`,
  });
  const x = (t) => LABEL_W + ((t - t0) / (t1 - t0)) * (WIDTH - LABEL_W - 4);
  rows.forEach((r, i) => {
    const y = i * ROW_H;
    const g = svg("g", { class: `cmb-tl-row cmb-${r.status}`, "data-node-id": r.id, "data-kind": "step" });
    g.appendChild(svg("title", {}, `${r.label} · ${r.status} · ${clock((r.end - r.start) / 1000)}`));
    g.appendChild(
      svg("text", { x: LABEL_W - 6, y: y + 11, "text-anchor": "end", class: "cmb-tl-label" }, cut(r.label)),
    );
    const left = x(r.start);
    const bar = {
      x: left.toFixed(1),
      y: y + 3,
      width: Math.max(2, x(r.end) - left).toFixed(1),
      height: ROW_H - 6,
    };
    g.appendChild(svg("rect", { ...bar, rx: 2, class: "cmb-tl-bar" }));
    root.appendChild(g);
  });
  agents.forEach((a, i) => {
    const y = (rows.length + i) * ROW_H;
    const g = svg("g", { class: "cmb-tl-row cmb-tl-agent", "data-agent": a.name, "data-kind": "agent" });
    g.appendChild(svg("title", {}, `${a.name} · ${a.calls.length} LLM calls`));
    g.appendChild(
      svg("text", { x: LABEL_W - 6, y: y + 11, "text-anchor": "end", class: "cmb-tl-label" }, cut(a.name)),
    );
    const d = a.calls.map((t) => `M${x(t).toFixed(1)},${y + 2} v${ROW_H - 4}`).join(" ");
    if (d) g.appendChild(svg("path", { d, class: "cmb-tl-ticks" }));
    root.appendChild(g);
  });
  timeAxis(root, layout, x, (rows.length + agents.length) * ROW_H + 2);
  return root;
}

/** The cumulative cost chart (total and by agent, budget dashed) as an <svg>. */
export function costChartSvg(layout) {
  const { series, budget, ymax, t0, t1 } = layout;
  const height = CHART_H + AXIS_H + 4;
  const root = svg("svg", {
    class: "cmb-cost-chart",
    viewBox: `0 0 ${WIDTH} ${height}`,
    width: WIDTH,
    height,
    role: "img",
    "aria-label": "cumulative cost over time",
  });
  const x = (t) => LABEL_W + ((t - t0) / (t1 - t0)) * (WIDTH - LABEL_W - 4);
  const y = (v) => 4 + (1 - v / ymax) * (CHART_H - 4);
  for (const v of [0, ymax / 2 / 1.08, ymax / 1.08]) {
    root.appendChild(
      svg("text", { x: LABEL_W - 6, y: y(v) + 4, "text-anchor": "end", class: "cmb-tl-tick-label" }, usd(v)),
    );
  }
  if (budget !== null) {
    const at = y(budget).toFixed(1);
    root.appendChild(svg("line", { x1: LABEL_W, x2: WIDTH, y1: at, y2: at, class: "cmb-cc-budget" }));
    root.appendChild(
      svg(
        "text",
        { x: WIDTH - 4, y: Number(at) - 3, "text-anchor": "end", class: "cmb-cc-budget-label" },
        `budget ${usd(budget)}`,
      ),
    );
  }
  series.forEach((s, i) => {
    const end = layout.t1;
    const pts = [...s.steps, [end, s.steps.at(-1)[1]]];
    const d = pts
      .map(([t, v], k) => `${k ? `H${x(t).toFixed(1)} V` : `M${x(t).toFixed(1)},`}${y(v).toFixed(1)}`)
      .join(" ");
    const line = svg("path", { d, class: `cmb-cc-line${i ? "" : " cmb-cc-total"}`, "data-key": s.key });
    if (s.colour) line.setAttribute("stroke", s.colour);
    line.appendChild(svg("title", {}, `${s.label}: ${usd(s.steps.at(-1)[1])}`));
    root.appendChild(line);
  });
  timeAxis(root, layout, x, CHART_H + 2);
  return root;
}

/** The charts panel under the DAG: redrawn on every update and each second while active. */
export class ChartsPanel {
  constructor(parent) {
    this.root = el("details", "cmb-charts");
    this.root.open = true;
    this.root.hidden = true;
    const summary = el("summary", "cmb-charts-title", "Timeline and cost");
    this.body = el("div", "cmb-charts-body");
    this.root.append(summary, this.body);
    parent.appendChild(this.root);
    this.state = { run: null, dag: null, cost: null };
  }

  /** @param {{run?: object, dag?: object, cost?: object}} parts */
  update(parts) {
    for (const k of ["run", "dag", "cost"]) if (parts[k] !== undefined) this.state[k] = parts[k];
    this.draw();
  }

  draw() {
    const { run, dag, cost } = this.state;
    const layout = chartsOf(run, dag, cost);
    const empty = layout.rows.length === 0 && layout.agents.length === 0;
    this.root.hidden = empty;
    if (empty || !this.root.open) return;
    const legend = el("div", "cmb-cc-legend");
    for (const s of layout.series.slice(1)) {
      const item = el("span", "cmb-cc-key", s.label);
      item.style.setProperty("--cmb-key", s.colour);
      legend.appendChild(item);
    }
    const parts = [timelineSvg(layout)];
    if (layout.hidden) parts.push(el("div", "cmb-tl-hidden", `… and ${layout.hidden} earlier steps`));
    parts.push(costChartSvg(layout), legend);
    this.body.replaceChildren(...parts);
  }
}

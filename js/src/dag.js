// The DAG panel: dagre lays the graph out once per structure; status changes only restyle nodes.
//
// A run's DAG changes shape rarely (created once, a node added per plan step) but changes status
// often, so the layout is keyed by the structure (node ids, labels and edges) and reused while only
// statuses move. That keeps a 300-node planning-control DAG cheap to update 20 times a second.
//
// dagre's layout grows faster than linearly (a 1,000-node chain: ~0.7 s in Chromium), so a DAG of
// more than LARGE nodes (a long planning-control run) gets a layered layout in linear time instead:
// rank = longest path from a source, nodes of a rank side by side in run order, straight edges.
// Clicks are handled once on the panel (event delegation), not by two listeners per node.
//
// A label wraps onto two lines (the full text is the node's tooltip); a DAG taller than the panel
// is scaled to fit it while it stays readable (Fit / 1:1 toggles); each panel's arrowhead marker
// has its own id, since ids are page-wide and another view's removal must not take it away.

import dagre from "@dagrejs/dagre";
import { clock, nodeSeconds } from "./progress.js";

const SVG = "http://www.w3.org/2000/svg";
const NODE_W = 150;
const NODE_H = 34;
const MAX_LABEL = 22;
/** Height (px) the panel shows before it scrolls (the CSS max-height of .cmb-dag, less padding). */
export const FIT_HEIGHT = 364;
/** Below this scale a fitted DAG is unreadable: it scrolls at 1:1 instead. */
const MIN_SCALE = 0.45;
/** A page-unique marker id. Random, not a counter: anywidget may load this module once per
 * widget, and each copy would count from 1. */
function markerId() {
  const random = globalThis.crypto?.randomUUID?.() ?? `${Date.now()}-${Math.random()}`.replace(".", "");
  return `cmb-arrow-${random}`;
}
/** Above this many nodes, the linear-time layered layout replaces dagre's. */
export const LARGE = 200;
const GAP_X = 18;
const GAP_Y = 26;
const MARGIN = 8;

/** @param {string} tag @param {Record<string, string | number>} attrs */
function svg(tag, attrs = {}) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** A label as at most two lines of MAX_LABEL characters, broken between words where it can. */
export function labelLines(text) {
  const s = String(text ?? "").trim();
  if (s.length <= MAX_LABEL) return [s];
  let cut = s.lastIndexOf(" ", MAX_LABEL);
  if (cut < MAX_LABEL / 2) cut = MAX_LABEL;
  const first = s.slice(0, cut).trimEnd();
  const rest = s.slice(cut).trim();
  return [first, rest.length > MAX_LABEL ? `${rest.slice(0, MAX_LABEL - 1)}…` : rest];
}

/** Nodes in run order (the snapshot keeps them in a dict keyed by id, each with an `order`). */
export function orderedNodes(dag) {
  const nodes = Object.values(dag?.nodes ?? {});
  return nodes.sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
}

function structureKey(nodes, edges) {
  return JSON.stringify([nodes.map((n) => [n.id, n.label]), edges.map((e) => [e.source, e.target])]);
}

/**
 * Layered layout in O(nodes + edges): ranks by longest path (Kahn's order; nodes on a cycle, which
 * a DAG should not have, go below the rest), each rank centred, edges straight from the bottom of
 * the source to the top of the target. Same result shape as `layout`.
 */
export function layeredLayout(nodes, edges) {
  const rank = new Map(nodes.map((n) => [n.id, 0]));
  const kept = edges.filter((e) => rank.has(e.source) && rank.has(e.target) && e.source !== e.target);
  const out = new Map();
  const indegree = new Map(nodes.map((n) => [n.id, 0]));
  for (const e of kept) {
    if (!out.has(e.source)) out.set(e.source, []);
    out.get(e.source).push(e.target);
    indegree.set(e.target, indegree.get(e.target) + 1);
  }
  const queue = nodes.filter((n) => indegree.get(n.id) === 0).map((n) => n.id);
  const done = new Set();
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i];
    done.add(id);
    for (const next of out.get(id) ?? []) {
      rank.set(next, Math.max(rank.get(next), rank.get(id) + 1));
      indegree.set(next, indegree.get(next) - 1);
      if (indegree.get(next) === 0) queue.push(next);
    }
  }
  let deepest = 0;
  for (const r of rank.values()) deepest = Math.max(deepest, r);
  for (const n of nodes) if (!done.has(n.id)) rank.set(n.id, ++deepest);
  const rows = [];
  for (const n of nodes) (rows[rank.get(n.id)] ??= []).push(n.id);
  const widest = Math.max(...rows.map((row) => row?.length ?? 0));
  const width = 2 * MARGIN + widest * NODE_W + (widest - 1) * GAP_X;
  const placed = new Map();
  rows.forEach((row, r) => {
    if (!row) return;
    const left = MARGIN + (width - 2 * MARGIN - (row.length * NODE_W + (row.length - 1) * GAP_X)) / 2;
    const y = MARGIN + r * (NODE_H + GAP_Y) + NODE_H / 2;
    row.forEach((id, i) => placed.set(id, { x: left + i * (NODE_W + GAP_X) + NODE_W / 2, y }));
  });
  const routed = kept.map((e) => {
    const a = placed.get(e.source);
    const b = placed.get(e.target);
    return {
      ...e,
      points: [
        { x: a.x, y: a.y + NODE_H / 2 },
        { x: b.x, y: b.y - NODE_H / 2 },
      ],
    };
  });
  const height = 2 * MARGIN + rows.length * NODE_H + Math.max(rows.length - 1, 0) * GAP_Y;
  return { width, height, nodes: placed, edges: routed };
}

/**
 * Lays out nodes and edges with dagre (top to bottom; long chains stay readable by scrolling).
 * @returns {{width: number, height: number, nodes: Map<string, {x: number, y: number}>,
 *            edges: {source: string, target: string, points: {x: number, y: number}[]}[]}}
 */
export function layout(nodes, edges) {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "TB", nodesep: GAP_X, ranksep: GAP_Y, marginx: MARGIN, marginy: MARGIN });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of nodes) g.setNode(n.id, { width: NODE_W, height: NODE_H });
  const known = new Set(nodes.map((n) => n.id));
  const kept = edges.filter((e) => known.has(e.source) && known.has(e.target));
  for (const e of kept) g.setEdge(e.source, e.target);
  dagre.layout(g);
  const placed = new Map(nodes.map((n) => [n.id, { x: g.node(n.id).x, y: g.node(n.id).y }]));
  const routed = kept.map((e) => ({ ...e, points: g.edge(e.source, e.target).points }));
  const { width, height } = g.graph();
  return { width: width ?? 0, height: height ?? 0, nodes: placed, edges: routed };
}

/** The DAG panel; `onSelect(nodeId)` is called when a node is clicked. */
export class DagPanel {
  constructor(parent, onSelect) {
    this.onSelect = onSelect;
    this.markerId = markerId();
    this.frame = document.createElement("div");
    this.frame.className = "cmb-dag-frame";
    this.zoom = document.createElement("button");
    this.zoom.type = "button";
    this.zoom.className = "cmb-dag-zoom";
    this.zoom.hidden = true;
    this.fit = true; // fit a tall DAG to the panel (until the user asks for 1:1)
    this.zoom.addEventListener("click", () => {
      this.fit = !this.fit;
      this.scale();
    });
    this.root = document.createElement("div");
    this.root.className = "cmb-dag";
    this.frame.append(this.zoom, this.root);
    parent.appendChild(this.frame);
    this.key = null;
    this.shapes = new Map(); // node id -> <g>
    this.times = new Map(); // node id -> its duration <text>, made once the node has started
    this.nodes = [];
    this.selected = null;
    this.current = null;
    const pick = (ev) => {
      const id = ev.target.closest?.("[data-node-id]")?.getAttribute("data-node-id");
      if (id != null && (ev.type === "click" || ev.key === "Enter")) this.select(id);
    };
    this.root.addEventListener("click", pick);
    this.root.addEventListener("keydown", pick);
  }

  /** Draws `dag` (snapshot shape); re-layouts only if its structure changed. */
  update(dag) {
    const nodes = orderedNodes(dag);
    const edges = dag?.edges ?? [];
    const key = structureKey(nodes, edges);
    if (key !== this.key) {
      this.key = key;
      this.current = null;
      this.draw(nodes, edges);
    }
    this.nodes = nodes;
    this.tickTimes();
    const current = dag?.current ?? null;
    for (const n of nodes) {
      const g = this.shapes.get(n.id);
      if (!g) continue;
      const status = n.status ?? "pending";
      const restored = n.restored ? " cmb-restored" : "";
      if (g.getAttribute("data-status") !== status || g.classList.contains("cmb-restored") !== !!restored) {
        g.setAttribute("data-status", status);
        const marks = `${n.id === this.selected ? " cmb-selected" : ""}${n.id === current ? " cmb-current" : ""}`;
        g.setAttribute("class", `cmb-node cmb-${status}${restored}${marks}`);
      }
    }
    if (current !== this.current) {
      this.shapes.get(this.current)?.classList.remove("cmb-current");
      this.current = current;
    }
    this.shapes.get(current)?.classList.add("cmb-current");
  }

  /** Each started node's duration under its right corner (a running one's so far). */
  tickTimes(now = Date.now()) {
    for (const n of this.nodes) {
      const secs = nodeSeconds(n, now);
      const g = this.shapes.get(n.id);
      if (secs === null || !g) continue;
      let text = this.times.get(n.id);
      if (!text) {
        text = svg("text", { class: "cmb-node-time", x: NODE_W - 2, y: NODE_H + 10, "text-anchor": "end" });
        g.appendChild(text);
        this.times.set(n.id, text);
      }
      const shown = clock(secs);
      if (text.textContent !== shown) text.textContent = shown;
    }
  }

  draw(nodes, edges) {
    this.root.replaceChildren();
    this.shapes.clear();
    this.times.clear();
    if (nodes.length === 0) {
      this.root.textContent = "No DAG yet.";
      return;
    }
    const placed = nodes.length > LARGE ? layeredLayout(nodes, edges) : layout(nodes, edges);
    const root = svg("svg", {
      width: Math.ceil(placed.width),
      height: Math.ceil(placed.height),
      viewBox: `0 0 ${Math.ceil(placed.width)} ${Math.ceil(placed.height)}`,
      role: "img",
      overflow: "visible",
      "aria-label": `DAG with ${nodes.length} nodes`,
    });
    const defs = svg("defs");
    const marker = svg("marker", {
      id: this.markerId,
      viewBox: "0 0 10 10",
      refX: 9,
      refY: 5,
      markerWidth: 6,
      markerHeight: 6,
      orient: "auto-start-reverse",
    });
    marker.appendChild(svg("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "cmb-arrowhead" }));
    defs.appendChild(marker);
    root.appendChild(defs);
    const line = (e) =>
      e.points.map((p, i) => `${i ? "L" : "M"}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ");
    if (nodes.length > LARGE) {
      // One path for every edge, arrowheads drawn in it: a thousand marker instances are what
      // makes a large DAG slow to restyle.
      const head = (e) => {
        const { x, y } = e.points[e.points.length - 1];
        return `M${(x - 4).toFixed(1)},${(y - 6).toFixed(1)} L${x.toFixed(1)},${y.toFixed(1)} L${(x + 4).toFixed(1)},${(y - 6).toFixed(1)}`;
      };
      const d = placed.edges.map((e) => `${line(e)} ${head(e)}`).join(" ");
      root.appendChild(svg("path", { d, class: "cmb-edge" }));
    } else {
      for (const e of placed.edges) {
        root.appendChild(
          svg("path", { d: line(e), class: "cmb-edge", "marker-end": `url(#${this.markerId})` }),
        );
      }
    }
    for (const n of nodes) {
      const { x, y } = placed.nodes.get(n.id);
      const g = svg("g", {
        class: "cmb-node",
        "data-node-id": n.id,
        "data-status": "",
        tabindex: 0,
        transform: `translate(${(x - NODE_W / 2).toFixed(1)},${(y - NODE_H / 2).toFixed(1)})`,
      });
      g.appendChild(svg("rect", { width: NODE_W, height: NODE_H, rx: 6, ry: 6 }));
      const lines = labelLines(n.label ?? n.id);
      const text = svg("text", { x: NODE_W / 2, y: NODE_H / 2 + 4, "text-anchor": "middle" });
      if (lines.length === 1) text.textContent = lines[0];
      else {
        text.setAttribute("class", "cmb-two-lines");
        lines.forEach((part, i) => {
          const span = svg("tspan", { x: NODE_W / 2, y: NODE_H / 2 + (i ? 11 : -2) });
          span.textContent = part;
          text.appendChild(span);
        });
      }
      const title = svg("title");
      title.textContent = `${n.label ?? n.id} (${n.id})`;
      g.append(title, text);
      root.appendChild(g);
      this.shapes.set(n.id, g);
    }
    this.root.appendChild(root);
    this.size = { width: Math.ceil(placed.width), height: Math.ceil(placed.height) };
    this.scale();
  }

  /** Fits a DAG taller than the panel into it (when readable), or shows it 1:1 (scrolling). */
  scale() {
    const svgEl = this.root.querySelector("svg");
    if (!svgEl || !this.size) return;
    const { width, height } = this.size;
    const factor = FIT_HEIGHT / height;
    const fits = height <= FIT_HEIGHT || factor < MIN_SCALE;
    this.zoom.hidden = fits;
    const scaled = !fits && this.fit;
    svgEl.setAttribute("width", String(scaled ? Math.ceil(width * factor) : width));
    svgEl.setAttribute("height", String(scaled ? FIT_HEIGHT : height));
    this.root.dataset.fit = scaled ? "fit" : "1:1";
    this.zoom.textContent = scaled ? "1:1" : "Fit";
    this.zoom.title = scaled ? "Show the DAG at full size (scroll)" : "Fit the DAG in the panel";
  }

  select(nodeId) {
    this.shapes.get(this.selected)?.classList.remove("cmb-selected");
    this.selected = this.selected === nodeId ? null : nodeId;
    this.shapes.get(this.selected)?.classList.add("cmb-selected");
    this.onSelect(this.selected);
  }
}

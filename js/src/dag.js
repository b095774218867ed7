// The DAG panel: dagre lays the graph out once per structure; status changes only restyle nodes.
//
// A run's DAG changes shape rarely (created once, a node added per plan step) but changes status
// often, so the layout is keyed by the structure (node ids, labels and edges) and reused while only
// statuses move. That keeps a 300-node planning-control DAG cheap to update 20 times a second.

import dagre from "@dagrejs/dagre";

const SVG = "http://www.w3.org/2000/svg";
const NODE_W = 150;
const NODE_H = 34;
const MAX_LABEL = 22;

/** @param {string} tag @param {Record<string, string | number>} attrs */
function svg(tag, attrs = {}) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

function shortLabel(text) {
  const s = String(text ?? "");
  return s.length > MAX_LABEL ? `${s.slice(0, MAX_LABEL - 1)}…` : s;
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
 * Lays out nodes and edges with dagre (top to bottom; long chains stay readable by scrolling).
 * @returns {{width: number, height: number, nodes: Map<string, {x: number, y: number}>,
 *            edges: {source: string, target: string, points: {x: number, y: number}[]}[]}}
 */
export function layout(nodes, edges) {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "TB", nodesep: 18, ranksep: 26, marginx: 8, marginy: 8 });
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
    this.root = document.createElement("div");
    this.root.className = "cmb-dag";
    parent.appendChild(this.root);
    this.key = null;
    this.shapes = new Map(); // node id -> <g>
    this.selected = null;
  }

  /** Draws `dag` (snapshot shape); re-layouts only if its structure changed. */
  update(dag) {
    const nodes = orderedNodes(dag);
    const edges = dag?.edges ?? [];
    const key = structureKey(nodes, edges);
    if (key !== this.key) {
      this.key = key;
      this.draw(nodes, edges);
    }
    for (const n of nodes) {
      const g = this.shapes.get(n.id);
      if (!g) continue;
      const status = n.status ?? "pending";
      if (g.getAttribute("data-status") !== status) {
        g.setAttribute("data-status", status);
        g.setAttribute("class", `cmb-node cmb-${status}${n.id === this.selected ? " cmb-selected" : ""}`);
      }
      g.classList.toggle("cmb-current", n.id === dag?.current);
    }
  }

  draw(nodes, edges) {
    this.root.replaceChildren();
    this.shapes.clear();
    if (nodes.length === 0) {
      this.root.textContent = "No DAG yet.";
      return;
    }
    const placed = layout(nodes, edges);
    const root = svg("svg", {
      width: Math.ceil(placed.width),
      height: Math.ceil(placed.height),
      viewBox: `0 0 ${Math.ceil(placed.width)} ${Math.ceil(placed.height)}`,
      role: "img",
      "aria-label": `DAG with ${nodes.length} nodes`,
    });
    const defs = svg("defs");
    const marker = svg("marker", {
      id: "cmb-arrow",
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
    for (const e of placed.edges) {
      const d = e.points.map((p, i) => `${i ? "L" : "M"}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ");
      root.appendChild(svg("path", { d, class: "cmb-edge", "marker-end": "url(#cmb-arrow)" }));
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
      const text = svg("text", { x: NODE_W / 2, y: NODE_H / 2 + 4, "text-anchor": "middle" });
      text.textContent = shortLabel(n.label ?? n.id);
      const title = svg("title");
      title.textContent = `${n.label ?? n.id} (${n.id})`;
      g.append(title, text);
      const select = () => this.select(n.id);
      g.addEventListener("click", select);
      g.addEventListener("keydown", (ev) => ev.key === "Enter" && select());
      root.appendChild(g);
      this.shapes.set(n.id, g);
    }
    this.root.appendChild(root);
  }

  select(nodeId) {
    this.shapes.get(this.selected)?.classList.remove("cmb-selected");
    this.selected = this.selected === nodeId ? null : nodeId;
    this.shapes.get(this.selected)?.classList.add("cmb-selected");
    this.onSelect(this.selected);
  }
}

// The DAG panel's layout input (src/dag.js): nodes in run order, dagre positions for each, edges to
// nodes the DAG does not hold dropped (a plan step may name one before it exists).
import assert from "node:assert/strict";
import { test } from "node:test";

import { labelLines, layout, orderedNodes } from "../src/dag.js";

test("nodes come in run order, whatever the key order of the snapshot", () => {
  const dag = { nodes: { c: { id: "c", order: 2 }, a: { id: "a", order: 0 }, b: { id: "b", order: 1 } } };
  assert.deepEqual(
    orderedNodes(dag).map((n) => n.id),
    ["a", "b", "c"],
  );
  assert.deepEqual(orderedNodes(undefined), []);
});

test("every node is placed, top to bottom, and only edges between known nodes are routed", () => {
  const nodes = [
    { id: "start", label: "start" },
    { id: "step_1", label: "Step 1" },
    { id: "end", label: "end" },
  ];
  const edges = [
    { source: "start", target: "step_1" },
    { source: "step_1", target: "end" },
    { source: "step_1", target: "step_9" },
  ];
  const placed = layout(nodes, edges);
  assert.deepEqual([...placed.nodes.keys()], ["start", "step_1", "end"]);
  const y = (id) => placed.nodes.get(id).y;
  assert.ok(y("start") < y("step_1") && y("step_1") < y("end"));
  assert.deepEqual(
    placed.edges.map((e) => `${e.source}>${e.target}`),
    ["start>step_1", "step_1>end"],
  );
  for (const e of placed.edges) assert.ok(e.points.length >= 2);
  assert.ok(placed.width > 0 && placed.height > 0);
});

test("an empty DAG lays out to nothing", () => {
  const placed = layout([], []);
  assert.equal(placed.nodes.size, 0);
  assert.deepEqual(placed.edges, []);
});

test("a long label wraps onto two lines between words, and only the rest past those is cut", () => {
  assert.deepEqual(labelLines("Simulate"), ["Simulate"]);
  assert.deepEqual(labelLines("Chain 1: sample posterior with emcee"), [
    "Chain 1: sample",
    "posterior with emcee",
  ]);
  const [first, second] = labelLines("Fit the Planck 2018 TT power spectrum with CAMB and report H0");
  assert.equal(first, "Fit the Planck 2018 TT");
  assert.ok(second.endsWith("…") && second.length === 22, second);
  assert.deepEqual(labelLines("abcdefghijklmnopqrstuvwxyz"), ["abcdefghijklmnopqrstuv", "wxyz"]);
});

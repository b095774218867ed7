// The charts' layout (src/timeline.js): one bar per started node, a row of ticks per agent, the
// cumulative cost exact from the dropped calls' base, the budget on the scale.
import assert from "node:assert/strict";
import { test } from "node:test";

import { MAX_ROWS, chartsOf } from "../src/timeline.js";

const T0 = Date.parse("2026-11-30T10:00:00Z");
const at = (s) => new Date(T0 + s * 1000).toISOString();

test("one bar per started node, one row per agent with its calls, cumulative cost against the budget", () => {
  const dag = {
    nodes: {
      start: {
        id: "start",
        type: "start",
        status: "completed",
        order: 0,
        started_at: at(0),
        ended_at: at(0),
      },
      step_1: {
        id: "step_1",
        label: "Fit",
        type: "step",
        status: "completed",
        order: 1,
        started_at: at(1),
        ended_at: at(5),
      },
      step_2: { id: "step_2", label: "Report", type: "step", status: "running", order: 2, started_at: at(5) },
      step_3: { id: "step_3", label: "Later", type: "step", status: "pending", order: 3 },
    },
  };
  const cost = {
    budget_usd: 1,
    points: [
      { ts: at(2), model: "m", agent: "engineer", usd: 0.1 },
      { ts: at(6), model: "m", agent: "planner", usd: 0.2 },
    ],
    points_base: { by_model: { m: 0.5 }, by_agent: { engineer: 0.5 }, calls: 3 },
  };
  const layout = chartsOf({ status: "running", started_at: at(0) }, dag, cost, T0 + 10_000);
  assert.deepEqual(
    layout.rows.map((r) => [r.id, r.status]),
    [
      ["step_1", "completed"],
      ["step_2", "running"],
    ],
  );
  assert.equal(layout.rows[1].end, T0 + 10_000); // a running bar reaches now
  assert.deepEqual(
    layout.agents.map((a) => [a.name, a.calls.length]),
    [
      ["engineer", 1],
      ["planner", 1],
    ],
  );
  const total = layout.series[0].steps.at(-1)[1];
  assert.ok(Math.abs(total - 0.8) < 1e-9, String(total));
  assert.ok(Math.abs(layout.series[1].steps.at(-1)[1] - 0.6) < 1e-9);
  assert.equal(layout.budget, 1);
  assert.ok(layout.ymax >= 1);
});

test("a long plan shows its latest rows and says how many are hidden", () => {
  const nodes = {};
  for (let i = 0; i < MAX_ROWS + 5; i++)
    nodes[`s${i}`] = {
      id: `s${i}`,
      type: "step",
      status: "completed",
      order: i,
      started_at: at(i),
      ended_at: at(i + 1),
    };
  const layout = chartsOf({ status: "completed", started_at: at(0), ended_at: at(99) }, { nodes }, {});
  assert.equal(layout.rows.length, MAX_ROWS);
  assert.equal(layout.hidden, 5);
  assert.equal(layout.rows[0].id, "s5");
});

// The header's progress (src/progress.js): position, elapsed time and ETA from the run and its DAG.
import assert from "node:assert/strict";
import { test } from "node:test";

import { clock, progressOf } from "../src/progress.js";

const T0 = Date.parse("2026-11-30T10:00:00Z");
const at = (s) => new Date(T0 + s * 1000).toISOString();
const step = (n, status, start, end) => ({
  id: `step_${n}`,
  label: `Step ${n}`,
  type: "step",
  order: n,
  status,
  ...(start !== undefined && { started_at: at(start) }),
  ...(end !== undefined && { ended_at: at(end) }),
});

test("a plan's position, elapsed time and an ETA from the steps that finished", () => {
  const nodes = {
    step_1: step(1, "completed", 0, 20),
    step_2: step(2, "running", 20),
    step_3: step(3, "pending"),
  };
  const run = { status: "running", started_at: at(0) };
  const p = progressOf(run, { nodes, current: "step_2" }, T0 + 30_000);
  assert.equal(p.position, "step 2 of 3");
  assert.equal(p.elapsed, 30);
  assert.equal(p.eta, 30); // 20 s a step: 10 s left of step 2, 20 s for step 3
  assert.equal(p.state, "running Step 2");
});

test("no ETA before a step has finished; stages count where there is no plan; a run that ended stops", () => {
  const nodes = {
    start: { id: "start", type: "start", status: "completed", order: 0 },
    execute: {
      id: "execute",
      label: "Execute",
      type: "agent",
      status: "running",
      order: 1,
      started_at: at(1),
    },
    end: { id: "end", type: "end", status: "pending", order: 2 },
  };
  const p = progressOf({ status: "running", started_at: at(0) }, { nodes }, T0 + 5000);
  assert.equal(p.position, "stage 1 of 1");
  assert.equal(p.eta, null);
  const ended = progressOf(
    { status: "completed", started_at: at(0), ended_at: at(9) },
    { nodes },
    T0 + 99_000,
  );
  assert.equal(ended.elapsed, 9);
  assert.equal(ended.state, "");
  const asking = { status: "running", input_request: { request_id: "r", prompt: "?" } };
  assert.equal(progressOf(asking, { nodes }).state, "waiting for your answer");
});

test("clock", () => {
  assert.equal(clock(42.4), "42 s");
  assert.equal(clock(185), "3 min 05 s");
  assert.equal(clock(3720), "1 h 02 min");
});

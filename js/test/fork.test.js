import assert from "node:assert/strict";
import { test } from "node:test";

import { forkControl, forkRequest, restartsMidWay, rowCost, stepOf } from "../src/fork.js";
import protocol from "../../cmbjupyter/protocol.json" with { type: "json" };

test("only plan-step nodes can be forked from, by their step number", () => {
  assert.equal(stepOf({ id: "step_3", type: "step" }), 3);
  assert.equal(stepOf({ id: "planning", type: "phase" }), null);
  assert.equal(stepOf({ id: "step_x", type: "step" }), null);
  assert.equal(stepOf({ id: "step_2", type: "agent" }), null);
});

test("the fork request leaves blank fields out and sends the budget as a number", () => {
  const fields = { instructions: "  use numpy ", model: "", budget_usd: "0.25", session_id: " " };
  assert.deepEqual(forkRequest("s1", 2, fields), {
    session: "s1",
    at_step: 2,
    instructions: "use numpy",
    budget_usd: 0.25,
  });
  assert.deepEqual(forkRequest("s1", 1, {}), { session: "s1", at_step: 1 });
});

test("a sessions-list row shows its own cost and what it carries", () => {
  assert.equal(rowCost({ total_usd: 0.006, carried_usd: 0.001 }), "$0.0060 + $0.0010 carried");
  assert.equal(rowCost({ cost: { total_usd: 0.5, carried_usd: 0 } }), "$0.5000");
  assert.equal(rowCost({}), "");
});

test("only the engines and modes that restart mid-way (protocol.json's forkable) can be forked", () => {
  assert.equal(restartsMidWay({ engine: "python", mode: "one-shot" }), true); // python: every mode
  assert.equal(restartsMidWay({ engine: "python", mode: "planning-control" }), true);
  for (const mode of protocol.forkable.cmbagent)
    assert.equal(restartsMidWay({ engine: "cmbagent", mode }), true, mode);
  assert.equal(restartsMidWay({ engine: "cmbagent", mode: "one-shot" }), false);
  assert.equal(restartsMidWay({ engine: "cmbagent", mode: "deep-research" }), false);
  assert.equal(restartsMidWay({ engine: "replay", mode: "planning-control" }), false);
  assert.equal(restartsMidWay({ mode: "planning-control" }), false); // engine unknown
  assert.equal(restartsMidWay(null), false);
});

test("a step node of a run that cannot restart mid-way has no fork control", () => {
  const node = { id: "step_2", type: "step" };
  const onFork = async () => ({});
  const done = { session_id: "s", status: "completed" };
  for (const run of [
    { ...done, engine: "cmbagent", mode: "one-shot" },
    { ...done, engine: "replay", mode: "planning-control" },
    { ...done, engine: "python", mode: "planning-control", status: "running" }, // still going
    { ...done, engine: "python", mode: "one-shot", session_id: null }, // no session
  ])
    assert.equal(forkControl(node, run, onFork), null, JSON.stringify(run));
  assert.equal(forkControl(node, { ...done, engine: "python" }, undefined), null); // no onFork
});

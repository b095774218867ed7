import assert from "node:assert/strict";
import { test } from "node:test";

import { forkRequest, rowCost, stepOf } from "../src/fork.js";

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

// The outcome line (src/outcome.js): the truthful words, the budget with its given precision.
import assert from "node:assert/strict";
import { test } from "node:test";

import { budgetText, describeOutcome } from "../src/outcome.js";

test("the budget reads with the precision it was given, never rounded away", () => {
  assert.equal(budgetText(0.001), "$0.001");
  assert.equal(budgetText(0.0005), "$0.0005");
  assert.equal(budgetText(0.125), "$0.125");
  assert.equal(budgetText(0.5), "$0.50");
  assert.equal(budgetText(12), "$12.00");
  assert.equal(budgetText(1e-7), "$0.0000001");
  assert.equal(budgetText(null), "");
  assert.equal(budgetText(undefined), "");
  assert.equal(budgetText("x"), "");
});

test("no outcome while the run goes on", () => {
  assert.equal(describeOutcome(null), null);
  assert.equal(describeOutcome(undefined), null);
});

test("completed with errors: its label and the failing executions to link to", () => {
  const said = describeOutcome({
    status: "completed_with_errors",
    label: "completed with errors: 1 code execution failed (step 2, engineer)",
    failed_executions: [17],
    error: null,
    final_answer: null,
    budget_usd: 0.001,
  });
  assert.equal(said.status, "completed_with_errors");
  assert.match(said.text, /1 code execution failed/);
  assert.deepEqual(said.failing, [17]);
  assert.equal(said.budget, "$0.001");
  assert.equal(said.error, "");
});

test("failed carries its error; the others their own words; an unknown status reads as completed", () => {
  const failed = describeOutcome({ status: "failed", error: { type: "TaskFailed", message: "boom" } });
  assert.equal(failed.error, "TaskFailed: boom");
  assert.equal(failed.text, "failed");
  assert.equal(describeOutcome({ status: "budget_stopped" }).text, "stopped at the budget");
  assert.equal(describeOutcome({ status: "cancelled" }).status, "cancelled");
  assert.equal(describeOutcome({ status: "what" }).status, "completed");
  assert.equal(describeOutcome({ status: "completed", final_answer: "H0 = 67.4" }).answer, "H0 = 67.4");
});

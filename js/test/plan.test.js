// The plan editor's draft (src/plan.js): what Approve sends is the list as edited, in order.
import assert from "node:assert/strict";
import { test } from "node:test";

import { canReject, draftOf, estimateText, moved, stepsOf } from "../src/plan.js";

const PLAN = [
  { step: 1, sub_task: "load", agent: "engineer", bullets: ["read the map"] },
  { step: 2, sub_task: "fit", agent: "researcher", bullets: [], budget_usd: 0.5 },
];

test("a draft round-trips to the same steps (bullets one per line, the budget kept)", () => {
  assert.deepEqual(stepsOf(draftOf(PLAN)), [
    { sub_task: "load", agent: "engineer", bullets: ["read the map"] },
    { sub_task: "fit", agent: "researcher", bullets: [], budget_usd: 0.5 },
  ]);
});

test("reorder, edit, add and remove give exactly the edited list", () => {
  let draft = moved(draftOf(PLAN), 1, -1);
  assert.deepEqual(moved(draft, 0, -1), draft); // the first step cannot move up
  draft[0].bullets = " use emcee \n\n  ";
  draft[1].agent = "  ";
  draft = [...draft, { sub_task: " plot ", agent: "engineer", bullets: "", budget: "0.1" }];
  draft = draft.filter((_, i) => i !== 1);
  assert.deepEqual(stepsOf(draft), [
    { sub_task: "fit", agent: "researcher", bullets: ["use emcee"], budget_usd: 0.5 },
    { sub_task: "plot", agent: "engineer", bullets: [], budget_usd: 0.1 },
  ]);
});

test("estimates are labelled as such, by agent, and 'no history' without sessions", () => {
  const estimate = {
    sessions: 3,
    by_agent: { engineer: { cost_usd: 0.0012, seconds: 3.44, samples: 5 } },
    default: { cost_usd: 0.002, seconds: null, samples: 1 },
  };
  assert.equal(estimateText(estimate, "engineer"), "≈ $0.0012 · 3.4 s (estimate, 5 past steps)");
  assert.equal(estimateText(estimate, "researcher"), "≈ $0.0020 (estimate, 1 past step)");
  assert.equal(estimateText({ sessions: 0 }, "engineer"), "no history");
  assert.equal(estimateText(null, "engineer"), "no history");
});

test("a plan the run was given cannot be rejected: the host's reason is shown instead", () => {
  assert.equal(canReject({ request_id: "plan-1", reject_refused: null }), true);
  assert.equal(canReject({ request_id: "plan-1" }), true);
  assert.equal(canReject({ request_id: "plan-1", reject_refused: "control mode runs a given plan" }), false);
});

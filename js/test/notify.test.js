// Which changes of a task notify (src/notify.js): an end seen live, a new question, a budget warning.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Notifier, changesOf } from "../src/notify.js";

test("an end, a new question and a budget warning are changes; repeats and old news are not", () => {
  assert.deepEqual(changesOf({ status: "running" }, { status: "completed" }), ["completed"]);
  assert.deepEqual(changesOf({ status: "cancelling" }, { status: "cancelled" }), ["cancelled"]);
  assert.deepEqual(changesOf(undefined, { status: "failed" }), ["failed"]); // ended between two updates
  assert.deepEqual(changesOf({ status: "completed" }, { status: "completed" }), []);
  const asking = { status: "running", input_request: { request_id: "r1", prompt: "?" } };
  assert.deepEqual(changesOf({ status: "running" }, asking), ["input"]);
  assert.deepEqual(changesOf(asking, asking), []);
  assert.deepEqual(changesOf({ status: "running" }, { status: "running", budget_warning: true }), ["budget"]);
});

test("the first list is the starting point; then each change notifies once, and waiting tasks are counted", async () => {
  const shown = [];
  const app = { commands: { execute: async (id, args) => shown.push([id, args]) } };
  const counts = [];
  const notifier = new Notifier(app, (n) => counts.push(n));
  notifier.apply([{ task_id: "old", status: "completed" }]);
  assert.equal(shown.length, 0);
  notifier.apply([{ task_id: "a", session_id: "s-a", status: "running", notebook: "x.ipynb" }]);
  notifier.apply([
    {
      task_id: "a",
      session_id: "s-a",
      status: "waiting_input",
      notebook: "x.ipynb",
      input_request: { request_id: "q", prompt: "Which?" },
    },
  ]);
  notifier.apply([{ task_id: "a", session_id: "s-a", status: "completed", notebook: "x.ipynb" }]);
  assert.deepEqual(
    shown.map(([, args]) => args.message),
    ["cmbagent: s-a asks: Which?", "cmbagent: s-a completed"],
  );
  assert.deepEqual(
    shown[0][1].options.actions.map((a) => a.label),
    ["Answer", "Show session", "Open notebook"],
  );
  assert.deepEqual(counts, [1, 0]);
});

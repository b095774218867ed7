// The Compare view's pure parts (src/compare.js, its search src/compare_search.js) and the report
// downloads' routes (src/downloads.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { choices, diffLines, fileLine, signed, stepRows, valueRows } from "../src/compare.js";
import { hitLabel, searchPath } from "../src/compare_search.js";
import { reportDownloads } from "../src/downloads.js";

const side = (status, duration_s, tokens, cost_usd) => ({ status, duration_s, tokens, cost_usd });
const DOC = {
  v: 1,
  a: { session_id: "a", mode: "control", status: "completed" },
  b: { session_id: "b", mode: "control", status: "failed" },
  steps: [
    {
      id: "step_1",
      label: "Step 1",
      a: side("completed", 1.25, 1100, 0.0012),
      b: side("failed", 2.5, 1300, 0.0032),
      diff: { status_changed: true, duration_s: 1.25, tokens: 200, cost_usd: 0.002 },
    },
    { id: "step_2", label: "Step 2", a: side("completed", 1, 0, 0), b: null, diff: { status_changed: true } },
  ],
  totals: {
    a: { duration_s: 3, input_tokens: 1000, output_tokens: 100, cost_usd: 0.0012 },
    b: { duration_s: 4, input_tokens: 1200, output_tokens: 100, cost_usd: 0.0032 },
    diff: { duration_s: 1, input_tokens: 200, output_tokens: 0, cost_usd: 0.002 },
  },
};

test("differences are signed B - A, one that rounds to none is ±, unknown is empty", () => {
  assert.equal(signed(0.002, "usd"), "+$0.0020");
  assert.equal(signed(-1.25, "s"), "-1.3 s");
  assert.equal(signed(-1200), "-1,200");
  assert.equal(signed(0, "usd"), "±$0.0000");
  assert.equal(signed(-0.01, "s"), "±0.0 s");
  assert.equal(signed(0), "±0");
  assert.equal(signed(null), "");
});

test("the steps table: both sides, a step only one run has, the totals", () => {
  const rows = stepRows(DOC);
  assert.deepEqual(rows[0], {
    id: "step_1",
    label: "Step 1",
    a: ["completed", "1.3 s", "1,100", "$0.0012"],
    b: ["failed", "2.5 s", "1,300", "$0.0032"],
    diff: ["changed", "+1.3 s", "+200", "+$0.0020"],
  });
  assert.deepEqual(rows[1].b, ["—", "", "", ""]);
  assert.deepEqual(rows[2], {
    id: "total",
    label: "Total",
    a: ["completed", "3.0 s", "1,100", "$0.0012"],
    b: ["failed", "4.0 s", "1,300", "$0.0032"],
    diff: ["changed", "+1.0 s", "+200", "+$0.0020"],
  });
});

test("a unified diff's lines are classified", () => {
  const lines = diffLines("--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a = 1\n+a = 2\n same\n");
  assert.deepEqual(
    lines.map((l) => l.kind),
    ["file", "file", "hunk", "del", "add", "same"],
  );
  assert.deepEqual(diffLines(""), []);
});

test("key-by-key diffs and plain values", () => {
  const rows = valueRows({
    added: { x: 1 },
    removed: { y: "s" },
    changed: { k: { a: 1, b: 2 } },
    same: ["n"],
  });
  assert.deepEqual(rows, [
    ["+", "x", "1"],
    ["-", "y", '"s"'],
    ["~", "k", "1 → 2"],
    ["=", "n", "same"],
  ]);
  assert.deepEqual(valueRows({ equal: false, a: 1, b: [2] }), [["~", "", "1 → [2]"]]);
  assert.equal(fileLine({ path: "a.bin", status: "changed", note: "binary" }), "a.bin: changed (binary)");
  assert.equal(fileLine({ path: "x", status: "only_b", note: null }), "x: only in B");
});

test("each report of a session has its route and file name", () => {
  assert.deepEqual(reportDownloads("fit 1"), {
    notebook: { path: "sessions/fit%201/export", filename: "fit 1.ipynb" },
    cost: { path: "sessions/fit%201/cost?format=csv", filename: "fit 1-cost.csv" },
  });
});

test("the picker's search asks the server for one page of any saved session, its words encoded", () => {
  assert.equal(searchPath("  planck & lensing "), "sessions?q=planck%20%26%20lensing&limit=20&offset=0");
  assert.equal(searchPath("fit", 40, 10), "sessions?q=fit&limit=10&offset=40");
});

test("a hit says its id, mode and the start of its task", () => {
  const task = `Fit the Planck TT spectrum\n  with CAMB ${"and more ".repeat(10)}`;
  const label = hitLabel({ session_id: "fit-07", mode: "one-shot", task });
  assert.ok(label.startsWith("fit-07 · one-shot · Fit the Planck TT spectrum with CAMB and"), label);
  assert.ok(label.endsWith("…") && label.length < 90, label);
  assert.equal(hitLabel({ session_id: "bare" }), "bare");
});

test("a session chosen from a search stays among the picker's choices when the list is redrawn", () => {
  assert.deepEqual(choices(["a", "b"], "far-away"), ["a", "b", "far-away"]);
  assert.deepEqual(choices(["a", "b"], "b"), ["a", "b"]);
  assert.deepEqual(choices(["a"], ""), ["a"]);
});

// The sidebar's state patching (src/rows.js): the updates feed patches the tasks held, and the rows
// are the session files with the live tasks folded in.
import assert from "node:assert/strict";
import { test } from "node:test";

import { patchTasks, rowsOf } from "../src/rows.js";

test("a full message replaces the tasks held; the others patch the ones they carry", () => {
  const tasks = new Map([["old", { task_id: "old", status: "running" }]]);
  const applied = patchTasks(tasks, [
    { type: "tasks", full: true, tasks: [{ task_id: "a", status: "queued" }] },
    { type: "other" },
    { type: "tasks", full: false, tasks: [{ task_id: "a", status: "running" }, { task_id: "b" }] },
  ]);
  assert.deepEqual([...tasks.keys()], ["a", "b"]);
  assert.equal(tasks.get("a").status, "running");
  assert.deepEqual(
    applied.map((t) => t.task_id),
    ["a", "a", "b"],
  );
});

test("rows: a session's live task is folded over its file, sessions newest first", () => {
  const sessions = new Map([
    ["s1", { session_id: "s1", status: "suspended", started_at: "2026-11-30T10:00:00Z", mode: "one-shot" }],
    [
      "s2",
      { session_id: "s2", status: "completed", started_at: "2026-11-30T09:00:00Z", live: { phase: "end" } },
    ],
  ]);
  const tasks = new Map([
    ["t1", { task_id: "t1", session_id: "s1", status: "running", started_at: "2026-11-30T11:00:00Z" }],
    ["t3", { task_id: "t3", session_id: "s3", status: "queued", started_at: "2026-11-30T08:00:00Z" }],
    ["t4", { task_id: "t4", status: "running" }],
  ]);
  const rows = rowsOf(sessions, tasks);
  assert.deepEqual(
    rows.map((r) => r.session_id),
    ["s1", "s2", "s3"],
  );
  assert.equal(rows[0].status, "running");
  assert.equal(rows[0].mode, "one-shot");
  assert.equal(rows[0].task_id, "t1");
  assert.equal(rows[1].phase, "end");
});

test("no sessions and no tasks: no rows", () => {
  assert.deepEqual(rowsOf(new Map(), new Map()), []);
});

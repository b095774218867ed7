// A RunState snapshot as the view's parts (src/parts.js), with the run keys of cmbjupyter/protocol.json.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { partsOf } from "../src/parts.js";
import { ACTIVE, RUN_KEYS } from "../src/protocol.js";

const protocol = JSON.parse(readFileSync(new URL("../../cmbjupyter/protocol.json", import.meta.url), "utf8"));

test("the protocol names are those of cmbjupyter/protocol.json, read-only", () => {
  assert.deepEqual([...RUN_KEYS], protocol.run_keys);
  assert.deepEqual([...ACTIVE].sort(), [...protocol.active_statuses].sort());
  assert.ok(Object.isFrozen(RUN_KEYS));
});

test("no snapshot: every run key null, an empty DAG, cost and console", () => {
  const parts = partsOf(undefined);
  assert.deepEqual(Object.keys(parts.run), protocol.run_keys);
  assert.ok(Object.values(parts.run).every((v) => v === null));
  assert.deepEqual(parts.dag, { nodes: {}, edges: [], current: null });
  assert.deepEqual(parts.cost, {});
  assert.deepEqual(parts.console, { lines: [], count: 0 });
});

test("a snapshot's fields go to their parts; unknown fields are left out of run", () => {
  const dag = { nodes: { a: { id: "a" } }, edges: [], current: "a" };
  const output = [{ text: "hi" }];
  const snapshot = { status: "running", dag, cost: { total_usd: 1 }, output, output_count: 7, extra: 1 };
  const parts = partsOf(snapshot);
  assert.equal(parts.run.status, "running");
  assert.ok(!("extra" in parts.run));
  assert.equal(parts.dag, dag);
  assert.deepEqual(parts.cost, { total_usd: 1 });
  assert.deepEqual(parts.console, { lines: output, count: 7 });
});

test("a snapshot's transcript: its kept items and counts (the sidebar appends them to its store)", () => {
  const items = [{ id: 7, kind: "message", content: "hi" }];
  const parts = partsOf({ transcript: { items, count: 9, dropped: 8, by_kind: { message: 9 } } });
  assert.deepEqual(parts.transcript, { items, count: 9, dropped: 8 });
  assert.deepEqual(partsOf({}).transcript, { items: [], count: 0, dropped: 0 });
});

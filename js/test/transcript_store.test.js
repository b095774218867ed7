// The transcript items a view holds (src/transcript_store.js): each id once, in order, filters.
import assert from "node:assert/strict";
import { test } from "node:test";

import { HELD, TranscriptStore, matches, ofNode, searchText } from "../src/transcript_store.js";
import { item, items } from "./fixtures.js";

test("items are held once each, in id order, whatever is delivered twice", () => {
  const store = new TranscriptStore();
  const changes = [];
  store.subscribe((c) => changes.push(c));
  assert.equal(store.append(items(1, 10)), 10);
  assert.equal(store.append(items(5, 12)), 2); // a snapshot's kept items overlap the last
  assert.equal(store.append(items(1, 3)), 0);
  assert.deepEqual(
    store.items.map((i) => i.id),
    items(1, 12).map((i) => i.id),
  );
  assert.deepEqual(changes, [{ appended: 10 }, { appended: 2 }]);
  assert.equal(store.lastId, 12);
  assert.equal(store.indexOf(7), 6);
  assert.equal(store.indexOf(99), -1);
});

test("reset replaces what is held (another run, or the answer to since 0)", () => {
  const store = new TranscriptStore();
  store.append(items(1, 5));
  const generation = store.generation;
  store.reset(items(3, 4), { count: 9 });
  assert.deepEqual(
    store.items.map((i) => i.id),
    [3, 4],
  );
  assert.equal(store.count, 9);
  assert.equal(store.dropped, 7);
  assert.ok(store.generation > generation);
  assert.deepEqual(
    [...store.agents],
    [
      ["control", 1],
      ["planner", 1],
    ],
  ); // ids 3 and 4: counts start over
});

test("the run's totals: items not kept by the run are counted as dropped", () => {
  const store = new TranscriptStore();
  store.append(items(1001, 2000), { count: 2000, dropped: 1000 });
  assert.equal(store.count, 2000);
  assert.equal(store.dropped, 1000);
  store.setMeta({ count: 2500 }); // the trait runs ahead of the items
  assert.equal(store.dropped, 1500);
  store.setMeta({ count: 10 }); // an older trait never lowers it
  assert.equal(store.count, 2500);
});

test("the browser holds at most HELD items; older ones are counted", () => {
  const store = new TranscriptStore();
  const many = [];
  for (let id = 1; id <= HELD + 5; id++) many.push({ id, kind: "speaker", agent: "a" });
  store.append(many);
  assert.equal(store.items.length, HELD);
  assert.equal(store.items[0].id, 6);
  assert.equal(store.count, HELD + 5);
  assert.equal(store.dropped, 5);
});

test("agents, steps and tool names are indexed for the filter menus and result cards", () => {
  const store = new TranscriptStore();
  store.append(items(1, 100));
  assert.deepEqual([...store.agents.keys()].sort(), ["control", "engineer", "executor", "planner"]);
  assert.deepEqual([...store.steps.keys()], [1, 2, 3]);
  assert.equal(store.calls.get("c1"), "record_status");
});

test("filters: agent, step, kind and a case-insensitive search in texts, code, output and arguments", () => {
  const store = new TranscriptStore();
  store.append(items(1, 100));
  const ids = (filter) => store.select(filter).map((i) => store.items[i].id);
  assert.equal(ids({}).length, 100);
  assert.ok(ids({ agent: "engineer" }).every((id) => id % 4 === 1));
  assert.ok(ids({ step: "2" }).every((id) => id >= 50 && id < 100));
  assert.deepEqual(
    ids({ kinds: new Set(["code_execution"]), step: "1" }),
    [3, 8, 13, 18, 23, 28, 33, 38, 43, 48],
  );
  assert.deepEqual(ids({ text: "PRINT(43)" }), [43]);
  assert.deepEqual(ids({ text: "model 40" }), [40]);
  assert.deepEqual(ids({ text: "plain text 99" }), [99]);
  assert.equal(ids({ text: '"step":1' }).length, 10); // a tool call's arguments, as JSON
  assert.equal(ids({ text: "no such thing" }).length, 0);
});

test("search text: the item's strings, lowercased; arguments given as a string stay as given", () => {
  assert.equal(searchText({ kind: "tool_call", name: "Run", arguments: "X=1" }), "run\nx=1");
  const texts = new Map();
  assert.ok(matches(item(3), { text: "print" }, texts));
  assert.ok(texts.has(3));
});

test("a node's items: by node id, else (emitted outside any node) by step", () => {
  const node = { id: "step_2", step: 2 };
  assert.ok(ofNode({ node_id: "step_2", step: 9 }, node));
  assert.ok(!ofNode({ node_id: "control", step: 2 }, node));
  assert.ok(ofNode({ node_id: null, step: 2 }, node));
  assert.ok(!ofNode({ node_id: null, step: null }, node));
  assert.ok(!ofNode({ node_id: "x" }, null));
});

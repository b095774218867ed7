// The widget's side of the transcript transport (src/transcript_channel.js), with a model that
// behaves as anywidget's does (get/on/send), the kernel's answers played by the test.
import assert from "node:assert/strict";
import { test } from "node:test";

import { transcriptChannel } from "../src/transcript_channel.js";
import { items } from "./fixtures.js";

let runs = 0;

/** A model as anywidget hands a view: `run` ids (a fresh run each time unless given), listeners. */
function fakeModel(traits, manager = {}) {
  traits.run ??= { session_id: `s${(runs += 1)}`, task_id: null };
  const handlers = new Map();
  const sent = [];
  return {
    sent,
    handlers,
    widget_manager: manager,
    get: (key) => traits[key],
    on: (event, fn) => handlers.set(event, [...(handlers.get(event) ?? []), fn]),
    off: (event, fn) =>
      handlers.set(
        event,
        (handlers.get(event) ?? []).filter((f) => f !== fn),
      ),
    send: (msg) => sent.push(msg),
    set(key, value) {
      traits[key] = value;
      for (const fn of handlers.get(`change:${key}`) ?? []) fn();
    },
    custom(msg) {
      for (const fn of handlers.get("msg:custom") ?? []) fn(msg, []);
    },
  };
}

test("a first view asks for every kept item, and the answer fills the model's store", () => {
  const model = fakeModel({ transcript: { count: 1200, dropped: 200, last_id: 1200 } });
  const { store, ask } = transcriptChannel(model);
  ask();
  assert.deepEqual(model.sent, [{ type: "transcript", since: 0 }]);
  model.custom({ type: "transcript", items: items(201, 700), reset: true });
  model.custom({ type: "transcript", items: items(701, 1200) });
  assert.equal(store.items.length, 1000);
  assert.equal(store.count, 1200);
  assert.equal(store.dropped, 200);
});

test("every view of a run shares one store (each its own model proxy); a later view asks only for what it misses", () => {
  const manager = {};
  const traits = { run: { session_id: "s", task_id: "t" }, transcript: { count: 3, dropped: 0, last_id: 3 } };
  const firstView = fakeModel(traits, manager);
  const first = transcriptChannel(firstView);
  firstView.custom({ type: "transcript", items: items(1, 3), reset: true });
  first.off(); // the first view goes (anywidget drops its listeners)
  assert.deepEqual(firstView.handlers.get("msg:custom"), []);
  const secondView = fakeModel(traits, manager);
  const second = transcriptChannel(secondView);
  assert.equal(second.store, first.store);
  second.ask(); // nothing is missing
  assert.deepEqual(secondView.sent, []);
  secondView.set("transcript", { count: 5, dropped: 0, last_id: 5 });
  second.ask();
  assert.deepEqual(secondView.sent, [{ type: "transcript", since: 3 }]);
  const other = transcriptChannel(fakeModel({ run: { session_id: "s2" } }, manager));
  assert.notEqual(other.store, first.store); // another run, another store
});

test("pushed items after a sync are appended once; other messages are not the transcript's", () => {
  const model = fakeModel({ transcript: { count: 0, dropped: 0, last_id: 0 } });
  const { store } = transcriptChannel(model);
  const seen = [];
  store.subscribe((c) => seen.push(c));
  model.custom({ type: "thumbnails", items: {} });
  model.custom({ type: "transcript", items: items(1, 2) });
  model.custom({ type: "transcript", items: items(1, 4) }); // a since-answer overlapping a push
  model.custom({ type: "transcript" }); // malformed: ignored
  assert.deepEqual(
    store.items.map((i) => i.id),
    [1, 2, 3, 4],
  );
  assert.deepEqual(seen, [{ appended: 2 }, { appended: 2 }]);
});

test("before the kernel has a transcript (an older kernel): nothing asked, nothing held", () => {
  const model = fakeModel({ run: {} }); // nor ids yet: a store of its own, not kept
  const { store, ask } = transcriptChannel(model);
  assert.notEqual(transcriptChannel(model).store, store);
  ask();
  assert.deepEqual(model.sent, []);
  assert.equal(store.items.length, 0);
});

// The sidebar's reconnect delays (src/reconnect.js): doubling from BASE_DELAY, capped, with jitter.
// The reconnecting itself is checked against a real server restart in a real browser
// (tests/browser/test_sidebar_reconnect.py).
import assert from "node:assert/strict";
import { test } from "node:test";

import { BASE_DELAY, MAX_DELAY, reconnectDelay } from "../src/reconnect.js";

test("the delay doubles per attempt from BASE_DELAY and never passes MAX_DELAY", () => {
  const top = (attempt) => reconnectDelay(attempt, 0.999999);
  assert.equal(top(0), BASE_DELAY);
  assert.equal(top(1), 2 * BASE_DELAY);
  assert.equal(top(3), 8 * BASE_DELAY);
  assert.equal(top(20), MAX_DELAY);
  assert.equal(top(1000), MAX_DELAY);
});

test("jitter keeps each delay between half and all of its step", () => {
  for (const attempt of [0, 2, 5, 30]) {
    const step = Math.min(MAX_DELAY, BASE_DELAY * 2 ** attempt);
    assert.equal(reconnectDelay(attempt, 0), step / 2);
    for (let i = 0; i < 50; i++) {
      const delay = reconnectDelay(attempt);
      assert.ok(delay >= step / 2 && delay <= step, `${delay} for attempt ${attempt}`);
    }
  }
});

test("a negative attempt counts as the first", () => {
  assert.equal(reconnectDelay(-3, 0), BASE_DELAY / 2);
});

// The formatting shared by the panels (src/format.js), as the static HTML formats too.
import assert from "node:assert/strict";
import { test } from "node:test";

import { duration, started, tokens, usd } from "../src/format.js";

test("dollars: 4 decimals under $1, 2 from $1, missing is zero", () => {
  assert.equal(usd(0.003772), "$0.0038");
  assert.equal(usd(1.5), "$1.50");
  assert.equal(usd(-2), "$-2.00");
  assert.equal(usd(undefined), "$0.0000");
});

test("tokens are grouped by thousands", () => {
  assert.equal(tokens(1234567), "1,234,567");
  assert.equal(tokens(null), "0");
});

test("a duration is seconds with one decimal, empty when a timestamp is missing or bad", () => {
  assert.equal(duration("2026-11-30T10:00:00Z", "2026-11-30T10:01:02.25Z"), "62.3 s");
  assert.equal(duration(null, "2026-11-30T10:00:00Z"), "");
  assert.equal(duration("not a time", "2026-11-30T10:00:00Z"), "");
});

test("started: the time today, the date and time before, empty when unknown", () => {
  const now = new Date(2026, 10, 30, 15, 0);
  assert.equal(started(new Date(2026, 10, 30, 14, 5).toISOString(), now), "14:05");
  assert.equal(started(new Date(2026, 10, 24, 9, 7).toISOString(), now), "Nov 24 09:07");
  assert.equal(started(undefined, now), "");
  assert.equal(started("garbage", now), "");
});

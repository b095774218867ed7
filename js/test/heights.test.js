// Row heights of the virtualized transcript (src/heights.js), checked against plain sums.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Heights } from "../src/heights.js";

test("top, at and set agree with a plain prefix sum", () => {
  const values = Array.from({ length: 1000 }, (_, i) => 10 + ((i * 7) % 13));
  const h = new Heights(values);
  const top = (i) => values.slice(0, i).reduce((a, b) => a + b, 0);
  for (const i of [0, 1, 2, 500, 999, 1000]) assert.equal(h.top(i), top(i));
  assert.equal(h.total, top(1000));
  for (const i of [0, 1, 17, 640, 999]) {
    assert.equal(h.at(top(i)), i); // a row's top is in that row
    assert.equal(h.at(top(i) + values[i] - 0.5), i);
  }
  assert.equal(h.at(-5), 0);
  assert.equal(h.at(1e12), 999);
  assert.equal(h.set(10, 100), 100 - values[10]);
  values[10] = 100;
  assert.equal(h.top(500), top(500));
  assert.equal(h.at(top(11)), 11);
  assert.equal(h.get(10), 100);
});

test("an empty list and a single row", () => {
  const empty = new Heights([]);
  assert.equal(empty.total, 0);
  assert.equal(empty.at(100), 0);
  const one = new Heights([30]);
  assert.equal(one.at(29), 0);
  assert.equal(one.total, 30);
});

test("100k rows: lookups stay logarithmic", () => {
  const h = new Heights(new Float64Array(100_000).fill(30));
  const t0 = performance.now();
  for (let i = 0; i < 100_000; i++) h.at(i * 30);
  assert.equal(h.at(30 * 54_321 + 1), 54_321);
  assert.ok(performance.now() - t0 < 5000); // a generous bound: a linear scan would take minutes
});

test("rows pushed one by one sum as if built at once, past the first capacity", () => {
  const values = Array.from({ length: 300 }, (_, i) => 5 + (i % 11));
  const grown = new Heights([]);
  for (const v of values) grown.push(v);
  const built = new Heights(values);
  assert.equal(grown.n, 300);
  for (const i of [0, 1, 16, 17, 255, 256, 299, 300]) assert.equal(grown.top(i), built.top(i));
  for (const offset of [0, 7, 1000, 2500]) assert.equal(grown.at(offset), built.at(offset));
  grown.set(299, 100);
  assert.equal(grown.total, built.total + 100 - values[299]);
});

// The JS modules' structure, as tests/structure/test_layout.py checks the Python's: each module of
// src/ has one job and stays small (under 400 lines); a bigger one is split by what it does.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";

const SRC = new URL("../src/", import.meta.url);
const MAX_LINES = 400;

test(`every src module is under ${MAX_LINES} lines`, () => {
  const modules = readdirSync(SRC).filter((name) => name.endsWith(".js"));
  assert.ok(modules.length > 10, "the src modules are found");
  const big = modules
    .map((name) => ({ name, lines: readFileSync(new URL(name, SRC), "utf8").split("\n").length }))
    .filter(({ lines }) => lines >= MAX_LINES);
  const named = big.map(({ name, lines }) => `${name} (${lines} lines)`).join(", ");
  assert.deepEqual(big, [], `split these modules: ${named}`);
});

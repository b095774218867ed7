// Following a log's tail (src/follow.js), with a scroller that behaves as a browser's does (its
// scrollTop clamped to the content) and a reader who scrolls.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Follower, atBottom, followState } from "../src/follow.js";

/** A scrolled box of `lines` lines of 20 px, `height` px tall. */
function scroller(lines, height = 100) {
  const listeners = [];
  const box = {
    lines,
    clientHeight: height,
    top: 0,
    get scrollHeight() {
      return Math.max(this.lines * 20, this.clientHeight);
    },
    get scrollTop() {
      return this.top;
    },
    set scrollTop(v) {
      this.top = Math.max(0, Math.min(v, this.scrollHeight - this.clientHeight));
    },
    addEventListener: (_, fn) => listeners.push(fn),
    removeEventListener() {},
    /** The reader scrolls to `v`. */
    scrollTo(v) {
      this.scrollTop = v;
      for (const fn of listeners) fn();
    },
  };
  return box;
}

/** A Follower whose anchor is the first line in sight (by its number) and the offset into it. */
function follow(box, state = followState()) {
  const changes = [];
  const follower = new Follower(/** @type {any} */ (box), state, {
    anchor: () => ({ line: Math.floor(box.scrollTop / 20), offset: box.scrollTop % 20 }),
    restore: (a) => {
      box.scrollTop = a.line * 20 + a.offset;
    },
    onChange: (following) => changes.push(following),
  });
  return { follower, state, changes };
}

test("at the bottom, new lines keep it at the bottom", () => {
  const box = scroller(50);
  const { follower, state } = follow(box);
  follower.settle();
  assert.ok(atBottom(/** @type {any} */ (box)));
  box.lines = 80;
  follower.settle();
  assert.equal(box.scrollTop, 80 * 20 - 100);
  assert.equal(state.following, true);
});

test("scrolled up, the place is kept across redraws; Jump to latest follows again", () => {
  const box = scroller(50);
  const { follower, state, changes } = follow(box);
  follower.settle();
  box.scrollTo(200); // the reader scrolls up to line 10
  assert.equal(state.following, false);
  assert.deepEqual(state.anchor, { line: 10, offset: 0 });
  box.lines = 90;
  box.top = 0; // a redraw lost the position (a new view starts at the top)
  follower.settle();
  assert.equal(box.scrollTop, 200);
  follower.jump();
  assert.equal(box.scrollTop, 90 * 20 - 100);
  assert.deepEqual(changes, [true, false, true]);
});

test("the state outlives the view: a new one (same state) starts where the last one was", () => {
  const state = followState();
  const first = scroller(50);
  follow(first, state).follower.settle();
  first.scrollTo(300);
  const second = scroller(60);
  follow(second, state).follower.settle();
  assert.equal(second.scrollTop, 300);
  const third = scroller(60);
  follow(third, followState()).follower.settle();
  assert.equal(third.scrollTop, 60 * 20 - 100); // a fresh state follows the tail
});

test("a hidden panel (another tab) neither moves nor learns", () => {
  const box = scroller(50);
  const { follower, state } = follow(box);
  box.clientHeight = 0;
  follower.settle();
  box.scrollTo(0);
  assert.equal(state.following, true);
  assert.equal(box.scrollTop, 0);
  follower.hold({ line: 5, offset: 3 });
  box.clientHeight = 100;
  follower.settle();
  assert.equal(box.scrollTop, 103);
});

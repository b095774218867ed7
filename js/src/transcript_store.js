// The transcript items a view holds, pure (no DOM: js/test/transcript_store.test.js runs it).
//
// Items (the contract's snapshot["transcript"]["items"]: {id, kind, seq, ts, agent, step, node_id,
// ...the event's fields}) arrive in id order, possibly more than once (a snapshot's kept items, then
// the same again in the next snapshot; a view that asks `since` an id it already has): each id is
// held once. One store serves every view of a run (the widget keeps one per model), so a view
// rendered again (the output is re-published on each phase change) starts with what the last had.

/** Items held in the browser at most (the oldest beyond are counted, not kept). */
export const HELD = 200_000;

/** The kinds of item, in the order the filter lists them. */
export const KINDS = Object.freeze([
  "message",
  "tool_call",
  "tool_result",
  "code_execution",
  "speaker",
  "termination",
]);

const SEARCHED = ["content", "code", "output", "name", "reason", "agent", "recipient", "language"];

/** The lowercased text a search looks in (an item's texts, its tool arguments as JSON). */
export function searchText(item) {
  const parts = [];
  for (const key of SEARCHED) if (typeof item[key] === "string") parts.push(item[key]);
  if (item.arguments !== undefined)
    parts.push(typeof item.arguments === "string" ? item.arguments : JSON.stringify(item.arguments));
  return parts.join("\n").toLowerCase();
}

/**
 * Does `item` pass the filter? `agent`/`step` ("" = any), `kinds` (a Set; empty = any), `text` (a
 * lowercased substring; `texts` caches each item's search text by id).
 * @param {any} item
 * @param {{agent?: string, step?: string, kinds?: Set<string>, text?: string}} filter
 * @param {Map<number, string>} [texts]
 */
export function matches(item, filter, texts) {
  if (filter.agent && (item.agent ?? "") !== filter.agent) return false;
  if (filter.step && String(item.step ?? "") !== filter.step) return false;
  if (filter.kinds?.size && !filter.kinds.has(item.kind)) return false;
  if (filter.text) {
    let text = texts?.get(item.id);
    if (text === undefined) {
      text = searchText(item);
      texts?.set(item.id, text);
    }
    if (!text.includes(filter.text)) return false;
  }
  return true;
}

/** Is a node's item? Its `node_id`, else (an item emitted outside any node) its step. */
export function ofNode(item, node) {
  if (!node) return false;
  if (item.node_id != null) return item.node_id === node.id;
  return node.step != null && item.step != null && String(item.step) === String(node.step);
}

export class TranscriptStore {
  constructor() {
    /** @type {any[]} */
    this.items = [];
    this.lastId = 0; // the highest id held
    this.count = 0; // items the run made (at least those seen)
    this.dropped = 0; // items the run made that are not held here
    this.version = 0; // bumped on every change; `reset` bumps `generation` too
    this.generation = 0;
    this.agents = new Map(); // agent -> items held
    this.steps = new Map(); // step (as given: a number, or a string) -> items held
    this.calls = new Map(); // tool call id -> tool name (a result shows the call's name)
    this.texts = new Map(); // id -> search text, filled by `matches`
    this.listeners = new Set();
  }

  /** `fn(change)` on each change: {appended: n} or {reset: true}; returns the unsubscriber. */
  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  notify(change) {
    this.version += 1;
    for (const fn of this.listeners) fn(change);
  }

  /** Replaces what is held by `items` (e.g. another session, or the answer to `since: 0`). */
  reset(items = [], meta = {}) {
    this.items = [];
    this.lastId = 0;
    this.agents.clear();
    this.steps.clear();
    this.calls.clear();
    this.texts.clear();
    this.count = 0;
    this.dropped = 0;
    this.generation += 1;
    this.take(items);
    this.setMeta(meta, false);
    this.notify({ reset: true });
  }

  /** Adds the items not held yet (ids above the last held); returns how many were added. */
  append(items, meta = {}) {
    const added = this.take(items);
    const changed = this.setMeta(meta, false);
    if (added || changed) this.notify({ appended: added });
    return added;
  }

  /** The run's totals ({count, dropped} of the trait or the snapshot), kept if larger. */
  setMeta(meta, notify = true) {
    const count = Math.max(this.count, Number(meta?.count ?? 0), this.lastId);
    const dropped = Math.max(count - this.items.length, 0);
    const changed = count !== this.count || dropped !== this.dropped;
    this.count = count;
    this.dropped = dropped;
    if (changed && notify) this.notify({ appended: 0 });
    return changed;
  }

  take(items) {
    let added = 0;
    for (const item of items ?? []) {
      const id = item?.id;
      if (typeof id !== "number" || !(id > this.lastId)) continue; // not an item, or held
      this.lastId = id;
      this.items.push(item);
      added += 1;
      if (item.agent) this.agents.set(item.agent, (this.agents.get(item.agent) ?? 0) + 1);
      if (item.step != null) this.steps.set(item.step, (this.steps.get(item.step) ?? 0) + 1);
      if (item.kind === "tool_call" && item.call_id != null) this.calls.set(item.call_id, item.name);
    }
    if (this.items.length > HELD) {
      for (const old of this.items.splice(0, this.items.length - HELD)) this.texts.delete(old.id);
      this.generation += 1; // indexes into `items` moved
    }
    this.count = Math.max(this.count, this.lastId);
    return added;
  }

  /** The index of the item with `id` (binary search: ids increase), or -1. */
  indexOf(id) {
    let lo = 0;
    let hi = this.items.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const at = this.items[mid].id;
      if (at === id) return mid;
      if (at < id) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Indexes of the items passing `filter` (its text in any case), in order. */
  select(given) {
    const filter = { ...given, text: given.text?.toLowerCase() };
    const out = [];
    const any = !filter.agent && !filter.step && !filter.kinds?.size && !filter.text;
    for (let i = 0; i < this.items.length; i++)
      if (any || matches(this.items[i], filter, this.texts)) out.push(i);
    return out;
  }
}

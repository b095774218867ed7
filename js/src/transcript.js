// The transcript panel: what the agents did, in order, readable like a lab notebook (issue 14).
//
// One module for the RunWidget and the sidebar. It draws a TranscriptStore (transcript_store.js):
// filter by agent, step and kind, text search, and a virtualized list (only the rows in sight are in
// the DOM; their heights are estimated, then measured, in a Fenwick tree: heights.js), so 100k items
// scroll like 10. It follows the tail while the reader is at the bottom and keeps their place when
// they scrolled up (follow.js), across every redraw and every new view of the run ("Jump to latest").
// The list is resizable (its height is kept with the rest of the view state).

import { Follower, followState } from "./follow.js";
import { el } from "./format.js";
import { Heights } from "./heights.js";
import { KINDS, TranscriptStore, matches } from "./transcript_store.js";
import { estimateHeight, renderItem } from "./transcript_items.js";

const OVERSCAN = 400; // px drawn above and below the visible part
const CACHED_ROWS = 400; // drawn rows kept for scrolling back (each a few DOM nodes)
const SEARCH_DELAY = 150; // ms after the last key before a search runs

/** A fresh view state of the panel (the widget keeps one per model). */
export function transcriptState() {
  return { ...followState(), agent: "", step: "", kind: "", text: "", height: 0 };
}

function option(value, label) {
  const o = el("option", "", label);
  o.value = value;
  return o;
}

export class TranscriptPanel {
  /**
   * @param {HTMLElement} parent
   * @param {{store?: TranscriptStore, state?: ReturnType<typeof transcriptState>,
   *          insertCell?: (code: string) => void}} options
   */
  constructor(parent, options = {}) {
    this.store = options.store ?? new TranscriptStore();
    this.state = options.state ?? transcriptState();
    this.actions = {
      insertCell: options.insertCell,
      callName: (id) => this.store.calls.get(id),
    };
    this.root = el("div", "cmb-transcript");
    const bar = el("div", "cmb-tr-bar");
    this.agent = el("select", "cmb-tr-filter-agent");
    this.step = el("select", "cmb-tr-filter-step");
    this.kind = el("select", "cmb-tr-filter-kind");
    this.kind.append(option("", "all kinds"), ...KINDS.map((k) => option(k, k.replace("_", " "))));
    this.search = el("input", "cmb-tr-search");
    this.search.type = "search";
    this.search.placeholder = "Search the transcript";
    this.counter = el("span", "cmb-tr-count");
    this.latest = el("button", "cmb-tr-latest", "Jump to latest ↓");
    this.latest.type = "button";
    this.latest.hidden = true;
    bar.append(this.agent, this.step, this.kind, this.search, this.counter, this.latest);
    this.scroller = el("div", "cmb-tr-scroller");
    this.scroller.tabIndex = 0;
    this.scroller.setAttribute("role", "log");
    if (this.state.height) this.scroller.style.height = `${this.state.height}px`;
    this.canvas = el("div", "cmb-tr-canvas");
    this.rows = el("div", "cmb-tr-rows");
    this.canvas.appendChild(this.rows);
    this.scroller.appendChild(this.canvas);
    this.empty = el("div", "cmb-tr-empty", "No transcript yet.");
    this.root.append(bar, this.empty, this.scroller);
    parent.appendChild(this.root);

    this.cache = new Map(); // item id -> drawn row
    this.view = []; // store indexes passing the filter
    this.heights = new Heights([]);
    this.window = [0, 0];
    this.generation = -1;
    this.agent.value = this.state.agent;
    this.search.value = this.state.text;
    this.kind.value = this.state.kind;

    this.follower = new Follower(this.scroller, this.state, {
      anchor: () => this.anchor(),
      restore: (anchor) => this.restore(anchor),
      onChange: (following) => {
        this.latest.hidden = following;
      },
    });
    this.scroller.addEventListener("scroll", () => this.draw(), { passive: true });
    this.latest.addEventListener("click", () => this.follower.jump());
    const refilter = () => {
      this.state.agent = this.agent.value;
      this.state.step = this.step.value;
      this.state.kind = this.kind.value;
      this.refilter();
    };
    for (const select of [this.agent, this.step, this.kind]) select.addEventListener("change", refilter);
    for (const select of [this.agent, this.step])
      select.addEventListener("mousedown", () => this.menus(true));
    let timer = null;
    this.search.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        this.state.text = this.search.value;
        this.refilter();
      }, SEARCH_DELAY);
    });
    // A card opened or closed, a row's images loaded: measure the rows again.
    this.resize =
      typeof ResizeObserver === "undefined"
        ? null
        : new ResizeObserver(() => this.measure() && this.settle());
    this.resize?.observe(this.rows);
    // The panel's height, dragged by its corner, is kept for the next view.
    this.sized = typeof ResizeObserver === "undefined" ? null : new ResizeObserver(() => this.keepHeight());
    this.sized?.observe(this.scroller);
    this.unsubscribe = this.store.subscribe((change) => this.changed(change));
    this.refilter();
  }

  keepHeight() {
    const h = this.scroller.offsetHeight;
    if (h > 0 && this.scroller.style.height) this.state.height = h;
  }

  /** The filter of the state, as the store takes it. */
  filter() {
    const s = this.state;
    return {
      agent: s.agent,
      step: s.step,
      kinds: s.kind ? new Set([s.kind]) : undefined,
      text: s.text.trim().toLowerCase(),
    };
  }

  filtered() {
    const s = this.state;
    return Boolean(s.agent || s.step || s.kind || s.text.trim());
  }

  /** The filter menus: the agents and steps held, rebuilt when one appears; their counts are
   * refreshed when a menu is opened (`counts`), not on every item of a live run. */
  menus(counts = false) {
    const fill = (select, label, held, value) => {
      if (!counts && select.dataset.size === String(held.size)) return;
      select.dataset.size = String(held.size);
      const entries = [...held].map(([k, n]) => [String(k), n]);
      entries.sort((a, b) => Number(a[0]) - Number(b[0]) || a[0].localeCompare(b[0]));
      select.replaceChildren(option("", label), ...entries.map(([k, n]) => option(k, `${k} (${n})`)));
      if (value && !entries.some(([k]) => k === value)) select.appendChild(option(value, value));
      select.value = value;
    };
    fill(this.agent, "all agents", this.store.agents, this.state.agent);
    fill(this.step, "all steps", this.store.steps, this.state.step);
  }

  /** Rebuild the filtered list (a filter changed, or the store was reset). */
  refilter(now = true) {
    this.generation = this.store.generation;
    this.view = this.store.select(this.filter());
    this.heights = new Heights(this.view.map((i) => estimateHeight(this.store.items[i])));
    if (this.cache.size && this.store.generation !== this.cachedGeneration) this.cache.clear();
    this.cachedGeneration = this.store.generation;
    this.window = [0, 0];
    if (!now) return this.schedule();
    this.menus();
    this.paint();
  }

  /** New items in the store: the passing ones are added at the end (painted at the next frame). */
  changed(change) {
    if (change.reset || this.store.generation !== this.generation) return this.refilter(false);
    if (change.appended) {
      const from = this.store.items.length - change.appended;
      const filter = this.filter();
      const any = !this.filtered();
      const added = [];
      for (let i = from; i < this.store.items.length; i++) {
        const item = this.store.items[i];
        if (any || matches(item, filter, this.store.texts)) added.push(i);
      }
      for (const i of added) {
        this.view.push(i);
        this.heights.push(estimateHeight(this.store.items[i]));
      }
    }
    this.schedule();
  }

  /** Paints at the next frame: a burst of changes (500 items a message, 20 messages) costs one. */
  schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      this.menus();
      this.paint();
    });
  }

  /** Counter, empty note, canvas height, rows in sight, then back to the tail or the place. */
  paint() {
    const s = this.store;
    const shown = this.view.length;
    let count = `${shown.toLocaleString("en-US")}${this.filtered() ? ` of ${s.items.length.toLocaleString("en-US")}` : ""} item${shown === 1 ? "" : "s"}`;
    if (s.dropped) count += ` · ${s.dropped.toLocaleString("en-US")} earlier not kept`;
    this.counter.textContent = count;
    this.empty.hidden = shown > 0;
    this.empty.textContent = s.items.length ? "No item matches the filter." : "No transcript yet.";
    // To the tail (or the place) first, on the estimated heights, then draw only the rows there.
    this.canvas.style.height = `${this.heights.total}px`;
    this.follower.settle();
    this.draw(true);
  }

  settle() {
    this.follower.settle();
    this.draw();
  }

  /** Draws the rows in sight (and OVERSCAN around them); `force` redraws even the same window. */
  draw(force = false) {
    this.canvas.style.height = `${this.heights.total}px`;
    const top = this.scroller.scrollTop;
    const height = this.scroller.clientHeight || 400;
    const n = this.view.length;
    const start = n ? this.heights.at(Math.max(top - OVERSCAN, 0)) : 0;
    const end = n ? Math.min(this.heights.at(top + height + OVERSCAN) + 1, n) : 0;
    if (!force && start === this.window[0] && end === this.window[1]) return;
    this.window = [start, end];
    const rows = [];
    for (let k = start; k < end; k++) {
      const item = this.store.items[this.view[k]];
      let row = this.cache.get(item.id);
      if (!row) {
        row = renderItem(item, this.actions);
        this.cache.set(item.id, row);
      }
      row.dataset.index = String(k);
      rows.push(row);
    }
    this.rows.style.transform = `translateY(${this.heights.top(start)}px)`;
    this.rows.replaceChildren(...rows);
    if (this.cache.size > CACHED_ROWS) {
      const shown = new Set(rows);
      for (const [id, row] of this.cache) {
        if (this.cache.size <= CACHED_ROWS) break;
        if (!shown.has(row)) this.cache.delete(id);
      }
    }
    if (this.measure()) this.follower.settle(); // heights corrected: back to the tail or the place
  }

  /** Measures the rows drawn; true when a height changed. */
  measure() {
    if (this.scroller.clientHeight === 0) return false; // hidden: nothing laid out
    let changed = false;
    for (const row of this.rows.children) {
      const k = Number(/** @type {HTMLElement} */ (row).dataset.index);
      const h = /** @type {HTMLElement} */ (row).offsetHeight;
      if (h > 0 && k < this.heights.n && this.heights.set(k, h) !== 0) changed = true;
    }
    if (changed) {
      this.canvas.style.height = `${this.heights.total}px`;
      this.rows.style.transform = `translateY(${this.heights.top(this.window[0])}px)`;
    }
    return changed;
  }

  /** Where the reader is: the item at the top of the view and how far into it. */
  anchor() {
    if (!this.view.length) return null;
    const top = this.scroller.scrollTop;
    const k = this.heights.at(top);
    return { id: this.store.items[this.view[k]].id, offset: top - this.heights.top(k) };
  }

  restore(anchor) {
    const k = this.viewIndexOf(anchor.id);
    if (k < 0) return;
    this.scroller.scrollTop = this.heights.top(k) + anchor.offset;
  }

  viewIndexOf(id) {
    const i = this.store.indexOf(id);
    if (i < 0) return -1;
    let lo = 0;
    let hi = this.view.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.view[mid] === i) return mid;
      if (this.view[mid] < i) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Back to a fresh view (another run shown): no filter, following the tail. */
  clearFilters() {
    Object.assign(this.state, { agent: "", step: "", kind: "", text: "", following: true, anchor: null });
    this.search.value = "";
    this.kind.value = "";
    this.latest.hidden = true;
  }

  /** Filters to one step ("" for all), e.g. from a node's details. */
  showStep(step) {
    this.state.step = String(step ?? "");
    this.menus();
    this.refilter();
  }

  /** Shows item `id` (a failing execution the outcome links to): filters cleared if they hide it,
   * scrolled to, its card opened, flashed. False when the item is not held. */
  reveal(id) {
    if (this.store.indexOf(id) < 0) return false;
    if (this.viewIndexOf(id) < 0) {
      Object.assign(this.state, { agent: "", step: "", kind: "", text: "" });
      this.search.value = "";
      this.refilter();
    }
    this.follower.hold({ id, offset: 0 });
    this.draw(true);
    this.follower.settle(); // the rows drawn were measured: the item's top may have moved
    this.draw();
    const row = this.rows.querySelector(`[data-id="${id}"]`);
    if (row) {
      for (const card of row.querySelectorAll("details")) card.open = true;
      row.classList.add("cmb-tr-flash");
      setTimeout(() => row.classList.remove("cmb-tr-flash"), 2000);
    }
    return true;
  }

  destroy() {
    this.unsubscribe();
    this.follower.disconnect();
    this.resize?.disconnect();
    this.sized?.disconnect();
  }
}

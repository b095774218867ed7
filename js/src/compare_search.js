// The Compare picker's search: finds any saved session on the server, not only the ones the
// sidebar has listed (GET sessions?q=&limit=&offset=: the server filters by session id, task text
// and mode, paged like the list, "More" for the next page), and puts a hit into A or B.

import { el } from "./format.js";

const PAGE = 20; // hits fetched per request
const QUIET = 250; // ms without typing before a search is sent (Enter sends it at once)

/** The request of a search for `query` (trimmed), one page of `limit` hits from `offset`. */
export function searchPath(query, offset = 0, limit = PAGE) {
  return `sessions?q=${encodeURIComponent(query.trim())}&limit=${limit}&offset=${offset}`;
}

/** A hit's line: its id, mode and the start of its task. */
export function hitLabel(row) {
  const task = String(row?.task ?? "")
    .replace(/\s+/g, " ")
    .trim();
  const short = task.length > 60 ? `${task.slice(0, 60)}…` : task;
  return [row?.session_id, row?.mode, short].filter(Boolean).join(" · ");
}

export class SessionSearch {
  /**
   * @param {(path: string) => Promise<any>} call the server's API
   * @param {(side: "a" | "b", sessionId: string) => void} onPick a hit chosen as A or B
   */
  constructor(call, onPick) {
    this.call = call;
    this.onPick = onPick;
    this.asked = 0; // the latest search: an older one's answer is dropped
    this.timer = null;
    this.query = "";
    this.found = [];
    this.node = el("div", "cmb-compare-search");
    this.input = /** @type {HTMLInputElement} */ (el("input", "cmb-compare-search-input"));
    this.input.type = "search";
    this.input.placeholder = "Find any saved session: id, task, mode";
    this.input.setAttribute("aria-label", "Find a saved session to compare");
    this.input.addEventListener("input", () => this.soon());
    this.input.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") {
        ev.preventDefault();
        this.now();
      }
    });
    this.status = el("div", "cmb-compare-search-status");
    this.hits = el("div", "cmb-compare-hits");
    this.more = el("button", "cmb-compare-hits-more", "More");
    this.more.type = "button";
    this.more.hidden = true;
    this.more.addEventListener("click", () => void this.search(this.query, this.found.length));
    this.node.append(this.input, this.status, this.hits, this.more);
  }

  soon() {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.now(), QUIET);
  }

  now() {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    void this.search(this.input.value, 0);
  }

  /** The hits of `query` from `offset` (0: a new search, replacing the hits shown). */
  async search(query, offset) {
    const ask = ++this.asked;
    if (!query.trim()) {
      this.show("", [], 0);
      return;
    }
    let page;
    try {
      page = await this.call(searchPath(query, offset));
    } catch (err) {
      if (ask !== this.asked) return;
      this.hits.replaceChildren();
      this.more.hidden = true;
      this.status.replaceChildren(el("span", "cmb-error", err.message));
      return;
    }
    if (ask !== this.asked) return;
    const found = offset === 0 ? [] : this.found;
    this.show(query, [...found, ...(page.sessions ?? [])], page.total ?? 0);
  }

  show(query, found, total) {
    this.query = query;
    this.found = found;
    this.status.textContent = query.trim() ? `${total} found${total ? ` (${found.length} shown)` : ""}` : "";
    this.more.hidden = found.length >= total;
    this.hits.replaceChildren(...found.map((row) => this.hit(row)));
  }

  hit(row) {
    const line = el("div", "cmb-compare-hit");
    line.dataset.sessionId = row.session_id;
    line.title = row.task ?? "";
    for (const side of /** @type {const} */ (["a", "b"])) {
      const b = el("button", `cmb-compare-as-${side}`, side.toUpperCase());
      b.type = "button";
      b.title = `Compare ${row.session_id} as ${side.toUpperCase()}`;
      b.addEventListener("click", () => this.onPick(side, row.session_id));
      line.appendChild(b);
    }
    line.appendChild(el("span", "cmb-compare-hit-label", ` ${hitLabel(row)}`));
    return line;
  }
}

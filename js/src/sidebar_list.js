// The sidebar's session list, fetched a page at a time (GET sessions?limit=&offset=; "Show more"
// for the next page), each row with its status, mode, phase, cost and start; the `updates` feed's
// task summaries are applied to the rows held (src/rows.js), so thousands of sessions on disk cost
// the server nothing per update.

import { el, started } from "./format.js";
import { rowCost } from "./fork.js";
import { rowsOf } from "./rows.js";

const PAGE = 100; // session rows fetched per request

export class SessionList {
  /** @param {import("./api.js").CmbAgentApi} api @param {() => void} onLoaded after a page came */
  constructor(api, onLoaded) {
    this.api = api;
    this.onLoaded = onLoaded;
    this.sessions = new Map(); // session id -> sidecar row, the pages fetched so far
    this.total = 0; // sessions on the server
    this.relisted = new Set(); // session ids that already caused a re-list
    this.node = el("div", "cmb-sidebar-list");
    this.more = el("button", "cmb-sidebar-more", "Show more");
    this.more.type = "button";
    this.more.hidden = true;
    this.more.addEventListener("click", () => this.loadMore());
  }

  /** The first page of sessions, replacing the rows held. */
  async refresh() {
    try {
      const page = await this.api.call(`sessions?limit=${PAGE}&offset=0`);
      this.sessions = new Map();
      this.addPage(page);
    } catch (err) {
      this.node.replaceChildren(el("div", "cmb-error", `cmbagent server extension: ${err.message}`));
      return;
    }
    this.onLoaded();
  }

  /** The next page, appended. */
  async loadMore() {
    try {
      this.addPage(await this.api.call(`sessions?limit=${PAGE}&offset=${this.sessions.size}`));
    } catch (err) {
      console.warn("cmbagent: more sessions not loaded", err);
      return;
    }
    this.onLoaded();
  }

  addPage(page) {
    for (const s of page.sessions ?? []) this.sessions.set(s.session_id, s);
    this.total = Math.max(page.total ?? 0, this.sessions.size);
  }

  /** True once per session id the list does not hold (a new session: the list is fetched again). */
  isNew(sessionId) {
    if (!sessionId || this.sessions.has(sessionId) || this.relisted.has(sessionId)) return false;
    this.relisted.add(sessionId);
    return true;
  }

  /**
   * Draws the rows: the sessions held, patched with the live `tasks`.
   * @param {Map<string, any>} tasks @param {string | null | undefined} selectedId
   * @param {(row: any) => void} onSelect
   * @returns {any[]} the rows drawn
   */
  render(tasks, selectedId, onSelect) {
    const rows = rowsOf(this.sessions, tasks);
    this.more.hidden = this.sessions.size >= this.total;
    this.more.textContent = `Show more (${this.sessions.size} of ${this.total})`;
    if (rows.length === 0) {
      this.node.replaceChildren(el("div", "cmb-sidebar-empty", "No sessions yet: run a %%cmbagent cell."));
      return rows;
    }
    this.node.replaceChildren(
      ...rows.map((r) => {
        const row = el("div", `cmb-sidebar-row${r.session_id === selectedId ? " cmb-selected" : ""}`);
        row.dataset.sessionId = r.session_id;
        row.dataset.status = r.status ?? "";
        const cost = rowCost(r);
        const since = r.started_at ?? r.created_at;
        row.title = r.error ?? (since ? `started ${since}` : ""); // a damaged file: why
        row.append(
          el("span", `cmb-status cmb-${r.status}`, r.status ?? "?"),
          el("span", "cmb-sidebar-name", ` ${r.session_id} `),
          el("span", "cmb-where", [r.mode, r.phase, cost, started(since)].filter(Boolean).join(" · ")),
        );
        row.addEventListener("click", () => onSelect(r));
        return row;
      }),
    );
    return rows;
  }
}

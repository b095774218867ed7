// The JupyterLab extension: a left "cmbagent" panel listing the sessions of this server (live over
// the `updates` WebSocket), showing the selected one with the RunWidget's own view (DAG, cost,
// console, results), with Cancel / Resume / Open notebook, and keeping `metadata.cmbagent.sessions`
// of the open notebook a task came from up to date on every phase change. Its Files tab lists the
// session's files with the Results panel's views (bytes from the server's files routes), "Show in
// file browser" on the run's folder, and "Insert loader cell" on a data file (below the active cell
// of the notebook the session came from). "Compare" (header) draws two sessions side by side
// (compare.js); "Export notebook" and "Cost CSV" download a session's reports (downloads.js).
//
// The list is fetched a page at a time (GET sessions?limit=&offset=; "Show more" for the next page),
// on open, on the reload button and when a session the list does not hold appears; otherwise the
// `updates` feed's task summaries are applied to the rows in place, so thousands of sessions on disk
// cost the server nothing per update.

import { Widget } from "@lumino/widgets";
import { ApiError, CmbAgentApi } from "./api.js";
import { CompareView } from "./compare.js";
import { downloadReport } from "./downloads.js";
import { installNotifications } from "./notify.js";
import { ResultsPanel, loaderCode } from "./results.js";
import { el, started } from "./format.js";
import { partsOf } from "./parts.js";
import { ACTIVE } from "./protocol.js";
import { patchTasks, rowsOf } from "./rows.js";
import { rowCost } from "./fork.js";
import { createRunView } from "./view.js";

const RESUMABLE = new Set(["suspended", "cancelled", "failed"]); // their session is suspended
const PAGE = 100; // session rows fetched per request
const RELIST_DELAY = 1000; // ms: new sessions re-list the first page at most this often

/** The server's root_dir (JupyterLab's page config), to turn a work dir into a file-browser path. */
function serverRoot() {
  try {
    return JSON.parse(document.getElementById("jupyter-config-data")?.textContent ?? "{}").serverRoot ?? null;
  } catch {
    return null;
  }
}

/** `workDir` relative to the server's root ("" for the root), or null when it lies outside it. */
export function browserPath(workDir, root = serverRoot()) {
  if (!workDir || !root) return null;
  const base = root.replace(/\/+$/, "");
  if (workDir === base) return "";
  return workDir.startsWith(`${base}/`) ? workDir.slice(base.length + 1) : null;
}

class SessionsPanel extends Widget {
  constructor(app) {
    super();
    this.app = app;
    this.api = new CmbAgentApi(app.serviceManager.serverSettings);
    this.id = "cmbagent-sidebar";
    this.addClass("cmbjupyter-sidebar");
    this.title.label = "cmbagent"; // its icon, tooltip and badge: notify.js (drawTab)
    this.notifier = installNotifications(app, this);
    this.tasks = new Map();
    this.sessions = new Map(); // session id -> sidecar row, the pages fetched so far
    this.total = 0; // sessions on the server
    this.relisted = new Set(); // session ids that already caused a re-list
    this.relistTimer = null;
    this.selected = null;
    this.stream = null;
    this.phases = new Map(); // task id -> last phase/status written to its notebook
    const header = el("div", "cmb-sidebar-header", "cmbagent sessions ");
    this.header = header;
    this.offline = el("span", "cmb-sidebar-offline-note", " reconnecting\u2026 ");
    this.offline.hidden = true;
    const reload = el("button", "cmb-sidebar-reload", "\u21bb");
    reload.type = "button";
    reload.title = "Reload the session list";
    reload.addEventListener("click", () => this.refresh());
    const compare = el("button", "cmb-sidebar-compare-open", "Compare");
    compare.type = "button";
    compare.title = "Compare two sessions";
    compare.addEventListener("click", () => this.toggleCompare());
    header.append(this.offline, reload, compare);
    this.compareBox = el("div", "cmb-sidebar-compare");
    this.compareBox.hidden = true;
    this.compareView = new CompareView(this.compareBox, {
      call: (path) => this.api.call(path),
      fetchFile: (session, path) => this.api.bytes(CmbAgentApi.filePath("sessions", session, path)),
    });
    this.list = el("div", "cmb-sidebar-list");
    this.more = el("button", "cmb-sidebar-more", "Show more");
    this.more.type = "button";
    this.more.hidden = true;
    this.more.addEventListener("click", () => this.loadMore());
    this.actions = el("div", "cmb-sidebar-actions");
    this.tabs = el("div", "cmb-sidebar-tabs");
    this.detail = el("div", "cmb-sidebar-detail");
    this.filesTab = el("div", "cmbjupyter-run cmb-sidebar-files");
    this.filesTab.hidden = true;
    this.node.append(header, this.compareBox, this.list, this.more, this.actions, this.tabs, this.detail);
    this.node.append(this.filesTab);
    this.node.style.overflow = "auto";
    this.node.style.padding = "6px";
    const fileActions = {
      fetchFile: (path) => this.fetchFile(path),
      fileButtons: (record) => this.fileButtons(record),
    };
    // No onCancel: the actions bar's Cancel is the one (the view's own would be a second).
    this.view = createRunView(this.detail, {
      onInput: (text) => this.answer(text),
      insertCell: (code) => this.insertCode(code),
      onFork: (request) => this.fork(request),
      onApprove: (plan) => this.decide("approve", { plan }),
      onReject: (feedback) => this.decide("reject", { feedback }),
      ...fileActions,
    });
    this.folder = el("div", "cmb-sidebar-folder");
    this.filesEmpty = el("div", "cmb-sidebar-files-empty", "No files yet.");
    this.files = new ResultsPanel(this.filesTab, {
      fetchFile: fileActions.fetchFile,
      buttons: (record) => this.fileButtons(record),
    });
    this.filesTab.prepend(this.folder, this.filesEmpty);
    for (const [name, label] of [
      ["run", "Run"],
      ["files", "Files"],
    ]) {
      const tab = el("button", `cmb-sidebar-tab cmb-sidebar-tab-${name}`, label);
      tab.type = "button";
      tab.addEventListener("click", () => this.showTab(name));
      this.tabs.appendChild(tab);
    }
    this.tabs.hidden = true;
    this.showTab("run");
  }

  /** Show or hide the Compare view (its session choices are the sessions listed). */
  toggleCompare() {
    this.compareBox.hidden = !this.compareBox.hidden;
    if (!this.compareBox.hidden)
      this.compareView.setSessions([...this.sessions.keys()], this.selected?.session_id ?? null);
  }

  showTab(name) {
    this.tab = name;
    this.detail.hidden = name !== "run" || !this.selected; // nothing to show before a selection
    this.filesTab.hidden = name !== "files";
    for (const b of this.tabs.children)
      b.classList.toggle("cmb-selected", b.classList.contains(`cmb-sidebar-tab-${name}`));
  }

  /** A file of the selected session: from its live task's work dir, else through its sidecar. */
  fetchFile(path) {
    const row = this.selected;
    if (!row) return Promise.reject(new Error("no session selected"));
    const live = row.task_id && this.tasks.has(row.task_id);
    return this.api.bytes(
      CmbAgentApi.filePath(live ? "tasks" : "sessions", live ? row.task_id : row.session_id, path),
    );
  }

  /** @returns {import("./view.js").FileButton[]} */
  fileButtons(record) {
    if (record.category !== "data" || !this.selected?.session_id) return [];
    return [["Insert loader cell", "cmb-insert-loader", () => void this.insertLoader(record)]];
  }

  /** A code cell loading `record` below the active cell of the session's notebook (or the current one). */
  insertLoader(record) {
    this.insertCode(loaderCode(this.selected.session_id, record.path));
  }

  /** A code cell of `source` below the active cell of the session's notebook (or the current one):
   * "Insert loader cell" of a data file, "Insert as cell" of the transcript's code. */
  insertCode(source) {
    const row = { ...(this.sessions.get(this.selected.session_id) ?? {}), ...this.selected };
    const notebooks = [...this.app.shell.widgets("main")].filter(
      (w) => w.content?.model?.sharedModel && w.context,
    );
    const panel =
      notebooks.find((w) => row.notebook && w.context.path === row.notebook) ??
      (notebooks.includes(this.app.shell.currentWidget) ? this.app.shell.currentWidget : notebooks[0]);
    if (!panel) return;
    const notebook = panel.content;
    const at = Math.max(0, notebook.activeCellIndex) + 1;
    notebook.model.sharedModel.insertCell(at, { cell_type: "code", source });
    notebook.activeCellIndex = at;
    this.app.shell.activateById(panel.id);
  }

  drawFiles(artifacts) {
    this.files.update(artifacts);
    this.filesEmpty.hidden = (artifacts.items ?? []).length > 0;
    const workDir = artifacts.work_dir;
    const parts = [];
    if (workDir) {
      parts.push(el("span", "cmb-sidebar-folder-path", workDir));
      const where = browserPath(workDir);
      if (where !== null) {
        const go = el("button", "cmb-sidebar-show-folder", "Show in file browser");
        go.type = "button";
        go.addEventListener("click", () =>
          this.app.commands.execute("filebrowser:go-to-path", { path: where }),
        );
        parts.push(go);
      }
    }
    this.folder.replaceChildren(...parts);
  }

  async start() {
    await this.refresh();
    // Reconnects by itself (backoff) after a server restart; its first message is then the full task
    // list again, and the sessions are re-listed, since they may have changed while it was away.
    this.updates = this.api.socket(
      () => "updates",
      (messages) => this.applyUpdates(messages),
      {
        onOpen: (reconnected) => {
          this.offline.hidden = true;
          if (reconnected) {
            this.relisted.clear();
            this.refresh();
          }
        },
        onDown: () => {
          this.offline.hidden = false;
          this.offline.title = "The Jupyter server is not reachable: reconnecting";
        },
      },
    );
  }

  /** The `updates` feed's task summaries, applied to the rows held. */
  applyUpdates(messages) {
    let unknown = false;
    const applied = patchTasks(this.tasks, messages);
    this.notifier.apply(applied); // notifications and the waiting-for-input badge
    for (const t of applied) {
      if (t.session_id && !this.sessions.has(t.session_id) && !this.relisted.has(t.session_id)) {
        this.relisted.add(t.session_id);
        unknown = true;
      }
      this.saveToNotebook(t).catch((err) => console.warn("cmbagent: notebook metadata not written", err));
    }
    this.renderList(); // the task summaries, applied to the rows held
    if (unknown) this.relistSoon();
  }

  /** A new session appeared: fetch the first page again (once per RELIST_DELAY, whatever the rate). */
  relistSoon() {
    if (this.relistTimer !== null) return;
    this.relistTimer = setTimeout(() => {
      this.relistTimer = null;
      this.refresh();
    }, RELIST_DELAY);
  }

  /** The first page of sessions, replacing the rows held. */
  async refresh() {
    try {
      const page = await this.api.call(`sessions?limit=${PAGE}&offset=0`);
      this.sessions = new Map();
      this.addPage(page);
    } catch (err) {
      this.list.replaceChildren(el("div", "cmb-error", `cmbagent server extension: ${err.message}`));
      return;
    }
    this.renderList();
  }

  /** The next page, appended. */
  async loadMore() {
    try {
      this.addPage(await this.api.call(`sessions?limit=${PAGE}&offset=${this.sessions.size}`));
    } catch (err) {
      console.warn("cmbagent: more sessions not loaded", err);
      return;
    }
    this.renderList();
  }

  addPage(page) {
    for (const s of page.sessions ?? []) this.sessions.set(s.session_id, s);
    this.total = Math.max(page.total ?? 0, this.sessions.size);
  }

  renderList() {
    const rows = rowsOf(this.sessions, this.tasks);
    this.more.hidden = this.sessions.size >= this.total;
    this.more.textContent = `Show more (${this.sessions.size} of ${this.total})`;
    if (rows.length === 0) {
      this.list.replaceChildren(el("div", "cmb-sidebar-empty", "No sessions yet: run a %%cmbagent cell."));
      return;
    }
    this.list.replaceChildren(
      ...rows.map((r) => {
        const row = el(
          "div",
          `cmb-sidebar-row${r.session_id === this.selected?.session_id ? " cmb-selected" : ""}`,
        );
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
        row.addEventListener("click", () => this.select(r));
        return row;
      }),
    );
    const current = rows.find((r) => r.session_id === this.selected?.session_id);
    if (current) this.renderActions(current);
  }

  renderActions(row) {
    const buttons = [];
    const button = (label, action) => {
      const b = el("button", `cmb-sidebar-${label.toLowerCase().replace(/ /g, "-")}`, label);
      b.type = "button";
      b.addEventListener("click", action);
      buttons.push(b);
    };
    if (ACTIVE.has(row.status) && row.task_id) button("Cancel", () => this.cancel());
    if (RESUMABLE.has(row.status)) button("Resume", () => this.resume(row.session_id));
    if (row.notebook)
      button("Open notebook", () => this.app.commands.execute("docmanager:open", { path: row.notebook }));
    if (row.session_id && row.status !== "damaged")
      for (const [label, report] of [
        ["Export notebook", "notebook"],
        ["Cost CSV", "cost"],
      ])
        button(label, () =>
          downloadReport(this.api, row.session_id, report).catch((err) =>
            this.actions.appendChild(el("div", "cmb-error", `${label}: ${err.message}`)),
          ),
        );
    this.actions.replaceChildren(...buttons);
  }

  select(row) {
    this.selected = row;
    this.stream?.close();
    this.stream = null;
    this.renderList();
    this.renderActions(row);
    this.tabs.hidden = false;
    this.view.transcript.clearFilters();
    this.view.store.reset(); // another session's transcript
    this.showTab(this.tab);
    const live = row.task_id && this.tasks.has(row.task_id);
    if (live) this.follow(row);
    else this.showSession(row);
  }

  /** Shows a session (a notification's action); `answer`: with its question's input focused. */
  selectSession(sessionId, answer = false) {
    const row = rowsOf(this.sessions, this.tasks).find((r) => r.session_id === sessionId);
    if (!row) return;
    this.select(row);
    this.showTab("run");
    if (answer) setTimeout(() => this.view.root.querySelector(".cmb-input input")?.focus(), 300);
  }

  /** A live task's state snapshots; after a reconnect it resumes from the last seq drawn (`since=`).
   * A task the server no longer has (it restarted) is shown from its session file instead. */
  follow(row) {
    const task = encodeURIComponent(row.task_id);
    let since = 0;
    this.stream = this.api.socket(
      () => `tasks/${task}/events?mode=state${since > 0 ? `&since=${since}` : ""}`,
      (messages) => {
        for (const m of messages) {
          if (m.type !== "snapshot") continue;
          since = Math.max(since, m.seq ?? 0);
          this.draw(m.data);
        }
      },
      {
        shouldRetry: async () => {
          try {
            await this.api.call(`tasks/${task}?view=summary`);
            return true;
          } catch (err) {
            if (!(err instanceof ApiError && err.status === 404)) return true; // the server is still away
            if (this.selected?.session_id === row.session_id) this.showSession(row);
            return false;
          }
        },
      },
    );
  }

  /** A session that no task runs: its saved state. */
  showSession(row) {
    this.api
      .call(`sessions/${encodeURIComponent(row.session_id)}?view=state`)
      .then((snapshot) => this.draw(snapshot.state ?? snapshot))
      .catch((err) => this.view.update({ run: { status: row.status, message: err.message } }));
  }

  draw(snapshot) {
    this.snapshot = snapshot;
    const parts = partsOf(snapshot);
    this.view.update(parts);
    this.drawFiles(parts.artifacts);
    this.saveToNotebook(snapshot).catch((err) =>
      console.warn("cmbagent: notebook metadata not written", err),
    );
  }

  /** On a phase or status change of any task (listed or drawn), its summary goes into the metadata
   * of the notebook it came from, when that notebook is open (saved with it by the user). */
  async saveToNotebook(snapshot) {
    const taskId = snapshot.task_id;
    const row = this.tasks.get(taskId);
    const mark = `${snapshot.phase}|${snapshot.step}|${snapshot.status}`;
    if (!row?.notebook || this.phases.get(taskId) === mark) return;
    this.phases.set(taskId, mark);
    const panel = [...this.app.shell.widgets("main")].find((w) => w.context?.path === row.notebook);
    const model = panel?.content?.model;
    if (!model?.setMetadata) return;
    const summary = await this.api.call(`tasks/${encodeURIComponent(taskId)}?view=summary`);
    const saved = model.getMetadata("cmbagent") ?? {};
    const sessions = { ...(saved.sessions ?? {}), [snapshot.session_id]: summary.summary ?? summary };
    model.setMetadata("cmbagent", { ...saved, sessions });
  }

  async cancel() {
    if (this.selected?.task_id)
      await this.api.call(`tasks/${encodeURIComponent(this.selected.task_id)}`, "DELETE");
  }

  async resume(sessionId) {
    const created = await this.api.call(`sessions/${encodeURIComponent(sessionId)}/resume`, "POST", {});
    this.tasks.set(created.task_id, {
      ...created,
      session_id: sessionId,
      status: created.status ?? "queued",
    });
    this.select({ ...created, session_id: sessionId });
  }

  /** Forks a session at a step (`POST sessions/{id}/fork`) and shows the new session's task. */
  async fork({ session, ...body }) {
    const created = await this.api.call(`sessions/${encodeURIComponent(session)}/fork`, "POST", body);
    this.tasks.set(created.task_id, { ...created, status: created.status ?? "queued" });
    this.select({ ...created });
    return created;
  }

  /** Approve (`{plan}`, as edited) or reject (`{feedback}`) the plan the task awaits; a refusal
   * (400: a bad edit, 409: no longer awaited) is shown in the plan panel, the edit kept. */
  async decide(action, body) {
    const id = this.selected?.task_id;
    if (!id) return;
    try {
      await this.api.call(`tasks/${encodeURIComponent(id)}/plan/${action}`, "POST", body);
    } catch (error) {
      this.view.planError(error.message);
    }
  }

  async answer(text) {
    const request = this.snapshot?.input_request?.request_id;
    const id = this.selected?.task_id;
    if (id)
      await this.api.call(`tasks/${encodeURIComponent(id)}/input`, "POST", { text, request_id: request });
  }
}

export default {
  id: "cmbjupyter:sidebar",
  description: "The cmbagent sessions panel: live sessions, their DAG, cost and console.",
  autoStart: true,
  activate(app) {
    const panel = new SessionsPanel(app);
    app.shell.add(panel, "left", { rank: 650 });
    panel.start();
    return panel;
  },
};

// The JupyterLab extension: a left "cmbagent" panel listing the sessions of this server (live over
// the `updates` WebSocket), showing the selected one with the RunWidget's own view (DAG, cost,
// console, results), with Cancel / Resume / Open notebook, and keeping `metadata.cmbagent.sessions`
// of the open notebook a task came from up to date on every phase change. "Compare" (header) draws
// two sessions side by side (compare.js). Its parts, one module each: the session list
// (sidebar_list.js), the actions bar (sidebar_actions.js), the Files tab (sidebar_files.js), what
// it writes into notebooks (sidebar_notebook.js); "Export notebook" and "Cost CSV" download a
// session's reports (downloads.js).
//
// The list is fetched on open, on the reload button and when a session the list does not hold
// appears (at most once per RELIST_DELAY); otherwise the `updates` feed's task summaries are
// applied to the rows in place.

import { Widget } from "@lumino/widgets";
import { ApiError, CmbAgentApi } from "./api.js";
import { CompareView } from "./compare.js";
import { downloadReport } from "./downloads.js";
import { installNotifications } from "./notify.js";
import { loaderCode } from "./results.js";
import { el } from "./format.js";
import { partsOf } from "./parts.js";
import { patchTasks, rowsOf } from "./rows.js";
import { actionButtons } from "./sidebar_actions.js";
import { FilesTab } from "./sidebar_files.js";
import { SessionList } from "./sidebar_list.js";
import { NotebookLink } from "./sidebar_notebook.js";
import { createRunView } from "./view.js";

export { browserPath } from "./sidebar_files.js";

const RELIST_DELAY = 1000; // ms: new sessions re-list the first page at most this often

class SessionsPanel extends Widget {
  constructor(app) {
    super();
    this.app = app;
    this.api = new CmbAgentApi(app.serviceManager.serverSettings);
    this.id = "cmbagent-sidebar";
    this.addClass("cmbjupyter-sidebar");
    this.title.label = "cmbagent"; // its icon, tooltip and badge: notify.js (drawTab)
    this.notifier = installNotifications(app, this);
    this.notebooks = new NotebookLink(app, this.api);
    this.tasks = new Map();
    this.sessionList = new SessionList(this.api, () => this.renderList());
    this.relistTimer = null;
    this.selected = null;
    this.stream = null;
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
    this.actions = el("div", "cmb-sidebar-actions");
    this.tabs = el("div", "cmb-sidebar-tabs");
    this.detail = el("div", "cmb-sidebar-detail");
    this.filesTab = el("div", "cmbjupyter-run cmb-sidebar-files");
    this.filesTab.hidden = true;
    const { node: list, more } = this.sessionList;
    this.node.append(header, this.compareBox, list, more, this.actions, this.tabs, this.detail);
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
    this.files = new FilesTab(this.filesTab, app, {
      fetchFile: fileActions.fetchFile,
      buttons: (record) => this.fileButtons(record),
    });
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

  /** The session rows fetched so far (session id -> sidecar row). */
  get sessions() {
    return this.sessionList.sessions;
  }

  /** Show or hide the Compare view (its choices: the sessions listed, and what its search finds). */
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
    this.notebooks.insertCode(row.notebook, source);
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
            this.sessionList.relisted.clear();
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
      if (this.sessionList.isNew(t.session_id)) unknown = true;
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
  refresh() {
    return this.sessionList.refresh();
  }

  renderList() {
    const rows = this.sessionList.render(this.tasks, this.selected?.session_id, (r) => this.select(r));
    const current = rows.find((r) => r.session_id === this.selected?.session_id);
    if (current) this.renderActions(current);
  }

  renderActions(row) {
    const buttons = actionButtons(row, {
      cancel: () => this.cancel(),
      resume: (sessionId) => this.resume(sessionId),
      open: (path) => this.app.commands.execute("docmanager:open", { path }),
      download: (label, report) =>
        downloadReport(this.api, row.session_id, report).catch((err) =>
          this.actions.appendChild(el("div", "cmb-error", `${label}: ${err.message}`)),
        ),
    });
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
    this.files.draw(parts.artifacts);
    this.saveToNotebook(snapshot).catch((err) =>
      console.warn("cmbagent: notebook metadata not written", err),
    );
  }

  /** On a phase or status change of any task (listed or drawn), its summary goes into the metadata
   * of the notebook it came from, when that notebook is open (saved with it by the user). */
  saveToNotebook(snapshot) {
    return this.notebooks.save(this.tasks.get(snapshot.task_id), snapshot);
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

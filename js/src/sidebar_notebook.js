// What the sidebar writes into the open notebooks: a code cell below the active cell of the
// notebook a session came from ("Insert loader cell", "Insert as cell"), and on every phase or
// status change of a task, its summary into that notebook's `metadata.cmbagent.sessions`.

export class NotebookLink {
  /** @param {any} app the JupyterLab application @param {import("./api.js").CmbAgentApi} api */
  constructor(app, api) {
    this.app = app;
    this.api = api;
    this.phases = new Map(); // task id -> last phase/status written to its notebook
  }

  /** A code cell of `source` below the active cell of the notebook `path` (or the current one). */
  insertCode(path, source) {
    const notebooks = [...this.app.shell.widgets("main")].filter(
      (w) => w.content?.model?.sharedModel && w.context,
    );
    const panel =
      notebooks.find((w) => path && w.context.path === path) ??
      (notebooks.includes(this.app.shell.currentWidget) ? this.app.shell.currentWidget : notebooks[0]);
    if (!panel) return;
    const notebook = panel.content;
    const at = Math.max(0, notebook.activeCellIndex) + 1;
    notebook.model.sharedModel.insertCell(at, { cell_type: "code", source });
    notebook.activeCellIndex = at;
    this.app.shell.activateById(panel.id);
  }

  /** On a phase or status change of a task (`row`: its summary held), its summary goes into the
   * metadata of the notebook it came from, when that notebook is open (saved with it by the user). */
  async save(row, snapshot) {
    const taskId = snapshot.task_id;
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
}

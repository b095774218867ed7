// Notifications: when a task of this server ends, fails, is cancelled, warns on its budget or asks
// for input while JupyterLab is open, a JupyterLab notification says so (the 4.x notification
// center, through its `apputils:notify` command) with actions: Open notebook, Show session, Answer.
// The sidebar's icon carries a badge counting the tasks that wait for input.
//
// It follows the server's `updates` feed (the sidebar's), not a kernel: a task whose kernel is gone
// notifies too. Tasks already over when the page opened do not. `changesOf(before, task)` is pure
// (js/test/notify.test.js runs it).

import { ACTIVE } from "./protocol.js";

/** The commands a notification's actions call (registered by the sidebar). */
export const COMMANDS = Object.freeze({
  openNotebook: "cmbagent:open-notebook",
  showSession: "cmbagent:show-session",
  answer: "cmbagent:answer",
});

/** Notification type of each change. */
const TYPES = {
  completed: "success",
  failed: "error",
  cancelled: "warning",
  input: "info",
  budget: "warning",
};

/**
 * What changed between a task's last summary seen and this one: some of "completed", "failed",
 * "cancelled" (it ended), "input" (it asks a new question), "budget" (its budget warning rose).
 * @param {any} before the previous summary (undefined: a task first seen while running)
 * @param {any} task
 * @returns {string[]}
 */
export function changesOf(before, task) {
  const changes = [];
  const was = before?.status;
  const now = task?.status;
  if (now !== was && ["completed", "failed", "cancelled"].includes(now) && (!before || ACTIVE.has(was)))
    changes.push(now);
  const asked = task?.input_request?.request_id;
  if (ACTIVE.has(now) && asked && asked !== before?.input_request?.request_id) changes.push("input");
  if (task?.budget_warning && !before?.budget_warning && ACTIVE.has(now)) changes.push("budget");
  return changes;
}

/** The words of a change. */
export function messageOf(change, task) {
  const name = task.session_id ?? task.task_id;
  const cost = task.cost?.total_usd;
  const spent = cost != null ? ` ($${Number(cost).toFixed(4)})` : "";
  const error = task.error?.message ? `: ${task.error.message}` : "";
  return {
    completed: `cmbagent: ${name} completed${spent}`,
    failed: `cmbagent: ${name} failed${error}`,
    cancelled: `cmbagent: ${name} was cancelled`,
    input: `cmbagent: ${name} asks: ${task.input_request?.prompt ?? "an answer"}`,
    budget: `cmbagent: ${name} is near its budget${spent}`,
  }[change];
}

/** The task waits for an answer (it has an open question and is still going). */
const asks = (task) => Boolean(task?.input_request?.request_id) && ACTIVE.has(task?.status);

export class Notifier {
  /** @param {{commands: {execute: (id: string, args?: object) => Promise<any>}}} app
   *  @param {(waiting: number) => void} onWaiting called with the count of tasks waiting for input */
  constructor(app, onWaiting) {
    this.app = app;
    this.onWaiting = onWaiting;
    this.seen = new Map(); // task id -> its last summary
    this.primed = false; // the first full list is the page's starting point: nothing to notify
    this.waiting = 0;
  }

  /** The task summaries the `updates` feed applied (in order). */
  apply(tasks) {
    for (const task of tasks) {
      const before = this.seen.get(task.task_id);
      this.seen.set(task.task_id, task);
      if (!this.primed) continue;
      for (const change of changesOf(before, task)) this.notify(change, task);
    }
    this.primed = true;
    const waiting = [...this.seen.values()].filter((t) => asks(t)).length;
    if (waiting !== this.waiting) {
      this.waiting = waiting;
      this.onWaiting(waiting);
    }
  }

  notify(change, task) {
    const actions = [];
    const session = { session_id: task.session_id ?? "", task_id: task.task_id };
    if (change === "input") actions.push({ label: "Answer", commandId: COMMANDS.answer, args: session });
    if (task.session_id)
      actions.push({ label: "Show session", commandId: COMMANDS.showSession, args: session });
    if (task.notebook)
      actions.push({
        label: "Open notebook",
        commandId: COMMANDS.openNotebook,
        args: { path: task.notebook },
      });
    const options = {
      autoClose: change === "input" || change === "failed" ? false : 8000,
      actions,
      data: { cmbagent: change, task_id: task.task_id, session_id: task.session_id ?? null },
    };
    this.app.commands
      .execute("apputils:notify", { message: messageOf(change, task), type: TYPES[change], options })
      .catch((err) => console.warn("cmbagent: notification not shown", err));
  }
}

const ICON_SVG = (
  waiting,
) => `<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24"><g fill="none"
 stroke="currentColor" stroke-width="2"><circle cx="5" cy="12" r="3"/><circle cx="19" cy="5" r="3"/>
 <circle cx="19" cy="19" r="3"/><path d="M8 11l8-5M8 13l8 5"/></g>${
   waiting
     ? `<circle class="cmb-badge-dot" cx="19" cy="6" r="6" fill="#cf222e"/><text x="19" y="10" font-size="10"
 font-family="sans-serif" text-anchor="middle" fill="#fff">${waiting > 9 ? "9+" : waiting}</text>`
     : ""
 }</svg>`;

/** The sidebar tab's icon, tooltip and badge: `waiting` tasks wait for input. */
export function drawTab(title, waiting) {
  const words = waiting ? ` · ${waiting} waiting for input` : "";
  title.caption = `cmbagent sessions${words}`;
  title.icon = {
    render: (host) => {
      host.innerHTML = ICON_SVG(waiting);
      host.setAttribute("aria-label", `cmbagent sessions${words}`);
      host.dataset.waiting = String(waiting);
      host.classList.add("cmb-sidebar-icon");
    },
  };
}

/**
 * Registers the actions' commands and returns the Notifier the sidebar feeds.
 * @param {any} app the JupyterFrontEnd
 * @param {{id: string, title: any, selectSession: (id: string, answer?: boolean) => void}} panel
 */
export function installNotifications(app, panel) {
  const show = (answer) => (args) => {
    app.shell.activateById(panel.id);
    panel.selectSession(String(args.session_id ?? ""), answer);
  };
  app.commands.addCommand(COMMANDS.showSession, { label: "Show the cmbagent session", execute: show(false) });
  app.commands.addCommand(COMMANDS.answer, { label: "Answer the cmbagent task", execute: show(true) });
  app.commands.addCommand(COMMANDS.openNotebook, {
    label: "Open the notebook of a cmbagent task",
    execute: (args) => app.commands.execute("docmanager:open", { path: args.path }),
  });
  drawTab(panel.title, 0);
  return new Notifier(app, (waiting) => drawTab(panel.title, waiting));
}

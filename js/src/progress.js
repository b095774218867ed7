// Progress and time in the header: "step 2 of 3", the elapsed time (ticking while the run is
// active), an ETA once a step has finished, and the run's state in words ("running Fit the
// spectrum", "waiting for your answer") instead of the worker's last status message.
//
// `progressOf(run, dag, now)` is pure (js/test/progress.test.js runs it); `Progress` draws it and
// ticks once a second while the run is active, and stops on its own when the run ends.

import { el } from "./format.js";
import { ACTIVE } from "./protocol.js";

const TICK = 1000; // ms between two redraws of a running clock

/** "42 s", "3 min 05 s", "1 h 02 min". */
export function clock(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}

const seconds = (start, end, now) => {
  const t0 = Date.parse(start ?? "");
  const t1 = end ? Date.parse(end) : now;
  return Number.isNaN(t0) || Number.isNaN(t1) ? null : Math.max(0, (t1 - t0) / 1000);
};

/** A node's duration in seconds (running: so far), or null before it started. */
export function nodeSeconds(node, now = Date.now()) {
  if (!node?.started_at) return null;
  return seconds(node.started_at, node.ended_at, now);
}

/**
 * What the header says of a run. Units are its plan steps when it has some, else the nodes
 * between Start and End (phases, agents).
 * @returns {{done: number, total: number, unit: string, position: string, elapsed: number | null,
 *            eta: number | null, state: string}}
 */
export function progressOf(run, dag, now = Date.now()) {
  const nodes = Object.values(dag?.nodes ?? {}).sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
  const steps = nodes.filter((n) => n.type === "step");
  const units = steps.length ? steps : nodes.filter((n) => n.type !== "start" && n.type !== "end");
  const unit = steps.length ? "step" : "stage";
  const finished = units.filter((n) => n.status === "completed" || n.status === "skipped");
  const running = units.find((n) => n.status === "running");
  const total = units.length;
  const at = Math.min(total, finished.length + (running ? 1 : 0));
  const position = total ? `${unit} ${Math.max(at, 1)} of ${total}` : "";
  const status = run?.status ?? "pending";
  const active = ACTIVE.has(status);
  const elapsed = run?.started_at ? seconds(run.started_at, active ? null : run.ended_at, now) : null;
  const timed = finished.map((n) => nodeSeconds(n, now)).filter((s) => s !== null && s > 0);
  let eta = null;
  if (active && timed.length && total > finished.length) {
    const mean = timed.reduce((a, b) => a + b, 0) / timed.length;
    const left = total - finished.length;
    const inRunning = running ? Math.min(mean, nodeSeconds(running, now) ?? 0) : 0;
    eta = Math.max(0, mean * left - inRunning);
  }
  const current = dag?.current ? dag.nodes?.[dag.current] : running;
  const label = current?.label ?? current?.id;
  const asking = active && run?.input_request ? "waiting for your answer" : null;
  const state =
    asking ??
    {
      queued: "queued: waiting for a free worker",
      starting: "starting the worker",
      waiting_input: "waiting for your answer",
      cancelling: "cancelling…",
    }[status] ??
    (status === "running" ? (label ? `running ${label}` : "running") : "");
  return { done: finished.length, total, unit, position, elapsed, eta, state };
}

/** The header's progress: position, clock and ETA; `stateText()` is the message line's words. */
export class Progress {
  constructor(parent) {
    this.root = el("span", "cmb-progress");
    parent.appendChild(this.root);
    this.run = null;
    this.dag = null;
    this.timer = null;
    /** @type {((p: ReturnType<typeof progressOf>) => void) | null} called after each redraw */
    this.onDraw = null;
  }

  /** New run fields and/or DAG (either may be undefined: kept from before). */
  update(run, dag) {
    if (run !== undefined) this.run = run;
    if (dag !== undefined) this.dag = dag;
    this.draw();
    const active = ACTIVE.has(this.run?.status ?? "");
    if (active && this.timer === null) this.timer = setInterval(() => this.draw(), TICK);
    if (!active) this.stop();
  }

  current() {
    return progressOf(this.run, this.dag);
  }

  draw() {
    if (!this.root.isConnected && this.timer !== null) return this.stop(); // the view was removed
    const p = this.current();
    const bits = [p.position];
    if (p.elapsed !== null) bits.push(clock(p.elapsed));
    if (p.eta !== null) bits.push(`about ${clock(p.eta)} left`);
    this.root.textContent = bits.filter(Boolean).join(" · ");
    this.root.dataset.done = String(p.done);
    this.root.dataset.total = String(p.total);
    this.onDraw?.(p);
  }

  stop() {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}

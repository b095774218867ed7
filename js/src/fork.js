// Fork from a step: the "Fork from step N" control of a step node's details, and the books a resumed
// or forked run carries (the restart line and the carried cost), for the widget and the sidebar.
//
// The control asks `onFork({session, at_step, instructions?, model?, budget_usd?, session_id?})`
// (the widget sends it to the kernel, the sidebar POSTs sessions/{id}/fork) and shows what came
// back: the new session's id, or the error naming what is wrong. Nothing is forked without a click
// on "Fork", a run still going cannot be forked (its later steps are not saved yet), and the control
// shows only for the engines and modes that restart mid-way (protocol.json's `forkable`, the list
// the server's fork.py checks; a python task whose steps are not top-level statements is still
// refused by the server, with its reason).

import { el, tokens, usd } from "./format.js";
import { ACTIVE, FORKABLE } from "./protocol.js";

/** The step number of a plan-step node (`step_3` -> 3), or null. */
export function stepOf(node) {
  const match = /^step_(\d+)$/.exec(String(node?.id ?? ""));
  return node?.type === "step" && match ? Number(match[1]) : null;
}

/** Whether a run of `run.engine` in `run.mode` can restart at a plan step (so be forked there). */
export function restartsMidWay(run) {
  const modes = FORKABLE.get(String(run?.engine ?? ""));
  return Boolean(modes && (modes.has("*") || modes.has(String(run?.mode ?? ""))));
}

/** The request of the fork form's fields: blank fields left out, the budget a number. */
export function forkRequest(session, atStep, fields) {
  /** @type {Record<string, any>} */
  const request = { session, at_step: atStep };
  for (const key of ["instructions", "model", "session_id"]) {
    const value = String(fields[key] ?? "").trim();
    if (value) request[key] = value;
  }
  const budget = String(fields.budget_usd ?? "").trim();
  if (budget) request.budget_usd = Number(budget);
  return request;
}

function field(form, name, label, type = "text") {
  const input = el(type === "textarea" ? "textarea" : "input", `cmb-fork-${name}`);
  if (type !== "textarea") /** @type {HTMLInputElement} */ (input).type = type;
  input.setAttribute("name", name);
  input.setAttribute("aria-label", label);
  input.setAttribute("placeholder", label);
  form.appendChild(input);
}

/**
 * The fork control of `node`'s details, or null when it cannot be forked (not a plan step, no
 * session, the run still going, an engine or mode that cannot restart mid-way, no `onFork`).
 * @param {any} node @param {any} run
 * @param {((request: any) => Promise<{session_id?: string}>) | undefined} onFork
 */
export function forkControl(node, run, onFork) {
  const step = stepOf(node);
  if (step === null || !onFork || !run?.session_id || ACTIVE.has(run.status) || !restartsMidWay(run))
    return null;
  const box = el("div", "cmb-fork");
  const open = el("button", "cmb-fork-open", `Fork from step ${step}`);
  open.type = "button";
  open.title = `A new session from ${run.session_id}'s state before step ${step}: steps before it restored`;
  const form = el("form", "cmb-fork-form");
  form.hidden = true;
  field(form, "instructions", `Instructions for step ${step}`, "textarea");
  field(form, "model", "Model (default: the parent's)");
  field(form, "budget_usd", "Budget USD", "number");
  field(form, "session_id", `New session (default: ${run.session_id}-fork${step})`);
  const go = el("button", "cmb-fork-submit", "Fork");
  go.type = "submit";
  const outcome = el("div", "cmb-fork-outcome");
  form.append(go);
  box.append(open, form, outcome);
  open.addEventListener("click", () => {
    form.hidden = !form.hidden;
  });
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const values = Object.fromEntries(new FormData(/** @type {HTMLFormElement} */ (form)).entries());
    go.disabled = true;
    outcome.textContent = "forking…";
    outcome.className = "cmb-fork-outcome";
    onFork(forkRequest(run.session_id, step, values)).then(
      (created) => {
        form.hidden = true;
        outcome.textContent = `Forked into ${created?.session_id ?? "a new session"}`;
      },
      (err) => {
        go.disabled = false;
        outcome.textContent = String(err?.message ?? err);
        outcome.className = "cmb-fork-outcome cmb-error";
      },
    );
  });
  return box;
}

/** The line that says where a resumed or forked run restarted (its `restart` message), or null. */
export function restartLine(run) {
  const message = run?.restart?.message;
  return message ? el("div", "cmb-restart", message) : null;
}

/** The books carried from earlier attempts or the parent: by session, and the total. */
export function carriedLine(cost) {
  const carried = cost?.carried;
  if (!carried) return null;
  const box = el("div", "cmb-carried");
  const total = Number(cost.grand_total_usd ?? Number(cost.total_usd ?? 0) + Number(carried.total_usd ?? 0));
  box.appendChild(
    el(
      "div",
      "cmb-carried-total",
      `${usd(total)} in all: ${usd(cost.total_usd)} this run + ${usd(carried.total_usd)} carried`,
    ),
  );
  for (const s of carried.sessions ?? []) {
    const why = s.reason === "fork" ? `parent, before step ${s.at_step}` : `attempt ${s.attempt ?? ""}`;
    const seconds = s.seconds ? ` · ${Number(s.seconds).toFixed(1)} s` : "";
    const used = `${tokens(s.input_tokens)} in / ${tokens(s.output_tokens)} out`;
    box.appendChild(
      el(
        "div",
        "cmb-carried-row",
        `carried ${usd(s.total_usd)} · ${s.session_id} (${why}) · ${used}${seconds}`,
      ),
    );
  }
  return box;
}

/** A sessions-list row's cost: this run's, plus what it carries ("$0.0060 + $0.0010 carried"). */
export function rowCost(row) {
  const own = row?.cost?.total_usd ?? row?.total_usd;
  const carried = row?.cost?.carried_usd ?? row?.carried_usd;
  if (own == null) return "";
  return carried ? `${usd(own)} + ${usd(carried)} carried` : usd(own);
}

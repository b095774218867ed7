// The outcome line under the header: what happened, told truthfully (snapshot["outcome"], None while
// the run goes on). Completed (green), completed with errors (amber, with a link to each failing code
// execution), failed (red, with the error), cancelled (grey), budget-stopped (amber), timed out; the
// budget with the precision it was given ($0.001 reads "$0.001"); the final answer when there is one.
// The colours hang on the view root's `data-outcome` (style.js), so the header's status pill takes
// them too without this module touching the header.

import { el } from "./format.js";

/** The outcome statuses and the words they read as when the outcome has no label. */
export const OUTCOME_WORDS = Object.freeze({
  completed: "completed",
  completed_with_errors: "completed with errors",
  failed: "failed",
  cancelled: "cancelled",
  budget_stopped: "stopped at the budget",
  timed_out: "timed out",
});

/** Dollars with the precision given: at least 2 decimals, more when the value has them (0.001 ->
 * "$0.001", 0.5 -> "$0.50", 12 -> "$12.00"); "" for no budget. */
export function budgetText(value) {
  if (value === null || value === undefined || value === "") return "";
  const v = Number(value);
  if (!Number.isFinite(v)) return "";
  let decimals = 2;
  for (; decimals < 12; decimals++) if (Number(v.toFixed(decimals)) === v) break;
  return `$${v.toFixed(decimals)}`;
}

/**
 * What the line says, pure: {status, text, error, answer, budget, failing: [message ids]}; null
 * while running (no outcome).
 */
export function describeOutcome(outcome) {
  if (!outcome || typeof outcome !== "object") return null;
  const status = OUTCOME_WORDS[outcome.status] ? outcome.status : "completed";
  const error = outcome.error ? [outcome.error.type, outcome.error.message].filter(Boolean).join(": ") : "";
  return {
    status,
    text: outcome.label || OUTCOME_WORDS[status],
    error: status === "failed" || status === "timed_out" ? error : "",
    answer: typeof outcome.final_answer === "string" ? outcome.final_answer : "",
    budget: budgetText(outcome.budget_usd),
    failing: Array.isArray(outcome.failed_executions) ? outcome.failed_executions : [],
  };
}

export class OutcomeLine {
  /**
   * @param {HTMLElement} parent
   * @param {HTMLElement} root the view's root (its `data-outcome` colours the header)
   * @param {(id: number) => void} onReveal shows a transcript item (a failing execution)
   */
  constructor(parent, root, onReveal) {
    this.viewRoot = root;
    this.onReveal = onReveal;
    this.root = el("div", "cmb-outcome");
    this.root.hidden = true;
    parent.appendChild(this.root);
    this.key = null;
  }

  update(outcome) {
    const key = JSON.stringify(outcome ?? null);
    if (key === this.key) return;
    this.key = key;
    const said = describeOutcome(outcome);
    this.root.hidden = !said;
    if (!said) {
      delete this.viewRoot.dataset.outcome;
      this.root.replaceChildren();
      return;
    }
    this.viewRoot.dataset.outcome = said.status;
    this.root.dataset.status = said.status;
    const parts = [el("span", `cmb-outcome-label cmb-outcome-${said.status}`, said.text)];
    if (said.error) parts.push(el("span", "cmb-outcome-error", ` · ${said.error}`));
    if (said.budget) parts.push(el("span", "cmb-outcome-budget", ` · budget ${said.budget}`));
    said.failing.forEach((id, n) => {
      const link = el("a", "cmb-outcome-failing", n === 0 ? "show the failing code" : `#${n + 1}`);
      link.href = "#";
      link.dataset.itemId = String(id);
      link.addEventListener("click", (ev) => {
        ev.preventDefault();
        this.onReveal(id);
      });
      parts.push(el("span", "", " · "), link);
    });
    if (said.answer) {
      const answer = el("details", "cmb-outcome-answer");
      answer.append(el("summary", "", "Final answer"), el("div", "cmb-outcome-answer-text", said.answer));
      answer.open = said.answer.length <= 400;
      parts.push(answer);
    }
    this.root.replaceChildren(...parts);
  }
}

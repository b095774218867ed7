// The plan panel: the plan a run proposes, as an editable list while the run awaits approval
// (step text, agent, bullet points, a per-step budget; reorder, add, remove), with Approve and
// Reject-with-feedback; read-only once decided. Used by the RunWidget and the sidebar (view.js):
// it knows nothing of comms, it calls `onApprove(steps)` / `onReject(feedback)`.
//
// The draft survives redraws: it is reset only when a new plan is proposed (another `round`), so
// the run's live updates never wipe an edit under way. Per-step estimates come with the proposal
// (`plan.estimate`: medians of this machine's past sessions by agent), labelled as estimates.

import { el, usd } from "./format.js";

/** A draft step from a plan step: the bullets as one line each. */
export function draftOf(steps) {
  return (steps ?? []).map((s) => ({
    sub_task: s.sub_task ?? "",
    agent: s.agent ?? "",
    bullets: (s.bullets ?? []).join("\n"),
    budget: s.budget_usd != null ? String(s.budget_usd) : "",
  }));
}

/** The steps to approve from a draft: trimmed, empty bullets dropped, a budget only when set. */
export function stepsOf(draft) {
  return draft.map((d) => {
    const step = {
      sub_task: d.sub_task.trim(),
      agent: d.agent.trim() || null,
      bullets: d.bullets
        .split("\n")
        .map((b) => b.trim())
        .filter(Boolean),
    };
    if (d.budget.trim()) step.budget_usd = Number(d.budget);
    return step;
  });
}

/** The draft with step `i` moved by `delta` (-1 up, +1 down); unchanged at the ends. */
export function moved(draft, i, delta) {
  const j = i + delta;
  if (j < 0 || j >= draft.length) return draft;
  const next = draft.slice();
  [next[i], next[j]] = [next[j], next[i]];
  return next;
}

/** Whether the plan can be rejected (planned again with feedback): not a plan the run was given
 * (the host says why in `reject_refused`, shown instead of Reject). */
export function canReject(plan) {
  return !plan?.reject_refused;
}

/** The estimate of a step with this agent: the agent's median, else every step's; null if none. */
export function stepEstimate(estimate, agent) {
  if (!estimate || !estimate.sessions) return null;
  return estimate.by_agent?.[agent] ?? estimate.default ?? null;
}

/** "≈ $0.0012 · 3.4 s (estimate, 5 past steps)", or "no history". */
export function estimateText(estimate, agent) {
  const e = stepEstimate(estimate, agent);
  if (!e) return "no history";
  const bits = [
    e.cost_usd != null && `≈ ${usd(e.cost_usd)}`,
    e.seconds != null && `${e.seconds.toFixed(1)} s`,
  ];
  return `${bits.filter(Boolean).join(" · ")} (estimate, ${e.samples} past step${e.samples === 1 ? "" : "s"})`;
}

export class PlanPanel {
  /** @param {HTMLElement} host @param {{onApprove?: (steps: object[]) => void, onReject?: (feedback: string) => void}} actions */
  constructor(host, actions = {}) {
    this.actions = actions;
    this.root = el("div", "cmb-plan");
    this.root.hidden = true;
    this.plan = null;
    this.draft = [];
    this.key = null;
    host.appendChild(this.root);
  }

  /** Shows `plan` (RunState's `plan`, or null); editable while it has a pending `request_id`. */
  update(plan) {
    this.plan = plan ?? null;
    this.root.hidden = !this.plan;
    if (!this.plan) return;
    const key = `${plan.round}:${plan.status}:${plan.request_id ?? ""}`;
    if (key === this.key) return; // the same proposal: keep the draft and the focus
    this.key = key;
    this.draft = draftOf(plan.steps);
    this.error = "";
    this.sending = false; // the decision sent before was answered: this is a new state
    this.draw();
  }

  /** A refused decision (the kernel's or the server's message): shown, the draft kept. */
  showError(message) {
    this.error = message;
    this.sending = false;
    this.draw();
  }

  get editable() {
    return Boolean(this.plan?.request_id) && !this.sending;
  }

  draw() {
    const plan = this.plan;
    const editable = this.editable;
    const title = editable ? "Plan awaiting approval" : `Plan · ${plan.status}`;
    const head = el("div", "cmb-plan-title", title);
    const total = plan.estimate?.sessions ? ` · ${plan.estimate.basis ?? ""}` : " · no history";
    head.appendChild(el("span", "cmb-plan-basis", total));
    const list = el("ol", "cmb-plan-steps");
    this.draft.forEach((d, i) => list.appendChild(this.row(d, i, editable)));
    const parts = [head, list];
    if (plan.status === "rejected" && plan.feedback)
      parts.push(el("div", "cmb-plan-feedback", `Feedback: ${plan.feedback}`));
    if (editable) parts.push(this.controls());
    if (this.error) parts.push(el("div", "cmb-plan-error cmb-error", this.error));
    this.root.replaceChildren(...parts);
  }

  row(d, i, editable) {
    const li = el("li", "cmb-plan-step");
    li.dataset.step = String(i + 1);
    const field = (tag, cls, key, placeholder) => {
      const input = /** @type {HTMLInputElement} */ (el(tag, cls));
      input.value = d[key];
      input.placeholder = placeholder;
      input.readOnly = !editable;
      input.addEventListener("input", () => {
        d[key] = input.value;
      });
      return input;
    };
    const text = field("textarea", "cmb-plan-text", "sub_task", "what this step does");
    const agent = field("input", "cmb-plan-agent", "agent", "agent");
    const bullets = field("textarea", "cmb-plan-bullets", "bullets", "bullet points, one per line");
    const budget = field("input", "cmb-plan-budget", "budget", "budget $");
    const estimate = el("span", "cmb-plan-estimate", estimateText(this.plan.estimate, d.agent.trim()));
    const tools = el("span", "cmb-plan-tools");
    if (editable) {
      const button = (label, cls, title, fn) => {
        const b = el("button", cls, label);
        b.type = "button";
        b.title = title;
        b.addEventListener("click", fn);
        return b;
      };
      const redraw = (draft) => {
        this.draft = draft;
        this.draw();
      };
      tools.append(
        button("↑", "cmb-plan-up", "move up", () => redraw(moved(this.draft, i, -1))),
        button("↓", "cmb-plan-down", "move down", () => redraw(moved(this.draft, i, 1))),
        button("✕", "cmb-plan-remove", "remove this step", () =>
          redraw(this.draft.filter((_, j) => j !== i)),
        ),
      );
    }
    li.append(text, agent, budget, tools, bullets, estimate);
    return li;
  }

  controls() {
    const box = el("div", "cmb-plan-controls");
    const add = el("button", "cmb-plan-add", "+ Add step");
    add.type = "button";
    add.addEventListener("click", () => {
      this.draft = [...this.draft, { sub_task: "", agent: "", bullets: "", budget: "" }];
      this.draw();
      /** @type {HTMLTextAreaElement} */ (this.root.querySelector("li:last-child .cmb-plan-text"))?.focus();
    });
    const approve = el("button", "cmb-plan-approve", "Approve");
    approve.type = "button";
    approve.addEventListener("click", () => {
      this.sending = true;
      this.actions.onApprove?.(stepsOf(this.draft));
      this.draw();
    });
    if (!canReject(this.plan)) {
      box.append(add, approve, el("span", "cmb-plan-no-reject", this.plan.reject_refused));
      return box;
    }
    const feedback = /** @type {HTMLInputElement} */ (el("input", "cmb-plan-feedback-input"));
    feedback.placeholder = "what the planner should change";
    const reject = el("button", "cmb-plan-reject", "Reject");
    reject.type = "button";
    reject.addEventListener("click", () => {
      if (!feedback.value.trim()) return this.showError("Say what the planner should change, then Reject.");
      this.sending = true;
      this.actions.onReject?.(feedback.value.trim());
      this.draw();
    });
    box.append(add, approve, feedback, reject);
    return box;
  }
}

// The cost meter: total dollars and tokens, a bar against the budget, and the split by model and agent.

import { carriedLine } from "./fork.js";
import { el, tokens, usd } from "./format.js";

/** A model or agent name that may wrap only between its words ("engineer_response_formatter"
 * breaks after an underscore, "gpt-4o-mini" after a hyphen: never inside a word). */
function nameCell(name) {
  const cell = el("td", "cmb-cost-name");
  cell.title = name;
  const parts = String(name).split(/(?<=[_\-./:])/);
  parts.forEach((part, i) => {
    if (i) cell.appendChild(document.createElement("wbr"));
    cell.appendChild(document.createTextNode(part));
  });
  return cell;
}

function table(title, buckets) {
  const entries = Object.entries(buckets ?? {});
  if (entries.length === 0) return null;
  const t = el("table", "cmb-cost-table");
  const head = t.createTHead().insertRow();
  for (const h of [title, "calls", "in", "out", "USD"]) head.appendChild(el("th", "", h));
  const body = t.createTBody();
  for (const [name, b] of entries.sort((a, b) => (b[1].usd ?? 0) - (a[1].usd ?? 0))) {
    const row = body.insertRow();
    row.dataset.name = name;
    row.appendChild(nameCell(name));
    for (const v of [b.calls ?? 0, tokens(b.input_tokens), tokens(b.output_tokens), usd(b.usd)]) {
      row.appendChild(el("td", "cmb-num", v));
    }
  }
  return t;
}

export class CostPanel {
  constructor(parent) {
    this.root = el("div", "cmb-cost");
    parent.appendChild(this.root);
  }

  update(cost) {
    const c = cost ?? {};
    const state = c.exceeded ? "exceeded" : c.warning ? "warning" : "ok";
    this.root.dataset.state = state;
    const total = el("span", "cmb-cost-total", usd(c.total_usd));
    total.title = `${c.total_usd ?? 0} USD`;
    const line = el("div", "cmb-cost-line");
    line.append(
      total,
      el(
        "span",
        "cmb-cost-tokens",
        ` · ${tokens(c.input_tokens)} in / ${tokens(c.output_tokens)} out tokens · ${c.calls ?? 0} calls`,
      ),
    );
    const parts = [line];
    if (c.budget_usd) {
      const fraction = Math.min(1, Number(c.budget_fraction ?? 0));
      const bar = el("div", "cmb-budget");
      const fill = el("div", "cmb-budget-fill");
      fill.style.width = `${(fraction * 100).toFixed(1)}%`;
      bar.appendChild(fill);
      const label = state === "ok" ? "" : state === "warning" ? " · budget warning" : " · budget exceeded";
      parts.push(
        bar,
        el("div", "cmb-budget-label", `${usd(c.total_usd)} of ${usd(c.budget_usd)} budget${label}`),
      );
    }
    const carried = carriedLine(c);
    if (carried) parts.push(carried);
    if (c.unpriced?.length) parts.push(el("div", "cmb-unpriced", `No price for: ${c.unpriced.join(", ")}`));
    for (const t of [table("model", c.by_model), table("agent", c.by_agent)]) if (t) parts.push(t);
    this.root.replaceChildren(...parts);
  }
}

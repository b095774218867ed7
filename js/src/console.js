// The console: the raw lines the agents and the worker's stdout/stderr said, newest at the bottom.
// It follows the tail while the reader is at the bottom and keeps their place (the line at the top
// of the panel) when they scrolled up, across redraws and new views (follow.js). Library warnings
// (stream "warnings") are hidden unless asked for.

import { Follower, followState } from "./follow.js";
import { el } from "./format.js";

/** A fresh console view state (the widget keeps one per model). */
export function consoleState() {
  return { ...followState(), warnings: false };
}

export class ConsolePanel {
  /** @param {HTMLElement} parent @param {ReturnType<typeof consoleState>} [state] */
  constructor(parent, state = consoleState()) {
    this.state = state;
    this.box = el("div", "cmb-console-box");
    const bar = el("label", "cmb-console-bar");
    this.toggle = el("input", "cmb-console-warnings");
    this.toggle.type = "checkbox";
    this.toggle.checked = state.warnings;
    this.toggleLabel = el("span", "", " show warnings");
    bar.append(this.toggle, this.toggleLabel);
    this.root = el("div", "cmb-console");
    this.root.setAttribute("role", "log");
    this.box.append(bar, this.root);
    parent.appendChild(this.box);
    this.lastSeq = null;
    this.console = null;
    this.follower = new Follower(this.root, state, {
      anchor: () => this.anchor(),
      restore: (anchor) => this.restore(anchor),
    });
    this.toggle.addEventListener("change", () => {
      state.warnings = this.toggle.checked;
      this.draw();
    });
  }

  /** The first line in sight (its seq) and how far the panel is scrolled into it. */
  anchor() {
    const top = this.root.scrollTop;
    for (const row of this.root.children) {
      const line = /** @type {HTMLElement} */ (row);
      if (line.offsetTop + line.offsetHeight > top && line.dataset.seq)
        return { seq: line.dataset.seq, offset: top - line.offsetTop };
    }
    return null;
  }

  restore(anchor) {
    const line = /** @type {HTMLElement | null} */ (this.root.querySelector(`[data-seq="${anchor.seq}"]`));
    if (line) this.root.scrollTop = line.offsetTop + anchor.offset;
  }

  update(console) {
    const lines = console?.lines ?? [];
    const last = lines.length ? lines[lines.length - 1].seq : null;
    if (last === this.lastSeq && lines.length) return;
    this.lastSeq = last;
    this.console = console;
    this.draw();
  }

  draw() {
    const lines = this.console?.lines ?? [];
    const parts = [];
    const hidden = (this.console?.count ?? lines.length) - lines.length;
    if (hidden > 0)
      parts.push(el("div", "cmb-console-hidden", `… ${hidden.toLocaleString("en-US")} earlier lines`));
    let warnings = 0;
    for (const line of lines) {
      const stream = line.stream ?? "agent";
      if (stream === "warnings") {
        warnings += 1;
        if (!this.state.warnings) continue;
      }
      const row = el("div", `cmb-line cmb-stream-${stream}`);
      if (line.seq != null) row.dataset.seq = String(line.seq);
      if (line.agent) row.appendChild(el("span", "cmb-agent", `${line.agent}: `));
      row.appendChild(document.createTextNode(line.text ?? ""));
      parts.push(row);
    }
    this.toggleLabel.textContent = ` show warnings (${warnings})`;
    this.root.replaceChildren(...parts);
    this.follower.settle();
  }
}

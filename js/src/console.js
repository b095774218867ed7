// The console: the last lines the agents and the worker's stdout/stderr said, newest at the bottom.

import { el } from "./format.js";

export class ConsolePanel {
  constructor(parent) {
    this.root = el("div", "cmb-console");
    this.root.setAttribute("role", "log");
    parent.appendChild(this.root);
    this.lastSeq = null;
  }

  update(console) {
    const lines = console?.lines ?? [];
    const last = lines.length ? lines[lines.length - 1].seq : null;
    if (last === this.lastSeq && lines.length) return;
    this.lastSeq = last;
    const stick = this.root.scrollTop + this.root.clientHeight >= this.root.scrollHeight - 4;
    const parts = [];
    const hidden = (console?.count ?? lines.length) - lines.length;
    if (hidden > 0)
      parts.push(el("div", "cmb-console-hidden", `… ${hidden.toLocaleString("en-US")} earlier lines`));
    for (const line of lines) {
      const row = el("div", `cmb-line cmb-stream-${line.stream ?? "agent"}`);
      if (line.agent) row.appendChild(el("span", "cmb-agent", `${line.agent}: `));
      row.appendChild(document.createTextNode(line.text ?? ""));
      parts.push(row);
    }
    this.root.replaceChildren(...parts);
    if (stick) this.root.scrollTop = this.root.scrollHeight;
  }
}

// A tab strip over panels (the run view's Transcript | Console): one shown at a time; the open tab is
// in the caller's state, so a view rendered again opens the same one.

import { el } from "./format.js";

export class Tabs {
  /**
   * @param {HTMLElement} parent
   * @param {[string, string, HTMLElement][]} panels name, label, element
   * @param {{tab?: string}} state
   */
  constructor(parent, panels, state) {
    this.state = state;
    this.panels = panels;
    this.root = el("div", "cmb-tabs");
    this.strip = el("div", "cmb-tab-strip");
    this.strip.setAttribute("role", "tablist");
    this.root.appendChild(this.strip);
    for (const [name, label, panel] of panels) {
      const tab = el("button", `cmb-tab cmb-tab-${name}`, label);
      tab.type = "button";
      tab.setAttribute("role", "tab");
      tab.addEventListener("click", () => this.show(name));
      this.strip.appendChild(tab);
      panel.classList.add("cmb-tab-panel");
      this.root.appendChild(panel);
    }
    parent.appendChild(this.root);
    this.show(state.tab ?? panels[0][0]);
  }

  show(name) {
    this.state.tab = name;
    this.panels.forEach(([n, , panel], i) => {
      panel.hidden = n !== name;
      const tab = this.strip.children[i];
      tab.classList.toggle("cmb-selected", n === name);
      tab.setAttribute("aria-selected", String(n === name));
    });
  }
}

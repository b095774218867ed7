// The sidebar's actions bar for the selected session: Cancel (a task still going), Resume (a
// suspended session), Open notebook (the one it came from), Export notebook and Cost CSV.

import { el } from "./format.js";
import { ACTIVE } from "./protocol.js";

const RESUMABLE = new Set(["suspended", "cancelled", "failed"]); // their session is suspended

/**
 * The buttons of `row`'s actions, each calling its handler.
 * @param {any} row
 * @param {{ cancel: () => void, resume: (sessionId: string) => void, open: (path: string) => void,
 *           download: (label: string, report: string) => void }} on
 * @returns {HTMLElement[]}
 */
export function actionButtons(row, on) {
  const buttons = [];
  const button = (label, action) => {
    const b = el("button", `cmb-sidebar-${label.toLowerCase().replace(/ /g, "-")}`, label);
    b.type = "button";
    b.addEventListener("click", action);
    buttons.push(b);
  };
  if (ACTIVE.has(row.status) && row.task_id) button("Cancel", () => on.cancel());
  if (RESUMABLE.has(row.status)) button("Resume", () => on.resume(row.session_id));
  if (row.notebook) button("Open notebook", () => on.open(row.notebook));
  if (row.session_id && row.status !== "damaged")
    for (const [label, report] of [
      ["Export notebook", "notebook"],
      ["Cost CSV", "cost"],
    ])
      button(label, () => on.download(label, report));
  return buttons;
}

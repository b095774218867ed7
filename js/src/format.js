// Formatting shared by the panels; the static HTML (cmbjupyter/static_html.py) formats the same way.

/** Dollars: 2 decimals from $1, else 4 (exact value in the element's title). */
export function usd(value) {
  const v = Number(value ?? 0);
  return `$${v.toFixed(Math.abs(v) >= 1 ? 2 : 4)}`;
}

export function tokens(value) {
  return Number(value ?? 0).toLocaleString("en-US");
}

/** Seconds between two ISO timestamps, or "" when either is missing. */
export function duration(start, end) {
  if (!start) return "";
  const t0 = Date.parse(start);
  const t1 = end ? Date.parse(end) : Date.now();
  if (Number.isNaN(t0) || Number.isNaN(t1)) return "";
  return `${((t1 - t0) / 1000).toFixed(1)} s`;
}

/** When something started: "14:05" today, "Nov 24 14:05" before (local time); "" if unknown. */
export function started(iso, now = new Date()) {
  const t = iso ? new Date(iso) : null;
  if (!t || Number.isNaN(t.getTime())) return "";
  const time = t.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
  if (t.toDateString() === now.toDateString()) return time;
  return `${t.toLocaleDateString("en-US", { month: "short", day: "numeric" })} ${time}`;
}

/** `document.createElement` with a class and text. */
export function el(tag, className = "", text = undefined) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = String(text);
  return node;
}

/** Copies `text` to the clipboard; where the page may not (no secure context), shows it selected. */
export function copyText(button, text) {
  const shown = () => {
    const area = el("textarea", "cmb-copy-fallback");
    area.readOnly = true;
    area.value = text;
    button.after(area);
    area.select();
  };
  if (!navigator.clipboard?.writeText) return shown();
  navigator.clipboard.writeText(text).then(() => {
    button.textContent = "Copied";
  }, shown);
}

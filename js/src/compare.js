// The sidebar's Compare view: pick two sessions and draw the server's comparison document
// (GET compare?a=&b=, version 1, docs/reports.md): the steps side by side with status, time, tokens
// and cost and their differences (B - A), the plots paired by file name (the others listed), code
// and text files as the server's unified diff, and the final results and context variables diffed.
// The diffs are made on the server (difflib); this module only draws them. A or B is picked from
// the sessions listed, or from any saved session found by the picker's search (compare_search.js).

import { SessionSearch } from "./compare_search.js";
import { el, tokens, usd } from "./format.js";

/** A difference B - A as text: "+$0.0012", "-1.5 s", "±0.0 s" when it rounds to none, "" when unknown. */
export function signed(value, kind = "") {
  if (value === null || value === undefined) return "";
  const v = Number(value);
  const abs = Math.abs(v);
  const text = kind === "usd" ? usd(abs) : kind === "s" ? `${abs.toFixed(1)} s` : tokens(abs);
  if (!/[1-9]/.test(text)) return `±${text}`;
  return `${v > 0 ? "+" : "-"}${text}`;
}

/** One side of a step (or of the totals) as table cells: status, time, tokens, cost. */
export function sideCells(side) {
  if (!side) return ["—", "", "", ""];
  const toks = side.tokens ?? (side.input_tokens ?? 0) + (side.output_tokens ?? 0);
  const time =
    side.duration_s === null || side.duration_s === undefined ? "" : `${side.duration_s.toFixed(1)} s`;
  return [side.status ?? "", time, tokens(toks), usd(side.cost_usd)];
}

/** The rows of the steps table: label, A's cells, B's cells, the differences. */
export function stepRows(doc) {
  const rows = (doc.steps ?? []).map((s) => ({
    id: s.id,
    label: s.label,
    a: sideCells(s.a),
    b: sideCells(s.b),
    diff: [
      s.diff?.status_changed ? "changed" : "",
      signed(s.diff?.duration_s, "s"),
      signed(s.diff?.tokens),
      signed(s.diff?.cost_usd, "usd"),
    ],
  }));
  const t = doc.totals ?? {};
  const d = t.diff ?? {};
  const tokenDiff = d.input_tokens === undefined ? null : (d.input_tokens ?? 0) + (d.output_tokens ?? 0);
  rows.push({
    id: "total",
    label: "Total",
    a: sideCells(t.a ? { ...t.a, status: doc.a?.status } : null),
    b: sideCells(t.b ? { ...t.b, status: doc.b?.status } : null),
    diff: [
      doc.a?.status !== doc.b?.status ? "changed" : "",
      signed(d.duration_s, "s"),
      signed(tokenDiff),
      signed(d.cost_usd, "usd"),
    ],
  });
  return rows;
}

/** A unified diff's lines, each with its kind: "add", "del", "hunk", "file" or "same". */
export function diffLines(text) {
  return String(text ?? "")
    .split("\n")
    .filter((line, i, all) => line !== "" || i < all.length - 1)
    .map((line) => {
      if (line.startsWith("+++") || line.startsWith("---")) return { kind: "file", line };
      if (line.startsWith("@@")) return { kind: "hunk", line };
      if (line.startsWith("+")) return { kind: "add", line };
      if (line.startsWith("-")) return { kind: "del", line };
      return { kind: "same", line };
    });
}

/** The choices of a picker: the sessions listed, then `kept` (one chosen from a search) if not among them. */
export function choices(ids, kept) {
  return kept && !ids.includes(kept) ? [...ids, kept] : ids;
}

/** A key-by-key diff (result, context) as rows [mark, key, text]. */
export function valueRows(diff) {
  if (!diff) return [];
  if ("equal" in diff)
    return [[diff.equal ? "=" : "~", "", diff.equal ? "same" : `${show(diff.a)} → ${show(diff.b)}`]];
  return [
    ...Object.entries(diff.added ?? {}).map(([k, v]) => ["+", k, show(v)]),
    ...Object.entries(diff.removed ?? {}).map(([k, v]) => ["-", k, show(v)]),
    ...Object.entries(diff.changed ?? {}).map(([k, v]) => ["~", k, `${show(v.a)} → ${show(v.b)}`]),
    ...(diff.same ?? []).map((k) => ["=", k, "same"]),
  ];
}

const FILE_STATUS = { same: "same", changed: "changed", only_a: "only in A", only_b: "only in B" };

/** A file without a diff, as one line: its path, status and why there is no diff. */
export function fileLine(f) {
  return `${f.path}: ${FILE_STATUS[f.status] ?? f.status}${f.note ? ` (${f.note})` : ""}`;
}

function show(value) {
  const text = JSON.stringify(value);
  return text === undefined ? "undefined" : text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function table(className, head, rows) {
  const t = el("table", className);
  const tr = el("tr");
  for (const h of head) tr.appendChild(el("th", "", h));
  t.appendChild(tr);
  for (const cells of rows) {
    const row = el("tr");
    for (const c of cells) row.appendChild(c instanceof Node ? wrap(c) : el("td", "", c));
    t.appendChild(row);
  }
  return t;
}

function option(id) {
  return Object.assign(el("option", "", id), { value: id });
}

function wrap(node) {
  const td = el("td");
  td.appendChild(node);
  return td;
}

export class CompareView {
  /**
   * @param {HTMLElement} host
   * @param {{ call: (path: string) => Promise<any>,
   *           fetchFile: (sessionId: string, path: string) => Promise<{buffer: ArrayBuffer, mime?: string}> }} io
   */
  constructor(host, io) {
    this.io = io;
    this.node = el("div", "cmbjupyter-compare cmb-compare"); // not .cmbjupyter-run: that is the run view
    this.a = el("select", "cmb-compare-a");
    this.b = el("select", "cmb-compare-b");
    const go = el("button", "cmb-compare-go", "Compare");
    go.type = "button";
    go.addEventListener("click", () => void this.compare(this.a.value, this.b.value));
    const pick = el("div", "cmb-compare-pick");
    pick.append(el("span", "", "A "), this.a, el("span", "", " B "), this.b, go);
    this.search = new SessionSearch(io.call, (side, id) => this.choose(side, id));
    this.out = el("div", "cmb-compare-out");
    this.node.append(pick, this.search.node, this.out);
    host.appendChild(this.node);
    this.urls = [];
  }

  /** The sessions to pick from (newest first); A defaults to `selected`, B to the next one. */
  setSessions(ids, selected = null) {
    const keepA = this.a.value || selected || ids[0] || "";
    const keepB = this.b.value || ids.find((id) => id !== keepA) || "";
    for (const [select, value] of [
      [this.a, keepA],
      [this.b, keepB],
    ]) {
      select.replaceChildren(...choices(ids, value).map((id) => option(id)));
      select.value = value;
    }
  }

  /** Puts `sessionId` (a search's hit, listed or not) into picker A or B. */
  choose(side, sessionId) {
    const select = side === "a" ? this.a : this.b;
    const ids = [...select.options].map((o) => o.value);
    if (!ids.includes(sessionId)) select.appendChild(option(sessionId));
    select.value = sessionId;
  }

  async compare(a, b) {
    if (!a || !b) return;
    this.out.replaceChildren(el("div", "cmb-compare-wait", `Comparing ${a} and ${b}…`));
    try {
      const doc = await this.io.call(`compare?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`);
      this.render(doc);
    } catch (err) {
      this.out.replaceChildren(el("div", "cmb-error", err.message));
    }
  }

  render(doc) {
    for (const url of this.urls) URL.revokeObjectURL(url);
    this.urls = [];
    // one column per run and one for the differences, each cell a few short lines: fits a sidebar
    const lines = (cells) => cells.filter(Boolean).join("\n");
    const steps = stepRows(doc).map((r) => [r.label, lines(r.a), lines(r.b), lines(r.diff)]);
    const head = ["step", "A", "B", "B − A"];
    const parts = [
      el(
        "div",
        "cmb-compare-title",
        `A: ${doc.a.session_id} (${doc.a.mode}) · B: ${doc.b.session_id} (${doc.b.mode})`,
      ),
      table("cmb-compare-steps", head, steps),
      this.plots(doc),
      ...this.files(doc),
    ];
    if (doc.task_diff) parts.push(this.diffBlock("task", doc.task_diff));
    for (const name of ["result", "context"]) {
      parts.push(el("div", "cmb-compare-section", name === "result" ? "Final result" : "Context variables"));
      parts.push(table(`cmb-compare-values cmb-compare-${name}`, ["", "key", "A → B"], valueRows(doc[name])));
    }
    this.out.replaceChildren(...parts);
    this.doc = doc;
  }

  plots(doc) {
    const box = el("div", "cmb-compare-plots");
    box.appendChild(el("div", "cmb-compare-section", "Plots"));
    for (const p of doc.plots?.paired ?? []) {
      const pair = el("div", `cmb-compare-pair${p.same ? " cmb-same" : ""}`);
      pair.dataset.path = p.path;
      pair.appendChild(el("div", "cmb-compare-plot-name", `${p.path}${p.same ? " (identical)" : ""}`));
      const sides = el("div", "cmb-compare-sides");
      for (const session of [doc.a.session_id, doc.b.session_id])
        sides.appendChild(this.image(session, p.path));
      pair.appendChild(sides);
      box.appendChild(pair);
    }
    for (const [key, label] of [
      ["only_a", "only in A"],
      ["only_b", "only in B"],
    ])
      for (const path of doc.plots?.[key] ?? [])
        box.appendChild(el("div", `cmb-compare-${key}`, `${path}: ${label}`));
    return box;
  }

  image(session, path) {
    const img = el("img", "cmb-compare-img");
    img.alt = `${session}: ${path}`;
    this.io
      .fetchFile(session, path)
      .then(({ buffer, mime }) => {
        const url = URL.createObjectURL(new Blob([buffer], { type: mime ?? "image/png" }));
        this.urls.push(url);
        img.src = url;
      })
      .catch((err) => {
        img.alt = `${path}: ${err.message}`;
      });
    return img;
  }

  files(doc) {
    const out = [el("div", "cmb-compare-section", "Files")];
    for (const f of doc.files ?? []) {
      if (f.diff) out.push(this.diffBlock(f.path, f.diff));
      else out.push(el("div", `cmb-compare-file cmb-${f.status}`, fileLine(f)));
    }
    return out;
  }

  diffBlock(name, text) {
    const details = el("details", "cmb-compare-diff");
    details.open = true;
    details.dataset.path = name;
    details.appendChild(el("summary", "", name));
    const pre = el("pre", "cmb-diff");
    for (const { kind, line } of diffLines(text)) pre.appendChild(el("div", `cmb-diff-${kind}`, line));
    details.appendChild(pre);
    return details;
  }
}

// The Results panel: what a run made, grouped by step: a gallery of plot thumbnails (made by the
// host, a few KB each, in the `artifacts` part) and a list of the other files. A click opens the
// file in the viewer (fetched only then). Shared by the RunWidget and the sidebar's Files tab.

import { el } from "./format.js";
import { Viewer, bytes } from "./viewer.js";

const GALLERY_FETCHED = 24; // plots without a thumbnail whose file is fetched to show them
const FETCHED_MAX = 2 * 1024 * 1024; // ... if at most this big

/** A Python identifier from a file's name (the variable a loader cell assigns). */
function variableFor(path) {
  const stem = String(path)
    .split("/")
    .pop()
    .replace(/\.[^.]*$/, "");
  const name = stem.replace(/[^A-Za-z0-9_]/g, "_").replace(/^(?=\d)/, "_");
  return name || "data";
}

/** The Python that loads a run's file into the kernel (cmbjupyter.results.load, engineer B's API). */
export function loaderCode(sessionId, path) {
  return `import cmbjupyter.results\n\n${variableFor(path)} = cmbjupyter.results.load(${JSON.stringify(
    String(sessionId ?? ""),
  )}, ${JSON.stringify(String(path))})\n${variableFor(path)}`;
}

function stepKey(record) {
  return record.step === null || record.step === undefined ? "" : String(record.step);
}

/** A clickable row for a file (the list of the Results panel and of a DAG node's details). */
export function fileRow(record, onOpen) {
  const row = el("li", "cmb-file");
  row.dataset.path = record.path;
  row.dataset.category = record.category ?? "other";
  row.tabIndex = 0;
  row.title = [record.agent && `by ${record.agent}`, record.created_at].filter(Boolean).join(" · ");
  row.append(
    el("span", `cmb-badge cmb-cat-${record.category ?? "other"}`, record.category ?? "other"),
    el("span", "cmb-file-path", ` ${record.path} `),
    el("span", "cmb-file-size", bytes(record.size)),
  );
  if (record.remote) row.appendChild(el("span", "cmb-file-remote", " (on the cluster)"));
  row.addEventListener("click", () => onOpen(record));
  row.addEventListener("keydown", (ev) => ev.key === "Enter" && onOpen(record));
  return row;
}

/** The list of `records` (any of a run's files) as rows. */
export function fileList(records, onOpen) {
  const list = el("ul", "cmb-files");
  list.append(...records.map((r) => fileRow(r, onOpen)));
  return list;
}

export class ResultsPanel {
  /**
   * @param {HTMLElement} parent
   * @param {{fetchFile: (path: string) => Promise<{buffer: ArrayBuffer, mime?: string}>,
   *          buttons?: (record: object) => [string, string, (button: HTMLElement) => void][],
   *          thumbnail?: (record: object) => string | undefined}} actions
   */
  constructor(parent, actions) {
    this.actions = actions;
    this.root = el("div", "cmb-results");
    this.root.hidden = true;
    this.body = el("div", "cmb-results-body");
    this.root.append(this.body);
    parent.appendChild(this.root);
    this.viewer = new Viewer(this.root, actions);
    this.key = null;
    this.items = [];
    this.fetched = new Map(); // sha256|path -> object URL of a plot shown from its file
  }

  open(record) {
    this.viewer.open(record);
  }

  /** @param {{items?: object[], count?: number, dropped?: number, work_dir?: string}} artifacts */
  update(artifacts) {
    const items = artifacts?.items ?? [];
    const thumbnailOf = (r) => r.thumbnail ?? this.actions.thumbnail?.(r);
    const key = JSON.stringify([
      items.map((r) => [r.path, r.sha256, Boolean(thumbnailOf(r))]),
      artifacts?.dropped,
    ]);
    if (key === this.key) return;
    this.key = key;
    this.items = items;
    this.root.hidden = items.length === 0;
    this.root.dataset.count = String(artifacts?.count ?? items.length);
    const header = el(
      "div",
      "cmb-results-title",
      `Results · ${items.length} file${items.length === 1 ? "" : "s"}`,
    );
    const parts = [header];
    if (artifacts?.dropped) {
      parts.push(
        el(
          "div",
          "cmb-results-dropped",
          `… and ${artifacts.dropped.toLocaleString("en-US")} more not listed`,
        ),
      );
    }
    const steps = new Map();
    for (const r of items) {
      const k = stepKey(r);
      if (!steps.has(k)) steps.set(k, []);
      steps.get(k).push(r);
    }
    let fetchedBudget = GALLERY_FETCHED;
    for (const [step, records] of steps) {
      const group = el("section", "cmb-results-step");
      group.dataset.step = step;
      if (steps.size > 1 || step)
        group.appendChild(el("div", "cmb-results-step-title", step ? `Step ${step}` : "Run"));
      const plots = records.filter((r) => r.category === "plot");
      const others = records.filter((r) => r.category !== "plot");
      if (plots.length) {
        const gallery = el("div", "cmb-gallery");
        for (const r of plots) {
          const thumbnail = thumbnailOf(r);
          const fetchIt =
            !thumbnail && !r.thumb && fetchedBudget > 0 && Number(r.size ?? 0) <= FETCHED_MAX && !r.remote;
          if (fetchIt) fetchedBudget -= 1;
          gallery.appendChild(this.thumb(r, thumbnail, fetchIt));
        }
        group.appendChild(gallery);
      }
      if (others.length) group.appendChild(fileList(others, (r) => this.open(r)));
      parts.push(group);
    }
    this.body.replaceChildren(...parts);
  }

  /** A plot's figure: its thumbnail; else its file, fetched (`fetchIt`); else a placeholder (one
   * whose thumbnail is on its way: `record.thumb`). */
  thumb(record, thumbnail, fetchIt) {
    const figure = el("figure", "cmb-thumb");
    figure.dataset.path = record.path;
    figure.tabIndex = 0;
    figure.title = `${record.path}${record.agent ? ` · by ${record.agent}` : ""}`;
    const img = el("img", "cmb-thumb-img");
    img.alt = record.path;
    let preview = img;
    if (thumbnail) {
      img.src = thumbnail;
    } else if (fetchIt) {
      const key = `${record.sha256}|${record.path}`;
      if (this.fetched.has(key)) {
        img.src = this.fetched.get(key);
      } else {
        this.actions
          .fetchFile(record.path)
          .then((file) => {
            const type = record.path.endsWith(".svg") ? "image/svg+xml" : file.mime || record.mime;
            const url = URL.createObjectURL(new Blob([file.buffer], { type }));
            this.fetched.set(key, url);
            img.src = url;
          })
          .catch(() => img.replaceWith(el("div", "cmb-thumb-none", "no preview")));
      }
    } else {
      preview = el("div", "cmb-thumb-none", record.thumb ? "…" : "no preview");
    }
    figure.append(preview, el("figcaption", "", record.path.split("/").pop()));
    figure.addEventListener("click", () => this.open(record));
    figure.addEventListener("keydown", (ev) => ev.key === "Enter" && this.open(record));
    return figure;
  }
}

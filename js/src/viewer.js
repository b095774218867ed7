// The file viewer of the Results panel: one artifact, fetched only when opened, shown by its kind.
//
// Images as themselves (an <img> from a blob URL: an SVG's scripts never run there), code
// highlighted by highlight.js, a CSV's head as a table (papaparse), markdown rendered by markdown-it
// and sanitized by DOMPurify, JSON as a collapsible tree (<details>), other text as text, and
// anything else as a download. The bytes come from the host's `fetchFile(path)`: the kernel through
// the widget's comm (kernel mode), the server's files route (sidebar, server mode).

import DOMPurify from "dompurify";
import hljs from "highlight.js/lib/core";
import bash from "highlight.js/lib/languages/bash";
import json from "highlight.js/lib/languages/json";
import markdown from "highlight.js/lib/languages/markdown";
import python from "highlight.js/lib/languages/python";
import MarkdownIt from "markdown-it";
import Papa from "papaparse";
import { el } from "./format.js";

hljs.registerLanguage("python", python);
hljs.registerLanguage("bash", bash);
hljs.registerLanguage("json", json);
hljs.registerLanguage("markdown", markdown);

const MD = new MarkdownIt({ html: false, linkify: true });
const TEXT_SHOWN = 400_000; // characters of a text file shown (the download has all of it)
const CSV_ROWS = 20; // rows of a CSV's head
const JSON_OPEN_DEPTH = 1; // levels of a JSON tree open at first
const JSON_CHILDREN = 200; // entries shown per JSON object/array

const LANGUAGES = { py: "python", sh: "bash", bash: "bash", json: "json", md: "markdown", ipynb: "json" };
const IMAGES = new Set(["png", "jpg", "jpeg", "gif", "webp", "svg"]);

export function extension(path) {
  const name = String(path ?? "")
    .split("/")
    .pop();
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : "";
}

/** How a file is shown: image, markdown, csv, json, code, text, or binary (a download only). */
export function kindOf(record) {
  const ext = extension(record.path);
  const mime = String(record.mime ?? "");
  if (IMAGES.has(ext) || mime.startsWith("image/")) return "image";
  if (ext === "md") return "markdown";
  if (ext === "csv" || ext === "tsv") return "csv";
  if (ext === "json") return "json";
  if (ext in LANGUAGES) return "code";
  if (mime.startsWith("text/") || ["txt", "log", "html", "yaml", "yml", "toml", "tex"].includes(ext))
    return "text";
  return "binary";
}

export function bytes(n) {
  const v = Number(n ?? 0);
  if (v < 1024) return `${v} B`;
  if (v < 1024 * 1024) return `${(v / 1024).toFixed(1)} KB`;
  return `${(v / 1024 / 1024).toFixed(1)} MB`;
}

function jsonTree(value, depth = 0, key = undefined) {
  const label = key === undefined ? "" : `${key}: `;
  if (value === null || typeof value !== "object") {
    const leaf = el("div", "cmb-json-leaf");
    leaf.append(
      el("span", "cmb-json-key", label),
      el("span", `cmb-json-${value === null ? "null" : typeof value}`, JSON.stringify(value)),
    );
    return leaf;
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  const box = el("details", "cmb-json-node");
  box.open = depth < JSON_OPEN_DEPTH;
  const brackets = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`;
  box.appendChild(el("summary", "", `${label}${brackets}`));
  for (const [k, v] of entries.slice(0, JSON_CHILDREN)) box.appendChild(jsonTree(v, depth + 1, k));
  if (entries.length > JSON_CHILDREN)
    box.appendChild(el("div", "cmb-json-more", `… ${entries.length - JSON_CHILDREN} more`));
  return box;
}

function csvTable(text, delimiter) {
  const parsed = Papa.parse(text, { preview: CSV_ROWS + 1, delimiter, skipEmptyLines: true });
  const rows = parsed.data;
  const table = el("table", "cmb-csv");
  if (rows.length === 0) return table;
  const head = table.createTHead().insertRow();
  for (const h of rows[0]) head.appendChild(el("th", "", h));
  const body = table.createTBody();
  for (const row of rows.slice(1)) {
    const tr = body.insertRow();
    for (const cell of row) tr.appendChild(el("td", "", cell));
  }
  return table;
}

function decode(buffer) {
  return new TextDecoder("utf-8", { fatal: false }).decode(buffer);
}

/** The element showing `record`'s content `buffer` (an ArrayBuffer or a view of one). */
export function renderContent(record, buffer, mime) {
  const kind = kindOf(record);
  if (kind === "image") {
    const img = el("img", "cmb-viewer-image");
    const type = extension(record.path) === "svg" ? "image/svg+xml" : mime || record.mime || "image/png";
    img.src = URL.createObjectURL(new Blob([buffer], { type }));
    img.alt = record.path;
    return img;
  }
  if (kind === "binary")
    return el("div", "cmb-viewer-binary", `${bytes(buffer.byteLength)}: use Download to open it.`);
  const full = decode(buffer);
  const text = full.length > TEXT_SHOWN ? full.slice(0, TEXT_SHOWN) : full;
  const cut =
    full.length > TEXT_SHOWN
      ? el(
          "div",
          "cmb-viewer-cut",
          `… showing ${TEXT_SHOWN.toLocaleString("en-US")} of ${full.length.toLocaleString("en-US")} characters`,
        )
      : null;
  let shown;
  if (kind === "markdown") {
    shown = el("div", "cmb-viewer-markdown");
    shown.innerHTML = DOMPurify.sanitize(MD.render(text));
  } else if (kind === "csv") {
    shown = csvTable(text, extension(record.path) === "tsv" ? "\t" : undefined);
  } else if (kind === "json") {
    try {
      shown = jsonTree(JSON.parse(full));
    } catch {
      shown = el("pre", "cmb-viewer-text", text);
    }
  } else if (kind === "code") {
    const pre = el("pre", "cmb-viewer-code");
    const code = el("code", "hljs");
    code.innerHTML = hljs.highlight(text, {
      language: LANGUAGES[extension(record.path)],
      ignoreIllegals: true,
    }).value;
    pre.appendChild(code);
    shown = pre;
  } else {
    shown = el("pre", "cmb-viewer-text", text);
  }
  shown.classList.add("cmb-viewer-content");
  shown.dataset.kind = kind;
  const box = el("div", "cmb-viewer-body");
  box.append(...[shown, cut].filter(Boolean));
  return box;
}

/**
 * The viewer box: `open(record)` fetches and shows one file; `actions.fetchFile(path)` ->
 * Promise<{buffer, mime}>; `actions.loader(record)` -> the Python that loads a data file, if any.
 */
export class Viewer {
  constructor(parent, actions) {
    this.actions = actions;
    this.root = el("div", "cmb-viewer");
    this.root.hidden = true;
    parent.appendChild(this.root);
    this.opened = null;
    this.url = null;
  }

  close() {
    this.root.hidden = true;
    this.root.replaceChildren();
    this.opened = null;
    if (this.url) URL.revokeObjectURL(this.url);
    this.url = null;
  }

  async open(record) {
    this.close();
    this.opened = record.path;
    this.root.hidden = false;
    this.root.dataset.path = record.path;
    const title = el("div", "cmb-viewer-title");
    title.append(
      el("span", "cmb-viewer-path", record.path),
      el("span", "cmb-viewer-meta", ` · ${record.category ?? "other"} · ${bytes(record.size)}`),
    );
    const bar = el("div", "cmb-viewer-actions");
    const close = el("button", "cmb-viewer-close", "Close");
    close.type = "button";
    close.addEventListener("click", () => this.close());
    const status = el("div", "cmb-viewer-status", "Loading…");
    this.root.append(title, bar, status);
    for (const [label, cls, run] of this.actions.buttons?.(record) ?? []) {
      const b = el("button", cls, label);
      b.type = "button";
      b.addEventListener("click", () => run(b));
      bar.appendChild(b);
    }
    bar.appendChild(close);
    let file;
    try {
      file = await this.actions.fetchFile(record.path);
    } catch (err) {
      if (this.opened === record.path) {
        status.textContent = `Cannot open ${record.path}: ${err.message ?? err}`;
        status.classList.add("cmb-error");
      }
      return;
    }
    if (this.opened !== record.path) return; // another file was opened meanwhile
    const download = el("a", "cmb-viewer-download", "Download");
    this.url = URL.createObjectURL(
      new Blob([file.buffer], { type: file.mime || "application/octet-stream" }),
    );
    download.href = this.url;
    download.download = record.path.split("/").pop();
    bar.insertBefore(download, close);
    status.replaceWith(renderContent(record, file.buffer, file.mime));
  }
}

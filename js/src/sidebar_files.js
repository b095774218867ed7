// The sidebar's Files tab: the selected session's files with the Results panel's views (bytes from
// the server's files routes, through the panel's fetchFile), its folder with "Show in file browser"
// when the folder lies under the server's root, and "No files yet." before any.

import { el } from "./format.js";
import { ResultsPanel } from "./results.js";

/** The server's root_dir (JupyterLab's page config), to turn a work dir into a file-browser path. */
function serverRoot() {
  try {
    return JSON.parse(document.getElementById("jupyter-config-data")?.textContent ?? "{}").serverRoot ?? null;
  } catch {
    return null;
  }
}

/** `workDir` relative to the server's root ("" for the root), or null when it lies outside it. */
export function browserPath(workDir, root = serverRoot()) {
  if (!workDir || !root) return null;
  const base = root.replace(/\/+$/, "");
  if (workDir === base) return "";
  return workDir.startsWith(`${base}/`) ? workDir.slice(base.length + 1) : null;
}

export class FilesTab {
  /**
   * @param {HTMLElement} node the tab's element
   * @param {any} app the JupyterLab application (its file browser command)
   * @param {{ fetchFile: (path: string) => Promise<any>, buttons: (record: any) => any[] }} io
   */
  constructor(node, app, io) {
    this.app = app;
    this.folder = el("div", "cmb-sidebar-folder");
    this.empty = el("div", "cmb-sidebar-files-empty", "No files yet.");
    this.results = new ResultsPanel(node, io);
    node.prepend(this.folder, this.empty);
  }

  /** The `artifacts` part of a snapshot: its files and its work dir. */
  draw(artifacts) {
    this.results.update(artifacts);
    this.empty.hidden = (artifacts.items ?? []).length > 0;
    const workDir = artifacts.work_dir;
    const parts = [];
    if (workDir) {
      parts.push(el("span", "cmb-sidebar-folder-path", workDir));
      const where = browserPath(workDir);
      if (where !== null) {
        const go = el("button", "cmb-sidebar-show-folder", "Show in file browser");
        go.type = "button";
        go.addEventListener("click", () =>
          this.app.commands.execute("filebrowser:go-to-path", { path: where }),
        );
        parts.push(go);
      }
    }
    this.folder.replaceChildren(...parts);
  }
}

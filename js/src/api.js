// The server extension's REST + WebSocket API (/cmbagent/api), through JupyterLab's own connection
// settings, so the token, XSRF cookie and base URL are the ones Lab itself uses.

import { ServerConnection } from "@jupyterlab/services";

export class CmbAgentApi {
  constructor(settings = ServerConnection.makeSettings()) {
    this.settings = settings;
  }

  /** The route of one file of a task's or a session's work dir (each path segment encoded). */
  static filePath(kind, id, path) {
    const segments = String(path).split("/").map(encodeURIComponent).join("/");
    return `${kind}/${encodeURIComponent(id)}/files/${segments}`;
  }

  url(path) {
    return `${this.settings.baseUrl.replace(/\/$/, "")}/cmbagent/api/${path}`;
  }

  async call(path, method = "GET", body = undefined) {
    const init = { method };
    if (body !== undefined) init.body = JSON.stringify(body);
    const reply = await ServerConnection.makeRequest(this.url(path), init, this.settings);
    const data = reply.status === 204 ? {} : await reply.json().catch(() => ({}));
    if (!reply.ok) throw new Error(data.message ?? `${method} ${path}: HTTP ${reply.status}`);
    return data;
  }

  /** A file's bytes from a files route (`tasks/{id}/files/{path}`, `sessions/{id}/files/{path}`). */
  async bytes(path) {
    const reply = await ServerConnection.makeRequest(this.url(path), { method: "GET" }, this.settings);
    if (!reply.ok) {
      const data = await reply.json().catch(() => ({}));
      throw new Error(data.message ?? `GET ${path}: HTTP ${reply.status}`);
    }
    return { buffer: await reply.arrayBuffer(), mime: reply.headers.get("Content-Type") ?? undefined };
  }

  /** A WebSocket on `path` whose JSON frames (each a list of messages) go to `onMessages`. */
  socket(path, onMessages) {
    const base = this.settings.wsUrl.replace(/\/$/, "");
    const token = this.settings.token ? `${path.includes("?") ? "&" : "?"}token=${this.settings.token}` : "";
    const ws = new this.settings.WebSocket(`${base}/cmbagent/api/${path}${token}`);
    ws.onmessage = (ev) => {
      const data = JSON.parse(ev.data);
      onMessages(Array.isArray(data) ? data : [data]);
    };
    return ws;
  }
}

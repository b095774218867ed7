// The server extension's REST + WebSocket API (/cmbagent/api), through JupyterLab's own connection
// settings, so the token, XSRF cookie and base URL are the ones Lab itself uses.

import { ServerConnection } from "@jupyterlab/services";
import { liveSocket } from "./reconnect.js";

/** An HTTP error of the API: its message and status (404: no such task or session). */
export class ApiError extends Error {
  /** @param {string} message @param {number} status */
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

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
    if (!reply.ok)
      throw new ApiError(data.message ?? `${method} ${path}: HTTP ${reply.status}`, reply.status);
    return data;
  }

  /** A file's bytes from a files route (`tasks/{id}/files/{path}`, `sessions/{id}/files/{path}`). */
  async bytes(path) {
    const reply = await ServerConnection.makeRequest(this.url(path), { method: "GET" }, this.settings);
    if (!reply.ok) {
      const data = await reply.json().catch(() => ({}));
      throw new ApiError(data.message ?? `GET ${path}: HTTP ${reply.status}`, reply.status);
    }
    return { buffer: await reply.arrayBuffer(), mime: reply.headers.get("Content-Type") ?? undefined };
  }

  /** The WebSocket URL of `path`. As @jupyterlab/services' own sockets: the page's cookie
   * authenticates it, and the token is added (URI-encoded) only when the settings ask for it
   * (`appendToken`: a server on another host than the page). */
  socketUrl(path) {
    const base = this.settings.wsUrl.replace(/\/$/, "");
    const { token, appendToken } = this.settings;
    const auth =
      appendToken && token ? `${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}` : "";
    return `${base}/cmbagent/api/${path}${auth}`;
  }

  /**
   * A WebSocket on `path()` (asked again at each reconnect, to resume) whose JSON frames (each a
   * list of messages) go to `onMessages`; it reconnects with backoff after a server restart.
   * @param {() => string} path
   * @param {(messages: any[]) => void} onMessages
   * @param {import("./reconnect.js").LiveOptions} [options]
   */
  socket(path, onMessages, options = {}) {
    return liveSocket(this.settings.WebSocket, () => this.socketUrl(path()), onMessages, options);
  }
}

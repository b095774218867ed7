// A WebSocket that reconnects by itself: after a server restart (or a dropped network) the sidebar
// keeps its panel live instead of freezing until the page is reloaded. Each (re)connect asks its
// caller for the URL, so the caller resumes where it was (`since=` the last seq it holds). The delay
// between tries doubles from BASE_DELAY up to MAX_DELAY, with jitter, so a restarted server is not
// hit by every open page at once. Pure (no JupyterLab import): js/test/reconnect.test.js runs it.

/** First retry after about this many ms. */
export const BASE_DELAY = 500;
/** Never wait longer than this between tries (ms). */
export const MAX_DELAY = 30_000;

/**
 * The wait before try number `attempt` (0 for the first retry): BASE_DELAY doubled per attempt,
 * capped at MAX_DELAY, then scaled by a jitter in [0.5, 1).
 * @param {number} attempt
 * @param {number} [random] a number in [0, 1) (Math.random() by default)
 */
export function reconnectDelay(attempt, random = Math.random()) {
  const capped = Math.min(MAX_DELAY, BASE_DELAY * 2 ** Math.max(0, attempt));
  return Math.round(capped * (0.5 + random / 2));
}

/**
 * @typedef {object} LiveOptions
 * @property {(reconnected: boolean) => void} [onOpen] each time the socket opens
 * @property {(event: CloseEvent) => void} [onDown] each time it closes (before any retry)
 * @property {() => Promise<boolean> | boolean} [shouldRetry] asked before each retry; false ends it
 * @property {(ms: number, retry: () => void) => unknown} [schedule] setTimeout by default
 */

/**
 * Opens `url()` with `WebSocketClass` and keeps it open: on a close other than the server's normal
 * end (code 1000: the stream is complete) it retries after `reconnectDelay`. JSON frames (a message
 * or a list of them) go to `onMessages` as a list.
 * @param {{new (url: string): WebSocket}} WebSocketClass
 * @param {() => string} url
 * @param {(messages: any[]) => void} onMessages
 * @param {LiveOptions} [options]
 * @returns {{close: () => void, readonly socket: WebSocket | null}}
 */
export function liveSocket(WebSocketClass, url, onMessages, options = {}) {
  const schedule = options.schedule ?? ((ms, retry) => setTimeout(retry, ms));
  let socket = null;
  let attempt = 0;
  let opened = false;
  let closed = false;

  const connect = () => {
    if (closed) return;
    const ws = new WebSocketClass(url());
    socket = ws;
    ws.onopen = () => {
      attempt = 0;
      options.onOpen?.(opened);
      opened = true;
    };
    ws.onmessage = (event) => {
      const data = JSON.parse(event.data);
      onMessages(Array.isArray(data) ? data : [data]);
    };
    ws.onclose = async (event) => {
      if (socket !== ws) return;
      socket = null;
      options.onDown?.(event);
      if (closed || event.code === 1000) return;
      const delay = reconnectDelay(attempt++);
      schedule(delay, async () => {
        if (closed) return;
        let retry = true;
        try {
          retry = options.shouldRetry ? await options.shouldRetry() : true;
        } catch {
          retry = true; // the check itself failed: the server is still away
        }
        if (retry) connect();
        else closed = true;
      });
    };
  };

  connect();
  return {
    close() {
      closed = true;
      const ws = socket;
      socket = null;
      ws?.close();
    },
    get socket() {
      return socket;
    },
  };
}

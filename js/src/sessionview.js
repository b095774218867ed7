// A run drawn from the server's record of its session: what a notebook output shows of a run once
// no live widget draws it (the run ended, the kernel restarted, the notebook was reopened).
//
// The saved state comes from GET sessions/{id}?view=state; while a task of the server still runs
// the session (the record's `live`), its snapshots stream over tasks/{id}/events?mode=state, as in
// the sidebar, and Cancel / the input box act on that task. Files open through the session's files
// route. `showSession` resolves false when the server does not know the session (or has no
// cmbagent extension): the caller then shows the copy saved in the notebook.
//
// A run's output is re-drawn the moment its terminal event reaches the kernel, when the server may
// not have flushed that event to the session's log yet: a task the server still holds is read from
// its memory (GET tasks/{id}), and a log that is behind the output's own status is read again a few
// times (SETTLE_DELAYS) before it is drawn as it is.

import { ApiError, CmbAgentApi } from "./api.js";
import { partsOf } from "./parts.js";
import { ACTIVE } from "./protocol.js";
import { createRunView } from "./view.js";

/** ms to wait before each re-read of a session log that is behind the output's final status. */
const SETTLE_DELAYS = [250, 500, 1000, 2000, 4000];
const TERMINAL = new Set(["completed", "failed", "cancelled"]);

/** The saved state of a session: the server's in-memory task if it holds one, else its log. */
async function savedState(api, session, task, expected) {
  if (task) {
    const snapshot = await api.call(`tasks/${encodeURIComponent(task)}`).catch(() => null);
    if (snapshot?.status) return snapshot;
  }
  let state = null;
  for (const delay of [0, ...SETTLE_DELAYS]) {
    if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
    const saved = await api.call(`sessions/${session}?view=state`);
    state = saved.state ?? saved;
    if (!TERMINAL.has(expected) || TERMINAL.has(state.status)) break;
  }
  return state;
}

/**
 * Draws session `sessionId` into `host` with the run view.
 * @param {HTMLElement} host
 * @param {import("./api.js").CmbAgentApi} api
 * @param {string} sessionId
 * @param {string} [expected] the run's status as its output saved it
 * @returns {Promise<{live: boolean, close: () => void} | false>}
 */
export async function showSession(host, api, sessionId, expected = undefined) {
  const session = encodeURIComponent(sessionId);
  let record;
  try {
    record = await api.call(`sessions/${session}`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return false; // unknown here: the saved copy
    throw err;
  }
  const live = record.live && ACTIVE.has(record.live.status) ? record.live : null;
  const taskPath = live ? `tasks/${encodeURIComponent(live.task_id)}` : null;
  let snapshot = null;
  const view = createRunView(host, {
    onCancel: () => taskPath && api.call(taskPath, "DELETE").catch(() => {}),
    onInput: (text) =>
      taskPath &&
      api.call(`${taskPath}/input`, "POST", { text, request_id: snapshot?.input_request?.request_id }),
    fetchFile: (path) => api.bytes(CmbAgentApi.filePath("sessions", sessionId, path)),
  });
  const draw = (state) => {
    snapshot = state;
    view.update(partsOf(state));
  };
  if (!live) {
    draw(await savedState(api, session, record.live?.task_id, expected));
    return { live: false, close: () => view.destroy() };
  }
  let since = 0;
  const stream = api.socket(
    () => `${taskPath}/events?mode=state${since > 0 ? `&since=${since}` : ""}`,
    (messages) => {
      for (const m of messages) {
        if (m.type !== "snapshot") continue;
        since = Math.max(since, m.seq ?? 0);
        draw(m.data);
      }
    },
    {
      // the server forgot the task (it restarted): the session file is the run's record
      shouldRetry: async () => {
        try {
          await api.call(`${taskPath}?view=summary`);
          return true;
        } catch (err) {
          if (!(err instanceof ApiError && err.status === 404)) return true;
          const saved = await api.call(`sessions/${session}?view=state`).catch(() => null);
          if (saved) draw(saved.state ?? saved);
          return false;
        }
      },
    },
  );
  return {
    live: true,
    close: () => {
      stream.close();
      view.destroy();
    },
  };
}

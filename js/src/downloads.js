// The sidebar's downloads of a session's reports: the run exported as a notebook
// (GET sessions/{id}/export) and its cost ledger, one row per LLM call (GET sessions/{id}/cost?format=csv).
// The bytes come through the API's authenticated request, then are saved by the browser.

/** The route and file name of each report of `sessionId`. */
export function reportDownloads(sessionId) {
  const id = encodeURIComponent(sessionId);
  return {
    notebook: { path: `sessions/${id}/export`, filename: `${sessionId}.ipynb` },
    cost: { path: `sessions/${id}/cost?format=csv`, filename: `${sessionId}-cost.csv` },
  };
}

/**
 * Fetch `report` ("notebook" or "cost") of `sessionId` with `api` and hand it to the browser as a download.
 * @param {{ bytes: (path: string) => Promise<{buffer: ArrayBuffer, mime?: string}> }} api
 */
export async function downloadReport(api, sessionId, report) {
  const { path, filename } = reportDownloads(sessionId)[report];
  const { buffer, mime } = await api.bytes(path);
  const url = URL.createObjectURL(new Blob([buffer], { type: mime ?? "application/octet-stream" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.hidden = true;
  document.body.appendChild(link);
  link.click();
  link.remove();
  queueMicrotask(() => URL.revokeObjectURL(url));
}

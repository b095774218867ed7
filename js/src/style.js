// The view's styles (a JS string: both bundlers take it as is; scoped under .cmbjupyter-run).
export default `
.cmbjupyter-run {
  --cmb-fg: var(--jp-ui-font-color1, var(--vscode-editor-foreground, #1f2328));
  --cmb-muted: var(--jp-ui-font-color2, #57606a);
  --cmb-bg: var(--jp-layout-color1, var(--vscode-editor-background, #fff));
  --cmb-panel: var(--jp-layout-color2, #f6f8fa);
  --cmb-border: var(--jp-border-color2, #d0d7de);
  --cmb-pending: #8c959f;
  --cmb-running: #0969da;
  --cmb-completed: #1a7f37;
  --cmb-failed: #cf222e;
  --cmb-skipped: #bf8700;
  font-family: var(--jp-ui-font-family, system-ui, sans-serif);
  font-size: 13px;
  color: var(--cmb-fg);
  background: var(--cmb-bg);
  border: 1px solid var(--cmb-border);
  border-radius: 6px;
  padding: 8px;
}
.cmbjupyter-run .cmb-header { display: flex; gap: 8px; align-items: center; }
.cmbjupyter-run .cmb-status { font-weight: 600; padding: 1px 8px; border-radius: 10px; color: #fff;
  background: var(--cmb-pending); }
.cmbjupyter-run .cmb-status.cmb-running, .cmbjupyter-run .cmb-status.cmb-starting,
.cmbjupyter-run .cmb-status.cmb-waiting_input { background: var(--cmb-running); }
.cmbjupyter-run .cmb-status.cmb-completed { background: var(--cmb-completed); }
.cmbjupyter-run .cmb-status.cmb-failed { background: var(--cmb-failed); }
.cmbjupyter-run .cmb-status.cmb-cancelled, .cmbjupyter-run .cmb-status.cmb-suspended
  { background: var(--cmb-skipped); }
.cmbjupyter-run .cmb-where { color: var(--cmb-muted); flex: 1; }
.cmbjupyter-run .cmb-message-line { margin: 4px 0; color: var(--cmb-muted); white-space: pre-wrap; }
.cmbjupyter-run .cmb-message-line.cmb-error { color: var(--cmb-failed); }
.cmbjupyter-run .cmb-body { display: flex; gap: 8px; flex-wrap: wrap; }
.cmbjupyter-run .cmb-left { flex: 3 1 320px; min-width: 0; }
.cmbjupyter-run .cmb-right { flex: 2 1 240px; min-width: 0; }
.cmbjupyter-run .cmb-dag { max-height: 380px; overflow: auto; background: var(--cmb-panel);
  border-radius: 4px; }
.cmbjupyter-run .cmb-node { cursor: pointer; }
.cmbjupyter-run .cmb-node rect { fill: var(--cmb-bg); stroke: var(--cmb-pending); stroke-width: 1.5; }
.cmbjupyter-run .cmb-node text { fill: var(--cmb-fg); font-size: 12px; }
.cmbjupyter-run .cmb-node.cmb-running rect { stroke: var(--cmb-running); stroke-width: 3; }
.cmbjupyter-run .cmb-node.cmb-completed rect { fill: #dafbe1; stroke: var(--cmb-completed); }
.cmbjupyter-run .cmb-node.cmb-failed rect { fill: #ffebe9; stroke: var(--cmb-failed); }
.cmbjupyter-run .cmb-node.cmb-skipped rect { stroke: var(--cmb-skipped); stroke-dasharray: 4 3; }
.cmbjupyter-run .cmb-node.cmb-completed text, .cmbjupyter-run .cmb-node.cmb-failed text { fill: #1f2328; }
.cmbjupyter-run .cmb-node.cmb-selected rect { stroke-width: 4; }
.cmbjupyter-run .cmb-edge { fill: none; stroke: var(--cmb-pending); stroke-width: 1.2; }
.cmbjupyter-run .cmb-arrowhead { fill: var(--cmb-pending); }
.cmbjupyter-run .cmb-details { margin-top: 6px; padding: 6px; background: var(--cmb-panel); border-radius: 4px; }
.cmbjupyter-run .cmb-details-title { font-weight: 600; }
.cmbjupyter-run .cmb-details dl { display: grid; grid-template-columns: auto 1fr; gap: 0 8px; margin: 4px 0; }
.cmbjupyter-run .cmb-details dt { color: var(--cmb-muted); }
.cmbjupyter-run .cmb-details dd { margin: 0; }
.cmbjupyter-run .cmb-message { white-space: pre-wrap; margin-top: 2px; }
.cmbjupyter-run .cmb-cost-total { font-size: 16px; font-weight: 600; }
.cmbjupyter-run .cmb-cost-tokens, .cmbjupyter-run .cmb-budget-label, .cmbjupyter-run .cmb-unpriced
  { color: var(--cmb-muted); }
.cmbjupyter-run .cmb-budget { height: 8px; background: var(--cmb-panel); border-radius: 4px; margin: 4px 0;
  overflow: hidden; }
.cmbjupyter-run .cmb-budget-fill { height: 100%; background: var(--cmb-completed); }
.cmbjupyter-run .cmb-cost[data-state="warning"] .cmb-budget-fill { background: var(--cmb-skipped); }
.cmbjupyter-run .cmb-cost[data-state="exceeded"] .cmb-budget-fill { background: var(--cmb-failed); }
.cmbjupyter-run .cmb-cost-table { border-collapse: collapse; margin-top: 6px; width: 100%; }
.cmbjupyter-run .cmb-cost-table th, .cmbjupyter-run .cmb-cost-table td { padding: 1px 6px; text-align: right; }
.cmbjupyter-run .cmb-cost-table th:first-child, .cmbjupyter-run .cmb-cost-table td:first-child
  { text-align: left; }
.cmbjupyter-run .cmb-console { margin-top: 8px; max-height: 180px; overflow: auto; background: var(--cmb-panel);
  font-family: var(--jp-code-font-family, monospace); font-size: 12px; padding: 4px; border-radius: 4px; }
.cmbjupyter-run .cmb-line { white-space: pre-wrap; }
.cmbjupyter-run .cmb-stream-stderr { color: var(--cmb-failed); }
.cmbjupyter-run .cmb-agent { font-weight: 600; }
.cmbjupyter-run .cmb-console-hidden { color: var(--cmb-muted); font-style: italic; }
.cmbjupyter-run .cmb-input { display: flex; gap: 6px; margin: 6px 0; align-items: center; }
.cmbjupyter-run .cmb-input[hidden] { display: none; }
.cmbjupyter-run .cmb-input input { flex: 1; }
.cmbjupyter-run .cmb-results { margin-top: 8px; padding: 6px; background: var(--cmb-panel); border-radius: 4px; }
.cmbjupyter-run .cmb-results-title, .cmbjupyter-run .cmb-details-files-title { font-weight: 600; margin-top: 2px; }
.cmbjupyter-run .cmb-results-step-title { color: var(--cmb-muted); margin: 4px 0 2px; }
.cmbjupyter-run .cmb-results-dropped { color: var(--cmb-muted); font-style: italic; }
.cmbjupyter-run .cmb-gallery { display: flex; flex-wrap: wrap; gap: 6px; }
.cmbjupyter-run .cmb-thumb { margin: 0; width: 168px; cursor: pointer; background: var(--cmb-bg);
  border: 1px solid var(--cmb-border); border-radius: 4px; padding: 3px; text-align: center; }
.cmbjupyter-run .cmb-thumb img { max-width: 160px; max-height: 160px; display: block; margin: 0 auto; }
.cmbjupyter-run .cmb-thumb figcaption { font-size: 11px; color: var(--cmb-muted); overflow: hidden;
  text-overflow: ellipsis; white-space: nowrap; }
.cmbjupyter-run .cmb-thumb-none { height: 60px; line-height: 60px; color: var(--cmb-muted); font-size: 11px; }
.cmbjupyter-run .cmb-files { list-style: none; margin: 2px 0; padding: 0; }
.cmbjupyter-run .cmb-file { cursor: pointer; padding: 1px 2px; border-radius: 3px; }
.cmbjupyter-run .cmb-file:hover, .cmbjupyter-run .cmb-thumb:hover { background: var(--cmb-bg); outline: 1px solid var(--cmb-running); }
.cmbjupyter-run .cmb-file-size, .cmbjupyter-run .cmb-file-remote { color: var(--cmb-muted); font-size: 11px; }
.cmbjupyter-run .cmb-badge { font-size: 10px; padding: 0 5px; border-radius: 8px; color: #fff; background: var(--cmb-pending); }
.cmbjupyter-run .cmb-cat-plot { background: #8250df; }
.cmbjupyter-run .cmb-cat-data { background: #0969da; }
.cmbjupyter-run .cmb-cat-code { background: #1a7f37; }
.cmbjupyter-run .cmb-cat-report, .cmbjupyter-run .cmb-cat-plan { background: #bf8700; }
.cmbjupyter-run .cmb-viewer { margin-top: 6px; padding: 6px; background: var(--cmb-bg); border: 1px solid var(--cmb-border);
  border-radius: 4px; }
.cmbjupyter-run .cmb-viewer[hidden] { display: none; }
.cmbjupyter-run .cmb-viewer-title { font-weight: 600; }
.cmbjupyter-run .cmb-viewer-meta { color: var(--cmb-muted); font-weight: normal; }
.cmbjupyter-run .cmb-viewer-actions { display: flex; gap: 6px; margin: 4px 0; align-items: center; }
.cmbjupyter-run .cmb-viewer-body { max-height: 600px; overflow: auto; }
.cmbjupyter-run .cmb-viewer-image { max-width: 100%; }
.cmbjupyter-run .cmb-viewer-code, .cmbjupyter-run .cmb-viewer-text { font-family: var(--jp-code-font-family, monospace);
  font-size: 12px; white-space: pre; margin: 0; }
.cmbjupyter-run .cmb-copy-fallback { width: 100%; height: 5em; font-family: monospace; }
.cmbjupyter-run .cmb-csv { border-collapse: collapse; font-size: 12px; }
.cmbjupyter-run .cmb-csv th, .cmbjupyter-run .cmb-csv td { border: 1px solid var(--cmb-border); padding: 1px 6px; }
.cmbjupyter-run .cmb-json-node > summary { cursor: pointer; }
.cmbjupyter-run .cmb-json-node > :not(summary), .cmbjupyter-run .cmb-json-node > .cmb-json-leaf { margin-left: 14px; }
.cmbjupyter-run .cmb-json-key { color: var(--cmb-muted); }
.cmbjupyter-run .cmb-json-string { color: #0a3069; }
.cmbjupyter-run .cmb-json-number, .cmbjupyter-run .cmb-json-boolean, .cmbjupyter-run .cmb-json-null { color: #0550ae; }
.cmbjupyter-run .hljs-keyword, .cmbjupyter-run .hljs-built_in { color: #cf222e; }
.cmbjupyter-run .hljs-string { color: #0a3069; }
.cmbjupyter-run .hljs-number, .cmbjupyter-run .hljs-literal { color: #0550ae; }
.cmbjupyter-run .hljs-comment { color: #6e7781; font-style: italic; }
.cmbjupyter-run .hljs-title, .cmbjupyter-run .hljs-function { color: #8250df; }
.cmbjupyter-run .cmb-error { color: var(--cmb-failed); }
.cmbjupyter-sidebar { font-family: var(--jp-ui-font-family, sans-serif); font-size: 13px;
  color: var(--jp-ui-font-color1); background: var(--jp-layout-color1); }
.cmbjupyter-sidebar .cmb-sidebar-header { font-weight: 600; margin-bottom: 6px; }
.cmbjupyter-sidebar .cmb-sidebar-row { padding: 3px 4px; cursor: pointer; border-radius: 4px; white-space: nowrap;
  overflow: hidden; text-overflow: ellipsis; }
.cmbjupyter-sidebar .cmb-sidebar-row:hover, .cmbjupyter-sidebar .cmb-sidebar-row.cmb-selected
  { background: var(--jp-layout-color2); }
.cmbjupyter-sidebar .cmb-sidebar-row .cmb-status { font-size: 11px; padding: 0 6px; border-radius: 8px; color: #fff;
  background: #8c959f; }
.cmbjupyter-sidebar .cmb-status.cmb-running, .cmbjupyter-sidebar .cmb-status.cmb-queued { background: #0969da; }
.cmbjupyter-sidebar .cmb-status.cmb-completed { background: #1a7f37; }
.cmbjupyter-sidebar .cmb-status.cmb-failed, .cmbjupyter-sidebar .cmb-status.cmb-damaged { background: #cf222e; }
.cmbjupyter-sidebar .cmb-status.cmb-suspended, .cmbjupyter-sidebar .cmb-status.cmb-cancelled { background: #bf8700; }
.cmbjupyter-sidebar .cmb-sidebar-actions { display: flex; gap: 6px; margin: 6px 0; }
.cmbjupyter-sidebar .cmb-where { color: var(--jp-ui-font-color2); }
.cmbjupyter-sidebar .cmb-sidebar-row .cmb-where { display: block; font-size: 11px; margin-left: 4px; white-space: normal; }
.cmbjupyter-sidebar .cmb-cost-table { font-size: 11px; }
.cmbjupyter-sidebar .cmb-cost-table th, .cmbjupyter-sidebar .cmb-cost-table td { padding: 1px 2px; }
.cmbjupyter-sidebar .cmb-cost-table td:first-child { word-break: normal; }
/* issue 15 polish: two-line labels, a DAG that fits its panel, a selection every theme shows, a
   cost table that wraps names between words and keeps its numbers whole */
.cmbjupyter-run { --cmb-select: var(--jp-brand-color1, #0969da); }
.cmbjupyter-run .cmb-node text.cmb-two-lines { font-size: 11px; }
.cmbjupyter-run .cmb-dag-frame { position: relative; }
.cmbjupyter-run .cmb-dag-zoom { position: absolute; top: 4px; right: 4px; z-index: 1; font-size: 11px;
  padding: 0 6px; }
.cmbjupyter-run .cmb-dag[data-fit="fit"] { overflow: hidden; }
.cmbjupyter-run .cmb-node.cmb-selected rect { stroke: var(--cmb-select); stroke-width: 4;
  filter: drop-shadow(0 0 3px var(--cmb-select)); }
.cmbjupyter-run .cmb-node:focus-visible { outline: none; }
.cmbjupyter-run .cmb-node:focus-visible rect { stroke: var(--cmb-select); stroke-dasharray: 5 2; }
.cmbjupyter-run .cmb-cost { min-width: 0; overflow-x: auto; }
.cmbjupyter-run .cmb-cost-table td.cmb-num, .cmbjupyter-run .cmb-cost-table th { white-space: nowrap; }
.cmbjupyter-run .cmb-cost-table td.cmb-cost-name { overflow-wrap: normal; word-break: normal; }
.cmbjupyter-sidebar .cmbjupyter-run .cmb-left, .cmbjupyter-sidebar .cmbjupyter-run .cmb-right
  { flex-basis: 100%; }
.cmbjupyter-run .cmb-node.cmb-cancelled rect { fill: #fff8c5; stroke: var(--cmb-skipped); }
.cmbjupyter-run .cmb-node.cmb-cancelled text { fill: #1f2328; }
.cmbjupyter-run .cmb-tl-row.cmb-cancelled .cmb-tl-bar { fill: var(--cmb-skipped); }
/* issue 15 progress: the header's step, clock and ETA; each node's duration */
.cmbjupyter-run .cmb-progress { color: var(--cmb-muted); font-variant-numeric: tabular-nums; white-space: nowrap; }
.cmbjupyter-run .cmb-progress:empty { display: none; }
.cmbjupyter-run .cmb-node text.cmb-node-time { fill: var(--cmb-muted); font-size: 9px; }
/* issue 15 charts: the timeline (Gantt of nodes and agents' LLM calls) and the cumulative cost */
.cmbjupyter-run .cmb-charts { margin-top: 8px; padding: 6px; background: var(--cmb-panel); border-radius: 4px; }
.cmbjupyter-run .cmb-charts[hidden] { display: none; }
.cmbjupyter-run .cmb-charts-title { font-weight: 600; cursor: pointer; }
.cmbjupyter-run .cmb-charts-body svg { display: block; max-width: 100%; height: auto; margin-top: 4px; }
.cmbjupyter-run .cmb-tl-label, .cmbjupyter-run .cmb-tl-tick-label { fill: var(--cmb-fg); font-size: 10px; }
.cmbjupyter-run .cmb-tl-tick-label { fill: var(--cmb-muted); }
.cmbjupyter-run .cmb-tl-axis { stroke: var(--cmb-muted); stroke-width: 1; }
.cmbjupyter-run .cmb-tl-bar { fill: var(--cmb-pending); }
.cmbjupyter-run .cmb-tl-row.cmb-running .cmb-tl-bar { fill: var(--cmb-running); }
.cmbjupyter-run .cmb-tl-row.cmb-completed .cmb-tl-bar { fill: var(--cmb-completed); }
.cmbjupyter-run .cmb-tl-row.cmb-failed .cmb-tl-bar { fill: var(--cmb-failed); }
.cmbjupyter-run .cmb-tl-row.cmb-skipped .cmb-tl-bar { fill: var(--cmb-skipped); }
.cmbjupyter-run .cmb-tl-ticks { stroke: var(--cmb-select); stroke-width: 1.5; }
.cmbjupyter-run .cmb-tl-hidden { color: var(--cmb-muted); font-style: italic; font-size: 11px; }
.cmbjupyter-run .cmb-cc-line { fill: none; stroke-width: 1.5; }
.cmbjupyter-run .cmb-cc-line.cmb-cc-total { stroke: var(--cmb-fg); stroke-width: 2; }
.cmbjupyter-run .cmb-cc-budget { stroke: var(--cmb-failed); stroke-dasharray: 5 3; }
.cmbjupyter-run .cmb-cc-budget-label { fill: var(--cmb-failed); font-size: 10px; }
.cmbjupyter-run .cmb-cc-legend { display: flex; flex-wrap: wrap; gap: 4px 12px; font-size: 11px; color: var(--cmb-muted); }
.cmbjupyter-run .cmb-cc-key::before { content: ""; display: inline-block; width: 10px; height: 3px; margin-right: 4px;
  vertical-align: middle; background: var(--cmb-key); }
`;

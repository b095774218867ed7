// The view's styles (a JS string: both bundlers take it as is; scoped under .cmbjupyter-run).
export default `
.cmbjupyter-run,
.cmbjupyter-compare {
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
.cmbjupyter-run .cmb-node.cmb-restored rect { fill: #eef1f4; stroke-dasharray: 2 2; }
.cmbjupyter-run .cmb-restart { margin: 4px 0; padding: 2px 6px; border-left: 3px solid var(--cmb-running);
  color: var(--cmb-muted); }
.cmbjupyter-run .cmb-carried { margin: 4px 0; color: var(--cmb-muted); font-size: 12px; }
.cmbjupyter-run .cmb-carried-total { color: var(--cmb-fg); font-weight: 600; }
.cmbjupyter-run .cmb-fork { margin-top: 6px; }
.cmbjupyter-run .cmb-fork-form { display: flex; flex-direction: column; gap: 4px; margin-top: 4px; }
.cmbjupyter-run .cmb-fork-form[hidden] { display: none; }
.cmbjupyter-run .cmb-fork-outcome.cmb-error { color: var(--cmb-failed); }
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
.cmbjupyter-run .cmb-console { max-height: 180px; overflow: auto; background: var(--cmb-panel); position: relative;
  overflow-anchor: none;
  font-family: var(--jp-code-font-family, monospace); font-size: 12px; padding: 4px; border-radius: 4px; }
.cmbjupyter-run .cmb-console-bar { display: block; color: var(--cmb-muted); font-size: 11px; margin: 2px 0; }
.cmbjupyter-run .cmb-stream-warnings { color: var(--cmb-skipped); }
.cmbjupyter-run .cmb-tabs { margin-top: 8px; }
.cmbjupyter-run .cmb-tab-strip { display: flex; gap: 2px; border-bottom: 1px solid var(--cmb-border); }
.cmbjupyter-run .cmb-tab { border: 1px solid transparent; border-bottom: none; background: none; color: var(--cmb-muted);
  padding: 2px 10px; cursor: pointer; border-radius: 4px 4px 0 0; font: inherit; }
.cmbjupyter-run .cmb-tab.cmb-selected { color: var(--cmb-fg); border-color: var(--cmb-border); background: var(--cmb-panel);
  font-weight: 600; }
.cmbjupyter-run .cmb-tab-panel[hidden] { display: none; }
.cmbjupyter-run .cmb-outcome { margin: 4px 0; }
.cmbjupyter-run .cmb-outcome[hidden] { display: none; }
.cmbjupyter-run .cmb-outcome-label { font-weight: 600; }
.cmbjupyter-run .cmb-outcome-completed { color: var(--cmb-completed); }
.cmbjupyter-run .cmb-outcome-completed_with_errors, .cmbjupyter-run .cmb-outcome-budget_stopped,
.cmbjupyter-run .cmb-outcome-timed_out { color: var(--cmb-skipped); }
.cmbjupyter-run .cmb-outcome-failed, .cmbjupyter-run .cmb-outcome-error { color: var(--cmb-failed); }
.cmbjupyter-run .cmb-outcome-cancelled { color: var(--cmb-pending); }
.cmbjupyter-run .cmb-outcome-budget { color: var(--cmb-muted); }
.cmbjupyter-run .cmb-outcome-failing { color: var(--cmb-running); }
.cmbjupyter-run .cmb-outcome-answer summary { cursor: pointer; color: var(--cmb-muted); }
.cmbjupyter-run .cmb-outcome-answer-text { white-space: pre-wrap; padding: 4px 6px; background: var(--cmb-panel);
  border-radius: 4px; }
.cmbjupyter-run[data-outcome="completed_with_errors"] .cmb-header .cmb-status,
.cmbjupyter-run[data-outcome="budget_stopped"] .cmb-header .cmb-status,
.cmbjupyter-run[data-outcome="timed_out"] .cmb-header .cmb-status { background: var(--cmb-skipped); }
.cmbjupyter-run[data-outcome="cancelled"] .cmb-header .cmb-status { background: var(--cmb-pending); }
.cmbjupyter-run .cmb-tr-bar { display: flex; flex-wrap: wrap; gap: 4px; align-items: center; margin: 4px 0; }
.cmbjupyter-run .cmb-tr-bar select, .cmbjupyter-run .cmb-tr-bar input { font: inherit; font-size: 12px; }
.cmbjupyter-run .cmb-tr-search { flex: 1 1 120px; min-width: 80px; }
.cmbjupyter-run .cmb-tr-count { color: var(--cmb-muted); font-size: 11px; }
.cmbjupyter-run .cmb-tr-latest[hidden], .cmbjupyter-run .cmb-tr-empty[hidden] { display: none; }
.cmbjupyter-run .cmb-tr-empty { color: var(--cmb-muted); font-style: italic; padding: 4px; }
.cmbjupyter-run .cmb-tr-scroller { height: 320px; min-height: 80px; overflow: auto; resize: vertical; position: relative;
  background: var(--cmb-bg); border: 1px solid var(--cmb-border); border-radius: 4px; overflow-anchor: none; }
.cmbjupyter-run .cmb-tr-canvas { position: relative; }
.cmbjupyter-run .cmb-tr-rows { position: absolute; top: 0; left: 0; right: 0; will-change: transform; }
.cmbjupyter-run .cmb-tr-item { padding: 3px 6px 3px 8px; border-left: 3px solid var(--cmb-border);
  border-bottom: 1px solid var(--cmb-panel); overflow-wrap: anywhere; }
.cmbjupyter-run .cmb-tr-flash { background: #fff8c5; }
.cmbjupyter-run .cmb-tr-head { display: flex; gap: 6px; align-items: baseline; font-size: 11px; }
.cmbjupyter-run .cmb-tr-agent { font-weight: 600; }
.cmbjupyter-run .cmb-tr-what, .cmbjupyter-run .cmb-tr-step, .cmbjupyter-run .cmb-tr-duration,
.cmbjupyter-run .cmb-tr-preview, .cmbjupyter-run .cmb-tr-note, .cmbjupyter-run .cmb-tr-output-title
  { color: var(--cmb-muted); }
.cmbjupyter-run .cmb-tr-step { margin-left: auto; }
.cmbjupyter-run .cmb-tr-note { font-size: 11px; font-style: italic; }
.cmbjupyter-run .cmb-tr-body p { margin: 2px 0; }
.cmbjupyter-run .cmb-tr-body h1, .cmbjupyter-run .cmb-tr-body h2, .cmbjupyter-run .cmb-tr-body h3
  { font-size: 14px; margin: 4px 0 2px; }
.cmbjupyter-run .cmb-tr-text { white-space: pre-wrap; }
.cmbjupyter-run .cmb-tr-item pre { background: var(--cmb-panel); padding: 4px 6px; border-radius: 4px; margin: 2px 0;
  overflow-x: auto; font-family: var(--jp-code-font-family, monospace); font-size: 12px; }
.cmbjupyter-run .cmb-tr-output { white-space: pre-wrap; max-height: 300px; overflow: auto; }
.cmbjupyter-run .cmb-tr-code-tools { display: flex; gap: 4px; }
.cmbjupyter-run .cmb-tr-code-tools button { font-size: 11px; }
.cmbjupyter-run .cmb-tr-card > summary { cursor: pointer; display: flex; flex-wrap: wrap; gap: 4px; align-items: baseline;
  list-style: none; }
.cmbjupyter-run .cmb-tr-card > summary::before { content: "▸"; color: var(--cmb-muted); }
.cmbjupyter-run .cmb-tr-card[open] > summary::before { content: "▾"; }
.cmbjupyter-run .cmb-tr-card > summary .cmb-tr-head { display: inline-flex; }
.cmbjupyter-run .cmb-tr-preview { font-family: var(--jp-code-font-family, monospace); font-size: 11px; overflow: hidden;
  text-overflow: ellipsis; white-space: nowrap; max-width: 60%; }
.cmbjupyter-run .cmb-tr-badge { font-size: 10px; padding: 0 5px; border-radius: 8px; color: #fff; background: var(--cmb-pending); }
.cmbjupyter-run .cmb-tr-ok { background: var(--cmb-completed); }
.cmbjupyter-run .cmb-tr-bad { background: var(--cmb-failed); }
.cmbjupyter-run .cmb-tr-tool { background: #8250df; }
.cmbjupyter-run .cmb-details-transcript { margin-top: 4px; max-height: 320px; overflow: auto; }
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
.cmbjupyter-run .cmb-status.cmb-awaiting_approval, .cmbjupyter-sidebar .cmb-status.cmb-awaiting_approval
  { background: var(--cmb-skipped, #bf8700); }
.cmbjupyter-run .cmb-plan { border: 1px solid var(--cmb-border); border-radius: 6px; padding: 6px 8px; margin: 6px 0;
  background: var(--cmb-panel); }
.cmbjupyter-run .cmb-plan-title { font-weight: 600; margin-bottom: 4px; }
.cmbjupyter-run .cmb-plan-basis, .cmbjupyter-run .cmb-plan-estimate { font-weight: normal; color: var(--cmb-muted);
  font-size: 11px; }
.cmbjupyter-run .cmb-plan-steps { margin: 0; padding-left: 22px; }
.cmbjupyter-run .cmb-plan-step { display: flex; flex-wrap: wrap; gap: 3px 4px; align-items: flex-start;
  margin-bottom: 6px; }
.cmbjupyter-run .cmb-plan-text, .cmbjupyter-run .cmb-plan-bullets { font: inherit; min-height: 2.2em; resize: vertical;
  flex: 1 1 14em; }
.cmbjupyter-run .cmb-plan-bullets { font-size: 12px; flex-basis: 20em; }
.cmbjupyter-run .cmb-plan-agent { flex: 0 1 8em; min-width: 5em; }
.cmbjupyter-run .cmb-plan-budget { flex: 0 0 5em; width: 5em; }
.cmbjupyter-run .cmb-plan-tools { display: flex; gap: 2px; }
.cmbjupyter-run .cmb-plan-tools button { padding: 0 5px; }
.cmbjupyter-run .cmb-plan-estimate { align-self: center; }
.cmbjupyter-run .cmb-plan-controls { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
.cmbjupyter-run .cmb-plan-feedback-input { flex: 1; min-width: 10em; }
.cmbjupyter-run .cmb-plan-no-reject { flex: 1; min-width: 10em; opacity: 0.75; font-style: italic; }
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
.cmbjupyter-sidebar .cmb-sidebar-actions { display: flex; gap: 6px; margin: 6px 0; flex-wrap: wrap; }
.cmbjupyter-sidebar .cmb-sidebar-compare-open { margin-left: 4px; }
.cmbjupyter-compare.cmb-compare { margin: 6px 0; overflow-x: auto; }
.cmb-compare .cmb-compare-pick { display: flex; gap: 4px; align-items: center; flex-wrap: wrap; }
.cmb-compare .cmb-compare-search { margin: 4px 0; }
.cmb-compare .cmb-compare-search-input { width: 100%; box-sizing: border-box; }
.cmb-compare .cmb-compare-search-status { font-size: 10px; opacity: 0.8; }
.cmb-compare .cmb-compare-hits { max-height: 160px; overflow-y: auto; font-size: 11px; }
.cmb-compare .cmb-compare-hit { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.cmb-compare .cmb-compare-hit button { font-size: 10px; padding: 0 4px; margin-right: 2px; }
.cmb-compare .cmb-compare-title, .cmb-compare .cmb-compare-section { font-weight: 600; margin: 8px 0 4px; }
.cmb-compare table { border-collapse: collapse; font-size: 10px; width: 100%; table-layout: fixed; }
.cmb-compare td { overflow-wrap: anywhere; }
.cmb-compare .cmb-compare-steps th:first-child { width: 18%; }
.cmb-compare th, .cmb-compare td { border: 1px solid var(--cmb-border); padding: 1px 2px; text-align: right;
  white-space: pre-line; vertical-align: top; }
.cmb-compare td:first-child { text-align: left; }
.cmb-compare .cmb-compare-sides { display: flex; gap: 4px; }
.cmb-compare .cmb-compare-img { width: 50%; min-width: 0; border: 1px solid var(--cmb-border); }
.cmb-compare .cmb-diff { font-size: 11px; margin: 0; overflow-x: auto; background: var(--cmb-panel); }
.cmb-compare .cmb-diff-add { background: rgba(26, 127, 55, 0.18); }
.cmb-compare .cmb-diff-del { background: rgba(207, 34, 46, 0.18); }
.cmb-compare .cmb-diff-hunk, .cmb-compare .cmb-diff-file { color: var(--cmb-muted); }
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

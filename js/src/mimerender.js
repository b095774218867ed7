// The run's output (application/vnd.cmbagent.run+json) drawn by the labextension, ahead of the
// widget view (rank -20 < the widget manager's -10), so a notebook cell always shows its run:
//
// * the live RunWidget while its model lives in the notebook's kernel (the output refers to it and
//   the kernel connection holds its comm): drawn by the widget manager's own renderer;
// * else the run from the server's session (live over the WebSocket if a task still runs it):
//   after a kernel restart and on reopening (once the run ended its output no longer holds the
//   widget view, cmbjupyter/view.py, only the widget's id in its metadata for this renderer);
// * else, when the server does not know the session, the static copy saved in the output
//   (its text/html; DOMPurify-sanitized, as a second guard: it holds no script).
//
// `safe: false`, as the widget view: an untrusted notebook's output is drawn by JupyterLab's
// sanitizing HTML renderer from the static copy (cmbjupyter/static_html.py keeps it readable)
// and never makes this page call the server on the notebook's say-so.
// The node tells which drawing it holds: data-cmb-source = widget | live | session | static.

import DOMPurify from "dompurify";
import { IRenderMimeRegistry, MimeModel } from "@jupyterlab/rendermime";
import { Panel } from "@lumino/widgets";
import { CmbAgentApi } from "./api.js";
import { el } from "./format.js";
import { showSession } from "./sessionview.js";

export const RUN_MIMETYPE = "application/vnd.cmbagent.run+json";
const WIDGET_VIEW = "application/vnd.jupyter.widget-view+json";
const RANK = -20; // ahead of the widget manager's -10
const GONE = new Set(["restarting", "autorestarting", "dead"]); // kernel states that end its widgets

/** The notebook (or other document) panel of the main area whose DOM holds `node`, if any. */
function panelOf(app, node) {
  for (const widget of app.shell.widgets("main")) if (widget.node.contains(node)) return widget;
  return null;
}

class RunRenderer extends Panel {
  constructor(options, app, api) {
    super();
    this.app = app;
    this.api = api;
    this.mimeType = options.mimeType;
    this.addClass("cmbjupyter-run-output");
    this.model = null;
    this.generation = 0; // bumped by each model: a slower drawing of an older one is dropped
    this.drawn = null; // {source, key, close}
    this.session = null; // the panel's session context, watched for restarts
    this.onStatus = (_ctx, status) => {
      if (GONE.has(status) && this.drawn?.source === "widget") void this.draw(true);
    };
  }

  /** @param {any} model an IRenderMime.IMimeModel */
  async renderModel(model) {
    this.model = model;
    this.generation += 1;
    if (this.isAttached) await this.draw(false);
    else this.drawStored(); // drawn again once attached (the kernel is found through the page)
  }

  onAfterAttach(msg) {
    super.onAfterAttach(msg);
    const panel = panelOf(this.app, this.node);
    this.session = panel?.sessionContext ?? null;
    this.session?.statusChanged.connect(this.onStatus);
    if (this.model) void this.draw(false);
  }

  onBeforeDetach(msg) {
    this.session?.statusChanged.disconnect(this.onStatus);
    this.session = null;
    super.onBeforeDetach(msg);
  }

  dispose() {
    this.clear();
    super.dispose();
  }

  clear() {
    this.drawn?.close();
    this.drawn = null;
    for (const child of [...this.widgets]) child.dispose();
    this.node.replaceChildren();
  }

  /** The live widget's model id, when the notebook's kernel holds that widget's comm: from the
   * widget view while the run goes on, from the output's metadata once it ended (the saved record
   * has no widget view: cmbjupyter/view.py), so the view a reader scrolled and clicked stays. */
  liveWidget() {
    const id =
      this.model?.data?.[WIDGET_VIEW]?.model_id ?? this.model?.metadata?.[RUN_MIMETYPE]?.widget_model_id;
    const kernel = this.session?.session?.kernel;
    return id && kernel && !GONE.has(this.session.kernelDisplayStatus) && kernel.hasComm?.(id) ? id : null;
  }

  async draw(kernelGone) {
    const generation = this.generation;
    const summary = this.model?.data?.[RUN_MIMETYPE] ?? {};
    const widgetId = kernelGone ? null : this.liveWidget();
    if (widgetId) return this.drawWidget(widgetId);
    const sessionId = summary.session_id;
    const key = `session:${sessionId}`;
    if (this.drawn?.key === key && this.drawn.source === "live") return; // already streaming
    const host = el("div", "cmb-run-output-view");
    try {
      const shown = sessionId ? await showSession(host, this.api, String(sessionId), summary.status) : false;
      if (generation !== this.generation || this.isDisposed) return shown && shown.close(); // superseded
      if (shown) return this.show(shown.live ? "live" : "session", key, host, shown.close);
    } catch (err) {
      console.warn("cmbagent: the run's session could not be read; showing the saved copy", err);
    }
    this.drawStored();
  }

  /** The static copy saved in the output. */
  drawStored() {
    if (this.drawn?.source === "static" && this.drawn.model === this.model) return;
    const host = el("div", "cmb-run-output-static");
    host.innerHTML = DOMPurify.sanitize(String(this.model?.data?.["text/html"] ?? ""));
    this.show("static", "static", host, () => {});
  }

  drawWidget(modelId) {
    if (this.drawn?.source === "widget" && this.drawn.key === modelId) return;
    const rendermime = panelOf(this.app, this.node)?.content?.rendermime;
    if (!rendermime) return this.drawStored();
    this.clear();
    const renderer = rendermime.createRenderer(WIDGET_VIEW);
    this.addWidget(renderer);
    const data = this.model.data?.[WIDGET_VIEW] ? this.model.data : { [WIDGET_VIEW]: { model_id: modelId } };
    void renderer.renderModel(new MimeModel({ data, metadata: this.model.metadata }));
    this.drawn = { source: "widget", key: modelId, close: () => {}, model: this.model };
    this.node.dataset.cmbSource = "widget";
  }

  show(source, key, host, close) {
    this.clear();
    this.node.appendChild(host);
    this.drawn = { source, key, close, model: this.model };
    this.node.dataset.cmbSource = source;
  }
}

export default {
  id: "cmbjupyter:run-renderer",
  description: "Draws a cmbagent run's output: the live widget, else its session, else its saved copy.",
  autoStart: true,
  requires: [IRenderMimeRegistry],
  activate(app, rendermime) {
    const api = new CmbAgentApi(app.serviceManager.serverSettings);
    rendermime.addFactory(
      {
        safe: false,
        mimeTypes: [RUN_MIMETYPE],
        createRenderer: (options) => new RunRenderer(options, app, api),
      },
      RANK,
    );
  },
};

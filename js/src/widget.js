// The anywidget entry of cmbjupyter.widget.RunWidget: traits in, "cancel"/"input" messages out.

import { createRunView } from "./view.js";

const PARTS = ["run", "dag", "cost", "console"];

export default {
  render({ model, el }) {
    const view = createRunView(el, {
      onCancel: () => model.send({ type: "cancel" }),
      onInput: (text) => model.send({ type: "input", text }),
    });
    view.update(Object.fromEntries(PARTS.map((p) => [p, model.get(p)])));
    const handlers = PARTS.map((part) => {
      const handler = () => view.update({ [part]: model.get(part) });
      model.on(`change:${part}`, handler);
      return [part, handler];
    });
    return () => {
      for (const [part, handler] of handlers) model.off(`change:${part}`, handler);
      view.destroy();
    };
  },
};

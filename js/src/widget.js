// The anywidget entry of cmbjupyter.widget.RunWidget: traits in, "cancel"/"input" messages out.
// The open node (`selected`) lives in the model, not the view: the output is re-published on phase
// changes (so saved notebooks hold the latest state), which renders a new view that restores it.

import { createRunView } from "./view.js";

const PARTS = ["run", "dag", "cost", "console"];

export default {
  render({ model, el }) {
    const view = createRunView(el, {
      onCancel: () => model.send({ type: "cancel" }),
      onInput: (text) => model.send({ type: "input", text }),
      onSelect: (id) => {
        if ((model.get("selected") || null) === (id || null)) return;
        model.set("selected", id || "");
        model.save_changes();
      },
    });
    view.update(Object.fromEntries(PARTS.map((p) => [p, model.get(p)])));
    view.select(model.get("selected"));
    const restore = () => view.select(model.get("selected"));
    model.on("change:selected", restore);
    const handlers = PARTS.map((part) => {
      const handler = () => view.update({ [part]: model.get(part) });
      model.on(`change:${part}`, handler);
      return [part, handler];
    });
    return () => {
      for (const [part, handler] of handlers) model.off(`change:${part}`, handler);
      model.off("change:selected", restore);
      view.destroy();
    };
  },
};

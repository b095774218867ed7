// One transcript item as DOM: a message as sanitized markdown (markdown-it + DOMPurify, code blocks
// highlighted by highlight.js as `<pre><code class="hljs language-…">`), a tool call, its result and
// a code execution as collapsible cards (exit-code badge, output, duration), a speaker selection and
// a termination as one muted line. Agents get a stable colour. Used by the virtualized transcript
// and by a DAG node's details.

import DOMPurify from "dompurify";
import hljs from "highlight.js/lib/core";
import bash from "highlight.js/lib/languages/bash";
import json from "highlight.js/lib/languages/json";
import python from "highlight.js/lib/languages/python";
import MarkdownIt from "markdown-it";
import { copyText, el } from "./format.js";

hljs.registerLanguage("python", python);
hljs.registerLanguage("bash", bash);
hljs.registerLanguage("json", json);

/** Agent colours (readable on light and dark backgrounds), picked by a hash of the name. */
const PALETTE = ["#0969da", "#8250df", "#1a7f37", "#bf3989", "#9a6700", "#0a7ea4", "#cf222e", "#6e7781"];

/** Highlighted HTML of `code` in `language` (escaped text when highlight.js does not know it). */
export function highlighted(code, language) {
  const lang = String(language ?? "").toLowerCase();
  if (lang && hljs.getLanguage(lang))
    return hljs.highlight(code, { language: lang, ignoreIllegals: true }).value;
  return MD.utils.escapeHtml(code);
}

const MD = new MarkdownIt({
  html: false,
  linkify: true,
  highlight: (code, lang) => {
    const known = lang && hljs.getLanguage(lang) ? ` language-${lang}` : "";
    return `<pre><code class="hljs${known}">${highlighted(code, lang)}</code></pre>`;
  },
});

export function agentColour(agent) {
  let h = 0;
  for (const c of String(agent ?? "")) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length];
}

/** Sanitized HTML of markdown `text`. */
export function markdownHtml(text) {
  return DOMPurify.sanitize(MD.render(String(text ?? "")));
}

function seconds(s) {
  return typeof s === "number" && Number.isFinite(s) ? `${s < 10 ? s.toFixed(2) : s.toFixed(1)} s` : "";
}

function button(label, cls, run) {
  const b = el("button", cls, label);
  b.type = "button";
  b.addEventListener("click", (ev) => {
    ev.stopPropagation();
    run(b);
  });
  return b;
}

/** The code tools of a block: Copy, and "Insert as cell" where the host can (JupyterLab). */
function codeTools(code, language, actions) {
  const bar = el("div", "cmb-tr-code-tools");
  bar.appendChild(button("Copy", "cmb-tr-copy", (b) => copyText(b, code)));
  if (actions.insertCell && (!language || /^(python|py|ipython)$/i.test(language)))
    bar.appendChild(button("Insert as cell", "cmb-tr-insert", () => actions.insertCell(code)));
  return bar;
}

function codeBlock(code, language) {
  const pre = el("pre", "cmb-tr-code");
  const inner = el("code", `hljs${language && hljs.getLanguage(language) ? ` language-${language}` : ""}`);
  inner.innerHTML = highlighted(code, language);
  pre.appendChild(inner);
  return pre;
}

function head(item, what) {
  const line = el("div", "cmb-tr-head");
  if (item.agent) {
    const who = el("span", "cmb-tr-agent", item.agent);
    who.style.color = agentColour(item.agent);
    line.appendChild(who);
  }
  if (what) line.appendChild(el("span", "cmb-tr-what", what));
  if (item.step != null) line.appendChild(el("span", "cmb-tr-step", `step ${item.step}`));
  return line;
}

function message(item, actions) {
  const box = el("div", "cmb-tr-body");
  const recipient = item.recipient
    ? `→ ${item.recipient}`
    : item.role && item.role !== "assistant"
      ? item.role
      : "";
  if (item.content_type === "text") {
    box.appendChild(el("div", "cmb-tr-text", item.content ?? ""));
  } else {
    box.classList.add("cmb-tr-markdown");
    box.innerHTML = markdownHtml(item.content);
    for (const pre of box.querySelectorAll("pre")) {
      const code = pre.textContent ?? "";
      const lang = /language-(\S+)/.exec(pre.querySelector("code")?.className ?? "")?.[1];
      pre.after(codeTools(code, lang, actions));
    }
  }
  return [head(item, recipient), box];
}

function card(item, summaryParts, bodyParts, open = false) {
  const details = el("details", "cmb-tr-card");
  details.open = open;
  const summary = el("summary", "cmb-tr-summary");
  summary.append(...summaryParts);
  details.append(summary, ...bodyParts);
  return details;
}

function badge(text, cls) {
  return el("span", `cmb-tr-badge ${cls}`, text);
}

function argumentsText(args) {
  if (typeof args === "string") return args;
  try {
    return JSON.stringify(args, null, 2);
  } catch {
    return String(args);
  }
}

function toolCall(item) {
  const args = argumentsText(item.arguments);
  const preview = args.replace(/\s+/g, " ").slice(0, 80);
  return [
    card(
      item,
      [
        head(item, ""),
        badge("tool", "cmb-tr-tool"),
        el("span", "cmb-tr-name", ` ${item.name ?? "?"}`),
        el("span", "cmb-tr-preview", ` ${preview}`),
      ],
      [codeBlock(args, typeof item.arguments === "string" ? "" : "json")],
    ),
  ];
}

function toolResult(item, actions) {
  const name = actions.callName?.(item.call_id);
  const content = typeof item.content === "string" ? item.content : argumentsText(item.content);
  return [
    card(
      item,
      [
        head(item, ""),
        item.is_error ? badge("error", "cmb-tr-bad") : badge("result", "cmb-tr-ok"),
        el("span", "cmb-tr-name", ` ${name ?? item.call_id ?? ""}`),
        el("span", "cmb-tr-preview", ` ${content.replace(/\s+/g, " ").slice(0, 80)}`),
      ],
      [el("pre", "cmb-tr-output", content)],
      Boolean(item.is_error),
    ),
  ];
}

function codeExecution(item, actions) {
  const failed = item.exit_code !== 0 && item.exit_code != null;
  const code = String(item.code ?? "");
  const first = code.split("\n").find((l) => l.trim()) ?? "";
  const body = [codeBlock(code, item.language), codeTools(code, item.language, actions)];
  body.push(el("div", "cmb-tr-output-title", item.output ? "Output" : "No output"));
  if (item.output) body.push(el("pre", "cmb-tr-output", item.output));
  return [
    card(
      item,
      [
        head(item, ""),
        badge(`exit ${item.exit_code ?? "?"}`, failed ? "cmb-tr-bad" : "cmb-tr-ok"),
        el("span", "cmb-tr-name", ` ${item.language ?? "code"}`),
        el("span", "cmb-tr-duration", seconds(item.duration_s) && ` · ${seconds(item.duration_s)}`),
        el("span", "cmb-tr-preview", ` ${first.slice(0, 80)}`),
      ],
      body,
      failed,
    ),
  ];
}

/**
 * The element of one item.
 * @param {any} item
 * @param {{insertCell?: (code: string) => void, callName?: (callId: any) => string | undefined}} actions
 */
export function renderItem(item, actions = {}) {
  const row = el("div", `cmb-tr-item cmb-tr-${item.kind ?? "other"}`);
  row.dataset.id = String(item.id);
  if (item.agent) row.style.borderLeftColor = agentColour(item.agent);
  let parts;
  if (item.kind === "message") parts = message(item, actions);
  else if (item.kind === "tool_call") parts = toolCall(item);
  else if (item.kind === "tool_result") parts = toolResult(item, actions);
  else if (item.kind === "code_execution") parts = codeExecution(item, actions);
  else if (item.kind === "speaker") parts = [el("div", "cmb-tr-note", `next speaker: ${item.agent ?? "?"}`)];
  else if (item.kind === "termination")
    parts = [el("div", "cmb-tr-note", `terminated: ${item.reason ?? ""}`)];
  else parts = [el("div", "cmb-tr-note", `${item.kind}: ${JSON.stringify(item).slice(0, 200)}`)];
  row.append(...parts);
  return row;
}

const NODE_CODE = 20; // a node's last code executions shown in its details
const NODE_SAID = 30; // ... and its last other items

/**
 * A DAG node's transcript, for its details: the code it ran (with what that printed), then the last
 * of what was said; `onAll` shows all of it in the Transcript (filtered to the node's step).
 */
export function nodeTranscript(items, actions, onAll) {
  const box = el("div", "cmb-details-transcript");
  const code = items.filter((i) => i.kind === "code_execution");
  const said = items.filter((i) => i.kind !== "code_execution");
  const part = (title, list, most) => {
    if (!list.length) return;
    box.appendChild(el("div", "cmb-details-files-title", `${title} (${list.length})`));
    box.append(...list.slice(-most).map((item) => renderItem(item, actions)));
  };
  part("Code run", code, NODE_CODE);
  part("Transcript", said, NODE_SAID);
  if (code.length > NODE_CODE || said.length > NODE_SAID) {
    const all = button(`All ${items.length} in the Transcript`, "cmb-details-more", onAll);
    box.appendChild(all);
  }
  return box;
}

/** A rough height (px) of an item before it is drawn, for the scrollbar. */
export function estimateHeight(item) {
  if (item.kind === "message") {
    const text = String(item.content ?? "");
    let lines = 1;
    for (let i = text.indexOf("\n"); i !== -1 && lines < 60; i = text.indexOf("\n", i + 1)) lines += 1;
    lines += Math.floor(Math.min(text.length, 6000) / 110);
    return 24 + Math.min(lines, 60) * 18;
  }
  if ((item.kind === "code_execution" && item.exit_code) || (item.kind === "tool_result" && item.is_error))
    return 200;
  return 30;
}

// Transcript items in the exact shape of the contract (snapshot["transcript"]["items"]), for the
// node tests and the browser benchmark's page alike.

const AGENTS = ["planner", "engineer", "executor", "control"];

/** Item `id` of a plausible run: messages, tool calls and results, code executions. */
export function item(id, overrides = {}) {
  const agent = AGENTS[id % AGENTS.length];
  const step = 1 + Math.floor(id / 50);
  const base = { id, seq: id * 3, ts: 1764511200 + id, agent, step, node_id: `step_${step}` };
  switch (id % 5) {
    case 0:
      return {
        ...base,
        kind: "message",
        role: "assistant",
        content_type: "markdown",
        content: `## Step ${step}\nFitting **model ${id}**:\n\n\`\`\`python\nimport numpy as np\nx = np.arange(${id})\n\`\`\``,
        ...overrides,
      };
    case 1:
      return {
        ...base,
        kind: "tool_call",
        call_id: `c${id}`,
        name: "record_status",
        arguments: { step },
        ...overrides,
      };
    case 2:
      return {
        ...base,
        kind: "tool_result",
        call_id: `c${id - 1}`,
        content: "ok",
        is_error: false,
        ...overrides,
      };
    case 3:
      return {
        ...base,
        kind: "code_execution",
        language: "python",
        code: `print(${id})`,
        exit_code: 0,
        output: `${id}\n`,
        duration_s: 0.12,
        ...overrides,
      };
    default:
      return {
        ...base,
        kind: "message",
        role: "user",
        content_type: "text",
        content: `plain text ${id}`,
        ...overrides,
      };
  }
}

/** Items `from`..`to` (inclusive). */
export function items(from, to) {
  const out = [];
  for (let id = from; id <= to; id++) out.push(item(id));
  return out;
}

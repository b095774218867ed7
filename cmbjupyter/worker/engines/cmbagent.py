"""The ``cmbagent`` engine: cmbagent's own entry point for each mode, run in the worker.

Only the worker imports cmbagent (the kernel never does). cmbagent releases that import on Python
3.11 stop at ``cmbagent==0.0.1.post30`` (``make cmbagent`` installs it into ``.venv-cmbagent``;
point ``config["python"]`` or ``$CMBJUPYTER_PYTHON`` at that interpreter). Newer ones
(``cmbagent-update``) need Python 3.12+ and add the ocr, arxiv and enhance-input entry points.

cmbagent clears its work_dir, so runs never get the user's folder: each run works in
``<work_dir>/cmbagent_output/<session or task id>``, which it names with ``emit.work_dir`` (every file
there is reported as an artifact; the images cmbagent displays with ``displayed: true``).
"""

from __future__ import annotations

import inspect
import os
import sys
from pathlib import Path
from typing import Any

from ...errors import EngineError
from ...events import json_safe

__all__ = ["ENTRY_POINTS", "run"]

#: mode -> cmbagent function
ENTRY_POINTS = {
    "one-shot": "one_shot",
    "planning-control": "planning_and_control_context_carryover",
    "idea-generation": "planning_and_control_context_carryover",
    "control": "control",
    "hitl": "human_in_the_loop",
    "ocr": "process_single_pdf",
    "arxiv": "arxiv_filter",
    "enhance-input": "preprocess_task",
}
NEWER = "cmbagent-update>=0.0.1.post68 (Python >= 3.12: point config['python'] at such an environment)"
#: Which API key each model family needs.
KEYS = (("claude", "ANTHROPIC_API_KEY"), ("gemini", "GEMINI_API_KEY"), ("", "OPENAI_API_KEY"))
DEFAULT_MODEL = "gpt-4o-mini"
#: idea-generation is cmbagent's planning-control with its idea makers, as cmbagent's own idea
#: workflows set it up (planner instructions naming the agents), unless config["plan_instructions"].
IDEA_INSTRUCTIONS = (
    "Plan an idea-generation project with only the idea_maker and idea_hater agents: idea_maker "
    "proposes research ideas, idea_hater critiques them, and idea_maker revises them and selects the "
    "best one in the last step."
)


def _key_for(model: str) -> str:
    return next(key for prefix, key in KEYS if prefix in model)


def _import_cmbagent() -> Any:
    try:
        import cmbagent
    except ImportError as exc:
        raise EngineError(
            f"cmbagent is not installed for the worker's Python ({sys.executable}): {exc}. "
            "Run `make cmbagent` and set config['python'] (or $CMBJUPYTER_PYTHON) to "
            ".venv-cmbagent/bin/python"
        ) from None
    return cmbagent


def _models(config: dict[str, Any]) -> dict[str, str]:
    """``<agent>_model`` keyword arguments: config["model"] for every agent, unless set one by one."""
    model = config.get("model")
    agents = ("engineer", "researcher", "planner", "plan_reviewer", "idea_maker", "idea_hater")
    chosen = {f"{a}_model": str(config.get(f"{a}_model") or model or "") for a in agents}
    return {k: v for k, v in chosen.items() if v}


def _falls_back(name: str, model: str, fallback: str, emit: Any) -> bool:
    """True (with a note in the console) when ``model`` needs a key other than OpenAI's that is not
    set, so ``name`` (an agent or a model argument) uses ``fallback`` instead."""
    key = _key_for(model)
    if key == "OPENAI_API_KEY" or os.environ.get(key):
        return False
    emit.output(f"{name}: no {key}, using {fallback} instead of {model}", agent="cmbjupyter")
    return True


def _fallback_models(cmbagent: Any, emit: Any, fallback: str) -> None:
    """Agents whose default model needs a key that is not set use ``fallback`` instead (with a note)."""
    from cmbagent import utils

    for agent, model in list(utils.default_agents_llm_model.items()):
        if _falls_back(agent, str(model), fallback, emit):
            utils.default_agents_llm_model[agent] = fallback
            utils.default_agent_llm_configs[agent] = utils.get_model_config(fallback)  # built at import


def _arguments(
    function: Any, config: dict[str, Any], work_dir: Path, fallback: str, emit: Any
) -> dict[str, Any]:
    """The function's keyword arguments from the config: what it accepts, nothing else. A model
    argument left at a default that needs a key which is not set gets ``fallback`` (with a note):
    cmbagent binds its default models when it is imported, so patching its tables is not enough."""
    accepted = inspect.signature(function).parameters
    wanted = {**config, **_models(config), "work_dir": str(work_dir)}
    if config.get("mode") == "idea-generation":
        wanted.setdefault("plan_instructions", IDEA_INSTRUCTIONS)
    for name, parameter in accepted.items():
        default = parameter.default
        unset = name.endswith("_model") and name not in wanted and isinstance(default, str)
        if unset and _falls_back(name, default, fallback, emit):
            wanted[name] = fallback
    if "max_rounds" in config and "max_rounds_control" in accepted:
        wanted.setdefault("max_rounds_control", config["max_rounds"])
    return {k: v for k, v in wanted.items() if k in accepted and k != "task"}


def run(task: str, config: dict[str, Any], emit: Any) -> dict[str, Any]:
    mode = str(config.get("mode") or "one-shot")
    name = ENTRY_POINTS.get(mode)
    if name is None:
        raise EngineError(f"the cmbagent engine has no entry point for mode {mode!r}")
    model = str(config.get("model") or DEFAULT_MODEL)
    key = _key_for(model)
    if not os.environ.get(key):
        raise EngineError(
            f"no {key} in the worker's environment (needed for model {model!r}): set it where the "
            "kernel or server runs, or pass it in config['env']; offline, point OPENAI_BASE_URL at "
            "cmbjupyter.testing.llm_server"
        )
    emit.output("loading cmbagent…", agent="cmbjupyter")
    cmbagent = _import_cmbagent()
    function = getattr(cmbagent, name, None)
    if function is None:
        version = getattr(cmbagent, "__version__", None) or _distribution_version()
        raise EngineError(
            f"mode {mode!r} needs cmbagent.{name}, which cmbagent {version} lacks; it is in {NEWER}"
        )
    _fallback_models(cmbagent, emit, model)
    context: dict[str, Any] = dict(config.get("context") or {})
    from .cmbagent_hooks import install, llm_errors

    install(emit, context)
    from .._speedups import speed_up_cmbagent

    speed_up_cmbagent()  # work repeated per agent, done once (see _speedups.py)
    base = Path(config.get("work_dir") or os.getcwd())
    work_dir = base / "cmbagent_output" / str(config.get("session_id") or config.get("task_id") or "run")
    work_dir.mkdir(parents=True, exist_ok=True)
    emit.work_dir(work_dir)  # its files are the run's (a resumed session's earlier ones too)
    arguments = _arguments(function, config, work_dir, model, emit)
    restart = int(config.get("restart_at_step") or 0)
    try:
        if restart and name == ENTRY_POINTS["planning-control"] and "restart_at_step" not in arguments:
            from .cmbagent_resume import restart_carryover  # this cmbagent cannot restart by itself

            emit.output(f"resuming at step {restart} in {work_dir}", agent="cmbjupyter")
            outcome = restart_carryover(task, restart, context, work_dir, arguments, emit)
        else:
            outcome = function(task, **arguments)
    except Exception as exc:
        if not llm_errors or isinstance(exc, EngineError):
            raise
        error = llm_errors[-1]
        endpoint = os.environ.get("OPENAI_BASE_URL") or "the provider's default endpoint"
        raise EngineError(
            f"an LLM call failed ({type(error).__name__} from {endpoint}): {error}; cmbagent then "
            f"stopped with {type(exc).__name__}: {exc}"
        ) from exc
    final = outcome.get("final_context") if isinstance(outcome, dict) else None
    if final is not None:
        context.update(dict(final))
    emit.displayed(context.get("displayed_images"))
    history = outcome.get("chat_history", []) if isinstance(outcome, dict) else []
    return {
        "context": json_safe(context),
        "chat_history": json_safe(history[-20:]),
        "work_dir": str(work_dir),
        "cmbagent_version": _distribution_version(),
        "cmbagent_cost_report": _cost_report(work_dir),
    }


run.reports_work_dir = True  # type: ignore[attr-defined]  # the worker watches the folder it names


def _cost_report(work_dir: Path) -> dict[str, Any] | None:
    """cmbagent's own cost total (AG2's price tables, no cache discount), kept beside ours to compare."""
    import json

    reports = sorted(work_dir.rglob("cost_report_*.json"))
    total: dict[str, Any] = {"usd": 0.0, "prompt_tokens": 0, "completion_tokens": 0, "files": len(reports)}
    for report in reports:
        try:
            rows = json.loads(report.read_text())
        except (OSError, ValueError):
            continue
        for row in rows if isinstance(rows, list) else []:
            if isinstance(row, dict) and row.get("Agent") == "Total":
                total["usd"] += float(row.get("Cost ($)") or 0)
                total["prompt_tokens"] += int(row.get("Prompt Tokens") or 0)
                total["completion_tokens"] += int(row.get("Completion Tokens") or 0)
    return total if reports else None


def _distribution_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    for dist in ("cmbagent", "cmbagent-update"):
        try:
            return version(dist)
        except PackageNotFoundError:
            continue
    return "unknown"

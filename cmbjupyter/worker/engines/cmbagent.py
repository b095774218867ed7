"""The ``cmbagent`` engine: cmbagent's own entry point for each mode, run in the worker.

Only the worker imports cmbagent (the kernel never does), in its own environment: point
``config["python"]`` or ``$CMBJUPYTER_PYTHON`` at it. ``make cmbagent`` makes the newest cmbagent's
on a Python 3.13 (``.venv-cmbagent-313``) and post30's on the kernel's 3.11 (``.venv-cmbagent``);
what differs between releases is in ``cmbagent_api`` (chosen by the installed version).

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
from .cmbagent_api import DOCUMENT_MODES, ENTRY_POINTS_NEWEST, ag2_version, api_for, distribution

__all__ = ["ENTRY_POINTS", "run"]

#: mode -> cmbagent function (the newest release's; ``cmbagent_api`` has each release's)
ENTRY_POINTS = ENTRY_POINTS_NEWEST
#: Which API key each model family needs.
KEYS = (("claude", "ANTHROPIC_API_KEY"), ("gemini", "GEMINI_API_KEY"), ("", "OPENAI_API_KEY"))
#: Mistral's, for the OCR of the ocr and enhance-input modes.
MISTRAL_KEY = "MISTRAL_API_KEY"
#: What the arxiv and enhance-input modes' results list of the files cmbagent wrote.
ARTIFACT_SUFFIXES = (".md", ".json", ".pdf", ".txt")
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
            ".venv-cmbagent-313/bin/python (or .venv-cmbagent/bin/python on Python 3.11)"
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
    # as the function's default has it: post63's human_in_the_loop hands it to CMBAgent, which needs a Path
    default_dir = accepted["work_dir"].default if "work_dir" in accepted else None
    wanted = {
        **config,
        **_models(config),
        "work_dir": work_dir if isinstance(default_dir, Path) else str(work_dir),
    }
    if config.get("mode") == "idea-generation":
        wanted.setdefault("plan_instructions", IDEA_INSTRUCTIONS)
    for name, parameter in accepted.items():
        default = parameter.default
        unset = name.endswith("_model") and name not in wanted and isinstance(default, str)
        if unset and _falls_back(name, default, fallback, emit):
            wanted[name] = fallback
    if "max_rounds" in config and "max_rounds_control" in accepted:
        wanted.setdefault("max_rounds_control", config["max_rounds"])
    if config.get("mode") in DOCUMENT_MODES:  # the run's own folder: keep the papers already there
        wanted.setdefault("clear_work_dir", False)
    return {k: v for k, v in wanted.items() if k in accepted and k != "task"}


def _keys_needed(mode: str, model: str) -> list[str]:
    """The API keys a mode calls providers with: the model's, and Mistral's for the OCR."""
    keys = [] if mode in ("ocr", "arxiv") else [_key_for(model)]
    return keys + ([MISTRAL_KEY] if mode in ("ocr", "enhance-input") else [])


def run(task: str, config: dict[str, Any], emit: Any) -> dict[str, Any]:
    mode = str(config.get("mode") or "one-shot")
    if mode not in ENTRY_POINTS:
        raise EngineError(f"the cmbagent engine has no entry point for mode {mode!r}")
    model = str(config.get("model") or DEFAULT_MODEL)
    for key in _keys_needed(mode, model):
        if not os.environ.get(key):
            raise EngineError(
                f"no {key} in the worker's environment (needed for mode {mode!r}, model {model!r}): set it "
                "where the kernel or server runs, or pass it in config['env']; offline, point "
                "OPENAI_BASE_URL (and MISTRAL_SERVER_URL) at cmbjupyter.testing.llm_server"
            )
    emit.output("loading cmbagent…", agent="cmbjupyter")
    cmbagent = _import_cmbagent()
    api = api_for(*distribution())
    function = api.function(cmbagent, mode, task)
    _fallback_models(cmbagent, emit, model)
    context: dict[str, Any] = dict(config.get("context") or {})
    from .cmbagent_hooks import install, llm_errors

    install(emit, context, chats=mode not in DOCUMENT_MODES)
    from .._speedups import speed_up_cmbagent

    speed_up_cmbagent()  # work repeated per agent, done once (see _speedups.py)
    failures: list[str] = []
    if mode in DOCUMENT_MODES:
        from . import cmbagent_documents

        cmbagent_documents.install(emit, mode)
        failures = cmbagent_documents.failures
        task = _document_task(mode, task, config)
    base = Path(config.get("work_dir") or os.getcwd())
    work_dir = base / "cmbagent_output" / str(config.get("session_id") or config.get("task_id") or "run")
    work_dir.mkdir(parents=True, exist_ok=True)
    emit.work_dir(work_dir)  # its files are the run's (a resumed session's earlier ones too)
    arguments = _arguments(function, config, work_dir, model, emit)
    if mode == "control" and emit.approve_plan:  # the pause before its chat runs the given plan
        from .cmbagent_plan import approve_given_plan

        arguments["plan"] = approve_given_plan(emit, function, arguments, work_dir)
    restart = int(config.get("restart_at_step") or 0)
    try:
        if restart and mode in ("planning-control", "idea-generation"):
            from .cmbagent_resume import add_instructions, restart_carryover, saved_plan

            emit.output(f"resuming at step {restart} in {work_dir}", agent="cmbjupyter")
            plan = saved_plan(work_dir, restart, context, emit, native=api.restarts)
            if isinstance(config.get("instructions"), str):  # a fork's change to this step
                add_instructions(work_dir, restart, config["instructions"], context, native=api.restarts)
            if api.restarts:
                outcome = function(task, **{**arguments, "restart_at_step": restart})
            else:  # this cmbagent cannot restart by itself
                outcome = restart_carryover(task, restart, context, work_dir, arguments, plan)
        else:
            outcome = function(task, **arguments)
    except Exception as exc:
        if not (llm_errors or failures) or isinstance(exc, EngineError):
            raise
        raise EngineError(_failure(llm_errors, failures, exc)) from exc
    if failures:
        raise EngineError("; ".join(failures))
    final = outcome.get("final_context") if isinstance(outcome, dict) else None
    if final is not None:
        context.update(dict(final))
    emit.displayed(context.get("displayed_images"))
    history = outcome.get("chat_history", []) if isinstance(outcome, dict) else []
    result = {
        "context": json_safe(context),
        "chat_history": json_safe(history[-20:]),
        "work_dir": str(work_dir),
        "cmbagent_version": " ".join(distribution()),
        "ag2_version": ag2_version(),
        "cmbagent_cost_report": _cost_report(work_dir),
    }
    if mode in DOCUMENT_MODES:
        result["outcome"] = _trimmed(outcome)
        result["artifacts"] = sorted(
            str(p.relative_to(work_dir)) for p in work_dir.rglob("*") if p.suffix in ARTIFACT_SUFFIXES
        )
    return result


def _failure(llm_errors: list[BaseException], failures: list[str], exc: Exception) -> str:
    """The error to report when cmbagent stopped after a failure it met on the way."""
    if failures:
        return f"{'; '.join(failures)} (cmbagent then stopped with {type(exc).__name__}: {exc})"
    error = llm_errors[-1]
    endpoint = os.environ.get("OPENAI_BASE_URL") or "the provider's default endpoint"
    return (
        f"an LLM call failed ({type(error).__name__} from {endpoint}): {error}; cmbagent then "
        f"stopped with {type(exc).__name__}: {exc}"
    )


def _document_task(mode: str, task: str, config: dict[str, Any]) -> str:
    """For ocr the task is a PDF or a folder of PDFs (relative to the work dir): it must exist."""
    if mode != "ocr":
        return task
    path = Path(task.strip()).expanduser()
    if not path.is_absolute():
        path = Path(config.get("work_dir") or os.getcwd()) / path
    if not path.exists():
        raise EngineError(f"mode 'ocr' needs a PDF or a folder of PDFs as its task: {path} does not exist")
    return str(path)


def _trimmed(value: Any, limit: int = 4000) -> Any:
    """A document mode's return value for the result: long texts cut, page images dropped."""
    if isinstance(value, dict):
        return {k: _trimmed(v, limit) for k, v in value.items() if "image" not in str(k)}
    if isinstance(value, list):
        return [_trimmed(v, limit) for v in value[:200]]
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + f"… ({len(value)} characters)"
    return json_safe(value)


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

"""The ``cmbjupyter`` command: run, list, show, replay, resume and fork sessions from a terminal.

::

    cmbjupyter run "Plot the CMB power spectrum" --mode one-shot --session s1 --budget 0.50
    cmbjupyter run analysis.py --engine python --mode planning-control
    cmbjupyter run "Fit H0" --mode planning-control --approve-plan --step-budget 0.20
    cmbjupyter sessions list | cmbjupyter sessions show s1
    cmbjupyter replay .cmbagent/sessions/s1.events.jsonl --speed 10
    cmbjupyter resume s1
    cmbjupyter compare s1 s2 [--json] | cmbjupyter export s1 --to s1.ipynb
    cmbjupyter sessions cost s1 --csv
    cmbjupyter fork s1 --at-step 2 --model gpt-4.1 --session s1-gpt41

On a terminal the run is drawn live (DAG, phase, cost, last lines); otherwise one plain line per
event. Ctrl-C cancels the task cleanly (exit code 130); a failed task exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import uuid
from pathlib import Path
from typing import Any, TextIO

from ._verdict import format_usd
from .config import DEFAULT_SESSIONS_DIR, SESSIONS_DIR_ENV, sessions_dir
from .dag import MODES
from .errors import CmbJupyterError, TaskCancelled, TaskFailed
from .eventlog import EventLog
from .events import Event
from .session import SessionManager
from .state import RunState

__all__ = ["main"]

EXIT_FAILED, EXIT_USAGE, EXIT_CANCELLED = 1, 2, 130
_MARKS = {"pending": "·", "running": "▶", "completed": "✓", "failed": "✗", "skipped": "–", "cancelled": "⊘"}
_COLORS = {
    "pending": "dim",
    "running": "bold yellow",
    "completed": "green",
    "failed": "bold red",
    "skipped": "dim",
    "cancelled": "yellow",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cmbjupyter", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sessions-dir",
        default=sessions_dir(),
        help=f"where session files live (default: ${SESSIONS_DIR_ENV}, else {DEFAULT_SESSIONS_DIR})",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run a task and watch it")
    run.add_argument("task", help="the task text, a file holding it, or - for standard input")
    run.add_argument("--mode", default="one-shot", help=f"one of {', '.join(MODES)}")
    run.add_argument("--engine", help="cmbagent (default), python, replay or package.module:callable")
    run.add_argument("--session", help="session id (saved on every phase change)")
    run.add_argument("--budget", type=float, help="stop when the run has cost this many dollars")
    run.add_argument("--timeout", type=float, help="stop after this many seconds")
    run.add_argument(
        "--approve-plan",
        action="store_const",
        const=True,
        help="pause after planning: show the plan and ask on standard input (Enter approves, @FILE "
        "approves the edited plan in a JSON file, other text rejects it with that feedback)",
    )
    run.add_argument("--step-budget", type=float, help="stop when one plan step has cost this many dollars")
    run.add_argument("--model", help="the LLM model the engine should use")
    run.add_argument("--work-dir", help="the worker's working directory")
    run.add_argument("--log", help="also write every event to this JSONL file (replayable)")
    run.add_argument("--config", help="extra config as a JSON object")
    run.add_argument("--plain", action="store_true", help="plain lines even on a terminal")

    sessions = commands.add_parser("sessions", help="list sessions, show one, or its cost ledger")
    sessions.add_argument("action", nargs="?", choices=("list", "show", "cost"), default="list")
    sessions.add_argument("session_id", nargs="?")
    ledger_format = sessions.add_mutually_exclusive_group()
    ledger_format.add_argument("--csv", dest="format", action="store_const", const="csv", help="cost: CSV")
    ledger_format.add_argument("--json", dest="format", action="store_const", const="json", help="cost: JSON")

    compare = commands.add_parser("compare", help="compare two sessions (steps, plots, files, results)")
    compare.add_argument("a", help="session A")
    compare.add_argument("b", help="session B")
    compare.add_argument("--json", action="store_true", help="the JSON document (docs/reports.md)")

    export = commands.add_parser("export", help="export a session as a runnable notebook")
    export.add_argument("session_id")
    export.add_argument("--to", help="the notebook file to write (default: SESSION.ipynb)")

    replay = commands.add_parser("replay", help="replay a JSONL event log as a new run")
    replay.add_argument("log")
    replay.add_argument("--speed", type=float, default=0.0, help="0: as fast as possible, 1: original timing")
    replay.add_argument("--plain", action="store_true")

    resume = commands.add_parser("resume", help="resume a suspended session")
    resume.add_argument("session_id")
    resume.add_argument("--plain", action="store_true")

    fork = commands.add_parser("fork", help="a new session from a saved one's state before step N")
    fork.add_argument("session_id")
    fork.add_argument("--at-step", dest="at_step", type=int, required=True, help="the step to restart at")
    fork.add_argument("--instructions", help="added to that step's instructions")
    fork.add_argument("--model", help="the LLM model of the fork")
    fork.add_argument("--budget", dest="budget_usd", type=float, help="the fork's budget in dollars")
    fork.add_argument("--session", help="the new session's id (default: <id>-fork<N>)")
    fork.add_argument("--plain", action="store_true")

    from .demo import add_arguments

    add_arguments(commands.add_parser("demo", help="run the quickstart task, then the example notebooks"))
    return parser


class PlainView:
    """One line per meaningful event, for logs and pipes."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def __call__(self, event: Event) -> None:
        kind, data = event["type"], event["data"]
        line = None
        if kind == "output":
            who = data.get("agent") or data.get("stream")
            line = f"[{who}] {data.get('message')}"
        elif kind == "message":
            line = f"[{data.get('agent') or data.get('role')}] {data.get('content')}"
        elif kind == "code_execution":
            took = f" in {data['duration_s']:g} s" if isinstance(data.get("duration_s"), (int, float)) else ""
            line = f"[{data.get('agent')}] ran {data.get('language')}: exit {data.get('exit_code')}{took}"
        elif kind == "tool_call":
            line = (
                f"[{data.get('agent')}] calls {data.get('name')}({json.dumps(data.get('arguments'))[:200]})"
            )
        elif kind == "phase_change":
            line = f"== phase {data.get('phase')}" + (
                f" step {data['step']}" if data.get("step") is not None else ""
            )
        elif kind == "dag_node_update" and data.get("status") in ("running", "completed", "failed"):
            line = f"  {_MARKS[data['status']]} {data.get('node_id')} {data['status']}"
        elif kind == "cost_update":
            cost = data.get("cost")
            line = (
                f"  $ {data.get('model')}: {data.get('input_tokens')} in / {data.get('output_tokens')} out = "
                + (f"${cost:.6f}" if cost is not None else "unpriced")
            )
        elif kind == "restart":
            line = f"restart: {data.get('message')}"
        elif kind in (
            "error",
            "warning",
            "budget_warning",
            "input_request",
            "plan_decision",
            "complete",
            "status",
        ):
            line = f"{kind}: {json.dumps(data, default=str)}"
        if line is not None:
            print(line, file=self.out, flush=True)


class LiveView:
    """A rich live panel: header, DAG node statuses, cost, last output lines (10 frames/s)."""

    def __init__(self, state: RunState) -> None:
        from rich.console import Console
        from rich.live import Live

        self.state = state
        self.live = Live(self.render(state.snapshot()), console=Console(stderr=False), refresh_per_second=10)

    def render(self, snap: dict[str, Any]) -> Any:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        header = Text(
            f"{snap['status']}  mode {snap['mode']}  phase {snap['phase'] or '-'}"
            + (f"  step {snap['step']}" if snap["step"] is not None else ""),
            style="bold",
        )
        dag = Table.grid(padding=(0, 1))
        nodes = sorted(snap["dag"]["nodes"].values(), key=lambda n: n.get("order", 0))
        for node in nodes[-25:]:
            status = node.get("status", "pending")
            dag.add_row(
                Text(_MARKS.get(status, "?"), style=_COLORS.get(status, "")),
                node.get("label", node["id"]),
                Text(status, style=_COLORS.get(status, "")),
            )
        cost = snap["cost"]
        budget = f" of {format_usd(cost['budget_usd'])}" if cost.get("budget_usd") else ""
        unpriced = f"  unpriced: {', '.join(cost['unpriced'])}" if cost["unpriced"] else ""
        carried = cost.get("carried")
        books = f"  +${carried['total_usd']:.4f} carried" if carried else ""
        money = Text(
            f"${cost['total_usd']:.4f}{budget}  {cost['input_tokens']} in / {cost['output_tokens']} out"
            f"{books}{unpriced}",
            style="bold red" if cost.get("warning") else "cyan",
        )
        lines = Text(
            "\n".join(f"[{o.get('agent') or o.get('stream')}] {o['text'][:200]}" for o in snap["output"][-8:])
        )
        return Group(header, dag, money, lines)

    def on_snapshot(self, snap: dict[str, Any]) -> None:
        self.live.update(self.render(snap))


async def _run(args: argparse.Namespace, task_id: str, task: str, config: dict[str, Any]) -> int:
    from .executor import IsolatedTaskExecutor
    from .router import Throttle

    executor = IsolatedTaskExecutor(session_manager=SessionManager(args.sessions_dir))
    prepared = executor.prepare(task_id, task, config)
    live = None
    if args.plain or not sys.stdout.isatty():
        prepared.subscribe(PlainView(sys.stdout))
    else:
        live = LiveView(prepared.state)
        throttle = Throttle(prepared.state, live.on_snapshot, rate=10)
        prepared.subscribe(throttle)
    if prepared.config.approve_plan:
        from ._terminal_plan import TerminalApproval

        prepared.subscribe(TerminalApproval(prepared, sys.stdin, sys.stdout))
    log = EventLog(args.log) if getattr(args, "log", None) else None
    if log is not None:
        prepared.subscribe(log.append)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, lambda: asyncio.ensure_future(prepared.cancel()))
    try:
        if live is not None:
            with live.live:
                result = await prepared.start()
                live.on_snapshot(prepared.state.snapshot())
        else:
            result = await prepared.start()
    except TaskCancelled as exc:
        print(f"cancelled: {exc}", file=sys.stderr)
        return EXIT_CANCELLED
    except TaskFailed as exc:
        print(f"failed ({exc.error_type}): {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        if log is not None:
            log.close()
    cost = prepared.state.cost
    shown = json.dumps(result.get("result", result), default=str)[:500]
    carried = cost.get("carried")
    books = f" (+${carried['total_usd']:.6f} carried = ${cost['grand_total_usd']:.6f})" if carried else ""
    label = (prepared.state.outcome or {}).get("label") or "completed"  # e.g. "completed with errors: ..."
    print(f"{label}: ${cost['total_usd']:.6f}{books}, result: {shown}")
    return 0


def _read_task(task: str) -> str:
    if task == "-":
        return sys.stdin.read()
    path = Path(task)
    return path.read_text() if len(task) < 4096 and path.is_file() else task


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _dispatch(args)
    except (CmbJupyterError, ValueError, OSError) as exc:
        print(f"cmbjupyter: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _dispatch(args: argparse.Namespace) -> int:
    sessions = SessionManager(args.sessions_dir)
    if args.command in ("compare", "export") or getattr(args, "action", None) == "cost":
        return _report(args, sessions)
    if args.command == "sessions":
        if args.action == "show":
            if not args.session_id:
                raise ValueError("sessions show needs a session id")
            print(json.dumps(sessions.load_session(args.session_id), indent=2))
            return 0
        for s in sessions.list_sessions():
            cost = f"${s['total_usd']:.4f}" if isinstance(s.get("total_usd"), (int, float)) else "-"
            mode, phase = s.get("mode") or "-", s.get("phase") or "-"
            when = s.get("updated_at") or s.get("error", "")
            print(f"{s['session_id']:<28} {s['status']:<10} {mode:<17} {phase:<12} {cost:>10}  {when}")
        return 0
    task_id = f"cli-{uuid.uuid4().hex[:8]}"
    if args.command == "demo":
        from .demo import main as demo

        return demo(args, lambda task, config: asyncio.run(_run(args, task_id, task, config)))
    if args.command == "replay":
        config = {"engine": "replay", "mode": _logged_mode(args.log), "log": args.log, "speed": args.speed}
        return asyncio.run(_run(args, task_id, args.log, config))
    if args.command == "resume":
        from .executor import IsolatedTaskExecutor

        task, config = IsolatedTaskExecutor(session_manager=sessions).resume_config(args.session_id)
        print(config["restart"]["message"], file=sys.stderr)  # where it restarts, before it starts
        return asyncio.run(_run(args, task_id, task, config))
    if args.command == "fork":
        from .fork import fork_config

        changes = {k: getattr(args, k) for k in ("instructions", "model", "budget_usd")}
        task, config = fork_config(
            sessions, args.session_id, args.at_step, session_id=args.session, changes=changes
        )
        print(config["restart"]["message"], file=sys.stderr)
        return asyncio.run(_run(args, task_id, task, config))
    config: dict[str, Any] = json.loads(args.config) if args.config else {}
    options = {
        "mode": args.mode,
        "engine": args.engine,
        "session_id": args.session,
        "budget_usd": args.budget,
        "timeout": args.timeout,
        "approve_plan": args.approve_plan,
        "step_budget_usd": args.step_budget,
        "model": args.model,
        "work_dir": args.work_dir,
    }
    config.update({k: v for k, v in options.items() if v is not None})
    return asyncio.run(_run(args, task_id, _read_task(args.task), config))


def _report(args: argparse.Namespace, sessions: SessionManager) -> int:
    """``compare``, ``export`` and ``sessions cost``: documents made from saved sessions."""
    from .runrecord import RunRecord

    if args.command == "compare":
        from .compare import compare, render_text

        doc = compare(RunRecord.load(sessions, args.a), RunRecord.load(sessions, args.b))
        print(json.dumps(doc, indent=2) if args.json else render_text(doc))
        return 0
    if not args.session_id:
        raise ValueError("sessions cost needs a session id")
    record = RunRecord.load(sessions, args.session_id)
    if args.command == "export":
        from .export import write_notebook

        path = write_notebook(record, args.to or f"{args.session_id}.ipynb")
        print(f"exported session {args.session_id} to {path}")
        return 0
    from .ledger import ledger_csv, ledger_json

    if args.format == "csv":
        sys.stdout.write(ledger_csv(record))
    else:
        print(json.dumps(ledger_json(record), indent=2))
    return 0


def _logged_mode(log: str) -> str:
    """The mode a logged run had (its DAG tells), so the replay starts with the same template."""
    from .events import iter_log

    try:
        with open(log, "rb") as file:
            for event in iter_log(file):
                mode = event.get("data", {}).get("mode") if event["type"] == "status" else None
                if mode:
                    return str(mode)
    except OSError:
        pass
    return "one-shot"


if __name__ == "__main__":
    sys.exit(main())

"""Plan approval from a terminal: ``cmbjupyter run ... --approve-plan``.

A Router sink of the CLI's run: when the run proposes a plan and waits (``plan_proposed`` with a
``request_id``), it prints the plan with each step's estimate and reads one answer line from
standard input (off the event loop): empty or ``y`` approves it as proposed, ``@FILE`` approves the
edited plan in the JSON file ``FILE`` (a list of ``{sub_task, agent, bullets, budget_usd?}``), any
other text rejects it with that text as the feedback. A refused answer (a bad plan file) is said and
asked again; the end of input cancels the run (nobody is left to decide).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, TextIO

from .errors import CmbJupyterError
from .events import Event

__all__ = ["TerminalApproval"]

PROMPT = "approve? [Enter/y: as proposed, @FILE: the edited plan in FILE (JSON), text: reject with it]: "


def _read(path: str) -> str:
    return Path(path).expanduser().read_text()


def _estimate(estimate: Any, agent: Any) -> str:
    if not isinstance(estimate, dict) or not estimate.get("sessions"):
        return "no history"
    e = (estimate.get("by_agent") or {}).get(agent) or estimate.get("default") or {}
    cost = f"~${e['cost_usd']:.4f}" if e.get("cost_usd") is not None else "~$?"
    seconds = f" {e['seconds']:.1f} s" if e.get("seconds") is not None else ""
    return f"{cost}{seconds} (estimate)"


class TerminalApproval:
    """Asks the terminal for the decision on each plan the run proposes (see the module docstring)."""

    def __init__(self, run: Any, stdin: TextIO, out: TextIO) -> None:
        self.run, self.stdin, self.out = run, stdin, out
        self.tasks: set[asyncio.Task[None]] = set()

    def __call__(self, event: Event) -> None:
        if event["type"] == "plan_proposed" and event["data"].get("request_id") is not None:
            task = asyncio.get_running_loop().create_task(self._ask(event["data"]))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    def _show(self, data: dict[str, Any]) -> None:
        print("plan awaiting approval:", file=self.out)
        for step in data["plan"]:
            agent = step.get("agent") or "-"
            print(
                f"  {step['step']}. {step['sub_task']}  [{agent}]  {_estimate(data.get('estimate'), agent)}",
                file=self.out,
            )
            for bullet in step.get("bullets") or ():
                print(f"       - {bullet}", file=self.out)
        print(PROMPT, end="", file=self.out, flush=True)

    async def _ask(self, data: dict[str, Any]) -> None:
        self._show(data)
        while True:
            line = await asyncio.to_thread(self.stdin.readline)
            if not line:
                await self.run.cancel("no decision on the plan: standard input ended")
                return
            answer = line.strip()
            try:
                if answer.lower() in ("", "y", "yes"):
                    await self.run.approve()
                elif answer.startswith("@"):
                    text = await asyncio.to_thread(_read, answer[1:])
                    await self.run.approve(json.loads(text))
                else:
                    await self.run.reject(answer)
                return
            except (CmbJupyterError, OSError, ValueError) as exc:
                print(f"refused: {exc}\n{PROMPT}", end="", file=self.out, flush=True)

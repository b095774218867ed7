"""The ``%%cmbagent`` cell magic and the ``%cmbagent`` line helpers.

::

    %load_ext cmbjupyter

    %%cmbagent --mode planning-control --session cmb-fit --budget 0.50
    Fit the Planck 2018 TT spectrum with CAMB and report H0.

The cell body is the task. The run is drawn live below the cell; the cell blocks until the task ends
(interrupt the kernel to cancel it) unless ``--background`` is given. The Run is left in ``_``.
Line helpers: ``%cmbagent sessions``, ``%cmbagent show ID``, ``%cmbagent cancel ID``,
``%cmbagent resume ID [--background]``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class

from .dag import MODES

__all__ = ["CmbAgentMagics", "parse_cell_args"]

CELL_OPTIONS = """%%cmbagent [--mode M] [--engine E] [--session NAME] [--budget USD] [--timeout S]
           [--background] [--model NAME] [--work-dir DIR] [--backend local|dask] [--python PATH]
           [--config JSON] [--kernel] [--inputs NAME,NAME...] [--inputs-pickle] [--inputs-parquet]"""


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError (a short message in the notebook) instead of exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message}\nusage: {CELL_OPTIONS}")


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object")
    return value


def _names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("needs variable names separated by commas")
    return names


def _cell_parser() -> _Parser:
    parser = _Parser(prog="%%cmbagent", add_help=False, exit_on_error=False)
    parser.add_argument("--mode", default="one-shot", choices=[*MODES, "deep-research"])
    parser.add_argument("--engine")
    parser.add_argument("--session", dest="session_id")
    parser.add_argument("--budget", dest="budget_usd", type=float)
    parser.add_argument("--timeout", type=float)
    parser.add_argument("--background", action="store_true")
    parser.add_argument("--model")
    parser.add_argument("--work-dir", dest="work_dir")
    parser.add_argument("--backend", choices=("local", "dask"))
    parser.add_argument("--python")
    parser.add_argument("--config", type=_json_object, help="extra config as a JSON object")
    parser.add_argument(
        "--kernel", action="store_true", help="run in this kernel even if a server is reachable"
    )
    parser.add_argument("--inputs", type=_names, help="notebook variables written as the task's input files")
    parser.add_argument("--inputs-pickle", dest="inputs_pickle", action="store_const", const=True)
    parser.add_argument("--inputs-parquet", dest="inputs_parquet", action="store_const", const=True)
    return parser


def parse_cell_args(line: str) -> tuple[dict[str, Any], bool, bool]:
    """``(config, background, force_kernel)`` from the magic's line; UsageError when it is wrong."""
    try:
        args = _cell_parser().parse_args(shlex.split(line))
    except (ValueError, argparse.ArgumentError) as exc:  # shlex: unbalanced quotes; a bad value
        raise UsageError(f"{exc}\nusage: {CELL_OPTIONS}") from None
    options = vars(args)
    background, force_kernel = options.pop("background"), options.pop("kernel")
    extra = options.pop("config") or {}
    config = {**extra, **{k: v for k, v in options.items() if v is not None}}
    return config, background, force_kernel


def _wait(run: Any) -> None:
    """Block until the run ends; a failed task is one line on stderr, not a traceback wall."""
    from .errors import TaskFailed

    try:
        run.wait()
    except TaskFailed as exc:
        print(f"cmbagent: {exc.error_type}: {exc}", file=sys.stderr)


@magics_class
class CmbAgentMagics(Magics):
    """``%%cmbagent`` runs the cell as a task; ``%cmbagent ...`` manages sessions."""

    @line_cell_magic
    def cmbagent(self, line: str, cell: str | None = None) -> Any:
        from . import api
        from .errors import CmbJupyterError

        if cell is None:
            return self._line(line)
        if not cell.strip():
            raise UsageError(f"the cell is the task, and it is empty\nusage: {CELL_OPTIONS}")
        config, background, force_kernel = parse_cell_args(line)
        if "inputs" in config:
            config["inputs"] = self._variables(config["inputs"])
        try:
            run = api.run(cell, background=True, force_kernel=force_kernel, **config)
        except (CmbJupyterError, ValueError) as exc:
            raise UsageError(str(exc)) from None
        self.shell.user_ns["_"] = run
        if not background:
            _wait(run)
        return None

    def _variables(self, names: list[str]) -> dict[str, Any]:
        """``--inputs`` names -> the notebook's objects; UsageError naming the missing ones."""
        namespace = self.shell.user_ns
        missing = [name for name in names if name not in namespace]
        if missing:
            raise UsageError(
                f"--inputs: no variable {', '.join(map(repr, missing))} in this notebook "
                "(run the cell that defines it first)"
            )
        return {name: namespace[name] for name in names}

    def _line(self, line: str) -> Any:
        from . import api

        words = shlex.split(line)
        if not words:
            raise UsageError("usage: %cmbagent sessions | show ID | cancel ID | resume ID [--background]")
        command, rest = words[0], words[1:]
        if command == "sessions":
            return api.sessions_table()
        if command in ("show", "cancel", "resume") and not rest:
            raise UsageError(f"%cmbagent {command} needs a session or task id")
        if command == "show":
            return api.show(rest[0])
        if command == "cancel":
            return api.cancel(rest[0])
        if command == "resume":
            run = api.resume(rest[0])
            self.shell.user_ns["_"] = run
            if "--background" not in rest:
                _wait(run)
            return None
        raise UsageError(f"unknown %cmbagent command {command!r}: sessions, show, cancel or resume")

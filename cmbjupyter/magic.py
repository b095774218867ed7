"""The ``%%cmbagent`` cell magic and the ``%cmbagent`` line helpers.

::

    %load_ext cmbjupyter

    %%cmbagent --mode planning-control --session cmb-fit --budget 0.50
    Fit the Planck 2018 TT spectrum with CAMB and report H0.

The cell body is the task. The run is drawn live below the cell; the cell blocks until the task ends
(interrupt the kernel or press the widget's Cancel to cancel it) unless ``--background`` is given.
The Run is left in ``_``.

A foreground cell waits as a coroutine awaited on the kernel's own event loop, not by blocking the
kernel's thread: :func:`await_foreground` (an IPython input transformer, installed by
``%load_ext``) turns the cell into ``await run_cell_async(line, cell)``. While an async cell
awaits, ipykernel (7.4+) dispatches the widget's comm messages, so the in-cell Cancel and the
Results viewer's file requests are answered during the run, and the next cell still waits for this
one. Where that is not available (autoawait off, another loop runner, no kernel), the cell blocks
as before.
Line helpers: ``%cmbagent sessions``, ``%cmbagent show ID``, ``%cmbagent cancel ID``,
``%cmbagent resume ID [--background]``, ``%cmbagent compare A B`` (docs/reports.md) and
``%cmbagent export ID [--to FILE.ipynb]``.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import contextlib
import json
import shlex
import sys
from typing import Any, Final, cast

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from .dag import MODES

__all__ = ["CmbAgentMagics", "await_foreground", "parse_cell_args", "parse_fork_args", "run_cell_async"]

LINE_USAGE = (
    "%cmbagent sessions | show ID | cancel ID | resume ID [--background] | compare A B "
    "| export ID [--to FILE.ipynb] | fork ID --at-step N "
    "[--instructions TEXT] [--model NAME] [--budget USD] [--session NEW] [--background]"
)


class _ForkParser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # never exit the kernel: a UsageError names the problem
        raise UsageError(f"{message}\nusage: {self.format_usage().strip()}")


def _fork_parser() -> argparse.ArgumentParser:
    """``%cmbagent fork``'s options (the CLI's ``cmbjupyter fork`` has the same)."""
    parser = _ForkParser(prog="%cmbagent fork", add_help=False)
    parser.add_argument("session_id")
    parser.add_argument("--at-step", dest="at_step", type=int, required=True)
    parser.add_argument("--instructions")
    parser.add_argument("--model")
    parser.add_argument("--budget", dest="budget_usd", type=float)
    parser.add_argument("--session")
    parser.add_argument("--background", action="store_true")
    return parser


def parse_fork_args(words: list[str]) -> dict[str, Any]:
    """The keyword arguments of ``api.fork`` from ``%cmbagent fork``'s words; UsageError if wrong."""
    return vars(_fork_parser().parse_args(words))


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


#: Seconds an interrupted foreground cell waits for its cancelled task to stop (as Run.wait does).
CANCEL_GRACE: Final = 30.0
#: Seconds between wake-ups of the kernel's loop while a foreground cell waits. With ipykernel 7 an
#: interrupt's cancel of the cell reaches the cell's loop without waking it, and nothing else does
#: (the run's events arrive on our own loop's thread): without them an interrupt could go
#: unnoticed for the whole run (seen: no reply 45 s after the interrupt, then 0.3 s with them).
WAKE_INTERVAL: Final = 0.25


def _report(run: Any) -> None:
    """A failed task is one line on stderr, not a traceback wall."""
    if run.error is not None:
        print(f"cmbagent: {run.error.error_type}: {run.error}", file=sys.stderr)


def _wait(run: Any) -> None:
    """Block until the run ends (the kernel's thread is held: see :func:`await_foreground`)."""
    from .errors import TaskFailed

    with contextlib.suppress(TaskFailed):
        run.wait()
    _report(run)


async def _wait_async(run: Any) -> None:
    """Await the run's end on the kernel's loop, which goes on handling the widget's messages.

    Interrupting the kernel cancels the cell's coroutine (ipykernel turns SIGINT into a
    CancelledError there): the task is cancelled too, awaited for up to CANCEL_GRACE s, and the
    cell ends cancelled, so "Run All" stops as it should.
    """
    loop = asyncio.get_running_loop()
    ended = asyncio.Event()
    run.add_done_callback(lambda _run: loop.call_soon_threadsafe(ended.set))
    try:
        while not ended.is_set():  # awake now and then: see WAKE_INTERVAL
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ended.wait(), WAKE_INTERVAL)
    except asyncio.CancelledError:
        run.cancel(wait=False)
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(ended.wait(), CANCEL_GRACE)
        raise
    _report(run)


async def run_cell_async(line: str, cell: str) -> None:
    """``%%cmbagent`` as an awaited coroutine (what :func:`await_foreground` makes of the cell)."""
    from IPython import get_ipython
    from IPython.utils.text import DollarFormatter

    shell = get_ipython()
    # What run_cell_magic does to the line: {name} and $name from the notebook's namespace (as
    # IPython's var_expand, a line it cannot expand is used as it is).
    with contextlib.suppress(Exception):
        line = DollarFormatter().vformat(line, args=[], kwargs=dict(shell.user_ns))
    run, background = shell.magics_manager.registry["CmbAgentMagics"].start_cell(line, cell)
    if not background:
        await _wait_async(run)


def _cell_magic_call(source: str) -> tuple[str, str] | None:
    """``(line, cell)`` when ``source`` is IPython's translation of a ``%%cmbagent`` cell, else None."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return None
    if len(body) != 1 or not isinstance(body[0], ast.Expr) or not isinstance(body[0].value, ast.Call):
        return None
    call = body[0].value
    target = call.func
    if not (
        isinstance(target, ast.Attribute)
        and target.attr == "run_cell_magic"
        and isinstance(target.value, ast.Call)
        and isinstance(target.value.func, ast.Name)
        and target.value.func.id == "get_ipython"
        and len(call.args) == 3
        and not call.keywords
        and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in call.args)
    ):
        return None
    name, line, cell = (cast(ast.Constant, a).value for a in call.args)
    return (str(line), str(cell)) if name == "cmbagent" else None


def _can_await(shell: Any) -> bool:
    """True where ipykernel awaits an async cell on its own running loop (see ipykernel's do_execute)."""
    from IPython.core.async_helpers import _asyncio_runner

    return bool(getattr(shell, "kernel", None) and shell.autoawait and shell.loop_runner is _asyncio_runner)


def await_foreground(lines: list[str]) -> list[str]:
    """IPython input transformer (``input_transformers_post``): a ``%%cmbagent`` cell becomes
    ``await cmbjupyter.magic.run_cell_async(line, cell)`` where the kernel can await it."""
    from IPython import get_ipython

    found = _cell_magic_call("".join(lines))
    if found is None or not _can_await(get_ipython()):
        return lines
    line, cell = found
    return [f"await __import__('cmbjupyter.magic').magic.run_cell_async({line!r}, {cell!r})\n"]


@magics_class
class CmbAgentMagics(Magics):
    """``%%cmbagent`` runs the cell as a task; ``%cmbagent ...`` manages sessions."""

    @line_cell_magic
    @magic_arguments(name="%cmbagent")
    @argument(
        "--mode",
        default="one-shot",
        choices=[*MODES, "deep-research"],
        metavar="MODE",
        help=f"how the task is run: {', '.join([*MODES, 'deep-research'])} (default: one-shot)",
    )
    @argument("--engine", help="the engine that runs the task (README: Engines)")
    @argument("--session", dest="session_id", metavar="NAME", help="session id (resumable by name)")
    @argument("--budget", dest="budget_usd", type=float, metavar="USD", help="stop the task past this cost")
    @argument("--timeout", type=float, metavar="S", help="stop the task after this many seconds")
    @argument(
        "--approve-plan",
        dest="approve_plan",
        action="store_const",
        const=True,
        help="pause after planning until the plan is approved (edited) or rejected with feedback "
        "in the widget, the sidebar or with _.approve() / _.reject(text) (the cell returns at once)",
    )
    @argument(
        "--step-budget",
        dest="step_budget_usd",
        type=float,
        metavar="USD",
        help="stop the task when one plan step costs this much",
    )
    @argument("--background", action="store_true", help="return at once; the cell does not block")
    @argument("--model", help="the LLM model name")
    @argument("--work-dir", dest="work_dir", metavar="DIR", help="the task's working directory")
    @argument("--backend", choices=("local", "dask"), help="where the worker runs")
    @argument("--python", metavar="PATH", help="the Python that runs the worker")
    @argument("--config", type=_json_object, metavar="JSON", help="extra config as a JSON object")
    @argument("--kernel", action="store_true", help="run in this kernel even if a server is reachable")
    @argument(
        "--inputs",
        type=_names,
        metavar="NAME,NAME...",
        help="notebook variables written into the run's data/inputs/ (arrays .npy, tables .csv, "
        "JSON-able values .json) and named in the task",
    )
    @argument(
        "--inputs-pickle",
        dest="inputs_pickle",
        action="store_const",
        const=True,
        help="write inputs no other format takes as pickles",
    )
    @argument(
        "--inputs-parquet",
        dest="inputs_parquet",
        action="store_const",
        const=True,
        help="write DataFrames as .parquet instead of .csv",
    )
    def cmbagent(self, line: str, cell: str | None = None) -> Any:
        """Run the cell as a cmbagent task (``%%cmbagent [options]``), drawn live below the cell.

        The line form manages sessions: ``%cmbagent sessions | show ID | cancel ID | resume ID
        [--background]``.
        """
        if cell is None:
            return self._line(line)
        run, background = self.start_cell(line, cell)
        if not background:
            _wait(run)
        return None

    def start_cell(self, line: str, cell: str) -> tuple[Any, bool]:
        """Start the cell's task (its Run left in ``_``); ``(run, background)``."""
        from . import api
        from .errors import CmbJupyterError

        if not cell.strip():
            raise UsageError(f"the cell is the task, and it is empty\n{_cell_usage()}")
        config, background, force_kernel = parse_cell_args(line)
        if "inputs" in config:
            config["inputs"] = self._variables(config["inputs"])
        try:
            run = api.run(cell, background=True, force_kernel=force_kernel, **config)
        except (CmbJupyterError, ValueError) as exc:
            raise UsageError(str(exc)) from None
        self._user_ns()["_"] = run
        return run, background

    def _user_ns(self) -> dict[str, Any]:
        if self.shell is None:  # only a Magics made without a shell, which IPython never does
            raise UsageError("%%cmbagent runs in an IPython shell")
        return cast(dict[str, Any], self.shell.user_ns)

    def _variables(self, names: list[str]) -> dict[str, Any]:
        """``--inputs`` names -> the notebook's objects; UsageError naming the missing ones."""
        namespace = self._user_ns()
        missing = [name for name in names if name not in namespace]
        if missing:
            raise UsageError(
                f"--inputs: no variable {', '.join(map(repr, missing))} in this notebook "
                "(run the cell that defines it first)"
            )
        return {name: namespace[name] for name in names}

    def _line(self, line: str) -> Any:
        from . import api
        from .errors import CmbJupyterError

        words = shlex.split(line)
        if not words:
            raise UsageError(f"usage: {LINE_USAGE}")
        command, rest = words[0], words[1:]
        if command == "sessions":
            return api.sessions_table()
        if command == "fork":
            options = parse_fork_args(rest)
            background = options.pop("background")
            try:
                run = api.fork(options.pop("session_id"), options.pop("at_step"), **options)
            except (CmbJupyterError, ValueError) as exc:
                raise UsageError(str(exc)) from None
            self._user_ns()["_"] = run
            if not background:
                _wait(run)
            return None
        if command in ("show", "cancel", "resume") and not rest:
            raise UsageError(f"%cmbagent {command} needs a session or task id")
        if command == "show":
            return api.show(rest[0])
        if command == "cancel":
            return api.cancel(rest[0])
        if command == "resume":
            run = api.resume(rest[0])
            self._user_ns()["_"] = run
            if "--background" not in rest:
                _wait(run)
            return None
        if command in ("compare", "export"):
            return _reports_command(command, rest)
        raise UsageError(
            f"unknown %cmbagent command {command!r}: sessions, show, cancel, resume, fork, compare or export"
        )


def _reports_command(command: str, words: list[str]) -> Any:
    """``%cmbagent compare A B`` (the comparison, drawn) and ``%cmbagent export ID [--to FILE]``."""
    from . import reports
    from .errors import CmbJupyterError

    to = None
    if command == "export" and "--to" in words:
        at = words.index("--to")
        if at + 1 >= len(words):
            raise UsageError("%cmbagent export: --to needs a file name (FILE.ipynb)")
        to, words = words[at + 1], words[:at] + words[at + 2 :]
    wanted = 2 if command == "compare" else 1
    if len(words) != wanted:
        shown = "compare A B" if command == "compare" else "export ID [--to FILE.ipynb]"
        raise UsageError(f"usage: %cmbagent {shown}")
    try:
        if command == "compare":
            return reports.compare(*words)
        path = reports.export(words[0], to)
    except (CmbJupyterError, ValueError, OSError) as exc:
        raise UsageError(str(exc)) from None
    print(f"exported session {words[0]} to {path}")
    return None


def _parser() -> argparse.ArgumentParser:
    """The parser IPython's ``magic_arguments`` built from the decorators (its ``.parser``)."""
    return cast(argparse.ArgumentParser, cast(Any, CmbAgentMagics.cmbagent).parser)


def _cell_usage() -> str:
    """The parser's own usage line (IPython's formatter writes it as a code block: ``::``)."""
    parser = _parser()
    return "usage: " + parser.format_usage().removeprefix("::").strip()


def parse_cell_args(line: str) -> tuple[dict[str, Any], bool, bool]:
    """``(config, background, force_kernel)`` from the magic's line; UsageError when it is wrong.

    The line is split as a POSIX shell would (quotes removed, so ``--config '{"a": 1}'`` is JSON);
    IPython's own splitter keeps the quotes.
    """
    try:
        args = _parser().parse_args(shlex.split(line))
    except ValueError as exc:  # shlex: unbalanced quotes
        raise UsageError(f"{exc}\n{_cell_usage()}") from None
    except UsageError as exc:  # the parser's: a bad or unknown option
        raise UsageError(f"{exc}\n{_cell_usage()}") from None
    options = vars(args)
    background, force_kernel = options.pop("background"), options.pop("kernel")
    # A plan to approve: the cell returns at once, so the widget below it can send the decision.
    background = background or bool(options.get("approve_plan"))
    extra = options.pop("config") or {}
    config = {**extra, **{k: v for k, v in options.items() if v is not None}}
    return config, background, force_kernel

"""The worker's own guard: it never outlives its host, never leaves a process behind, and enforces
the task's timeout and budget itself when the host cannot.

The host enforces the limits and ends the worker's tree; this is the second line, for when the host
is gone (``kill -9`` of the Jupyter server or of the kernel) or frozen:

* the worker is the *child subreaper* of everything it starts (``PR_SET_CHILD_SUBREAPER``), so a
  grandchild that calls ``setsid()`` and forks again stays its descendant, and :func:`end_tree` ends
  them all, whatever their session or process group, on every way out of the worker;
* ``PR_SET_PDEATHSIG`` sends the worker SIGTERM when the host thread that spawned it ends, and a
  watchdog thread checks every :data:`POLL` seconds that the host pid it was given is still its
  parent (or an ancestor, through a wrapper script) and that the host still reads the event pipe
  (a task that only prints never writes an event, so it would not notice otherwise); when either
  is gone, the tree is ended;
* the spec's ``limits`` give the timeout and budget with the host's grace added: the watchdog stops
  the run with an ``error`` event (``TaskTimeout`` / ``BudgetExceeded``) once a limit is passed and
  the host has not stopped it.

Only the standard library (and, for pricing, :mod:`cmbjupyter.cost` when genai-prices is installed
in the worker's environment): the worker may run in another environment than the host.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

from .._verdict import format_usd

__all__ = ["Guard", "arm", "descendants", "end_tree"]

#: Seconds between two checks of the host, the event pipe and the limits.
POLL: Final = 0.5
#: prctl(2) options (linux/prctl.h).
PR_SET_PDEATHSIG: Final = 1
PR_SET_CHILD_SUBREAPER: Final = 36
#: Exit code of a worker whose host is gone (as for a closed event channel: nobody reads it).
EXIT_HOST_GONE: Final = 3
#: Exit code of a worker that stopped itself at a limit (after its own ``error`` event).
EXIT_LIMIT: Final = 1
#: Rounds of "kill every descendant, reap" before giving up on a tree that keeps forking.
END_ROUNDS: Final = 100
#: How long the self-stop waits for its ``error`` event to be written (the host may be frozen).
ERROR_WRITE_WAIT: Final = 1.0


def _prctl(option: int, value: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _stat(pid: str) -> tuple[int, str] | None:
    """(parent pid, state letter) of ``/proc/<pid>/stat``, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            text = file.read().decode(errors="replace")
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()  # the command name may contain spaces and ')'
    return int(fields[1]), fields[0]


def _has_ancestor(pid: int) -> bool:
    """True if ``pid`` is this process's parent, or an ancestor (the worker was started through a
    wrapper script that did not ``exec``)."""
    current = os.getppid()
    for _ in range(64):
        if current == pid:
            return True
        if current <= 1 or (stat := _stat(str(current))) is None:
            return False
        current = stat[0]
    return False


def descendants(root: int | None = None) -> list[int]:
    """Live (non-zombie) descendants of ``root`` (default: this process), found in ``/proc``."""
    root = os.getpid() if root is None else root
    children: dict[int, list[int]] = {}
    alive: set[int] = set()
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if entry.isdigit() and (stat := _stat(entry)) is not None:
                children.setdefault(stat[0], []).append(int(entry))
                if stat[1] != "Z":
                    alive.add(int(entry))
    found: list[int] = []
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.append(child)
            todo.append(child)
    return [pid for pid in found if pid in alive]


def _reap() -> None:
    """Collect exited children (adopted daemons included) so they stop counting as alive."""
    with contextlib.suppress(ChildProcessError, OSError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def end_tree() -> None:
    """SIGKILL every descendant of this process, until none is left (the subreaper adopts those
    whose parent died first, so each round finds them)."""
    for _ in range(END_ROUNDS):
        pids = descendants()
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        _reap()
        time.sleep(0.01)


class Guard:
    """The watchdog of one worker; :meth:`start` it once the spec (with its ``limits``) is known."""

    def __init__(self, host_pid: int | None, event_fd: int) -> None:
        self.host_pid = host_pid
        self.event_fd = event_fd
        self.started = time.monotonic()
        self.deadline: float | None = None
        self.timeout: float | None = None
        self.budget: float | None = None
        self.grace = 0.0
        self.spent = 0.0
        self.over_budget_since: float | None = None
        self.report: Callable[[str, dict[str, Any]], None] | None = None
        self._price: Callable[[Mapping[str, Any]], float | None] | None = None
        self._lock = threading.Lock()
        #: Since when the run waits for the user's decision on its plan (the timeout does not run).
        self.held_since: float | None = None

    # ------------------------------------------------------------------ limits

    def start(self, limits: Mapping[str, Any] | None, report: Callable[[str, dict[str, Any]], None]) -> None:
        """Watch the host and ``limits`` (``timeout``, ``budget_usd``, ``prices``, ``grace``) from now on;
        ``report(type, data)`` sends an event to the host."""
        limits = limits or {}
        self.report = report
        self.started = time.monotonic()  # the task's start (a warm worker waited for it)
        self.grace = float(limits.get("grace") or 0.0)
        if limits.get("timeout"):
            self.timeout = float(limits["timeout"])
            self.deadline = self.started + self.timeout + self.grace
        if limits.get("budget_usd"):
            self.budget = float(limits["budget_usd"])
            self._price = _pricer(limits.get("prices"))
        threading.Thread(target=self._watch, name="cmbjupyter-guard", daemon=True).start()

    def count_cost(self, data: Mapping[str, Any]) -> None:
        """Add one ``cost_update`` to the worker's own total (priced as the host prices it)."""
        if self.budget is None or self._price is None:
            return
        cost = self._price(data)
        with self._lock:
            self.spent += cost or 0.0
            if self.spent >= self.budget and self.over_budget_since is None:
                self.over_budget_since = time.monotonic()

    def hold(self) -> None:
        """The run waits for the user (a plan awaiting approval): its timeout stops running."""
        self.held_since = time.monotonic()

    def release(self) -> None:
        """The user decided: the timeout runs again, pushed back by the time it was held."""
        since, self.held_since = self.held_since, None
        if since is not None and self.deadline is not None:
            self.deadline += time.monotonic() - since

    # ------------------------------------------------------------------ endings

    def host_gone(self, why: str) -> None:
        """Nobody is left to report to: end every process of the run, then this one."""
        end_tree()
        os._exit(EXIT_HOST_GONE)

    def _stop_at_limit(self, error_type: str, message: str) -> None:
        report = self.report
        if report is not None:  # a frozen host may never read it: do not wait for it for long
            data = {"message": message, "error_type": error_type}
            writer = threading.Thread(target=_quietly, args=(report, "error", data), daemon=True)
            writer.start()
            writer.join(ERROR_WRITE_WAIT)
        end_tree()
        os._exit(EXIT_LIMIT)

    # ------------------------------------------------------------------ the watchdog

    def _watch(self) -> None:
        poller = select.poll()
        poller.register(self.event_fd, 0)  # POLLERR/POLLHUP are always reported: the reader is gone
        while True:
            with contextlib.suppress(OSError):
                for fd, flags in poller.poll(POLL * 1000):
                    if flags & (select.POLLERR | select.POLLHUP):
                        self.host_gone("the host closed the event pipe")
                    elif flags & select.POLLNVAL:  # the task closed the fd: the host sees that itself
                        poller.unregister(fd)  # (an empty poll still waits POLL seconds)
            if self.host_pid is not None and not _has_ancestor(self.host_pid):
                self.host_gone(f"the host (pid {self.host_pid}) is gone")
            now = time.monotonic()
            if self.deadline is not None and self.held_since is None and now >= self.deadline:
                self._stop_at_limit(
                    "TaskTimeout",
                    f"the task ran longer than its timeout of {self.timeout:g} s and its host did not stop "
                    "it; the worker stopped itself",
                )
            since = self.over_budget_since
            if since is not None and now - since >= self.grace:
                self._stop_at_limit(
                    "BudgetExceeded",
                    f"the run cost ${self.spent:.4f}, reaching its budget of {format_usd(self.budget)}, "
                    "and its host did not stop it; the worker stopped itself",
                )


def _quietly(report: Callable[[str, dict[str, Any]], None], type: str, data: dict[str, Any]) -> None:
    with contextlib.suppress(Exception):
        report(type, data)


def _pricer(prices: Mapping[str, Any] | None) -> Callable[[Mapping[str, Any]], float | None]:
    """Prices a ``cost_update`` as the host does (:class:`cmbjupyter.cost.CostLedger`); without
    genai-prices in this environment, only costs the engine states are counted."""
    try:
        from ..cost import CostLedger

        ledger = CostLedger(prices)
    except Exception:  # genai-prices missing here (an old cmbagent environment), or bad overrides
        ledger = None

    def price(data: Mapping[str, Any]) -> float | None:
        if ledger is None:
            cost = data.get("cost")
            return float(cost) if isinstance(cost, (int, float)) and not isinstance(cost, bool) else None
        try:
            normalized, _ = ledger.normalize(data)
        except Exception:
            return None
        return normalized.get("cost") if normalized else None

    return price


def arm(host_pid: int | None, event_fd: int) -> Guard:
    """Make this worker the subreaper of its tree and tie its life to the host's; exits at once if the
    host is already gone (the check after ``PR_SET_PDEATHSIG`` closes the race with its death)."""
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    if host_pid is not None and _prctl(PR_SET_PDEATHSIG, signal.SIGTERM) and not _has_ancestor(host_pid):
        os._exit(EXIT_HOST_GONE)
    return Guard(host_pid, event_fd)

"""Warm start, the worker's side: import the engine's heavy modules before the task is known, then
make the task's run exactly what a cold worker's would be.

A warm worker is started by a pool (``cmbjupyter/backends/warm.py``) with the host's environment
minus the variables that belong to a task (API keys, endpoints: :data:`LATE` on the host side), in
a scratch folder. It imports the engine's dependencies there, then *forgets* the engine's own
package (``sys.modules`` entries), because cmbagent reads its keys and its folder when it is
imported (``cmbagent.utils`` builds its LLM configs from ``os.getenv`` and creates
``./cmbagent_output``; measured: its own modules take 11 ms of the 6-9 s import, the rest is AG2,
openai, cobaya, matplotlib...). When the spec arrives, :func:`apply` sets the task's environment and
working folder, and the engine's import runs again, as in a cold worker, against them.

Only the standard library: the worker may run in another environment than the host.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from typing import Any, Final

from ._speedups import speed_up_cmbagent

__all__ = ["PRELOAD", "apply", "preload"]

#: engine -> (modules imported ahead, packages forgotten afterwards since they read the
#: environment or the working folder at import; their dependencies stay imported).
PRELOAD: Final[Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "cmbagent": (
        ("cmbagent", "cmbjupyter.worker.engines.cmbagent", "cmbjupyter.worker.engines.cmbagent_hooks"),
        ("cmbagent",),
    ),
    "python": (("cmbjupyter.worker.engines.python",), ()),
    "replay": (("cmbjupyter.worker.engines.replay",), ()),
}


def _forget(packages: tuple[str, ...]) -> None:
    for name in list(sys.modules):
        if name.partition(".")[0] in packages:
            del sys.modules[name]
    importlib.invalidate_caches()


def preload(engine: str) -> bool:
    """Import what ``engine`` needs, in a scratch folder (import-time files land there and go);
    False if something failed to import (the pool then ends this worker: a cold one reports why)."""
    modules, forget = PRELOAD.get(engine, ((), ()))
    scratch = tempfile.mkdtemp(prefix="cmbjupyter-warm-")
    os.chdir(scratch)
    complete = True
    try:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:
                complete = False
                break
        _forget(forget)
        if engine == "cmbagent":
            speed_up_cmbagent(prepare=True)
    finally:
        os.chdir("/")
        shutil.rmtree(scratch, ignore_errors=True)
    return complete


def apply(spec: Mapping[str, Any]) -> None:
    """The task's whole environment and working folder, as a cold worker would have started with."""
    environ = spec.get("environ")
    if isinstance(environ, Mapping):
        os.environ.clear()  # os.environ also calls unsetenv/putenv: C code sees the same
        os.environ.update({str(k): str(v) for k, v in environ.items()})
    if spec.get("cwd"):
        os.chdir(spec["cwd"])

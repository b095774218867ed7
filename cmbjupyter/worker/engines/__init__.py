"""Engines: ``run(task: str, config: dict, emit) -> dict``, one module per engine.

An engine is a built-in name (below) or any importable ``"package.module:callable"``. Engines run
inside the worker only: the kernel and the server never import them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from ...errors import EngineNotFound

__all__ = ["BUILTIN_ENGINES", "load_engine"]

Engine = Callable[[str, dict[str, Any], Any], Any]

#: Built-in engine names and where they live.
BUILTIN_ENGINES: dict[str, str] = {
    "cmbagent": "cmbjupyter.worker.engines.cmbagent:run",
    "python": "cmbjupyter.worker.engines.python:run",
    "replay": "cmbjupyter.worker.engines.replay:run",
}


def load_engine(name: str) -> Engine:
    """Import the engine called ``name`` (a built-in name or ``"package.module:callable"``)."""
    target = BUILTIN_ENGINES.get(name, name)
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise EngineNotFound(
            f"unknown engine {name!r}: use one of {sorted(BUILTIN_ENGINES)} or 'package.module:callable'"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise EngineNotFound(f"engine {name!r}: cannot import {module_name!r} in the worker ({exc})") from exc
    engine = getattr(module, attr, None)
    if not callable(engine):
        raise EngineNotFound(f"engine {name!r}: {module_name!r} has no callable {attr!r}")
    return engine

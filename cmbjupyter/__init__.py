"""cmbjupyter: run and watch cmbagent multi-agent science tasks from Jupyter.

Importing this package is cheap: the public names load on first use, so a kernel (or the worker
subprocess, which starts through this package) never pays for jupyter_server, anywidget, cmbagent,
or even ``typing``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._version import __version__
    from .api import run, warm
    from .errors import TaskFailed
    from .executor import IsolatedTaskExecutor
    from .runs import Run
    from .session import SessionManager
    from .state import RunState

__all__ = [
    "IsolatedTaskExecutor",
    "Run",
    "RunState",
    "SessionManager",
    "TaskFailed",
    "__version__",
    "load_ipython_extension",
    "run",
    "warm",
]

_LAZY = {
    "IsolatedTaskExecutor": "cmbjupyter.executor",
    "SessionManager": "cmbjupyter.session",
    "RunState": "cmbjupyter.state",
    "TaskFailed": "cmbjupyter.errors",
    "Run": "cmbjupyter.runs",
    "run": "cmbjupyter.api",
    "warm": "cmbjupyter.api",
    "__version__": "cmbjupyter._version",  # read when asked (js/package.json is the one source)
}


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext cmbjupyter``: registers ``%%cmbagent`` (imported only now, like anywidget's) and
    the transformer that makes a foreground cell await its run (the widget stays live: magic.py)."""
    from .magic import CmbAgentMagics, await_foreground

    ipython.register_magics(CmbAgentMagics)  # type: ignore[attr-defined]
    transformers = ipython.input_transformers_post  # type: ignore[attr-defined]
    if await_foreground not in transformers:
        transformers.append(await_foreground)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """The prebuilt JupyterLab sidebar (``js/`` -> ``cmbjupyter/labextension``)."""
    return [{"src": "labextension", "dest": "cmbjupyter"}]


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cmbjupyter' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)

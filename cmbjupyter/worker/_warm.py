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

import contextlib
import functools
import importlib
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from typing import Any, Final

__all__ = ["PRELOAD", "apply", "preload", "share_tls_context"]

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


def share_tls_context() -> None:
    """One TLS context for httpx's default verification, built once and shared by its clients.

    httpx 0.28 (under openai, under AG2) builds a new context for every client and reads the whole
    CA bundle each time; cmbagent makes one client per agent and per model config before its first
    message. Measured in a one-shot run: 95 bundle loads of 54 ms, 5.1 s of the 6.2 s to the first
    agent message once cmbagent is imported. An ``SSLContext`` is meant to be shared (httpx's own
    advice: ``verify=ctx``); the key is what httpx reads (``SSL_CERT_FILE``, ``SSL_CERT_DIR``), so a
    task's settings still apply. Clients given their own ``verify`` or ``cert`` are left alone.
    (httpcore sets ALPN on the context per connection: fine while every client is HTTP/1.1, as
    openai's and AG2's are.) A no-op without httpx, or when already done.
    """
    try:
        import httpx._config as config
        import httpx._transports.default as transports
    except ImportError:
        return
    original = config.create_ssl_context
    if getattr(original, "shared_default", False):
        return
    cache: dict[tuple[Any, ...], Any] = {}

    @functools.wraps(original)
    def create_ssl_context(verify: Any = True, cert: Any = None, trust_env: bool = True) -> Any:
        if verify is not True or cert:
            return original(verify, cert, trust_env)
        key = (
            (trust_env, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")) if trust_env else ()
        )
        if key not in cache:
            cache[key] = original(verify, cert, trust_env)
        return cache[key]

    create_ssl_context.shared_default = True  # type: ignore[attr-defined]
    config.create_ssl_context = transports.create_ssl_context = create_ssl_context


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
            share_tls_context()
            with contextlib.suppress(Exception):  # its first client then finds it built
                __import__("httpx")._config.create_ssl_context()
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

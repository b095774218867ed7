"""A task's configuration, checked before anything starts.

``config`` is a plain dict (the cmbagent backend's convention). The keys cmbjupyter reads are
checked here and a bad one raises :class:`~cmbjupyter.errors.ConfigError` (a ``ValueError``) naming
the key and what it accepts; every other key passes through to the engine untouched.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any, Final

from .dag import MODES, canonical_mode
from .errors import ConfigError
from .events import dumps
from .session import validate_session_id

__all__ = ["DEFAULT_ENGINE", "ENGINE_ENV", "TaskConfig", "check_encodable", "resolve_engine"]

DEFAULT_ENGINE: Final = "cmbagent"
ENGINE_ENV: Final = "CMBJUPYTER_ENGINE"
PYTHON_ENV: Final = "CMBJUPYTER_PYTHON"
BACKENDS: Final = ("local", "dask")


def resolve_engine(config: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> str:
    """``config["engine"]``, else ``$CMBJUPYTER_ENGINE``, else ``cmbagent``."""
    environ = os.environ if environ is None else environ
    engine = config.get("engine") or environ.get(ENGINE_ENV) or DEFAULT_ENGINE
    if not isinstance(engine, str) or any(c.isspace() for c in engine):
        raise ConfigError(
            f"config['engine'] must be an engine name or 'package.module:callable', not {engine!r}"
        )
    return engine


def _positive(config: Mapping[str, Any], key: str, unit: str) -> float | None:
    value = config.get(key)
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ConfigError(f"config[{key!r}] must be a positive number of {unit}, not {value!r}")
    return float(value)


def _checked_env(env: Any) -> dict[str, str]:
    """``config['env']``: names and values the OS can put in an environment (no ``=`` or NUL in a
    name, no NUL in a value), so a bad one is a ConfigError here, not a failed spawn later."""
    env = {} if env is None else env
    if not isinstance(env, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in env.items()
    ):
        raise ConfigError("config['env'] must map variable names to string values")
    for name, value in env.items():
        if not name or "=" in name or "\0" in name:
            raise ConfigError(
                f"config['env'] has an invalid variable name {name!r} (empty, or with '=' or NUL)"
            )
        if "\0" in value:
            raise ConfigError(
                f"config['env'][{name!r}] contains a NUL character, which no environment can hold"
            )
    check_encodable(env, "config['env']")
    return dict(env)


def check_encodable(value: Any, what: str) -> None:
    """ConfigError unless ``value`` (the task, its config) can travel as UTF-8 JSON, as every event,
    sidecar and request does: a lone surrogate (``"\\ud800"``) is refused before anything starts."""
    try:
        dumps(value).encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start : exc.end] if isinstance(exc.object, str) else "?"
        raise ConfigError(
            f"{what} cannot be encoded as UTF-8 ({bad!r} at position {exc.start} is a lone surrogate)"
        ) from None


class TaskConfig:
    """The checked view of a task config; ``engine_config`` is what the worker's engine receives."""

    def __init__(self, config: Mapping[str, Any] | None) -> None:
        if config is not None and not isinstance(config, Mapping):
            raise ConfigError(f"config must be a dict, not {type(config).__name__}")
        raw = dict(config or {})
        mode = raw.get("mode", "one-shot")
        try:
            self.mode = canonical_mode(mode) if isinstance(mode, str) else canonical_mode(repr(mode))
        except ValueError:
            raise ConfigError(f"unknown mode {mode!r}: choose one of {', '.join(MODES)}") from None
        self.engine = resolve_engine(raw)
        session_id = raw.get("session_id")
        try:
            self.session_id = None if session_id is None else validate_session_id(session_id)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        self.timeout = _positive(raw, "timeout", "seconds")
        self.memory_limit_mb = _positive(raw, "memory_limit_mb", "megabytes")
        self.budget_usd = _positive(raw, "budget_usd", "dollars")
        self.env: dict[str, str] = _checked_env(raw.get("env"))
        self.work_dir = raw.get("work_dir")
        if self.work_dir is not None and not isinstance(self.work_dir, (str, os.PathLike)):
            raise ConfigError(f"config['work_dir'] must be a path, not {self.work_dir!r}")
        # Another environment's interpreter (e.g. one with cmbagent on a newer Python) for the worker.
        self.python = raw.get("python") or os.environ.get(PYTHON_ENV) or None
        if self.python is not None and not (isinstance(self.python, str) and os.access(self.python, os.X_OK)):
            raise ConfigError(
                f"config['python'] (or ${PYTHON_ENV}) must be the path of a Python interpreter, "
                f"not {self.python!r}"
            )
        self.backend = raw.get("backend", "local")
        if self.backend not in BACKENDS:
            raise ConfigError(f"config['backend'] must be one of {', '.join(BACKENDS)}, not {self.backend!r}")
        prices = {} if raw.get("prices") is None else raw["prices"]
        if not isinstance(prices, Mapping):
            raise ConfigError(
                "config['prices'] must map model names to {'input': $/Mtok, 'output': $/Mtok, ...}"
            )
        self.prices = prices
        raw["mode"], raw["engine"] = self.mode, self.engine
        check_encodable(raw, "the config")
        self.raw = raw

    @property
    def engine_config(self) -> dict[str, Any]:
        """What the engine sees: everything but the worker's environment (it is in os.environ)."""
        return {k: v for k, v in self.raw.items() if k != "env"}

"""The one configuration room: a task's configuration, checked before anything starts, and every
``CMBJUPYTER_*`` environment variable cmbjupyter reads (no other module reads them).

``config`` is a plain dict (the cmbagent backend's convention). The keys cmbjupyter reads are
checked here and a bad one raises :class:`~cmbjupyter.errors.ConfigError` (a ``ValueError``) naming
the key and what it accepts; every other key passes through to the engine untouched. Where a key
is missing, the environment gives the default (``$CMBJUPYTER_ENGINE``, ``$CMBJUPYTER_PYTHON``);
the server extension's traitlets only feed defaults into the config it submits.

Session ids are checked here too: they name files, so one rule says what a safe one is.
"""

from __future__ import annotations

import math
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from ._shapes import event_problem
from .dag import MODES, canonical_mode
from .errors import ConfigError, InvalidSessionId
from .events import dumps

__all__ = [
    "DEFAULT_ENGINE",
    "DEFAULT_SESSIONS_DIR",
    "DEFAULT_SNAPSHOT_MAX_BYTES",
    "ENGINE_ENV",
    "GIVEN_PLAN_MODES",
    "GIVEN_PLAN_REFUSAL",
    "PLAN_MODES",
    "PYTHON_ENV",
    "SESSIONS_DIR_ENV",
    "SNAPSHOT_MAX_BYTES_ENV",
    "ServerSetting",
    "TaskConfig",
    "check_encodable",
    "default_python",
    "new_session_id",
    "offline",
    "resolve_engine",
    "server_setting",
    "sessions_dir",
    "validate_session_id",
]

DEFAULT_ENGINE: Final = "cmbagent"
#: The engine of tasks whose config names none.
ENGINE_ENV: Final = "CMBJUPYTER_ENGINE"
#: The worker's interpreter (e.g. the cmbagent environment's) when the config names none.
PYTHON_ENV: Final = "CMBJUPYTER_PYTHON"
#: Where a kernel or the CLI keeps its sessions (default: DEFAULT_SESSIONS_DIR, relative to the cwd).
SESSIONS_DIR_ENV: Final = "CMBJUPYTER_SESSIONS_DIR"
DEFAULT_SESSIONS_DIR: Final = ".cmbagent/sessions"
#: ``off`` (or 0/no/none/false/kernel): never use a Jupyter server (kernel mode).
SERVER_ENV: Final = "CMBJUPYTER_SERVER"
#: A server to use (with SERVER_TOKEN_ENV, else ``$JUPYTER_TOKEN``) instead of discovering one.
SERVER_URL_ENV: Final = "CMBJUPYTER_SERVER_URL"
SERVER_TOKEN_ENV: Final = "CMBJUPYTER_SERVER_TOKEN"
#: ``1``: examples and tests must not make paid LLM calls, whatever keys are set.
OFFLINE_ENV: Final = "CMBJUPYTER_OFFLINE"
#: The default limit of a session's work-dir snapshots (``config["snapshot_max_bytes"]``).
SNAPSHOT_MAX_BYTES_ENV: Final = "CMBJUPYTER_SNAPSHOT_MAX_BYTES"
#: 1 GiB: a run's plots, tables and code fit many times over, while a run that rewrites big data
#: products at every step stops snapshotting long before it fills a laptop's disk.
DEFAULT_SNAPSHOT_MAX_BYTES: Final = 1 << 30
_OFF: Final = frozenset({"0", "off", "no", "none", "false", "kernel"})
BACKENDS: Final = ("local", "dask")
#: The cmbagent modes whose plan a user can approve (``approve_plan``): planning-control and
#: idea-generation pause after their planning chat, control before its chat runs the plan it is
#: given (``worker/engines/cmbagent_plan.py``).
PLAN_MODES: Final = ("planning-control", "idea-generation", "control")
#: The cmbagent modes that run a given plan, with no planner: a rejected plan cannot be planned again.
GIVEN_PLAN_MODES: Final = ("control",)
#: Why the plan of such a run cannot be rejected (a 409 in the kernel, over REST and in the CLI).
GIVEN_PLAN_REFUSAL: Final = "{mode} mode runs a given plan: edit and approve it, or cancel the run"
#: A plain file name: letters, digits, ``._-``, at most 128, starting with a letter or digit.
_SESSION_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def validate_session_id(session_id: object) -> str:
    """``session_id`` if it is a plain file name (letters, digits, ``._-``, at most 128, no ``..``)."""
    if not isinstance(session_id, str) or not _SESSION_ID.fullmatch(session_id) or ".." in session_id:
        shown = repr(session_id)
        shown = shown if len(shown) <= 80 else shown[:80] + "…"
        raise InvalidSessionId(
            f"invalid session id {shown}: use 1-128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit, without '..'"
        )
    return session_id


def new_session_id() -> str:
    return f"s-{uuid.uuid4().hex[:12]}"


def _environ(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def sessions_dir(root: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None) -> str:
    """A kernel's or the CLI's session folder: ``root``, else ``$CMBJUPYTER_SESSIONS_DIR``, else
    ``.cmbagent/sessions`` (relative to the working folder: beside the notebook)."""
    return os.fspath(root or _environ(environ).get(SESSIONS_DIR_ENV) or DEFAULT_SESSIONS_DIR)


def default_python(environ: Mapping[str, str] | None = None) -> str | None:
    """The worker's interpreter when a config names none: ``$CMBJUPYTER_PYTHON``, else None (this
    process's own)."""
    return _environ(environ).get(PYTHON_ENV) or None


def offline(environ: Mapping[str, str] | None = None) -> bool:
    """True when paid LLM calls are forbidden (``CMBJUPYTER_OFFLINE=1``: tests, CI)."""
    return _environ(environ).get(OFFLINE_ENV, "").strip().lower() in ("1", "true", "yes")


@dataclass(frozen=True)
class ServerSetting:
    """What the environment says about server mode: disabled, a named server, or discover one."""

    disabled: bool = False
    url: str = ""
    token: str = ""


def server_setting(environ: Mapping[str, str] | None = None) -> ServerSetting:
    environ = _environ(environ)
    if environ.get(SERVER_ENV, "").strip().lower() in _OFF:
        return ServerSetting(disabled=True)
    url = environ.get(SERVER_URL_ENV, "").strip()
    if not url:
        return ServerSetting()
    token = environ.get(SERVER_TOKEN_ENV) or environ.get("JUPYTER_TOKEN") or ""
    return ServerSetting(url=url if url.endswith("/") else url + "/", token=token)


def resolve_engine(config: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> str:
    """``config["engine"]``, else ``$CMBJUPYTER_ENGINE``, else ``cmbagent``."""
    environ = _environ(environ)
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


def _snapshot_limit(raw: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> int:
    """``config["snapshot_max_bytes"]``, else ``$CMBJUPYTER_SNAPSHOT_MAX_BYTES``, else 1 GiB: the most
    bytes of the session's work-dir snapshots, and of a python-engine fork's copy of its cwd
    (0: no snapshots)."""
    value: Any = raw.get("snapshot_max_bytes")
    where = "config['snapshot_max_bytes']"
    if value is None:
        text = _environ(environ).get(SNAPSHOT_MAX_BYTES_ENV, "").strip()
        if not text:
            return DEFAULT_SNAPSHOT_MAX_BYTES
        where, value = f"${SNAPSHOT_MAX_BYTES_ENV}", int(text) if text.isdigit() else text
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{where} must be a number of bytes (0 or more), not {value!r}")
    return value


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
        #: A plan step's own budget, unless the approved plan gives that step one (``budget_usd``).
        self.step_budget_usd = _positive(raw, "step_budget_usd", "dollars")
        self.approve_plan = raw.get("approve_plan", False)
        if not isinstance(self.approve_plan, bool):
            raise ConfigError(f"config['approve_plan'] must be true or false, not {self.approve_plan!r}")
        if self.approve_plan and self.engine == "cmbagent" and self.mode not in PLAN_MODES:
            modes = ", ".join(PLAN_MODES)
            raise ConfigError(f"config['approve_plan'] needs a mode with a plan ({modes}), not {self.mode!r}")
        #: Why a rejection is refused (the engine runs a plan it was given), or None: it plans again.
        given = self.engine == "cmbagent" and self.mode in GIVEN_PLAN_MODES
        self.reject_refused = GIVEN_PLAN_REFUSAL.format(mode=self.mode) if given else None
        self.env: dict[str, str] = _checked_env(raw.get("env"))
        self.work_dir = raw.get("work_dir")
        if self.work_dir is not None and not isinstance(self.work_dir, (str, os.PathLike)):
            raise ConfigError(f"config['work_dir'] must be a path, not {self.work_dir!r}")
        # Another environment's interpreter (e.g. one with cmbagent on a newer Python) for the worker.
        self.python = raw.get("python") or default_python()
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
        restart = raw.get("restart")
        problem = None if restart is None else event_problem("restart", restart)
        if problem is not None:
            raise ConfigError(f"config['restart'] (a resume's or a fork's, see cmbjupyter.books): {problem}")
        #: Where a resumed or forked run restarts, its lineage and carried books (published first).
        self.restart: dict[str, Any] | None = dict(restart) if restart is not None else None
        self.snapshot_max_bytes = _snapshot_limit(raw)
        #: The session's snapshot store (set by the executor for a local run with a session): the
        #: worker records the work dir before each step there (``snapshots.py``).
        self.snapshot_dir: str | None = None
        self._check_dask(raw)
        raw["mode"], raw["engine"] = self.mode, self.engine
        check_encodable(raw, "the config")
        self.raw = raw

    def _check_dask(self, raw: Mapping[str, Any]) -> None:
        """The Dask backend's keys (read by ``backends/dask.py``; checked whatever the backend)."""
        address = raw.get("scheduler_address")
        if address is not None and not (isinstance(address, str) and address.strip()):
            raise ConfigError(
                f"config['scheduler_address'] must be an address like 'tcp://host:8786', not {address!r}"
            )
        self.scheduler_address: str | None = address
        resources = raw.get("dask_resources")
        if resources is not None and not (
            isinstance(resources, Mapping)
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in resources.values())
        ):
            raise ConfigError(
                f"config['dask_resources'] must map resource names to numbers, not {resources!r}"
            )
        self.dask_resources: Mapping[str, float] | None = resources
        self.dask_host_timeout = _positive(raw, "dask_host_timeout", "seconds")
        limit = raw.get("artifact_transfer_max_bytes")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            raise ConfigError(
                f"config['artifact_transfer_max_bytes'] must be a number of bytes (0 or more), not {limit!r}"
            )
        #: Files a remote Dask run makes up to this size come back to the host (None: the default).
        self.artifact_transfer_max_bytes: int | None = limit

    @property
    def engine_config(self) -> dict[str, Any]:
        """What the engine sees: everything but the worker's environment (it is in os.environ); and
        ``snapshots`` (the worker takes it out before the engine runs)."""
        config = {k: v for k, v in self.raw.items() if k != "env"}
        if self.snapshot_dir is not None and self.snapshot_max_bytes > 0:
            config["snapshots"] = {"dir": self.snapshot_dir, "max_bytes": self.snapshot_max_bytes}
        return config

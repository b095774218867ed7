"""Fork a saved session at step N: a new session that starts from the parent's state before step N.

:func:`fork_config` returns the task and config of the child run; running it is the caller's
(``api.fork``, ``Run.fork``, ``%cmbagent fork``, ``cmbjupyter fork``, ``POST sessions/{id}/fork``):

* the **work dir** is the parent's as it was before step N: rebuilt from the manifest the parent's
  worker recorded at that step boundary, from the contents kept in the parent's snapshot store
  (:mod:`.snapshots`), so files made at or after step N are absent and files rewritten since are at
  their earlier content (lineage ``work_dir_from: "snapshot"``). Where the parent has no snapshot
  before step N (its store reached ``snapshot_max_bytes``, a Dask run, a session older than the
  store) the child starts from the parent's final files, and its ``restart`` message says so
  before it runs (``work_dir_from: "final"``). Either way each file is a copy-on-write clone
  (``FICLONE``) where the filesystem has one (btrfs, XFS), else a plain copy. Never a hard link: a
  hard link shares the file, so a child that rewrites it in place (``open(p, "r+")``, an append)
  would change the parent's copy; the parent's files are only ever read. A python-engine fork's
  copy of the parent's final cwd is refused past ``snapshot_max_bytes`` (:class:`WorkDirTooLarge`,
  before anything is copied);
* the **context** is the one saved when step N started (the parent's event log), and the
  **plan** is the parent's (cmbagent: ``planning/final_plan.json`` in the copied work dir, with
  ``instructions`` added to step N's bullet points; python: the task itself and ``context``);
* the **changes** (``instructions``, ``model``, ``budget_usd``) apply to the child only, and its
  lineage (``parent_session``, ``forked_at_step``, ``changes``) goes into its ``restart`` event,
  hence its RunState and its sidecar. Steps before N are shown restored (not re-run, costing
  nothing in the child); what the parent spent before N is carried (:mod:`.books`).

Where each engine's child works: cmbagent works in ``<base>/cmbagent_output/<session>``, so the
child gets ``<base>/cmbagent_output/<child>``; a python-engine run works in its cwd, so the child
gets ``<sessions folder>/../forks/<child>`` (dot-entries, ``__pycache__``, ``node_modules``,
``cmbagent_output``, ``dask_output`` and ``forks`` of that cwd are not copied, nor the copy itself
when it lies inside the folder copied).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final

from .books import CMBAGENT_RESTART_MODES, fork_carried, parent_at_step
from .config import SNAPSHOT_MAX_BYTES_ENV, TaskConfig, validate_session_id
from .errors import ConfigError, SessionError, WorkDirTooLarge
from .redact import REDACTED
from .session import SessionManager
from .snapshots import SKIPPED_TOP, clone_file, manifest_before, restore, store_for, store_index
from .task_steps import restart_problem

__all__ = ["CHANGES", "clone_tree", "fork_config"]

#: The changes a fork may make (the magic's and the CLI's flags, the REST body's fields).
CHANGES: Final = ("instructions", "model", "budget_usd")
#: Names never copied from a python-engine run's cwd (another run's folders, caches, dot-entries).
_SKIPPED: Final = SKIPPED_TOP | {"__pycache__", "node_modules"}


def _identity(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_dev, stat.st_ino


def _kept(src: Path, dst: Path, skip_top: frozenset[str]) -> Iterator[tuple[Path, Path, bool]]:
    """(path, its place in ``dst``, is a file) for each folder and file of ``src`` a fork copies
    (folders first, empty ones too)."""
    target_id = _identity(dst) if dst.exists() else None  # the copy itself, if it lies inside src
    for folder, dirs, files in os.walk(src, followlinks=False):
        here = Path(folder)
        top = here == src
        dirs[:] = [
            d
            for d in dirs
            if not d.startswith(".")
            and d not in ("__pycache__", "node_modules")
            and not (top and d in skip_top)
            and _identity(here / d) != target_id
        ]
        target = dst / here.relative_to(src)
        yield here, target, False
        for name in files:
            path = here / name
            if not name.startswith(".") and not path.is_symlink() and path.is_file():
                yield path, target / name, True


def clone_tree(
    src: Path, dst: Path, *, skip_top: frozenset[str] = frozenset(), max_bytes: int | None = None
) -> dict[str, int]:
    """Copy the folder ``src`` into the new folder ``dst`` without ever writing to ``src``.

    Symlinks are not followed nor copied (a work dir is not trusted), nor dot-entries. More than
    ``max_bytes`` to copy is :class:`WorkDirTooLarge`, before anything is copied. Returns the
    counts: ``files``, ``bytes``, ``cloned`` (copy-on-write) and ``copied``.
    """
    counts = {"files": 0, "bytes": 0, "cloned": 0, "copied": 0}
    dst.mkdir(parents=True, exist_ok=False)
    try:
        kept = list(_kept(src, dst, skip_top))
        total = sum(path.stat().st_size for path, _, is_file in kept if is_file)
        if max_bytes is not None and total > max_bytes:
            files = sum(is_file for *_, is_file in kept)
            raise WorkDirTooLarge(
                f"the fork would copy {files} files, {total} bytes of {src}, more than the limit of "
                f"{max_bytes} bytes (snapshot_max_bytes, ${SNAPSHOT_MAX_BYTES_ENV}): raise the "
                "limit for this fork, or move what the task does not need out of that folder"
            )
        for path, target, is_file in kept:
            if not is_file:
                target.mkdir(exist_ok=True)
                continue
            how = clone_file(path, target)
            shutil.copystat(path, target)
            counts["files"] += 1
            counts["bytes"] += target.stat().st_size
            counts["cloned" if how == "clone" else "copied"] += 1
    except BaseException:
        shutil.rmtree(dst, ignore_errors=True)
        raise
    return counts


def _from_snapshot(
    parent_id: str, store: Path, at_step: int, child_dir: Path
) -> tuple[dict[str, int] | None, str]:
    """The child's work dir rebuilt from the parent's snapshot before ``at_step``, or None and why not."""
    try:
        manifest = manifest_before(store, at_step)
        index = store_index(store) or {}
    except (OSError, ValueError) as exc:
        return None, f"its snapshot store cannot be read ({exc})"
    if manifest is None:
        stopped = index.get("stopped_at_step")
        if isinstance(stopped, int) and stopped <= at_step:
            return None, f"{parent_id}'s snapshots stopped before step {stopped}: {index.get('reason')}"
        return None, f"{parent_id} kept no snapshot of its work dir before step {at_step}"
    try:
        return restore(store, manifest, child_dir), ""
    except (OSError, ValueError) as exc:
        shutil.rmtree(child_dir, ignore_errors=True)
        return None, f"its snapshot before step {at_step} is damaged ({exc})"


def _steps(last: int) -> str:
    return "step 1" if last == 1 else f"steps 1-{last}"


def _child_id(manager: SessionManager, parent: str, at_step: int, wanted: str | None) -> str:
    if wanted is not None:
        try:
            child = validate_session_id(wanted)
        except ValueError as exc:  # the new session's name is the caller's input: a 400, not a 404
            raise ConfigError(f"the fork's session: {exc}") from None
        if manager.path(child).exists():
            raise SessionError(f"session {child!r} exists already: name the fork another session")
        return child
    for n in range(1, 1000):
        child = f"{parent}-fork{at_step}" + (f"-{n}" if n > 1 else "")
        if len(child) <= 128 and not manager.path(child).exists():
            return child
    raise SessionError(f"no free session name for a fork of {parent!r}: pass session_id")


def _checked_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(changes) - set(CHANGES))
    if unknown:
        raise ConfigError(f"a fork changes only {', '.join(CHANGES)}; not {', '.join(unknown)}")
    checked = {k: v for k, v in changes.items() if v is not None}
    for key in ("instructions", "model"):
        if key in checked and not (isinstance(checked[key], str) and checked[key].strip()):
            raise ConfigError(f"fork {key} must be a non-empty string, not {checked[key]!r}")
    budget = checked.get("budget_usd")
    if budget is not None and (
        isinstance(budget, bool) or not isinstance(budget, (int, float)) or budget <= 0
    ):
        raise ConfigError(f"fork budget_usd must be a positive number of dollars, not {budget!r}")
    return checked


def _cmbagent_plan(work_dir: Path, at_step: int, instructions: str | None) -> None:
    """Check the child's copy of cmbagent's plan has step ``at_step``; add ``instructions`` to it
    (written to a new file: the copy is the child's own)."""
    plan_file = work_dir / "planning" / "final_plan.json"
    try:
        plan = json.loads(plan_file.read_text())
        sub_tasks = plan["sub_tasks"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"cannot fork at step {at_step}: the parent saved no plan in {plan_file} ({exc})"
        ) from None
    if not 1 <= at_step <= len(sub_tasks):
        raise ConfigError(f"cannot fork at step {at_step}: the parent's plan has {len(sub_tasks)} steps")
    if instructions:
        step = sub_tasks[at_step - 1]
        step["bullet_points"] = [*(step.get("bullet_points") or []), instructions]
        tmp = plan_file.with_name(plan_file.name + ".fork")
        tmp.write_text(json.dumps(plan, indent=2))
        os.replace(tmp, plan_file)


def fork_config(
    manager: SessionManager,
    parent_id: str,
    at_step: int,
    *,
    session_id: str | None = None,
    changes: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> tuple[str, dict[str, Any]]:
    """The task and config of a fork of ``parent_id`` at ``at_step`` (its work dir copied now).

    ConfigError (HTTP 400) names what makes the fork impossible (a step the parent never reached,
    an engine that cannot restart mid-way, a bad change) before anything is copied or run;
    SessionNotFound if there is no such parent.
    """
    if isinstance(at_step, bool) or not isinstance(at_step, int) or at_step < 1:
        raise ConfigError(f"--at-step must be a step number (1, 2, ...), not {at_step!r}")
    record = manager.load_session(parent_id)
    checked = _checked_changes(changes or {})
    config = {k: v for k, v in (record.get("config") or {}).items() if v != REDACTED and k != "env"}
    for key in ("resume", "restart", "restart_at_step", "context", "task_id"):
        config.pop(key, None)
    engine, mode = (
        str(config.get("engine") or record.get("engine")),
        str(config.get("mode") or record.get("mode")),
    )
    task = str(record.get("task") or "")
    if engine == "python":
        problem = restart_problem(task, at_step)
        if problem is not None:
            raise ConfigError(f"cannot fork {parent_id!r} at step {at_step}: {problem}")
    elif not (engine == "cmbagent" and mode in CMBAGENT_RESTART_MODES):
        raise ConfigError(
            f"cannot fork {parent_id!r} at step {at_step}: the {engine} engine in mode {mode!r} cannot "
            f"restart mid-way (forks: the python engine, cmbagent {', '.join(CMBAGENT_RESTART_MODES)})"
        )
    at = parent_at_step(manager.event_log_path(parent_id), at_step)
    if at.context is None:
        raise ConfigError(
            f"cannot fork {parent_id!r} at step {at_step}: its event log "
            f"({manager.event_log_path(parent_id)}) never reaches step {at_step}"
        )
    parent_dir = Path(str(record.get("work_dir") or ""))
    if not record.get("work_dir") or not parent_dir.is_dir():
        raise ConfigError(f"cannot fork {parent_id!r}: its work dir {parent_dir} is gone")
    child = _child_id(manager, parent_id, at_step, session_id)
    if engine == "cmbagent":  # cmbagent works in <base>/cmbagent_output/<session>
        base, child_dir, skip = parent_dir.parent.parent, parent_dir.parent / child, frozenset()
    else:
        base = child_dir = manager.root.resolve().parent / "forks" / child
        skip = _SKIPPED
    context = dict(at.context)
    if "instructions" in checked:
        context["instructions"] = checked["instructions"]
    config.update(overrides or {})
    config.update(
        session_id=child,
        work_dir=os.fspath(base),
        restart_at_step=at_step,
        context=context,
        **{k: v for k, v in checked.items() if k != "instructions"},
    )
    if "instructions" in checked:
        config["instructions"] = checked["instructions"]
    limit = TaskConfig(config).snapshot_max_bytes  # a bad override or change: refused before copying
    copied, why_final = _from_snapshot(parent_id, store_for(manager.path(parent_id)), at_step, child_dir)
    if copied is None:
        copied = clone_tree(
            parent_dir, child_dir, skip_top=skip, max_bytes=limit if engine == "python" and limit else None
        )
    try:
        if engine == "cmbagent":
            _cmbagent_plan(child_dir, at_step, checked.get("instructions"))
    except BaseException:
        shutil.rmtree(child_dir, ignore_errors=True)
        raise
    how = "copy-on-write" if copied["cloned"] and not copied["copied"] else "copied"
    files = f"{copied['files']} files, {copied['bytes']} bytes {how}"
    where = (
        f"its work dir as it was before step {at_step} ({files})"
        if not why_final
        else f"its work dir from {parent_id}'s FINAL files, not as they were before step {at_step}, "
        f"since {why_final} ({files})"
    )
    config["restart"] = {
        "message": (
            f"forked from {parent_id} at step {at_step}: {_steps(at_step - 1)} restored, not re-run; "
            f"restarts at step {at_step} from {where}"
            if at_step > 1
            else f"forked from {parent_id} at step 1: runs every step again with the changes, from {where}"
        ),
        "work_dir_from": "final" if why_final else "snapshot",
        "at_step": at_step,
        "parent_session": parent_id,
        "forked_at_step": at_step,
        "changes": checked,
        "restored_steps": list(range(1, at_step)),
        "carried": fork_carried(record, at, at_step),
        "copied": copied,
    }
    return task, config

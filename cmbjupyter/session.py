"""SessionManager: one JSON sidecar per session, written atomically, so no run is ever lost.

``<root>/<session_id>.json`` holds what a run needs to be inspected, replayed or resumed: status
(active, suspended, completed), phase and step, the conversation (last 100 entries, each capped),
the context variables (JSON-safe), the DAG, the cost totals and the price-table version. A write
goes to a temporary file that is fsynced and renamed over the old one, so a crash or a full disk
leaves the previous version intact, never a torn file. Secrets are redacted before anything is
written. Files are private to the user (0600, folder 0700).

The folder is not trusted on reading: a sidecar is opened without following symlinks and without
blocking, only if it is a regular file of at most ``MAX_SIDECAR_BYTES`` (:mod:`._safefile`); the
listing comes from a per-file index (:mod:`._session_index`), paged by :meth:`SessionManager.list_page`.

The method names are the cmbagent backend's (``save_session_state``, ``complete_session``,
``suspend_session``), so code written against it keeps working.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from . import _safefile
from ._session_index import SessionIndex
from .config import DEFAULT_SESSIONS_DIR, new_session_id, validate_session_id
from .errors import InvalidSessionId, SessionCorrupt, SessionNotFound, SessionWriteError
from .events import dumps, json_safe, now_iso
from .redact import Redactor
from .snapshots import store_for

__all__ = [
    "ENTRY_CHARS",
    "HISTORY_ENTRIES",
    "MAX_SIDECAR_BYTES",
    "SIDECAR_VERSION",
    "SessionManager",
    "atomic_write",
    "origin_of",
]

#: The sidecar format version this code writes (and the newest it reads).
SIDECAR_VERSION: Final = 1
#: Conversation entries kept in a sidecar.
HISTORY_ENTRIES: Final = 100
#: Characters kept of one conversation entry.
ENTRY_CHARS: Final = 4000
#: A sidecar larger than this is refused unread (a real one is far smaller: history is capped).
MAX_SIDECAR_BYTES: Final = 16 * 1024 * 1024
STATUSES: Final = ("active", "suspended", "completed")


def origin_of(record: Mapping[str, Any]) -> dict[str, Any]:
    """Where a server task came from (``config["origin"]``: server pid and start, notebook), or ``{}``."""
    config = record.get("config")
    origin = config.get("origin") if isinstance(config, Mapping) else None
    return dict(origin) if isinstance(origin, Mapping) else {}


def _outcome_row(outcome: Any) -> dict[str, Any] | None:
    """A listing's outcome: its status and one-line label (the sidecar has the rest)."""
    if not isinstance(outcome, Mapping):
        return None
    return {"status": outcome.get("status"), "label": outcome.get("label")}


def _cap_entry(entry: Any) -> dict[str, Any]:
    capped: dict[str, Any] = (
        dict(entry) if isinstance(entry, Mapping) else {"role": "system", "content": str(entry)}
    )
    content = capped.get("content")
    if isinstance(content, str) and len(content) > ENTRY_CHARS:
        capped["content"] = f"{content[:ENTRY_CHARS]}… [{len(content) - ENTRY_CHARS} more characters]"
    return capped


def atomic_write(path: Path, payload: bytes, *, keep_mode: bool = False) -> None:
    """Replace ``path`` with ``payload`` all at once (temp file, fsync, rename, fsync folder).

    The new file is private (0600) unless ``keep_mode`` asks to keep the old file's permissions.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # mode 0600
    try:
        if keep_mode and path.exists():
            os.fchmod(fd, path.stat().st_mode & 0o7777)
        with os.fdopen(fd, "wb") as file:
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _matches(row: Mapping[str, Any], words: list[str]) -> bool:
    """Whether every word is in the row's session id, task or mode (``words`` casefolded)."""
    text = " ".join(str(row.get(key) or "") for key in ("session_id", "task", "mode")).casefold()
    return all(word in text for word in words)


class SessionManager:
    """Creates, saves, completes, suspends, loads and lists sessions under ``root``."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root if root is not None else DEFAULT_SESSIONS_DIR)
        self._open: dict[str, dict[str, Any]] = {}  # sessions written by this manager, as last written
        self._redactors: dict[str, Redactor] = {}
        self._index = SessionIndex(self._listing_row)

    # ------------------------------------------------------------------ paths

    def path(self, session_id: str) -> Path:
        """The sidecar file of ``session_id`` (validated: it can never point outside ``root``)."""
        return self.root / f"{validate_session_id(session_id)}.json"

    def event_log_path(self, session_id: str) -> Path:
        return self.root / f"{validate_session_id(session_id)}.events.jsonl"

    # ------------------------------------------------------------------ writing

    def create_session(
        self,
        session_id: str | None = None,
        *,
        mode: str | None = None,
        task: str | None = None,
        config: Mapping[str, Any] | None = None,
        redactor: Redactor | None = None,
        **fields: Any,
    ) -> str:
        """Start (or reopen, when the sidecar exists) a session; returns its id.

        ``redactor`` (default: one made from ``config``) scrubs every later write of this session.
        """
        session_id = validate_session_id(session_id) if session_id is not None else new_session_id()
        redactor = redactor or Redactor.for_task(config)
        self._redactors[session_id] = redactor
        try:
            record = self._current(session_id)
            record["resumed"] = record.get("resumed", 0) + 1
        except SessionNotFound:
            record = {
                "version": SIDECAR_VERSION,
                "session_id": session_id,
                "created_at": now_iso(),
                "current_phase": None,
                "current_step": None,
                "conversation_history": [],
                "context_variables": {},
            }
        record.update(
            status="active",
            mode=mode or record.get("mode"),
            task=task if task is not None else record.get("task"),
            config=redactor.config(config) if config is not None else record.get("config"),
            event_log=str(self.event_log_path(session_id)),
            suspend_reason=None,
            **fields,
        )
        self._write(session_id, record)
        return session_id

    def save_session_state(
        self,
        session_id: str,
        conversation_history: Iterable[Any] | None = None,
        context_variables: Mapping[str, Any] | None = None,
        current_phase: str | None = None,
        current_step: int | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Save the state of a running session (the executor calls this on every phase change).

        ``fields`` may carry ``dag``, ``cost``, ``status``, ``task_id``... Returns the saved record.
        """
        record = self._current(session_id, create=True)
        if conversation_history is not None:
            record["conversation_history"] = [
                _cap_entry(e) for e in list(conversation_history)[-HISTORY_ENTRIES:]
            ]
        if context_variables is not None:
            record["context_variables"] = json_safe(context_variables)
        record["current_phase"], record["current_step"] = current_phase, current_step
        record.update(fields)
        self._write(session_id, record)
        return record

    def update_session(self, session_id: str, *, close: bool = False, **fields: Any) -> None:
        """Set ``fields`` of an existing session and nothing else (e.g. the ``worker`` running it).
        ``close``: the session's run is over (its record is not kept in memory afterwards)."""
        record = self._current(session_id)
        record.update(fields)
        self._write(session_id, record)
        if close:
            self._close(session_id)

    def complete_session(self, session_id: str, result: Any = None, **fields: Any) -> None:
        """Mark a session completed (with the run's result, if given)."""
        record = self._current(session_id)
        record.update(status="completed", completed_at=now_iso(), **fields)
        if result is not None:
            record["result"] = json_safe(result)
        self._write(session_id, record)
        self._close(session_id)

    def suspend_session(self, session_id: str, reason: str | None = None, **fields: Any) -> None:
        """Mark a session suspended (error, cancel, worker death): it can be resumed later."""
        record = self._current(session_id, create=True)
        record.update(status="suspended", suspended_at=now_iso(), suspend_reason=reason, **fields)
        self._write(session_id, record)
        self._close(session_id)

    def delete_session(self, session_id: str) -> None:
        for path in (self.path(session_id), self.event_log_path(session_id)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        shutil.rmtree(store_for(self.path(session_id)), ignore_errors=True)  # its work-dir snapshots
        self._close(session_id)

    # ------------------------------------------------------------------ reading

    def load_session(self, session_id: str) -> dict[str, Any]:
        """The sidecar's content; SessionNotFound / SessionCorrupt name the file and the problem."""
        path = self.path(session_id)
        try:
            raw = _safefile.read_regular(path, MAX_SIDECAR_BYTES)
        except FileNotFoundError:
            raise SessionNotFound(f"no session {session_id!r} in {self.root}") from None
        except OSError as exc:
            raise SessionCorrupt(f"session file {path} cannot be read: {exc.strerror or exc}") from exc
        try:
            record = json.loads(raw)
        except ValueError as exc:
            raise SessionCorrupt(f"session file {path} is damaged (not valid JSON: {exc})") from exc
        if not isinstance(record, dict) or not isinstance(record.get("version"), int):
            raise SessionCorrupt(f"session file {path} is damaged (no format version)")
        if record["version"] > SIDECAR_VERSION:
            raise SessionCorrupt(
                f"session file {path} has format version {record['version']}, written by a newer "
                f"cmbjupyter (this one reads up to {SIDECAR_VERSION}); upgrade cmbjupyter to open it"
            )
        return record

    def list_sessions(self) -> list[dict[str, Any]]:
        """A summary of every session, newest first; unreadable sidecars are listed as ``damaged``."""
        return self.list_page()[0]

    def list_page(
        self, offset: int = 0, limit: int | None = None, query: str | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """The listing's rows ``offset`` to ``offset + limit`` (all when ``limit`` is None), and the total.

        ``query``: only the rows each of whose words (case-insensitive) is in the session id, the
        task (the 200 characters a row keeps) or the mode; the total is then the number of those.
        Only sidecars that changed since the last listing are read again. Blocking file I/O: a
        server calls it off its event loop.
        """
        rows = self._index.rows(self.root)
        if query is not None:
            words = query.casefold().split()
            rows = [row for row in rows if _matches(row, words)]
        end = None if limit is None else offset + limit
        return [dict(row) for row in rows[offset:end]], len(rows)

    def summarize(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The listing entry of one session record."""
        cost = record.get("cost") or {}
        return {
            "session_id": record.get("session_id"),
            "status": record.get("status"),
            "mode": record.get("mode"),
            "phase": record.get("current_phase"),
            "step": record.get("current_step"),
            "task": (record.get("task") or "")[:200],
            "created_at": record.get("created_at"),
            "updated_at": record.get("updated_at"),
            "total_usd": cost.get("total_usd"),
            "carried_usd": (cost.get("carried") or {}).get("total_usd"),
            "parent_session": record.get("parent_session"),
            "suspend_reason": record.get("suspend_reason"),
            "path": str(self.path(str(record.get("session_id")))),
            "notebook": origin_of(record).get("notebook"),
            "task_id": record.get("task_id"),
            "engine": record.get("engine"),
            "run_status": record.get("run_status"),
            "started_at": record.get("created_at"),
            "outcome": _outcome_row(record.get("outcome")),
        }

    def _listing_row(self, session_id: str) -> dict[str, Any]:
        """The listing row of one sidecar; a ``damaged`` row naming the file and the problem."""
        try:
            record = self.load_session(session_id)
            try:
                return self.summarize(record)
            except (AttributeError, TypeError) as exc:  # valid JSON, fields of the wrong type
                raise SessionCorrupt(f"session file {self.path(session_id)} is damaged ({exc})") from exc
        except (SessionCorrupt, InvalidSessionId, SessionNotFound) as exc:
            return {
                "session_id": session_id,
                "status": "damaged",
                "error": str(exc),
                "path": str(self.root / f"{session_id}.json"),
                "updated_at": None,
            }

    # ------------------------------------------------------------------ internals

    def _current(self, session_id: str, *, create: bool = False) -> dict[str, Any]:
        validate_session_id(session_id)
        record = self._open.get(session_id)
        if record is not None:
            return dict(record)
        try:
            return self.load_session(session_id)
        except SessionNotFound:
            if not create:
                raise
            return {
                "version": SIDECAR_VERSION,
                "session_id": session_id,
                "created_at": now_iso(),
                "status": "active",
            }

    def _close(self, session_id: str) -> None:
        """Forget a finished session's cached record (a long-lived server runs thousands)."""
        self._open.pop(session_id, None)
        self._redactors.pop(session_id, None)

    def _write(self, session_id: str, record: dict[str, Any]) -> None:
        redactor = self._redactors.get(session_id) or self._redactors.setdefault("", Redactor.for_task(None))
        record["updated_at"] = now_iso()
        record["version"] = SIDECAR_VERSION
        record = redactor.value(json_safe(record))
        path = self.path(session_id)
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            atomic_write(path, (dumps(record) + "\n").encode())
        except OSError as exc:
            raise SessionWriteError(
                exc.errno,
                f"could not save session {session_id!r} to {path}: {exc.strerror or exc}; "
                "the previous version is kept",
            ) from exc
        self._open[session_id] = record

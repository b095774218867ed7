"""The work dir as it was before each step, kept so that a fork at step N starts from those files.

At each step boundary (the phase change that enters step N, after the watcher's final scan) the
worker records a **manifest** of the kept files of its work dir, ``{relative path: {sha256, size,
mode}}``, and keeps the content of each distinct sha256 once in a content-addressed store beside
the session::

    <sessions>/<session>.snapshots/
        objects/<sha[:2]>/<sha>   one read-only file per content
        steps/<N>.json            the manifest of the work dir before step N (its last start)
        index.json                the steps kept, the bytes stored, the limit, where snapshots stopped

A content is cloned copy-on-write where the filesystem can (``FICLONE``: btrfs, XFS), else copied;
never hard-linked (the run may rewrite a file in place, which would rewrite the store). Only a
content not stored yet is copied, and a file whose (size, mtime) is the one last hashed (by the
watcher, or at an earlier boundary) is not read again: a run that leaves its files alone pays a
``stat`` per file per boundary and one manifest write.

The store is bounded (``snapshot_max_bytes``, counted in file bytes whatever clones share): a
boundary that would pass the limit stops the run's snapshots there (``stopped_at_step`` in the
index, and the worker warns); a fork at that step or later starts from the parent's final files
and says so before it starts.

Standard library only: the worker writes the store (:class:`SnapshotWriter`); the host reads it
back (:func:`manifest_before`, :func:`store_index`) and rebuilds a fork's work dir (:func:`restore`).
"""

from __future__ import annotations

import fcntl
import hashlib
import itertools
import json
import os
import re
import shutil
import stat
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from ._safefile import read_regular

__all__ = [
    "SKIPPED_TOP",
    "SnapshotWriter",
    "clone_file",
    "file_sha256",
    "manifest_before",
    "restore",
    "store_for",
    "store_index",
    "summary",
]

#: ``ioctl(dst, FICLONE, src)``: a copy-on-write clone of a whole file (linux/fs.h).
FICLONE: Final = 0x40049409
#: Top-level names of a work dir never kept (other runs' folders: a python run's cwd may hold them).
SKIPPED_TOP: Final = frozenset({"cmbagent_output", "dask_output", "forks"})
#: Read size when copying or hashing.
_CHUNK: Final = 1 << 20
#: Most bytes of a manifest or index read back (a manifest of 100,000 files is about 15 MB).
_MAX_JSON: Final = 256 << 20
_SHA: Final = re.compile(r"[0-9a-f]{64}")
_temp_names = itertools.count()


def store_for(sidecar: str | os.PathLike[str]) -> Path:
    """The snapshot store of the session whose sidecar is ``sidecar``: ``<id>.snapshots`` beside it."""
    path = Path(sidecar)
    return path.with_name(path.name.removesuffix(".json") + ".snapshots")


def clone_file(src: str | os.PathLike[str], dst: str | os.PathLike[str], digest: Any = None) -> str:
    """Copy ``src`` into the new file ``dst``: a copy-on-write clone where the filesystem can, else
    its bytes (fed to ``digest`` too, when given). Returns ``"clone"`` or ``"copy"``."""
    with open(src, "rb") as source, open(dst, "xb") as target:
        try:
            fcntl.ioctl(target.fileno(), FICLONE, source.fileno())
            return "clone"
        except OSError:
            if digest is None:
                shutil.copyfileobj(source, target, _CHUNK)  # copy_file_range/sendfile where it can
            else:
                while chunk := source.read(_CHUNK):
                    digest.update(chunk)
                    target.write(chunk)
            return "copy"


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The sha256 of a file's bytes (read in chunks); OSError when it cannot be read."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _write_json(path: Path, value: Any) -> None:
    """Atomically: a temp file beside it, renamed over it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(json.dumps(value, separators=(",", ":")).encode())
    os.replace(tmp, path)


def _read_json(path: Path) -> Any:
    """A JSON file of the store, or None when it is missing (never a symlink, FIFO, device)."""
    try:
        return json.loads(read_regular(path, _MAX_JSON))
    except FileNotFoundError:
        return None


def store_index(store: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The store's index (``steps``, ``stored_bytes``, ``max_bytes``, ``stopped_at_step``,
    ``reason``), or None when the session has no store."""
    index = _read_json(Path(store) / "index.json")
    return index if isinstance(index, dict) else None


def summary(store: str | os.PathLike[str]) -> dict[str, Any] | None:
    """What a session's sidecar says of its snapshots: the ``steps`` kept, the ``stored_bytes`` and
    ``max_bytes``, and where the limit (or a failure) stopped them (``stopped_at_step``, ``reason``);
    None when it has none or the index cannot be read."""
    try:
        index = store_index(store)
    except (OSError, ValueError):
        return None
    keys = ("steps", "stored_bytes", "max_bytes", "stopped_at_step", "reason")
    return {k: index.get(k) for k in keys} if index else None


def manifest_before(store: str | os.PathLike[str], step: int) -> dict[str, Any] | None:
    """The manifest of the work dir before ``step`` (``files``: path -> sha256, size, mode), or None
    when the store has none for that step (no store, snapshots stopped earlier)."""
    manifest = _read_json(Path(store) / "steps" / f"{int(step)}.json")
    return manifest if isinstance(manifest, dict) and isinstance(manifest.get("files"), dict) else None


def _safe_relative(relative: Any) -> str:
    """``relative`` if it is a plain relative path (a manifest is read from a folder not trusted)."""
    parts = relative.split("/") if isinstance(relative, str) else []
    if not parts or any(p in ("", ".", "..") or p.startswith(".") or "\0" in p for p in parts):
        raise ValueError(f"the manifest names a path that is not a plain relative path: {relative!r}")
    return relative


def restore(store: str | os.PathLike[str], manifest: Mapping[str, Any], dst: Path) -> dict[str, int]:
    """Rebuild the work dir of ``manifest`` in the new folder ``dst`` from the store's contents
    (cloned or copied; the store is only read). Returns the counts ``files``, ``bytes``, ``cloned``,
    ``copied``. ValueError or OSError when the store is damaged (``dst`` is then left partial: the
    caller removes it)."""
    objects = Path(store) / "objects"
    counts = {"files": 0, "bytes": 0, "cloned": 0, "copied": 0}
    dst.mkdir(parents=True, exist_ok=False)
    for folder in manifest.get("dirs") or ():
        (dst / _safe_relative(folder)).mkdir(parents=True, exist_ok=True)
    for relative, entry in sorted(manifest["files"].items()):
        target = dst / _safe_relative(relative)
        sha = entry.get("sha256") if isinstance(entry, Mapping) else None
        if not isinstance(sha, str) or not _SHA.fullmatch(sha):
            raise ValueError(f"the manifest's entry for {relative!r} has no sha256")
        source = objects / sha[:2] / sha
        target.parent.mkdir(parents=True, exist_ok=True)
        how = clone_file(source, target)
        size = target.stat().st_size
        if size != entry.get("size"):
            raise ValueError(f"the stored content of {relative!r} is {size} bytes, not {entry.get('size')}")
        mode = entry.get("mode")
        os.chmod(target, (mode if isinstance(mode, int) else 0o644) & 0o777 | stat.S_IWUSR)  # no setuid
        counts["files"] += 1
        counts["bytes"] += size
        counts["cloned" if how == "clone" else "copied"] += 1
    return counts


class SnapshotWriter:
    """The worker's side: :meth:`take` records the manifest before a step (module docstring)."""

    def __init__(self, store: str | os.PathLike[str], max_bytes: int) -> None:
        self.store = Path(store)
        self.max_bytes = int(max_bytes)
        self.objects = self.store / "objects"
        self.steps = self.store / "steps"
        try:
            index = store_index(self.store) or {}
        except (OSError, ValueError):  # unreadable: the first boundary says why, if it cannot write
            index = {}
        #: Bytes of the contents stored (an earlier attempt's too: a resume adds to the same store).
        self.stored_bytes = int(index.get("stored_bytes") or 0)
        self.stopped_at: int | None = None
        self.reason: str | None = None
        #: relative path -> ((size, mtime_ns), sha256) as last hashed here
        self._hashes: dict[str, tuple[tuple[int, int], str]] = {}
        self._root: str | None = None
        self._stored: set[str] | None = None

    def _contents(self) -> set[str]:
        """The sha256 of every content stored (listed once, then kept up to date)."""
        if self._stored is None:
            self._stored = set()
            if self.objects.is_dir():
                for prefix in os.scandir(self.objects):
                    if prefix.is_dir(follow_symlinks=False):
                        self._stored.update(n for n in os.listdir(prefix.path) if _SHA.fullmatch(n))
        return self._stored

    def take(
        self,
        step: int,
        root: str,
        files: Iterable[str],
        known: Mapping[str, tuple[tuple[int, int], str | None]] | None = None,
        *,
        folders: Iterable[str] = (),
    ) -> dict[str, Any] | None:
        """Record the kept ``files`` and ``folders`` (relative to ``root``; empty folders are kept
        too) as the work dir before ``step``; the contents not stored yet are stored. ``known``: a
        (size, mtime_ns) and sha256 already hashed (the watcher's). Returns what it cost (``files``,
        ``new_files``, ``new_bytes``, ``seconds``), or None once snapshots stopped (the limit;
        :attr:`reason` says why)."""
        if self.stopped_at is not None:
            return None
        started = time.perf_counter()
        if root != self._root:
            self._root, self._hashes = root, {}
        known = known or {}
        stored = self._contents()
        entries: dict[str, dict[str, Any]] = {}
        new_files = new_bytes = 0
        for relative in files:
            if relative.split("/", 1)[0] in SKIPPED_TOP:
                continue
            path = os.path.join(root, relative)
            try:
                info = os.lstat(path)
            except OSError:
                continue  # gone meanwhile
            if not stat.S_ISREG(info.st_mode):
                continue  # symlinks are not kept, as a fork never copies them
            look = (info.st_size, info.st_mtime_ns)
            hashed = [h for h in (self._hashes.get(relative), known.get(relative)) if h and h[0] == look]
            sha = hashed[0][1] if hashed else None
            if sha is None or sha not in stored:
                if self.stored_bytes + info.st_size > self.max_bytes:
                    self.stop(step, info.st_size)
                    return None
                try:
                    sha, added = self._store(Path(path), sha, look)
                except FileNotFoundError:
                    continue
                new_files += added > 0
                new_bytes += added
            self._hashes[relative] = (look, sha)
            entries[relative] = {"sha256": sha, "size": info.st_size, "mode": stat.S_IMODE(info.st_mode)}
        self.steps.mkdir(parents=True, exist_ok=True)
        kept = sorted(f for f in folders if f.split("/", 1)[0] not in SKIPPED_TOP)
        _write_json(self.steps / f"{step}.json", {"step": step, "root": root, "files": entries, "dirs": kept})
        self._write_index()
        seconds = time.perf_counter() - started
        return {"files": len(entries), "new_files": new_files, "new_bytes": new_bytes, "seconds": seconds}

    def _store(self, path: Path, sha: str | None, look: tuple[int, int]) -> tuple[str, int]:
        """Copy one content into the store (a clone or a copy of its bytes, hashed as copied); its
        sha256 and the bytes it added (0: the same content was stored already)."""
        self.objects.mkdir(parents=True, exist_ok=True)
        tmp = self.objects / f".tmp-{os.getpid()}-{next(_temp_names)}"
        digest = hashlib.sha256()
        try:
            how = clone_file(path, tmp, digest)
            if how == "copy":
                sha = digest.hexdigest()
            else:  # a clone: the watcher's hash holds only if the file did not change meanwhile
                now = os.stat(path)
                if sha is None or (now.st_size, now.st_mtime_ns) != look:
                    sha = file_sha256(tmp)
            size = tmp.stat().st_size
            target = self.objects / sha[:2] / sha
            if target.exists():  # the same content, stored already (another path, an earlier attempt)
                tmp.unlink()
                size = 0
            else:
                target.parent.mkdir(exist_ok=True)
                os.chmod(tmp, 0o400)  # read-only: nothing rewrites a stored content in place
                os.replace(tmp, target)
                self.stored_bytes += size
            self._contents().add(sha)
            return sha, size
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def stop(self, step: int, needed: int | None = None, reason: str | None = None) -> None:
        """No snapshot from ``step`` on (this attempt's later boundaries, an earlier attempt's
        manifests of those steps); recorded in the index."""
        self.stopped_at = step
        self.reason = reason or (
            f"the snapshot store holds {self.stored_bytes} bytes; a file of {needed} bytes more would "
            f"pass its limit of {self.max_bytes} bytes (snapshot_max_bytes)"
        )
        if self.steps.is_dir():
            for manifest in self.steps.glob("*.json"):
                if manifest.stem.isdigit() and int(manifest.stem) >= step:
                    manifest.unlink(missing_ok=True)
        self.store.mkdir(parents=True, exist_ok=True)
        self._write_index()

    def _write_index(self) -> None:
        steps = sorted(int(p.stem) for p in self.steps.glob("*.json") if p.stem.isdigit())
        index = {
            "version": 1,
            "steps": steps,
            "stored_bytes": self.stored_bytes,
            "max_bytes": self.max_bytes,
            "stopped_at_step": self.stopped_at,
            "reason": self.reason,
        }
        _write_json(self.store / "index.json", index)

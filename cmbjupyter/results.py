"""What a run made, from the kernel: ``run.artifacts`` and ``cmbjupyter.results.load``.

::

    run = _                                   # the Run a %%cmbagent cell left
    run.artifacts                             # [Artifact('data/fit.png', plot, step 2, engineer), ...]
    spectrum = run.artifacts[1].load()        # csv -> pandas.DataFrame, npy/npz -> numpy, json -> dict,
                                              # png/jpg -> PIL.Image (each needs its library)
    with run.artifacts[0].open() as f: ...    # the bytes, streamed
    cmbjupyter.results.load("planck-h0", "data/cl.csv")   # by session (the sidebar's loader cell)

The list comes from the run's RunState manifest (``state.artifacts``, the latest record per path).
A file is read from the run's work dir through :mod:`cmbjupyter.workdir` (confined: never through
a symlink out of it). In server mode the kernel usually sees the server's files (the same machine
and folders); when it cannot, the file is streamed from the server's file route instead.
"""

from __future__ import annotations

import html
import io
import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Final

from .errors import NotFound
from .workdir import open_confined

__all__ = ["Artifact", "ArtifactList", "artifacts_of", "load", "load_file"]

#: How a file's name ending is loaded: (library it needs, loader name).
_LOADERS: Final = {
    ".npy": ("numpy", "npy"),
    ".npz": ("numpy", "npz"),
    ".csv": ("pandas", "csv"),
    ".tsv": ("pandas", "tsv"),
    ".parquet": ("pandas", "parquet"),
    ".json": (None, "json"),
    ".png": ("PIL", "image"),
    ".jpg": ("PIL", "image"),
    ".jpeg": ("PIL", "image"),
    ".gif": ("PIL", "image"),
    ".webp": ("PIL", "image"),
}
#: Its pip name, for the error that says what to install.
_PIP: Final = {"numpy": "numpy", "pandas": "pandas", "PIL": "Pillow"}

Opener = Callable[[str], BinaryIO]


def _need(module: str, path: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(
            f"loading {path!r} needs {_PIP.get(module, module)}, which is not installed in this kernel: "
            f"pip install {_PIP.get(module, module)} (or read the bytes with .open())"
        ) from None


def load_file(handle: BinaryIO, path: str) -> Any:
    """The Python object of the file ``handle`` named ``path`` (its name ending says how to read it);
    text for other text files, bytes for the rest."""
    ext = os.path.splitext(path)[1].lower()
    module, kind = _LOADERS.get(ext, (None, "other"))
    library = _need(module, path) if module else None
    if kind == "json":
        return json.load(handle)
    seekable = getattr(handle, "seekable", lambda: False)()
    data = handle if seekable else io.BytesIO(handle.read())  # a server's stream: numpy and PIL seek
    if kind == "npy":
        return library.load(data, allow_pickle=False)
    if kind == "npz":
        with library.load(data, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    if kind in ("csv", "tsv"):
        return library.read_csv(data, sep="\t" if kind == "tsv" else ",")
    if kind == "parquet":
        return library.read_parquet(data)
    if kind == "image":
        image = library.Image.open(data)
        image.load()
        return image
    raw = handle.read()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def _size(value: Any) -> str:
    if not isinstance(value, (int, float)):
        return ""
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return ""


@dataclass(frozen=True)
class Artifact:
    """A file a run made (its manifest record): ``path`` is relative to the run's ``work_dir``."""

    path: str
    category: str = "other"
    step: int | None = None
    agent: str | None = None
    mime: str | None = None
    size: int | None = None
    sha256: str | None = None
    phase: str | None = None
    node_id: str | None = None
    created_at: str | None = None
    work_dir: str | None = None
    record: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    _remote: Opener | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_record(
        cls, record: Mapping[str, Any], work_dir: str | None, remote: Opener | None = None
    ) -> Artifact:
        return cls(
            path=str(record.get("path") or ""),
            category=str(record.get("category") or "other"),
            step=record.get("step"),
            agent=record.get("agent"),
            mime=record.get("mime"),
            size=record.get("size"),
            sha256=record.get("sha256"),
            phase=record.get("phase"),
            node_id=record.get("node_id"),
            created_at=record.get("created_at"),
            work_dir=work_dir,
            record=dict(record),
            _remote=remote,
        )

    def open(self) -> BinaryIO:
        """The file for binary reading: from the work dir when this kernel sees it, else streamed
        from the Jupyter server that ran the task. NotFound (a LookupError) if it is gone."""
        try:
            return open_confined(self.work_dir, self.path)
        except NotFound:
            if self._remote is None:
                where = self.record.get("remote")
                if where:
                    raise NotFound(
                        f"{self.path!r} stayed on the Dask worker that made it ({where})"
                    ) from None
                raise
        return self._remote(self.path)

    def load(self) -> Any:
        """npy/npz -> numpy array / dict of arrays, csv/tsv/parquet -> pandas DataFrame, json ->
        dict/list, png/jpg/gif/webp -> PIL Image, other text -> str, else bytes."""
        with self.open() as handle:
            return load_file(handle, self.path)

    def __repr__(self) -> str:
        where = ", ".join(str(x) for x in (f"step {self.step}" if self.step else None, self.agent) if x)
        return (
            f"<Artifact {self.path} {self.category}{' (' + where + ')' if where else ''} {_size(self.size)}>"
        )

    def _row_html(self) -> str:
        thumb = self.record.get("thumbnail")
        preview = f"<img src='{html.escape(str(thumb))}' style='max-height:48px'>" if thumb else ""
        cells = (self.path, self.category, self.step or "", self.agent or "", _size(self.size))
        return "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + f"<td>{preview}</td></tr>"

    def _repr_html_(self) -> str:
        return ArtifactList([self])._repr_html_()


class ArtifactList(list):  # type: ignore[type-arg]
    """A run's artifacts (oldest first), drawn as a table in notebooks."""

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{c}</th>" for c in ("path", "category", "step", "agent", "size", ""))
        rows = "".join(a._row_html() for a in self)
        return f"<table class='cmbagent-artifacts'><tr>{head}</tr>{rows}</table>"


def _listed(
    records: Iterable[Mapping[str, Any]], work_dir: str | None, remote: Opener | None
) -> ArtifactList:
    return ArtifactList(Artifact.from_record(r, work_dir, remote) for r in records if r.get("path"))


def artifacts_of(run: Any) -> ArtifactList:
    """``run.artifacts``: the run's manifest, each record an :class:`Artifact`."""
    state = run.state
    records = list(state.artifacts.values())
    return _listed(records, state.work_dir, getattr(run, "_open_remote", None))


def _local_work_dir(session_id: str) -> str | None:
    """The work dir the session's sidecar in this kernel's store records, if any."""
    from .config import sessions_dir
    from .errors import SessionError
    from .session import SessionManager

    try:
        return SessionManager(sessions_dir()).load_session(session_id).get("work_dir")
    except (SessionError, OSError):
        return None


def load(session_id: str, path: str) -> Any:
    """The artifact ``path`` of session ``session_id`` as a Python object (see :meth:`Artifact.load`):
    from this kernel's sessions first, else from the Jupyter server's. What the sidebar's
    "Insert loader cell" writes."""
    work_dir = _local_work_dir(session_id)
    try:
        return Artifact(path, work_dir=work_dir).load()
    except NotFound:
        from .remote.client import connect

        client = connect()
        if client is None:
            raise NotFound(
                f"no file {path!r} in session {session_id!r} (looked in this kernel's sessions)"
            ) from None
    with client.open_file("sessions", session_id, path) as handle:
        return load_file(handle, path)

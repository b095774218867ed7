"""Kernel data in: the notebook's variables written as files the task's agents can read.

::

    %%cmbagent --inputs cl_obs,df
    Fit a LCDM model to the observed spectrum in the inputs.

    cmbjupyter.run(task, inputs={"cl_obs": arr, "df": df})

Each object becomes a file in ``<work_dir>/data/inputs/`` -- ``.npy`` for a numpy array,
``.csv`` for a pandas DataFrame or Series (``.parquet`` when asked and pyarrow is installed),
``.json`` for a JSON value, ``.pkl`` only when pickles are asked for -- with a
``manifest.json`` beside them, and the task gets a short note naming each file (absolute path,
shape or columns, how to load it), so the agents work on the scientist's real data.

Every object is checked before anything is written: a name that is not a plain identifier or an
object of an unsupported type is a :class:`~cmbjupyter.errors.ConfigError` (the magic shows it as
a UsageError) and no file is touched. The work dir is the task's ``work_dir``, else the kernel's
folder; it is set in the config, so the worker runs there in kernel and server mode alike. In
server mode the files are written by the kernel into that folder, which the server reads: the
server holds the notebook's folder (that is how the kernel found it), so nothing large travels in
the request. (cmbagent works in ``<work_dir>/cmbagent_output/<session>``, which it clears: the
inputs stay outside it, and the note gives absolute paths.)
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

from .config import resolve_engine
from .errors import ConfigError
from .events import now_iso

__all__ = ["INPUTS_DIR", "MANIFEST", "stage_inputs"]

#: Where inputs go, relative to the work dir.
INPUTS_DIR: Final = "data/inputs"
MANIFEST: Final = "manifest.json"
#: An input's name: it names a file and is read by agents' code.
_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
#: At most this many columns are named in the task's note.
NOTE_COLUMNS: Final = 20


def _module_of(value: Any) -> str:
    return type(value).__module__.split(".", 1)[0]


def _json_safe(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return False
    return True


def _plan(
    name: str, value: Any, *, pickle: bool, parquet: bool
) -> tuple[str, Callable[[Path], dict[str, Any]]]:
    """(file name, writer returning the manifest entry) for one input; ConfigError if unsupported."""
    module = _module_of(value)
    if module == "numpy" and hasattr(value, "dtype") and hasattr(value, "shape"):
        import numpy

        array = numpy.asarray(value)
        if array.dtype.hasobject and not pickle:
            raise ConfigError(
                f"input {name!r} is a numpy array of Python objects, which .npy cannot hold without "
                "pickle: convert it (e.g. .astype(float)) or pass inputs_pickle=True (--inputs-pickle)"
            )

        def write_npy(path: Path) -> dict[str, Any]:
            numpy.save(path, array, allow_pickle=bool(array.dtype.hasobject))
            return {
                "kind": "numpy array",
                "shape": list(array.shape),
                "dtype": str(array.dtype),
                "load": f"numpy.load({str(path)!r})",
            }

        return f"{name}.npy", write_npy
    if module == "pandas" and type(value).__name__ in ("DataFrame", "Series"):
        frame = value.to_frame() if type(value).__name__ == "Series" else value
        if parquet:
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                raise ConfigError(
                    f"input {name!r}: parquet needs pyarrow, which is not installed in this kernel "
                    "(pip install pyarrow), or leave parquet off for a .csv"
                ) from None
        keep_index = not (type(frame.index).__name__ == "RangeIndex" and frame.index.name is None)

        def write_table(path: Path) -> dict[str, Any]:
            if parquet:
                frame.to_parquet(path)
                how = f"pandas.read_parquet({str(path)!r})"
            else:
                frame.to_csv(path, index=keep_index)
                how = f"pandas.read_csv({str(path)!r}{', index_col=0' if keep_index else ''})"
            return {
                "kind": "table",
                "rows": len(frame),
                "columns": [str(c) for c in frame.columns],
                "load": how,
            }

        return f"{name}.{'parquet' if parquet else 'csv'}", write_table
    if _json_safe(value):

        def write_json(path: Path) -> dict[str, Any]:
            path.write_text(json.dumps(value, indent=1, allow_nan=False))
            return {"kind": f"JSON {type(value).__name__}", "load": f"json.load(open({str(path)!r}))"}

        return f"{name}.json", write_json
    if pickle:
        import pickle as pickle_module

        def write_pickle(path: Path) -> dict[str, Any]:
            with open(path, "wb") as handle:
                pickle_module.dump(value, handle, protocol=pickle_module.HIGHEST_PROTOCOL)
            kind = f"{type(value).__module__}.{type(value).__qualname__}"
            return {"kind": f"pickle of {kind}", "load": f"pickle.load(open({str(path)!r}, 'rb'))"}

        return f"{name}.pkl", write_pickle
    detail = " (NaN or infinity is not JSON)" if isinstance(value, float) and not math.isfinite(value) else ""
    raise ConfigError(
        f"input {name!r} is a {type(value).__module__}.{type(value).__qualname__}, which cmbjupyter "
        f"cannot write as a file{detail}: pass a numpy array, a pandas DataFrame or Series, or a "
        "JSON value (dict, list, str, number, bool, None), or allow a pickle with inputs_pickle=True "
        "(--inputs-pickle)"
    )


def _describe(entry: Mapping[str, Any]) -> str:
    if entry["kind"] == "numpy array":
        shape = (
            "(" + ", ".join(str(n) for n in entry["shape"]) + ("," if len(entry["shape"]) == 1 else "") + ")"
        )
        return f"numpy array, shape {shape}, dtype {entry['dtype']}"
    if entry["kind"] == "table":
        columns = entry["columns"]
        named = ", ".join(columns[:NOTE_COLUMNS]) + (
            f", ... ({len(columns)} in all)" if len(columns) > NOTE_COLUMNS else ""
        )
        return f"table, {entry['rows']} rows, columns: {named}"
    return str(entry["kind"])


def _note(folder: Path, entries: list[dict[str, Any]], comment: bool) -> str:
    """The task's note on its inputs (as Python comments for the python engine, whose task is code)."""
    lines = [
        f"Input data (the scientist's own, from the notebook) is in {folder} "
        f"(described in {folder / MANIFEST}):",
    ]
    for entry in entries:
        lines.append(
            f"- {entry['name']}: {folder / entry['file']} -- {_describe(entry)}; load with {entry['load']}"
        )
    return "\n\n" + "\n".join(f"# {line}" if comment else line for line in lines) + "\n"


def stage_inputs(
    task: str,
    config: Mapping[str, Any],
    inputs: Mapping[str, Any],
    *,
    pickle: bool = False,
    parquet: bool = False,
    cwd: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """Write ``inputs`` into the work dir's ``data/inputs/``; the task with its note and the config
    with its ``work_dir`` set. Everything is checked first: ConfigError and no file written."""
    if not isinstance(inputs, Mapping):
        raise ConfigError(f"inputs must map names to objects, not {type(inputs).__name__}")
    config = dict(config)
    if not inputs:
        return task, config
    bad = [repr(n) for n in inputs if not (isinstance(n, str) and _NAME.fullmatch(n))]
    if bad:
        raise ConfigError(
            "input names must be Python identifiers of at most 64 characters (they name files): "
            + ", ".join(bad)
        )
    plans = {name: _plan(name, value, pickle=pickle, parquet=parquet) for name, value in inputs.items()}
    work_dir = config.get("work_dir") or cwd or os.getcwd()
    if not isinstance(work_dir, (str, os.PathLike)):
        raise ConfigError(f"config['work_dir'] must be a path, not {work_dir!r}")
    base = Path(os.path.expanduser(os.fspath(work_dir)))
    base = base if base.is_absolute() else Path(cwd or os.getcwd()) / base
    folder = base / INPUTS_DIR
    try:
        folder.mkdir(parents=True, exist_ok=True)
        entries = []
        for name, (file_name, write) in plans.items():
            entry = {"name": name, "file": file_name, **write(folder / file_name)}
            entry["bytes"] = (folder / file_name).stat().st_size
            entries.append(entry)
        manifest = {"written_at": now_iso(), "inputs": entries}
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=1))
    except OSError as exc:
        raise ConfigError(f"could not write the inputs into {folder}: {exc}") from None
    config["work_dir"] = str(base)
    return task.rstrip() + _note(folder, entries, comment=resolve_engine(config) == "python"), config

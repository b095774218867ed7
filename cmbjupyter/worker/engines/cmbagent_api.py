"""What differs between the cmbagent releases the engine supports, in one table chosen by the installed
distribution and version, so the engine has no version checks of its own.

* ``cmbagent==0.0.1.post30``, the newest release that imports on Python 3.11 (the fallback): no
  document modes, and its planning-control cannot restart at a step (``cmbagent_resume`` runs the
  control loop for it).
* ``cmbagent>=0.0.1.post63`` (CMBAgents, Python >= 3.12; the default) and MARS's ``cmbagent-update``:
  every mode, ``restart_at_step`` (the saved context of each step is cmbagent's own), ``deep_research``
  (post63 names ``planning_and_control_context_carryover`` so too; MARS has its own).

Only the worker imports this module's functions that import cmbagent.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Final

from ...errors import EngineError

__all__ = [
    "DOCUMENT_MODES",
    "ENTRY_POINTS_NEWEST",
    "ENTRY_POINTS_POST30",
    "NEWEST",
    "Api",
    "ag2_version",
    "api_for",
    "distribution",
    "document_module",
]

#: The modes that are cmbagent's document utilities, not agent chats.
DOCUMENT_MODES: Final = ("ocr", "arxiv", "enhance-input")
#: The release to install for what post30 lacks (named in errors).
NEWEST: Final = "cmbagent==0.0.1.post63 (Python >= 3.12: `make cmbagent-313`, then config['python'])"
#: Where the document utilities live (role -> what the module defines, the modules that may): the
#: released layout first, then CMBAgents' main, which moved them to utils/.
_DOCUMENT_MODULES: Final = {
    "arxiv": ("ArxivDownloader", ("cmbagent.arxiv_downloader", "cmbagent.utils.arxiv_downloader")),
    "ocr": ("MistralOCRProcessor", ("cmbagent.ocr", "cmbagent.utils.ocr")),
    "summaries": ("summarize_documents", ("cmbagent.cmbagent", "cmbagent.utils.summarization")),
}


#: mode -> function, in post63 and later (and in cmbagent-update).
ENTRY_POINTS_NEWEST: Final = {
    "one-shot": "one_shot",
    "planning-control": "deep_research",
    "idea-generation": "deep_research",
    "control": "control",
    "hitl": "human_in_the_loop",
    "ocr": "process_single_pdf",
    "arxiv": "arxiv_filter",
    "enhance-input": "preprocess_task",
}
#: mode -> function in post30: no document modes, no deep_research name yet.
ENTRY_POINTS_POST30: Final = {
    **{mode: name for mode, name in ENTRY_POINTS_NEWEST.items() if mode not in DOCUMENT_MODES},
    "planning-control": "planning_and_control_context_carryover",
    "idea-generation": "planning_and_control_context_carryover",
}


@dataclass(frozen=True)
class Api:
    """One cmbagent API: the function of each mode, and what its planning-control can do."""

    release: str
    entry_points: dict[str, str] = field(default_factory=dict)
    restarts: bool = True  # planning-control takes restart_at_step itself

    def function(self, cmbagent: ModuleType, mode: str, task: str) -> Any:
        """The cmbagent function that runs ``mode`` (for ocr: a file or a folder of PDFs)."""
        name = self.entry_points.get(mode)
        if mode == "ocr" and name and _is_dir(task):
            name = "process_folder"
        function = getattr(cmbagent, name, None) if name else None
        if function is None:
            wanted = f"cmbagent.{name or ENTRY_POINTS_NEWEST.get(mode, mode)}"
            raise EngineError(f"mode {mode!r} needs {wanted}, which {self.release} lacks; it is in {NEWEST}")
        return function


def _is_dir(task: str) -> bool:
    from pathlib import Path

    return Path(task.strip()).expanduser().is_dir()


def distribution() -> tuple[str, str]:
    """``(name, version)`` of the installed cmbagent distribution (``("", "")`` when there is none)."""
    from importlib.metadata import PackageNotFoundError, version

    for name in ("cmbagent", "cmbagent-update"):
        try:
            return name, version(name)
        except PackageNotFoundError:
            continue
    return "", ""


def ag2_version() -> str:
    """``"name version"`` of the installed AG2 (cmbagent's fork of it first), or ``""``: the
    exported notebook's Methods cell names it."""
    from importlib.metadata import PackageNotFoundError, version

    for name in ("cmbagent-autogen", "ag2", "pyautogen", "autogen"):
        try:
            return f"{name} {version(name)}"
        except PackageNotFoundError:
            continue
    return ""


def _post(version: str) -> int:
    found = re.search(r"post(\d+)", version)
    return int(found.group(1)) if found else 0


def api_for(name: str, version: str) -> Api:
    """The API of distribution ``name`` at ``version``."""
    release = f"{name or 'cmbagent'} {version or '(unknown version)'}"
    if name == "cmbagent" and _post(version) <= 30:
        return Api(release, dict(ENTRY_POINTS_POST30), restarts=False)
    return Api(release, dict(ENTRY_POINTS_NEWEST))


def document_module(role: str) -> ModuleType:
    """cmbagent's module for ``role`` (arxiv, ocr, summaries) in the installed layout."""
    defined, paths = _DOCUMENT_MODULES[role]
    for path in paths:
        try:
            module = importlib.import_module(path)
        except ImportError:
            continue
        if hasattr(module, defined):
            return module
    raise EngineError(f"this cmbagent defines {defined} in none of {', '.join(paths)}")

"""How cmbagent's document modes (``ocr``, ``arxiv``, ``enhance-input``) become cmbjupyter events.

These modes are not agent chats but cmbagent's utilities: ``arxiv_filter`` downloads the papers a
text links to into ``<work_dir>/docs``, ``process_single_pdf`` / ``process_folder`` send PDFs to
Mistral's OCR API and write markdown, and ``preprocess_task`` chains both with a summary of each paper
by cmbagent's summarizer agents (an AG2 chat, hooked like every other). Installed in the worker only:

* each mode's phases, so its DAG nodes light up (``dag.py``'s templates);
* every OCR call's pages as a ``cost_update`` priced by the page (what Mistral bills), exactly;
* Mistral's SDK sent to ``$MISTRAL_SERVER_URL`` when set (as the openai client honours
  ``OPENAI_BASE_URL``): offline, the scripted server answers;
* the failures cmbagent prints and carries on past (a download that failed, a PDF whose OCR or a
  paper whose summary failed) kept in :data:`failures`, which the engine turns into one clear
  error naming each URL or file.
"""

from __future__ import annotations

import functools
import os
import threading
from typing import Any, Final

__all__ = ["OCR_USD_PER_PAGE", "PHASES", "failures", "install"]

#: Mistral OCR's price, per page processed ($1 per 1000 pages, as cmbagent's own cost report has it).
OCR_USD_PER_PAGE: Final = 0.001
#: Each document mode's phases, in order (its DAG template's nodes after the first).
PHASES: Final = {
    "ocr": ("process", "output"),
    "arxiv": ("process", "output"),
    "enhance-input": ("arxiv", "ocr", "summarize"),
}
#: What went wrong in a step cmbagent carries on past; the engine raises them after the run.
failures: list[str] = []


class _Phases:
    """A mode's phases, each reported once and only forward (process_folder OCRs PDFs in threads)."""

    def __init__(self, emit: Any, order: tuple[str, ...]) -> None:
        self.emit, self.order, self.reached = emit, order, -1
        self.lock = threading.Lock()

    def advance(self, name: str) -> None:
        with self.lock:
            index = self.order.index(name)
            if index <= self.reached:
                return
            self.reached = index
            self.emit.phase(name)


def _wrap(owner: Any, name: str, before: Any = None, after: Any = None) -> None:
    """Replace ``owner.name`` by a wrapper calling ``before(*args)`` first and ``after(result)`` last."""
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if before is not None:
            before(*args, **kwargs)
        result = original(*args, **kwargs)
        if after is not None:
            after(result)
        return result

    setattr(owner, name, wrapped)


def _route_mistral() -> None:
    from mistralai import Mistral

    init = Mistral.__init__

    @functools.wraps(init)
    def routed(self: Any, *args: Any, **kwargs: Any) -> None:
        if os.environ.get("MISTRAL_SERVER_URL") and not kwargs.get("server_url"):
            kwargs["server_url"] = os.environ["MISTRAL_SERVER_URL"]
        init(self, *args, **kwargs)

    Mistral.__init__ = routed


def _hook_ocr_cost(emit: Any) -> None:
    from mistralai.ocr import Ocr

    process = Ocr.process

    @functools.wraps(process)
    def priced(self: Any, *args: Any, **kwargs: Any) -> Any:
        response = process(self, *args, **kwargs)
        usage = getattr(response, "usage_info", None)
        pages = int(getattr(usage, "pages_processed", 0) or 0)
        model = str(kwargs.get("model") or getattr(response, "model", None) or "mistral-ocr")
        emit.cost(model, 0, 0, agent="ocr", cost=round(pages * OCR_USD_PER_PAGE, 9))
        return response

    Ocr.process = priced


def _downloads_checked(result: Any) -> None:
    for failed in (result or {}).get("failed_downloads") or []:
        failures.append(f"downloading {failed.get('url')} failed: {failed.get('error')}")


def _checked(what: str, path_key: str) -> Any:
    """An ``after`` hook recording a per-file result that says it failed (cmbagent carries on)."""

    def check(result: Any) -> None:
        if isinstance(result, dict) and result.get("success") is False:
            failures.append(f"{what} {result.get(path_key)} failed: {result.get('error')}")

    return check


def install(emit: Any, mode: str) -> None:
    """Install the document hooks for ``mode`` (after importing cmbagent, before running it)."""
    from .cmbagent_api import document_module

    arxiv_downloader, ocr = document_module("arxiv"), document_module("ocr")
    failures.clear()
    _route_mistral()
    _hook_ocr_cost(emit)

    phases = _Phases(emit, PHASES[mode])
    advance = phases.advance

    def phase(name: str) -> Any:
        return lambda *args, **kwargs: advance(name)

    downloader, processor = arxiv_downloader.ArxivDownloader, ocr.MistralOCRProcessor
    _wrap(downloader, "download_from_text", after=_downloads_checked)
    summaries = document_module("summaries")
    _wrap(processor, "_process_pdf_with_error_handling", after=_checked("the OCR of", "pdf_path"))
    summarize_one = "_process_single_markdown_with_error_handling"
    _wrap(summaries, summarize_one, after=_checked("the summary of", "markdown_path"))
    if mode == "arxiv":
        _wrap(downloader, "_extract_urls", before=phase("process"), after=lambda urls: advance("output"))
    elif mode == "ocr":
        _wrap(processor, "process_single_pdf", before=phase("process"))
        _wrap(processor, "_save_to_markdown", before=phase("output"))
    elif mode == "enhance-input":
        # preprocess_task imports arxiv_filter and process_folder when it runs: wrap them where it looks
        _wrap(arxiv_downloader, "arxiv_filter", before=phase("arxiv"))
        _wrap(ocr, "process_folder", before=phase("ocr"))
        _wrap(summaries, "summarize_documents", before=phase("summarize"))

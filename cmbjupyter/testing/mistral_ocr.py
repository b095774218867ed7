"""The scripted server's answer to Mistral's OCR API (``POST /v1/ocr``), as cmbagent calls it.

cmbagent's ``process_single_pdf`` / ``process_folder`` (and ``preprocess_task``) send each PDF inline as
a ``data:application/pdf;base64,...`` document URL with model ``mistral-ocr-latest``. The answer is
read from the PDF itself: one page object per ``/Type /Page`` in it, each page's markdown headed by
the document's ``/Title`` (matplotlib's PDF backend writes both, uncompressed), and ``usage_info``
with the pages processed and the document's size, which is what Mistral bills (per page).
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Final

__all__ = ["OCR_MODEL", "ocr_answer", "pdf_pages"]

#: The model Mistral answers with for ``mistral-ocr-latest``.
OCR_MODEL: Final = "mistral-ocr-2505"
_PAGE: Final = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")
_TITLE: Final = re.compile(rb"/Title\s*\((.*?)(?<!\\)\)", re.DOTALL)


def pdf_pages(pdf: bytes) -> tuple[int, str]:
    """The page count and title of a PDF (uncompressed dictionaries); ValueError if it is not one."""
    if not pdf.startswith(b"%PDF-"):
        raise ValueError("the document is not a PDF (no %PDF- header)")
    pages = len(_PAGE.findall(pdf))
    if pages == 0:
        raise ValueError("the PDF has no page objects")
    found = _TITLE.search(pdf)
    title = found.group(1).decode("latin-1") if found else "Untitled document"
    return pages, title


def _document_bytes(request: dict[str, Any]) -> bytes:
    document = request.get("document") or {}
    url = str(document.get("document_url") or "")
    prefix, _, data = url.partition(";base64,")
    if not prefix.startswith("data:") or not data:
        raise ValueError(
            "document.document_url must be a base64 data URL (the scripted server fetches nothing)"
        )
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"document.document_url is not valid base64: {exc}") from None


def ocr_answer(request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """``(HTTP status, body)`` for one OCR request: Mistral's OCRResponse, or an error naming the problem."""
    try:
        pdf = _document_bytes(request)
        pages, title = pdf_pages(pdf)
    except ValueError as exc:
        return 422, {"object": "error", "message": str(exc), "type": "invalid_request_error"}
    body = {
        "model": OCR_MODEL,
        "pages": [
            {
                "index": i,
                "markdown": f"# {title}\n\n## {i + 1}. Results\n\nScripted OCR of page {i + 1} of {pages}.",
                "images": [],
                "dimensions": {"dpi": 200, "height": 2200, "width": 1700},
            }
            for i in range(pages)
        ],
        "document_annotation": None,
        "usage_info": {"pages_processed": pages, "doc_size_bytes": len(pdf)},
    }
    return 200, body

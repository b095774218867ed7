"""Thumbnails of a run's images (STUB: engineer B's module replaces this file when merged).

The interface the host relies on (``_intake.py``): :func:`for_event` gives the ``data:`` URL of a
small thumbnail of an ``artifact`` event's image, or None. This stub never makes one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["for_event"]


async def for_event(work_dir: str | None, data: Mapping[str, Any]) -> str | None:
    """The thumbnail of the image ``data["path"]`` under ``work_dir`` (never raises); None here."""
    return None

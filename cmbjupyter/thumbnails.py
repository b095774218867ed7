"""Thumbnails of a run's images, made on the host so the widget's comm stays small.

A plot cmbagent's engineer saves is a 300 dpi PNG of a megabyte or more; the RunWidget and the
sidebar show a gallery of them live, so each ``artifact`` event of a raster image gets a
``thumbnail`` (a ``data:`` URL of a few KB, longest side :data:`SIDE` px) before it is dispatched
(``_intake.py``). Pillow does the work in a thread (never on the event loop), with bounded input:
a file over :data:`MAX_BYTES` or an image over :data:`MAX_PIXELS` gets none. Any failure (no
Pillow, a damaged or partial file, a path outside the work dir) gives no thumbnail, never a failed
run. An SVG needs none: the views show it as itself.
"""

from __future__ import annotations

import asyncio
import base64
import io
import os
from collections.abc import Mapping
from typing import Any, Final

from .errors import CmbJupyterError
from .workdir import open_confined

__all__ = ["MAX_BYTES", "MAX_PIXELS", "MAX_THUMBNAIL_BYTES", "SIDE", "for_event", "make"]

#: The longest side of a thumbnail, in pixels.
SIDE: Final = 160
#: The size of a thumbnail's ``data:`` URL the encoder aims under (fewer colours, then JPEG, until
#: it fits): what travels on the comm and the WebSocket per image.
MAX_THUMBNAIL_BYTES: Final = 8 * 1024
#: Larger image files get no thumbnail (decoding them would cost the host too much).
MAX_BYTES: Final = 200 * 2**20
#: Images with more pixels get no thumbnail (Pillow's own decompression-bomb bound is 89 Mpx).
MAX_PIXELS: Final = 50_000_000
#: File name endings Pillow thumbnails; SVG and everything else get none.
RASTER: Final = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp"})


def _is_raster(data: Mapping[str, Any]) -> bool:
    path = str(data.get("path") or "")
    mime = str(data.get("mime") or "")
    ext = os.path.splitext(path)[1].lower()
    return ext in RASTER or (mime.startswith("image/") and mime != "image/svg+xml" and not ext)


def _data_url(mime: str, encoded: bytes) -> str:
    return f"data:{mime};base64," + base64.b64encode(encoded).decode("ascii")


def _encode(image: Any) -> str:
    """The first of a few encodings, best first, whose URL fits MAX_THUMBNAIL_BYTES (else the last)."""
    from PIL import Image

    has_alpha = image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info)
    image = image.convert("RGBA" if has_alpha else "RGB")
    url = ""
    for colours in (None, 256, 64, 16):
        candidate = image if colours is None else image.quantize(colours, method=Image.Quantize.FASTOCTREE)
        buffer = io.BytesIO()
        candidate.save(buffer, "PNG", optimize=True)
        url = _data_url("image/png", buffer.getvalue())
        if len(url) <= MAX_THUMBNAIL_BYTES:
            return url
    flat = image.convert("RGB")
    for quality in (75, 50, 30, 15):
        buffer = io.BytesIO()
        flat.save(buffer, "JPEG", quality=quality, optimize=True)
        url = _data_url("image/jpeg", buffer.getvalue())
        if len(url) <= MAX_THUMBNAIL_BYTES:
            break
    return url


def make(work_dir: str | None, path: str) -> str | None:
    """A ``data:`` URL thumbnail of the raster image ``path`` (inside ``work_dir``), or None."""
    try:
        from PIL import Image
    except ImportError:
        return None
    try:
        with open_confined(work_dir, path) as handle:
            if os.fstat(handle.fileno()).st_size > MAX_BYTES:
                return None
            with Image.open(handle) as image:
                width, height = image.size
                if width * height > MAX_PIXELS or width < 1 or height < 1:
                    return None
                image.draft("RGB", (SIDE, SIDE))  # JPEG: decode at a reduced scale
                image.seek(0)
                image.thumbnail((SIDE, SIDE))
                return _encode(image)
    except (CmbJupyterError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    except Exception:  # a Pillow plugin's own error on a hostile file: no thumbnail, the run goes on
        return None


async def for_event(work_dir: str | None, data: Mapping[str, Any]) -> str | None:
    """The ``thumbnail`` of an ``artifact`` event's image (made in a thread), or None."""
    if not work_dir or not _is_raster(data):
        return None
    return await asyncio.to_thread(make, work_dir, str(data.get("path") or ""))

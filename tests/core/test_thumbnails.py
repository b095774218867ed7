"""Thumbnails made on the host: a few KB, longest side 160 px, aspect kept; never an error."""

from __future__ import annotations

import asyncio
import base64
import io
import os

import pytest
from PIL import Image

from cmbjupyter import thumbnails


def _decode(url: str) -> Image.Image:
    head, _, payload = url.partition(",")
    assert head in ("data:image/png;base64", "data:image/jpeg;base64")
    return Image.open(io.BytesIO(base64.b64decode(payload)))


def _thumb(work, path, mime="image/png"):
    return asyncio.run(thumbnails.for_event(str(work), {"path": path, "mime": mime}))


def test_a_300_dpi_matplotlib_plot(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    (tmp_path / "data").mkdir()
    ell = np.arange(2, 2500)
    fig, ax = plt.subplots(figsize=(8, 5))
    ax.plot(ell, ell * (ell + 1) * np.exp(-ell / 800) * (1 + 0.1 * np.sin(ell / 30)))
    ax.set_xlabel(r"$\ell$")
    fig.savefig(tmp_path / "data" / "tt.png", dpi=300)
    plt.close(fig)
    url = _thumb(tmp_path, "data/tt.png")
    assert len(url) <= thumbnails.MAX_THUMBNAIL_BYTES
    image = _decode(url)
    assert image.size == (160, 100)  # 2400 x 1500 -> longest side 160, aspect kept


@pytest.mark.parametrize(
    ("name", "mode", "size"),
    [
        ("a.png", "RGBA", (640, 1280)),
        ("b.jpg", "RGB", (3000, 2000)),
        ("c.gif", "P", (50, 40)),
        ("d.webp", "RGB", (400, 400)),
    ],
)
def test_every_raster_format_fits(tmp_path, name, mode, size):
    import numpy as np

    noise = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 4), dtype=np.uint8)
    Image.fromarray(noise, "RGBA").convert(mode).save(tmp_path / name)
    url = _thumb(tmp_path, name, mime="")
    assert len(url) <= thumbnails.MAX_THUMBNAIL_BYTES  # even noise, the worst case for a codec
    width, height = _decode(url).size
    assert max(width, height) == min(thumbnails.SIDE, max(size))  # never enlarged
    assert abs(width / height - size[0] / size[1]) < 0.05


def test_no_thumbnail_and_no_error(tmp_path):
    outside = tmp_path / "outside.png"
    Image.new("RGB", (10, 10)).save(outside)
    work = tmp_path / "work"
    work.mkdir()
    os.symlink(outside, work / "leak.png")
    (work / "plot.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    buffer = io.BytesIO()
    Image.new("RGB", (300, 300), "red").save(buffer, "PNG")
    (work / "partial.png").write_bytes(buffer.getvalue()[:200])  # still being written
    (work / "fake.png").write_text("not an image")
    Image.new("1", (8000, 7000)).save(work / "huge.png")  # 56 Mpx: over MAX_PIXELS, a few KB on disk
    for path in (
        "leak.png",
        "plot.svg",
        "partial.png",
        "fake.png",
        "huge.png",
        "missing.png",
        "../outside.png",
    ):
        assert _thumb(work, path) is None, path
    assert asyncio.run(thumbnails.for_event(None, {"path": "x.png"})) is None  # no work dir yet

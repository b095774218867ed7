"""Where a run's files are seen from a kernel: the RunWidget's ``artifacts`` part, the files it
sends the browser when one is opened (confined to the run's work dir, bounded), the plots saved as
image outputs of the cell, and the list of files in the static HTML.

The snapshots here are RunState snapshots as engineer A's reducer writes them (``work_dir``,
``artifacts: {items, count, dropped}``); the files are real. The end-to-end tests (a real task's
``savefig`` -> the widget, the saved outputs) need A's artifact events and run once they exist.
"""

from __future__ import annotations

import base64
import io
import os

import matplotlib
import pytest

from cmbjupyter import events
from cmbjupyter._workfile import WIDGET_FILE_LIMIT
from cmbjupyter.notebook import PLOT_BYTES, PLOTS_SAVED, plot_outputs
from cmbjupyter.static_html import render_html
from cmbjupyter.widget import RunWidget, widget_parts

matplotlib.use("Agg")
from matplotlib import pyplot as plt

#: The end-to-end tests need the worker's artifact events (engineer A of "Results you can see").
needs_artifact_events = pytest.mark.skipif(
    "artifact" not in events.EVENT_TYPES, reason="needs the `artifact` event (results-a)"
)


def save_plot(path, dpi=80, points=50):
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots()
    ax.plot(range(points), [i * i for i in range(points)])
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def record(path, category="plot", **fields):
    mime = {"png": "image/png", "svg": "image/svg+xml", "csv": "text/csv"}.get(path.rsplit(".", 1)[-1])
    return {"path": path, "category": category, "mime": mime, "size": 1, "sha256": path, **fields}


def snapshot_with(work_dir, *records, dropped=0):
    return {
        "status": "completed",
        "work_dir": str(work_dir) if work_dir else None,
        "artifacts": {"items": list(records), "count": len(records) + dropped, "dropped": dropped},
    }


class Sent:
    """What a RunWidget sends the browser with ``send`` (its custom messages and their buffers)."""

    def __init__(self, widget: RunWidget) -> None:
        self.messages: list[tuple[dict, list]] = []
        widget.send = lambda content, buffers=None: self.messages.append((content, list(buffers or [])))

    def ask(self, widget: RunWidget, path, request_id="f1"):
        widget._handle_message(widget, {"type": "file", "id": request_id, "path": path}, [])
        content, buffers = self.messages[-1]
        assert content["type"] == "file" and content["id"] == request_id
        return content, buffers


def test_the_manifest_and_work_dir_are_a_part_of_their_own(tmp_path):
    empty = widget_parts({})
    assert empty["artifacts"] == {"work_dir": None, "items": [], "count": 0, "dropped": 0}
    widget = RunWidget(snapshot_with(tmp_path))
    assert widget.artifacts["work_dir"] == str(tmp_path)
    Sent(widget)  # (no comm here: keep its messages)
    plot = record("data/fit.png", thumbnail="data:image/png;base64,x")
    assert widget.update_from(snapshot_with(tmp_path, plot)) == ["artifacts"]
    assert widget.update_from(snapshot_with(tmp_path, dict(plot))) == []
    assert widget.artifacts["items"][0]["path"] == "data/fit.png"


def test_each_thumbnail_travels_once_beside_the_manifest_and_again_to_a_view_that_asks(tmp_path):
    widget = RunWidget(snapshot_with(tmp_path))
    sent = Sent(widget)
    plots = [record(f"data/p{i}.png", thumbnail=f"data:image/png;base64,{i}") for i in range(3)]
    for n in range(1, 4):  # the manifest grows by one plot at a time
        widget.update_from(snapshot_with(tmp_path, *plots[:n], record("data/t.csv", category="data")))
    pushed = [content["items"] for content, _ in sent.messages if content["type"] == "thumbnails"]
    assert pushed == [{f"data/p{i}.png|data/p{i}.png": f"data:image/png;base64,{i}"} for i in range(3)]
    items = widget.artifacts["items"]
    assert all("thumbnail" not in item for item in items), "never in the trait, which is synced again"
    assert [item.get("thumb") for item in items] == [
        *(f"data/p{i}.png|data/p{i}.png" for i in range(3)),
        None,
    ]
    widget._handle_message(widget, {"type": "thumbnails", "keys": ["data/p1.png|data/p1.png", "nope"]}, [])
    assert sent.messages[-1][0] == {
        "type": "thumbnails",
        "items": {"data/p1.png|data/p1.png": "data:image/png;base64,1"},
    }
    widget._handle_message(widget, {"type": "thumbnails"}, [])
    assert len(sent.messages[-1][0]["items"]) == 3


def test_an_opened_file_is_sent_as_one_binary_buffer(tmp_path):
    png = save_plot(tmp_path / "data" / "fit.png")
    widget = RunWidget(snapshot_with(tmp_path, record("data/fit.png")))
    sent = Sent(widget)
    content, buffers = sent.ask(widget, "data/fit.png")
    assert "error" not in content, content
    assert content["mime"] == "image/png" and content["size"] == png.stat().st_size
    assert buffers == [png.read_bytes()]


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("../secret.txt", "no file"),
        ("/etc/passwd", "no file"),
        ("data/../../secret.txt", "no file"),
        ("out/link.txt", "no file"),
        ("missing.png", "no file"),
        ("data", "no file"),
        ("big.bin", "limit"),
        ("", "not a file path"),
        (None, "not a file path"),
        ("a\\..\\b", "no file"),
    ],
)
def test_a_file_outside_the_work_dir_or_too_big_is_refused_with_the_reason(tmp_path, path, why):
    work = tmp_path / "work"
    (work / "data").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("not yours")
    (work / "out").mkdir()
    os.symlink(tmp_path / "secret.txt", work / "out" / "link.txt")
    with open(work / "big.bin", "wb") as big:  # sparse: no disk used
        big.truncate(WIDGET_FILE_LIMIT + 1)
    widget = RunWidget(snapshot_with(work))
    sent = Sent(widget)
    content, buffers = sent.ask(widget, path)
    assert why in content["error"] and buffers == []


def test_no_work_dir_no_file(tmp_path):
    widget = RunWidget(snapshot_with(None))
    content, _ = Sent(widget).ask(widget, "data/fit.png")
    assert "no work dir" in content["error"]


def test_the_last_plots_are_saved_as_image_outputs_each_fitting_the_cap(tmp_path):
    paths = [f"data/plot_{i}.png" for i in range(PLOTS_SAVED + 2)]
    for path in paths:
        save_plot(tmp_path / path)
    svg = '<svg xmlns="http://www.w3.org/2000/svg"><circle r="4"/></svg>'
    (tmp_path / "data" / "curve.svg").write_text(svg)
    noise = tmp_path / "data" / "noise.png"
    from PIL import Image

    Image.frombytes("RGB", (1200, 1200), os.urandom(1200 * 1200 * 3)).save(noise)  # incompressible
    assert noise.stat().st_size > PLOT_BYTES
    records = [record(p) for p in paths] + [record("data/curve.svg"), record("data/noise.png")]
    records.append(record("data/table.csv", category="data"))
    outputs = plot_outputs(str(tmp_path), records)
    saved = [metadata["cmbagent"]["artifact"] for _, metadata in outputs]
    assert saved == [*paths[-(PLOTS_SAVED - 2) :], "data/curve.svg", "data/noise.png"]
    for data, _ in outputs[:-2]:
        png = base64.b64decode(data["image/png"])
        assert png.startswith(b"\x89PNG") and len(png) <= PLOT_BYTES
    assert outputs[-2][0]["image/svg+xml"].startswith("<svg")
    shrunk = base64.b64decode(outputs[-1][0]["image/png"])
    assert len(shrunk) <= PLOT_BYTES and Image.open(io.BytesIO(shrunk)).width < 1200


def test_plots_outside_the_work_dir_or_gone_are_left_out(tmp_path):
    save_plot(tmp_path / "outside.png")
    work = tmp_path / "work"
    work.mkdir()
    os.symlink(tmp_path / "outside.png", work / "link.png")
    assert plot_outputs(str(work), [record("link.png"), record("gone.png"), record("../outside.png")]) == []
    assert plot_outputs(None, [record("gone.png")]) == []


def test_the_static_html_lists_the_files_escaped_and_bounded(tmp_path):
    records = [record(f"data/f{i}.csv", category="data", step=1) for i in range(150)]
    records.insert(0, record("<img src=x onerror=alert(1)>.png"))
    html = render_html(snapshot_with(tmp_path, *records, dropped=7))
    assert "data/f0.csv" in html and "data/f98.csv" in html and "data/f120.csv" not in html
    assert "<img" not in html and "&lt;img" in html
    assert "(158)" in html and "58 more" in html
    assert "cmb-files-static" not in render_html(snapshot_with(tmp_path))

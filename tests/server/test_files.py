"""The file routes: ``tasks/{id}/files[/{path}]`` and ``sessions/{id}/files[/{path}]``.

A real task (the python engine) writes real files into its work dir; the routes serve them with
their type, ranges and downloads, refuse every way out of the work dir, and stream a 200 MB file
without the server holding it (the server runs in this process: its RSS is ours).
"""

from __future__ import annotations

import json
import os
import threading

import psutil
import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from cmbjupyter.session import SessionManager

#: The task: name its folder (the python engine's work dir is its cwd), write a few files there.
WRITE_FILES = """
import os
emit.event("work_dir", {"path": os.getcwd()})
os.makedirs("data", exist_ok=True)
with open("data/fit.png", "wb") as f:
    f.write(bytes(range(256)) * 4)
with open("data/cl.csv", "w") as f:
    f.write("ell,cl\\n2,1.5\\n3,2.5\\n")
with open("report.md", "w") as f:
    f.write("# H0\\n")
emit.event("artifact", {"path": "data/fit.png", "category": "plot", "mime": "image/png", "size": 1024})
emit.event("artifact", {"path": "data/cl.csv", "category": "data", "mime": "text/csv", "size": 22})
result = {"ok": True}
"""


@pytest.fixture
async def run_dir(api, tmp_path):
    """A finished task with files in its work dir (and a secret beside it, outside)."""
    work = tmp_path / "work"
    (tmp_path / "secret.txt").write_text("not yours")
    created = await api.submit(WRITE_FILES, work_dir=str(work), session_id="s-files")
    await api.wait(created["task_id"])
    os.symlink(tmp_path / "secret.txt", work / "leak.txt")  # a symlink out of the work dir
    os.symlink(tmp_path, work / "up")  # a folder symlink out of it
    os.symlink(work / "data" / "cl.csv", work / "inside.csv")  # a symlink that stays inside
    return {"task": created["task_id"], "session": "s-files", "work": work}


@pytest.fixture
def raw(jp_http_port, jp_base_url, jp_auth_header):
    """GET with the URL exactly as given (no client-side quoting or normalising), any body size."""
    client = AsyncHTTPClient(force_instance=True, max_body_size=2**31)

    async def get(path: str, **kwargs):
        url = f"http://localhost:{jp_http_port}{jp_base_url}cmbagent/api/{path}"
        return await client.fetch(url, headers=dict(jp_auth_header), raise_error=False, **kwargs)

    yield get
    client.close()


async def test_files_are_served_with_their_type(jp_fetch, run_dir):
    for kind, ident in (("tasks", run_dir["task"]), ("sessions", run_dir["session"])):
        png = await jp_fetch("cmbagent", "api", kind, ident, "files", "data", "fit.png")
        assert png.code == 200
        assert png.headers["Content-Type"] == "image/png"
        assert png.body == (run_dir["work"] / "data" / "fit.png").read_bytes()
        assert "Content-Disposition" not in png.headers
        csv = await jp_fetch("cmbagent", "api", kind, ident, "files", "data", "cl.csv")
        assert csv.headers["Content-Type"] == "text/csv; charset=UTF-8"
        assert csv.body.startswith(b"ell,cl")
        report = await jp_fetch("cmbagent", "api", kind, ident, "files", "report.md")
        assert "sandbox" in report.headers["Content-Security-Policy"]  # an agent's file runs no script here
        inside = await jp_fetch("cmbagent", "api", kind, ident, "files", "inside.csv")
        assert inside.body == csv.body  # a symlink that stays inside the work dir is fine


async def test_download_and_ranges(jp_fetch, run_dir):
    path = ("cmbagent", "api", "tasks", run_dir["task"], "files", "data", "fit.png")
    download = await jp_fetch(*path, params={"download": "1"})
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert "fit.png" in download.headers["Content-Disposition"]
    part = await jp_fetch(*path, headers={"Range": "bytes=10-19"})
    assert part.code == 206
    assert part.headers["Content-Range"] == "bytes 10-19/1024"
    assert part.body == bytes(range(10, 20))
    head = await jp_fetch(*path, method="HEAD")
    assert head.headers["Content-Length"] == "1024"
    assert head.body == b""


async def test_nothing_outside_the_work_dir_is_served(raw, run_dir):
    task, session = run_dir["task"], run_dir["session"]
    refused = [
        "../secret.txt",
        "%2e%2e/secret.txt",
        "data/../../secret.txt",
        "data/%2e%2e/%2e%2e/secret.txt",
        "%2Ftmp%2Fsecret.txt",
        "/etc/passwd",
        "leak.txt",  # a symlink out
        "up/secret.txt",  # through a folder symlink out
        "no-such-file.png",
        "data",  # a folder is not a file
        "data/",
    ]
    for kind, ident in (("tasks", task), ("sessions", session)):
        for path in refused:
            response = await raw(f"{kind}/{ident}/files/{path}")
            assert response.code == 404, (kind, path, response.code)
            assert b"not yours" not in (response.body or b"")
            assert json.loads(response.body)["message"]
        malformed = await raw(f"{kind}/{ident}/files/a%00b")
        assert malformed.code == 400, kind
    for unknown in ("tasks/no-such-task/files/data/fit.png", "sessions/no-such-session/files/data/fit.png"):
        response = await raw(unknown)
        assert response.code == 404, unknown


async def test_the_listing_is_the_manifest(api, run_dir):
    def listed(listing):
        return {i["path"]: (i["category"], i["exists"]) for i in listing["items"]}

    for kind, ident in (("tasks", run_dir["task"]), ("sessions", run_dir["session"])):
        listing = await api.get(kind, ident, "files")
        assert listing["work_dir"] == str(run_dir["work"])
        assert listing["count"] >= len(listing["items"]) and listing["dropped"] == 0
        made = listed(listing)
        assert made["data/fit.png"] == ("plot", True) and made["data/cl.csv"] == ("data", True)
    (run_dir["work"] / "data" / "cl.csv").unlink()
    made = listed(await api.get("tasks", run_dir["task"], "files"))
    assert made["data/fit.png"] == ("plot", True) and made["data/cl.csv"] == ("data", False)


async def test_a_session_known_only_by_its_sidecar(api, jp_fetch, sessions_dir, tmp_path):
    """Replay and resume: a session this server never ran shows its files while they exist."""
    work = tmp_path / "old-run"
    (work / "data").mkdir(parents=True)
    (work / "data" / "old.json").write_text('{"h0": 67.4}')
    records = [{"path": "data/old.json", "category": "data", "sha256": "x"}, {"path": "gone.png"}]
    SessionManager(sessions_dir).create_session(
        "s-old", mode="one-shot", task="t", work_dir=str(work), artifacts=records
    )
    listing = await api.get("sessions", "s-old", "files")
    assert [(i["path"], i["exists"]) for i in listing["items"]] == [
        ("data/old.json", True),
        ("gone.png", False),
    ]
    response = await jp_fetch("cmbagent", "api", "sessions", "s-old", "files", "data", "old.json")
    assert json.loads(response.body) == {"h0": 67.4}
    assert response.headers["Content-Type"] == "application/json"
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("cmbagent", "api", "sessions", "s-old", "files", "gone.png")
    assert info.value.code == 404


async def test_a_200_mb_file_is_streamed_not_loaded(raw, run_dir):
    size = 200 * 2**20
    os.truncate(run_dir["work"] / "data" / "cl.csv", size)  # sparse: 200 MB to read, little on disk
    process = psutil.Process()
    baseline = process.memory_info().rss
    peak = [baseline]
    received = [0]
    lock = threading.Lock()

    def on_chunk(chunk: bytes) -> None:
        with lock:
            received[0] += len(chunk)
            if received[0] % (8 * 2**20) < len(chunk):  # sample the RSS every 8 MB or so
                peak[0] = max(peak[0], process.memory_info().rss)

    response = await raw(
        f"tasks/{run_dir['task']}/files/data/cl.csv",
        streaming_callback=on_chunk,
        request_timeout=300,
    )
    assert response.code == 200
    assert received[0] == size
    grew = (max(peak[0], process.memory_info().rss) - baseline) / 2**20
    print(f"server+client RSS growth while streaming 200 MB: {grew:.1f} MB")
    assert grew < 50, f"RSS grew by {grew:.0f} MB while streaming a 200 MB file"

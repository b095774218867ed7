"""A fork at step N starts from the work dir as it was before step N (issue 16): the worker records
a manifest of its files at each step boundary, their contents kept once in a store beside the
session, bounded by ``snapshot_max_bytes`` (python engine, real workers, real files)."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from cmbjupyter.errors import WorkDirTooLarge
from cmbjupyter.fork import fork_config
from cmbjupyter.snapshots import SnapshotWriter, manifest_before, restore, store_for, store_index

#: Each step first notes what it finds (in ``context``), then changes the work dir.
STEPS = textwrap.dedent(
    """
    from pathlib import Path
    seen = {}
    def look():
        return {p: Path(p).read_text() if Path(p).exists() else None for p in ("a.txt", "b.txt", "c.txt")}
    step(1)
    context["at_1"] = look()
    Path("a.txt").write_text("a, as step 1 wrote it")
    Path("keep.txt").write_text("never changed after step 1")
    Path("empty/inner").mkdir(parents=True, exist_ok=True)
    step(2)
    context["at_2"] = look()
    Path("a.txt").write_text("a, as step 2 rewrote it")
    Path("b.txt").write_text("b, made at step 2" + "!" * int(config.get("b_size", 0)))
    step(3)
    context["at_3"] = look()
    Path("c.txt").write_text("c, made at step 3")
    result = dict(context)
    """
)


def _run_config(tmp_path: Path, session: str, **more):
    config = {"engine": "python", "mode": "planning-control", "session_id": session}
    return {**config, "work_dir": str(tmp_path / session), **more}


def _files(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file's bytes and inode."""
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_ino)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


async def test_a_fork_at_step_2_starts_from_the_files_as_they_were_before_step_2(
    executor, sessions, tmp_path
):
    parent_dir = tmp_path / "p"
    parent_dir.mkdir()
    (parent_dir / "input.dat").write_bytes(b"there before the run")
    await executor.execute("parent", STEPS, _run_config(tmp_path, "p"))
    parent = _files(parent_dir)
    assert (parent_dir / "a.txt").read_text() == "a, as step 2 rewrote it" and (parent_dir / "c.txt").exists()

    task, config = fork_config(sessions, "p", 2)
    assert config["restart"]["work_dir_from"] == "snapshot"
    assert "as it was before step 2" in config["restart"]["message"]
    child_dir = tmp_path / "forks" / "p-fork2"
    # before the child runs: a.txt at its step-1 content, b.txt and c.txt (made at steps 2, 3) absent
    assert sorted(_files(child_dir)) == ["a.txt", "input.dat", "keep.txt"]
    assert (child_dir / "a.txt").read_text() == "a, as step 1 wrote it"
    assert (child_dir / "input.dat").read_bytes() == b"there before the run"
    assert (child_dir / "empty" / "inner").is_dir()  # an empty folder is kept too

    result = await executor.execute("child", task, config)
    assert result["context"]["at_2"] == {"a.txt": "a, as step 1 wrote it", "b.txt": None, "c.txt": None}
    assert result["context"]["at_3"]["c.txt"] is None
    assert _files(parent_dir) == parent  # the parent's files: the same bytes, the same inodes
    store = store_for(sessions.path("p"))
    for folder in (child_dir, store / "objects"):  # nothing shares an inode: no hard links anywhere
        assert all(p.stat().st_nlink == 1 for p in folder.rglob("*") if p.is_file())
    child_inodes = {inode for _, inode in _files(child_dir).values()}
    assert not child_inodes & {inode for _, inode in parent.values()}
    record = sessions.load_session("p-fork2")
    assert record["work_dir_from"] == "snapshot" and record["parent_session"] == "p"


async def test_each_content_is_stored_once_and_an_untouched_file_is_not_copied_again(
    executor, sessions, tmp_path
):
    await executor.execute("parent", STEPS, _run_config(tmp_path, "d"))
    store = store_for(sessions.path("d"))
    index = store_index(store)
    assert index["steps"] == [1, 2, 3] and index["stopped_at_step"] is None
    assert sessions.load_session("d")["snapshots"]["steps"] == [1, 2, 3]
    manifests = {n: manifest_before(store, n)["files"] for n in (1, 2, 3)}
    assert manifests[1] == {}
    assert sorted(manifests[2]) == ["a.txt", "keep.txt"] and sorted(manifests[3]) == [
        "a.txt",
        "b.txt",
        "keep.txt",
    ]
    assert manifests[2]["keep.txt"] == manifests[3]["keep.txt"]
    assert manifests[2]["a.txt"]["sha256"] != manifests[3]["a.txt"]["sha256"]
    contents = {e["sha256"] for m in manifests.values() for e in m.values()}
    objects = [p for p in (store / "objects").rglob("*") if p.is_file()]
    assert sorted(p.name for p in objects) == sorted(contents)  # one copy of each content
    assert index["stored_bytes"] == sum(p.stat().st_size for p in objects)

    writer = SnapshotWriter(store, 1 << 20)  # a later boundary where nothing changed: nothing copied
    root = manifest_before(store, 3)["root"]
    again = writer.take(4, root, ["a.txt", "b.txt", "keep.txt", "c.txt"])
    assert again["files"] == 4 and again["new_files"] == 1  # c.txt, made at step 3
    assert writer.take(5, root, ["a.txt", "b.txt", "keep.txt", "c.txt"])["new_files"] == 0


async def test_past_the_limit_snapshots_stop_and_a_later_fork_says_it_starts_from_the_final_files(
    executor, sessions, collected, tmp_path
):
    config = _run_config(tmp_path, "big", snapshot_max_bytes=4000, b_size=5000)
    await executor.execute("parent", STEPS, config, collected)
    index = store_index(store_for(sessions.path("big")))
    assert index["steps"] == [1, 2] and index["stopped_at_step"] == 3
    assert "limit of 4000 bytes" in index["reason"]
    said = sessions.load_session("big")["snapshots"]  # the session says from which step on it has none
    assert said["steps"] == [1, 2] and said["stopped_at_step"] == 3 and said["reason"] == index["reason"]
    warned = [w["message"] for w in collected.of("warning") if w.get("kind") == "snapshots"]
    assert len(warned) == 1 and "from step 3 on" in warned[0]

    # the fork's copy of the final cwd has the same limit: this one raises it (see the next test)
    task, at_3 = fork_config(sessions, "big", 3, overrides={"snapshot_max_bytes": 1 << 20})
    assert at_3["restart"]["work_dir_from"] == "final"
    assert (
        "FINAL files" in at_3["restart"]["message"] and "stopped before step 3" in at_3["restart"]["message"]
    )
    assert (tmp_path / "forks" / "big-fork3" / "c.txt").exists()  # the final files: made at step 3
    _, at_2 = fork_config(sessions, "big", 2)
    assert at_2["restart"]["work_dir_from"] == "snapshot"
    assert not (tmp_path / "forks" / "big-fork2" / "b.txt").exists()

    collected.events.clear()
    await executor.execute("child", task, at_3, collected)
    restart = collected.of("restart")[0]
    assert restart["work_dir_from"] == "final" and "FINAL files" in restart["message"]
    assert collected.types().index("restart") < collected.types().index("status")  # said before it ran
    assert sessions.load_session("big-fork3")["work_dir_from"] == "final"


async def test_a_python_fork_refuses_to_copy_a_final_cwd_past_the_limit(executor, sessions, tmp_path):
    parent_dir = tmp_path / "huge"
    parent_dir.mkdir()
    (parent_dir / "data.bin").write_bytes(os.urandom(6000))
    await executor.execute("parent", STEPS, _run_config(tmp_path, "huge", snapshot_max_bytes=3000))
    assert store_index(store_for(sessions.path("huge")))["stopped_at_step"] == 1

    with pytest.raises(WorkDirTooLarge, match=r"more than the limit of 3000 bytes") as refused:
        fork_config(sessions, "huge", 2)
    assert "bytes of" in str(refused.value) and isinstance(refused.value, ValueError)
    assert not (tmp_path / "forks").exists() or not any((tmp_path / "forks").iterdir())
    _, config = fork_config(sessions, "huge", 2, overrides={"snapshot_max_bytes": 1 << 20})
    assert config["restart"]["work_dir_from"] == "final"
    assert (tmp_path / "forks" / "huge-fork2" / "data.bin").stat().st_size == 6000


async def test_a_store_that_cannot_be_written_never_fails_the_run(executor, sessions, collected, tmp_path):
    sessions.root.mkdir(parents=True)
    store_for(sessions.path("ro")).write_text("a file where the store would be")
    result = await executor.execute("run", STEPS, _run_config(tmp_path, "ro"), collected)
    assert result["context"]["at_3"]["b.txt"] == "b, made at step 2"
    [warned] = [w["message"] for w in collected.of("warning") if w.get("kind") == "snapshots"]
    assert "from step 1 on" in warned and "the snapshot store failed" in warned
    _, config = fork_config(sessions, "ro", 2)
    assert config["restart"]["work_dir_from"] == "final"


def test_a_hostile_manifest_is_refused_not_followed(tmp_path):
    store = tmp_path / "store"
    writer = SnapshotWriter(store, 1 << 20)
    root = tmp_path / "w"
    root.mkdir()
    (root / "f.txt").write_text("x")
    writer.take(1, str(root), ["f.txt"])
    manifest = manifest_before(store, 1)
    manifest["files"]["../escape.txt"] = manifest["files"]["f.txt"]
    (store / "steps" / "1.json").write_text(json.dumps(manifest))

    with pytest.raises(ValueError, match="not a plain relative path"):
        restore(store, manifest_before(store, 1), tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists()


def test_the_limit_is_checked_in_the_config_room(monkeypatch):
    from cmbjupyter.config import DEFAULT_SNAPSHOT_MAX_BYTES, TaskConfig
    from cmbjupyter.errors import ConfigError

    assert TaskConfig({}).snapshot_max_bytes == DEFAULT_SNAPSHOT_MAX_BYTES == 1 << 30
    assert TaskConfig({"snapshot_max_bytes": 0}).snapshot_max_bytes == 0
    monkeypatch.setenv("CMBJUPYTER_SNAPSHOT_MAX_BYTES", "12345")
    assert TaskConfig({}).snapshot_max_bytes == 12345
    monkeypatch.setenv("CMBJUPYTER_SNAPSHOT_MAX_BYTES", "lots")
    with pytest.raises(ConfigError, match=r"\$CMBJUPYTER_SNAPSHOT_MAX_BYTES must be a number of bytes"):
        TaskConfig({})
    with pytest.raises(ConfigError, match=r"config\['snapshot_max_bytes'\] must be a number of bytes"):
        TaskConfig({"snapshot_max_bytes": -1})

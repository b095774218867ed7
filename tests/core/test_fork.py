"""Fork from a step and resume that keeps the books, with the python engine (real workers, real files)."""

from __future__ import annotations

import hashlib
import json
import textwrap
from pathlib import Path

import pytest

from cmbjupyter.errors import ConfigError, TaskFailed
from cmbjupyter.fork import clone_tree, fork_config
from cmbjupyter.task_steps import restart_problem, step_numbers

#: A 3-step python-engine task: each step says it ran, spends, and writes files of the work dir.
THREE_STEPS = textwrap.dedent(
    """
    import pathlib
    for n in (1, 2, 3):
        emit.add_node(f"step_{n}", f"Step {n}")
    step(1)
    print("running step 1")
    record_usage("gpt-4o-mini", 1000, 100, agent="engineer", cost=0.001)
    pathlib.Path("shared.txt").write_text("parent wrote this at step 1\\n")
    context["one"] = 1
    step(2)
    print("running step 2")
    record_usage("gpt-4o-mini", 2000, 200, agent="engineer", cost=0.002)
    with open("shared.txt", "r+") as f:  # rewritten in place: a hard link would leak into the parent
        f.write(config.get("instructions", "parent").upper())
    context["two"] = context["one"] + 1
    if config.get("crash_at_2") and not config.get("resume"):
        raise RuntimeError("crash at step 2")
    step(3)
    print("running step 3")
    record_usage("gpt-4o-mini", 4000, 400, agent="engineer", cost=0.004)
    pathlib.Path("final.txt").write_text(str(context))
    result = {"context": dict(context)}
    """
)


def _tree(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file under ``folder``: its sha256 and inode (a hard link would share the parent's)."""
    return {
        str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_ino)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


async def _run_parent(executor, work_dir: Path) -> dict:
    """The parent session "p": THREE_STEPS run to the end in ``work_dir``; its config."""
    config = {"engine": "python", "mode": "planning-control", "session_id": "p", "work_dir": str(work_dir)}
    await executor.execute("parent", THREE_STEPS, config)
    return config


def test_a_task_is_step_structured_by_its_top_level_step_statements():
    assert step_numbers(THREE_STEPS) == [1, 2, 3]
    assert restart_problem(THREE_STEPS, 2) is None
    assert "no top-level step(4)" in restart_problem(THREE_STEPS, 4)
    looped = "for n in range(3):\n    step(n + 1)\n"
    assert "runs the whole task again" in restart_problem(looped, 2)


async def test_fork_at_step_2_restores_step_1_keeps_the_parent_and_carries_its_books(
    executor, sessions, collected, tmp_path
):
    parent_dir = tmp_path / "parent"
    await _run_parent(executor, parent_dir)
    parent_files = _tree(parent_dir)
    parent_record = sessions.load_session("p")

    task, child_config = fork_config(sessions, "p", 2, changes={"instructions": "sprout"})
    collected.events.clear()
    result = await executor.execute("child", task, child_config, collected)

    # the parent's work dir: the same bytes, the same inodes (nothing linked, nothing rewritten)
    assert _tree(parent_dir) == parent_files
    assert (parent_dir / "shared.txt").read_text() == "PARENT wrote this at step 1\n"
    assert sessions.load_session("p")["cost"] == parent_record["cost"]
    child_dir = tmp_path / "forks" / "p-fork2"
    assert (child_dir / "shared.txt").read_text() == "SPROUT wrote this at step 1\n"
    assert not set(_tree(child_dir).values()) & set(parent_files.values())

    # step 1 restored, not re-run; steps 2 and 3 ran with the change, from the saved context
    printed = [e["data"]["message"] for e in collected.events if e["type"] == "output"]
    assert not any("running step 1" in m for m in printed)
    assert any("running step 2" in m for m in printed) and any("running step 3" in m for m in printed)
    assert result["context"] == {"one": 1, "two": 2, "instructions": "sprout"}
    restart = collected.of("restart")[0]
    first_worker_event = min(i for i, e in enumerate(collected.events) if e["type"] == "output")
    assert collected.types().index("restart") < first_worker_event  # said before it ran
    assert "step 1 restored" in restart["message"] and restart["restored_steps"] == [1]

    record = sessions.load_session("p-fork2")
    nodes = {n["id"]: n for n in record["dag"]["nodes"]}
    assert nodes["step_1"]["status"] == "completed" and nodes["step_1"]["restored"] is True
    assert nodes["step_1"]["cost_usd"] == 0
    assert nodes["step_2"]["status"] == nodes["step_3"]["status"] == "completed"
    assert not nodes["step_2"].get("restored")
    # lineage in the sidecar
    assert record["parent_session"] == "p" and record["forked_at_step"] == 2
    assert record["changes"] == {"instructions": "sprout"}
    # the books: this run's own cost, the parent's spend before step 2 carried, and the sum
    cost = record["cost"]
    assert cost["total_usd"] == pytest.approx(0.006)
    assert "1" not in cost["by_step"]
    carried = cost["carried"]
    assert carried["total_usd"] == pytest.approx(0.001) and carried["calls"] == 1
    assert carried["input_tokens"] == 1000 and carried["seconds"] >= 0
    assert carried["sessions"][0]["session_id"] == "p" and carried["sessions"][0]["at_step"] == 2
    assert cost["grand_total_usd"] == pytest.approx(0.007)


async def test_a_fork_refuses_what_it_cannot_do_before_copying_anything(executor, sessions, tmp_path):
    parent_dir = tmp_path / "parent"
    config = await _run_parent(executor, parent_dir)
    with pytest.raises(ConfigError, match="no top-level step\\(7\\)"):
        fork_config(sessions, "p", 7)
    with pytest.raises(ConfigError, match="step number"):
        fork_config(sessions, "p", 0)
    with pytest.raises(ConfigError, match="changes only"):
        fork_config(sessions, "p", 2, changes={"temperature": 0})
    looped = "for n in (1, 2):\n    step(n)\n"
    await executor.execute("l", looped, {**config, "session_id": "loop"})
    with pytest.raises(ConfigError, match="cannot restart it mid-way"):
        fork_config(sessions, "loop", 2)
    assert not (tmp_path / "forks").exists()


async def test_resume_restarts_at_the_saved_step_and_keeps_the_books(executor, sessions, collected, tmp_path):
    config = {
        "engine": "python",
        "mode": "planning-control",
        "session_id": "r",
        "work_dir": str(tmp_path / "w"),
        "crash_at_2": True,
    }
    with pytest.raises(TaskFailed, match="crash at step 2"):
        await executor.execute("first", THREE_STEPS, config)
    before = sessions.load_session("r")
    assert before["cost"]["total_usd"] == pytest.approx(0.003)

    await executor.resume("r", output_callback=collected)
    printed = [e["data"]["message"] for e in collected.events if e["type"] == "output"]
    assert not any("running step 1" in m for m in printed)
    restart = collected.of("restart")[0]
    assert "restarts at step 2" in restart["message"]
    assert collected.types().index("restart") < collected.types().index("status")
    cost = sessions.load_session("r")["cost"]
    assert cost["total_usd"] == pytest.approx(0.006)  # this attempt: steps 2 and 3
    assert cost["carried"]["total_usd"] == pytest.approx(0.003)  # the first attempt, kept
    assert cost["carried"]["sessions"][0]["reason"] == "earlier attempt"
    assert cost["grand_total_usd"] == pytest.approx(0.009)


async def test_an_engine_that_cannot_restart_mid_way_says_so_before_it_starts(executor, sessions, collected):
    task = "step(1)\nrecord_usage('m', 10, 1, cost=0.0004)\n"
    task += "if not config.get('resume'):\n    raise RuntimeError('x')\n"
    task = "def go():\n" + textwrap.indent(task, "    ") + "go()\n"  # its step is not a top-level statement
    with pytest.raises(TaskFailed):
        await executor.execute("a", task, {"engine": "python", "session_id": "w"})
    await executor.resume("w", output_callback=collected)
    restart = collected.of("restart")[0]
    assert "runs the whole task again" in restart["message"] and restart["at_step"] is None
    assert collected.types().index("restart") < collected.types().index("status")
    cost = sessions.load_session("w")["cost"]
    assert cost["total_usd"] == pytest.approx(0.0004)
    assert cost["grand_total_usd"] == pytest.approx(0.0008)  # not back to $0.0004


def test_clone_tree_copies_without_links_and_skips_what_it_must(tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "a.txt").write_text("a")
    (src / ".hidden").write_text("h")
    (src / "link").symlink_to("/etc/passwd")
    (src / "cmbagent_output").mkdir()
    counts = clone_tree(src, tmp_path / "dst", skip_top=frozenset({"cmbagent_output"}))
    assert counts["files"] == 1 and counts["cloned"] + counts["copied"] == 1
    assert (tmp_path / "dst" / "sub" / "a.txt").read_text() == "a"
    assert not (tmp_path / "dst" / "link").exists() and not (tmp_path / "dst" / ".hidden").exists()
    assert not (tmp_path / "dst" / "cmbagent_output").exists()
    assert (tmp_path / "dst" / "sub" / "a.txt").stat().st_ino != (src / "sub" / "a.txt").stat().st_ino


def test_the_cli_forks_and_says_where_it_restarts_before_it_starts(tmp_path):
    from tests.core.test_cli import cli

    (tmp_path / "task.py").write_text(THREE_STEPS)
    cli("run", "task.py", "--engine", "python", "--mode", "planning-control", "--session", "c", cwd=tmp_path)
    done = cli("fork", "c", "--at-step", "2", "--model", "m2", "--session", "c2", cwd=tmp_path)
    assert "forked from c at step 2: step 1 restored" in done.stderr
    assert "restart: forked from c at step 2" in done.stdout
    assert "+$0.001000 carried = $0.007000" in done.stdout.strip().splitlines()[-1]
    shown = json.loads(cli("sessions", "show", "c2", cwd=tmp_path).stdout)
    assert shown["parent_session"] == "c" and shown["changes"] == {"model": "m2"}
    refused = cli("fork", "c", "--at-step", "5", cwd=tmp_path, check=False)
    assert refused.returncode == 2 and "no top-level step(5)" in refused.stderr


async def test_a_fork_that_fails_resumes_at_its_step_with_its_lineage_and_all_its_books(
    executor, sessions, tmp_path
):
    await _run_parent(executor, tmp_path / "p")
    task, child = fork_config(
        sessions, "p", 2, changes={"instructions": "sprout"}, overrides={"crash_at_2": True}
    )
    with pytest.raises(TaskFailed, match="crash at step 2"):
        await executor.execute("child", task, child)
    result = await executor.resume("p-fork2")
    assert result["context"] == {"one": 1, "two": 2, "instructions": "sprout"}
    record = sessions.load_session("p-fork2")
    assert (record["parent_session"], record["forked_at_step"]) == ("p", 2)
    carried = record["cost"]["carried"]
    assert [(e["session_id"], e["reason"]) for e in carried["sessions"]] == [
        ("p", "fork"),
        ("p-fork2", "earlier attempt"),
    ]
    assert carried["total_usd"] == pytest.approx(0.001 + 0.002)
    assert record["cost"]["grand_total_usd"] == pytest.approx(0.009)
    nodes = {n["id"]: n for n in record["dag"]["nodes"]}
    assert nodes["step_1"]["restored"] and not nodes["step_2"].get("restored")


def test_a_copy_inside_the_folder_it_copies_is_not_copied_into_itself(tmp_path):
    src = tmp_path / "root"
    (src / "data").mkdir(parents=True)
    (src / "data" / "x.npy").write_bytes(b"x")
    counts = clone_tree(src, src / "sessions-forks" / "child")  # e.g. a sessions folder in the cwd
    assert counts["files"] == 1
    assert sorted(p.relative_to(src).as_posix() for p in src.rglob("*") if p.is_file()) == [
        "data/x.npy",
        "sessions-forks/child/data/x.npy",
    ]


async def test_a_bad_override_is_refused_before_the_work_dir_is_copied(executor, sessions, tmp_path):
    await _run_parent(executor, tmp_path / "p")
    with pytest.raises(ConfigError, match="timeout"):
        fork_config(sessions, "p", 2, overrides={"timeout": -1})
    assert not (tmp_path / "forks").exists()

"""Fork through the server: ``POST sessions/{id}/fork`` (authenticated: test_auth.py; inputs checked
here) and ``%cmbagent fork`` from a kernel that restarted after the parent ran."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.core.test_fork import THREE_STEPS

LOAD = "%load_ext cmbjupyter"
PARENT = "%%cmbagent --engine python --mode planning-control --session s-par --work-dir par\n" + THREE_STEPS


def _digest(folder) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


async def test_fork_refuses_bad_input_with_a_clear_error_and_starts_nothing(api, registry, tmp_path):
    work_dir = str(tmp_path / "w")
    created = await api.submit(THREE_STEPS, mode="planning-control", session_id="s-rest", work_dir=work_dir)
    await api.wait(created["task_id"])
    before = set(registry.tasks)
    for body, status, words in (
        ({"at_step": "two"}, 400, "step number"),
        ({"at_step": 0}, 400, "step number"),
        ({"at_step": 9}, 400, "no top-level step(9)"),
        ({"at_step": 2, "temperature": 0}, 400, "unknown fork fields temperature"),
        ({"at_step": 2, "budget_usd": -1}, 400, "positive number of dollars"),
        ({"at_step": 2, "session_id": "../x"}, 400, "invalid session id"),
        ({"at_step": 2, "session_id": "s-rest"}, 409, "exists already"),
        ({"at_step": 2, "config": []}, 400, "'config' must be an object"),
    ):
        code, reply = await api.call("POST", "sessions", "s-rest", "fork", body=body)
        assert code == status and words in reply["message"], (body, code, reply)
    code, reply = await api.call("POST", "sessions", "nope", "fork", body={"at_step": 2})
    assert code == 404 and "nope" in reply["message"]
    assert set(registry.tasks) == before


async def test_a_kernel_restarted_after_the_run_forks_it_on_the_server(
    api, notebook_kernel, sessions_dir, jp_root_dir
):
    kernel = await notebook_kernel("fork.ipynb")
    await kernel.execute(LOAD)
    await kernel.execute(PARENT)
    parent_files = _digest(jp_root_dir / "par")
    await kernel.shutdown()

    again = await notebook_kernel("fork.ipynb")  # a new kernel: it knows the session only by its id
    await again.execute(LOAD)
    await again.execute("%cmbagent fork s-par --at-step 2 --instructions sprout --model m2 --session s-kid")
    printed = await again.execute(
        "run = _\nprint('WHERE', run.where, run.status, run.session_id)\n"
        "print('RESTORED', [n for n, v in run.state.nodes.items() if v.get('restored')])\n"
        "cost = run.state.cost\n"
        "print('BOOKS', round(cost['carried']['total_usd'], 6), round(cost['total_usd'], 6))"
    )
    assert "WHERE server completed s-kid" in printed
    assert "RESTORED ['step_1']" in printed and "BOOKS 0.001 0.006" in printed
    record = json.loads((sessions_dir / "s-kid.json").read_text())  # the server's store
    assert record["parent_session"] == "s-par" and record["forked_at_step"] == 2
    assert record["changes"] == {"instructions": "sprout", "model": "m2"}
    assert record["config"]["model"] == "m2"
    assert record["work_dir_from"] == "snapshot"  # the parent's folder as it was before step 2
    assert json.loads((sessions_dir / "s-par.snapshots" / "index.json").read_text())["steps"] == [1, 2, 3]
    assert _digest(jp_root_dir / "par") == parent_files  # the parent's work dir, untouched
    kid_dir = sessions_dir.resolve().parent / "forks" / "s-kid"
    assert (kid_dir / "shared.txt").read_text() == "SPROUT wrote this at step 1\n"
    [task] = [t for t in (await api.get("tasks"))["tasks"] if t["session_id"] == "s-kid"]
    assert task["notebook"] == "fork.ipynb"


async def test_a_resume_through_rest_keeps_the_books_and_says_where_it_restarts(api, sessions_dir, tmp_path):
    work_dir = str(tmp_path / "w")
    first = await api.submit(
        THREE_STEPS, mode="planning-control", session_id="s-books", work_dir=work_dir, crash_at_2=True
    )
    await api.wait(first["task_id"], ("failed",))
    code, resumed = await api.call("POST", "sessions", "s-books", "resume", body={})
    assert code == 201
    snapshot = await api.wait(resumed["task_id"])
    assert "restarts at step 2" in snapshot["restart"]["message"]
    assert snapshot["dag"]["nodes"]["step_1"]["restored"] is True
    cost = json.loads((sessions_dir / "s-books.json").read_text())["cost"]
    assert round(cost["carried"]["total_usd"], 6) == 0.003  # the first attempt: steps 1 and 2
    assert round(cost["total_usd"], 6) == 0.006 and round(cost["grand_total_usd"], 6) == 0.009
    listed = [s for s in (await api.get("sessions"))["sessions"] if s["session_id"] == "s-books"]
    assert round(listed[0]["carried_usd"], 6) == 0.003


@pytest.mark.parametrize("cmb_config", [{"snapshot_max_bytes": 10}])  # the server's traitlet
async def test_a_fork_past_the_parents_snapshots_says_it_starts_from_the_final_files(
    api, sessions_dir, tmp_path, cmb_config
):
    work_dir = str(tmp_path / "w")  # step 2's snapshot needs step 1's file: more than the 10 bytes allowed
    first = await api.submit(THREE_STEPS, mode="planning-control", session_id="s-cap", work_dir=work_dir)
    await api.wait(first["task_id"])
    assert json.loads((sessions_dir / "s-cap.snapshots" / "index.json").read_text())["stopped_at_step"] == 2

    code, refused = await api.call("POST", "sessions", "s-cap", "fork", body={"at_step": 2})
    assert code == 400 and "more than the limit of 10 bytes" in refused["message"]  # the final cwd's copy
    body = {"at_step": 2, "session_id": "s-cap2", "config": {"snapshot_max_bytes": 1 << 20}}
    code, forked = await api.call("POST", "sessions", "s-cap", "fork", body=body)
    assert code == 201, forked
    snapshot = await api.wait(forked["task_id"])
    assert snapshot["restart"]["work_dir_from"] == "final"
    assert (
        "FINAL files" in snapshot["restart"]["message"]
        and "stopped before step 2" in snapshot["restart"]["message"]
    )
    assert json.loads((sessions_dir / "s-cap2.json").read_text())["work_dir_from"] == "final"

"""The cmbjupyter command: run with a live or plain view, list and show sessions, replay, resume, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

TASK = "\n".join(
    [
        "phase('planning', context={'a': 1})",
        "record_usage('gpt-4o-mini', 100, 10, agent='planner')",
        "print('done')",
    ]
)


def cli(*args, cwd, check=True, timeout=120, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "cmbjupyter.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=check,
        timeout=timeout,
        **kwargs,
    )


def run_planning(task_file, *args, cwd, **kwargs):
    """``cmbjupyter run TASK_FILE --engine python --mode planning-control ARGS``."""
    planning = ("--engine", "python", "--mode", "planning-control")
    return cli("run", str(task_file), *planning, *args, cwd=cwd, **kwargs)


@pytest.fixture
def task_file(tmp_path):
    path = tmp_path / "task.py"
    path.write_text(TASK)
    return path


def test_run_prints_plain_lines_when_not_a_terminal_and_saves_the_session(tmp_path, task_file):
    out = run_planning(task_file, "--session", "cli1", "--log", "run.jsonl", cwd=tmp_path).stdout
    assert "[stdout] done" in out
    assert "== phase planning" in out
    assert "✓ planning completed" in out
    assert "$ gpt-4o-mini: 100 in / 10 out = $" in out
    assert out.strip().splitlines()[-1].startswith("completed: $0.0000")
    assert (tmp_path / ".cmbagent" / "sessions" / "cli1.json").is_file()
    assert (tmp_path / "run.jsonl").stat().st_size > 0


def test_run_prints_the_transcript_and_an_outcome_that_tells_the_truth(tmp_path):
    task = tmp_path / "camb.py"
    task.write_text(
        "step(1)\n"
        "emit.message('I will import camb.', agent='engineer')\n"
        "emit.code_execution('python', 'import camb', exit_code=1, duration_s=0.5, agent='engineer')\n"
    )
    out = run_planning(task, cwd=tmp_path).stdout
    assert "[engineer] I will import camb." in out and "[engineer] ran python: exit 1 in 0.5 s" in out
    last = out.strip().splitlines()[-1]
    assert last.startswith("completed with errors: 1 code execution failed (step 1, engineer): $0.0000")


def test_sessions_list_and_show(tmp_path, task_file):
    cli("run", str(task_file), "--engine", "python", "--session", "cli2", cwd=tmp_path)
    listing = cli("sessions", cwd=tmp_path).stdout
    assert listing.startswith("cli2") and "completed" in listing
    shown = json.loads(cli("sessions", "show", "cli2", cwd=tmp_path).stdout)
    assert shown["session_id"] == "cli2" and shown["context_variables"] == {"a": 1}


def test_a_failed_task_exits_1_and_a_bad_argument_exits_2(tmp_path):
    failed = cli("run", "1/0", "--engine", "python", cwd=tmp_path, check=False)
    assert failed.returncode == 1 and "failed (ZeroDivisionError): division by zero" in failed.stderr
    bad = cli("run", "x", "--mode", "nope", "--engine", "python", cwd=tmp_path, check=False)
    assert bad.returncode == 2 and "unknown mode 'nope'" in bad.stderr
    missing = cli("sessions", "show", "ghost", cwd=tmp_path, check=False)
    assert missing.returncode == 2 and "no session 'ghost'" in missing.stderr


def test_replay_runs_a_recorded_log_to_the_same_outcome(tmp_path, task_file):
    run_planning(task_file, "--log", "run.jsonl", cwd=tmp_path)
    out = cli("replay", "run.jsonl", cwd=tmp_path).stdout
    assert "[stdout] done" in out and "== phase planning" in out
    assert out.strip().splitlines()[-1].startswith("completed:")


def test_resume_continues_a_suspended_session(tmp_path):
    task = "step(config.get('restart_at_step') or 1)\nif not config.get('resume'):\n    raise SystemExit(4)"
    assert (
        cli(
            "run",
            task,
            "--engine",
            "python",
            "--mode",
            "control",
            "--session",
            "r",
            cwd=tmp_path,
            check=False,
        ).returncode
        == 1
    )
    assert cli("resume", "r", cwd=tmp_path).returncode == 0
    assert json.loads(cli("sessions", "show", "r", cwd=tmp_path).stdout)["status"] == "completed"


def test_ctrl_c_cancels_the_task_cleanly(tmp_path):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cmbjupyter.cli",
            "run",
            "import time\nprint('up', flush=True)\ntime.sleep(60)",
            "--engine",
            "python",
            "--session",
            "interrupted",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for line in process.stdout:
        if "[stdout] up" in line:
            break
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130 and "cancelled" in err
    record = json.loads((tmp_path / ".cmbagent" / "sessions" / "interrupted.json").read_text())
    assert record["status"] == "suspended"


def test_the_live_view_draws_the_run_on_a_terminal(tmp_path, task_file):
    import pty

    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "100", "LINES": "40", "TERM": "xterm"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cmbjupyter.cli",
            "run",
            str(task_file),
            "--engine",
            "python",
            "--mode",
            "planning-control",
        ],
        cwd=tmp_path,
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    screen = b""
    deadline = time.monotonic() + 60
    while process.poll() is None or time.monotonic() < deadline:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        screen += chunk
    process.wait(timeout=30)
    text = screen.decode("utf-8", "replace")
    assert process.returncode == 0
    assert "Planning" in text and "completed" in text and "$0.0000" in text


def test_the_demo_runs_the_quickstart_task_then_every_example_notebook(tmp_path):
    notebooks = Path(__file__).resolve().parents[2] / "notebooks"
    done = cli(
        "demo",
        "--notebooks",
        str(notebooks),
        "--out",
        str(tmp_path / "demo"),
        "--plain",
        cwd=tmp_path,
        check=False,
        timeout=600,  # the quickstart task and seven notebooks (one a real cmbagent run), on a busy machine
    )
    log = tmp_path / "demo" / "kernels.log"
    assert done.returncode == 0, (
        f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}\n{log.read_text()[-4000:] if log.exists() else ''}"
    )
    assert "completed" in done.stdout and "peak at 160.23 GHz" in done.stdout
    executed = sorted(p.name for p in (tmp_path / "demo").glob("*.html"))
    assert executed == sorted(p.with_suffix(".html").name for p in notebooks.glob("0*.ipynb"))
    assert "FAILED" not in done.stdout
    assert "Kernel is running over TCP" not in done.stdout + done.stderr  # kept in demo/kernels.log


def test_a_plan_is_rejected_then_approved_edited_from_the_terminal(tmp_path):
    from tests.core.test_plan_approval import PLANNED_TASK

    task = tmp_path / "planned.py"
    task.write_text(PLANNED_TASK)
    (tmp_path / "bad.json").write_text('[{"agent": "engineer"}]')
    (tmp_path / "edited.json").write_text('[{"sub_task": "plot", "agent": "engineer"}, {"sub_task": "fit"}]')
    answers = "one step is enough\n@bad.json\n@edited.json\n"
    args = ("--session", "cli-plan", "--approve-plan", "--plain")
    out = run_planning(task, *args, cwd=tmp_path, input=answers).stdout
    assert (
        "plan awaiting approval:\n  1. load the map  [engineer]  no history\n       - read the FITS file"
        in out
    )
    assert "  1. redo: one step is enough  [engineer]" in out
    assert "refused: plan step 1: 'sub_task' must be a non-empty string" in out
    assert '"ran": [[1, "plot", "engineer", []], [2, "fit", null, []]]' in out and "completed:" in out
    assert out.count("plan_decision:") == 2


def test_without_an_answer_the_run_waiting_for_its_plan_is_cancelled(tmp_path):
    from tests.core.test_plan_approval import PLANNED_TASK

    task = tmp_path / "planned.py"
    task.write_text(PLANNED_TASK)
    args = ("run", str(task), "--engine", "python", "--mode", "planning-control", "--approve-plan", "--plain")
    done = cli(*args, cwd=tmp_path, check=False, input="")
    assert done.returncode == 130 and "no decision on the plan: standard input ended" in done.stderr

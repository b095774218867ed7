"""Fork from a notebook: ``run.fork(at_step=N, **changes)``, ``cmbjupyter.api.fork`` and
``%cmbagent fork SESSION --at-step N ...`` in kernel mode (real workers, the kernel's session store)."""

from __future__ import annotations

import base64
import re

import pytest
from IPython.core.error import UsageError

import cmbjupyter
from cmbjupyter import api
from cmbjupyter.magic import parse_fork_args
from tests.core.test_fork import THREE_STEPS


@pytest.fixture(autouse=True)
def sessions_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CMBJUPYTER_SESSIONS_DIR", str(tmp_path / "sessions"))


def _parent(tmp_path, session_id: str = "nbp"):
    run = cmbjupyter.run(
        THREE_STEPS,
        engine="python",
        mode="planning-control",
        session_id=session_id,
        work_dir=str(tmp_path / "parent"),
        display=False,
    )
    run.wait(timeout=60)
    return run


def test_run_fork_starts_a_new_session_from_step_2_with_the_changes(tmp_path):
    parent = _parent(tmp_path)
    child = parent.fork(at_step=2, instructions="again", budget_usd=0.5, session="nbp-child")
    result = child.wait(timeout=60)
    assert child.session_id == "nbp-child" and child.where == "kernel"
    assert result["context"] == {"one": 1, "two": 2, "instructions": "again"}
    state = child.state
    assert state.restart["parent_session"] == "nbp" and state.restart["forked_at_step"] == 2
    assert state.restart["changes"] == {"instructions": "again", "budget_usd": 0.5}
    assert state.nodes["step_1"]["restored"] is True and state.nodes["step_1"]["cost_usd"] == 0
    assert state.cost["budget_usd"] == 0.5
    assert state.cost["carried"]["total_usd"] == pytest.approx(0.001)
    assert state.cost["grand_total_usd"] == pytest.approx(0.007)


def test_the_fork_magic_parses_its_options_and_names_what_is_wrong():
    options = parse_fork_args(["s1", "--at-step", "2", "--model", "gpt-4.1", "--budget", "0.25"])
    assert options == {
        "session_id": "s1",
        "at_step": 2,
        "instructions": None,
        "model": "gpt-4.1",
        "budget_usd": 0.25,
        "session": None,
        "background": False,
    }
    with pytest.raises(UsageError, match="--at-step"):
        parse_fork_args(["s1"])
    with pytest.raises(UsageError, match="unrecognized arguments: --temperature"):
        parse_fork_args(["s1", "--at-step", "2", "--temperature", "0"])


def test_the_fork_magic_runs_the_fork_in_this_kernel(tmp_path):
    from IPython.core.interactiveshell import InteractiveShell

    _parent(tmp_path, "mp")
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "cmbjupyter")
    shell.run_line_magic("cmbagent", "fork mp --at-step 3 --instructions 'only the last' --session mp-3")
    child = shell.user_ns["_"]
    assert child.done() and child.status == "completed"
    assert [n for n, node in child.state.nodes.items() if node.get("restored")] == ["step_1", "step_2"]
    assert child.state.cost["total_usd"] == pytest.approx(0.004)
    assert child.state.cost["carried"]["total_usd"] == pytest.approx(0.003)
    with pytest.raises(UsageError, match=r"no top-level step\(9\)"):
        shell.run_line_magic("cmbagent", "fork mp --at-step 9")
    saved = api.local_sessions().load_session("mp-3")
    assert saved["forked_at_step"] == 3 and saved["changes"] == {"instructions": "only the last"}


def test_the_fork_button_of_the_widget_forks_in_the_kernel_and_says_into_what(tmp_path):
    from cmbjupyter.runs import runs
    from tests.notebook.test_widget import live_run

    run, view = live_run(THREE_STEPS, session_id="wp", work_dir=str(tmp_path / "parent"))
    run.wait(timeout=60)
    sent: list[dict] = []
    view.widget.send = lambda content, buffers=None: sent.append(content)
    message = {"type": "fork", "id": "k1", "at_step": 2, "instructions": "sprout", "session_id": "wp-kid"}
    view.widget._handle_message(view.widget, message, [])
    assert sent == [{"type": "fork", "id": "k1", "session_id": "wp-kid"}]
    child = next(r for r in runs() if r.session_id == "wp-kid")
    assert child.wait(timeout=60)["context"]["instructions"] == "sprout"
    view.widget._handle_message(view.widget, {"type": "fork", "id": "k2", "at_step": 9}, [])
    assert sent[-1]["id"] == "k2" and "no top-level step(9)" in sent[-1]["error"]


def test_a_saved_notebook_shows_the_restored_steps_and_the_carried_books(tmp_path):
    from cmbjupyter.static_html import render_html

    child = _parent(tmp_path, "sp").fork(at_step=2, session="sp-kid")
    child.wait(timeout=60)
    html = render_html(child.state.snapshot())
    assert "forked from sp at step 2" in html
    picture = re.search(r'class="cmb-dag-picture" [^>]*src="data:image/svg\+xml;base64,([^"]+)"', html)
    assert picture and "(completed, restored: not re-run)" in base64.b64decode(picture[1]).decode()
    assert 'stroke-dasharray="2 2"' in base64.b64decode(picture[1]).decode()
    assert '<tr data-node-id="step_1" data-status="completed"><td>' in html
    assert "completed, restored: not re-run</td>" in html  # the table a sanitizer keeps says it too
    assert "+ $0.0010 carried from sp = $0.0070 in all" in html


def test_the_sessions_table_shows_a_forks_parent_and_carried_cost(tmp_path):
    _parent(tmp_path, "tp").fork(at_step=2, session="tp-kid").wait(timeout=60)
    row = next(s for s in api.sessions_table() if s["session_id"] == "tp-kid")
    assert row["parent_session"] == "tp" and row["carried_usd"] == pytest.approx(0.001)
    assert "<th>carried_usd</th>" in api.sessions_table()._repr_html_()

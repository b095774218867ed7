"""Results you can see: the files a run makes become ``artifact`` events, the manifest of its RunState
and of its session sidecar (the python engine, real workers, real files)."""

from __future__ import annotations

import hashlib
import json

import pytest

from cmbjupyter.artifacts import categorize
from cmbjupyter.errors import TaskFailed
from cmbjupyter.state import ARTIFACTS_KEPT, RunState
from tests.core.conftest import Collected


def artifacts_of(collected, path: str | None = None) -> list[dict]:
    found = collected.of("artifact")
    return found if path is None else [a for a in found if a["path"] == path]


async def test_a_saved_plot_and_a_csv_are_artifacts_of_the_run(run_python, collected, tmp_path):
    work = tmp_path / "work"
    await run_python(
        """
        import os, matplotlib
        import matplotlib.pyplot as plt
        os.makedirs("data", exist_ok=True)
        phase("analysis", step=1)
        fig, ax = plt.subplots()
        ax.plot([1, 2, 3], [1, 4, 9])
        fig.savefig("data/fit.png")
        with open("data/cl.csv", "w") as f:
            f.write("ell,cl\\n2,1.0\\n3,2.0\\n")
        """,
        work_dir=str(work),
    )
    assert collected.of("work_dir") == [{"path": str(work)}]
    (plot,) = artifacts_of(collected, "data/fit.png")
    assert plot["category"] == "plot" and plot["mime"] == "image/png"
    png = (work / "data/fit.png").read_bytes()
    assert plot["size"] == len(png) and plot["sha256"] == hashlib.sha256(png).hexdigest()
    assert plot["step"] == 1 and plot["phase"] == "analysis" and "updated" not in plot
    assert plot["created_at"]
    (csv,) = artifacts_of(collected, "data/cl.csv")
    assert csv["category"] == "data" and csv["mime"] == "text/csv"
    # The RunState keeps the manifest; all of it came before the result.
    state = RunState.from_events(collected.events)
    assert state.work_dir == str(work)
    assert set(state.artifacts) == {"data/fit.png", "data/cl.csv"}
    types = collected.types()
    assert max(i for i, t in enumerate(types) if t == "artifact") < types.index("result")


async def test_a_file_is_reported_once_complete_not_while_written(run_python, collected, tmp_path):
    # The writer pauses for five settle times with the file half written and open: still not complete.
    await run_python(
        """
        import time
        with open("big.txt", "w") as f:
            f.write("a" * 100_000)
            f.flush()
            time.sleep(1.0)
            f.write("b" * 100_000)
        """,
        work_dir=str(tmp_path),
    )
    (record,) = artifacts_of(collected, "big.txt")
    assert record["size"] == 200_000 and "updated" not in record


async def test_files_outside_the_work_dir_and_symlinks_out_are_not_reported(run_python, collected, tmp_path):
    work, outside = tmp_path / "work", tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not the run's")
    await run_python(
        f"""
        import os
        with open({str(outside / "made.txt")!r}, "w") as f:
            f.write("outside")
        os.symlink({str(outside / "secret.txt")!r}, "link.txt")
        os.symlink({str(outside)!r}, "linked_dir")
        with open("inside.txt", "w") as f:
            f.write("inside")
        os.symlink("inside.txt", "inner_link.txt")
        for folder in (".cmbjupyter", "__pycache__", "node_modules/pkg"):
            os.makedirs(folder)
            open(folder + "/bookkeeping.txt", "w").write("not a result")
        open(".hidden", "w").write("not a result")
        """,
        work_dir=str(work),
    )
    paths = {a["path"] for a in artifacts_of(collected)}
    assert paths == {"inside.txt", "inner_link.txt"}  # a symlink that stays inside is a file of it
    assert not paths & {"link.txt", "linked_dir/secret.txt", "linked_dir/made.txt", "made.txt"}
    assert not any(p.startswith(("..", "/")) for p in paths)


async def test_a_rewritten_file_is_reported_again_once_with_updated(run_python, collected, tmp_path):
    await run_python(
        """
        def write(text):
            with open("report.md", "w") as f:
                f.write(text)
        write("# first")
        phase("review")          # a phase change reports what the last phase made
        write("# first")         # the same content again: nothing new to report
        phase("final")
        write("# second")
        """,
        work_dir=str(tmp_path),
    )
    first, second = artifacts_of(collected, "report.md")
    assert first["category"] == "report" and "updated" not in first and first["phase"] is None
    assert second["updated"] is True and second["phase"] == "final"
    assert second["sha256"] == hashlib.sha256(b"# second").hexdigest() != first["sha256"]


async def test_two_thousand_small_files_are_batched_and_the_manifest_stays_bounded(
    run_python, collected, tmp_path
):
    await run_python(
        """
        import os
        os.makedirs("data/many")
        for i in range(2000):
            with open(f"data/many/f{i:04d}.json", "w") as f:
                f.write('{"i": %d}' % i)
        """,
        work_dir=str(tmp_path),
    )
    found = artifacts_of(collected)
    assert len(found) == 2000 == len({a["path"] for a in found})  # each once
    state = RunState.from_events(collected.events)
    assert len(state.artifacts) == ARTIFACTS_KEPT and state.artifact_count == 2000
    assert state.artifact_count_dropped == 2000 - ARTIFACTS_KEPT
    snapshot = state.snapshot()["artifacts"]
    assert snapshot["count"] == 2000 and snapshot["dropped"] == 1500 and len(snapshot["items"]) == 500
    assert snapshot["items"][-1]["path"] == "data/many/f1999.json"  # the newest are kept
    assert len(json.dumps(snapshot)) < 500 * 1024


async def test_files_there_before_a_python_run_are_not_its_artifacts(run_python, collected, tmp_path):
    (tmp_path / "notebook.ipynb").write_text("{}")
    await run_python("open('new.txt', 'w').write('x')", work_dir=str(tmp_path))
    assert [a["path"] for a in artifacts_of(collected)] == ["new.txt"]


async def test_displayed_figures_become_plot_files(run_python, collected, tmp_path):
    await run_python(
        """
        import matplotlib.pyplot as plt
        from IPython.display import display
        plt.plot([1, 2, 3])
        plt.show()
        fig = plt.figure()
        fig.gca().plot([3, 2, 1])
        display(fig)
        assert plt.get_backend().lower() == "agg"
        """,
        work_dir=str(tmp_path),
    )
    shown = {a["path"]: a for a in artifacts_of(collected)}
    assert set(shown) == {"displayed/display_1.png", "displayed/display_2.png"}
    for record in shown.values():
        assert record["displayed"] is True and record["category"] == "plot"
        assert (tmp_path / record["path"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


async def test_the_sidecar_keeps_the_manifest_without_thumbnails(run_python, sessions, tmp_path):
    work = tmp_path / "work"  # not the sessions folder, which the host writes meanwhile
    await run_python("open('out.txt', 'w').write('x')", work_dir=str(work), session_id="s-art")
    record = sessions.load_session("s-art")
    assert record["work_dir"] == str(work)
    (item,) = record["artifacts"]["items"]
    assert item["path"] == "out.txt" and item["sha256"] and "thumbnail" not in item
    assert record["artifacts"]["count"] == 1


def test_the_manifest_survives_snapshot_and_restore():
    state = RunState("t")
    state.apply({"type": "work_dir", "seq": 1, "data": {"path": "/w"}})
    for n in range(ARTIFACTS_KEPT + 3):
        state.apply({"type": "artifact", "seq": n + 2, "data": {"path": f"f{n}.png", "thumbnail": "data:"}})
    state.apply({"type": "artifact", "seq": 999, "data": {"path": "f10.png", "updated": True}})
    snapshot = state.snapshot()
    assert RunState().restore(snapshot).snapshot() == snapshot
    assert snapshot["artifacts"]["dropped"] == 3 and snapshot["work_dir"] == "/w"
    assert next(a for a in snapshot["artifacts"]["items"] if a["path"] == "f10.png")["updated"] is True


@pytest.mark.parametrize(
    ("path", "category"),
    [
        ("data/fit.png", "plot"),
        ("displayed/display_1.svg", "plot"),
        ("data/cl.csv", "data"),
        ("data/x.npz", "data"),
        ("data/meta.json", "data"),
        ("codebase/analysis.py", "code"),
        ("codebase/notes.txt", "code"),
        ("run.sh", "code"),
        ("planning/final_plan.json", "plan"),
        ("plan_v2.json", "plan"),
        ("chats/chat_history.json", "chat"),
        ("context/context_step_1.pkl", "context"),
        ("cost/cost_report_1.json", "log"),
        ("time/timing_report.json", "log"),
        ("run.log", "log"),
        ("cost_report_20261130_115901.json", "log"),
        ("ideas_2024.json", "report"),
        ("notes.md", "report"),
        ("paper.pdf", "report"),
        ("blob.bin", "other"),
        ("settings.json", "other"),
    ],
)
def test_categories_follow_where_cmbagent_puts_things(path, category):
    assert categorize(path) == category


async def test_a_file_name_the_protocol_refuses_is_skipped_not_a_failure(run_python, collected, tmp_path):
    await run_python(
        """
        open(chr(92).join(["a", "..", "b.txt"]), "w").write("x")  # a\\..\\b.txt: a legal Linux name
        phase("next")
        open("ok.txt", "w").write("y")
        """,
        work_dir=str(tmp_path),
    )
    assert [a["path"] for a in artifacts_of(collected)] == ["ok.txt"]
    assert collected.of("complete")[-1]["status"] == "success"


async def test_a_resumed_run_shows_the_files_of_the_earlier_attempt_that_are_still_there(
    run_python, executor, sessions, collected, tmp_path
):
    work = tmp_path / "work"
    with pytest.raises(TaskFailed):
        await run_python(
            """
            import os
            os.makedirs("data", exist_ok=True)
            phase("analysis", step=1)
            fig = __import__("matplotlib.pyplot").pyplot.figure()
            fig.gca().plot([1, 2, 3])
            fig.savefig("data/fit.png")
            open("data/gone.csv", "w").write("x\\n1\\n")
            raise RuntimeError("stopped half way")
            """,
            session_id="s-resume-files",
            work_dir=str(work),
        )
    first = {a["path"]: a for a in artifacts_of(collected)}
    assert set(first) == {"data/fit.png", "data/gone.csv"}
    (work / "data" / "gone.csv").unlink()
    again = Collected()
    task = "open('new.txt', 'w').write('on resume')"
    await executor.resume("s-resume-files", task=task, output_callback=again)
    state = RunState.from_events(again.events)
    assert state.work_dir == str(work)
    assert list(state.artifacts) == ["data/fit.png", "new.txt"]  # the earlier one first, gone.csv not
    plot = state.artifacts["data/fit.png"]
    assert plot["sha256"] == first["data/fit.png"]["sha256"] and plot["restored"] is True
    assert (plot["step"], plot["phase"]) == (1, "analysis")  # where it was made, not where we resumed
    assert plot["thumbnail"].startswith("data:image/")  # the widget's gallery shows it
    saved = sessions.load_session("s-resume-files")["artifacts"]["items"]
    assert [a["path"] for a in saved] == ["data/fit.png", "new.txt"]  # kept for the next look

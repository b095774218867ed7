"""Benchmarks that cannot rot: each script in benchmarks/ runs at its small ``--smoke`` size as a
real subprocess and must exit 0 and print its figures (never judged on speed: a missed target is a
figure, not a failure). New scripts are found by the runner's rule (``_report.scripts``), so they are
smoke-tested without an edit here. The runner itself: a crash is exit 1, a missed target is not."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Final

import pytest

#: The benchmark folder of this checkout.
BENCHMARKS: Final = Path(__file__).resolve().parents[2] / "benchmarks"
#: Generous: a smoke run takes seconds to a minute (cmbagent_run), more on a loaded machine.
TIMEOUT: Final = 900


def _load_report():
    spec = importlib.util.spec_from_file_location("_bench_report", BENCHMARKS / "_report.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


report = _load_report()


def _marks(script: Path) -> list[pytest.MarkDecorator]:
    """What a script needs beyond the main environment."""
    if script.stem in ("render", "results_latency", "transcript_render"):  # headless Chromium
        return [pytest.mark.browser]
    if script.stem == "cmbagent_run":
        missing = not (BENCHMARKS.parent / ".venv-cmbagent" / "bin" / "python").exists()
        return [pytest.mark.skipif(missing, reason=".venv-cmbagent is missing (make cmbagent)")]
    return []


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=TIMEOUT, cwd=BENCHMARKS.parent
    )


def test_the_runner_finds_every_benchmark_and_nothing_else():
    names = [p.name for p in report.scripts()]
    assert "throughput.py" in names and "latency.py" in names
    assert report.RUNNER not in names and not any(n.startswith("_") for n in names)


@pytest.mark.parametrize("script", [pytest.param(p, id=p.stem, marks=_marks(p)) for p in report.scripts()])
def test_each_benchmark_runs_in_smoke_mode_and_prints_its_figures(script):
    out = _run(str(script), "--smoke")
    assert out.returncode == 0, f"{script.name} --smoke crashed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    figures = report.parse_output(out.stdout)
    assert figures is not None, f"{script.name} printed no BENCH-JSON line:\n{out.stdout[-3000:]}"
    assert figures["benchmark"] == script.stem and figures["figures"]
    rows = [line.split() for line in out.stdout.splitlines()]
    for figure in figures["figures"]:
        assert figure["name"] and figure["value"]
        row = f"{figure['name']}: {figure['value']}".split()
        assert row in [r[: len(row)] for r in rows], f"no row {row} in:\n{out.stdout}"  # for people too


def test_the_runner_exits_1_on_a_crash_and_0_on_a_missed_target(tmp_path):
    crash = tmp_path / "crash.py"
    crash.write_text("raise SystemExit('broken benchmark')\n")
    missed = tmp_path / "missed.py"
    missed.write_text(
        textwrap.dedent(
            f"""
            import sys
            sys.path.insert(0, {str(BENCHMARKS)!r})
            from _report import Report, options
            options(None, n=(10, 1))
            report = Report("missed", "a benchmark that misses its target")
            report.add("speed", "1 event/s", ">= 2 events/s", False)
            report.finish()
            """
        )
    )
    out = _run(str(BENCHMARKS / "run_all.py"), "--smoke", str(missed))
    assert out.returncode == 0, out.stderr
    assert "| missed | speed | 1 event/s | >= 2 events/s | MISSED |" in out.stdout

    out = _run(str(BENCHMARKS / "run_all.py"), "--smoke", str(missed), str(crash))
    assert out.returncode == 1
    assert "| crash | - | - | - | CRASHED (exit code 1) |" in out.stdout
    assert "MISSED" in out.stdout and "crashed: crash" in out.stderr


def test_a_benchmark_rejects_a_bad_size_with_a_clear_error():
    out = _run(str(BENCHMARKS / "throughput.py"), "--n", "many")
    assert out.returncode == 2 and "--n: invalid int value: 'many'" in out.stderr

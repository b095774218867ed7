"""Run every benchmark and print one table of figures and targets (``make bench``).

The benchmarks are found by one rule (``_report.scripts``), so a new one joins without an edit here:
every ``benchmarks/*.py`` whose name does not start with ``_`` (helpers) and is not this runner. Each
takes ``--smoke`` and ends its output with the ``BENCH-JSON`` line of ``_report.Report``.

A missed target is shown as MISSED in the table; the exit code is 1 only if a benchmark crashed (a
non-zero exit, or no figures printed), so a broken script can never go unnoticed.

Usage: ``python benchmarks/run_all.py [--smoke] [--timeout SECONDS] [NAME|PATH ...]`` (default: all)
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from _report import BENCHMARKS, parse_output, scripts


def run(script: Path, smoke: bool, timeout: float) -> tuple[dict[str, Any] | None, str]:
    """Run one benchmark, echoing its output; its figures (None if it crashed) and, if so, why."""
    command = [sys.executable, str(script), *(["--smoke"] if smoke else [])]
    print(f"\n$ {' '.join(command[1:])}", flush=True)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=BENCHMARKS.parent)
    output = []
    try:
        for line in process.stdout:
            output.append(line)
            sys.stdout.write(line)
            sys.stdout.flush()
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return None, f"no end after {timeout:g} s"
    figures = parse_output("".join(output))
    if code != 0:
        return None, f"exit code {code}"
    if figures is None:
        return None, "printed no figures"
    return figures, ""


def table(results: list[tuple[str, dict[str, Any] | None, str]]) -> str:
    """One Markdown table: benchmark, figure, value, target, verdict."""
    rows = [("benchmark", "figure", "value", "target", "verdict"), ("---",) * 5]
    for name, figures, problem in results:
        if figures is None:
            rows.append((name, "-", "-", "-", f"CRASHED ({problem})"))
            continue
        for f in figures["figures"]:
            verdict = "" if f["ok"] is None else "ok" if f["ok"] else "MISSED"
            rows.append((name, f["name"], f["value"], f["target"] or "", verdict))
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="run each at its small smoke size")
    parser.add_argument("names", nargs="*", metavar="NAME|PATH", help="only these (e.g. throughput latency)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per benchmark (default 3600)")
    args = parser.parse_args()
    known = {p.stem: p for p in scripts()}
    chosen = []
    for name in args.names or known:
        path = known.get(name) or Path(name)
        if not path.is_file():
            parser.error(f"no benchmark {name!r}: give a path or one of {', '.join(known)}")
        chosen.append(path.resolve())
    started = datetime.datetime.now(datetime.UTC)
    results = []
    for script in chosen:
        figures, problem = run(script, args.smoke, args.timeout)
        results.append((script.stem, figures, problem))
    minutes = (datetime.datetime.now(datetime.UTC) - started).total_seconds() / 60
    print(
        f"\n## Benchmarks{' (smoke sizes)' if args.smoke else ''}, {started:%Y-%m-%d %H:%M} UTC, "
        f"{minutes:.1f} min; {platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end\n"
    )
    print(table(results))
    crashed = [name for name, figures, _ in results if figures is None]
    if crashed:
        print(f"\ncrashed: {', '.join(crashed)}", file=sys.stderr)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())

"""One command line and one report for every benchmark, so ``run_all.py`` (``make bench``) and the
smoke test (tests/benchmarks/test_smoke.py) can run them all without knowing any of them.

Every benchmark script (:func:`scripts`: ``benchmarks/*.py`` not starting with ``_``, except the
runner ``run_all.py``) does two things, so a new script joins ``make bench`` and the smoke test
without an edit anywhere:

* reads its sizes with :func:`options`: each has a full value and a small ``--smoke`` value, and any
  one can be set (``--n 50000``);
* collects its figures in a :class:`Report` and calls :meth:`Report.finish`, which prints one row a
  figure, ``name: value (target) [ok|MISSED]``, then one last line ``BENCH-JSON {...}`` that the runner
  reads. A missed target is a figure, not a crash: the script still exits 0.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

#: The prefix of the machine-readable last line of a benchmark's output.
JSON_PREFIX: Final = "BENCH-JSON "
#: The folder of the benchmark scripts (this file's).
BENCHMARKS: Final = Path(__file__).resolve().parent
#: The runner, which is in that folder but is not a benchmark.
RUNNER: Final = "run_all.py"


def scripts() -> list[Path]:
    """Every benchmark script: ``benchmarks/*.py`` not starting with ``_``, except the runner."""
    return sorted(p for p in BENCHMARKS.glob("*.py") if not p.name.startswith("_") and p.name != RUNNER)


def options(doc: str | None, **sizes: tuple[Any, Any]) -> argparse.Namespace:
    """Parse ``--smoke`` and one ``--<size>`` option per ``name=(full, smoke)``; ``smoke`` is set too."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="small sizes: checks the script runs, not speed")
    for name, (full, smoke) in sizes.items():
        parser.add_argument(
            f"--{name.replace('_', '-')}",
            type=type(full),
            default=None,
            help=f"default {full}, smoke {smoke}",
        )
    args = parser.parse_args()
    for name, (full, smoke) in sizes.items():
        if getattr(args, name) is None:
            setattr(args, name, smoke if args.smoke else full)
    return args


@dataclass
class Figure:
    name: str
    value: str
    target: str | None = None
    ok: bool | None = None  #: None when the figure has no target

    @property
    def verdict(self) -> str:
        return "" if self.ok is None else "ok" if self.ok else "MISSED"


class Report:
    """The figures of one benchmark run, printed as a table and as one JSON line."""

    def __init__(self, benchmark: str, title: str) -> None:
        self.benchmark, self.title = benchmark, title
        self.figures: list[Figure] = []

    def add(self, name: str, value: str, target: str | None = None, ok: bool | None = None) -> None:
        """One figure; give ``target`` (e.g. ``"<= 5 ms"``) and ``ok`` when it has a target."""
        self.figures.append(Figure(name, value, target, None if ok is None else bool(ok)))

    @property
    def missed(self) -> int:
        return sum(f.ok is False for f in self.figures)

    def finish(self) -> None:
        """Print the table and the ``BENCH-JSON`` line."""
        print(f"\n== {self.title}")
        width = max((len(f.name) for f in self.figures), default=0)
        for f in self.figures:
            target = f" ({f.target})" if f.target else ""
            verdict = f" [{f.verdict}]" if f.verdict else ""
            print(f"  {f.name + ':':<{width + 1}} {f.value}{target}{verdict}")
        payload = {
            "benchmark": self.benchmark,
            "title": self.title,
            "figures": [asdict(f) for f in self.figures],
        }
        print(JSON_PREFIX + json.dumps(payload), flush=True)


def parse_output(text: str) -> dict[str, Any] | None:
    """The ``BENCH-JSON`` payload of a benchmark's output (its last such line), or None."""
    for line in reversed(text.splitlines()):
        if line.startswith(JSON_PREFIX):
            return json.loads(line[len(JSON_PREFIX) :])
    return None


__all__ = ["BENCHMARKS", "JSON_PREFIX", "RUNNER", "Figure", "Report", "options", "parse_output", "scripts"]

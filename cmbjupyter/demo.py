"""``cmbjupyter demo``: what `make demo` runs after setting everything up.

1. The quickstart task (the ``%%cmbagent`` cell of ``notebooks/01-quickstart.ipynb``, so the demo
   and the notebook never drift apart) runs in an isolated worker, watched live in the terminal.
2. Every example notebook is executed headless (nbclient, real kernels) into ``demo/``, with a static
   HTML copy of each (nbconvert): open them in a browser, or run ``make lab`` to watch the widgets live.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["add_arguments", "main"]

MAGIC = "%%cmbagent"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--notebooks", default="notebooks", help="the example notebooks (default: notebooks)")
    parser.add_argument("--out", default="demo", help="where executed notebooks go (default: demo)")
    parser.add_argument("--plain", action="store_true", help="plain lines even on a terminal")


def quickstart_task(notebook: Path) -> tuple[str, dict[str, Any]]:
    """The task text and config of the first ``%%cmbagent`` cell of ``notebook``."""
    import nbformat

    from .magic import parse_cell_args

    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type == "code" and cell.source.startswith(MAGIC):
            line, _, body = cell.source.partition("\n")
            config, _background, _kernel = parse_cell_args(line[len(MAGIC) :])
            return body, config
    raise ValueError(f"{notebook} has no {MAGIC} cell")


def execute_notebooks(source: Path, out: Path) -> list[tuple[Path, float, str | None]]:
    """Run each example notebook into ``out`` (+ HTML); returns (path, seconds, error or None)."""
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    out.mkdir(parents=True, exist_ok=True)
    done = []
    # the kernels' own chatter (transport warnings) goes to a log beside the results, not the screen
    with open(out / "kernels.log", "w", encoding="utf-8") as kernel_log:
        for path in sorted(source.glob("[0-9]*.ipynb")):
            book = nbformat.read(path, as_version=4)
            started, error = time.monotonic(), None
            try:
                NotebookClient(
                    book, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(source)}}
                ).execute(stderr=kernel_log)
            except Exception as exc:  # reported per notebook; the others still run
                error = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
                error += f" (kernel log: {kernel_log.name})"
            target = out / path.name
            nbformat.write(book, target)
            html, _ = HTMLExporter().from_notebook_node(book)
            target.with_suffix(".html").write_text(html, encoding="utf-8")
            done.append((target, time.monotonic() - started, error))
    return done


def main(args: argparse.Namespace, run_task: Any) -> int:
    """``run_task(task, config)`` runs one task in the terminal view (the CLI's) and returns its exit code."""
    source, out = Path(args.notebooks), Path(args.out)
    task, config = quickstart_task(source / "01-quickstart.ipynb")
    mode, engine = config.get("mode"), config.get("engine")
    print(f"1/2 The quickstart task, in an isolated worker ({mode}, engine {engine}):")
    code = run_task(task, config)
    print(f"\n2/2 The example notebooks, executed headless into {out}/ (with HTML copies):")
    failures = 0
    for path, seconds, error in execute_notebooks(source, out):
        failures += error is not None
        print(f"  {'FAILED' if error else 'ok':<6} {path} ({seconds:.1f} s){': ' + error if error else ''}")
    print(
        f"\nOpen {out}/01-quickstart.html in a browser, or run `make lab` to watch runs live in JupyterLab."
    )
    return code or (1 if failures else 0)


if __name__ == "__main__":
    sys.exit("run `cmbjupyter demo`")

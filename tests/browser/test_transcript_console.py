"""The console follows the tail and keeps the reader's place, in a real JupyterLab and browser.

What the user saw (issue 14): the 180 px console jumped back to its top on every phase change (the
output is re-published then, and the new view started at the top), so mid-run one read "loading
cmbagent…". Now, across phase changes (each a new view of the run): at the bottom it stays at the
bottom; scrolled up, it keeps the line it showed at its top, even when earlier lines are dropped
from the console above it. Library warnings (stream "warnings") are hidden until asked for."""

from __future__ import annotations

import pytest

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_jupyterlab import VIEW, run_notebook

pytestmark = pytest.mark.browser

CONSOLE = f"{VIEW} .cmb-console"
#: Where the console is: at its bottom, the seq and text of the first line in sight, the view's id.
WHERE = f"""() => {{
  const c = document.querySelector('{CONSOLE}');
  if (!c || c.clientHeight === 0) return null;
  const first = [...c.querySelectorAll('.cmb-line')].find((l) => l.offsetTop + l.offsetHeight > c.scrollTop);
  return {{bottom: c.scrollHeight - c.scrollTop - c.clientHeight <= 8, first: first?.textContent ?? null,
           scrollable: c.scrollHeight > c.clientHeight + 20}};
}}"""


def _task(gates) -> str:
    """Three phases of console lines; before each of the last two, the task waits for a gate file."""
    return "\n".join(
        [
            "import os, time",
            "def wait(path):",
            "    while not os.path.exists(path):",
            "        time.sleep(0.05)",
            "phase('planning')",
            "emit.output('UserWarning: a library warning', stream='warnings')",
            "for i in range(60):",
            "    print(f'planning line {i}')",
            f"wait({str(gates[0])!r})",
            "phase('control')",
            "for i in range(60):",
            "    print(f'control line {i}')",
            f"wait({str(gates[1])!r})",
            "phase('execution')",
            "for i in range(100):",
            "    print(f'final line {i}')",
            "emit.output('UserWarning: a late warning', stream='warnings')",
            "print('all done')",
        ]
    )


def _console_has(page, text: str) -> None:
    page.wait_for_function(
        f"(text) => document.querySelector('{CONSOLE}')?.textContent.includes(text)", arg=text, timeout=60_000
    )


def test_the_console_follows_the_tail_across_phase_changes_and_keeps_the_place_scrolled_up(page, lab):
    gates = [lab["root"].parent / "console-gate-1", lab["root"].parent / "console-gate-2"]  # not in Results
    run_notebook(
        page,
        lab,
        "console-follow.ipynb",
        "%load_ext cmbjupyter",
        f"%%cmbagent --engine python --mode planning-control --background\n{_task(gates)}",
    )
    page.locator(f"{VIEW} .cmb-tab-console").click(timeout=120_000)
    _console_has(page, "planning line 59")
    where = page.wait_for_function(WHERE, timeout=30_000).json_value()
    assert where["scrollable"] and where["bottom"], where
    # warnings are hidden by default, counted, and shown on demand
    console_box = page.locator(f"{VIEW} .cmb-console-box")
    assert "a library warning" not in page.locator(CONSOLE).inner_text()
    assert "show warnings (1)" in console_box.inner_text()

    gates[0].touch()  # phase "control": a new view of the run, on the Console tab still
    _console_has(page, "control line 59")
    page.wait_for_function(f"() => ({WHERE})()?.bottom === true", timeout=30_000)
    assert "control line 59" in page.locator(CONSOLE).inner_text()

    # The reader scrolls up to "control line 10", then the run goes on: it stays there.
    page.evaluate(
        f"""() => {{
          const c = document.querySelector('{CONSOLE}');
          const line = [...c.querySelectorAll('.cmb-line')].find((l) => l.textContent === 'control line 10');
          c.scrollTop = line.offsetTop;
        }}"""
    )
    page.wait_for_function(f"() => ({WHERE})()?.first === 'control line 10'", timeout=10_000)
    gates[1].touch()  # phase "execution", 100 more lines: the oldest planning lines are dropped
    _console_has(page, "all done")
    page.wait_for_selector(f'{VIEW}[data-status="completed"]', timeout=60_000)  # re-published once more
    page.wait_for_selector(f"{VIEW} .cmb-console-hidden", state="attached", timeout=30_000)
    where = page.evaluate(WHERE)
    assert where["first"] == "control line 10" and not where["bottom"], where
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(VIEW).screenshot(path=str(ARTIFACTS / "transcript-console-kept-place.png"))

    assert "a late warning" not in page.locator(CONSOLE).inner_text()
    page.locator(f"{VIEW} .cmb-console-warnings").check()
    assert "a late warning" in page.locator(CONSOLE).inner_text()

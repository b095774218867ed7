"""How a python-engine task is made of steps, so that it can restart (resume, fork) at step N.

A python-engine task is *step-structured* when its top-level code calls ``step(1)``, ``step(2)``...
as plain statements (an integer literal, each number once, in increasing order)::

    import numpy as np            # the prelude: run again on every restart
    def model(x): ...
    step(1)                       # step 1 is the code from here to step(2)
    context["fit"] = fit(...)     # what later steps need lives in ``context`` (saved at each step)
    step(2)
    ...

Restarting at step N runs the prelude (imports, definitions: the code before the first ``step``),
then the code from ``step(N)`` on, with ``context`` as it was saved when step N first started.
Other variables of steps before N are not restored: keep what later steps need in ``context``.
A task whose steps are not top-level statements (``step(n)`` in a loop, a computed number) cannot
restart mid-way: :func:`restart_problem` says why, and the host says so before anything runs.

Standard library only: the worker imports this module.
"""

from __future__ import annotations

import ast
from types import CodeType

__all__ = ["compile_from_step", "restart_problem", "step_numbers"]


def _step_number(node: ast.stmt) -> int | None:
    """``n`` when ``node`` is the statement ``step(n)`` (or ``step(n, {...})``), else None."""
    if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
        return None
    call = node.value
    if not (isinstance(call.func, ast.Name) and call.func.id == "step" and call.args):
        return None
    first = call.args[0]
    if isinstance(first, ast.Constant) and type(first.value) is int:
        return first.value
    return None


def _parse(source: str, filename: str = "<cmbagent task>") -> ast.Module:
    return ast.parse(source, filename)


def step_numbers(source: str) -> list[int]:
    """The step numbers of the task's top-level ``step(n)`` statements, in order ([] if none, or if
    the source does not parse)."""
    try:
        tree = _parse(source)
    except SyntaxError:
        return []
    return [n for node in tree.body if (n := _step_number(node)) is not None]


def restart_problem(source: str, at_step: int) -> str | None:
    """Why the task cannot restart at ``at_step``, or None when it can."""
    try:
        tree = _parse(source)
    except SyntaxError as exc:
        return f"the task is not valid Python ({exc.msg}, line {exc.lineno})"
    numbers = [n for node in tree.body if (n := _step_number(node)) is not None]
    if not numbers:
        return (
            "the task has no top-level step(1), step(2)... statements, so the python engine cannot "
            "restart it mid-way: it runs the whole task again"
        )
    if numbers != sorted(set(numbers)):
        return f"the task's top-level steps {numbers} are not in increasing order, each once"
    if at_step not in numbers:
        return f"the task has no top-level step({at_step}) (its steps: {', '.join(map(str, numbers))})"
    return None


def compile_from_step(source: str, at_step: int, filename: str = "<cmbagent task>") -> CodeType:
    """The task's prelude followed by its code from ``step(at_step)`` on, compiled (line numbers are
    the task's own). ValueError (naming the problem) when the task cannot restart there."""
    problem = restart_problem(source, at_step)
    if problem is not None:
        raise ValueError(f"cannot restart at step {at_step}: {problem}")
    tree = _parse(source, filename)
    steps = [i for i, node in enumerate(tree.body) if _step_number(node) is not None]
    start = next(i for i in steps if _step_number(tree.body[i]) == at_step)
    tree.body = tree.body[: steps[0]] + tree.body[start:]
    return compile(tree, filename, "exec")

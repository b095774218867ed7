"""The package's structure, checked from its source (docs/architecture.md describes it).

Read with ``ast`` (nothing is imported): the import graph has no cycles; the kernel side of server
mode (``cmbjupyter.remote``) and the jupyter_server extension (``cmbjupyter.server``) never import
each other; every name imported from a cmbjupyter module is in that module's ``__all__``; no
module is longer than 400 lines; private modules (a leading underscore) are imported only from
their own package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "cmbjupyter"
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for every cmbjupyter import of ``module``."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(), str(path))
    found: list[tuple[str, str | None, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, None, node.lineno) for a in node.names if a.name.startswith("cmbjupyter")]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node, path.name == "__init__.py")
            if not target.startswith("cmbjupyter"):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                is_module = sub in MODULES
                found.append((sub, None, node.lineno) if is_module else (target, alias.name, node.lineno))
    return found


def _graph() -> dict[str, set[str]]:
    return {m: {t for t, _, _ in _imports(m) if t in MODULES and t != m} for m in MODULES}


def _all_of(module: str) -> set[str] | None:
    tree = ast.parse(MODULES[module].read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return {ast.literal_eval(e) for e in node.value.elts}  # type: ignore[attr-defined]
    return None


def test_the_import_graph_has_no_cycles():
    graph = _graph()
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        if state.get(node) == 2:
            return
        if state.get(node) == 1:
            cycle = [*path[path.index(node) :], node]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        state[node] = 1
        for target in sorted(graph[node]):
            # a package's __init__ importing its own submodules lazily is how the package is entered
            if not target.startswith(node + ".") or MODULES[node].name != "__init__.py":
                visit(target, [*path, node])
        state[node] = 2
        order.append(node)

    for module in sorted(graph):
        visit(module, [])


@pytest.mark.parametrize(
    ("side", "other"),
    [("cmbjupyter.remote", "cmbjupyter.server"), ("cmbjupyter.server", "cmbjupyter.remote")],
)
def test_the_kernel_side_and_the_extension_side_never_import_each_other(side, other):
    crossing = [
        f"{m}:{line} imports {t}"
        for m in MODULES
        if m == side or m.startswith(side + ".")
        for t, _, line in _imports(m)
        if t == other or t.startswith(other + ".")
    ]
    assert not crossing


def test_names_are_imported_only_from_a_modules_all():
    outside = []
    for module in MODULES:
        for target, name, line in _imports(module):
            if name is None or target not in MODULES:
                continue
            exported = _all_of(target)
            if exported is not None and name not in exported:
                outside.append(f"{module}:{line} imports {name} from {target} (not in its __all__)")
    assert not outside, "\n".join(outside)


def test_private_modules_are_imported_only_inside_their_package():
    leaks = []
    for module in MODULES:
        for target, _, line in _imports(module):
            parts = target.split(".")
            private = [i for i, part in enumerate(parts) if part.startswith("_") and part != "__init__"]
            if not private or target == "cmbjupyter._version":
                continue
            owner = ".".join(parts[: private[0]])
            if not (module == owner or module.startswith(owner + ".")):
                leaks.append(f"{module}:{line} imports private {target}")
    assert not leaks, "\n".join(leaks)


def test_no_module_is_longer_than_400_lines():
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long

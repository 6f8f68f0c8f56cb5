"""The package layout: no import cycles (lazy imports included), subpackages by role."""

from __future__ import annotations

import ast
from pathlib import Path

import geochem_bench

PACKAGE = Path(geochem_bench.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for target in targets:
                if target in modules and target != name:
                    graph[name].add(target)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycles_between_modules() -> None:
    # A package __init__ that re-exports its modules is not a cycle of ideas: drop the edge
    # from a module to its own package's __init__.
    graph = _import_graph()
    for name, deps in graph.items():
        graph[name] = {d for d in deps if not name.startswith(d + ".")}
    assert _cycle(graph) is None, f"import cycle: {' -> '.join(_cycle(graph) or [])}"


def test_no_flat_modules_beyond_the_entry_points() -> None:
    flat = sorted(p.name for p in PACKAGE.glob("*.py"))
    # __init__ (versions), errors (the exception base), task (the v1 import path that
    # existing submissions use) and _v1_paths (aliases of the other v1 paths) are the only
    # top-level modules; everything else is in a subpackage by role.
    assert flat == ["__init__.py", "_v1_paths.py", "errors.py", "task.py"]


def test_v1_import_paths_still_work() -> None:
    from geochem_bench.core.task import TaskInputs as Core
    from geochem_bench.models import FusionModel  # noqa: F401
    from geochem_bench.task import TaskInputs

    assert TaskInputs is Core


def test_v1_flat_module_paths_alias_the_new_modules_with_a_warning():
    import importlib
    import sys

    import pytest

    from geochem_bench._v1_paths import MOVED

    for old, new in MOVED.items():
        if old in {"torch_data", "ray_executor"}:
            continue  # heavy optional imports; same mechanism
        sys.modules.pop(f"geochem_bench.{old}", None)
        with pytest.warns(DeprecationWarning, match=f"geochem_bench.{new}"):
            alias = importlib.import_module(f"geochem_bench.{old}")
        assert alias is importlib.import_module(f"geochem_bench.{new}")
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("geochem_bench.no_such_module")

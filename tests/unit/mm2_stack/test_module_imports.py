"""The stack controller's modules import one another in one direction: no circle, function-local imports included
(a circle hidden inside a function still ties two modules together and breaks when either moves)."""

from __future__ import annotations

import ast
from pathlib import Path

import mm2_stack

PACKAGE = Path(mm2_stack.__file__).resolve().parent


def _imports(path: Path) -> set[str]:
    """The ``mm2_stack`` modules ``path`` imports, anywhere in it."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module == "mm2_stack":
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mm2_stack."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("mm2_stack.")}
    return found


def _graph() -> dict[str, set[str]]:
    return {path.stem: _imports(path) for path in sorted(PACKAGE.glob("*.py"))}


def _circle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of ``graph`` (its modules, the first repeated at the end), or None."""
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str] | None:
        if module in path:
            return path[path.index(module):] + [module]
        if module in done:
            return None
        for dep in sorted(graph.get(module, ())):
            circle = visit(dep, [*path, module])
            if circle:
                return circle
        done.add(module)
        return None

    for module in graph:
        circle = visit(module, [])
        if circle:
            return circle
    return None


def test_the_stack_modules_import_each_other_without_a_circle() -> None:
    graph = _graph()
    assert {"faults", "probe", "ui", "airflow_server", "airflow_rest"} <= graph.keys()
    assert _circle(graph) is None, " -> ".join(_circle(graph) or [])


def test_lower_modules_import_nothing_of_the_modules_above_them() -> None:
    graph = _graph()
    assert "faults" not in graph["probe"]
    assert not {"ui", "airflow_server"} & graph["airflow_rest"]
    assert "ui" not in graph["airflow_server"]


def test_a_circle_is_found_wherever_it_closes() -> None:
    assert _circle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _circle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None

"""Import rules, read from the source (``ast``, nothing imported), every ``import`` counted wherever it stands (module
level, inside a function, under ``if TYPE_CHECKING``):

- no runbook step module (``plugins/mm2_smoke/step_*.py``) imports another one: each step holds its step whole, and
  what two steps share lives in a module of its own;
- no import circle among the modules of ``plugins/mm2_smoke``, ``plugins/mm2_smoke_ui`` and ``include/mm2_stack``
  (a function-local import hides a circle from Python, not from the reader);
- no test module imports another test module: what tests share lives in ``tests/support`` (or a ``conftest.py``).

Not seen: a module imported by a name computed at run time (``importlib.import_module``).
"""

from __future__ import annotations

import ast
from collections import deque
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: The packages under the rules: their import name, and the folder that holds them.
PACKAGES = {"mm2_smoke": REPO / "plugins" / "mm2_smoke", "mm2_smoke_ui": REPO / "plugins" / "mm2_smoke_ui",
            "mm2_stack": REPO / "include" / "mm2_stack"}
#: The test trees whose modules must not import each other, and what they may import of the tests package.
TEST_TREES = ("tests.unit", "tests.integration")
TEST_SHARED = ("tests.support",)


@dataclass(frozen=True)
class Module:
    name: str  # dotted, as imported
    path: Path

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"

    @property
    def where(self) -> str:
        return str(self.path.relative_to(REPO)) if self.path.is_relative_to(REPO) else str(self.path)


@dataclass(frozen=True)
class Edge:
    """``source`` imports ``target`` (both dotted module names), at ``line`` of the source, in ``scope``."""

    source: Module
    target: str
    line: int
    scope: str  # "module level", "in f()", "in C.f()"
    statement: str

    def __str__(self) -> str:
        return f"{self.source.name} -> {self.target}  ({self.source.where}:{self.line}, {self.scope}: {self.statement})"


def modules_under(package: str, folder: Path) -> dict[str, Module]:
    found = {}
    for path in sorted(folder.rglob("*.py")):
        parts = (package, *path.relative_to(folder).with_suffix("").parts)
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = Module(name, path)
    return found


def all_modules() -> dict[str, Module]:
    return {name: m for package, folder in PACKAGES.items() for name, m in modules_under(package, folder).items()}


def modules_of_the_tests() -> dict[str, Module]:
    return modules_under("tests", REPO / "tests")


class _Imports(ast.NodeVisitor):
    """Every import statement of a module with the scope it stands in."""

    def __init__(self) -> None:
        self.scope: list[str] = []
        self.found: list[tuple[ast.Import | ast.ImportFrom, str]] = []

    def _scoped(self, node: ast.AST, name: str) -> None:
        self.scope.append(name)
        self.generic_visit(node)
        self.scope.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._scoped(node, node.name + "()")

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._scoped(node, node.name + "()")

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._scoped(node, node.name)

    def visit_Import(self, node: ast.Import) -> None:
        self.found.append((node, "in " + ".".join(self.scope) if self.scope else "module level"))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self.found.append((node, "in " + ".".join(self.scope) if self.scope else "module level"))


def _absolute(node: ast.ImportFrom, module: Module) -> str:
    """The module a ``from ... import`` names, relative imports resolved against ``module``."""
    if not node.level:
        return node.module or ""
    package = module.name.split(".") if module.is_package else module.name.split(".")[:-1]
    base = package[:len(package) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _deepest(name: str, known: set[str]) -> str | None:
    """``name`` or its longest prefix that is a known module (``a.b.C`` -> ``a.b``); None when none is."""
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in known:
            return ".".join(parts[:n])
    return None


def imports_of(module: Module, known: set[str]) -> list[Edge]:
    """The edges from ``module`` to the ``known`` modules it imports: ``import a.b`` and ``from a import b`` (a
    submodule) name ``a.b``, ``from a.b import name`` names ``a.b``; a module importing itself is no edge."""
    visitor = _Imports()
    visitor.visit(ast.parse(module.path.read_text(), filename=str(module.path)))
    edges = []
    for node, scope in visitor.found:
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            base = _absolute(node, module)
            submodules = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in known]
            names = submodules or [base]
        statement = ast.unparse(node)
        for target in dict.fromkeys(filter(None, (_deepest(n, known) for n in names))):
            if target != module.name:
                edges.append(Edge(module, target, node.lineno, scope, statement))
    return edges


def import_graph() -> list[Edge]:
    modules = all_modules()
    return [e for m in modules.values() for e in imports_of(m, set(modules))]


# --- (a) the step modules --------------------------------------------------------------------------------------------
def is_step(name: str) -> bool:
    return name.startswith("mm2_smoke.step_") and name.count(".") == 1


def test_no_step_module_imports_another_step_module() -> None:
    steps = [m for m in all_modules() if is_step(m)]
    assert len(steps) >= 4, steps  # the rule reads the right files
    bad = [e for e in import_graph() if is_step(e.source.name) and is_step(e.target)]
    assert not bad, (f"{len(bad)} import(s) of a step module by another (what two steps share belongs in a module of "
                     "its own):\n  " + "\n  ".join(map(str, bad)))


# --- (b) no circles --------------------------------------------------------------------------------------------------
def strongly_connected(nodes: list[str], edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's components (iterative), each sorted; only those of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components = []
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return sorted(components)


def shortest_path(start: str, goal: str, edges: dict[str, set[str]], within: set[str]) -> list[str]:
    """The shortest import path ``start`` -> ... -> ``goal`` through ``within`` (breadth first)."""
    came: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            break
        for child in sorted(edges.get(node, ())):
            if child in within and child not in came:
                came[child] = node
                queue.append(child)
    path = [goal]
    while came[path[-1]] is not None:
        path.append(came[path[-1]])  # type: ignore[arg-type]
    return path[::-1]


def import_cycles(graph: list[Edge]) -> list[tuple[list[str], list[Edge]]]:
    """Each circle of imports as ``(module path that closes on itself, the import statements along it)``: for every
    import inside a strongly connected group, the shortest circle through it (each circle once)."""
    edges: dict[str, set[str]] = {}
    for e in graph:
        edges.setdefault(e.source.name, set()).add(e.target)
    by_pair: dict[tuple[str, str], list[Edge]] = {}
    for e in graph:
        by_pair.setdefault((e.source.name, e.target), []).append(e)
    cycles: dict[tuple[str, ...], tuple[list[str], list[Edge]]] = {}
    for component in strongly_connected(sorted({e.source.name for e in graph}), edges):
        members = set(component)
        for (source, target) in sorted(by_pair):
            if source in members and target in members:
                cycle = [source, *shortest_path(target, source, edges, members)]
                ring = cycle[:-1]
                turn = ring.index(min(ring))
                key = tuple(ring[turn:] + ring[:turn])
                if key not in cycles:
                    statements = [s for a, b in zip(cycle, cycle[1:], strict=False) for s in by_pair[(a, b)]]
                    cycles[key] = ([*key, key[0]], statements)
    return list(cycles.values())


def describe_cycles(cycles: list[tuple[list[str], list[Edge]]]) -> str:
    lines = [f"{len(cycles)} import circle(s) among {', '.join(PACKAGES)}:"]
    for path, statements in cycles:
        lines.append("  " + " -> ".join(path))
        lines += [f"      {e}" for e in statements]
    return "\n".join(lines)


def test_the_cycle_finder_finds_a_circle_and_names_its_imports(tmp_path: Path) -> None:
    # A circle through a function-local import (a -> b at module level, b -> a in a function), and c outside it.
    for name, text in {"a": "from pkg import b\n", "b": "def f():\n    from pkg.a import x\n",
                       "c": "import pkg.a\n", "__init__": ""}.items():
        (tmp_path / f"{name}.py").write_text(text)
    found = modules_under("pkg", tmp_path)
    graph = [e for m in found.values() for e in imports_of(m, set(found))]
    [(path, statements)] = import_cycles(graph)
    assert path == ["pkg.a", "pkg.b", "pkg.a"]
    assert [(e.source.name, e.target, e.scope) for e in statements] == [("pkg.a", "pkg.b", "module level"),
                                                                        ("pkg.b", "pkg.a", "in f()")]
    assert "pkg.b -> pkg.a" in describe_cycles(import_cycles(graph))


def test_no_import_circles() -> None:
    graph = import_graph()
    assert len({e.source.name for e in graph}) > 20  # the rule reads the packages
    cycles = import_cycles(graph)
    assert not cycles, describe_cycles(cycles)


# --- (c) tests import no test ----------------------------------------------------------------------------------------
def test_no_test_module_imports_another_test_module() -> None:
    """A test module (under tests/unit or tests/integration), and the harness in tests/support, import from
    ``tests.support`` or a ``conftest``, never from a test module (``from tests.unit.x.test_y import helper``,
    relative, or by its bare name)."""
    modules = modules_of_the_tests()
    in_trees = {n: m for n, m in modules.items() if n.startswith(TEST_TREES)}
    bare = {n.rsplit(".", 1)[1]: n for n in in_trees if n.rsplit(".", 1)[1].startswith("test_")}
    bad = []
    for m in [m for n, m in modules.items() if n.startswith((*TEST_TREES, *TEST_SHARED))]:
        for e in imports_of(m, set(modules)):
            forbidden = e.target.startswith(TEST_TREES) and e.target not in TEST_TREES \
                and not e.target.endswith(".conftest") and modules[e.target].path.name != "__init__.py"
            if forbidden:
                bad.append(str(e))
        visitor = _Imports()
        visitor.visit(ast.parse(m.path.read_text()))
        for node, scope in visitor.found:  # `import test_report` (the test folder on sys.path)
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                ([node.module] if node.module and not node.level else [])
            bad += [f"{m.name} -> {bare[n]}  ({m.where}:{node.lineno}, {scope}: {ast.unparse(node)})"
                    for n in names if n in bare]
    assert len(in_trees) > 50  # the rule reads the tests
    assert not bad, ("test modules importing other test modules (move what they share to tests/support):\n  "
                     + "\n  ".join(bad))

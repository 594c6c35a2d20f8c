"""The diagnosis package's shape, read from its source (``ast``, every import counted wherever it stands): ``base`` at
the bottom (on ``causes`` alone, the table of causes as data), each component module on ``base`` alone, ``routing`` above ``base`` and no component, and every
``diagnose_*`` function ending through ``base.conclude`` (the one "no cause found" ending)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[4] / "plugins" / "mm2_smoke" / "diagnosis"
#: One module per diagnostic task, each holding its facts and rules.
COMPONENTS = ("connector", "writes", "latency", "target_topic", "metrics", "duplicates")


def tree(module: str) -> ast.Module:
    return ast.parse((PACKAGE / f"{module}.py").read_text())


def diagnosis_imports(module: str) -> set[str]:
    """The modules of the diagnosis package that ``module`` imports (short names), at any scope."""
    found = set()
    for node in ast.walk(tree(module)):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "mm2_smoke.diagnosis":
                found |= {a.name for a in node.names}
            elif node.module.startswith("mm2_smoke.diagnosis."):
                found.add(node.module.rsplit(".", 1)[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.rsplit(".", 1)[1] for a in node.names if a.name.startswith("mm2_smoke.diagnosis.")}
    return found


def test_the_layering_base_then_components_then_routing() -> None:
    assert (PACKAGE / "base.py").is_file() and all((PACKAGE / f"{c}.py").is_file() for c in COMPONENTS)
    assert diagnosis_imports("causes") == set()
    assert diagnosis_imports("base") == {"causes"}
    for component in COMPONENTS:
        assert diagnosis_imports(component) == {"base"}, component
    assert diagnosis_imports("routing") == {"base"}


@pytest.mark.parametrize("component", COMPONENTS)
def test_every_diagnostic_ends_through_the_one_ending(component: str) -> None:
    functions = [f for f in tree(component).body if isinstance(f, ast.FunctionDef) and f.name.startswith("diagnose_")]
    assert functions, component
    for f in functions:
        last = f.body[-1]
        assert isinstance(last, ast.Return) and isinstance(last.value, ast.Call) \
            and isinstance(last.value.func, ast.Name) and last.value.func.id == "conclude", f"{component}.{f.name}"
    called = {n.func.id for n in ast.walk(tree(component)) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert "no_cause_found" not in called, f"{component} writes its own 'no cause found'; end through conclude"

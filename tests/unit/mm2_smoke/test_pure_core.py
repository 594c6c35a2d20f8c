"""The pure core imports without Airflow and without confluent-kafka: only the declared edges may need them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PLUGINS = Path(__file__).resolve().parents[3] / "plugins"
#: The modules that are Airflow's or Kafka's side of the package (hooks, operators, notifiers): I/O at the edges.
EDGES = {"mm2_smoke.hooks", "mm2_smoke.sensors", "mm2_smoke.triggers", "mm2_smoke.notifiers", "mm2_smoke.failover_task"}

_PROBE = """
import importlib, importlib.abc, json, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("airflow", "confluent_kafka"):
            raise ImportError(f"blocked: {name}")
        return None
sys.meta_path.insert(0, Block())
failed = {}
for name in json.loads(sys.argv[1]):
    try:
        importlib.import_module(name)
    except ImportError as exc:
        failed[name] = str(exc)
print(json.dumps(failed))
"""


def modules() -> list[str]:
    return sorted(".".join(p.relative_to(PLUGINS).with_suffix("").parts).removesuffix(".__init__")
                  for p in (PLUGINS / "mm2_smoke").rglob("*.py"))


def import_blocked(names: list[str]) -> dict[str, str]:
    out = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(names)], capture_output=True, text=True,
                         env={"PYTHONPATH": str(PLUGINS)}, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


def test_every_module_but_the_edges_imports_without_airflow_and_confluent_kafka() -> None:
    names = modules()
    assert "mm2_smoke.step_1_2_replication" in names and "mm2_smoke.diagnosis.base" in names
    failed = import_blocked([n for n in names if n not in EDGES])
    assert failed == {}, failed


def test_the_blocker_blocks() -> None:
    # The edges do need Airflow: proof that the probe above would see a pure module importing it.
    assert set(import_blocked(sorted(EDGES))) == EDGES

"""Transitional: the names that importers outside the diagnosis package still read here. Delete this module once they
import from the diagnosis modules directly; new code must not import it.

The diagnosis lives in :mod:`.base` (the ``Diagnosis`` row, symptoms, cause ids, ranking, the "no cause found"
ending), the component modules (:mod:`.connector`, :mod:`.writes`, :mod:`.latency`, :mod:`.target_topic`,
:mod:`.metrics`, :mod:`.duplicates`) and :mod:`.routing`.

Still reading it: ``dags/mm2_smoke_test.py`` (``SYMPTOM_DOCS``, ``SYMPTOM_TASKS``: from ``mm2_smoke.registry`` once
that DAG change lands), ``tests/unit/dags/test_mm2_smoke_test.py`` (``SYMPTOM_TASKS``: ``.routing``),
``tests/unit/mm2_smoke/test_secured_chains.py`` (``.connector`` and ``.base``),
``tests/unit/mm2_smoke/test_checklist.py`` (``.base``), and ``tests/unit/mm2_smoke/test_pure_core.py``, which names
this module.
"""

from __future__ import annotations

from mm2_smoke.diagnosis.base import (
    CLUSTER_UNRESPONSIVE,
    METRICS_UNAVAILABLE,
    NO_CAUSE_FOUND,
    NOTHING_ON_TARGET,
    REPLICATION_STOPPED,
    SMOKE_SETUP,
    WORKER_DOWN,
    WRITES_FAILING,
    no_cause_found,
)
from mm2_smoke.diagnosis.connector import ConnectorFacts, diagnose_connector
from mm2_smoke.diagnosis.routing import SYMPTOM_DOCS, SYMPTOM_TASKS

__all__ = ["CLUSTER_UNRESPONSIVE", "METRICS_UNAVAILABLE", "NOTHING_ON_TARGET", "NO_CAUSE_FOUND", "REPLICATION_STOPPED",
           "SMOKE_SETUP", "SYMPTOM_DOCS", "SYMPTOM_TASKS", "WORKER_DOWN", "WRITES_FAILING", "ConnectorFacts",
           "diagnose_connector", "no_cause_found"]

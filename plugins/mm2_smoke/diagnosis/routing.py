"""Which diagnostics a failed run calls for: the symptoms its checks show (each check raises what the registry
declares for it) and the DAG's diagnostic tasks that inspect them.

Pure and light: the DAG's ``verdict`` task imports it. It reads the registry and the symptoms of :mod:`.base`; no
diagnostic's rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mm2_smoke import registry
from mm2_smoke.diagnosis.base import METRICS_UNAVAILABLE, NOTHING_ON_TARGET, WRITES_FAILING
from mm2_smoke.measured import Gap

#: Every symptom, in the registry's order (the order diagnostics are listed, and ranked when scores tie).
SYMPTOMS = tuple(s.symptom.value for s in registry.SYMPTOMS)
#: Each symptom's diagnostic task in the DAG's ``diagnose`` group (task names; the DAG builds them from the registry).
SYMPTOM_TASKS = {s.symptom.value: s.task for s in registry.SYMPTOMS}
#: What each diagnostic task inspects (its doc in the DAG).
SYMPTOM_DOCS = {s.symptom.value: s.doc for s in registry.SYMPTOMS}
#: The two checks of the one rule that reads two checks (see :func:`symptoms_from_checks`).
POLL_CHECK, ON_TARGET_CHECK = registry.spec("poll_total_increase").name, registry.spec("messages_on_target").name


def symptoms_from_checks(checks: Sequence[dict[str, Any]]) -> list[str]:
    """The symptoms a failed run shows, from its checks (``Check.to_dict()``), in :data:`SYMPTOMS` order: each
    check raises what its declaration says (:attr:`mm2_smoke.registry.CheckSpec.raises`).

    Checks of steps that did not run (gap ``not_measured``) show nothing; a failure of the smoke test's own input
    (gap ``own_setup``) leaves nothing of MM2 to diagnose. One rule reads two checks: MM2 polled every message
    (``poll_total_increase`` GO) while none reached the target is a write failure.
    """
    if any(c.get("gap") == Gap.OWN_SETUP.value and c["status"] != "GO" for c in checks):
        return []
    checks = [c for c in checks if c.get("gap") != Gap.NOT_MEASURED.value]
    found: set[str] = set()
    for c in checks:
        declared = registry.BY_NAME.get(c["name"])
        if declared is not None and declared.step == c["step"]:
            found |= declared.symptoms(c["status"], c.get("value"))
    by = {c["name"]: c for c in checks}
    poll, on_target = by.get(POLL_CHECK), by.get(ON_TARGET_CHECK)
    if poll and poll["status"] == "GO" and on_target and NOTHING_ON_TARGET in registry.BY_NAME[
            ON_TARGET_CHECK].symptoms(on_target["status"], on_target.get("value")):
        found.add(WRITES_FAILING)
    return [s for s in SYMPTOMS if s in found]


def route(report: dict[str, Any], group: str) -> list[str]:
    """The diagnostic tasks (ids within ``group``) a failed run's report calls for; ``metrics`` when it shows no
    symptom (UNKNOWN for a reason the checks do not name)."""
    symptoms = symptoms_from_checks(report["checks"]) or [METRICS_UNAVAILABLE]
    return [f"{group}.{SYMPTOM_TASKS[s]}" for s in symptoms]


def failed_flows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's flow blocks that are not GO (a report of one flow, or written before flows: itself)."""
    blocks = report.get("flows") or []
    if len(blocks) <= 1:
        return [report] if report["verdict"] != "GO" else []
    return [b for b in blocks if b["verdict"] != "GO"]


def route_flows(report: dict[str, Any], group: str) -> list[str]:
    """The diagnostic tasks every failed flow calls for (:func:`route` of each flow's block, in the order of the
    symptoms); a report whose flows are all GO while the run is not (the Params' own rows) routes as one."""
    failed = failed_flows(report)
    if not failed:
        return route(report, group)
    wanted = {task for block in failed for task in route(block, group)}
    return [f"{group}.{SYMPTOM_TASKS[s]}" for s in SYMPTOM_TASKS if f"{group}.{SYMPTOM_TASKS[s]}" in wanted]

"""One report for every flow of a run: each flow's block, and the overall verdict (GO only when every flow is GO).

The report's ``flows`` is a list with one object per flow (:class:`~mm2_smoke.payloads.FlowReport`): ``flow``
(``"A->B"``), ``verdict``, ``counts`` (as the top-level ``counts``), ``remote_topic``, ``checks``, ``diagnoses``,
plus what its checklist rows read (``baseline``, ``e2e_latency_ms``, ``preflight``, ``notes``). A one-flow run keeps
every top-level field as before and a one-element ``flows``; a run of several flows has at the top level the Params'
checks, then every flow's checks, each with its ``flow``, the summed counts, and the first flow's settings and
baseline (each flow's own are in its block).

Failover readiness (the ``failover_readiness.check`` task's result per flow, :class:`~mm2_smoke.payloads.
FailoverResult`) is beside the runbook's verdict, never part of it: when at least one flow has a result, the report
has ``failover`` (:class:`~mm2_smoke.payloads.FailoverReport`: the run's readiness and ``flows``, each flow with a
result and exactly :data:`~mm2_smoke.payloads.FAILOVER_FLOW_KEYS`) and that flow's block has its whole result under
``failover``; when no flow has one, the report has no ``failover`` anywhere (as before the check existed).

Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mm2_smoke.checks import Check, Status, combined
from mm2_smoke.payloads import (
    FAILOVER_FLOW_KEYS,
    FailoverFlow,
    FailoverReport,
    FailoverResult,
    FlowReport,
    ReportCounts,
    SmokeReport,
)
from mm2_smoke.readiness import NOT_READY, READY, UNKNOWN

#: The counts a multi-flow report sums at the top level.
_SUMMED = ("produced", "delivered", "received", "missing", "duplicates", "foreign")


def flow_block(flow: str, report: SmokeReport) -> FlowReport:
    """A flow's block of the report, from the report its own checks make."""
    return {"flow": flow, "verdict": report["verdict"], "counts": report["counts"],
            "remote_topic": str(report["settings"].get("remote_topic") or _remote_topic(report["settings"])),
            "checks": report["checks"], "diagnoses": [], "baseline": report["baseline"],
            "e2e_latency_ms": report["e2e_latency_ms"], "preflight": report["preflight"], "notes": report["notes"]}


def _remote_topic(settings: Mapping[str, Any]) -> str:
    from mm2_smoke.settings import from_params

    try:
        return from_params(dict(settings)).remote_topic
    except Exception:  # noqa: BLE001 - a report is never lost to its settings
        return ""


def summed_counts(blocks: Sequence[FlowReport]) -> ReportCounts:
    """The flows' counts added up (None when a flow's is unknown: the sum is not known either)."""
    out: dict[str, Any] = {"missing_seqs": [], "duplicate_seqs": [], "achieved_rate_msg_s": None}
    for key in _SUMMED:
        values = [b["counts"].get(key) for b in blocks]
        out[key] = None if any(v is None for v in values) else sum(values)
    return out  # type: ignore[return-value]


def combine(pre: Sequence[Check], reports: Sequence[tuple[str, SmokeReport]],
            failover: Sequence[FailoverResult | None] = ()) -> SmokeReport:
    """The run's report from each flow's (``(flow, report)`` in the order checked) and the Params' checks ``pre``
    (a one-flow report already holds them).

    :param pre: the checks of the run as a whole (Params, connections), shown once.
    :param failover: each flow's failover readiness result, in the order of ``reports`` (None: none for that flow;
        empty: none at all). It never changes a verdict: it adds the report's ``failover`` (see the module's doc).
    """
    blocks = [flow_block(name, r) for name, r in reports]
    results = list(failover)[:len(blocks)]
    for block, result in zip(blocks, results, strict=False):
        if result:
            block["failover"] = result
    out = _combined(pre, reports, blocks)
    readiness = failover_section([(b["flow"], r) for b, r in zip(blocks, results, strict=False)])
    if readiness:
        out["failover"] = readiness
    return out


def _combined(pre: Sequence[Check], reports: Sequence[tuple[str, SmokeReport]], blocks: list[FlowReport]
              ) -> SmokeReport:
    if len(reports) == 1:
        return {**reports[0][1], "flows": blocks}
    first = reports[0][1]
    checks = [c.to_dict() for c in pre]
    checks += [{**c, "flow": name} for name, r in reports for c in r["checks"]]
    statuses = [Status(c["status"]) for c in checks]
    notes = [n for name, r in reports for n in (f"{name}: {note}" for note in r["notes"])]
    return {**first, "verdict": combined(statuses).value, "checks": checks,
            "failed_checks": [c for c in checks if c["status"] != Status.GO.value],
            "counts": summed_counts(blocks), "notes": notes, "flows": blocks}


# --- failover readiness ------------------------------------------------------------------------------------------
def overall_readiness(verdicts: Sequence[str]) -> str:
    """The run's readiness from its flows' (as :func:`mm2_smoke.readiness.overall`, on verdict words): NOT READY when
    a flow is, READY only when every flow is, UNKNOWN otherwise (and for no flow)."""
    if NOT_READY in verdicts:
        return NOT_READY
    return READY if verdicts and all(v == READY for v in verdicts) else UNKNOWN


def failover_flow(flow: str, result: Mapping[str, Any]) -> FailoverFlow:
    """A flow's entry of the report's ``failover.flows[]``: exactly :data:`~mm2_smoke.payloads.FAILOVER_FLOW_KEYS`
    (the result's ``reasons``, ``group``, ``seconds``, ``reread_max`` stay in the flow's block), named by the flow
    of the report's block."""
    entry = {k: result.get(k) for k in FAILOVER_FLOW_KEYS}
    entry["flow"] = flow
    entry["verdict"] = str(result.get("verdict") or UNKNOWN)
    entry["diagnoses"] = list(result.get("diagnoses") or [])
    return entry  # type: ignore[return-value]


def failover_section(results: Sequence[tuple[str, Mapping[str, Any] | None]]) -> FailoverReport | None:
    """The report's ``failover`` from each flow's result (``(flow, result or None)`` in flow order): the flows with a
    result and the run's readiness over them; None when no flow has one. A run with a flow left unchecked (the
    pre-flight stopped it, it produced nothing, no checkpoint connector under ``auto``) is never READY as a whole:
    that flow's consumers could not be shown to switch (UNKNOWN, unless a checked flow is NOT READY)."""
    flows = [failover_flow(name, r) for name, r in results if r]
    if not flows:
        return None
    verdicts = [f["verdict"] for f in flows]
    if len(flows) < len(results):
        verdicts.append("UNKNOWN")
    return {"verdict": overall_readiness(verdicts), "flows": flows}


def readiness_of(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each flow's readiness as the report, the view and the alert show it: its ``failover.flows[]`` entry with what
    its block's whole result adds (``reasons``, ``group``, ``reread_max``), in flow order; [] without ``failover``."""
    section = report.get("failover") or {}
    whole = {b.get("flow"): b.get("failover") or {} for b in report.get("flows") or []}
    return [{**whole.get(f.get("flow"), {}), **f} for f in section.get("flows") or []]


def unchecked_flows(report: Mapping[str, Any]) -> list[str]:
    """The flows of a report with ``failover`` that have no readiness result (the check off for them, or the flow
    produced nothing); [] without ``failover``."""
    if not report.get("failover"):
        return []
    listed = {f.get("flow") for f in report["failover"].get("flows") or []}
    return [b["flow"] for b in report.get("flows") or [] if b.get("flow") not in listed]


def first_cause(readiness: Mapping[str, Any]) -> str:
    """A flow's readiness in a few words: its first diagnosis' cause, else its first reason ('' when READY with
    neither)."""
    first = next(iter(readiness.get("diagnoses") or []), None)
    if first:
        return str(first.get("cause") or "")
    return str(next(iter(readiness.get("reasons") or []), ""))


def flows_of(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The report's flow blocks (a report written before flows existed: itself as its one flow)."""
    return list(report.get("flows") or [report])


def with_flow_diagnoses(report: SmokeReport, ranked: Sequence[dict[str, Any]]) -> SmokeReport:
    """Each flow's block with the diagnoses that name it (``flow``); a one-flow run's take them all."""
    blocks = report.get("flows")
    if not blocks:
        return report
    single = len(blocks) == 1
    return {**report, "flows": [{**b, "diagnoses": [d for d in ranked if single or d.get("flow") == b["flow"]]}
                                for b in blocks]}

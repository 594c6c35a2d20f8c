"""One report for every flow of a run: each flow's block, and the overall verdict (GO only when every flow is GO).

The report's ``flows`` is a list with one object per flow (:class:`~mm2_smoke.payloads.FlowReport`): ``flow``
(``"A->B"``), ``verdict``, ``counts`` (as the top-level ``counts``), ``remote_topic``, ``checks``, ``diagnoses``,
plus what its checklist rows read (``baseline``, ``e2e_latency_ms``, ``preflight``, ``notes``). A one-flow run keeps
every top-level field as before and a one-element ``flows``; a run of several flows has at the top level the Params'
checks, then every flow's checks, each with its ``flow``, the summed counts, and the first flow's settings and
baseline (each flow's own are in its block).

Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mm2_smoke.checks import Check, Status, combined
from mm2_smoke.payloads import FlowReport, ReportCounts, SmokeReport

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


def combine(pre: Sequence[Check], reports: Sequence[tuple[str, SmokeReport]]) -> SmokeReport:
    """The run's report from each flow's (``(flow, report)`` in the order checked) and the Params' checks ``pre``
    (a one-flow report already holds them).

    :param pre: the checks of the run as a whole (Params, connections), shown once.
    """
    blocks = [flow_block(name, r) for name, r in reports]
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

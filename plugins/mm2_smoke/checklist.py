"""The runbook's "Checklist Phase 1": every step's checks into one verdict and report, and how the run ends.

- :func:`collect_checks` (pure): each step's part of the checklist, from the steps' results.
- :func:`fill` (the ``checklist`` task): pulls the steps' results, writes the report, returns it. It runs
  whatever happened upstream, so every run ends with a report that says why.
- :func:`baseline_event` (the ``go_for_phase_2`` task): the baseline an Asset event carries on GO.
- :func:`conclude_nogo` (the ``nogo`` task): the ranked diagnoses into the report, then the run fails so that the
  failure callback alerts.

Airflow's task context is taken as a plain mapping (``ti``, ``params``, ``dag_run``, ``dag``, ``run_id``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from mm2_smoke import dag_layout as layout
from mm2_smoke import registry, step_1_1_produce, step_1_2_replication, step_1_3_latency, step_1_4_target_count
from mm2_smoke.checks import Check, Status
from mm2_smoke.errors import SettingsError, SmokeTestNogo
from mm2_smoke.measured import Gap
from mm2_smoke.payloads import (
    CountResultDict,
    LatencyResult,
    PreflightReport,
    ProduceResultDict,
    ReplicationResult,
    SmokeReport,
)
from mm2_smoke.reconcile import confirm_by_target_count
from mm2_smoke.settings import SmokeSettings, from_params

#: A run the pre-flight stopped: one "not run" row per step.
NOT_RUN_ROWS = ("messages_produced", "replication", "latency_baseline", "messages_on_target")
#: The steps' tasks whose results the checklist reads.
STEP_TASKS = (layout.PRODUCE, layout.REPLICATION, layout.LATENCY, layout.COUNT)


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def collect_checks(settings: SmokeSettings, produced: ProduceResultDict | None,
                   replication: ReplicationResult | None, latency: LatencyResult | None,
                   count: CountResultDict | None, not_run: str = "") -> tuple[list[Check], list[str]]:
    """Every check of the run, from the steps' results; a step with no result gives an UNKNOWN check.

    :param not_run: why the steps did not run at all (the pre-flight stopped the run): their rows say so.
    """
    if not_run:
        return [registry.spec(name).unknown("runbook step run", layout.PREFLIGHT.id,
                                            f"not run: the pre-flight found {not_run}", Gap.NOT_MEASURED)
                for name in NOT_RUN_ROWS], []
    delivered = produced["delivered"] if produced else None
    checks = step_1_1_produce.checklist_part(settings, produced)
    replication_checks, notes = step_1_2_replication.checklist_part(settings, replication, delivered)
    checks += replication_checks
    checks += step_1_3_latency.checklist_part(latency)
    count_checks, count_notes = step_1_4_target_count.checklist_part(settings, count, delivered)
    checks += count_checks
    results = registry.StepResults(settings, produced, replication, latency, count)
    return confirm_by_target_count([*checks, *registry.evaluated(results)]), notes + count_notes


def preflight_checks(preflight: PreflightReport | None) -> tuple[list[Check], list[str], str]:
    """The pre-flight's findings as checks (certain ones) and notes (the rest), and why it stopped the run ('' when
    it did not)."""
    if not preflight:
        return [], [], ""
    checks, notes = [], []
    stopped = preflight["status"] in (Status.NOGO.value, Status.UNKNOWN.value)
    for f in preflight["findings"]:
        status = Status(f["status"])
        # A stopped run shows every finding as a row (what could not be inspected is part of why); a run that goes
        # on keeps the uncertain ones as notes, so they cannot hold back a GO the steps prove.
        if f["certain"] or status is Status.GO or stopped:
            gap = None if status is not Status.UNKNOWN else Gap.NO_DATA
            checks.append(Check("pre", f["check"], f.get("value") or status.value, f.get("threshold") or "GO",
                                status, f.get("evidence") or layout.PREFLIGHT.id,
                                "" if status is Status.GO else f["message"], gap))
        else:
            notes.append(f"pre-flight warning ({f['check']}): {f['message']}")
        declared = registry.BY_NAME.get(f["check"])
        if status is Status.GO and declared is not None and declared.note_on_go:
            notes.append(f"pre-flight: {f['message']}")
    first = next((f for f in preflight["findings"] if f["certain"] and f["status"] != Status.GO.value), None)
    return checks, notes, (f"{first['check']} {first['status']} (see its row)" if stopped and first else "")


def run_settings(context: Any) -> SmokeSettings:
    """The run's settings as far as they got: the pre-flight's (profile resolved, or only validated when the rest of
    the pre-flight failed), else the Params (the defaults when they are invalid)."""
    ti = context["ti"]
    for raw in (ti.xcom_pull(task_ids=layout.PREFLIGHT.id, key=layout.PREFLIGHT_SETTINGS_KEY),
                dict(context["params"])):
        if raw:
            try:
                return from_params(raw)
            except SettingsError:
                continue
    return SmokeSettings()


def baseline(latency: LatencyResult | None, checks: list[Check], produced: ProduceResultDict | None = None
             ) -> dict[str, Any]:
    """The run's baseline (runbook: "ces valeurs serviront de référence"): step 1.3's values, step 1.2's, and the
    one-clock end-to-end latency (``e2e_p50_ms``, ``e2e_p99_ms``, ``e2e_max_ms``) when it was measured."""
    out: dict[str, Any] = {**latency["baseline"]} if latency and latency.get("baseline") else {}
    out.update(registry.baseline_fields([{"name": c.name, "value": c.value} for c in checks]))
    e2e = produced.get("e2e") if produced else None
    if e2e and e2e.get("p50") is not None:
        out.update({"e2e_p50_ms": e2e["p50"], "e2e_p99_ms": e2e["p99"], "e2e_max_ms": e2e["max"]})
    return out


def e2e_notes(produced: ProduceResultDict | None, base: dict[str, Any]) -> list[str]:
    """The one-clock watch's notes: how its wait ended when it did not see every message, and a disagreement with
    MirrorMaker's own latency metric."""
    from mm2_smoke.e2e import Result, compare

    if not produced:
        return []
    created = [produced["topic_created"]] if produced.get("topic_created") else []
    result = Result.from_dict(produced.get("e2e"))
    if result is None:
        return created
    notes = created + ([] if result.complete else [f"end-to-end watch: {result.count} message(s) timed; its wait "
                                                   f"ended: {result.ended}"])
    disagreement = compare(result, base.get("latency_avg_ms"), base.get("latency_max_ms"))
    return notes + ([disagreement] if disagreement else [])


def fill(context: Any) -> SmokeReport:
    """The ``checklist`` task: fill the checklist from every step's result, write the report, return it."""
    from mm2_smoke.preflight import Setup
    from mm2_smoke.report import build_report, render_markdown, write_report

    ti = context["ti"]
    setup = Setup.from_dict(ti.xcom_pull(task_ids=layout.PREFLIGHT.id, key=layout.PREFLIGHT_SETUP_KEY))
    pre = setup.checks() if setup else [registry.spec("settings").unknown(
        "valid Params", layout.PREFLIGHT.id, "the pre-flight did not check the Params and connections: see its task "
        "log", Gap.NOT_MEASURED)]
    settings = run_settings(context)
    preflight = ti.xcom_pull(task_ids=layout.PREFLIGHT.id, key=layout.PREFLIGHT_REPORT_KEY)
    flight_checks, flight_notes, stopped = preflight_checks(preflight)
    pulled = {t: ti.xcom_pull(task_ids=t.id) for t in STEP_TASKS}
    checks, notes = collect_checks(settings, pulled[layout.PRODUCE], pulled[layout.REPLICATION], pulled[layout.LATENCY],
                                   pulled[layout.COUNT], not_run=stopped)
    checks = pre + flight_checks + checks
    base = baseline(pulled[layout.LATENCY], checks, pulled[layout.PRODUCE])
    notes = flight_notes + notes + e2e_notes(pulled[layout.PRODUCE], base)
    dag_run = context["dag_run"]
    report = build_report(
        dag_id=context["dag"].dag_id, run_id=context["run_id"],
        started_at=dag_run.start_date.isoformat(timespec="seconds") if dag_run.start_date else "",
        finished_at=utc_now_iso(), checks=checks, produced=pulled[layout.PRODUCE], count=pulled[layout.COUNT],
        baseline=base, replication=pulled[layout.REPLICATION],
        settings=settings.to_dict(), notes=(setup.warnings if setup else []) + notes,
        tls=setup.tls if setup else [], preflight=preflight,
    )
    json_path, md_path = write_report(report)
    report["report_files"] = {"json": str(json_path), "markdown": str(md_path)}
    print(render_markdown(report))
    print(f"report: {json_path} and {md_path}")
    return report


def baseline_event(report: SmokeReport) -> dict[str, Any]:
    """The extra of the GO run's Asset event: the run id, the verdict and the baseline's values."""
    return {"run_id": report["run_id"], "verdict": "GO",
            **{k: v for k, v in report["baseline"].items() if k != "lag_window"}}


def conclude_nogo(report: SmokeReport, found: list[dict[str, Any]], finished_at_s: float,
                  push: Callable[[SmokeReport], None] | None = None) -> None:
    """The ``nogo`` task: rank the diagnoses into the report, write it, fail the run naming the first cause.

    :param found: every diagnostic task's findings (``Diagnosis.to_dict()``).
    :param finished_at_s: now (seconds since the epoch), for the diagnosis time the report states.
    :param push: called with the final report before the run fails (the DAG pushes it as the task's XCom
        ``report``, which the Airflow view reads).
    :raises SmokeTestNogo: always (the run fails so that the failure callback alerts).
    """
    from mm2_smoke.diagnosis.base import Diagnosis, honest, rank, setup_diagnoses
    from mm2_smoke.report import render_markdown, with_diagnoses, write_report

    ranked = [d.to_dict() for d in honest(rank([*setup_diagnoses(report["checks"]),
                                                *(Diagnosis(**d) for d in found)]), report["checks"])]
    seconds = finished_at_s - datetime.fromisoformat(report["finished_at"]).timestamp()
    report = with_diagnoses(report, ranked, seconds)
    if push is not None:
        push(report)
    write_report(report)
    print(render_markdown(report))
    top = ranked[0] if ranked else {"cause": "no diagnosis", "action": "see the report"}
    failed = "; ".join(f"{c['step']} {c['name']}: {c['status']}" for c in report["failed_checks"])
    first = next((c for c in report["failed_checks"] if c.get("reason")), None)
    why = f" First: {first['step']} {first['name']}: {first['reason']}." if first else ""
    raise SmokeTestNogo("{verdict} ({failed}).{why} Most likely cause: {cause}. Action: {action}. Report: {path}",
                        verdict=report["verdict"], failed=failed, why=why, cause=top["cause"], action=top["action"],
                        path=report["report_files"]["markdown"])

"""The runbook's "Checklist Phase 1": every step's checks into one verdict and report, and how the run ends.

- :func:`collect_checks` (pure): each step's part of the checklist, from the steps' results.
- :func:`fill` (the ``checklist`` task): pulls the steps' results, writes the report, returns it. It runs
  whatever happened upstream, so every run ends with a report that says why.
- :func:`baseline_event` (the ``go_for_phase_2`` task): the baseline an Asset event carries on GO (and the
  failover readiness, when it was checked).
- :func:`conclude_nogo` (the ``nogo`` task): the ranked diagnoses into the report, then the run fails so that the
  failure callback alerts.

Airflow's task context is taken as a plain mapping (``ti``, ``params``, ``dag_run``, ``dag``, ``run_id``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from mm2_smoke import dag_layout as layout
from mm2_smoke import registry, step_1_1_produce, step_1_2_replication, step_1_3_latency, step_1_4_target_count
from mm2_smoke.checks import Check, Status
from mm2_smoke.errors import SettingsError, SmokeTestNogo
from mm2_smoke.measured import Gap
from mm2_smoke.payloads import (
    CountResultDict,
    FailoverBaseline,
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
#: The per-flow tasks whose results the checklist reads (each pulled at the flow's map index): the steps, then
#: failover readiness (its result is None when the check is off for the flow; it never changes a verdict).
STEP_TASKS = (layout.PRODUCE, layout.REPLICATION, layout.LATENCY, layout.COUNT, layout.FAILOVER)


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


def e2e_notes(produced: ProduceResultDict | None, base: dict[str, Any], other_host: bool | None = None) -> list[str]:
    """The one-clock watch's notes: how its wait ended when it did not see every message, and a disagreement with
    MirrorMaker's own latency metric (clock skew named only when MirrorMaker runs on another host: ``other_host``)."""
    from mm2_smoke.e2e import Result, compare

    if not produced:
        return []
    created = [produced["topic_created"]] if produced.get("topic_created") else []
    result = Result.from_dict(produced.get("e2e"))
    if result is None:
        return created
    notes = created + ([] if result.complete else [f"end-to-end watch: {result.count} message(s) timed; its wait "
                                                   f"ended: {result.ended}"])
    disagreement = compare(result, base.get("latency_avg_ms"), base.get("latency_max_ms"), other_host)
    return notes + ([disagreement] if disagreement else [])


def _flow_report(context: Any, pre: list[Check], settings: SmokeSettings, preflight: PreflightReport | None,
                 pulled: dict[Any, Any], notes_first: list[str], tls: list[str]) -> SmokeReport:
    """One flow's report: the pre-flight's rows and notes, every step's checks, its baseline (``pre``: the Params'
    rows, shown in a one-flow report)."""
    from mm2_smoke.report import build_report

    flight_checks, flight_notes, stopped = preflight_checks(preflight)
    checks, notes = collect_checks(settings, pulled[layout.PRODUCE], pulled[layout.REPLICATION],
                                   pulled[layout.LATENCY], pulled[layout.COUNT], not_run=stopped)
    checks = pre + flight_checks + checks
    base = baseline(pulled[layout.LATENCY], checks, pulled[layout.PRODUCE])
    notes = flight_notes + notes + e2e_notes(pulled[layout.PRODUCE], base, _other_host(settings)
                                             if pulled[layout.PRODUCE] else None)
    dag_run = context["dag_run"]
    return build_report(
        dag_id=context["dag"].dag_id, run_id=context["run_id"],
        started_at=dag_run.start_date.isoformat(timespec="seconds") if dag_run.start_date else "",
        finished_at=utc_now_iso(), checks=checks, produced=pulled[layout.PRODUCE], count=pulled[layout.COUNT],
        baseline=base, replication=pulled[layout.REPLICATION], settings=settings.to_dict(),
        notes=notes_first + notes, tls=tls, preflight=preflight,
    )


def _other_host(settings: SmokeSettings) -> bool | None:
    """Whether MirrorMaker runs on another host than this worker (None: not known)."""
    from mm2_smoke.e2e import on_other_host
    from mm2_smoke.hooks import mm2_host

    return on_other_host(mm2_host(settings))


def flow_results(ti: Any, outcomes: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[Any, Any]]]:
    """Each flow's pre-flight outcome with its per-flow tasks' results (:data:`STEP_TASKS`, by task: the map index
    of a flow that produced is its rank among those that did; a flow the pre-flight stopped has None for each)."""
    out, index = [], 0
    for outcome in outcomes:
        if outcome["proceed"]:
            out.append((outcome, {t: ti.xcom_pull(task_ids=t.id, map_indexes=index) for t in STEP_TASKS}))
            index += 1
        else:
            out.append((outcome, dict.fromkeys(STEP_TASKS)))
    return out


def fill(context: Any) -> SmokeReport:
    """The ``checklist`` task: fill the checklist of every flow from its steps' results, write the report (one block
    per flow, the overall verdict GO only when every flow is GO; beside it, never changing it, the failover
    readiness of the flows that have one: ``failover``), return it."""
    from mm2_smoke.flow_report import combine
    from mm2_smoke.preflight import Setup
    from mm2_smoke.report import render_markdown, write_report

    ti = context["ti"]
    setup = Setup.from_dict(ti.xcom_pull(task_ids=layout.PREFLIGHT.id, key=layout.PREFLIGHT_SETUP_KEY))
    pre = setup.checks() if setup else [registry.spec("settings").unknown(
        "valid Params", layout.PREFLIGHT.id, "the pre-flight did not check the Params and connections: see its task "
        "log", Gap.NOT_MEASURED)]
    warnings, tls = (setup.warnings if setup else []), (setup.tls if setup else [])
    outcomes = ti.xcom_pull(task_ids=layout.PREFLIGHT.id, key=layout.FLOWS_KEY)
    if not outcomes:  # the pre-flight stopped before the flows were known: one report, as the Params say
        settings = run_settings(context)
        preflight = ti.xcom_pull(task_ids=layout.PREFLIGHT.id, key=layout.PREFLIGHT_REPORT_KEY)
        name = f"{settings.source_alias}->{settings.target_alias}"
        report = combine(pre, [(name, _flow_report(context, pre, settings, preflight, dict.fromkeys(STEP_TASKS),
                                                     warnings, tls))])
    else:
        results = flow_results(ti, outcomes)
        single = len(results) == 1
        reports = [(o["flow"], _flow_report(context, pre if single else [], from_params(o["settings"]),
                                            o["preflight"], pulled, warnings if single else [], tls))
                   for o, pulled in results]
        report = combine(pre, reports, [pulled.get(layout.FAILOVER) for _o, pulled in results])
        if not single:
            report["notes"] = warnings + report["notes"]
    json_path, md_path = write_report(report)
    report["report_files"] = {"json": str(json_path), "markdown": str(md_path)}
    print(render_markdown(report))
    print(f"report: {json_path} and {md_path}")
    return report


def baseline_event(report: SmokeReport) -> dict[str, Any]:
    """The extra of the GO run's Asset event: the run id, the verdict and the baseline's values; with the report's
    failover readiness, ``failover`` (:class:`~mm2_smoke.payloads.FailoverBaseline`)."""
    extra: dict[str, Any] = {"run_id": report["run_id"], "verdict": "GO",
                             **{k: v for k, v in report["baseline"].items() if k != "lag_window"}}
    blocks = report.get("flows") or []
    if len(blocks) > 1:  # each flow's own baseline (the top level's is the first flow's)
        extra["flows"] = {b["flow"]: {k: v for k, v in b["baseline"].items() if k != "lag_window"} for b in blocks}
    readiness = failover_baseline(report)
    if readiness:
        extra["failover"] = readiness
    return extra


def failover_baseline(report: SmokeReport) -> FailoverBaseline | None:
    """The report's failover readiness as the baseline keeps it: the run's verdict and each flow's verdict,
    ``would_reread``, ``checkpoint_age_s``, ``heartbeat_age_s`` (None: the report has no ``failover``)."""
    section = report.get("failover")
    if not section:
        return None
    return {"verdict": section["verdict"],
            "flows": [{"flow": f["flow"], "verdict": f["verdict"], "would_reread": f.get("would_reread"),
                       "checkpoint_age_s": f.get("checkpoint_age_s"), "heartbeat_age_s": f.get("heartbeat_age_s")}
                      for f in section["flows"]]}


def proven_verdicts(report: SmokeReport) -> SmokeReport:
    """The verdict follows proof: a run (and each flow) that could not measure (UNKNOWN) while its diagnoses prove a
    fault of the chain is NOGO, the report's notes saying why (:func:`mm2_smoke.diagnosis.base.verdict_from_proof`)."""
    from mm2_smoke.diagnosis.base import verdict_from_proof

    def plain(found: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:  # a diagnosis without the flow it names
        return [{k: v for k, v in d.items() if k != "flow"} for d in found]

    blocks = []
    for block in report.get("flows") or []:
        verdict, _why = verdict_from_proof(block["verdict"], plain(block.get("diagnoses") or []))
        blocks.append({**block, "verdict": verdict})
    verdict, why = verdict_from_proof(report["verdict"], plain(report.get("diagnoses") or []))
    out: SmokeReport = {**report, "verdict": verdict, "notes": [*report["notes"], *([why] if why else [])]}
    if blocks:
        out["flows"] = blocks
    return out


def loop_diagnoses(checks: Sequence[dict[str, Any]]) -> list[Any]:
    """A replication loop the pre-flight proved from the flow graph (its ``replication_loop`` row): the cause itself,
    first (the connectors' policies are the evidence; nothing produced is needed to prove it)."""
    from mm2_smoke.diagnosis.base import CONNECTOR, MISCONFIGURATION, Diagnosis

    return [Diagnosis(METRICS_SYMPTOM, "replication_loop", f"replication loop: {c['value']} in {c['evidence']}",
                      c["reason"], "exclude the replicated topics from the reverse flow (topics.exclude) or use the "
                      "default replication policy (alias-prefixed names), then rerun", 97, CONNECTOR, MISCONFIGURATION)
            for c in checks if c["name"] == "replication_loop" and c["status"] == Status.NOGO.value][:1]


#: The symptom a diagnosis found without a diagnostic task is filed under.
METRICS_SYMPTOM = registry.Symptom.METRICS_UNAVAILABLE.value


def _proven_first(ranked: list[Any]) -> list[Any]:
    """Ranked diagnoses without "no cause found" rows once one of them proves a cause (they would contradict it)."""
    from mm2_smoke.diagnosis.base import NO_CAUSE_FOUND

    if any(d.certain for d in ranked):
        return [d for d in ranked if d.cause_id != NO_CAUSE_FOUND]
    return ranked


def rank_by_flow(report: SmokeReport, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The diagnoses ranked (most likely cause first) within each flow, flows in the report's order, each naming its
    flow (``flow``); the Params' own problems first. A one-flow run ranks them as one list."""
    from mm2_smoke.diagnosis.base import Diagnosis, honest, rank, setup_diagnoses

    blocks = report.get("flows") or []
    by_flow: dict[str, list[Diagnosis]] = {}
    for d in found:
        by_flow.setdefault(str(d.get("flow") or ""), []).append(Diagnosis(**{k: v for k, v in d.items()
                                                                              if k != "flow"}))
    setup = setup_diagnoses(report["checks"])
    if len(blocks) <= 1:
        setup += loop_diagnoses(report["checks"])
        name = blocks[0]["flow"] if blocks else ""
        everything = [x for group in by_flow.values() for x in group]
        return [{**d.to_dict(), **({"flow": name} if name else {})}
                for d in _proven_first(honest(rank([*setup, *everything]), report["checks"]))]
    out = [d.to_dict() for d in setup]
    for block in blocks:
        if block["verdict"] == "GO":
            continue
        mine = [*loop_diagnoses(block["checks"]), *by_flow.get(block["flow"], [])]
        out += [{**d.to_dict(), "flow": block["flow"]} for d in _proven_first(honest(rank(mine), block["checks"]))]
    return out


def conclude_nogo(report: SmokeReport, found: list[dict[str, Any]], finished_at_s: float,
                  push: Callable[[SmokeReport], None] | None = None) -> None:
    """The ``nogo`` task: rank the diagnoses into the report, write it, fail the run naming the first cause.

    :param found: every diagnostic task's findings (``Diagnosis.to_dict()``).
    :param finished_at_s: now (seconds since the epoch), for the diagnosis time the report states.
    :param push: called with the final report before the run fails (the DAG pushes it as the task's XCom
        ``report``, which the Airflow view reads).
    :raises SmokeTestNogo: always (the run fails so that the failure callback alerts).
    """
    from mm2_smoke.flow_report import with_flow_diagnoses
    from mm2_smoke.report import render_markdown, with_diagnoses, write_report

    ranked = rank_by_flow(report, found)
    seconds = finished_at_s - datetime.fromisoformat(report["finished_at"]).timestamp()
    report = proven_verdicts(with_flow_diagnoses(with_diagnoses(report, ranked, seconds), ranked))
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

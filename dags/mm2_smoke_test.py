"""
# MM2 smoke test — Phase 1

Automates the runbook *Phase 1 : Smoke Test* of a Kafka MirrorMaker 2 chain
(`source` cluster → MM2 on Kafka Connect → `target` cluster), one task group per runbook step:

| group | runbook step | what it does |
|---|---|---|
| `step_1_1_produce` | 1.1 Envoi de messages test | records MM2's counters in Prometheus, then produces N tagged messages (acks=all) to `<prefix>.generated-data-01.json` on `kafka_source` and counts delivery reports |
| `step_1_2_replication` | 1.2 Vérification réplication | deferrable sensor on Prometheus: poll_total and the topic's `record_count` grow by the delivered count, write/poll > 99 %; NOGO when write_total has not moved 30 s after production |
| `step_1_3_latency_baseline` | 1.3 Latence baseline | avg < 100 ms, max < 500 ms, lag < 100 and not growing, offset commit max < 1000 ms |
| `step_1_4_target_count` | 1.4 Consommation sur target | reads `source.<topic>` on `kafka_target` up to the end offsets seen at start; counts this run's messages by their tag: received, missing, duplicates |
| `checklist` | Checklist Phase 1 | fills the checklist (JSON + Markdown in `$MM2_SMOKE_REPORT_DIR`) and gives the verdict |

**GO** → `go_for_phase_2` records the baseline as an event of the Asset `mm2_smoke_baseline`.
**NOGO / UNKNOWN** → the branch runs one task of the `diagnose` group per symptom (the runbook's
diagnosis table: connector/worker state and topics filter over Connect REST, MM2's ACLs and the remote
topic over the Kafka admin API, throttling and quotas, Prometheus' own health); `nogo` ranks their
findings (most likely cause first) into the report and fails the run, so the failure callback alerts
(`alert_webhook` connection, Slack-compatible JSON; the task log when it is not defined). GO needs positive evidence: an empty
PromQL result, NaN, a timeout or an unreachable service is UNKNOWN, never GO.

Connections: `kafka_source`, `kafka_target` (type `kafka`, librdkafka config in extra), `prometheus`
(type `http`), `kafka_connect` (type `http`, the MM2 Connect REST API, for diagnostics), optional
`alert_webhook` (type `http`). Every threshold is a Param of the trigger form,
its default the runbook's.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Asset, Label, Param, TaskGroup, TriggerRule, dag, get_current_context, task

from mm2_smoke.notifiers import AlertNotifier
from mm2_smoke.settings import param_specs

SOURCE_CONN = "kafka_source"
TARGET_CONN = "kafka_target"
PROMETHEUS_CONN = "prometheus"
CONNECT_CONN = "kafka_connect"
BASELINE_ASSET = Asset(name="mm2_smoke_baseline", uri="mm2-smoke://phase1/baseline")
SCHEDULE = os.environ.get("MM2_SMOKE_SCHEDULE", "@hourly")
ALERT_ON_SUCCESS = os.environ.get("MM2_SMOKE_ALERT_ON_SUCCESS", "false").lower() in ("1", "true", "yes")

PRODUCE = "step_1_1_produce.produce"
REPLICATION = "step_1_2_replication.wait_for_replication"
LATENCY = "step_1_3_latency_baseline.measure_latency"
COUNT = "step_1_4_target_count.count_on_target"
# Symptom (mm2_smoke.diagnosis) -> its diagnostic task in the `diagnose` group.
KAFKA_CONNS = (SOURCE_CONN, TARGET_CONN)
HTTP_CONNS = (PROMETHEUS_CONN, CONNECT_CONN)
MAX_ACTIVE_RUNS = int(os.environ.get("MM2_SMOKE_MAX_ACTIVE_RUNS", "1"))
DIAGNOSTICS = {"replication_stopped": "connector", "writes_failing": "writes", "latency_high": "latency",
               "nothing_on_target": "target_topic", "metrics_unavailable": "metrics"}


class SmokeTestNogo(RuntimeError):
    """The smoke test ended NOGO or UNKNOWN: the run fails so that failure callbacks alert."""


class SmokeTestSetupError(ValueError):
    """A connection the smoke test needs is missing or incomplete: nothing was produced."""


def _settings(raw: dict[str, Any]):
    from mm2_smoke.settings import from_params

    return from_params(raw)


@dag(
    dag_id="mm2_smoke_test",
    schedule=SCHEDULE,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=MAX_ACTIVE_RUNS,
    doc_md=__doc__,
    tags=["mm2", "kafka", "smoke-test", "phase-1"],
    default_args={"owner": "kafka-platform", "retries": 1, "retry_delay": timedelta(seconds=10)},
    params={name: Param(default, **schema) for name, (default, schema) in param_specs().items()},
    on_failure_callback=AlertNotifier(kind="failure"),
    on_success_callback=AlertNotifier(kind="success") if ALERT_ON_SUCCESS else None,
)
def mm2_smoke_test() -> None:
    @task(retries=0)
    def validate_settings(params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Validate the run's Params and connections before anything is produced; every task reads the
        validated settings. A missing or incomplete connection stops the run here, naming it and the fix."""
        from mm2_smoke.hooks import check_connections

        settings = _settings(dict(params or {})).to_dict()
        problems, postures = check_connections(KAFKA_CONNS, HTTP_CONNS)
        if problems:
            raise SmokeTestSetupError("the run cannot start: " + " | ".join(problems))
        for p in postures:
            print(p.summary())
        return settings

    settings = validate_settings()

    with TaskGroup("step_1_1_produce", tooltip="Runbook 1.1: produce the test messages"):

        @task
        def record_counters(settings: dict[str, Any]) -> dict[str, Any]:
            from mm2_smoke.hooks import PrometheusHook
            from mm2_smoke.steps import record_counters as body

            return body(PrometheusHook(PROMETHEUS_CONN), _settings(settings))

        @task  # a retry tags its messages apart (<run id>#try<n>): step 1.4 never counts two attempts
        def produce(settings: dict[str, Any]) -> dict[str, Any]:
            from mm2_smoke.hooks import SmokeKafkaHook
            from mm2_smoke.steps import produce_step

            ctx = get_current_context()
            producer_id = f"{ctx['dag'].dag_id}.{ctx['ti'].task_id}"
            return produce_step(SmokeKafkaHook(SOURCE_CONN), _settings(settings), ctx["run_id"], producer_id,
                                try_number=ctx["ti"].try_number)

        before = record_counters(settings)
        produced = produce(settings)
        before >> produced

    with TaskGroup("step_1_2_replication", tooltip="Runbook 1.2: MM2 polled and wrote the messages"):
        from mm2_smoke.sensors import ReplicationSensor

        replication = ReplicationSensor(
            task_id="wait_for_replication",
            prometheus_conn_id=PROMETHEUS_CONN,
            before=before,
            produced=produced,
            settings=settings,
            # A retry only re-measures (same before/produced XComs). It covers Airflow 3.3's resume-after-defer
            # race, which fails a resumed try with "state mismatch" and no log (see ReplicationSensor).
            retries=1,
            retry_delay=timedelta(seconds=2),
        )

    with TaskGroup("step_1_3_latency_baseline", tooltip="Runbook 1.3: latency, lag, offset commits"):

        @task
        def measure_latency(settings: dict[str, Any], produced: dict[str, Any]) -> dict[str, Any]:
            from mm2_smoke.hooks import PrometheusHook
            from mm2_smoke.steps import latency_step

            s = _settings(settings)
            return latency_step(PrometheusHook(PROMETHEUS_CONN), s, produced["started_ms"] / 1000,
                                step_s=max(1.0, s.poke_interval_s))

        latency = measure_latency(settings, produced)

    with TaskGroup("step_1_4_target_count", tooltip="Runbook 1.4: this run's messages on target"):

        @task
        def count_on_target(settings: dict[str, Any], produced: dict[str, Any]) -> dict[str, Any]:
            from mm2_smoke.hooks import SmokeKafkaHook
            from mm2_smoke.steps import count_step

            ctx = get_current_context()
            return count_step(SmokeKafkaHook(TARGET_CONN), _settings(settings), ctx["run_id"], produced)

        count = count_on_target(settings, produced)

    replication >> [latency, count]

    @task(trigger_rule=TriggerRule.ALL_DONE, retries=0)
    def checklist() -> dict[str, Any]:
        """Fill the runbook's checklist from every step's result; write the report; return it.

        Runs whatever happened upstream (settings or connections refused included: it pulls, not takes, the
        validated settings) so that every run ends with a report that says why."""
        from mm2_smoke.hooks import check_connections
        from mm2_smoke.report import build_report, render_markdown, write_report
        from mm2_smoke.settings import SettingsError
        from mm2_smoke.steps import collect_checks, utc_now_iso
        from mm2_smoke.verdict import Check, Status

        ctx = get_current_context()
        ti = ctx["ti"]
        settings = ti.xcom_pull(task_ids="validate_settings")
        pre: list[Check] = []
        try:
            s = _settings(settings or dict(ctx["params"]))
            pre.append(Check("pre", "settings", "valid", "valid Params", Status.GO, "validate_settings"))
        except SettingsError as exc:
            s = _settings({})
            pre.append(Check("pre", "settings", None, "valid Params", Status.UNKNOWN, "validate_settings",
                             f"invalid Param: {exc}"))
        problems, postures = check_connections(KAFKA_CONNS, HTTP_CONNS)
        conns = ", ".join(KAFKA_CONNS + HTTP_CONNS)
        pre.append(Check("pre", "connections", "defined" if not problems else None, f"{conns} defined and complete",
                         Status.UNKNOWN if problems else Status.GO, "Airflow connections", " | ".join(problems)))
        pulled = {tid: ti.xcom_pull(task_ids=tid) for tid in (PRODUCE, REPLICATION, LATENCY, COUNT)}
        checks, notes = collect_checks(s, pulled[PRODUCE], pulled[REPLICATION], pulled[LATENCY], pulled[COUNT])
        checks = pre + checks
        notes = [w for p in postures for w in p.warnings()] + notes
        baseline = dict((pulled[LATENCY] or {}).get("baseline") or {})
        by_name = {c.name: c for c in checks}
        if "poll_total_increase" in by_name:
            baseline["poll_total_increase"] = by_name["poll_total_increase"].value
        if "write_poll_ratio_pct" in by_name:
            baseline["write_poll_ratio_pct"] = by_name["write_poll_ratio_pct"].value
        dag_run = ctx["dag_run"]
        report = build_report(
            dag_id=ctx["dag"].dag_id, run_id=ctx["run_id"],
            started_at=dag_run.start_date.isoformat(timespec="seconds") if dag_run.start_date else "",
            finished_at=utc_now_iso(), checks=checks, produced=pulled[PRODUCE], count=pulled[COUNT],
            baseline=baseline, replication=pulled[REPLICATION],
            settings=s.to_dict(), notes=notes, tls=[p.summary() for p in postures],
        )
        json_path, md_path = write_report(report)
        report["report_files"] = {"json": str(json_path), "markdown": str(md_path)}
        print(render_markdown(report))
        print(f"report: {json_path} and {md_path}")
        return report

    report = checklist()
    [latency, count] >> report

    @task.branch(retries=0)
    def verdict(report: dict[str, Any]) -> list[str]:
        """GO -> go_for_phase_2; NOGO/UNKNOWN -> one diagnostic task per symptom the checks show."""
        from mm2_smoke.diagnosis import symptoms_from_checks

        if report["verdict"] == "GO":
            return ["go_for_phase_2"]
        symptoms = symptoms_from_checks(report["checks"]) or ["metrics_unavailable"]
        return [f"diagnose.{DIAGNOSTICS[s]}" for s in symptoms]

    @task(outlets=[BASELINE_ASSET], retries=0)
    def go_for_phase_2(report: dict[str, Any]) -> dict[str, Any]:
        """GO: record the baseline as an Asset event that later-phase DAGs can be scheduled on."""
        extra = {"run_id": report["run_id"], "verdict": "GO", **{k: v for k, v in report["baseline"].items()
                                                                    if k != "lag_window"}}
        get_current_context()["outlet_events"][BASELINE_ASSET].extra = extra
        return extra

    with TaskGroup("diagnose", tooltip="Runbook 'Si NOGO : Diagnostic': one task per symptom") as diagnose:

        @task(retries=0)
        def connector(settings: dict[str, Any]) -> list[dict[str, Any]]:
            """poll_total = 0: MM2 connector/task state, topics filter, source topic (Connect REST, admin)."""
            from mm2_smoke.diagnostics import connector_diagnostic
            from mm2_smoke.hooks import ConnectHook, SmokeKafkaHook

            return connector_diagnostic(ConnectHook(CONNECT_CONN), SmokeKafkaHook(SOURCE_CONN), _settings(settings))

        @task(retries=0)
        def writes(settings: dict[str, Any]) -> list[dict[str, Any]]:
            """write = 0, poll > 0: task errors (Connect REST) and MM2's ACLs on target (admin API)."""
            from mm2_smoke.diagnostics import writes_diagnostic
            from mm2_smoke.hooks import ConnectHook, SmokeKafkaHook

            return writes_diagnostic(ConnectHook(CONNECT_CONN), SmokeKafkaHook(TARGET_CONN), _settings(settings))

        @task(retries=0)
        def latency(settings: dict[str, Any]) -> list[dict[str, Any]]:
            """latency > 500 ms: MM2 producer throttling (Prometheus), quotas (Kafka tools), broker round trips."""
            from mm2_smoke.diagnostics import latency_diagnostic
            from mm2_smoke.hooks import PrometheusHook, SmokeKafkaHook

            return latency_diagnostic(PrometheusHook(PROMETHEUS_CONN), SmokeKafkaHook(SOURCE_CONN),
                                      SmokeKafkaHook(TARGET_CONN), _settings(settings))

        @task(retries=0)
        def target_topic(settings: dict[str, Any]) -> list[dict[str, Any]]:
            """0 messages on target: remote topic existence, auto-create, MM2's CREATE ACL, naming."""
            from mm2_smoke.diagnostics import target_topic_diagnostic
            from mm2_smoke.hooks import SmokeKafkaHook

            return target_topic_diagnostic(SmokeKafkaHook(TARGET_CONN), _settings(settings))

        @task(retries=0)
        def metrics(settings: dict[str, Any]) -> list[dict[str, Any]]:
            """UNKNOWN: Prometheus reachable, scrape targets up, metric names present."""
            from mm2_smoke.diagnostics import metrics_diagnostic
            from mm2_smoke.hooks import PrometheusHook

            return metrics_diagnostic(PrometheusHook(PROMETHEUS_CONN), _settings(settings))

        diagnostics = [connector(settings), writes(settings), latency(settings), target_topic(settings),
                       metrics(settings)]

    @task(retries=0, trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
    def nogo() -> None:
        """NOGO or UNKNOWN: rank the diagnoses, add them to the report, fail the run (the callback alerts).

        Its only upstream tasks are the diagnostics (the report is pulled, not passed): on GO they are all
        skipped, and so is this task.
        """
        from mm2_smoke.diagnosis import rank, setup_diagnoses
        from mm2_smoke.report import render_markdown, with_diagnoses, write_report

        ti = get_current_context()["ti"]
        report = ti.xcom_pull(task_ids="checklist")
        found: list[dict[str, Any]] = [d.to_dict() for d in setup_diagnoses(report["checks"])]
        for task_id in diagnose.children:
            found += ti.xcom_pull(task_ids=task_id) or []
        ranked = [d.to_dict() for d in rank(found)]
        seconds = (pendulum.now("UTC") - pendulum.parse(report["finished_at"])).total_seconds()
        report = with_diagnoses(report, ranked, seconds)
        write_report(report)
        print(render_markdown(report))
        top = ranked[0] if ranked else {"cause": "no diagnosis", "action": "see the report"}
        failed = "; ".join(f"{c['step']} {c['name']}: {c['status']}" for c in report["failed_checks"])
        first = next((c for c in report["failed_checks"] if c.get("reason")), None)
        why = f" First: {first['step']} {first['name']}: {first['reason']}." if first else ""
        raise SmokeTestNogo(f"{report['verdict']} ({failed}).{why} Most likely cause: {top['cause']}. "
                            f"Action: {top['action']}. Report: {report['report_files']['markdown']}")

    branch = verdict(report)
    branch >> Label("GO") >> go_for_phase_2(report)
    branch >> Label("NOGO") >> diagnostics
    diagnostics >> nogo()


mm2_smoke_test()

"""
# MM2 smoke test — Phase 1

Automates the runbook *Phase 1 : Smoke Test* of a Kafka MirrorMaker 2 chain
(`source` cluster → MM2 on Kafka Connect → `target` cluster), one task group per runbook step:

| group | runbook step | what it does |
|---|---|---|
| `preflight` | (before 1.1) | validates the Params and connections, checks the metric contract and the chain (a certain fault ends the run here, nothing produced), records MM2's counters in Prometheus |
| `step_1_1_produce` | 1.1 Envoi de messages test | produces `num_messages` tagged messages (acks=all) to `<prefix>.generated-data-01.json` on `kafka_source`, counts delivery reports, and times each message's arrival on the target |
| `step_1_2_replication` | 1.2 Vérification réplication | deferrable sensor on Prometheus: poll_total and the topic's `record_count` grow by the delivered count, the write/poll ratio; NOGO when write_total stalls after production |
| `step_1_3_latency_baseline` | 1.3 Latence baseline | replication latency (avg, max), lag (and whether it grows), offset commit max time |
| `step_1_4_target_count` | 1.4 Consommation sur target | reads `source.<topic>` on `kafka_target` up to the end offsets seen at start; counts this run's messages by their tag: received, missing, duplicates |
| `failover_readiness` | (after 1.4) | per flow: the smoke test's own group commits on the source, MM2's checkpoint of it is awaited (deferrable), a switch to the target is rehearsed: READY / NOT READY / UNKNOWN beside the verdict (`failover_check`: auto, on, off) |
| `checklist` | Checklist Phase 1 | fills the checklist (its XCom; JSON + Markdown in `$MM2_SMOKE_REPORT_DIR`) and gives the verdict; extra link **Smoke test report** |

**GO** → `go_for_phase_2` records the baseline as an event of the Asset `mm2_smoke_baseline`.
**NOGO / UNKNOWN** → the branch runs one task of the `diagnose` group per symptom (the runbook's
diagnosis table: connector/worker state and topics filter over Connect REST, MM2's ACLs and the remote
topic over the Kafka admin API, throttling and quotas, Prometheus' own health); `nogo` ranks their
findings (most likely cause first) into the report and fails the run, so the failure callback alerts
(`alert_webhook` connection, Slack-compatible JSON; the task log when it is not defined). GO needs positive evidence: an empty
PromQL result, NaN, a timeout or an unreachable service is UNKNOWN, never GO.

**In the UI**: each run's tab **Smoke test report** (and the checklist task's extra link) shows the verdict, the
filled checklist, every check, the counts and the ranked diagnoses; the DAG's tab **Smoke test history** the runs'
verdicts and the baseline's trends (`/mm2-smoke`, the plugin `mm2_smoke_ui`). A run still not finished
`deadline_minutes` after it was queued alerts through the same notifier.

Connections: `kafka_source`, `kafka_target` (type `kafka`, librdkafka config in extra), `prometheus`
(type `http`), `kafka_connect` (type `http`, the MM2 Connect REST API, for diagnostics), optional
`alert_webhook` (type `http`). Every threshold is a Param of the trigger form,
its default the runbook's:

"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Asset, Label, Param, TaskGroup, TriggerRule, dag, get_current_context, task
from mm2_smoke_ui.smoke_deadline import deadline_alert
from mm2_smoke_ui.smoke_links import SmokeReportLink

from mm2_smoke import dag_layout as ids
from mm2_smoke.failover_task import FailoverReadinessOperator
from mm2_smoke.notifiers import AlertNotifier
from mm2_smoke.registry import SYMPTOMS
from mm2_smoke.sensors import ReplicationSensor
from mm2_smoke.settings import TOPIC_NEW_KEY, SmokeSettings, param_specs, thresholds_table

BASELINE_ASSET = Asset(name=ids.BASELINE_ASSET_NAME, uri=ids.BASELINE_ASSET_URI)
SCHEDULE = os.environ.get("MM2_SMOKE_SCHEDULE", "@hourly")
MAX_ACTIVE_RUNS = int(os.environ.get("MM2_SMOKE_MAX_ACTIVE_RUNS", "1"))
ALERT_ON_SUCCESS = os.environ.get("MM2_SMOKE_ALERT_ON_SUCCESS", "false").lower() in ("1", "true", "yes")
#: Under `airflow dags test`, Airflow 3.3.2 fails a successful run while pruning the DAG's deadlines ("'dict' object
#: has no attribute 'hex'"): the deadline is declared for scheduled and triggered runs only.
UNDER_DAGS_TEST = sys.argv[1:3] == ["dags", "test"]
#: The deadline Param's default: a run not finished this many minutes after it was queued alerts.
DEADLINE_MINUTES = float(os.environ.get("MM2_SMOKE_DEADLINE_MINUTES") or 10)
#: The Params' defaults: the runbook's (``SmokeSettings``), the deadline's from the environment. The trigger form and
#: the doc's table of GO rules and limits both read them.
#: The failover_check Param's default: MM2_SMOKE_FAILOVER_CHECK (auto, on, off), else auto.
FAILOVER_CHECK = os.environ.get("MM2_SMOKE_FAILOVER_CHECK") or "auto"
if FAILOVER_CHECK not in param_specs()["failover_check"][1]["enum"]:
    raise ValueError(f"MM2_SMOKE_FAILOVER_CHECK={FAILOVER_CHECK!r} is not one of auto, on, off: fix it in the "
                     "environment of the DAG processor (it sets the failover_check Param's default)")
DEFAULTS = SmokeSettings(deadline_minutes=DEADLINE_MINUTES, failover_check=FAILOVER_CHECK)


def _params() -> dict[str, Param]:
    return {name: Param(getattr(DEFAULTS, name), **schema) for name, (_, schema) in param_specs().items()}


def _settings(raw: dict[str, Any]):
    from mm2_smoke.settings import from_params

    return from_params(raw)


def _kafka(conn_id: str):
    from mm2_smoke.hooks import SmokeKafkaHook

    return SmokeKafkaHook(conn_id)


def _prometheus():
    from mm2_smoke.hooks import PrometheusHook

    return PrometheusHook(ids.PROMETHEUS_CONN)


def _of_flow(ref: Any) -> Any:
    """The XCom of task ``ref`` for this task's flow (the same map index: every step is mapped over the flows)."""
    ti = get_current_context()["ti"]
    return ti.xcom_pull(task_ids=ref.id, map_indexes=ti.map_index)


def _diagnose(symptom: str) -> list[dict[str, Any]]:
    """One diagnostic of the NOGO path, for every flow whose checks call for it: facts from the live system, the
    diagnosis rules applied, each finding naming its flow (never raises).

    It pulls the run's settings (not takes them), so that it runs when the pre-flight stopped the steps."""
    from mm2_smoke.checklist import flow_results, run_settings
    from mm2_smoke.diagnosis.gather import run_diagnostic, run_facts
    from mm2_smoke.diagnosis.routing import failed_flows, route

    context = get_current_context()
    ti = context["ti"]
    outcomes = ti.xcom_pull(task_ids=ids.PREFLIGHT.id, key=ids.FLOWS_KEY)
    if not outcomes:  # the pre-flight stopped before the flows were known
        return run_diagnostic(symptom, run_settings(context).to_dict(), run_facts(None, None, None))
    report = ti.xcom_pull(task_ids=ids.CHECKLIST.id) or {}
    failed = {b.get("flow") for b in failed_flows(report)} if report else set()
    mine = context["task"].task_id  # diagnose.<symptom's task>
    found = []
    for outcome, pulled in flow_results(ti, outcomes):
        block = next((b for b in report.get("flows") or [] if b["flow"] == outcome["flow"]), None)
        if len(outcomes) > 1 and (outcome["flow"] not in failed or block is None or mine not in route(block,
                                                                                                       ids.DIAGNOSE)):
            continue
        run = run_facts(*(pulled[t] for t in (ids.PRODUCE, ids.COUNT, ids.REPLICATION)))
        found += [{**d, "flow": outcome["flow"]} for d in run_diagnostic(symptom, outcome["settings"], run)]
    return found


@dag(
    dag_id=ids.DAG_ID,
    schedule=SCHEDULE,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=MAX_ACTIVE_RUNS,
    doc_md=f"{__doc__ or ''}{thresholds_table(DEFAULTS)}\n",
    tags=["mm2", "kafka", "smoke-test", "phase-1"],
    default_args={"owner": "kafka-platform", "retries": 1, "retry_delay": timedelta(seconds=10)},
    params=_params(),
    deadline=None if UNDER_DAGS_TEST else deadline_alert(DEADLINE_MINUTES),
    on_failure_callback=AlertNotifier(kind="failure"),
    on_success_callback=AlertNotifier(kind="success") if ALERT_ON_SUCCESS else None,
)
def mm2_smoke_test() -> None:
    @task(task_id=ids.PREFLIGHT.name, retries=0)
    def preflight(params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Before producing: the Params and connections (a problem fails the run here, naming the fix), the metric
        contract (profile detected, every series fresh) and the chain (MM2's source connector and tasks, its topic
        filter, the test topics); on a certain fault the run ends here (preflight_mode=fail_fast) and the checklist
        says why. A run that goes on records MM2's counters as they stand before production (runbook 1.1's "+100
        after sending" starts there). One task, not three: each task adds a scheduler hop before production."""
        from mm2_smoke.hooks import connect_rest
        from mm2_smoke.preflight import check_setup
        from mm2_smoke.step_1_2_replication import record_counters
        from mm2_smoke.topology import plan_checked, run_flows

        ctx = get_current_context()
        setup = check_setup(dict(params or {}))
        ctx["ti"].xcom_push(key=ids.PREFLIGHT_SETUP_KEY, value=setup.to_dict())  # the checklist's first rows
        settings = setup.raise_if_bad()
        print(*setup.tls, sep="\n")
        ctx["ti"].xcom_push(key=ids.PREFLIGHT_SETTINGS_KEY, value=settings)  # the checklist's, should the rest fail
        connect = connect_rest(settings)
        plan = plan_checked(setup, _settings(settings), connect,
                            lambda bad: ctx["ti"].xcom_push(key=ids.PREFLIGHT_SETUP_KEY, value=bad))
        prom = _prometheus()
        outcomes = run_flows(prom, _settings(settings), plan, connect, _kafka)
        ctx["ti"].xcom_push(key=ids.PREFLIGHT_SETTINGS_KEY, value=outcomes[0].settings)
        ctx["ti"].xcom_push(key=ids.PREFLIGHT_REPORT_KEY, value=outcomes[0].report)
        ctx["ti"].xcom_push(key=ids.FLOWS_KEY, value=[o.to_dict() for o in outcomes])
        for o in outcomes:
            for f in o.report["findings"]:
                print(f"pre-flight {o.flow} {f['check']}: {f['status']}: {f['message']}")
        go = [o.settings for o in outcomes if o.proceed]
        if go:
            ctx["ti"].xcom_push(key=ids.COUNTERS_BEFORE_KEY, value=[record_counters(prom, _settings(s)) for s in go])
        return go  # the steps are mapped over it: none (every flow stopped) skips them



    gate = preflight()
    flows = gate  # one map index per flow that produces

    with TaskGroup(ids.STEP_1_1, tooltip="Runbook 1.1: produce the test messages, on each flow's source"):

        @task(task_id=ids.PRODUCE.name)  # a retry tags its messages apart (<run id>#try<n>): 1.4 never counts both
        def produce(settings: dict[str, Any]) -> dict[str, Any]:
            from mm2_smoke.hooks import connect_rest
            from mm2_smoke.step_1_1_produce import produce_step
            from mm2_smoke.topology import conns, run_tag

            ctx = get_current_context()
            source, target = conns(settings)
            return produce_step(_kafka(source), _settings(settings), run_tag(ctx["run_id"], settings),
                                f"{ctx['dag'].dag_id}.{ctx['ti'].task_id}", try_number=ctx["ti"].try_number,
                                target_hook=_kafka(target), connect=connect_rest(settings),
                                topic_new=bool(settings.get(TOPIC_NEW_KEY)))

        produced = produce.expand(settings=flows)

    with TaskGroup(ids.STEP_1_2, tooltip="Runbook 1.2: MM2 polled and wrote the messages"):
        # A retry only re-measures (same XComs). It covers Airflow 3.3's resume-after-defer race (see the sensor).
        # It runs when a flow's production failed and another's did not (that flow's index returns nothing).
        replicated = ReplicationSensor.partial(
            task_id=ids.REPLICATION.name, prometheus_conn_id=ids.PROMETHEUS_CONN, retries=1,
            retry_delay=timedelta(seconds=2), trigger_rule=TriggerRule.ALL_DONE_MIN_ONE_SUCCESS).expand(settings=flows)
    produced >> replicated

    with TaskGroup(ids.STEP_1_3, tooltip="Runbook 1.3: latency, lag, offset commits"):

        @task(task_id=ids.LATENCY.name, trigger_rule=TriggerRule.ALL_DONE_MIN_ONE_SUCCESS)
        def measure_latency(settings: dict[str, Any]) -> dict[str, Any] | None:
            from mm2_smoke.step_1_3_latency import latency_step

            produced = _of_flow(ids.PRODUCE)
            if not produced:
                return None  # this flow's production failed: the checklist says so
            s = _settings(settings)
            return latency_step(_prometheus(), s, produced["started_ms"] / 1000, step_s=max(1.0, s.poke_interval_s),
                                production_end_s=produced["finished_ms"] / 1000)

        latency_baseline = measure_latency.expand(settings=flows)

    with TaskGroup(ids.STEP_1_4, tooltip="Runbook 1.4: this run's messages on each flow's target"):

        @task(task_id=ids.COUNT.name, trigger_rule=TriggerRule.ALL_DONE_MIN_ONE_SUCCESS)
        def count_on_target(settings: dict[str, Any]) -> dict[str, Any] | None:
            from mm2_smoke.step_1_4_target_count import count_step
            from mm2_smoke.topology import conns

            produced = _of_flow(ids.PRODUCE)
            if not produced:
                return None
            return count_step(_kafka(conns(settings)[1]), _settings(settings), get_current_context()["run_id"],
                              produced)

        on_target = count_on_target.expand(settings=flows)

    replicated >> [latency_baseline, on_target]

    with TaskGroup(ids.FAILOVER_GROUP, tooltip="Failover readiness: could the smoke test's group switch to each "
                   "flow's target now? (READY / NOT READY / UNKNOWN, beside the Phase 1 verdict)"):
        # The wait for MM2's checkpoint goes to the triggerer after defer_after_s (no worker slot while deferred).
        readiness = FailoverReadinessOperator.partial(
            task_id=ids.FAILOVER.name, retries=0, trigger_rule=TriggerRule.ALL_DONE_MIN_ONE_SUCCESS,
            doc_md="Commits the smoke test's own group on the source half-way through this run's messages, waits "
                   "for MM2's checkpoint of it on the target, rehearses a consumer switched at the translated "
                   "offsets (would_lose, would_reread), reads the group on the target and the flow's heartbeats.",
        ).expand(settings=flows)
    on_target >> readiness

    @task(task_id=ids.CHECKLIST.name, trigger_rule=TriggerRule.ALL_DONE, retries=0)
    def checklist() -> dict[str, Any]:
        """Fill the runbook's checklist from every step's result and write the report; runs whatever happened."""
        from mm2_smoke.checklist import fill

        return fill(get_current_context())

    report = checklist()
    report.operator.operator_extra_links = (SmokeReportLink(),)  # "Smoke test report": the run's view
    [latency_baseline, on_target, readiness] >> report

    @task.branch(task_id=ids.ROUTE.name, retries=0)
    def verdict(report: dict[str, Any]) -> list[str]:
        """GO -> go_for_phase_2; NOGO/UNKNOWN -> one diagnostic task per symptom the checks show."""
        from mm2_smoke.diagnosis.routing import route_flows

        return [ids.GO.id] if report["verdict"] == "GO" else route_flows(report, ids.DIAGNOSE)

    @task(task_id=ids.GO.name, outlets=[BASELINE_ASSET], retries=0)
    def go_for_phase_2(report: dict[str, Any]) -> dict[str, Any]:
        """GO: record the baseline as an Asset event that later-phase DAGs can be scheduled on."""
        from mm2_smoke.checklist import baseline_event

        extra = baseline_event(report)
        get_current_context()["outlet_events"][BASELINE_ASSET].extra = extra
        return extra

    with TaskGroup(ids.DIAGNOSE, tooltip="Runbook 'Si NOGO : Diagnostic': one task per symptom") as diagnose:
        diagnostics = [task(task_id=s.task, retries=0, doc_md=s.doc)(_diagnose)(s.symptom.value) for s in SYMPTOMS]

    @task(task_id=ids.NOGO.name, retries=0, trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
    def nogo() -> None:
        """NOGO or UNKNOWN: rank the diagnoses into the report and fail the run (the failure callback alerts).

        Its only upstream tasks are the diagnostics (the report is pulled, not passed): on GO they are all
        skipped, and so is this task."""
        import time

        from mm2_smoke.checklist import conclude_nogo

        ti = get_current_context()["ti"]
        found = [d for task_id in diagnose.children for d in ti.xcom_pull(task_ids=task_id) or []]
        conclude_nogo(ti.xcom_pull(task_ids=ids.CHECKLIST.id), found, time.time(),
                      push=lambda final: ti.xcom_push(key=ids.NOGO_REPORT_KEY, value=final))  # the view reads it

    branch = verdict(report)
    branch >> Label("GO") >> go_for_phase_2(report)
    branch >> Label("NOGO") >> diagnostics
    diagnostics >> nogo()


mm2_smoke_test()

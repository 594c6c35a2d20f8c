"""Faults known for certain before producing, and a fault that strikes during the wait, on the real chain.

The pre-flight (``preflight_mode=fail_fast``, the default) reads MM2's source connector and tasks, its topic filter
and the freshness of its series: a deleted, paused or failed connector or task, a test topic filtered out or a
scrape target down ends the run before step 1.1, with nothing produced and the diagnosis's first cause. A task
that fails on the run's own records is seen by step 1.1's one-clock watch at its next look at Connect REST, and
step 1.2 decides NOGO at its first check instead of waiting for the 30 s stall rule.

The stack's own probe proves the chain recovered after each heal (the fault matrix ends with a full GO run).
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from mm2_smoke.diagnosis import base as dg
from mm2_stack import faults
from mm2_stack.airflow_run import airflow_env, dags_test
from mm2_stack.config import StackConfig

# Nothing is produced, or the run is judged on its chain fault (a latency-only NOGO is allowed where it matters).
pytestmark = [pytest.mark.integration, pytest.mark.latency_insensitive]

#: fault, verdict, first cause, a word of the pre-flight row that stops the run. A paused connector (same class as
#: a deleted one) is the pre-flight's NOGO in test_dag_e2e.py, with the same assertions and its alert.
CERTAIN = [
    ("connector-deleted", "NOGO", dg.WORKER_DOWN, "not deployed"),
    ("task-failed", "NOGO", dg.TASK_ERROR, "FAILED"),
    ("topic-excluded", "NOGO", dg.TOPICS_CONFIG, "topics"),
    ("scrape-down", "UNKNOWN", dg.METRICS, "scrape target(s) down"),
    ("connect-down", "NOGO", dg.WORKER_DOWN, "does not answer"),
    ("source-topic-deleted", "NOGO", dg.SOURCE_TOPIC, "does not exist on source"),
    # The pre-flight could not measure (UNKNOWN), and the diagnosis proves the chain cannot replicate: NOGO.
    ("mm2-source-unreachable", "NOGO", dg.MM2_CLUSTER_UNREACHABLE, "runs no task"),
    ("target-frozen", "NOGO", dg.CLUSTER_UNRESPONSIVE, "does not answer"),
]
#: The run's conf for a fault (the others run with the Params' defaults).
CONF = {"source-topic-deleted": {"test_topic_missing": "fail"}}
FAST = {"num_messages": 20, "messages_per_second": 200}
#: What the pre-flight itself found where the verdict differs (the diagnosis then proved a chain fault).
PREFLIGHT_FOUND = {"mm2-source-unreachable": "UNKNOWN", "target-frozen": "UNKNOWN"}


def _verdict_after_trigger_s(report: dict) -> float:
    """Trigger (the run's start) to the verdict with its first cause (checklist, then the diagnosis)."""
    start = datetime.fromisoformat(report["started_at"]).timestamp()
    end = datetime.fromisoformat(report["finished_at"]).timestamp()
    return round(end - start + (report.get("diagnosis_seconds") or 0), 1)


def test_certain_faults_stop_the_run_before_producing_with_their_cause(live_stack: StackConfig, airflow_home,
                                                                       record_number) -> None:
    env = airflow_env(live_stack, airflow_home)
    results = {}
    for fault, *_expected in CERTAIN:
        faults.inject(live_stack, fault)
        try:
            result = dags_test(env, CONF.get(fault))
        finally:
            heal_s = faults.heal(live_stack, fault, latency=False)  # nothing produced: no run here reads latency
        r = result.report
        assert r is not None, (fault, result.output[-6000:])
        first = (r.get("diagnoses") or [{}])[0]
        record_number(f"pre-flight fault: {fault} | {r['verdict']} | first cause {first.get('cause_id')} | "
                      f"verdict {_verdict_after_trigger_s(r)} s after the trigger (pre-flight "
                      f"{r['preflight']['seconds']} s) | produced {r['counts']['produced']} | whole dags test "
                      f"{result.seconds:.1f} s | heal {heal_s:.0f} s")
        results[fault] = (r, first)
    for fault, verdict, cause, word in CERTAIN:
        r, first = results[fault]
        assert r["verdict"] == verdict, (fault, json.dumps(r["failed_checks"], indent=1))
        assert r["counts"]["produced"] == 0, (fault, r["counts"])
        # The pre-flight says what it found; the verdict follows the diagnosis' proof (UNKNOWN -> NOGO, a note why).
        found = PREFLIGHT_FOUND.get(fault, verdict)
        assert r["preflight"]["status"] == found, (fault, r["preflight"])
        if found != verdict:
            assert any(n.startswith("NOGO, not UNKNOWN: the diagnosis proves") for n in r["notes"]), (fault, r["notes"])
        stopping = [c for c in r["failed_checks"] if c["step"] == "pre" and c["status"] == found]
        assert any(word in c["reason"] for c in stopping), (fault, stopping)
        assert first.get("cause_id") == cause, (fault, json.dumps(r.get("diagnoses"), indent=1))
        not_run = [c for c in r["failed_checks"] if c["step"] in ("1.1", "1.2", "1.3", "1.4")]
        assert not_run and all(c["reason"].startswith("not run: the pre-flight found") for c in not_run), fault
    # Recovery: each heal ends with the stack's probe (connectors and tasks RUNNING, a message through the chain,
    # the metric contract); the next test's GO runs (and the fault matrix's recovery run) prove the rest.


def test_a_task_failing_on_the_runs_records_is_nogo_at_the_next_look_not_after_the_stall_rule(
        live_stack: StackConfig, airflow_home, record_number) -> None:
    env = airflow_env(live_stack, airflow_home)
    faults.inject(live_stack, "task-fails-mid-run")  # RUNNING now, FAILED at the first replicated record
    try:
        result = dags_test(env, FAST)
    finally:
        heal_s = faults.heal(live_stack, "task-fails-mid-run")
    r = result.report
    assert r is not None, result.output[-6000:]
    first = (r.get("diagnoses") or [{}])[0]
    decided = r["replication_decided_s_after_production"]
    record_number(f"task failed mid-run: {r['verdict']} | first cause {first.get('cause_id')} | step 1.2 decided "
                  f"{decided} s after production ended (poke interval {r['settings']['poke_interval_s']} s; the "
                  f"stall rule would wait {r['settings']['write_stall_timeout_s']} s) | produced "
                  f"{r['counts']['produced']} | heal {heal_s:.0f} s")
    assert r["preflight"]["status"] in ("GO", "WARN"), r["preflight"]  # the task was RUNNING before the run
    assert r["counts"]["produced"] == FAST["num_messages"]
    assert r["verdict"] == "NOGO" and r["replication_outcome"] == "chain_fault", json.dumps(r["failed_checks"],
                                                                                          indent=1)
    row = {c["name"]: c for c in r["failed_checks"]}["connector_state"]
    assert "FAILED" in row["reason"], row
    assert first.get("cause_id") == dg.TASK_ERROR, json.dumps(r.get("diagnoses"), indent=1)
    # Decided at the watch's first look after production (plus the sensor's first check), not at the 30 s rule.
    assert decided < r["settings"]["write_stall_timeout_s"], decided


def test_a_missing_test_topic_is_created_by_default_and_the_run_goes_on(live_stack: StackConfig, airflow_home,
                                                                       record_number) -> None:
    """The runbook's bomber creates a missing topic: so does the run (``test_topic_missing=create``, the default); the
    pre-flight waits for MM2 to start a task for it, every message is replicated, and the report says the topic was
    created."""
    env = airflow_env(live_stack, airflow_home)
    faults.inject(live_stack, "source-topic-deleted")
    try:
        result = dags_test(env)
    finally:
        faults.heal(live_stack, "source-topic-deleted")  # a no-op when the run created it
    r = result.report
    assert r is not None, result.output[-6000:]
    record_number(f"test topic deleted, default Params: {r['verdict']} in {result.seconds:.1f} s (pre-flight "
                  f"{r['preflight']['seconds']} s, created and waited for MM2's task)")
    assert any("the smoke test created it" in n for n in r["notes"]), r["notes"]
    # The run went on and MM2 replicated every message of it (the pre-flight waited for MM2's task). Its first
    # records may wait for the new task's first fetch: that is MM2's real latency on a just-discovered topic (CI:
    # avg 720 ms, max 3704 ms), which step 1.3 reports as it is — GO, or NOGO on latency only, never a stop.
    assert r["counts"]["produced"] == r["counts"]["received"] == 100, r["counts"]
    assert r["verdict"] == "GO" or all(c["step"] == "1.3" and "latency" in c["name"] for c in r["failed_checks"]), \
        json.dumps(r["failed_checks"], indent=1)

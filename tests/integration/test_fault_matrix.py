"""The runbook's diagnosis table, proven on the real chain: inject a fault, run the DAG, check the verdict and
the first-ranked cause, heal (the stack's probe: connectors and tasks RUNNING, remote topic, metric contract, MM2's
latency window clear), and after the last fault check a full run is GO again."""

from __future__ import annotations

import contextlib
import json
import time

import pytest

from mm2_smoke.diagnosis import base as dg
from mm2_stack import faults
from mm2_stack.airflow_run import airflow_env, dags_test
from mm2_stack.config import StackConfig
from tests.support.traffic import other_traffic

# Each fault's run is judged on its own cause; the recovery run follows a heal that waits for the window.
pytestmark = [pytest.mark.integration, pytest.mark.latency_insensitive]

MATRIX = [
    # fault, expected verdict, expected first cause
    # connect-down and topic-excluded are certain faults: test_preflight_faults.py
    ("target-write-acl", "NOGO", dg.ACL_ON_TARGET),
    ("target-quota", "NOGO", dg.THROTTLING),
    ("remote-topic-missing", "NOGO", dg.TOPIC_NOT_CREATED),
    ("prometheus-down", "UNKNOWN", dg.METRICS),
    ("source-read-denied", "NOGO", dg.ACL_ON_SOURCE),
]
#: Faults run with other traffic through MM2's task (its poll/write counters move while the test topic's do not).
BUSY = {"source-read-denied"}


@pytest.mark.parametrize(("fault", "verdict", "cause"), MATRIX, ids=[m[0] for m in MATRIX])
def test_fault_gives_its_verdict_and_cause_then_heals_to_go(live_stack: StackConfig, airflow_home, record_number,
                                                            fault: str, verdict: str, cause: str) -> None:
    env = airflow_env(live_stack, airflow_home)
    # A real chain's task replicates other topics too: with MM2 unable to read the test topic, its task's counters
    # still move, and only the test topic's own count says the run stalled.
    traffic = other_traffic(live_stack, live_stack.naming.prefix + ".other-traffic") if fault in BUSY \
        else contextlib.nullcontext({"sent": 0})
    with traffic as sent:
        faults.inject(live_stack, fault)
        try:
            result = dags_test(env)
        finally:
            # The last fault's heal waits for the latency window: the recovery run below reads MM2's latency.
            heal_s = faults.heal(live_stack, fault, latency=fault == MATRIX[-1][0])
    r = result.report
    assert r is not None, result.output[-6000:]
    first = r.get("diagnoses", [{}])[0]
    line = (f"fault matrix: {fault} | {r['verdict']} | first cause {first.get('cause_id')} | 1.2 decided "
            f"{r.get('replication_decided_s_after_production')} s after production | diagnosis "
            f"{r.get('diagnosis_seconds')} s | run {result.seconds:.0f} s | heal {heal_s:.0f} s"
            + (f" | {sent['sent']} records of other traffic through the task meanwhile" if sent["sent"] else ""))
    record_number(line)
    assert r["verdict"] == verdict, json.dumps(r["failed_checks"], indent=1)
    if fault in BUSY:  # decided by the stall rule on the test topic's own count, not by the 120 s timeout
        assert r["replication_outcome"] == "stalled", (r["replication_outcome"], sent)
    assert result.returncode != 0, "a NOGO/UNKNOWN run must end failed"
    assert first["cause_id"] == cause, json.dumps(r["diagnoses"], indent=1)
    assert r["diagnosis_seconds"] <= 15, r["diagnosis_seconds"]
    if fault == "target-quota":  # an artificial delay on MM2's producer: both latency measures move
        e2e, base = r["e2e_latency_ms"], r["baseline"]
        record_number(f"throttled chain: e2e (one clock) p50 {e2e['p50']} ms, p99 {e2e['p99']} ms, max {e2e['max']} "
                      f"ms over {e2e['count']} arrived; MM2's metric avg {base.get('latency_avg_ms')} ms, max "
                      f"{base.get('latency_max_ms')} ms")
        assert e2e["max"] is not None and e2e["max"] > r["settings"]["latency_max_max_ms"], e2e
        assert (base.get("latency_max_ms") or 0) > r["settings"]["latency_max_max_ms"], base
    outcome_after = r.get("replication_decided_s_after_production")
    if outcome_after is not None and r["replication_outcome"] in ("stalled", "no_data", "unavailable"):
        # the stall rule counts 30 s of the store's data past production end: a sample that far out is scraped
        # within one scrape interval and read at the sensor's next poke
        bound = r["settings"]["write_stall_timeout_s"] + live_stack.scrape_interval_s + r["settings"]["poke_interval_s"]
        assert outcome_after <= bound + 1, (outcome_after, bound)

    if fault != MATRIX[-1][0]:
        return  # healed: the stack's probe (connectors, remote topic, metric contract, latency window) passed
    # One full GO run after the last fault proves the chain recovers (CI's budget: not one after every fault).
    t0 = time.monotonic()
    again = dags_test(env)
    assert again.report is not None, again.output[-6000:]
    assert again.report["verdict"] == "GO", json.dumps(again.report["failed_checks"], indent=1)
    record_number(f"fault matrix: {fault} healed | recovery run GO in {time.monotonic() - t0:.0f} s")

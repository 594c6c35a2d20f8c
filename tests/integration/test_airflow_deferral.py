"""Step 1.2 and the failover check's wait deferred to the real triggerer under the real scheduler
(``defer_after_s=0``: both defer at once), and the run still ends GO with exact counts and READY.

By default the sensor answers in its worker when MM2 replicates within seconds, so this is the test that keeps
the deferred path (trigger serialization, the triggerer's event, ``execute_complete``) exercised end to end."""

from __future__ import annotations

import json
import time

import pytest

from mm2_smoke.report import safe_name
from mm2_stack.airflow_server import AirflowServer
from tests.support.airflow_api import AirflowApi

pytestmark = pytest.mark.integration

SENSOR = "step_1_2_replication.wait_for_replication"
FAILOVER = "failover_readiness.check"


def test_a_run_whose_replication_wait_is_deferred_ends_go(airflow_server: AirflowServer, airflow_api: AirflowApi,
                                                          record_number) -> None:
    server, api = airflow_server, airflow_api
    server.unpause()
    # defer_after_s=0 defers at once: the trigger makes the first check (a first check in the worker was met in CI
    # when the store had scraped the replicated counters before the sensor started, and the run never deferred).
    t0 = time.monotonic()
    run_id = api.trigger({"defer_after_s": 0, "failover_check": "on"})
    state = api.wait_for_run(run_id, timeout_s=600)
    seconds = time.monotonic() - t0
    events = [e for e in api.event_log(run_id) if e.get("task_id") == SENSOR]
    story = [f"try {e.get('try_number')}: {e.get('event')}" for e in events]
    sensor = next(t for t in api.task_instances(run_id) if t["task_id"] == SENSOR)
    report = json.loads((server.home / "reports" / f"{safe_name(run_id)}.json").read_text())
    record_number(f"run with step 1.2 deferred (defer_after_s=0): {state} in {seconds:.1f} s; sensor events {story}")
    assert state == "success" and report["verdict"] == "GO", (state, report["failed_checks"], story)
    assert any(e.get("event") == "deferred" for e in events), story  # it really went to the triggerer
    assert sensor["state"] == "success", (sensor, story)
    c = report["counts"]
    assert c["delivered"] == c["received"] == 100 and c["missing"] == 0 and c["duplicates"] == 0, c
    # The trigger decided (not a later poke in a worker): its log says so (in any try: a retry after Airflow's
    # resume-after-defer race may find replication done at its first check).
    log = "\n".join(api.task_log(run_id, SENSOR, n) for n in range(1, sensor["try_number"] + 1))
    assert "replication wait ended: met" in log, log[-3000:]
    # The failover check's wait for MM2's checkpoint went to the triggerer too, and the flow is READY.
    failover_events = [e.get("event") for e in api.event_log(run_id) if e.get("task_id") == FAILOVER]
    check = next(t for t in api.task_instances(run_id) if t["task_id"] == FAILOVER)
    readiness = report["failover"]["flows"][0]
    record_number(f"failover check deferred: {readiness['verdict']}, task events {failover_events}, would_reread "
                  f"{readiness['would_reread']}, checkpoint age {readiness['checkpoint_age_s']} s")
    assert check["state"] == "success" and "deferred" in failover_events, (check, failover_events)
    assert readiness["verdict"] == "READY" and readiness["would_lose"] == 0, readiness
    flog = "\n".join(api.task_log(run_id, FAILOVER, n, map_index=0) for n in range(1, check["try_number"] + 1))
    assert "deferring the wait to the triggerer" in flog, flog[-3000:]

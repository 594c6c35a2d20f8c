"""The DAG folder imports cleanly, without network or database, and follows the project's policy."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow_home")
    os.environ.setdefault("AIRFLOW_HOME", str(home))
    from airflow.dag_processing.dagbag import DagBag

    real_connect = socket.socket.connect
    attempts: list = []

    def no_network(self, address):  # the DAG file must not talk to anything at         attempts.append(address)
        raise OSError(f"network access at import time: {address}")

    socket.socket.connect = no_network
    try:
        bag = DagBag(dag_folder=str(REPO / "dags"))
    finally:
        socket.socket.connect = real_connect
    assert attempts == []
    return bag


def test_no_import_errors(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert "mm2_smoke_test" in dagbag.dags


def test_policy_tags_owner_retries_doc(dagbag) -> None:
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, dag_id
        assert dag.doc_md and "Phase 1" in dag.doc_md, dag_id
        assert dag.max_active_runs == 1 and dag.catchup is False, dag_id
        for task in dag.tasks:
            assert task.owner == "kafka-platform", task.task_id
            assert task.retries is not None, task.task_id
        assert dag.on_failure_callback, dag_id


def test_one_task_group_per_runbook_step_and_labelled_branch(dagbag) -> None:
    dag = dagbag.dags["mm2_smoke_test"]
    ids = set(dag.task_ids)
    for group in ("step_1_1_produce", "step_1_2_replication", "step_1_3_latency_baseline", "step_1_4_target_count"):
        assert any(t.startswith(group + ".") for t in ids), group
    assert {"checklist", "verdict", "go_for_phase_2", "nogo"} <= ids
    # A retry of 1.1 is safe: it tags its messages apart (<run id>#try2) and 1.4 counts one attempt only.
    assert dag.get_task("step_1_1_produce.produce").retries == 1
    assert dag.get_edge_info("verdict", "go_for_phase_2").get("label") == "GO"
    diagnostics = {t for t in ids if t.startswith("diagnose.")}
    assert diagnostics == {"diagnose.connector", "diagnose.writes", "diagnose.latency", "diagnose.target_topic",
                           "diagnose.metrics"}
    for t in diagnostics:
        assert dag.get_edge_info("verdict", t).get("label") == "NOGO"
        assert "nogo" in dag.get_task(t).downstream_task_ids
    # On GO every diagnostic is skipped: nogo must have no other upstream, or it would run.
    assert dag.get_task("nogo").upstream_task_ids == diagnostics


def test_params_validate_and_default_to_the_runbook(dagbag) -> None:
    params = dagbag.dags["mm2_smoke_test"].params
    assert params["num_messages"] == 100 and params["record_size_bytes"] == 1024
    assert params.get_param("num_messages").schema["minimum"] == 1
    with pytest.raises(Exception, match="0 is less than the minimum of 1"):
        params.get_param("num_messages").resolve(0)


def test_sensor_is_deferrable(dagbag) -> None:
    sensor = dagbag.dags["mm2_smoke_test"].get_task("step_1_2_replication.wait_for_replication")
    assert sensor.deferrable is True
    assert sensor.retries >= 1  # Airflow 3.3's resume-after-defer race (see ReplicationSensor)


def test_dag_file_import_time_is_printed(record_number) -> None:
    # A number for the closing note, not a timed assertion: the DAG file's own import cost, Airflow preloaded.
    code = ("import time, runpy, airflow.sdk, mm2_smoke.settings; t=time.perf_counter(); "
            f"runpy.run_path({str(REPO / 'dags' / 'mm2_smoke_test.py')!r}); "
            "print(f'{(time.perf_counter()-t)*1000:.0f}')")
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'plugins'}:{REPO / 'include'}"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    record_number(f"DAG file import time (Airflow preloaded): {out.stdout.strip()} ms")

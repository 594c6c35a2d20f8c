"""The DAG folder imports cleanly, without network or database, and follows the project's policy."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
DAG_FILE = REPO / "dags" / "mm2_smoke_test.py"


def load_without_network(dag_folder: Path) -> tuple[object, list]:
    """Parse a DAG folder as the dag-processor does, with every way out to the network replaced by a recorder
    that raises: ``(DagBag, the addresses the files tried to reach)``. A DAG file that catches the error is
    still caught by the record."""
    from airflow.dag_processing.dagbag import DagBag

    attempts: list = []

    def refuse(what: str):
        def blocked(*args, **_kw):
            attempts.append((what, args[1:] if what.startswith("socket.") else args))
            raise OSError(f"network access at DAG import time: {what}{args[1:]}")
        return blocked

    patched = {(socket.socket, "connect"): refuse("socket.connect"),
               (socket.socket, "connect_ex"): refuse("socket.connect_ex"),
               (socket.socket, "sendto"): refuse("socket.sendto"),
               (socket, "getaddrinfo"): refuse("getaddrinfo")}
    saved = {key: getattr(*key) for key in patched}
    for (owner, name), fake in patched.items():
        setattr(owner, name, fake)
    try:
        bag = DagBag(dag_folder=str(dag_folder))
    finally:
        for (owner, name), real in saved.items():
            setattr(owner, name, real)
    return bag, attempts


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow_home")
    os.environ.setdefault("AIRFLOW_HOME", str(home))
    bag, attempts = load_without_network(REPO / "dags")
    assert attempts == []
    return bag


def test_the_network_guard_catches_a_dag_file_that_touches_the_network(tmp_path, dagbag) -> None:
    # A scratch copy of the DAG whose import opens a socket and swallows the error: the guard must see it.
    folder = tmp_path / "dags"
    folder.mkdir()
    sneaky = ("\nimport socket\ntry:\n    socket.create_connection(('127.0.0.1', 9), timeout=1)\n"
              "except OSError:\n    pass\n")
    (folder / "mm2_smoke_test.py").write_text(DAG_FILE.read_text() + sneaky)
    bag, attempts = load_without_network(folder)
    assert bag.import_errors == {} and "mm2_smoke_test" in bag.dags  # the DAG itself still loads
    assert attempts, "a socket opened at import time went unnoticed"
    # And the real DAG file, loaded the same way, touched nothing.
    assert load_without_network(REPO / "dags")[1] == []


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
                           "diagnose.metrics", "diagnose.duplicates"}
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
            f"runpy.run_path({str(DAG_FILE)!r}); "
            "print(f'{(time.perf_counter()-t)*1000:.0f}')")
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'plugins'}:{REPO / 'include'}"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    record_number(f"DAG file import time (Airflow preloaded): {out.stdout.strip()} ms")

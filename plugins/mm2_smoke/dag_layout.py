"""The DAG's names, written once: its id, its task groups and tasks, its connections, its Asset.

The DAG file builds its tasks from these, and the code that pulls a task's XCom or reads a run (the checklist,
the demo, the tests) refers to them, so a rename is one edit; the links to a run (Airflow's page, the smoke-test
view) are built here too. Pure (Airflow's configuration is read, when it can be, for the links' base URL).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

DAG_ID = "mm2_smoke_test"

#: Airflow connections (see the README): Kafka clusters (type ``kafka``), HTTP services (type ``http``).
SOURCE_CONN = "kafka_source"
TARGET_CONN = "kafka_target"
PROMETHEUS_CONN = "prometheus"
CONNECT_CONN = "kafka_connect"
ALERT_CONN = "alert_webhook"
KAFKA_CONNS = (SOURCE_CONN, TARGET_CONN)
HTTP_CONNS = (PROMETHEUS_CONN, CONNECT_CONN)


def http_conns(mm2_mode: str | None) -> tuple[str, ...]:
    """The ``http`` connections a run needs: MM2 in dedicated mode has no Connect REST API (no ``kafka_connect``)."""
    return tuple(c for c in HTTP_CONNS if c != CONNECT_CONN or mm2_mode != "dedicated")

#: Where Airflow's API server mounts the smoke-test view (the plugin ``mm2_smoke_ui``).
VIEW_PREFIX = "/mm2-smoke"



def _base_url() -> str:
    """Airflow's ``[api] base_url`` (``http://localhost:8080`` when it is not set or cannot be read)."""
    try:
        from airflow.configuration import conf

        return (conf.get("api", "base_url", fallback="") or "http://localhost:8080").rstrip("/")
    except Exception:  # noqa: BLE001 - a link is a convenience, never a reason to lose the alert
        return "http://localhost:8080"


def run_url(dag_id: str, run_id: str) -> str:
    """The run's page in Airflow's UI."""
    return f"{_base_url()}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"


def view_url(dag_id: str, run_id: str) -> str:
    """The run's page of the smoke-test view: verdict, checklist, checks, counts, diagnoses."""
    return f"{_base_url()}{VIEW_PREFIX}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"


#: The Asset whose events carry each GO run's baseline (later-phase DAGs can be scheduled on it).
BASELINE_ASSET_NAME = "mm2_smoke_baseline"
BASELINE_ASSET_URI = "mm2-smoke://phase1/baseline"


@dataclass(frozen=True)
class TaskRef:
    """A task of the DAG: its group (None at the top level) and its name within the group."""

    group: str | None
    name: str

    @property
    def id(self) -> str:
        """The task id as Airflow knows it (``<group>.<name>``)."""
        return f"{self.group}.{self.name}" if self.group else self.name


STEP_1_1 = "step_1_1_produce"
STEP_1_2 = "step_1_2_replication"
STEP_1_3 = "step_1_3_latency_baseline"
STEP_1_4 = "step_1_4_target_count"
DIAGNOSE = "diagnose"

PREFLIGHT = TaskRef(None, "preflight")
#: The pre-flight's XComs: the settings every later task reads (profile resolved), and its report section.
PREFLIGHT_SETTINGS_KEY = "settings"
PREFLIGHT_REPORT_KEY = "preflight"
#: The pre-flight's XCom key of its Params and connections check (``preflight.Setup``).
PREFLIGHT_SETUP_KEY = "setup"
#: The pre-flight's XCom key for MM2's counters as they stood before production (when the run goes on).
COUNTERS_BEFORE_KEY = "counters_before"
#: The pre-flight's per-flow XCom: every selected flow's outcome (``topology.FlowOutcome.to_dict()``). Its return
#: value is the settings of the flows that produce: the steps are mapped over it (map index i is the i-th of them;
#: the counters before production are a list in that order).
FLOWS_KEY = "flows"
PRODUCE = TaskRef(STEP_1_1, "produce")
REPLICATION = TaskRef(STEP_1_2, "wait_for_replication")
LATENCY = TaskRef(STEP_1_3, "measure_latency")
COUNT = TaskRef(STEP_1_4, "count_on_target")
#: Failover readiness, after step 1.4, mapped over the flows like the steps (its XCom: one flow's readiness, the
#: ``failover.flows[]`` entry plus ``reasons``, ``group`` and ``seconds``; None when the check is off for the flow).
FAILOVER_GROUP = "failover_readiness"
FAILOVER = TaskRef(FAILOVER_GROUP, "check")
CHECKLIST = TaskRef(None, "checklist")
ROUTE = TaskRef(None, "verdict")
GO = TaskRef(None, "go_for_phase_2")
NOGO = TaskRef(None, "nogo")
#: The ``nogo`` task's XCom key of the final report (with the ranked diagnoses); the ``checklist`` task's report is
#: its return value. The Airflow view (``mm2_smoke_ui``) reads both.
NOGO_REPORT_KEY = "report"

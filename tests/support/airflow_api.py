"""The tests' client of Airflow's REST API v2, on the ``airflow standalone`` that ``make ui`` runs
(:class:`mm2_stack.airflow_server.AirflowServer`): trigger a run, wait for it, read its task instances, logs and event log.

Usage::

    with AirflowServer(config, home, free_port_block(TEST_UI_PORT)) as server:
        api = AirflowApi(server)
        server.unpause()
        run_id = api.trigger({"num_messages": 50})
        state = api.wait_for_run(run_id, timeout_s=600)  # 'success' or 'failed'
        tasks = api.task_instances(run_id)
"""

from __future__ import annotations

import time
import urllib.parse
from typing import Any

from mm2_stack.airflow_server import AirflowServer, port_free
from mm2_stack.config import StackError

TEST_UI_PORT = 18180  # + MM2_STACK_PORT_OFFSET: the tests' Airflow, beside a running `make ui` on 18080
TERMINAL_RUN_STATES = ("success", "failed")
JWT_COOKIE = "_token"  # the cookie the UI's login page sets and the API server reads
# The UI keeps the DAG page's view (grid or graph) in the browser's local storage under this key (JSON).
UI_VIEW_STORAGE_KEY = "default_dag_view"


def free_port_block(preferred: int, count: int = 3, tries: int = 20, step: int = 10) -> int:
    """``preferred`` if it and the ``count - 1`` next ports are free, else the first free block above it.

    :param preferred: the first port of the block wished for.
    :param count: ports in a block (default 3: the API server and the two log servers).
    :param tries: blocks tried (default 20).
    :param step: the distance between two blocks tried (default 10).
    :raises StackError: no free block found.
    """
    for i in range(tries):
        base = preferred + i * step
        if all(port_free(base + k) for k in range(count)):
            return base
    raise StackError("airflow", f"no free block of {count} ports from {preferred} (step {step}, {tries} tries): "
                     "stop the Airflow that holds them or set MM2_STACK_PORT_OFFSET")


class AirflowApi:
    """The REST API v2 calls of the tests, with the admin's JWT of ``server`` (:meth:`AirflowServer.api`).

    :param server: a started, ready ``airflow standalone``.
    """

    def __init__(self, server: AirflowServer) -> None:
        self.server = server

    def _run_path(self, run_id: str) -> str:
        return f"/api/v2/dags/{self.server.dag_id}/dagRuns/{urllib.parse.quote(run_id, safe='')}"

    def trigger(self, conf: dict[str, Any] | None = None) -> str:
        """``POST /api/v2/dags/{dag_id}/dagRuns`` (a manual run, no logical date); return its run id.

        :param conf: the run's Params (default ``{}``: every Param's default).
        """
        body = {"logical_date": None, "conf": conf or {}}
        return self.server.api("POST", f"/api/v2/dags/{self.server.dag_id}/dagRuns", body)["dag_run_id"]

    def dag_run(self, run_id: str) -> dict[str, Any]:
        """The run (``GET .../dagRuns/{run_id}``): state, conf, queued/start/end dates.

        :param run_id: the run's id.
        """
        return self.server.api("GET", self._run_path(run_id))

    def wait_for_run(self, run_id: str, timeout_s: float = 900, poll_s: float = 1.0) -> str:
        """Poll the run until it is ``success`` or ``failed``; return that state.

        :param run_id: the run's id.
        :param timeout_s: how long to wait, in seconds (default 900).
        :param poll_s: the poll interval, in seconds (default 1).
        :raises TimeoutError: still queued/running after ``timeout_s`` (with the task states).
        :raises StackError: ``airflow standalone`` exited meanwhile (with its log's tail).
        """
        deadline = time.monotonic() + timeout_s
        while True:
            state = self.dag_run(run_id)["state"]
            if state in TERMINAL_RUN_STATES:
                return state
            if time.monotonic() > deadline:
                states = {t["task_id"]: t["state"] for t in self.task_instances(run_id)}
                raise TimeoutError(f"run {run_id} still {state} after {timeout_s:.0f} s; tasks: {states}")
            if not self.server.alive():
                raise StackError("airflow", f"airflow standalone exited while run {run_id} was {state} "
                                 f"(log: {self.server.log_path})", self.server.log_tail())
            time.sleep(poll_s)  # poll interval

    def task_instances(self, run_id: str) -> list[dict[str, Any]]:
        """Every task instance of the run (``GET .../dagRuns/{run_id}/taskInstances``, all pages).

        :param run_id: the run's id.
        """
        out: list[dict[str, Any]] = []
        while True:
            body = self.server.api("GET", self._run_path(run_id) + "/taskInstances",
                                   params={"limit": 100, "offset": len(out)})
            out += body["task_instances"]
            if not body["task_instances"] or len(out) >= body["total_entries"]:
                return out

    def task_log(self, run_id: str, task_id: str, try_number: int = 1, map_index: int | None = None) -> str:
        """The task's log as text (timestamp, level and ``event`` of each structured line).

        :param run_id: the run's id.
        :param task_id: the task's id (``group.task`` in a task group).
        :param try_number: the try, from 1 (default 1).
        :param map_index: the instance of a mapped task (the steps are mapped over the flows); default: the task's
            first instance (-1 for a task that is not mapped).
        """
        if map_index is None:
            map_index = next((t.get("map_index", -1) for t in self.task_instances(run_id) if t["task_id"] == task_id),
                             -1)
        body = self.server.api("GET", self._run_path(run_id) + f"/taskInstances/{task_id}/logs/{try_number}",
                               params={"full_content": "true", "map_index": map_index})
        lines = []
        for item in body.get("content") or []:
            if isinstance(item, dict):
                lines.append(" ".join(str(item.get(k, "")) for k in ("timestamp", "level", "event")).strip())
            else:
                lines.append(str(item))
        return "\n".join(lines)

    def event_log(self, run_id: str, limit: int = 200) -> list[dict[str, Any]]:
        """The run's newest ``limit`` audit-log events (``GET /api/v2/eventLogs``), oldest first: state changes,
        and the scheduler's notes such as "state mismatch" that explain a task failed without a log of its own.

        :param run_id: the run's id.
        :param limit: how many events, at most (default 200).
        """
        body = self.server.api("GET", "/api/v2/eventLogs",
                               params={"dag_id": self.server.dag_id, "run_id": run_id, "limit": limit,
                                       "order_by": "-when"})
        return list(reversed(body.get("event_logs") or []))

    def run_url(self, run_id: str) -> str:
        """The run's page in the UI (grid or graph on the left, per the browser's saved view).

        :param run_id: the run's id.
        """
        return f"{self.server.dag_url()}/runs/{urllib.parse.quote(run_id, safe='')}"

    def login_cookies(self) -> dict[str, str]:
        """The cookie the UI's login page sets: opening UI pages with it skips the login form."""
        return {JWT_COOKIE: self.server.token()}


def replay_report(api: AirflowApi, report: dict[str, Any]) -> str:
    """A run of the (paused) DAG whose ``checklist`` (and, for a NOGO/UNKNOWN report with diagnoses, ``nogo``) XComs
    hold a stored report, ended in the report's state: a cheap history for the view's numbers (no Kafka, no task
    runs). Only Airflow's REST API v2 is used: trigger (the run stays queued while the DAG is paused), XCom entries,
    the run's state. Returns the new run's id (the report's ``run_id`` is set to it).

    :param report: a report as the checklist/nogo tasks store it.
    """
    run_id = api.trigger()
    replayed = {**report, "run_id": run_id}
    base = api._run_path(run_id) + "/taskInstances"
    api.server.api("POST", f"{base}/checklist/xcomEntries", {"key": "return_value", "value": replayed})
    if replayed.get("verdict") != "GO" and "diagnoses" in replayed:
        api.server.api("POST", f"{base}/nogo/xcomEntries", {"key": "report", "value": replayed})
    api.server.api("PATCH", api._run_path(run_id), {"state": "success" if replayed["verdict"] == "GO" else "failed"})
    return run_id

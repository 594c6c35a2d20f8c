"""Two runs of the DAG at once under the real scheduler (max_active_runs raised to 2): each counts only its own
messages, though both write to the same topic while MM2 copies them."""

from __future__ import annotations

import json
import time

import pytest

from mm2_smoke.report import safe_name
from mm2_stack.airflow_server import AirflowServer
from tests.support.airflow_api import AirflowApi

pytestmark = pytest.mark.integration


def test_two_overlapping_runs_each_count_only_their_own_messages(airflow_server: AirflowServer,
                                                                  airflow_api: AirflowApi, record_number) -> None:
    server, api = airflow_server, airflow_api
    assert server.dag()["max_active_runs"] == 2
    server.unpause()
    conf = {"num_messages": 120, "messages_per_second": 10}
    t0 = time.monotonic()
    first = api.trigger(conf)
    time.sleep(4)
    second = api.trigger(conf)
    states = {run_id: api.wait_for_run(run_id, timeout_s=600) for run_id in (first, second)}
    seconds = time.monotonic() - t0
    reports = {r: json.loads((server.home / "reports" / f"{safe_name(r)}.json").read_text()) for r in states}
    a, b = (api.dag_run(r) for r in (first, second))
    record_number(f"two overlapping runs: {states} in {seconds:.1f} s; foreign records seen: "
                  f"{[reports[r]['counts']['foreign'] for r in states]}")
    # They really overlapped: the second started producing before the first finished.
    assert b["start_date"] < a["end_date"], (a, b)
    for run_id, state in states.items():
        r = reports[run_id]
        assert state == "success" and r["verdict"] == "GO", (run_id, r["failed_checks"])
        c = r["counts"]
        assert c["delivered"] == c["received"] == 120 and c["missing"] == 0 and c["duplicates"] == 0, c
    # Each read the other's messages on the topic and did not count them: the second all of the first's (they
    # were produced before it counted), the first those the second had produced by then.
    assert reports[second]["counts"]["foreign"] >= 120, reports[second]["counts"]
    assert reports[first]["counts"]["foreign"] >= 1, reports[first]["counts"]

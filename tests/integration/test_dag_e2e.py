"""The DAG end to end on the real stack, run as `make demo` runs it (`airflow dags test`, SQLite)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mm2_stack import connect, faults, proc
from mm2_stack.airflow_run import airflow_env, dags_test

pytestmark = pytest.mark.integration


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def webhook():
    _Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], _Receiver.received
    server.shutdown()


def test_healthy_chain_gives_go_with_exact_counts_and_a_baseline_asset_event(live_stack, airflow_home,
                                                                            record_number) -> None:
    env = airflow_env(live_stack, airflow_home)
    result = dags_test(env)
    r = result.report
    assert r is not None, result.output[-5000:]
    record_number(f"GO run: trigger -> checklist {result.seconds:.1f} s (incl. Airflow start), 1.2 met "
                  f"{r['replication_decided_s_after_production']} s after production, baseline {r['baseline']}")
    assert r["verdict"] == "GO", json.dumps(r["failed_checks"], indent=1)
    assert result.returncode == 0, result.output[-3000:]
    c = r["counts"]
    assert c["produced"] == c["delivered"] == c["received"] == 100
    assert c["missing"] == 0 and c["duplicates"] == 0
    checks = {x["name"]: x for x in r["checks"]}
    assert checks["write_poll_ratio_pct"]["value"] > 99
    for name in ("replication_latency_avg_ms", "replication_latency_max_ms", "offset_commit_max_time_ms"):
        assert isinstance(checks[name]["value"], float), checks[name]
    assert isinstance(r["baseline"]["latency_avg_ms"], float)
    assert result.report_path.with_suffix(".md").read_text().count("| GO |") >= 5

    # The baseline as an Asset event, for later-phase DAGs.
    code = (
        "import json; from airflow.utils.session import create_session; "
        "from airflow.models.asset import AssetEvent, AssetModel; "
        "s = create_session().__enter__(); "
        "e = s.query(AssetEvent).join(AssetModel, AssetModel.id == AssetEvent.asset_id)"
        ".filter(AssetModel.name == 'mm2_smoke_baseline').order_by(AssetEvent.id.desc()).first(); "
        "print(json.dumps(e.extra if e else None))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    extra = json.loads(out.stdout.strip().splitlines()[-1])
    assert extra["run_id"] == r["run_id"] and extra["verdict"] == "GO"
    assert extra["latency_avg_ms"] == r["baseline"]["latency_avg_ms"]
    assert extra["write_poll_ratio_pct"] > 99


def test_paused_source_connector_gives_nogo_failed_run_and_an_alert(live_stack, airflow_home, webhook,
                                                                    record_number) -> None:
    port, received = webhook
    env = airflow_env(live_stack, airflow_home, extra={
        "AIRFLOW_CONN_ALERT_WEBHOOK": json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": port,
                                                  "schema": "http"})})
    name = live_stack.naming.connector_name("MirrorSourceConnector")
    status, body = connect.rest(live_stack, "PUT", connect.connector_path(name) + "/pause")
    assert status == 202, body
    try:
        proc.wait_until(live_stack, "connect", lambda: None if connect.rest(
            live_stack, "GET", connect.connector_path(name) + "/status")[1]["connector"]["state"] == "PAUSED"
            else "not paused yet", 30, "the connector to pause")
        result = dags_test(env)
    finally:
        connect.rest(live_stack, "PUT", connect.connector_path(name) + "/resume")
        # The paused run's messages replay now, with their age as latency: let MM2's window clear.
        faults.settle(live_stack)
    r = result.report
    assert r is not None, result.output[-5000:]
    record_number(f"paused-connector run: NOGO decided {r['replication_decided_s_after_production']} s after "
                  f"production ended; whole run {result.seconds:.1f} s")
    assert r["verdict"] == "NOGO"
    assert result.returncode != 0, "a NOGO run must end failed"
    assert r["replication_outcome"] == "stalled"
    assert r["replication_decided_s_after_production"] <= 30 + live_stack.scrape_interval_s
    failed = {c["name"]: c for c in r["failed_checks"]}
    assert failed["poll_total_increase"]["status"] == "NOGO"
    assert "poll_total" in failed["poll_total_increase"]["evidence"]
    assert failed["write_poll_ratio_pct"]["status"] == "NOGO"
    assert "write_total" in failed["write_poll_ratio_pct"]["evidence"]

    assert len(received) == 1, received
    alert = received[0]
    assert alert["verdict"] == "NOGO" and alert["run_id"] == r["run_id"]
    assert {c["name"] for c in alert["failed_checks"]} >= {"poll_total_increase", "write_poll_ratio_pct"}
    assert alert["text"].startswith("MM2 smoke test NOGO")
    assert r["run_id"].replace(":", "%3A").replace("+", "%2B") in alert["url"]


def test_variant_b_perf_test_gives_go(live_stack, airflow_home, record_number) -> None:
    env = airflow_env(live_stack, airflow_home)
    result = dags_test(env, conf={"producer_variant": "perf-test"})
    r = result.report
    assert r is not None, result.output[-5000:]
    record_number(f"perf-test variant run: {result.seconds:.1f} s, counts {r['counts']}")
    assert r["verdict"] == "GO", json.dumps(r["failed_checks"], indent=1)
    assert r["settings"]["producer_variant"] == "perf-test"
    assert r["counts"]["delivered"] == 100 and r["counts"]["received"] == 100 and r["counts"]["missing"] == 0

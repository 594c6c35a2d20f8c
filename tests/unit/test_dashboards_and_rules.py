"""Dashboards and alert rules come from the same catalog and thresholds as the DAG."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from mm2_smoke.dashboards import dashboards, panel_queries
from mm2_smoke.metrics import RUNBOOK, STRIMZI, Queries

REPO = Path(__file__).resolve().parents[2]
RUNBOOK_TITLES = {
    "mm2-replication": ["Total Records Polled", "Total Records Written", "Replication Ratio", "Topics Replicated",
                        "Avg Replication Latency", "Max Replication Latency"],
    "mm2-detailed-metrics": ["Active Records (Lag)", "Offset Commit Max Time"],
}


def test_committed_dashboards_are_the_generated_ones() -> None:
    for name, doc in dashboards("runbook").items():
        committed = json.loads((REPO / "include" / "grafana" / "dashboards" / f"{name}.json").read_text())
        assert committed == doc, f"{name}.json is stale: run `python -m mm2_smoke.dashboards`"


def test_panels_have_the_runbooks_titles_and_thresholds() -> None:
    docs = dashboards("runbook")
    for name, titles in RUNBOOK_TITLES.items():
        panel_titles = [p["title"] for p in docs[name]["panels"]]
        assert panel_titles[: len(titles)] == titles
    by_title = {p["title"]: p for d in docs.values() for p in d["panels"]}
    steps = by_title["Max Replication Latency"]["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps[-1] == {"color": "red", "value": 500.0}
    assert by_title["Replication Ratio"]["fieldConfig"]["defaults"]["thresholds"]["steps"][-1]["value"] == 99.0
    assert all(p["datasource"]["uid"] == "${datasource}" for p in by_title.values())


def test_panel_queries_use_the_dags_metric_names() -> None:
    q = Queries(RUNBOOK, remote_topic="t")
    replication = panel_queries(RUNBOOK)["mm2-replication"]
    assert replication["Total Records Polled"][0] == q.poll_total
    assert replication["Total Records Written"][0] == q.write_total
    strimzi = panel_queries(STRIMZI)["mm2-replication"]["Total Records Polled"][0]
    assert STRIMZI.poll_total in strimzi


def test_alert_rules_pass_promtool_and_use_catalog_names() -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: `make deps` installs Debian's prometheus (it ships promtool)"
    rules = REPO / "include" / "prometheus" / "rules" / "mm2-smoke-alerts.yml"
    done = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 4 rules found" in done.stdout
    text = rules.read_text()
    for name in (RUNBOOK.poll_total, RUNBOOK.write_total, RUNBOOK.active_count,
                 RUNBOOK.mirror("replication_latency_ms_max")):
        assert name in text

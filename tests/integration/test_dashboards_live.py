"""The dashboards' PromQL answers on the live Prometheus; every generated alert rule is loaded and evaluates; the
stalled-replication alert fires when MM2 stops."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request

import pytest

from mm2_smoke.alert_rules import GROUP, rules
from mm2_smoke.dashboards import dashboards
from mm2_stack import connect, faults
from mm2_stack.config import StackConfig
from mm2_stack.probe import send_probe

# Panels answer and an alert fires: no threshold on MM2's latency.
pytestmark = [pytest.mark.integration, pytest.mark.latency_insensitive]


def _get(config: StackConfig, path: str) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{config.ports.prometheus}{path}", timeout=10) as resp:
        return json.loads(resp.read())


def test_every_panel_query_answers_after_a_message(live_stack: StackConfig) -> None:
    send_probe(live_stack, timeout_s=60)
    empty: dict[str, str] = {}
    deadline = time.monotonic() + 60
    panels = [(d["title"], p["title"], p["targets"][0]["expr"]) for d in dashboards().values() for p in d["panels"]]
    while time.monotonic() < deadline:
        empty = {}
        for dash, title, expr in panels:
            body = _get(live_stack, "/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
            assert body["status"] == "success", (title, body)
            if not body["data"]["result"]:
                empty[f"{dash} / {title}"] = expr
        if not empty:
            return
        time.sleep(2)  # the next scrape
    pytest.fail(f"panels without data: {json.dumps(empty, indent=1)}")


def test_every_alert_rule_is_loaded_and_evaluates(live_stack: StackConfig) -> None:
    expected = {r.name for r in rules()}
    deadline = time.monotonic() + 30
    while True:
        groups = _get(live_stack, "/api/v1/rules?type=alert")["data"]["groups"]
        loaded = {r["name"]: r for g in groups if g["name"] == GROUP for r in g["rules"]}
        assert set(loaded) == expected, f"the local Prometheus loads {sorted(loaded)}, generated {sorted(expected)}"
        unevaluated = {n: r.get("lastError") or r["health"] for n, r in loaded.items() if r["health"] != "ok"}
        if not unevaluated:
            return
        assert time.monotonic() < deadline, f"alert rules not evaluated without error: {unevaluated}"
        time.sleep(1)  # the next rule evaluation


def test_stalled_replication_alert_fires_when_the_connector_is_paused(live_stack: StackConfig,
                                                                    record_number) -> None:
    rules = _get(live_stack, "/api/v1/rules")["data"]["groups"]
    assert any(r["name"] == "MM2ReplicationStalled" for g in rules for r in g["rules"]), rules
    name = live_stack.naming.connector_name("MirrorSourceConnector")
    status, body = connect.rest(live_stack, "PUT", connect.connector_path(name) + "/pause")
    assert status == 202, body
    t0 = time.monotonic()
    state, found_after = None, None
    try:
        while time.monotonic() - t0 < 90:
            alerts = _get(live_stack, "/api/v1/alerts")["data"]["alerts"]
            state = next((a["state"] for a in alerts if a["labels"]["alertname"] == "MM2ReplicationStalled"), None)
            if state in ("pending", "firing"):
                found_after = time.monotonic() - t0
                break
            time.sleep(1)
    finally:
        connect.rest(live_stack, "PUT", connect.connector_path(name) + "/resume")
        faults.settle(live_stack, latency=False)  # the replayed backlog leaves MM2's window while later tests run
    record_number(f"alert MM2ReplicationStalled {state} {found_after} s after pausing the source connector")
    assert state in ("pending", "firing")

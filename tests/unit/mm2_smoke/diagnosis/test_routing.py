"""Which diagnostics a failed run calls for: the symptoms its checks show, the tasks they route to."""

from __future__ import annotations

from mm2_smoke.diagnosis.base import (
    DUPLICATES_ON_TARGET,
    LATENCY_HIGH,
    METRICS_UNAVAILABLE,
    NOTHING_ON_TARGET,
    REPLICATION_STOPPED,
    WRITES_FAILING,
)
from mm2_smoke.diagnosis.routing import route, symptoms_from_checks
from tests.unit.mm2_smoke.diagnosis.conftest import check


def test_symptoms_follow_the_runbook_table() -> None:
    assert symptoms_from_checks([check("poll_total_increase", "NOGO", 0)]) == [REPLICATION_STOPPED]
    assert symptoms_from_checks([check("poll_total_increase", "GO", 100),
                                 check("write_poll_ratio_pct", "NOGO", 0.0)]) == [WRITES_FAILING]
    assert symptoms_from_checks([check("replication_latency_max_ms", "NOGO", 900.0, "1.3")]) == [LATENCY_HIGH]
    zero = check("messages_on_target", "NOGO", 0, "1.4")
    assert NOTHING_ON_TARGET in symptoms_from_checks([zero])
    unknown = check("replication_latency_avg_ms", "UNKNOWN", None, "1.3")
    assert symptoms_from_checks([unknown]) == [METRICS_UNAVAILABLE]


def test_a_pre_flight_that_could_not_inspect_the_connector_routes_to_the_connector_diagnosis() -> None:
    contract = {"step": "pre", "name": "metric_contract", "status": "UNKNOWN", "gap": "no_data", "reason": "x"}
    rest = {"step": "pre", "name": "connector", "status": "UNKNOWN", "gap": "no_data", "reason": "HTTP 401"}
    assert symptoms_from_checks([contract, rest]) == [REPLICATION_STOPPED, METRICS_UNAVAILABLE]
    assert symptoms_from_checks([contract, {**rest, "status": "GO"}]) == [METRICS_UNAVAILABLE]


def test_a_silent_cluster_in_the_pre_flight_routes_to_the_connector_diagnostic() -> None:
    checks = [{"step": "pre", "name": "metric_contract", "status": "UNKNOWN"},
              {"step": "pre", "name": "target_cluster", "status": "UNKNOWN"}]
    assert symptoms_from_checks(checks) == [REPLICATION_STOPPED, METRICS_UNAVAILABLE]


def test_duplicates_routes_to_its_own_diagnostic() -> None:
    checks = [check("messages_on_target", "GO", 100, "1.4"), check("duplicates_on_target", "NOGO", 7, "1.4")]
    assert symptoms_from_checks(checks) == [DUPLICATES_ON_TARGET]
    assert route({"checks": checks}, "diagnose") == ["diagnose.duplicates"]
    assert symptoms_from_checks([check("duplicates_on_target", "GO", 0, "1.4")]) == []

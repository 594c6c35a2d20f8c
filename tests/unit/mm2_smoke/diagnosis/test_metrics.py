"""Each metrics rule on answers recorded from the live stack
(UNKNOWN, could not measure: Prometheus)."""

from __future__ import annotations

from mm2_smoke.diagnosis.base import METRICS, NO_CAUSE_FOUND, rank
from mm2_smoke.diagnosis.metrics import MetricsFacts, diagnose_metrics
from mm2_smoke.measured import HttpAnswer
from tests.unit.mm2_smoke.diagnosis.conftest import first


def test_prometheus_down() -> None:
    f = MetricsFacts(HttpAnswer(None, error="Prometheus unreachable: connection refused"), [])
    assert first(diagnose_metrics(f)).cause_id == METRICS


def test_scrape_target_down_and_wrong_profile() -> None:
    targets = [{"scrapeUrl": "http://127.0.0.1:19404/metrics", "health": "down", "lastError": "connection refused"}]
    f = MetricsFacts(HttpAnswer(200, {}), targets, False, "metric_profile='strimzi': 5 of its 5 contract series "
                     "do not answer")
    ds = rank(diagnose_metrics(f))
    assert ds[0].cause_id == METRICS and "scrape target is down" in ds[0].cause
    summary = "metric_profile='strimzi': ... The 'runbook' profile's series answer: set metric_profile=runbook (or auto)."
    wrong = MetricsFacts(HttpAnswer(200, {}), [{"health": "up"}], False, summary)
    [d] = diagnose_metrics(wrong)
    assert "do not answer fresh" in d.cause and d.evidence == summary
    [ok] = diagnose_metrics(MetricsFacts(HttpAnswer(200, {}), [{"health": "up"}], True, "ok"))
    assert ok.cause_id == NO_CAUSE_FOUND and "1 scrape target(s), all up" in ok.evidence

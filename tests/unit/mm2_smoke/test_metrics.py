from __future__ import annotations

import pytest

from mm2_smoke.metrics import (
    DEFAULT_CONNECTOR_REGEX,
    RUNBOOK,
    STRIMZI,
    Queries,
    UnknownProfileError,
    duration,
    number,
    profile,
)
from mm2_smoke.settings import SmokeSettings


def test_runbook_profile_gives_the_runbook_queries_verbatim() -> None:
    q = Queries(RUNBOOK, remote_topic="source.test-prometheus.generated-data-01.json")
    assert q.poll_total == (
        'sum(kafka_connect_source_task_metrics_source_record_poll_total{connector=~".*MirrorSourceConnector.*"})'
    )
    assert q.write_total == (
        'sum(kafka_connect_source_task_metrics_source_record_write_total{connector=~".*MirrorSourceConnector.*"})'
    )
    assert q.latency_max_ms == (
        'max(kafka_connect_mirror_source_connector_replication_latency_ms_max'
        '{topic="source.test-prometheus.generated-data-01.json"})'
    )


def test_strimzi_profile_drops_metrics_from_task_names() -> None:
    q = Queries(STRIMZI, remote_topic="t")
    assert q.poll_total.startswith("sum(kafka_connect_source_task_source_record_poll_total{")
    assert "kafka_connect_connector_task_offset_commit_max_time_ms" in q.offset_commit_max_ms
    assert "kafka_connect_connector_status{" in q.replication_stalled(120)


def test_label_values_are_escaped() -> None:
    q = Queries(RUNBOOK, remote_topic='a"b\\c', connector_regex='x"y')
    assert '{topic="a\\"b\\\\c"}' in q.topic_record_count
    assert '{connector=~"x\\"y"}' in q.poll_total
    assert '{client_id=~"x\\"y"}' in q.mm2_producer_throttle_ms
    assert '{connector=~"x\\"y",status!="running"}' in q.replication_stalled(120)


def test_every_measurement_has_a_query() -> None:
    names = set(Queries(RUNBOOK, remote_topic="t").all())
    assert names == {"poll_total", "write_total", "topic_record_count", "topics_replicated", "latency_avg_ms",
                     "latency_max_ms", "active_count", "offset_commit_max_ms"}


def test_dashboard_and_alert_expressions_reuse_the_dags_selectors() -> None:
    q = Queries(RUNBOOK, remote_topic="t", connector_regex="c")
    selectors = q.counter_series()
    assert q.replication_ratio_pct() == f"100 * {q.write_total} / {q.poll_total}"
    assert q.replication_ratio_pct(300) == (f"100 * sum(rate({selectors['write_total']}[5m])) "
                                            f"/ sum(rate({selectors['poll_total']}[5m]))")
    assert q.poll_rate(60) == f"sum(rate({selectors['poll_total']}[1m]))"
    assert q.active_count in q.lag_growing(100, 300, 30)
    # The throttle selector is the connector selector, as in the DAG's latency diagnostic.
    assert q.mm2_producer_throttle_ms == 'max(kafka_producer_produce_throttle_time_max{client_id=~"c"})'


def test_alert_conditions_carry_their_thresholds_unrounded() -> None:
    q = Queries(RUNBOOK, remote_topic="t")
    assert q.replication_ratio_below(99.0, 300).endswith(" < 99")
    assert q.replication_ratio_below(99.123456789, 300).endswith(" < 99.123456789")
    assert q.latency_max_above(500.0) == f"{q.latency_max_ms_by_topic} > 500"
    assert q.lag_growing(100.0, 300, 30).endswith(f"deriv({q.active_count}[5m:30s]) > 0")


@pytest.mark.parametrize(("seconds", "text"), [(30, "30s"), (60, "1m"), (120, "2m"), (90, "90s"), (7200, "2h")])
def test_durations_use_the_largest_whole_unit(seconds: int, text: str) -> None:
    assert duration(seconds) == text


@pytest.mark.parametrize(("value", "text"), [(99.0, "99"), (99.5, "99.5"), (0.0, "0"), (1e12, "1000000000000")])
def test_numbers_print_whole_values_without_a_decimal_point(value: float, text: str) -> None:
    assert number(value) == text


def test_the_settings_default_connector_selector_is_the_catalogs() -> None:
    # settings.py writes the Param's default itself: this pins it to the catalog's.
    assert SmokeSettings().connector_regex == DEFAULT_CONNECTOR_REGEX


def test_unknown_profile_names_the_choices() -> None:
    assert profile("strimzi") is STRIMZI
    with pytest.raises(UnknownProfileError, match="'grafana' is unknown: use one of runbook, strimzi, kafka-new, auto"):
        profile("grafana")

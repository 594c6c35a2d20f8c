from __future__ import annotations

import pytest

from mm2_smoke.metrics import RUNBOOK, STRIMZI, Queries, UnknownProfileError, profile


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


def test_label_values_are_escaped() -> None:
    q = Queries(RUNBOOK, remote_topic='a"b\\c', connector_regex='x"y')
    assert '{topic="a\\"b\\\\c"}' in q.topic_record_count
    assert '{connector=~"x\\"y"}' in q.poll_total


def test_every_measurement_has_a_query() -> None:
    names = set(Queries(RUNBOOK, remote_topic="t").all())
    assert names == {"poll_total", "write_total", "topic_record_count", "topics_replicated", "latency_avg_ms",
                     "latency_max_ms", "active_count", "offset_commit_max_ms"}


def test_unknown_profile_names_the_choices() -> None:
    assert profile("strimzi") is STRIMZI
    with pytest.raises(UnknownProfileError, match="'grafana' is unknown: use one of runbook, strimzi"):
        profile("grafana")

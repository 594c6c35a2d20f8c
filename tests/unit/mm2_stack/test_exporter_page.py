"""Reading a series off the JMX exporter's page (the stack's warm-up reads MM2's latency window there, live)."""

from __future__ import annotations

import math

from mm2_stack.exposition import parse, select


def page_values(page: str, selector: str) -> list[float]:
    """What the stack's warm-up reads off the exporter's page (``connect.exporter_values``)."""
    return [s.value for s in select(parse(page), selector)]

PAGE = """\
# HELP kafka_connect_mirror_source_connector_replication_latency_ms_max max latency
# TYPE kafka_connect_mirror_source_connector_replication_latency_ms_max gauge
kafka_connect_mirror_source_connector_replication_latency_ms_max{partition="0",source="source",target="target",topic="source.t1",} 812.0
kafka_connect_mirror_source_connector_replication_latency_ms_max{partition="1",source="source",target="target",topic="source.t1",} NaN
kafka_connect_mirror_source_connector_replication_latency_ms_max{partition="0",source="source",target="target",topic="source.t2",} 12.0
kafka_connect_mirror_source_connector_replication_latency_ms_max_other{topic="source.t1",} 99.0
kafka_connect_plugins_replication_latency_ms_max{connector="MirrorSourceConnector",task="0",topic="source.t1",} 5.0
jvm_threads_current 42.0
"""

NAME = "kafka_connect_mirror_source_connector_replication_latency_ms_max"


def test_equality_matcher_selects_the_topics_partitions_only() -> None:
    values = page_values(PAGE, NAME + '{topic="source.t1"}')
    assert values[0] == 812.0 and math.isnan(values[1]) and len(values) == 2


def test_regex_and_negative_matchers_are_anchored_like_promql() -> None:
    assert page_values(PAGE, NAME + '{topic=~"source.t.*",partition!="1"}') == [812.0, 12.0]
    assert page_values(PAGE, NAME + '{topic=~"t1"}') == []  # anchored: no partial match
    assert page_values(PAGE, NAME + '{topic!~"source.t1"}') == [12.0]
    assert page_values(PAGE, 'kafka_connect_plugins_replication_latency_ms_max{connector=~".*MirrorSourceConnector.*",'
                             'topic="source.t1"}') == [5.0]


def test_a_bare_name_selects_every_series_and_a_missing_name_none() -> None:
    assert page_values(PAGE, "jvm_threads_current") == [42.0]
    assert page_values(PAGE, NAME + '{topic="source.t3"}') == []
    assert page_values("", NAME) == []

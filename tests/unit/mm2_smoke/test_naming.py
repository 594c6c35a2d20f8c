from __future__ import annotations

import re

import pytest

from mm2_smoke.naming import TopicNameError, TopicNaming


def test_defaults_follow_the_runbook() -> None:
    naming = TopicNaming()
    topic = naming.source_topic(1)
    assert topic == "test-prometheus.generated-data-01.json"
    assert naming.remote_topic(topic) == "source.test-prometheus.generated-data-01.json"
    assert naming.remote_prefix == "source.test-prometheus"
    assert naming.connector_name("MirrorSourceConnector") == "source->target.MirrorSourceConnector"


def test_topics_regex_selects_test_topics_only() -> None:
    regex = re.compile(TopicNaming().topics_regex)
    assert regex.fullmatch("test-prometheus.generated-data-07.json")
    assert not regex.fullmatch("test-prometheusX.generated-data-01.json")
    assert not regex.fullmatch("heartbeats")


def test_custom_alias_and_separator() -> None:
    naming = TopicNaming(prefix="smoke", source_alias="paris", separator="_")
    assert naming.remote_topic(naming.source_topic(12)) == "paris_smoke.generated-data-12.json"


@pytest.mark.parametrize("field", ["prefix", "source_alias", "target_alias", "separator"])
@pytest.mark.parametrize("bad", ["", "has space", "slash/", "é"])
def test_illegal_names_are_refused_with_the_field_named(field: str, bad: str) -> None:
    with pytest.raises(TopicNameError, match=f"^{field}="):
        TopicNaming(**{field: bad})


@pytest.mark.parametrize("index", [0, 100, -1])
def test_topic_index_out_of_range(index: int) -> None:
    with pytest.raises(TopicNameError, match="use 1 to 99"):
        TopicNaming().source_topic(index)

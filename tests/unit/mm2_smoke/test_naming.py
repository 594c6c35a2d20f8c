from __future__ import annotations

import re

import pytest

from mm2_smoke.chain import ChainState
from mm2_smoke.measured import HttpAnswer
from mm2_smoke.naming import TopicNameError, TopicNaming
from mm2_smoke.preflight import resolve_naming
from mm2_smoke.settings import SmokeSettings


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


def test_identity_policy_keeps_the_topics_own_name() -> None:
    naming = TopicNaming(source_alias="paris", separator="_", policy="identity")
    assert naming.remote_topic(naming.source_topic(1)) == "test-prometheus.generated-data-01.json"
    assert naming.remote_prefix == "test-prometheus"


def _state(config: HttpAnswer | None) -> ChainState:
    return ChainState("source->target.MirrorSourceConnector", HttpAnswer(200, {"connector": {"state": "RUNNING"}}),
                      config)


@pytest.mark.parametrize(("config", "remote", "policy"), [
    ({}, "source.test-prometheus.generated-data-01.json", "default"),
    ({"replication.policy.separator": "_"}, "source_test-prometheus.generated-data-01.json", "default:_"),
    ({"replication.policy.class": "org.apache.kafka.connect.mirror.IdentityReplicationPolicy"},
     "test-prometheus.generated-data-01.json", "identity"),
])
def test_auto_reads_the_remote_topics_naming_from_the_connectors_config(config: dict, remote: str, policy: str
                                                                        ) -> None:
    resolved, finding = resolve_naming(SmokeSettings(), _state(HttpAnswer(200, config)))
    assert resolved.remote_topic == remote and resolved.replication_policy != "auto"
    assert finding is not None and finding.check == "replication_policy" and finding.value == policy
    assert remote in finding.message and not finding.certain
    assert SmokeSettings(**resolved.to_dict()).remote_topic == remote  # what later tasks rebuild from the XCom


@pytest.mark.parametrize("config", [None, HttpAnswer(None, error="down"), HttpAnswer(404, {"error_code": 404})])
def test_auto_without_the_config_reads_as_the_default_policy_with_the_separator_param(config: HttpAnswer | None
                                                                                      ) -> None:
    settings = SmokeSettings(replication_separator="_")
    resolved, finding = resolve_naming(settings, _state(config))
    assert finding is None and resolved == settings
    assert resolved.remote_topic == "source_test-prometheus.generated-data-01.json"


def test_an_explicit_policy_param_names_the_remote_topic() -> None:
    assert SmokeSettings(replication_policy="identity").remote_topic == "test-prometheus.generated-data-01.json"
    assert SmokeSettings(replication_policy="default").remote_topic == "source.test-prometheus.generated-data-01.json"


def test_a_prefix_whose_longest_remote_topic_name_exceeds_kafkas_249_characters_is_a_param_error() -> None:
    from mm2_smoke.errors import SettingsError
    from mm2_smoke.naming import MAX_TOPIC_NAME_LENGTH, check_topic_name_length, longest_topic_name

    assert longest_topic_name("p", "source", ".") == "source.p.generated-data-99.json"
    assert longest_topic_name("p", "source", ".", "identity") == "p.generated-data-99.json"
    fixed = len("source." + ".generated-data-99.json")
    fits = "x" * (MAX_TOPIC_NAME_LENGTH - fixed)
    check_topic_name_length(fits)  # exactly 249: accepted
    assert len(longest_topic_name(fits)) == MAX_TOPIC_NAME_LENGTH
    with pytest.raises(SettingsError) as refused:
        check_topic_name_length(fits + "x")
    assert refused.value.field == "topic_prefix"
    assert str(refused.value).startswith("topic_prefix='x")
    assert "250 characters long, over Kafka's 249" in str(refused.value)
    assert f"shorten topic_prefix to at most {len(fits)} characters" in str(refused.value)
    check_topic_name_length(fits + "x" * len("source."), policy="identity")  # identity: no alias in the name
    check_topic_name_length(fits[:-4], source_alias="paris", separator="_", policy="auto")
    with pytest.raises(SettingsError, match="shorten source_alias or replication_separator"):
        check_topic_name_length("p", source_alias="a" * 240)

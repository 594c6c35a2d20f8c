"""Our exporter rules: the kafka-new file is the runbook's plus the new MBeans' rules; each rules file exports the
names of its profile (checked against the patterns, on MBean strings recorded from Kafka 3.9.1 and 4.3.1)."""

from __future__ import annotations

import re

import pytest
import yaml

from mm2_smoke.metrics import KAFKA_NEW, RUNBOOK, STRIMZI
from mm2_stack.config import METRICS_RULES, PACKAGE_DIR
from mm2_stack.exporter_rules import ANCHOR, kafka_new

RULES = PACKAGE_DIR.parent / "prometheus"


def rules_of(profile: str) -> list[dict]:
    return yaml.safe_load((RULES / METRICS_RULES[profile]).read_text())["rules"]


def first_match(rules: list[dict], mbean: str) -> tuple[dict, re.Match] | None:
    """jmx_exporter's semantics: the first rule whose pattern (unanchored: ^.*(?:p).*$) matches wins."""
    for rule in rules:
        m = re.match(rf"^.*(?:{rule['pattern']}).*$", mbean)
        if m:
            return rule, m
    return None


def name_of(rules: list[dict], mbean: str) -> str | None:
    found = first_match(rules, mbean)
    if found is None:
        return None
    rule, m = found
    name = re.sub(r"\$(\d)", lambda g: m.group(int(g.group(1))) or "", rule["name"])
    return re.sub(r"_+", "_", re.sub(r"[^a-zA-Z0-9:_]", "_", name)).lower()


SOURCE_TASK = 'kafka.connect<type=source-task-metrics, connector="source->target.MirrorSourceConnector", task=0><>'
MIRROR_4 = "kafka.connect.mirror<type=MirrorSourceConnector, source=source, target=target, topic=source.t, partition=0><>"
MIRROR_39 = "kafka.connect.mirror<type=MirrorSourceConnector, target=target, topic=source.t, partition=0><>"
PLUGINS = ('kafka.connect<type=plugins, connector="source->target.MirrorSourceConnector", task=0, source=source, '
           "target=target, topic=source.t, partition=0><>")


@pytest.mark.parametrize(("profile", "mirror"), [(RUNBOOK, MIRROR_4), (RUNBOOK, MIRROR_39), (STRIMZI, MIRROR_4),
                                                 (KAFKA_NEW, PLUGINS)])
def test_each_rules_file_exports_its_profiles_names(profile, mirror) -> None:
    rules = rules_of(profile.name)
    assert name_of(rules, SOURCE_TASK + "source-record-poll-total: 5.0") == profile.poll_total.name
    assert name_of(rules, SOURCE_TASK + "source-record-write-total: 5.0") == profile.write_total.name
    assert name_of(rules, SOURCE_TASK + "source-record-active-count: 0.0") == profile.active_count.name
    assert name_of(rules, mirror + "record-count: 3.0") == profile.mirror("record_count")
    assert name_of(rules, mirror + "replication-latency-ms-max: 3.0") == profile.mirror("replication_latency_ms_max")


def test_strimzis_names_collide_on_the_active_count_as_strimzis_rules_do() -> None:
    rules = rules_of("strimzi")
    names = {name_of(rules, SOURCE_TASK + f"source-record-active-count{s}: 1.0") for s in ("", "-avg", "-max")}
    assert names == {STRIMZI.active_count.name}  # one name: jmx_exporter adds _objectname, the profile picks one


def test_strimzis_rules_need_the_source_tag_like_strimzis() -> None:
    assert name_of(rules_of("strimzi"), MIRROR_39 + "record-count: 3.0") is None


def test_kafka_new_is_the_runbooks_rules_plus_the_new_mbeans() -> None:
    runbook_text = (RULES / METRICS_RULES["runbook"]).read_text()
    generated = kafka_new(runbook_text)
    assert generated == (RULES / METRICS_RULES["kafka-new"]).read_text(), "stale: run `make generate`"
    assert len(yaml.safe_load(generated)["rules"]) == len(yaml.safe_load(runbook_text)["rules"]) + 2
    with pytest.raises(ValueError, match="update exporter_rules.ANCHOR"):
        kafka_new(runbook_text.replace(ANCHOR, "  # moved"))

"""Each metric profile's queries on the /metrics pages recorded from each exporter variant (tests/data/metrics):
the profile that fits a page answers every query with one value; Strimzi's collision is resolved to the current
active count; the other profiles answer nothing (so auto-detection can tell them apart)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mm2_smoke.metrics import KAFKA_NEW, PROFILES, RUNBOOK, STRIMZI
from mm2_smoke.settings import SmokeSettings
from mm2_stack.exposition import evaluate, parse, select

DATA = Path(__file__).resolve().parents[2] / "data" / "metrics"
S = SmokeSettings()
# Recorded page -> the profile that fits it.
PAGES = {"runbook-kafka-4.1.1.prom": RUNBOOK, "runbook-kafka-3.9.1.prom": RUNBOOK,
         "strimzi-compatible-kafka-4.1.1.prom": STRIMZI, "strimzi-published-kafka-4.1.1.prom": STRIMZI,
         "kafka-new-kafka-4.3.1.prom": KAFKA_NEW}


def page(name: str):
    return parse((DATA / name).read_text())


@pytest.mark.parametrize("name", list(PAGES))
def test_the_fitting_profile_answers_every_query_with_one_value(name: str) -> None:
    samples, q = page(name), S.queries_for(PAGES[name].name)
    for measurement, selector in {**q.contract(), **q.contract_later(), **q.counter_series()}.items():
        assert select(samples, selector), f"{name}: {measurement} {selector} matches nothing"
    for measurement, query in q.all().items():
        answer = evaluate(samples, query)
        assert list(answer) == [""], f"{name}: {measurement} {query} -> {answer}"
    assert evaluate(samples, q.topic_record_count)[""] >= 1  # the probe's record
    assert evaluate(samples, q.topics_replicated)[""] == 1


@pytest.mark.parametrize("name", list(PAGES))
def test_the_other_profiles_task_series_answer_nothing(name: str) -> None:
    samples = page(name)
    for other in PROFILES.values():
        if other.poll_total.name != PAGES[name].poll_total.name:
            assert not select(samples, S.queries_for(other.name).contract()["poll_total"]), other.name


@pytest.mark.parametrize("name", ["strimzi-compatible-kafka-4.1.1.prom", "strimzi-published-kafka-4.1.1.prom"])
def test_strimzis_active_count_is_the_current_value_not_the_sum_of_three(name: str) -> None:
    samples = page(name)
    task = S.queries_for("strimzi").gauge_series()["active_count"]
    naive = STRIMZI.active_count.name + '{connector=~".*MirrorSourceConnector.*"}'
    assert len(select(samples, naive)) == 3  # current, -avg and -max collide in one name
    assert [s.labels["_objectname"].rsplit(">", 1)[1] for s in select(samples, task)] == ["source-record-active-count"]
    idle = evaluate(samples, S.queries_for("strimzi").active_count)[""]
    assert idle == 0.0 and evaluate(samples, f"sum({naive})")[""] > idle


def test_kafka_new_reads_the_source_connector_only() -> None:
    samples = page("kafka-new-kafka-4.3.1.prom")
    selector = S.queries_for("kafka-new").counter_series()["topic_record_count"]
    assert {s.labels["connector"] for s in select(samples, selector)} == {"source->target.MirrorSourceConnector"}


def test_strimzi_rules_on_kafka_3_9_export_no_per_topic_series() -> None:
    samples, q = page("strimzi-compatible-kafka-3.9.1.prom"), S.queries_for("strimzi")
    assert select(samples, q.contract()["poll_total"])
    assert not select(samples, q.contract()["record_count"])

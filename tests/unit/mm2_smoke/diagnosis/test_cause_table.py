"""Causes as data: every cause id has its component and class, every row's words resolve, a diagnosis gets its
component, class, fix and score from its row, and certain causes rank before the others."""

from __future__ import annotations

import pytest

from mm2_smoke import traces
from mm2_smoke.diagnosis import base
from mm2_smoke.diagnosis.base import (
    CAUSES,
    CLASSES,
    COMPONENTS,
    METRICS,
    METRICS_STORE,
    METRICS_UNAVAILABLE,
    MISCONFIGURATION,
    NO_CAUSE_FOUND,
    REPLICATION_STOPPED,
    TASK_ERROR,
    Diagnosis,
    as_diagnosis,
    cause_of,
    describe,
    diagnosis,
    no_cause_found,
    rank,
)

#: Every cause id the package declares (module constants named like causes, read from the module).
CAUSE_IDS = sorted({v for k, v in vars(base).items() if k.isupper() and isinstance(v, str)
                    and v in {c.cause_id for c in CAUSES}})


def test_every_declared_cause_id_has_a_row_and_every_row_resolves() -> None:
    declared = {"WORKER_DOWN", "TOPICS_CONFIG", "SOURCE_TOPIC", "ACL_ON_TARGET", "ACL_ON_SOURCE",
                "MM2_CLUSTER_UNREACHABLE", "CLUSTER_UNRESPONSIVE", "TASK_ERROR", "THROTTLING", "SLOW_NETWORK",
                "TOPIC_NOT_CREATED", "METRICS", "DIAGNOSTIC_FAILED", "NO_CAUSE_FOUND", "SMOKE_SETUP",
                "DUPLICATES_AT_SOURCE", "DUPLICATES_BY_MM2", "DUPLICATES_ON_TARGET_WRITER", "DUPLICATES",
                "AUTH_ON_SOURCE", "AUTH_ON_TARGET", "MM2_AUTHENTICATION", "LIMIT_ON_SOURCE", "LIMIT_ON_TARGET",
                "CLIENT_CONFIG_ON_SOURCE", "CLIENT_CONFIG_ON_TARGET", "NO_TASKS", "WORKER_HUNG", "CATCHING_UP"}
    ids = {c.cause_id for c in CAUSES}
    missing = [name for name in declared if getattr(base, name) not in ids]
    assert missing == []
    for row in CAUSES:
        assert row.component in COMPONENTS and row.cause_class in CLASSES, row
        assert row.fix.format(connector="c", principal="p") and "{" not in row.fix.format(connector="c",
                                                                                          principal="p"), row
        assert 0 <= row.score <= 100


def test_the_classes_and_components_the_issue_names_are_rows() -> None:
    assert {"source_cluster", "target_cluster", "mm2_source_client", "mm2_target_client", "connect_worker",
            "connector", "metrics_store", "smoke_config"} <= set(COMPONENTS)
    assert {"down", "hung", "unreachable_address", "authentication", "authorization", "resource_limit",
            "misconfiguration", "catching_up", "not_inspected"} <= set(CLASSES)
    assert not CLASSES["catching_up"][1] and not CLASSES["not_inspected"][1] and CLASSES["hung"][1]
    assert not COMPONENTS["metrics_store"][1] and not COMPONENTS["smoke_config"][1] and COMPONENTS["connector"][1]


def test_every_trace_failure_reads_as_a_cause_class() -> None:
    failures = {failure for _name, failure in traces.CLASSES}
    assert set(traces.CAUSE_CLASSES) <= failures
    for failure in failures:
        read = traces.TraceCause((traces.Raised("x.Y", "", failure),), traces.Raised("x.Y", "", failure))
        assert read.cause_class in CLASSES, failure
    assert traces.read_trace("java.lang.IllegalStateException: odd").cause_class == "failed"


@pytest.mark.parametrize("cause_id", CAUSE_IDS)
def test_a_diagnosis_without_component_gets_its_ids_default(cause_id: str) -> None:
    d = Diagnosis("s", cause_id, "c", "e", "a", 50)
    first_row = next(c for c in CAUSES if c.cause_id == cause_id)
    assert (d.component, d.cause_class) == (first_row.component, first_row.cause_class)


def test_old_dicts_and_new_ones_read_back_alike() -> None:
    old = {"symptom": "s", "cause_id": "acl_on_target", "cause": "c", "evidence": "e", "action": "a", "score": 92}
    d = as_diagnosis(old)
    assert (d.component, d.cause_class) == ("mm2_target_client", "authorization")
    assert as_diagnosis(d.to_dict()) == d and d.to_dict()["component"] == "mm2_target_client"
    assert Diagnosis("s", "unknown_id", "c", "e", "a", 1).component == ""


def test_a_diagnosis_takes_id_fix_and_score_from_its_row() -> None:
    d = diagnosis(REPLICATION_STOPPED, "mm2_target_client", "authentication", "c", "e", connector="A->B")
    assert d.cause_id == "authentication_on_target" and d.score == 95 and "A->B" in d.action
    assert "target.cluster.sasl.jaas.config" in d.action and "{" not in d.action
    given = diagnosis(REPLICATION_STOPPED, METRICS_STORE, MISCONFIGURATION, "c", "e", action="do x", score=10)
    assert (given.cause_id, given.action, given.score) == (METRICS, "do x", 10)
    # A pair without its own row: the connector's row of that class, else a task error; the pair is kept.
    assert cause_of("mm2_source_client", "failed").cause_id == TASK_ERROR
    odd = diagnosis(REPLICATION_STOPPED, "mm2_source_client", "failed", "c", "e")
    assert (odd.cause_id, odd.component, odd.cause_class) == (TASK_ERROR, "mm2_source_client", "failed")
    assert describe("mm2_target_client", "authentication") == ("MM2's clients of the target cluster (its producer, its "
                                                               "target admin): authentication refused")


def test_certain_means_score_evidence_and_a_fault_class() -> None:
    row = Diagnosis("s", "cluster_unresponsive", "c", "metadata request: timed out", "a", 85)
    assert row.certain and row.chain_fault
    assert not Diagnosis("s", "cluster_unresponsive", "c", "metadata request", "a", 84).certain
    assert not Diagnosis("s", "cluster_unresponsive", "c", "  ", "a", 99).certain
    assert not Diagnosis("s", "catching_up", "c", "record age 59 s", "a", 99).certain
    smoke = Diagnosis("s", "smoke_test_setup", "c", "e", "a", 99)
    assert smoke.certain and not smoke.chain_fault


def test_a_certain_cause_ranks_before_an_uncertain_one_whatever_its_score() -> None:
    loud = Diagnosis(METRICS_UNAVAILABLE, METRICS, "Prometheus is unreachable", "", "a", 96)  # no evidence
    backlog = Diagnosis(REPLICATION_STOPPED, "catching_up", "backlog", "record age 59 s", "a", 90)
    proven = diagnosis(REPLICATION_STOPPED, "mm2_target_client", "resource_limit", "too large", "Caused by: x",
                       score=85)
    assert [d.cause_id for d in rank([loud, backlog, proven])] == ["limit_on_target", METRICS, "catching_up"]


def test_rank_keeps_both_clusters_found_failing_the_same_way() -> None:
    source = Diagnosis("s", "cluster_unresponsive", "c", "e", "a", 92, "source_cluster", "hung")
    target = Diagnosis("s", "cluster_unresponsive", "c", "e", "a", 92, "target_cluster", "down")
    assert len(rank([source, target, Diagnosis("s", "cluster_unresponsive", "c", "e", "a", 50, "target_cluster")]))\
        == 2


def test_no_cause_found_is_unattributed_and_says_whether_anything_was_not_inspected() -> None:
    clean = no_cause_found("s", ["x"])
    assert (clean.cause_id, clean.component, clean.cause_class) == (NO_CAUSE_FOUND, "unattributed", "none")
    assert no_cause_found("s", ["x"], ["y"]).cause_class == "not_inspected"
    assert not clean.certain

"""The verdict follows proof: UNKNOWN becomes NOGO when a diagnosis proves a fault of the chain (certain, with
evidence, in a component of the chain); UNKNOWN stays for "could not measure and found no fault"."""

from __future__ import annotations

from pathlib import Path

import pytest

from mm2_smoke.diagnosis.base import Diagnosis, no_cause_found, verdict_from_proof
from mm2_smoke.diagnosis.connector import BootstrapProbe, ConnectorFacts, diagnose_connector
from mm2_smoke.diagnosis.metrics import MetricsFacts, diagnose_metrics
from mm2_smoke.measured import HttpAnswer
from tests.unit.mm2_smoke.diagnosis.conftest import CONFIG_ANSWER, NAME, RUNNING, SOURCE_ACLS, TOPIC

DATA = Path(__file__).resolve().parents[3] / "data" / "traces"


def connector(status: HttpAnswer, **kw) -> list[Diagnosis]:
    return diagnose_connector(ConnectorFacts(NAME, status, CONFIG_ANSWER, TOPIC, **{
        "source_topic_exists": True, "source_topic_messages": 500, "principal": "User:mm2",
        "source_acls": SOURCE_ACLS, **kw}))


VANISHED = diagnose_metrics(MetricsFacts(HttpAnswer(200, {"data": {}}), [{"health": "up"}], contract_ok=False,
                                         contract_summary="kafka_connect_mirror_source_connector_* absent"))


def test_a_failed_tasks_proven_cause_turns_unknown_into_nogo_naming_it() -> None:
    failed = {**RUNNING, "tasks": [{"id": 0, "state": "FAILED",
                                    "trace": (DATA / "target-write-denied.txt").read_text()}]}
    verdict, reason = verdict_from_proof("UNKNOWN", [*VANISHED, *connector(HttpAnswer(200, failed))])
    assert verdict == "NOGO" and reason is not None
    assert "MM2's clients of the target cluster" in reason and "not authorized" in reason
    assert "TopicAuthorizationException" in reason


def test_mm2s_source_bootstrap_refusing_and_a_frozen_target_are_proof() -> None:
    refused = BootstrapProbe("127.0.0.1:1", {"127.0.0.1:1": "[Errno 111] Connection refused"}, "127.0.0.1:19092")
    verdict, reason = verdict_from_proof("UNKNOWN", connector(HttpAnswer(200, {**RUNNING, "tasks": []}),
                                                              bootstrap={"source": refused}))
    assert verdict == "NOGO" and "source.cluster.bootstrap.servers=127.0.0.1:1" in reason
    frozen = BootstrapProbe("127.0.0.1:19093", {"127.0.0.1:19093": ""}, "127.0.0.1:19093")
    verdict, reason = verdict_from_proof("UNKNOWN", connector(HttpAnswer(200, RUNNING), bootstrap={"target": frozen},
                                                              silent_clusters={"target": "_TIMED_OUT"}))
    assert verdict == "NOGO" and "the target cluster: hung" in reason


def test_unknown_stays_without_proof() -> None:
    assert verdict_from_proof("UNKNOWN", VANISHED) == ("UNKNOWN", None)
    assert verdict_from_proof("UNKNOWN", [no_cause_found("s", ["a"], ["b"])]) == ("UNKNOWN", None)
    assert verdict_from_proof("UNKNOWN", []) == ("UNKNOWN", None)
    # A task FAILED without a trace, a weak reading, a backlog: not proof.
    no_trace = connector(HttpAnswer(200, {**RUNNING, "tasks": [{"id": 0, "state": "FAILED"}]}))
    assert verdict_from_proof("UNKNOWN", no_trace) == ("UNKNOWN", None)
    weak = Diagnosis("s", "cluster_unresponsive", "c", "metadata request: timed out", "a", 84)
    backlog = Diagnosis("s", "catching_up", "MM2 replays a backlog", "record age 59.8 s", "a", 99)
    no_evidence = Diagnosis("s", "cluster_unresponsive", "c", "", "a", 99)
    assert verdict_from_proof("UNKNOWN", [weak, backlog, no_evidence]) == ("UNKNOWN", None)


def test_the_smoke_tests_own_config_proven_wrong_keeps_unknown() -> None:
    proof = Diagnosis("s", "cluster_unresponsive", "c", "metadata request: timed out", "a", 92)
    own = Diagnosis("s", "smoke_test_setup", "the smoke test's own input is wrong", "connection 'kafka_source'",
                    "fix it", 99)
    assert verdict_from_proof("UNKNOWN", [proof])[0] == "NOGO"
    assert verdict_from_proof("UNKNOWN", [proof, own]) == ("UNKNOWN", None)


@pytest.mark.parametrize("verdict", ["GO", "NOGO"])
def test_go_and_nogo_never_change(verdict: str) -> None:
    proof = Diagnosis("s", "cluster_unresponsive", "c", "metadata request: timed out", "a", 92)
    assert verdict_from_proof(verdict, [proof]) == (verdict, None)


def test_diagnoses_as_they_travel_in_xcom_old_and_new() -> None:
    old = {"symptom": "replication_stopped", "cause_id": "cluster_unresponsive", "evidence": "metadata request to "
           "target: _TIMED_OUT", "cause": "the target cluster does not answer", "action": "check", "score": 92}
    verdict, reason = verdict_from_proof("UNKNOWN", [old])
    assert verdict == "NOGO" and "_TIMED_OUT" in reason
    new = Diagnosis(**{**old, "component": "metrics_store", "cause_class": "down"}).to_dict()
    assert verdict_from_proof("UNKNOWN", [new]) == ("UNKNOWN", None)  # the metrics store is not the chain

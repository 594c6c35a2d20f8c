"""Each connector rule (runbook "poll_total = 0") rule on answers recorded from the live stack
(Connect REST, Kafka admin API, TCP probes)."""

from __future__ import annotations

from mm2_smoke.diagnosis.base import (
    ACL_ON_SOURCE,
    CLUSTER_UNRESPONSIVE,
    MM2_CLUSTER_UNREACHABLE,
    NO_CAUSE_FOUND,
    SOURCE_TOPIC,
    TOPICS_CONFIG,
    WORKER_DOWN,
    Acl,
    rank,
)
from mm2_smoke.diagnosis.connector import BootstrapProbe, ConnectorFacts, diagnose_connector
from mm2_smoke.measured import HttpAnswer
from tests.unit.mm2_smoke.diagnosis.conftest import CONFIG, CONFIG_ANSWER, NAME, RUNNING, SOURCE_ACLS, TOPIC, first


def facts(status: HttpAnswer, config: HttpAnswer = CONFIG_ANSWER, **kw) -> ConnectorFacts:
    return ConnectorFacts(NAME, status, config, TOPIC, **{"source_topic_exists": True,
                                                          "source_topic_messages": 500, "principal": "User:mm2",
                                                          "source_acls": SOURCE_ACLS, **kw})


def test_unreachable_worker() -> None:
    d = first(diagnose_connector(facts(HttpAnswer(None, error="ConnectionError: [Errno 111] refused"))))
    assert d.cause_id == WORKER_DOWN and "refused" in d.evidence


def test_paused_connector() -> None:
    paused = {**RUNNING, "connector": {"state": "PAUSED"}, "tasks": [{"id": 0, "state": "PAUSED"}]}
    d = first(diagnose_connector(facts(HttpAnswer(200, paused))))
    assert d.cause_id == WORKER_DOWN and "PAUSED" in d.cause and "/resume" in d.action


def test_connector_not_deployed() -> None:
    d = first(diagnose_connector(facts(HttpAnswer(404, {"error_code": 404, "message": "No status found"}))))
    assert d.cause_id == WORKER_DOWN and "not deployed" in d.cause


def test_topic_excluded_outranks_no_task() -> None:
    no_task = {**RUNNING, "tasks": []}
    cfg = {**CONFIG, "topics.exclude": r".*[\-\.]internal, .*\.replica, __.*, test-prometheus\.generated-data-01\.json"}
    ds = rank(diagnose_connector(facts(HttpAnswer(200, no_task), HttpAnswer(200, cfg))))
    assert ds[0].cause_id == TOPICS_CONFIG and "topics.exclude" in ds[0].cause
    assert "test-prometheus" in ds[0].action


def test_topic_not_in_topics() -> None:
    cfg = {**CONFIG, "topics": "other\\..*"}
    d = first(diagnose_connector(facts(HttpAnswer(200, {**RUNNING, "tasks": []}), HttpAnswer(200, cfg))))
    assert d.cause_id == TOPICS_CONFIG and "does not match" in d.cause


def test_missing_source_topic() -> None:
    d = first(diagnose_connector(facts(HttpAnswer(200, RUNNING), source_topic_exists=False,
                                       source_error="UNKNOWN_TOPIC_OR_PART")))
    assert d.cause_id == SOURCE_TOPIC


def test_healthy_connector_finds_no_cause_and_lists_what_it_inspected() -> None:
    [d] = diagnose_connector(facts(HttpAnswer(200, RUNNING)))
    assert d.cause_id == NO_CAUSE_FOUND and "showed nothing wrong" in d.cause
    assert "RUNNING, task 0 RUNNING" in d.evidence and "500 message(s)" in d.evidence and "could NOT" not in d.evidence


def test_a_connector_diagnosis_that_could_not_read_the_source_or_the_config_says_so() -> None:
    [d] = diagnose_connector(facts(HttpAnswer(200, RUNNING), HttpAnswer(500, "boom"), source_topic_exists=None,
                                   source_error="KafkaException: _TRANSPORT"))
    assert d.cause_id == NO_CAUSE_FOUND and "not a clean bill" in d.cause and "2 part(s)" in d.cause
    assert "could NOT inspect: its config (HTTP 500); source topic" in d.evidence and "_TRANSPORT" in d.evidence
    assert "healthy" not in d.evidence + d.cause and "nothing wrong" not in d.cause


def test_a_deny_read_on_source_for_mm2_is_the_first_cause_while_its_task_runs() -> None:
    # Recorded with the source-read-denied fault: DENY READ on the test topic beside the stack's ALLOW on '*'.
    deny = [*SOURCE_ACLS, Acl("User:mm2", "TOPIC", TOPIC, "LITERAL", "READ", "DENY")]
    d = first(diagnose_connector(facts(HttpAnswer(200, RUNNING), source_acls=deny)))
    assert d.cause_id == ACL_ON_SOURCE and d.score == 86 and "may not READ" in d.cause
    assert "DENY READ TOPIC:LITERAL:" + TOPIC in d.evidence and "grant User:mm2 READ and DESCRIBE" in d.action
    # ACLs that exist but allow nothing on the topic: weaker evidence.
    other = [Acl("User:mm2", "TOPIC", "other.", "PREFIXED", "READ", "ALLOW")]
    assert first(diagnose_connector(facts(HttpAnswer(200, RUNNING), source_acls=other))).score == 70
    # No ACL at all for the principal (a super user, allow.everyone.if.no.acl.found): no claim.
    [none] = diagnose_connector(facts(HttpAnswer(200, RUNNING), source_acls=[]))
    assert none.cause_id == NO_CAUSE_FOUND
    # ACLs that could not be read are listed as not inspected: never a clean bill.
    [unread] = diagnose_connector(facts(HttpAnswer(200, RUNNING), source_acls=None,
                                        source_acl_error="describe ACLs of User:mm2 on source: SECURITY_DISABLED"))
    assert unread.cause_id == NO_CAUSE_FOUND and "SECURITY_DISABLED" in unread.evidence


def test_mm2s_own_bootstrap_that_does_not_answer_is_the_first_cause() -> None:
    # Recorded with the mm2-source-unreachable fault: connector RUNNING with no task, its source bootstrap refused.
    no_task = HttpAnswer(200, {**RUNNING, "tasks": []})
    probe = BootstrapProbe("127.0.0.1:1", {"127.0.0.1:1": "ConnectionRefusedError: [Errno 111] Connection refused"},
                           "127.0.0.1:19092")
    ok = BootstrapProbe("127.0.0.1:29092", {"127.0.0.1:29092": ""}, "127.0.0.1:29092")
    d = first(diagnose_connector(facts(no_task, bootstrap={"source": probe, "target": ok})))
    assert d.cause_id == MM2_CLUSTER_UNREACHABLE and d.score == 88
    assert "source.cluster.bootstrap.servers=127.0.0.1:1" in d.cause and "127.0.0.1:19092" in d.cause
    assert "Connection refused" in d.evidence and "fix source.cluster.bootstrap.servers" in d.action
    # Same address as the smoke test's and down: the cluster itself does not answer (still this cause, lower).
    down = BootstrapProbe("127.0.0.1:19092", {"127.0.0.1:19092": "TimeoutError: timed out"}, "127.0.0.1:19092")
    assert first(diagnose_connector(facts(no_task, bootstrap={"source": down}))).score == 80
    # Addresses that answer are listed as inspected, never a cause.
    [healthy] = diagnose_connector(facts(HttpAnswer(200, RUNNING), bootstrap={"target": ok}))
    assert healthy.cause_id == NO_CAUSE_FOUND and "127.0.0.1:29092 answers from here" in healthy.evidence


def test_a_cluster_that_does_not_answer_is_the_first_cause_even_while_connect_says_running() -> None:
    # Recorded with the target-frozen fault (SIGSTOP): the port accepts, metadata times out, Connect says RUNNING.
    frozen = BootstrapProbe("127.0.0.1:29092", {"127.0.0.1:29092": ""}, "127.0.0.1:29092")
    why = 'KafkaException: KafkaError{code=_TRANSPORT,val=-195,str="Failed to get metadata: Local: Broker transport failure"}'
    d = first(diagnose_connector(facts(HttpAnswer(200, RUNNING), bootstrap={"target": frozen},
                                       silent_clusters={"target": why})))
    assert d.cause_id == CLUSTER_UNRESPONSIVE and "target cluster does not answer" in d.cause
    assert "port accepts TCP connections" in d.cause and "Connect REST still says" in d.evidence
    # A silent cluster is not also blamed on MM2's address.
    assert all(x.cause_id != MM2_CLUSTER_UNREACHABLE for x in diagnose_connector(
        facts(HttpAnswer(200, RUNNING), bootstrap={"target": BootstrapProbe("h:1", {"h:1": "refused"})},
              silent_clusters={"target": why})))

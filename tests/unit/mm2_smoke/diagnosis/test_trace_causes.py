"""A FAILED task's or connector's trace read to its real cause in the connector diagnosis: the component (MM2's
client of the source or of the target, or the task itself) and the class, the ``Caused by`` line as the evidence,
the row's fix; recorded traces of the local stack's Connect worker and traces shaped as Connect writes them."""

from __future__ import annotations

from pathlib import Path

import pytest

from mm2_smoke.diagnosis.base import (
    ACL_ON_SOURCE,
    ACL_ON_TARGET,
    AUTH_ON_SOURCE,
    AUTH_ON_TARGET,
    AUTHENTICATION,
    AUTHORIZATION,
    CLIENT_CONFIG_ON_TARGET,
    CLUSTER_UNRESPONSIVE,
    CONNECT_WORKER,
    CONNECTOR,
    FAILED,
    HUNG,
    LIMIT_ON_TARGET,
    MISCONFIGURATION,
    MM2_AUTHENTICATION,
    MM2_CLUSTER_UNREACHABLE,
    MM2_SOURCE_CLIENT,
    MM2_TARGET_CLIENT,
    NO_TASKS,
    RESOURCE_LIMIT,
    TARGET_CLUSTER,
    TASK_ERROR,
    TOPICS_CONFIG,
    UNRESPONSIVE,
    WORKER_DOWN,
    WORKER_HUNG,
    rank,
)
from mm2_smoke.diagnosis.connector import BootstrapProbe, ConnectorFacts, diagnose_connector
from mm2_smoke.diagnosis.metrics import MetricsFacts, diagnose_metrics
from mm2_smoke.measured import HttpAnswer
from mm2_smoke.traces import read_trace
from tests.unit.mm2_smoke.diagnosis.conftest import CONFIG_ANSWER, NAME, RUNNING, SOURCE_ACLS, TOPIC

DATA = Path(__file__).resolve().parents[3] / "data" / "traces"
WRAPPER = ("org.apache.kafka.connect.errors.ConnectException: Unrecoverable exception from producer send callback\n"
           "\tat org.apache.kafka.connect.runtime.WorkerSourceTask.maybeThrowProducerSendException"
           "(WorkerSourceTask.java:312)\n")
#: MM2's own client ids name the cluster aliases and their role last.
SOURCE_CONSUMER = "source->target|source->target-0|replication-consumer"


def failed_task(trace: str | None) -> dict:
    return {**RUNNING, "tasks": [{"id": 0, "state": "FAILED", "worker_id": "127.0.0.1:18083", "trace": trace}]}


def facts(status: dict | HttpAnswer, **kw) -> ConnectorFacts:
    answer = status if isinstance(status, HttpAnswer) else HttpAnswer(200, status)
    return ConnectorFacts(NAME, answer, CONFIG_ANSWER, TOPIC, **{
        "source_topic_exists": True, "source_topic_messages": 500, "principal": "User:mm2",
        "source_acls": SOURCE_ACLS, **kw})


def first_of(status: dict | HttpAnswer, **kw):
    return rank(diagnose_connector(facts(status, **kw)))[0]


def test_recorded_write_denied_on_target_is_mm2s_target_client_not_authorized() -> None:
    d = first_of(failed_task((DATA / "target-write-denied.txt").read_text()))
    assert (d.cause_id, d.component, d.cause_class) == (ACL_ON_TARGET, MM2_TARGET_CLIENT, AUTHORIZATION)
    assert d.evidence.startswith("task 0 of source->target.MirrorSourceConnector trace: Caused by: "
                                 "org.apache.kafka.common.errors.TopicAuthorizationException: Not authorized")
    assert "(via ConnectException)" in d.evidence and "target cluster" in d.evidence
    assert "grant User:mm2 WRITE" in d.action and d.certain and d.chain_fault


def test_recorded_failing_transformation_is_the_tasks_own_config_with_its_cause_line() -> None:
    d = first_of(failed_task((DATA / "task-failed.txt").read_text()))
    # The id the fault matrix expects (task_error), now with its class and the deepest cause, not the wrapper.
    assert (d.cause_id, d.component, d.cause_class) == (TASK_ERROR, CONNECTOR, MISCONFIGURATION)
    assert "Caused by: org.apache.kafka.connect.errors.DataException: Only Struct objects supported" in d.evidence
    assert "Tolerance exceeded" not in d.evidence.split(" (via")[0] and "DataException" in d.cause
    assert "transforms" in d.action and NAME in d.action


@pytest.mark.parametrize(("trace", "cause_id", "component", "cause_class", "says", "fix"), [
    # MM2's producer (Connect's client id) refused by the target's SASL.
    (WRAPPER + "Caused by: org.apache.kafka.common.errors.SaslAuthenticationException: Authentication failed during "
     "authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512\n[Producer clientId=connector-"
     "producer-source->target.MirrorSourceConnector-0] Connection to node -1 failed authentication\n",
     AUTH_ON_TARGET, MM2_TARGET_CLIENT, AUTHENTICATION, "SaslAuthenticationException", "target.cluster.sasl"),
    # MM2's consumer refused by the source's SASL (PLAIN), named by MM2's client id.
    ("org.apache.kafka.common.errors.SaslAuthenticationException: Authentication failed: Invalid username or "
     f"password\n[Consumer clientId={SOURCE_CONSUMER}, groupId=null] Connection to node -1 failed authentication\n",
     AUTH_ON_SOURCE, MM2_SOURCE_CLIENT, AUTHENTICATION, "Invalid username or password", "source.cluster.sasl"),
    # A nested Caused by: the deepest classified one is the cause.
    (WRAPPER + "Caused by: org.apache.kafka.common.KafkaException: Failed to send\n\t... 11 more\nCaused by: "
     "org.apache.kafka.common.errors.RecordTooLargeException: The message is 2097240 bytes when serialized which is "
     "larger than 1048576, which is the value of the max.request.size configuration.\n",
     LIMIT_ON_TARGET, MM2_TARGET_CLIENT, RESOURCE_LIMIT, "RecordTooLargeException: The message is 2097240",
     "max.request.size"),
    (WRAPPER + "Caused by: org.apache.kafka.common.errors.PolicyViolationException: records refused by policy\n",
     LIMIT_ON_TARGET, MM2_TARGET_CLIENT, RESOURCE_LIMIT, "PolicyViolationException", "policy"),
    (f"org.apache.kafka.common.errors.TopicAuthorizationException: Not authorized to access topics: [{TOPIC}]\n"
     f"[Consumer clientId={SOURCE_CONSUMER}, groupId=null] Topic authorization failed\n",
     ACL_ON_SOURCE, MM2_SOURCE_CLIENT, AUTHORIZATION, "Not authorized", "READ and DESCRIBE"),
    (WRAPPER + "Caused by: org.apache.kafka.common.errors.UnknownTopicOrPartitionException: This server does not "
     "host this topic-partition.\n", CLIENT_CONFIG_ON_TARGET, MM2_TARGET_CLIENT, MISCONFIGURATION,
     "UnknownTopicOrPartitionException", "remote topic"),
    (WRAPPER + "Caused by: org.apache.kafka.common.errors.TimeoutException: Expiring 12 record(s) for "
     "source.t-0:120001 ms has passed since batch creation\n", MM2_CLUSTER_UNREACHABLE, MM2_TARGET_CLIENT,
     UNRESPONSIVE, "Expiring 12 record(s)", "target brokers"),
    # An authentication error whose client the trace does not name: the task's, still authentication.
    ("org.apache.kafka.common.errors.SaslAuthenticationException: Authentication failed\n", MM2_AUTHENTICATION,
     CONNECTOR, AUTHENTICATION, "SaslAuthenticationException", "credentials of MM2's clients"),
    # No known class: the deepest exception that is not a wrapper, never "FAILED" alone.
    ("java.lang.IllegalStateException: offsets of an unassigned partition\n\tat some.Class.method(Class.java:1)\n"
     "Caused by: org.apache.kafka.connect.errors.ConnectException: wrapped\n", TASK_ERROR, CONNECTOR, FAILED,
     "java.lang.IllegalStateException: offsets of an unassigned partition", "worker log"),
])
def test_a_failed_tasks_trace_names_component_class_evidence_and_fix(trace: str, cause_id: str, component: str,
                                                                      cause_class: str, says: str, fix: str) -> None:
    d = first_of(failed_task(trace))
    assert (d.cause_id, d.component, d.cause_class) == (cause_id, component, cause_class), d
    assert says in d.evidence and fix in d.action, d
    assert d.cause != f"task 0 of {NAME} is FAILED" and "FAILED with" in d.cause
    assert d.certain and d.chain_fault


def test_a_failed_task_without_trace_is_a_task_error_that_proves_less() -> None:
    d = first_of(failed_task(None))
    assert (d.cause_id, d.component, d.cause_class) == (TASK_ERROR, CONNECTOR, FAILED)
    assert "no trace" in d.cause and not d.certain


def test_a_failed_connectors_trace_is_read_too() -> None:
    trace = ("org.apache.kafka.connect.errors.ConnectException: Failed to list topics\nCaused by: org.apache.kafka."
             "common.errors.SaslAuthenticationException: Authentication failed: Invalid username or password\n"
             "[AdminClient clientId=source->target|source->target|replication-source-admin] Connection to node -1 "
             "failed authentication\n")
    status = {**RUNNING, "connector": {"state": "FAILED", "worker_id": "w", "trace": trace}, "tasks": []}
    d = first_of(status)
    assert (d.cause_id, d.component, d.cause_class) == (AUTH_ON_SOURCE, MM2_SOURCE_CLIENT, AUTHENTICATION)
    assert d.evidence.startswith(f"connector {NAME} trace: Caused by: ") and "replication-source-admin" in d.evidence
    # Without a trace a FAILED connector is still said to be down, as before.
    bare = first_of({**status, "connector": {"state": "FAILED"}})
    assert (bare.cause_id, bare.component) == (WORKER_DOWN, CONNECTOR) and "FAILED" in bare.cause


def test_two_tasks_failing_on_both_sides_stay_two_causes() -> None:
    source = (f"org.apache.kafka.common.errors.SaslAuthenticationException: bad password\n[Consumer clientId="
              f"{SOURCE_CONSUMER}, groupId=null]\n")
    target = WRAPPER + "Caused by: org.apache.kafka.common.errors.SaslAuthenticationException: bad password\n"
    status = {**RUNNING, "tasks": [{"id": 0, "state": "FAILED", "trace": source},
                                   {"id": 1, "state": "FAILED", "trace": target}]}
    ranked = rank(diagnose_connector(facts(status)))
    assert {d.component for d in ranked[:2]} == {MM2_SOURCE_CLIENT, MM2_TARGET_CLIENT}


def test_no_task_while_the_topic_passes_the_filter_does_not_blame_the_filter() -> None:
    d = first_of({**RUNNING, "tasks": []})
    assert d.cause_id == NO_TASKS and "passes its topics filter" in d.cause
    assert "no source topic matches" not in d.cause and not d.certain
    # The filter is blamed when the config cannot be read to say otherwise, hedged.
    unread = rank(diagnose_connector(ConnectorFacts(NAME, HttpAnswer(200, {**RUNNING, "tasks": []}),
                                                    HttpAnswer(500, "boom"), TOPIC)))[0]
    assert unread.cause_id == TOPICS_CONFIG and "or MM2 does not see the source's topics" in unread.cause


def test_a_classified_trace_outranks_the_topics_filter_and_the_vanished_series() -> None:
    proven = diagnose_connector(facts(failed_task((DATA / "target-write-denied.txt").read_text())))
    no_task = diagnose_connector(ConnectorFacts(NAME, HttpAnswer(200, {**RUNNING, "tasks": []}),
                                                HttpAnswer(500, "boom"), TOPIC))
    vanished = diagnose_metrics(MetricsFacts(HttpAnswer(200, {"data": {}}), [{"health": "up"}], contract_ok=False,
                                             contract_summary="kafka_connect_mirror_source_connector_* absent"))
    assert not vanished[0].certain and not no_task[0].certain and "consequence" in vanished[0].cause
    ranked = rank([*vanished, *no_task, *proven])
    assert ranked[0].cause_id == ACL_ON_TARGET and ranked[0].certain
    assert {d.cause_id for d in ranked[1:]} == {"metrics_unavailable", TOPICS_CONFIG}
    # The weakest classified cause (a timeout, 85) still ranks before both.
    timeout = WRAPPER + "Caused by: org.apache.kafka.common.errors.TimeoutException: Expiring 1 record(s)\n"
    assert rank([*vanished, *no_task, *diagnose_connector(facts(failed_task(timeout)))])[0].cause_class == \
        UNRESPONSIVE


def test_a_hung_worker_is_not_a_down_worker() -> None:
    hung = first_of(HttpAnswer(None, error="Kafka Connect did not answer in time (connection 'kafka_connect'): "
                                           "ReadTimeout: HTTPConnectionPool(host='127.0.0.1', port=18083): Read "
                                           "timed out. (read timeout=10)"))
    assert (hung.cause_id, hung.component, hung.cause_class) == (WORKER_HUNG, CONNECT_WORKER, HUNG)
    assert "thread dump" in hung.action and hung.certain
    down = first_of(HttpAnswer(None, error="Kafka Connect unreachable (connection 'kafka_connect'): ConnectionError: "
                                           "[Errno 111] Connection refused"))
    assert (down.cause_id, down.cause_class) == (WORKER_DOWN, "down") and "start the Connect worker" in down.action


def test_a_frozen_broker_is_hung_and_its_side_is_its_component() -> None:
    probe = BootstrapProbe("127.0.0.1:19093", {"127.0.0.1:19093": ""}, "127.0.0.1:19093")
    d = first_of(RUNNING, bootstrap={"target": probe},
                 silent_clusters={"target": "KafkaException: _TIMED_OUT"})
    assert (d.cause_id, d.component, d.cause_class) == (CLUSTER_UNRESPONSIVE, TARGET_CLUSTER, HUNG)
    refused = BootstrapProbe("127.0.0.1:19093", {"127.0.0.1:19093": "[Errno 111] Connection refused"})
    d = first_of(RUNNING, bootstrap={"target": refused}, silent_clusters={"target": "KafkaException: _TRANSPORT"})
    assert (d.component, d.cause_class) == (TARGET_CLUSTER, "down")


def test_mm2s_unreachable_bootstrap_is_its_client_of_that_side() -> None:
    probe = BootstrapProbe("127.0.0.1:1", {"127.0.0.1:1": "[Errno 111] Connection refused"}, "127.0.0.1:19092")
    d = first_of(RUNNING, bootstrap={"source": probe})
    assert (d.cause_id, d.component, d.cause_class) == (MM2_CLUSTER_UNREACHABLE, MM2_SOURCE_CLIENT,
                                                        "unreachable_address")
    assert d.certain


def test_mm2s_client_role_names_its_cluster_before_its_kind() -> None:
    # MM2's offset-syncs producer writes the source (its role says so), though a producer usually writes the target.
    syncs = ("org.apache.kafka.common.errors.TopicAuthorizationException: Not authorized to access topics: "
             "[mm2-offset-syncs.target.internal]\n[Producer clientId=source->target|source->target-0|"
             "offset-syncs-source-producer] Topic authorization failed\n")
    d = first_of(failed_task(syncs))
    assert (d.cause_id, d.component) == (ACL_ON_SOURCE, MM2_SOURCE_CLIENT)
    assert read_trace(syncs).side == "source"
    # The alias 'source' in 'source->target' is not a role: MM2's replication consumer still reads the source,
    # and Connect's producer id (no role) still writes the target.
    assert read_trace(f"x.y.SaslAuthenticationException: no\n[Producer clientId={SOURCE_CONSUMER[:-8]}producer]").side \
        == "target"

"""The trace reader: every exception of a Connect trace's causal chain, classified, and the one that explains it."""

from __future__ import annotations

from pathlib import Path

import pytest

from mm2_smoke.traces import classify, read_trace

#: Shaped as Kafka Connect writes a FAILED MirrorSourceTask's trace (status.tasks[].trace).
PRODUCER_AUTH = """org.apache.kafka.connect.errors.ConnectException: Unrecoverable exception from producer send callback
\tat org.apache.kafka.connect.runtime.WorkerSourceTask.maybeThrowProducerSendException(WorkerSourceTask.java:312)
\tat org.apache.kafka.connect.runtime.AbstractWorkerSourceTask.execute(AbstractWorkerSourceTask.java:386)
Caused by: org.apache.kafka.common.errors.SaslAuthenticationException: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512
[Producer clientId=connector-producer-source->target.MirrorSourceConnector-0] Connection to node -1 failed authentication
"""
NESTED_TOO_LARGE = """org.apache.kafka.connect.errors.ConnectException: Unrecoverable exception from producer send callback
\tat org.apache.kafka.connect.runtime.WorkerSourceTask.maybeThrowProducerSendException(WorkerSourceTask.java:312)
Caused by: org.apache.kafka.common.KafkaException: Failed to send
\t... 11 more
Caused by: org.apache.kafka.common.errors.RecordTooLargeException: The message is 2097240 bytes when serialized which is larger than 1048576, which is the value of the max.request.size configuration.
"""
CONSUMER_DENIED = """org.apache.kafka.common.errors.TopicAuthorizationException: Not authorized to access topics: [test-prometheus.generated-data-01.json]
[Consumer clientId=source-consumer, groupId=null] Topic authorization failed
"""
UNKNOWN = """java.lang.IllegalStateException: something odd
\tat some.Class.method(Class.java:1)
Caused by: org.apache.kafka.connect.errors.ConnectException: wrapped
"""


def test_the_deepest_known_cause_wins_over_its_wrappers() -> None:
    t = read_trace(NESTED_TOO_LARGE)
    assert [r.simple for r in t.chain] == ["ConnectException", "KafkaException", "RecordTooLargeException"]
    assert t.failure == "record_too_large" and "max.request.size" in t.cause.message
    assert t.summary().startswith("RecordTooLargeException: The message is 2097240 bytes")
    assert "(via ConnectException < KafkaException)" in t.summary()


def test_the_failing_client_names_the_cluster() -> None:
    auth = read_trace(PRODUCER_AUTH)
    assert (auth.failure, auth.side) == ("authentication", "target")
    assert auth.client == "connector-producer-source->target.MirrorSourceConnector-0"
    denied = read_trace(CONSUMER_DENIED)
    assert (denied.failure, denied.side) == ("authorization", "source")
    assert read_trace(PRODUCER_AUTH, connector_class="MirrorCheckpointConnector").side == ""


def test_an_unknown_cause_is_the_deepest_that_is_not_a_wrapper() -> None:
    t = read_trace(UNKNOWN)
    assert t.failure == "" and t.cause is not None and t.cause.simple == "IllegalStateException"
    assert read_trace("").cause is None and read_trace(None).summary() == "empty trace"


@pytest.mark.parametrize(("name", "failure"), [
    ("org.apache.kafka.common.errors.SslAuthenticationException", "authentication"),
    ("org.apache.kafka.common.errors.GroupAuthorizationException", "authorization"),
    ("org.apache.kafka.common.errors.UnknownTopicOrPartitionException", "unknown_topic"),
    ("org.apache.kafka.common.errors.TimeoutException", "timeout"),
    ("org.apache.kafka.common.errors.PolicyViolationException", "policy_violation"),
    ("org.apache.kafka.connect.errors.ConnectException", ""),
])
def test_classes(name: str, failure: str) -> None:
    assert classify(name) == failure


DATA = Path(__file__).resolve().parents[2] / "data" / "traces"


@pytest.mark.parametrize(("recorded", "failure", "side", "says"), [
    # recorded from the local stack's Connect worker (Kafka 4.3.1): `python -m mm2_stack fault task-failed`, then
    # `fault target-write-acl` and a probe; GET /connectors/source->target.MirrorSourceConnector/status
    ("task-failed.txt", "serialization", "", "DataException: Only Struct objects supported"),
    ("target-write-denied.txt", "authorization", "target", "TopicAuthorizationException: Not authorized to access "
                                                           "topics: [source.test-prometheus"),
])
def test_recorded_traces_read_to_their_cause(recorded: str, failure: str, side: str, says: str) -> None:
    t = read_trace((DATA / recorded).read_text())
    assert (t.failure, t.side) == (failure, side)
    assert t.summary().startswith(says) and t.summary().endswith("(via ConnectException)")

"""Each writes rule on answers recorded from the live stack
(runbook "write = 0, poll > 0": Connect REST, Kafka admin API); a FAILED task's trace read to its deepest cause, on the
recorded traces of tests/data/traces and on multi-line traces shaped as Kafka Connect writes them."""

from __future__ import annotations

from pathlib import Path

import pytest

from mm2_smoke.diagnosis.base import (
    ACL_ON_SOURCE,
    ACL_ON_TARGET,
    AUTH_ON_TARGET,
    AUTHENTICATION,
    AUTHORIZATION,
    CONNECTOR,
    FAILED,
    LIMIT_ON_TARGET,
    MISCONFIGURATION,
    MM2_SOURCE_CLIENT,
    MM2_TARGET_CLIENT,
    RESOURCE_LIMIT,
    TASK_ERROR,
    Acl,
    rank,
    verdict_from_proof,
)
from mm2_smoke.diagnosis.writes import WriteFacts, diagnose_writes
from mm2_smoke.measured import HttpAnswer
from tests.unit.mm2_smoke.diagnosis.conftest import AUTH_TRACE, MM2_ACLS, NAME, REMOTE, RUNNING, first


def write_facts(acls: list[Acl] | None, trace: str | None = AUTH_TRACE, acl_error: str | None = None):
    tasks = [{"id": 0, "state": "FAILED", "trace": trace}] if trace else [{"id": 0, "state": "RUNNING"}]
    return WriteFacts(NAME, HttpAnswer(200, {**RUNNING, "tasks": tasks}), "User:mm2", REMOTE, acls, acl_error)


def test_missing_write_acl_on_target() -> None:
    acls = [a for a in MM2_ACLS if a.operation != "WRITE" or a.name != "source."]
    d = first(diagnose_writes(write_facts(acls)))
    assert d.cause_id == ACL_ON_TARGET
    assert "may not WRITE" in d.cause and "TopicAuthorizationException" in d.evidence


def test_acls_unreadable_but_task_trace_says_authorization() -> None:
    d = first(diagnose_writes(write_facts(None, acl_error="CLUSTER_AUTHORIZATION_FAILED")))
    assert d.cause_id == ACL_ON_TARGET


def test_other_task_error() -> None:
    trace = "org.apache.kafka.common.errors.RecordTooLargeException: The message is 2000000 bytes\n"
    d = first(diagnose_writes(write_facts(MM2_ACLS, trace=trace)))
    assert d.cause_id == TASK_ERROR and "RecordTooLarge" in d.evidence


# --- a FAILED task's trace read to its real cause (its full causal chain), as the connector diagnosis reads it -------
DATA = Path(__file__).resolve().parents[3] / "data" / "traces"
#: Connect's wrapper of a MirrorSourceTask whose producer (to the target) failed, as Kafka Connect writes it.
PRODUCER_FAILED = ("org.apache.kafka.connect.errors.ConnectException: Unrecoverable exception from producer send callback\n"
                   "\tat org.apache.kafka.connect.runtime.WorkerSourceTask.maybeThrowProducerSendException"
                   "(WorkerSourceTask.java:348)\n"
                   "\tat org.apache.kafka.connect.runtime.WorkerSourceTask.prepareToPollTask(WorkerSourceTask.java:127)\n"
                   "\tat org.apache.kafka.connect.runtime.AbstractWorkerSourceTask.execute"
                   "(AbstractWorkerSourceTask.java:362)\n"
                   "\tat org.apache.kafka.connect.runtime.WorkerTask.doRun(WorkerTask.java:243)\n"
                   "\tat java.base/java.lang.Thread.run(Thread.java:840)\n")
SASL_ON_TARGET = (PRODUCER_FAILED + "Caused by: org.apache.kafka.common.KafkaException: Failed to send records\n"
                  "\tat org.apache.kafka.clients.producer.internals.Sender.sendProducerData(Sender.java:401)\n"
                  "\t... 11 more\n"
                  "Caused by: org.apache.kafka.common.errors.SaslAuthenticationException: Authentication failed during "
                  "authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512\n")
TOO_LARGE_FOR_TARGET = (PRODUCER_FAILED + "Caused by: org.apache.kafka.common.KafkaException: Failed to send records\n"
                        "\t... 11 more\n"
                        "Caused by: org.apache.kafka.common.errors.RecordTooLargeException: The request included a "
                        "message larger than the max message size the server will accept.\n")
UNKNOWN_CLASS = ("org.apache.kafka.connect.errors.ConnectException: Failed to poll records from the source task\n"
                 "\tat org.apache.kafka.connect.runtime.AbstractWorkerSourceTask.poll(AbstractWorkerSourceTask.java:472)\n"
                 "\tat org.apache.kafka.connect.runtime.WorkerTask.doRun(WorkerTask.java:243)\n"
                 "Caused by: org.apache.kafka.common.KafkaException: poll failed\n"
                 "\t... 9 more\n"
                 "Caused by: java.lang.IllegalStateException: No current assignment for partition "
                 "test-prometheus.generated-data-01.json-0\n"
                 "\tat org.apache.kafka.connect.mirror.MirrorSourceTask.poll(MirrorSourceTask.java:145)\n"
                 "\t... 12 more\n")
#: MM2's offset-syncs producer writes the source cluster (its role says so): a denial there is not on target.
SYNCS_DENIED_ON_SOURCE = ("org.apache.kafka.common.errors.TopicAuthorizationException: Not authorized to access "
                          "topics: [mm2-offset-syncs.target.internal]\n[Producer clientId=source->target|"
                          "source->target-0|offset-syncs-source-producer] Topic authorization failed\n")


@pytest.mark.parametrize(("trace", "cause_id", "component", "cause_class", "says", "fix"), [
    (SASL_ON_TARGET, AUTH_ON_TARGET, MM2_TARGET_CLIENT, AUTHENTICATION,
     "Caused by: org.apache.kafka.common.errors.SaslAuthenticationException: Authentication failed during "
     "authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512", "target.cluster.sasl"),
    (TOO_LARGE_FOR_TARGET, LIMIT_ON_TARGET, MM2_TARGET_CLIENT, RESOURCE_LIMIT,
     "Caused by: org.apache.kafka.common.errors.RecordTooLargeException: The request included a message larger",
     "max.message.bytes"),
    (UNKNOWN_CLASS, TASK_ERROR, CONNECTOR, FAILED,
     "Caused by: java.lang.IllegalStateException: No current assignment for partition", "worker log"),
])
def test_a_failed_tasks_trace_is_read_to_its_deepest_cause(trace: str, cause_id: str, component: str,
                                                           cause_class: str, says: str, fix: str) -> None:
    d = first(diagnose_writes(write_facts(MM2_ACLS, trace=trace)))
    assert (d.cause_id, d.component, d.cause_class) == (cause_id, component, cause_class), d
    assert d.evidence.startswith(f"task 0 of {NAME} trace: {says}"), d.evidence
    assert fix in d.action and NAME in d.action and d.certain and d.chain_fault
    # The first line (Connect's wrapper) is named only as what the cause came through, never as the cause.
    first_line = trace.splitlines()[0].split(": ", 1)[1]
    assert first_line not in d.evidence and "(via ConnectException < KafkaException)" in d.evidence
    assert d.cause != "an MM2 task failed" and "FAILED with" in d.cause


def test_recorded_write_denied_keeps_reading_the_target_acls() -> None:
    trace = (DATA / "target-write-denied.txt").read_text()
    # WRITE missing on target: the ACLs and the trace's Caused by line, together.
    no_write = [a for a in MM2_ACLS if a.operation != "WRITE" or a.name != "source."]
    d = first(diagnose_writes(write_facts(no_write, trace=trace)))
    assert (d.cause_id, d.component, d.cause_class, d.score) == (ACL_ON_TARGET, MM2_TARGET_CLIENT, AUTHORIZATION, 92)
    assert d.evidence.startswith(f"target ACLs of User:mm2: no ALLOW WRITE matches {REMOTE}; task 0 of {NAME} trace: "
                                 "Caused by: org.apache.kafka.common.errors.TopicAuthorizationException: Not "
                                 "authorized to access topics: [source.test-prometheus")
    assert "--operation Write" in d.action
    # WRITE allowed, the task still denied: the trace alone says it.
    allowed = first(diagnose_writes(write_facts(MM2_ACLS, trace=trace)))
    assert (allowed.cause_id, allowed.score) == (ACL_ON_TARGET, 85) and "TopicAuthorizationException" in allowed.evidence
    # ACLs unreadable: the trace still names the authorization error.
    unread = first(diagnose_writes(write_facts(None, trace=trace, acl_error="CLUSTER_AUTHORIZATION_FAILED")))
    assert (unread.cause_id, unread.score) == (ACL_ON_TARGET, 70)
    assert unread.evidence.startswith("CLUSTER_AUTHORIZATION_FAILED; task 0 of") and "Caused by:" in unread.evidence


def test_recorded_failing_transformation_is_a_task_error_with_its_cause_line() -> None:
    d = first(diagnose_writes(write_facts(MM2_ACLS, trace=(DATA / "task-failed.txt").read_text())))
    assert (d.cause_id, d.component, d.cause_class) == (TASK_ERROR, CONNECTOR, MISCONFIGURATION)
    assert "Caused by: org.apache.kafka.connect.errors.DataException: Only Struct objects supported" in d.evidence
    assert "Tolerance exceeded" not in d.evidence and "transforms" in d.action


def test_an_authorization_error_on_the_source_side_is_not_blamed_on_target() -> None:
    found = rank(diagnose_writes(write_facts(MM2_ACLS, trace=SYNCS_DENIED_ON_SOURCE)))
    assert (found[0].cause_id, found[0].component, found[0].cause_class) == (ACL_ON_SOURCE, MM2_SOURCE_CLIENT,
                                                                             AUTHORIZATION)
    assert ACL_ON_TARGET not in {d.cause_id for d in found}


def test_a_failed_task_without_a_trace_is_said_not_proven() -> None:
    facts = WriteFacts(NAME, HttpAnswer(200, {**RUNNING, "tasks": [{"id": 0, "state": "FAILED"}]}), "User:mm2", REMOTE,
                       MM2_ACLS)
    d = first(diagnose_writes(facts))
    assert (d.cause_id, d.component, d.cause_class) == (TASK_ERROR, CONNECTOR, FAILED)
    assert "no trace" in d.cause and not d.certain


def test_two_failed_tasks_stay_two_causes() -> None:
    status = {**RUNNING, "tasks": [{"id": 0, "state": "FAILED", "trace": SASL_ON_TARGET},
                                   {"id": 1, "state": "FAILED", "trace": TOO_LARGE_FOR_TARGET}]}
    found = rank(diagnose_writes(WriteFacts(NAME, HttpAnswer(200, status), "User:mm2", REMOTE, MM2_ACLS)))
    assert {d.cause_id for d in found} == {AUTH_ON_TARGET, LIMIT_ON_TARGET}
    assert verdict_from_proof("UNKNOWN", found)[0] == "NOGO"

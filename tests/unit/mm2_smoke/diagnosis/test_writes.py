"""Each writes rule on answers recorded from the live stack
(runbook "write = 0, poll > 0": Connect REST, Kafka admin API)."""

from __future__ import annotations

from mm2_smoke.diagnosis.base import ACL_ON_TARGET, TASK_ERROR, Acl
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

"""Why MM2 polls but does not write (runbook "write = 0, poll > 0"): MM2's ACLs on target, its tasks' errors,
the Connect worker.

A FAILED task's trace is read to its real cause, as the connector diagnosis reads it
(:func:`mm2_smoke.diagnosis.base.trace_diagnosis`: the deepest classified exception of its causal chain and the
cluster of the client that raised it): MM2's producer refused by the target's SASL is MM2's target client x
authentication, a record too large for the target is its resource limit, an error of no known class is a task error
with its deepest cause as the evidence. An authorization error (not on the source side) is read with MM2's ACLs on
target, which say whether WRITE on the remote topic is missing.

Pure: facts in (Connect REST answers, Kafka admin answers), diagnoses out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mm2_smoke.diagnosis.base import (
    ACL_ON_TARGET,
    DIAGNOSTIC_FAILED,
    WORKER_DOWN,
    WRITES_FAILING,
    Acl,
    Diagnosis,
    Inspection,
    acl_allows,
    conclude,
    trace_diagnosis,
    trace_evidence,
)
from mm2_smoke.measured import HttpAnswer
from mm2_smoke.traces import read_trace


@dataclass(frozen=True)
class WriteFacts:
    connector: str
    status: HttpAnswer
    principal: str
    remote_topic: str
    acls: list[Acl] | None
    acl_error: str | None = None
    remote_topic_exists: bool | None = None
    worker_log_errors: list[str] = field(default_factory=list)


def diagnose_writes(f: WriteFacts, symptom: str = WRITES_FAILING) -> list[Diagnosis]:
    """Why MM2 polls but does not write: missing ACLs on target, task errors."""
    return conclude(symptom, _causes(f, symptom), lambda: _inspection(f))


def _causes(f: WriteFacts, symptom: str) -> list[Diagnosis]:
    """What the facts point at ([] when nothing)."""
    out: list[Diagnosis] = []
    failed: list[tuple[str, str | None]] = []  # (what, trace) of each FAILED task
    if f.status.status == 200 and isinstance(f.status.body, dict):
        failed = [(f"task {t.get('id', '?')} of {f.connector}", t.get("trace")) for t in f.status.body.get("tasks", [])
                  if t.get("state") == "FAILED"]
    # An authorization error of a client not on the source side: read with MM2's ACLs on target (below); every other
    # FAILED task (its cause classified or not, an authorization error on the source side) by its trace alone.
    denied: list[str] = []
    for what, trace in failed:
        read = read_trace(trace)
        if read.failure == "authorization" and read.side != "source":
            denied.append(trace_evidence(what, read))
        else:
            out.append(trace_diagnosis(symptom, what, trace, connector=f.connector,
                                       principal=f.principal or "MM2's principal"))
    auth = denied[0] if denied else None
    if f.acls is not None:
        can_write = acl_allows(f.acls, f.principal, "TOPIC", f.remote_topic, "WRITE")
        if not can_write:
            out.append(Diagnosis(symptom, ACL_ON_TARGET, f"{f.principal} may not WRITE {f.remote_topic} on target",
                                 f"target ACLs of {f.principal}: no ALLOW WRITE matches {f.remote_topic}"
                                 + (f"; {auth}" if auth else ""),
                                 f"grant it: kafka-acls --add --allow-principal {f.principal} --operation Write "
                                 f"--topic {f.remote_topic.split('.')[0]}. --resource-pattern-type prefixed; "
                                 "then restart the failed task", 92))
    elif f.acl_error:
        out.append(Diagnosis(symptom, ACL_ON_TARGET if auth else DIAGNOSTIC_FAILED,
                             "target ACLs could not be read" + ("; an MM2 task failed with an authorization error"
                                                                if auth else ""),
                             f.acl_error + (f"; {auth}" if auth else ""), "grant the smoke test's principal DESCRIBE "
                             "on the target cluster to let it read ACLs; check MM2's ACLs by hand", 70 if auth else 20))
    if auth and not any(d.cause_id == ACL_ON_TARGET for d in out):
        out.append(Diagnosis(symptom, ACL_ON_TARGET, "MM2's task fails with an authorization error on target", auth,
                             f"check {f.principal}'s ACLs on target", 85))
    if f.status.status is None:
        out.append(Diagnosis(symptom, WORKER_DOWN, "the Kafka Connect worker running MM2 is unreachable",
                             f"Connect REST: {f.status.error}", "start the Connect worker", 90))
    return out


def _inspection(f: WriteFacts) -> Inspection:
    """What the writes diagnostic inspected, and what it could not."""
    inspected, not_inspected = [], []
    if f.status.status == 200:
        inspected.append(f"Connect REST status of {f.connector}: no FAILED task")
    else:
        not_inspected.append(f"Connect REST status of {f.connector} (HTTP {f.status.status})")
    if f.acls is not None:
        inspected.append(f"{f.principal}'s ACLs on target (WRITE on {f.remote_topic} allowed)")
    else:
        not_inspected.append(f"{f.principal}'s ACLs on target ({f.acl_error or 'not read'})")
    if f.remote_topic_exists is None:
        not_inspected.append(f"whether {f.remote_topic} exists on target")
    else:
        inspected.append(f"{f.remote_topic} {'exists' if f.remote_topic_exists else 'does not exist'} on target")
    return Inspection(inspected, not_inspected)

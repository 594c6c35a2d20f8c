"""Why MM2 polls but does not write (runbook "write = 0, poll > 0"): MM2's ACLs on target, its tasks' errors,
the Connect worker.

Pure: facts in (Connect REST answers, Kafka admin answers), diagnoses out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mm2_smoke.diagnosis.base import (
    ACL_ON_TARGET,
    DIAGNOSTIC_FAILED,
    TASK_ERROR,
    WORKER_DOWN,
    WRITES_FAILING,
    Acl,
    Diagnosis,
    Inspection,
    acl_allows,
    conclude,
)
from mm2_smoke.measured import HttpAnswer


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


_AUTH_ERROR = re.compile(r"(TopicAuthorization|ClusterAuthorization|Authorization)Exception[^\n]*")


def diagnose_writes(f: WriteFacts, symptom: str = WRITES_FAILING) -> list[Diagnosis]:
    """Why MM2 polls but does not write: missing ACLs on target, task errors."""
    return conclude(symptom, _causes(f, symptom), lambda: _inspection(f))


def _causes(f: WriteFacts, symptom: str) -> list[Diagnosis]:
    """What the facts point at ([] when nothing)."""
    out: list[Diagnosis] = []
    traces = []
    if f.status.status == 200 and isinstance(f.status.body, dict):
        traces = [t.get("trace") or "" for t in f.status.body.get("tasks", []) if t["state"] == "FAILED"]
    auth = next((m.group(0) for t in traces if (m := _AUTH_ERROR.search(t))), None)
    if f.acls is not None:
        can_write = acl_allows(f.acls, f.principal, "TOPIC", f.remote_topic, "WRITE")
        if not can_write:
            out.append(Diagnosis(symptom, ACL_ON_TARGET, f"{f.principal} may not WRITE {f.remote_topic} on target",
                                 f"target ACLs of {f.principal}: no ALLOW WRITE matches {f.remote_topic}"
                                 + (f"; task error: {auth}" if auth else ""),
                                 f"grant it: kafka-acls --add --allow-principal {f.principal} --operation Write "
                                 f"--topic {f.remote_topic.split('.')[0]}. --resource-pattern-type prefixed; "
                                 "then restart the failed task", 92))
    elif f.acl_error:
        out.append(Diagnosis(symptom, ACL_ON_TARGET if auth else DIAGNOSTIC_FAILED,
                             "target ACLs could not be read" + (f"; the task failed with {auth}" if auth else ""),
                             f.acl_error, "grant the smoke test's principal DESCRIBE on the target cluster to let it "
                             "read ACLs; check MM2's ACLs by hand", 70 if auth else 20))
    if auth and not any(d.cause_id == ACL_ON_TARGET for d in out):
        out.append(Diagnosis(symptom, ACL_ON_TARGET, "MM2's task fails with an authorization error on target",
                             f"task trace: {auth}", f"check {f.principal}'s ACLs on target", 85))
    for t in traces:
        if t and not _AUTH_ERROR.search(t):
            first = t.strip().splitlines()[0]
            out.append(Diagnosis(symptom, TASK_ERROR, "an MM2 task failed", f"task trace: {first}",
                                 f"fix the error, then POST /connectors/{f.connector}/restart?includeTasks=true"
                                 "&onlyFailed=true", 65))
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

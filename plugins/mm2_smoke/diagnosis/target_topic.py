"""Why nothing arrived on the target (runbook "0 msg on target"): the remote topic does not exist there, MM2 could
not create it (its CREATE ACL, the broker's auto-create), or it is named otherwise (replication policy, alias).

Pure: facts in (the target's metadata, ACLs and broker config), diagnoses out.
"""

from __future__ import annotations

from dataclasses import dataclass

from mm2_smoke.diagnosis.base import (
    DIAGNOSTIC_FAILED,
    NOTHING_ON_TARGET,
    TOPIC_NOT_CREATED,
    Acl,
    Diagnosis,
    Inspection,
    acl_allows,
    conclude,
)


@dataclass(frozen=True)
class TargetTopicFacts:
    principal: str
    remote_topic: str
    remote_topic_exists: bool | None
    similar_topics: list[str]
    auto_create: str | None
    acls: list[Acl] | None
    acl_error: str | None = None
    metadata_error: str | None = None


def diagnose_target_topic(f: TargetTopicFacts, symptom: str = NOTHING_ON_TARGET) -> list[Diagnosis]:
    """Why nothing arrived on the target: the remote topic was not created, or is named otherwise."""
    return conclude(symptom, _causes(f, symptom),
                    lambda: Inspection([f"target metadata: {f.remote_topic} exists"]))


def _causes(f: TargetTopicFacts, symptom: str) -> list[Diagnosis]:
    """What the facts point at: [] when the remote topic exists (then it is not the cause)."""
    if f.remote_topic_exists is None:
        return [Diagnosis(symptom, DIAGNOSTIC_FAILED, "the target's topics could not be listed",
                          f.metadata_error or "", "check the kafka_target connection", 15)]
    if f.remote_topic_exists:
        return []
    reasons = []
    if f.acls is not None and not acl_allows(f.acls, f.principal, "TOPIC", f.remote_topic, "CREATE"):
        reasons.append(f"{f.principal} lacks CREATE on {f.remote_topic}")
    if f.auto_create is not None:
        reasons.append(f"auto.create.topics.enable={f.auto_create}")
    cause = f"the remote topic {f.remote_topic} does not exist on target"
    if reasons:
        cause += ": MM2 could not create it (" + "; ".join(reasons) + ")"
    evidence = f"target metadata has no {f.remote_topic}"
    if f.similar_topics:
        evidence += f"; similar topics: {', '.join(f.similar_topics[:5])} (check the replication policy / alias)"
    return [Diagnosis(symptom, TOPIC_NOT_CREATED, cause, evidence,
                      f"grant {f.principal} CREATE on the remote topics' prefix on target (or create "
                      f"{f.remote_topic} by hand); MM2 creates it at its next topics refresh", 93)]

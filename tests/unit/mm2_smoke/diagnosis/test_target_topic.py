"""Each target topic rule on answers recorded from the live stack
(runbook "0 msg on target": Kafka admin API)."""

from __future__ import annotations

from mm2_smoke.diagnosis.base import NO_CAUSE_FOUND, TOPIC_NOT_CREATED
from mm2_smoke.diagnosis.target_topic import TargetTopicFacts, diagnose_target_topic
from tests.unit.mm2_smoke.diagnosis.conftest import MM2_ACLS, REMOTE, TOPIC, first


def test_remote_topic_missing_and_create_denied() -> None:
    acls = [a for a in MM2_ACLS if a.operation != "CREATE"]
    f = TargetTopicFacts("User:mm2", REMOTE, False, ["other." + TOPIC], "false", acls)
    d = first(diagnose_target_topic(f))
    assert d.cause_id == TOPIC_NOT_CREATED
    assert "lacks CREATE" in d.cause and "auto.create.topics.enable=false" in d.cause
    assert "other." + TOPIC in d.evidence


def test_remote_topic_present_is_not_the_cause() -> None:
    [d] = diagnose_target_topic(TargetTopicFacts("User:mm2", REMOTE, True, [], None, MM2_ACLS))
    assert d.cause_id == NO_CAUSE_FOUND and f"{REMOTE} exists" in d.evidence

"""Why a flow is not READY to fail over (``readiness_causes``): one test per rule, with its cause id, component and
class, whether it is proven, its evidence and its fix; then the failover task's ``conclude`` (the Kafka reads faked):
the verdict follows proof (UNKNOWN becomes NOT READY when a cause is proven), never READY with a message lost."""

from __future__ import annotations

import time
from typing import Any

import pytest

from mm2_smoke import failover_check
from mm2_smoke.diagnosis.base import (
    CHECKPOINT_CONNECTOR,
    CHECKPOINT_LATE,
    CHECKPOINTS_DISABLED,
    CHECKPOINTS_DOWN,
    CHECKPOINTS_FAILED,
    DOWN,
    FAILED,
    GROUP_FILTERED,
    GROUP_NOT_LEARNT,
    HEARTBEAT_CONNECTOR,
    HEARTBEATS_STALE,
    IN_USE,
    LAGGING,
    MISCONFIGURATION,
    NO_CAUSE_FOUND,
    NOT_INSPECTED,
    NOT_YET,
    OFFSET_SYNCS,
    OFFSET_SYNCS_MISSING,
    TARGET_GROUP,
    TARGET_GROUP_ACTIVE,
    TRANSLATION_GAP,
    UNATTRIBUTED,
    Diagnosis,
)
from mm2_smoke.diagnosis.failover import NOT_READY_SYMPTOM, FailoverFacts, readiness_causes
from mm2_smoke.failover_check import CheckpointConfig, Commit
from mm2_smoke.measured import HttpAnswer
from mm2_smoke.naming import failover_group
from mm2_smoke.readiness import NOT_READY, READY, UNKNOWN

FLOW = "A->B"
GROUP = failover_group("mm2_smoke_test", "A", "B")
CP, HB = "A->B.MirrorCheckpointConnector", "A->B.MirrorHeartbeatConnector"
REST = "Connect REST"
SYNCS = "mm2-offset-syncs.B.internal"
STALE = "partition 0: the newest checkpoint is stale: upstream offset 105, the group committed 110"
NO_CHECKPOINT = "partition 0: no checkpoint for the group (committed 110)"


def _config(connector: str = CP, state: str = "RUNNING", trace: str = "", read_from: str = REST,
            heartbeat_state: str = "RUNNING", **settings: str) -> dict[str, Any]:
    """The facts' config as the failover task builds it: the config's dict with what it resolves."""
    c = CheckpointConfig(connector, state, trace, dict(settings), (GROUP,), HB if read_from == REST else "",
                         heartbeat_state if read_from == REST else "", read_from)
    return {**c.to_dict(), "rest_read": c.rest_read, "emit_enabled": c.emit_enabled, "sync_enabled": c.sync_enabled,
            "group_filtered": c.group_filtered(GROUP), "offset_lag_max": c.offset_lag_max}


def _facts(verdict: str = NOT_READY, reasons: tuple[str, ...] = (NO_CHECKPOINT,), **kw: Any) -> FailoverFacts:
    """A flow whose facts are healthy but for what ``kw`` says."""
    base: dict[str, Any] = {"config": _config(), "would_reread": 0, "reread_max": 100, "synced_on_target": None,
                            "target_state": "EMPTY", "heartbeat_age_s": 2.0, "heartbeat_bound_s": 10.0,
                            "offset_syncs": True, "offset_syncs_topic": SYNCS, "group_known": True, "unread": ()}
    return FailoverFacts(FLOW, GROUP, verdict, reasons, **{**base, **kw})


def _ids(found: list[Diagnosis]) -> list[str]:
    return [d.cause_id for d in found]


#: One scenario per rule: facts -> (cause id, component, class, certain) of its first diagnosis.
RULES: dict[str, tuple[Any, tuple[str, str, str, bool]]] = {
    "no checkpoint connector": (lambda: _facts(config=_config(connector="", state="")),
                                (CHECKPOINTS_DOWN, CHECKPOINT_CONNECTOR, DOWN, True)),
    "paused": (lambda: _facts(config=_config(state="PAUSED")), (CHECKPOINTS_DOWN, CHECKPOINT_CONNECTOR, DOWN, True)),
    "stopped": (lambda: _facts(config=_config(state="STOPPED")),
                (CHECKPOINTS_DOWN, CHECKPOINT_CONNECTOR, DOWN, True)),
    "failed": (lambda: _facts(config=_config(state="FAILED", trace="java.lang.IllegalStateException: boom")),
               (CHECKPOINTS_FAILED, CHECKPOINT_CONNECTOR, FAILED, True)),
    "emit disabled": (lambda: _facts(config=_config(**{"emit.checkpoints.enabled": "false"})),
                      (CHECKPOINTS_DISABLED, CHECKPOINT_CONNECTOR, MISCONFIGURATION, True)),
    "group filtered": (lambda: _facts(UNKNOWN, config=_config(**{"groups.exclude": "mm2-smoke-.*"}),
                                      group_known=False),
                       (GROUP_FILTERED, CHECKPOINT_CONNECTOR, MISCONFIGURATION, True)),
    "group filtered, REST not read": (
        lambda: _facts(config=_config(read_from="MM2's defaults (Connect REST: no Connect REST)", connector="",
                                      state="", **{"groups": "other-.*"}), group_known=None),
        (GROUP_FILTERED, CHECKPOINT_CONNECTOR, MISCONFIGURATION, False)),
    "offset syncs absent": (lambda: _facts(offset_syncs=False),
                            (OFFSET_SYNCS_MISSING, OFFSET_SYNCS, MISCONFIGURATION, True)),
    "translation gap": (lambda: _facts(reasons=("a switch now would re-read 250 message(s), more than 100 "
                                                "(offset.lag.max: the translation gap)",), would_reread=250),
                        (TRANSLATION_GAP, OFFSET_SYNCS, LAGGING, False)),
    "target group stable": (lambda: _facts(reasons=("partition 0: the target group's offset is 3, not the "
                                                    "translation 510",), synced_on_target=False,
                                           target_state="STABLE"),
                            (TARGET_GROUP_ACTIVE, TARGET_GROUP, IN_USE, True)),
    "heartbeats stale, connector paused": (
        lambda: _facts(reasons=("the newest heartbeat is 300 s old",), config=_config(heartbeat_state="PAUSED"),
                       heartbeat_age_s=300.0),
        (HEARTBEATS_STALE, HEARTBEAT_CONNECTOR, DOWN, True)),
    "heartbeats stale, connector running": (
        lambda: _facts(reasons=("the newest heartbeat is 300 s old",), heartbeat_age_s=300.0),
        (HEARTBEATS_STALE, HEARTBEAT_CONNECTOR, LAGGING, False)),
    "group not learnt": (lambda: _facts(UNKNOWN, ("MM2 has not learnt the group yet",), group_known=False),
                         (GROUP_NOT_LEARNT, CHECKPOINT_CONNECTOR, NOT_YET, False)),
    "checkpoint late": (lambda: _facts(reasons=(STALE,)), (CHECKPOINT_LATE, CHECKPOINT_CONNECTOR, LAGGING, False)),
    "unknown, unread": (lambda: _facts(UNKNOWN, ("no heartbeat of the flow was read on the target",),
                                       heartbeat_age_s=None, unread=("heartbeats on target: absent",)),
                        (NO_CAUSE_FOUND, UNATTRIBUTED, NOT_INSPECTED, False)),
}


@pytest.mark.parametrize("rule", list(RULES))
def test_each_rule_names_its_cause_component_and_class(rule: str) -> None:
    facts, (cause_id, component, cause_class, certain) = RULES[rule]
    found = readiness_causes(facts())
    d = found[0]
    assert (d.cause_id, d.component, d.cause_class, d.certain) == (cause_id, component, cause_class, certain), found
    for each in found:
        assert each.symptom == NOT_READY_SYMPTOM
        assert each.evidence.strip() and each.action.strip() and each.cause.strip()
        assert "{connector}" not in each.action and "{principal}" not in each.action


def test_ready_has_no_cause() -> None:
    assert readiness_causes(_facts(READY, ())) == []
    # Even with what would otherwise be a cause: READY is judged elsewhere, and never explained away here.
    assert readiness_causes(_facts(READY, (), config=_config(state="PAUSED"), unread=("x",))) == []


def test_no_checkpoint_connector_read_over_rest_is_proven_down() -> None:
    (d,) = readiness_causes(_facts(config=_config(connector="", state="")))
    assert d.cause_id == CHECKPOINTS_DOWN and d.score == 95 and FLOW in d.cause and FLOW in d.evidence
    assert "MirrorCheckpointConnector" in d.cause
    # Connect REST not read (dedicated mode): no connector is no proof of none.
    found = readiness_causes(_facts(config=_config(connector="", state="", read_from="MM2's defaults (x)")))
    assert CHECKPOINTS_DOWN not in _ids(found)


def test_a_paused_checkpoint_connector_is_down_and_its_fix_resumes_it() -> None:
    found = readiness_causes(_facts(config=_config(state="PAUSED")))
    assert _ids(found) == [CHECKPOINTS_DOWN]  # the proof stands alone: no "late" row beside it
    d = found[0]
    assert "PAUSED" in d.cause and f"GET /connectors/{CP}/status: PAUSED" == d.evidence
    assert f"PUT /connectors/{CP}/resume" in d.action


def test_a_failed_checkpoint_connector_gives_its_trace() -> None:
    (d,) = readiness_causes(_facts(config=_config(state="FAILED", trace="java.lang.IllegalStateException: boom")))
    assert d.cause_id == CHECKPOINTS_FAILED and "java.lang.IllegalStateException: boom" in d.evidence
    assert f"/connectors/{CP}/restart" in d.action
    (bare,) = readiness_causes(_facts(config=_config(state="FAILED")))
    assert "no trace" in bare.evidence


def test_checkpoints_disabled() -> None:
    (d,) = readiness_causes(_facts(config=_config(**{"emit.checkpoints.enabled": "false"})))
    assert d.cause_id == CHECKPOINTS_DISABLED and "emit.checkpoints.enabled=false" in d.evidence
    assert "emit.checkpoints.enabled=true" in d.action and CP in d.action
    # Not said of a connector that is not there.
    found = readiness_causes(_facts(config=_config(connector="", state="", **{"emit.checkpoints.enabled": "false"})))
    assert CHECKPOINTS_DISABLED not in _ids(found)


def test_a_group_filtered_out_scores_lower_when_rest_was_not_read() -> None:
    (rest,) = readiness_causes(_facts(UNKNOWN, config=_config(**{"groups.exclude": "mm2-smoke-.*"}),
                                      group_known=False))
    assert rest.cause_id == GROUP_FILTERED and rest.score == 95 and rest.certain
    assert GROUP in rest.cause and "groups.exclude='mm2-smoke-.*'" in rest.evidence and CP in rest.action
    defaults = readiness_causes(_facts(config=_config(read_from="MM2's defaults (x)", connector="", state="",
                                                      **{"groups": "other-.*"}), group_known=None))
    (filtered,) = [d for d in defaults if d.cause_id == GROUP_FILTERED]
    assert filtered.score == 70 and not filtered.certain and "does not match" in filtered.evidence
    # A group filtered out is not "not learnt yet": that row would send the user waiting for nothing.
    assert GROUP_NOT_LEARNT not in _ids(readiness_causes(
        _facts(UNKNOWN, config=_config(**{"groups.exclude": "mm2-smoke-.*"}), group_known=False)))


@pytest.mark.parametrize("location", ["source", "target"])
def test_offset_syncs_absent_names_the_topic_and_its_cluster(location: str) -> None:
    topic = f"mm2-offset-syncs.{'B' if location == 'source' else 'A'}.internal"
    (d,) = readiness_causes(_facts(offset_syncs=False, offset_syncs_topic=topic,
                                   config=_config(**{"offset-syncs.topic.location": location})))
    assert d.cause_id == OFFSET_SYNCS_MISSING and d.certain and topic in d.cause and topic in d.evidence
    assert f"offset-syncs.topic.location={location}" in d.evidence
    assert OFFSET_SYNCS_MISSING not in _ids(readiness_causes(_facts(offset_syncs=None)))  # could not tell: no cause


def test_a_translation_gap_past_the_bound() -> None:
    gap = ("a switch now would re-read 250 message(s), more than 100 (offset.lag.max: the translation gap)",)
    (d,) = readiness_causes(_facts(reasons=gap, would_reread=250, config=_config(**{"offset.lag.max": "500"})))
    assert d.cause_id == TRANSLATION_GAP and "250" in d.cause and "offset.lag.max=500" in d.evidence
    assert TRANSLATION_GAP not in _ids(readiness_causes(_facts(would_reread=100)))  # at the bound: fine


def test_a_target_group_with_members_keeps_mm2_from_syncing_it() -> None:
    (d,) = readiness_causes(_facts(synced_on_target=False, target_state="STABLE"))
    assert d.cause_id == TARGET_GROUP_ACTIVE and "STABLE" in d.cause and "STABLE" in d.evidence
    for state in ("EMPTY", "Dead", ""):  # no members (or not read): not this cause
        assert TARGET_GROUP_ACTIVE not in _ids(readiness_causes(_facts(synced_on_target=False, target_state=state)))
    assert TARGET_GROUP_ACTIVE not in _ids(readiness_causes(_facts(synced_on_target=True, target_state="STABLE")))


def test_stale_heartbeats_blame_a_stopped_heartbeat_connector_or_say_they_lag() -> None:
    old = ("the newest heartbeat is 300 s old (more than 10 s): MM2 may not be running the flow",)
    (down,) = readiness_causes(_facts(old, config=_config(heartbeat_state="PAUSED"), heartbeat_age_s=300.0))
    assert (down.cause_id, down.cause_class, down.score) == (HEARTBEATS_STALE, DOWN, 90)
    assert HB in down.cause and "300 s old" in down.evidence and "PAUSED" in down.evidence
    assert f"PUT /connectors/{HB}/resume" in down.action
    (lagging,) = readiness_causes(_facts(old, heartbeat_age_s=300.0))
    assert (lagging.cause_id, lagging.cause_class) == (HEARTBEATS_STALE, LAGGING) and not lagging.certain
    assert "300 s old" in lagging.evidence and "bound 10 s" in lagging.evidence
    assert HEARTBEATS_STALE not in _ids(readiness_causes(_facts(heartbeat_age_s=9.9)))
    assert HEARTBEATS_STALE not in _ids(readiness_causes(_facts(heartbeat_age_s=None, unread=("x",))))


def test_a_group_not_learnt_yet_says_when_mm2_learns_it() -> None:
    (d,) = readiness_causes(_facts(UNKNOWN, ("MM2 has not learnt the group yet",), group_known=False,
                                   config=_config(**{"refresh.groups.interval.seconds": "30"})))
    assert d.cause_id == GROUP_NOT_LEARNT and d.score == 40 and not d.certain
    assert "every 30 s" in d.cause and GROUP in d.evidence and "task.assigned.groups" in d.evidence
    assert GROUP_NOT_LEARNT not in _ids(readiness_causes(_facts(UNKNOWN, ("x",), group_known=None, unread=("y",))))


def test_a_late_checkpoint_of_a_running_connector_is_named_but_not_proven() -> None:
    (d,) = readiness_causes(_facts(reasons=(STALE, NO_CHECKPOINT.replace("0", "1", 1), "unrelated")))
    assert d.cause_id == CHECKPOINT_LATE and not d.certain and "RUNNING" in d.cause
    assert STALE in d.evidence and "no checkpoint" in d.evidence and "unrelated" not in d.evidence
    # Beside a proven cause it is not added (the proof explains the stale checkpoint).
    assert _ids(readiness_causes(_facts(reasons=(STALE,), offset_syncs=False))) == [OFFSET_SYNCS_MISSING]
    # A connector that does not run is not "late".
    assert CHECKPOINT_LATE not in _ids(readiness_causes(_facts(reasons=(STALE,), config=_config(state="RESTARTING"))))


def test_what_was_not_read_is_one_row_listing_it() -> None:
    found = readiness_causes(_facts(UNKNOWN, ("no heartbeat of the flow was read on the target",
                                              "partition 0: the switch could not be rehearsed on the target"),
                                    heartbeat_age_s=None,
                                    unread=("heartbeats on target: absent", "this run's messages: KafkaException")))
    assert len(found) == 1
    (d,) = found
    assert (d.cause_id, d.component, d.cause_class, d.certain) == (NO_CAUSE_FOUND, UNATTRIBUTED, NOT_INSPECTED,
                                                                   False)
    assert d.cause == "UNKNOWN: no cause proven"
    for words in ("no heartbeat of the flow", "could not be rehearsed", "could not read: heartbeats on target: absent",
                  "could not read: this run's messages: KafkaException"):
        assert words in d.evidence


def test_what_was_not_read_is_listed_beside_a_cause_and_reasons_no_rule_explains_are_too() -> None:
    found = readiness_causes(_facts(config=_config(state="PAUSED"), unread=("the group on target: timed out",)))
    assert _ids(found) == [CHECKPOINTS_DOWN, NO_CAUSE_FOUND]  # the proof first
    assert found[1].evidence == "could not read: the group on target: timed out"  # reasons explained: not repeated
    (alone,) = readiness_causes(_facts(reasons=("something no rule knows",), config=_config(state="RESTARTING")))
    assert alone.cause_id == NO_CAUSE_FOUND and alone.cause == "NOT READY: no cause proven"
    assert alone.evidence == "something no rule knows"


def test_proven_causes_rank_first() -> None:
    found = readiness_causes(_facts(UNKNOWN, ("x",), group_known=False, would_reread=250, offset_syncs=False,
                                    heartbeat_age_s=300.0))
    assert _ids(found)[0] == OFFSET_SYNCS_MISSING
    assert [d.certain for d in found] == sorted((d.certain for d in found), reverse=True)
    assert set(_ids(found)) == {OFFSET_SYNCS_MISSING, TRANSLATION_GAP, HEARTBEATS_STALE, GROUP_NOT_LEARNT}


# --- conclude: the failover task's judgment, the Kafka reads faked ----------------------------------------------------
SETTINGS = {"source_alias": "A", "target_alias": "B", "failover_check": "on", "heartbeat_max_age_s": 60}
RUN_TAG = "manual__2026-12-01T00:00:00+00:00"
#: 20 of this run's messages on source partition 0 at offsets 100..119, on the target at 500..519; the group committed
#: 110 (half-way).
UPSTREAM = {seq: (0, 100 + seq) for seq in range(20)}
DOWNSTREAM = {seq: (0, 500 + seq) for seq in range(20)}


class FakeConnect:
    def __init__(self, answers: dict[str, HttpAnswer]) -> None:
        self.answers = answers

    def get_json(self, endpoint: str, params: dict[str, Any] | None = None) -> HttpAnswer:
        return self.answers.get(endpoint, HttpAnswer(404, {"error_code": 404}))


def _connect(assigned: str = GROUP, **checkpoint: str) -> FakeConnect:
    def entry(cls: str, **config: str) -> dict[str, Any]:
        return {"info": {"config": {"connector.class": "org.apache.kafka.connect.mirror." + cls,
                                    "source.cluster.alias": "A", "target.cluster.alias": "B", **config}},
                "status": {"connector": {"state": "RUNNING"}, "tasks": [{"id": 0, "state": "RUNNING"}]}}

    body = {"A->B.MirrorSourceConnector": entry("MirrorSourceConnector"),
            CP: entry("MirrorCheckpointConnector", **{"emit.checkpoints.interval.seconds": "5", **checkpoint}),
            HB: entry("MirrorHeartbeatConnector")}
    return FakeConnect({"connectors": HttpAnswer(200, body), f"connectors/{CP}/tasks": HttpAnswer(
        200, [{"id": {"connector": CP, "task": 0}, "config": {"task.assigned.groups": assigned}}])})


@pytest.fixture
def kafka(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The chain's Kafka side as ``prepare`` and ``conclude`` read it (they import these names from
    ``mm2_smoke.failover_check`` when called), healthy until a test says otherwise."""
    held: dict[str, Any] = {"heartbeat": (2.0, ""), "target": ({}, "EMPTY", ""), "syncs": (True, ""),
                            "topic_exists": [], "target_group": 0}

    def commit_half(source, topic, group, run_tag, since_ms, timeout_s=30):
        assert run_tag == RUN_TAG
        return Commit(group, {0: 110}, dict(UPSTREAM), int(time.time() * 1000))

    def target_group(target, group, remote_topic, timeout_s=10):
        held["target_group"] += 1
        return held["target"]

    def topic_exists(hook, topic, timeout_s=10):
        held["topic_exists"].append((hook, topic))
        return held["syncs"]

    monkeypatch.setattr(failover_check, "commit_half", commit_half)
    monkeypatch.setattr(failover_check, "downstream_messages", lambda *a, **k: dict(DOWNSTREAM))
    monkeypatch.setattr(failover_check, "flow_heartbeat_age_s", lambda *a, **k: held["heartbeat"])
    monkeypatch.setattr(failover_check, "target_group", target_group)
    monkeypatch.setattr(failover_check, "topic_exists", topic_exists)
    return held


def _prepare(connect: FakeConnect) -> dict[str, Any]:
    from mm2_smoke.failover_task import prepare

    produced = {"delivered": 20, "topic": "test-prometheus.generated-data-01.json", "run_tag": RUN_TAG,
                "started_ms": int(time.time() * 1000) - 10_000}
    state = prepare(SETTINGS, produced, "mm2_smoke_test", RUN_TAG, connect, "source-hook")
    assert state is not None and state["group"] == GROUP
    return state


def _conclude(state: dict[str, Any], checkpoints: dict[int, tuple[int, int]], **last: Any) -> dict[str, Any]:
    from mm2_smoke.failover_task import conclude
    from mm2_smoke.settings import from_params

    now_ms = time.time() * 1000
    seen = {"done": bool(checkpoints), "checkpoints_error": "", **last,
            "checkpoints": {str(p): [u, d, now_ms - 1500] for p, (u, d) in checkpoints.items()}}
    return conclude(from_params(SETTINGS), state, seen, "source-hook", "target-hook")


def test_healthy_facts_are_ready_with_nothing_lost(kafka: dict[str, Any]) -> None:
    state = _prepare(_connect())
    assert state["bound_s"] == 5 + failover_check.WAIT_MARGIN_S  # group known, no sync: one emit interval
    r = _conclude(state, {0: (110, 510)})
    assert r["verdict"] == READY, r["reasons"]
    assert (r["would_lose"], r["would_reread"], r["translated"]) == (0, 0, {"0": 510})
    assert r["diagnoses"] == [] and r["reasons"] == [] and r["group"] == GROUP and r["reread_max"] == 100
    assert r["config_from"] == REST and kafka["topic_exists"] == []  # READY: nothing to explain


def test_with_group_sync_the_waits_last_look_at_the_target_group_is_used(kafka: dict[str, Any]) -> None:
    state = _prepare(_connect(**{"sync.group.offsets.enabled": "true"}))
    assert state["sync"] is True
    r = _conclude(state, {0: (110, 510)}, target_offsets={"0": 510}, target_state="EMPTY", target_error="")
    assert r["verdict"] == READY and r["synced_on_target"] is True and kafka["target_group"] == 0


def test_a_translation_ahead_of_the_commit_is_never_ready(kafka: dict[str, Any]) -> None:
    state = _prepare(_connect())
    r = _conclude(state, {0: (110, 515)})  # MM2 says 110 is 515 on the target: 510..514 would be skipped
    assert r["verdict"] == NOT_READY and r["would_lose"] == 5 and "lose 5" in r["reasons"][0]
    # Nor when something else could not be read: a loss is proof enough.
    kafka["heartbeat"] = (None, "heartbeats on target: absent")
    r = _conclude(state, {0: (110, 515)})
    assert r["verdict"] == NOT_READY and r["would_lose"] == 5


def test_a_group_filtered_out_turns_unknown_into_not_ready(kafka: dict[str, Any]) -> None:
    state = _prepare(_connect(assigned="", **{"groups.exclude": "mm2-smoke-failover\\..*"}))
    assert state["bound_s"] == 0.0 and state["deadline"] <= time.time() + 1  # hopeless: no wait
    r = _conclude(state, {})  # no checkpoint came (none can)
    assert r["verdict"] == NOT_READY
    assert r["reasons"][0].startswith("NOT READY, not UNKNOWN") and GROUP in r["reasons"][0]
    assert any("not learnt" in reason for reason in r["reasons"][1:])  # the judgment's own reasons kept
    first = r["diagnoses"][0]
    assert first["cause_id"] == GROUP_FILTERED and first["score"] == 95 and first["flow"] == FLOW
    assert GROUP_NOT_LEARNT not in [d["cause_id"] for d in r["diagnoses"]]
    assert kafka["topic_exists"] == [("source-hook", SYNCS)]  # offset syncs on the source by default


def test_unknown_without_proof_stays_unknown(kafka: dict[str, Any]) -> None:
    state = _prepare(_connect(assigned="other"))  # MM2 has not learnt the group yet: not a fault
    r = _conclude(state, {})
    assert r["verdict"] == UNKNOWN, r["reasons"]
    assert not any(reason.startswith("NOT READY, not UNKNOWN") for reason in r["reasons"])
    assert r["diagnoses"][0]["cause_id"] == GROUP_NOT_LEARNT
    kafka["heartbeat"] = (None, "heartbeats on target: absent")
    r = _conclude(_prepare(_connect()), {0: (110, 510)})
    assert r["verdict"] == UNKNOWN
    assert [d["cause_id"] for d in r["diagnoses"]] == [NO_CAUSE_FOUND]
    assert "could not read: heartbeats on target: absent" in r["diagnoses"][0]["evidence"]


def test_a_target_group_left_past_the_translation_is_where_a_switch_starts_and_is_named(kafka: dict[str, Any]) -> None:
    """With group sync, a switched consumer starts at the group's own offset on the target; one left past the
    translation (a recreated remote topic keeps the old, larger offset; MM2 never moves it back) skips what the group
    had not consumed: NOT READY with the loss counted from there, and the cause named."""
    from mm2_smoke.diagnosis.base import TARGET_GROUP_AHEAD

    state = _prepare(_connect(**{"sync.group.offsets.enabled": "true"}))
    r = _conclude(state, {0: (110, 510)}, target_offsets={"0": 1415}, target_state="EMPTY", target_error="")
    assert r["verdict"] == NOT_READY and r["would_lose"] and r["would_lose"] > 0, r
    first = r["diagnoses"][0]
    assert first["cause_id"] == TARGET_GROUP_AHEAD and "1415" in first["evidence"] and "510" in first["evidence"]
    assert first["component"] == "target_group" and first["cause_class"] == "ahead"

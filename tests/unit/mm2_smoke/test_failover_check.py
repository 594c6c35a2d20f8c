"""Failover readiness, the reading side (no Kafka, no Connect): the checkpoint config as Connect REST shows it (MM2's
defaults where it cannot), MM2's group filters, when waiting cannot help, the wait's bound, the flow's internal topics,
heartbeat keys, and one look of the wait (``poll``) with the Kafka reads faked."""

from __future__ import annotations

import json
import struct
from typing import Any

import pytest

from mm2_smoke import failover_check
from mm2_smoke.failover import Checkpoint, Placed
from mm2_smoke.failover_check import (
    DEFAULT_GROUPS_EXCLUDE,
    DEFAULTS,
    WAIT_MARGIN_S,
    CheckpointConfig,
    Commit,
    _heartbeat_key,
    fresh,
    placed,
    poll,
    read_config,
    topics_of,
)
from mm2_smoke.measured import HttpAnswer

GROUP = "mm2-smoke-failover.mm2_smoke_test.A.B"
REST = "Connect REST"
MIRROR = "org.apache.kafka.connect.mirror."


# --- CheckpointConfig ----------------------------------------------------------------------------------------------
def test_mm2s_defaults_stand_when_nothing_was_read() -> None:
    c = CheckpointConfig()
    assert all(c.get(k) == v for k, v in DEFAULTS.items())
    assert c.emit_enabled and not c.sync_enabled and c.offset_lag_max == 100
    assert c.seconds("emit.checkpoints.interval.seconds") == 60.0
    assert c.seconds("refresh.groups.interval.seconds") == 600.0
    assert not c.rest_read and c.group_known(GROUP) is None
    assert c.group_filtered(GROUP) == ""  # the smoke test's group passes MM2's default filters


def test_unreadable_numbers_fall_back_to_mm2s_defaults() -> None:
    c = CheckpointConfig(settings={"emit.checkpoints.interval.seconds": "soon", "offset.lag.max": "many"})
    assert c.seconds("emit.checkpoints.interval.seconds") == 60.0 and c.offset_lag_max == 100


@pytest.mark.parametrize("value, enabled", [("false", False), (" FALSE ", False), ("true", True), ("", True)])
def test_emit_is_on_unless_said_false(value: str, enabled: bool) -> None:
    assert CheckpointConfig(settings={"emit.checkpoints.enabled": value}).emit_enabled is enabled


@pytest.mark.parametrize("value, enabled", [("true", True), ("True ", True), ("false", False), ("yes", False)])
def test_group_sync_is_on_only_when_said_true(value: str, enabled: bool) -> None:
    assert CheckpointConfig(settings={"sync.group.offsets.enabled": value}).sync_enabled is enabled


@pytest.mark.parametrize("group", ["connect-mm2", "console-consumer-4711", "__consumer_offsets_reader"])
def test_mm2s_default_exclusions_filter_their_groups(group: str) -> None:
    why = CheckpointConfig().group_filtered(group)
    assert why.startswith("groups.exclude=") and group in why and repr(DEFAULT_GROUPS_EXCLUDE) in why


@pytest.mark.parametrize("groups, exclude, filtered, words", [
    (".*", "", False, ""),
    ("mm2-smoke-failover\\..*", "", False, ""),
    ("other, mm2-smoke-failover\\..*", "", False, ""),  # a comma list: any pattern lets it through
    ("mm2-smoke", "", True, "does not match"),  # fullmatch: a prefix is not enough
    ("failover", "", True, "does not match"),  # fullmatch: nor a substring
    ("", "", True, "does not match"),  # no pattern lets nothing through
    (".*", "connect-.*, mm2-smoke-failover\\..*", True, "matches"),
    (".*", "  ,mm2-smoke-failover\\..*,  ", True, "(mm2-smoke-failover\\..*)"),  # the matching pattern named
    ("mm2-smoke-failover\\..*", ".*\\.A\\.B", True, "groups.exclude"),  # the exclusion wins over groups
])
def test_groups_and_groups_exclude_are_comma_lists_of_regexes_matched_whole(groups, exclude, filtered, words) -> None:
    why = CheckpointConfig(settings={"groups": groups, "groups.exclude": exclude}).group_filtered(GROUP)
    assert bool(why) is filtered, why
    assert words in why


@pytest.mark.parametrize("groups, exclude, filtered", [
    ("[unclosed", "", True),  # no valid pattern lets it through
    ("[unclosed, .*", "", False),  # the valid one does
    (".*", "(bad, [also", False),  # a bad exclusion excludes nothing
])
def test_a_bad_regex_never_crashes(groups: str, exclude: str, filtered: bool) -> None:
    why = CheckpointConfig(settings={"groups": groups, "groups.exclude": exclude}).group_filtered(GROUP)
    assert bool(why) is filtered


def test_group_known_from_the_tasks_assigned_groups() -> None:
    assert CheckpointConfig(assigned_groups=(GROUP, "other")).group_known(GROUP) is True
    assert CheckpointConfig(assigned_groups=()).group_known(GROUP) is False
    assert CheckpointConfig(assigned_groups=None).group_known(GROUP) is None


@pytest.mark.parametrize("state", ["PAUSED", "STOPPED", "UNASSIGNED", "FAILED"])
def test_a_stopped_or_failed_connector_is_hopeless(state: str) -> None:
    why = CheckpointConfig("A->B.MirrorCheckpointConnector", state, read_from=REST).hopeless(GROUP)
    assert why == f"A->B.MirrorCheckpointConnector is {state}"


def test_what_else_makes_waiting_hopeless_and_what_does_not() -> None:
    name = "A->B.MirrorCheckpointConnector"
    assert "emit.checkpoints.enabled=false" in CheckpointConfig(
        name, "RUNNING", settings={"emit.checkpoints.enabled": "false"}, read_from=REST).hopeless(GROUP)
    assert "groups.exclude" in CheckpointConfig(
        name, "RUNNING", settings={"groups.exclude": "mm2-smoke-.*"}, read_from=REST).hopeless(GROUP)
    assert CheckpointConfig(name, "RUNNING", read_from=REST).hopeless(GROUP) == ""
    # Connect REST read and no checkpoint connector for the flow: nothing will ever checkpoint the group.
    assert "no MirrorCheckpointConnector" in CheckpointConfig(read_from=REST).hopeless(GROUP)
    assert CheckpointConfig(name, "RUNNING (no task)", read_from=REST).hopeless(GROUP) == ""
    assert CheckpointConfig(name, "RESTARTING", read_from=REST).hopeless(GROUP) == ""
    # Not read over Connect REST (dedicated mode, REST down): MM2's defaults are no proof, the wait goes on.
    assert CheckpointConfig(name, "PAUSED", read_from="MM2's defaults (Connect REST: HTTP 500)").hopeless(GROUP) == ""
    assert CheckpointConfig(settings={"groups.exclude": "mm2-smoke-.*"}).hopeless(GROUP) == ""


def test_the_wait_bound_adds_emit_sync_and_refresh_intervals_under_the_ceiling() -> None:
    plain = CheckpointConfig(settings={"emit.checkpoints.interval.seconds": "5",
                                       "sync.group.offsets.interval.seconds": "7",
                                       "refresh.groups.interval.seconds": "30"})
    assert plain.wait_bound_s(True, 900) == 5 + WAIT_MARGIN_S
    assert plain.wait_bound_s(False, 900) == 5 + WAIT_MARGIN_S + 30  # MM2 must learn the group first
    assert plain.wait_bound_s(None, 900) == 5 + WAIT_MARGIN_S + 30  # not known to be learnt
    synced = CheckpointConfig(settings={**plain.settings, "sync.group.offsets.enabled": "true"})
    assert synced.wait_bound_s(True, 900) == 5 + WAIT_MARGIN_S + 7
    assert synced.wait_bound_s(None, 900) == 5 + WAIT_MARGIN_S + 7 + 30
    assert synced.wait_bound_s(None, 20) == 20  # the ceiling (failover_timeout_s) caps it
    assert CheckpointConfig().wait_bound_s(None, 900) == 60 + WAIT_MARGIN_S + 600  # MM2's defaults
    assert CheckpointConfig().wait_bound_s(None, 300) == 300


def test_the_heartbeat_bound_follows_the_heartbeat_connectors_interval() -> None:
    assert CheckpointConfig().heartbeat_bound_s(60) == 60  # no heartbeat connector read: the Param
    hb = "A->B.MirrorHeartbeatConnector"
    assert CheckpointConfig(heartbeat_connector=hb).heartbeat_bound_s(60) == 10  # 1 s interval: 10 s at least
    slow = CheckpointConfig(heartbeat_connector=hb, settings={"emit.heartbeats.interval.seconds": "20"})
    assert slow.heartbeat_bound_s(60) == 3 * 20 + 5


@pytest.mark.parametrize("groups", [None, (), (GROUP, "other")])
def test_the_config_survives_its_dict(groups: tuple[str, ...] | None) -> None:
    c = CheckpointConfig("A->B.MirrorCheckpointConnector", "FAILED", "java.lang.Boom: boom",
                         {"groups": ".*", "emit.checkpoints.interval.seconds": "5"}, groups,
                         "A->B.MirrorHeartbeatConnector", "RUNNING", REST)
    d = c.to_dict()
    assert d["assigned_groups"] == (list(groups) if groups is not None else None)
    assert CheckpointConfig.from_dict(json.loads(json.dumps(d))) == c  # through XCom's JSON too


# --- read_config: Connect REST -------------------------------------------------------------------------------------
def _entry(cls: str, source: str, target: str, state: str = "RUNNING", tasks: list[dict] | None = None,
           **config: str) -> dict[str, Any]:
    cfg = {"connector.class": MIRROR + cls, "source.cluster.alias": source, "target.cluster.alias": target, **config}
    if tasks is None:
        tasks = [{"id": 0, "state": "RUNNING", "worker_id": "connect:8083"}]
    return {"info": {"name": f"{source}->{target}.{cls}", "config": cfg, "tasks": [], "type": "source"},
            "status": {"name": f"{source}->{target}.{cls}", "connector": {"state": state, "worker_id": "connect:8083"},
                       "tasks": tasks, "type": "source"}}


def _chain(**ab_checkpoint: Any) -> dict[str, Any]:
    """``GET connectors?expand=info&expand=status`` of a two-way chain: the other flow (B->A) listed first and
    configured differently, so that a read of A->B that picks the wrong flow shows."""
    cp_state = ab_checkpoint.pop("state", "RUNNING")
    cp_tasks = ab_checkpoint.pop("tasks", None)
    return {
        "B->A.MirrorSourceConnector": _entry("MirrorSourceConnector", "B", "A", **{
            "offset.lag.max": "7", "offset-syncs.topic.location": "source"}),
        "B->A.MirrorCheckpointConnector": _entry("MirrorCheckpointConnector", "B", "A", "PAUSED", [
            {"id": 0, "state": "PAUSED"}], **{"emit.checkpoints.interval.seconds": "99", "groups": "nothing"}),
        "B->A.MirrorHeartbeatConnector": _entry("MirrorHeartbeatConnector", "B", "A", "FAILED",
                                                **{"emit.heartbeats.interval.seconds": "30"}),
        # Not MM2's: the aliases fit, the class does not.
        "A->B.audit": _entry("AuditSinkConnector", "A", "B", "FAILED", **{"groups": "nothing"}),
        "A->B.MirrorSourceConnector": _entry("MirrorSourceConnector", "A", "B", **{
            "offset.lag.max": "50", "offset-syncs.topic.location": "target", "topics": "test-prometheus\\..*",
            "replication.policy.separator": "_"}),
        "A->B.MirrorCheckpointConnector": _entry("MirrorCheckpointConnector", "A", "B", cp_state, cp_tasks, **{
            "emit.checkpoints.interval.seconds": "5", "sync.group.offsets.enabled": "true",
            "sync.group.offsets.interval.seconds": "5", "groups": ".*", "tasks.max": "1", **ab_checkpoint}),
        "A->B.MirrorHeartbeatConnector": _entry("MirrorHeartbeatConnector", "A", "B",
                                                **{"emit.heartbeats.interval.seconds": "2"}),
    }


TASKS = [{"id": {"connector": "A->B.MirrorCheckpointConnector", "task": 0},
          "config": {"task.assigned.groups": f"other-group, {GROUP}", "task.class": "x"}},
         {"id": {"connector": "A->B.MirrorCheckpointConnector", "task": 1},
          "config": {"task.assigned.groups": "third"}}]


class FakeConnect:
    """Connect REST as ``ConnectHook.get_json`` answers: a path's answer, 404 for any other path; the calls kept."""

    def __init__(self, answers: dict[str, HttpAnswer]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, Any]] = []

    def get_json(self, endpoint: str, params: dict[str, Any] | None = None) -> HttpAnswer:
        self.calls.append((endpoint, params))
        return self.answers.get(endpoint, HttpAnswer(404, {"error_code": 404, "message": "not found"}))


def _connect(body: Any = None, tasks: HttpAnswer | None = None) -> FakeConnect:
    return FakeConnect({"connectors": HttpAnswer(200, _chain() if body is None else body),
                        "connectors/A->B.MirrorCheckpointConnector/tasks": tasks or HttpAnswer(200, TASKS)})


def test_read_config_reads_the_flows_own_connectors() -> None:
    connect = _connect()
    c = read_config(connect, "A", "B")
    assert connect.calls[0] == ("connectors", {"expand": ["info", "status"]})
    assert connect.calls[1][0] == "connectors/A->B.MirrorCheckpointConnector/tasks"
    assert (c.connector, c.state, c.trace) == ("A->B.MirrorCheckpointConnector", "RUNNING", "")
    assert (c.heartbeat_connector, c.heartbeat_state) == ("A->B.MirrorHeartbeatConnector", "RUNNING")
    assert c.read_from == REST and c.rest_read
    assert c.assigned_groups == ("other-group", GROUP, "third") and c.group_known(GROUP) is True
    # The checkpoint connector's own settings; offset.lag.max and the offset syncs' location from the flow's
    # MirrorSourceConnector; the heartbeat interval from its heartbeat connector; nothing of B->A's nor the audit's.
    assert c.seconds("emit.checkpoints.interval.seconds") == 5 and c.sync_enabled
    assert c.offset_lag_max == 50 and c.get("offset-syncs.topic.location") == "target"
    assert c.get("replication.policy.separator") == "_"
    assert c.get("emit.heartbeats.interval.seconds") == "2" and c.heartbeat_bound_s(60) == 11
    assert c.get("groups") == ".*" and c.group_filtered(GROUP) == ""
    assert set(c.settings) <= set(DEFAULTS)  # only what the check reads (not topics, tasks.max...)
    assert c.hopeless(GROUP) == ""


def test_read_config_of_the_other_flow() -> None:
    connect = _connect()
    c = read_config(connect, "B", "A")
    assert (c.connector, c.state) == ("B->A.MirrorCheckpointConnector", "PAUSED")
    assert (c.heartbeat_connector, c.heartbeat_state) == ("B->A.MirrorHeartbeatConnector", "FAILED")
    assert c.offset_lag_max == 7 and c.get("offset-syncs.topic.location") == "source"
    assert c.seconds("emit.checkpoints.interval.seconds") == 99 and not c.sync_enabled
    assert connect.calls[1][0] == "connectors/B->A.MirrorCheckpointConnector/tasks"
    assert c.assigned_groups is None  # its tasks' answer is a 404 here: not read, not "no group"
    assert c.hopeless(GROUP) == "B->A.MirrorCheckpointConnector is PAUSED"


@pytest.mark.parametrize("connector, tasks, worst", [
    ("RUNNING", [{"id": 0, "state": "RUNNING"}, {"id": 1, "state": "PAUSED"}], "PAUSED"),
    ("PAUSED", [{"id": 0, "state": "RUNNING"}], "PAUSED"),  # a pause not yet reached its task
    ("RUNNING", [{"id": 0, "state": "UNASSIGNED"}, {"id": 1, "state": "FAILED", "trace": "x"}], "FAILED"),
    ("STOPPED", [], "STOPPED"),
    ("RUNNING", [{"id": 0, "state": "RESTARTING"}], "RESTARTING"),
    ("RUNNING", [], "RUNNING (no task)"),
])
def test_the_state_is_the_worst_of_the_connector_and_its_tasks(connector: str, tasks: list, worst: str) -> None:
    c = read_config(_connect(_chain(state=connector, tasks=tasks)), "A", "B")
    assert c.state == worst


def test_a_failed_task_gives_its_traces_first_line() -> None:
    trace = ("org.apache.kafka.common.errors.GroupAuthorizationException: Not authorized to access group: x\n"
             "\tat org.apache.kafka.connect.mirror.MirrorCheckpointTask.poll(MirrorCheckpointTask.java:1)\n")
    c = read_config(_connect(_chain(tasks=[{"id": 0, "state": "UNASSIGNED", "trace": "an earlier failure"},
                                           {"id": 1, "state": "FAILED", "trace": trace}])), "A", "B")
    assert c.state == "FAILED" and c.trace == trace.splitlines()[0]
    assert c.hopeless(GROUP) == "A->B.MirrorCheckpointConnector is FAILED"


def test_a_group_filtered_out_on_the_connector_is_read_as_such() -> None:
    c = read_config(_connect(_chain(**{"groups.exclude": "mm2-smoke-failover\\..*"}),
                             HttpAnswer(200, [{"id": {"task": 0}, "config": {"task.assigned.groups": ""}}])), "A", "B")
    assert c.assigned_groups == () and c.group_known(GROUP) is False
    assert "groups.exclude" in c.group_filtered(GROUP) and c.hopeless(GROUP) == c.group_filtered(GROUP)


def test_a_flow_without_checkpoint_connector_reads_as_none() -> None:
    body = {n: e for n, e in _chain().items() if n != "A->B.MirrorCheckpointConnector"}
    connect = _connect(body)
    c = read_config(connect, "A", "B")
    assert (c.connector, c.state, c.assigned_groups) == ("", "", None) and c.rest_read
    assert [call[0] for call in connect.calls] == ["connectors"]  # no tasks of a connector that is not there
    assert c.offset_lag_max == 50  # the flow's MirrorSourceConnector still read


@pytest.mark.parametrize("answer, words", [
    (HttpAnswer(None, error="connection kafka_connect: ConnectionError: refused"), "refused"),
    (HttpAnswer(500, {"error_code": 500}), "HTTP 500"),
    (HttpAnswer(200, ["A->B.MirrorCheckpointConnector"]), "HTTP 200"),  # not the expanded form
])
def test_connect_rest_unreadable_leaves_mm2s_defaults_and_says_why(answer: HttpAnswer, words: str) -> None:
    c = read_config(FakeConnect({"connectors": answer}), "A", "B")
    assert c == CheckpointConfig(read_from=c.read_from)
    assert c.read_from.startswith("MM2's defaults (Connect REST: ") and words in c.read_from
    assert not c.rest_read and c.hopeless(GROUP) == ""


def test_no_connect_rest_at_all() -> None:
    c = read_config(None, "A", "B")
    assert c.read_from == "MM2's defaults (Connect REST: no Connect REST)" and c.settings == {}


# --- fresh, placed, heartbeat keys, topics --------------------------------------------------------------------------
def _cp(partition: int, upstream: int, downstream: int) -> Checkpoint:
    return Checkpoint(GROUP, "A.topic", partition, upstream, downstream)


def test_fresh_only_when_every_committed_partition_has_a_checkpoint_of_the_commit() -> None:
    found = {0: (_cp(0, 10, 110), 1), 1: (_cp(1, 20, 220), 2)}
    assert fresh(found, {0: 10, 1: 20})
    assert fresh(found, {0: 10})  # a checkpoint of another partition does not matter
    assert not fresh(found, {0: 10, 1: 21})  # a stale checkpoint of partition 1
    assert not fresh(found, {0: 10, 2: 5})  # none for partition 2
    assert not fresh({}, {0: 10}) and not fresh(found, {})  # no commit: nothing proves anything


def test_placed_gives_each_runs_message_per_source_partition() -> None:
    commit = Commit(GROUP, {0: 101, 1: 51}, {1: (0, 100), 2: (0, 101), 3: (1, 50), 4: (1, 51)}, 0)
    out = placed(commit, {1: (0, 500), 2: (0, 501), 3: (1, 700)})  # seq 4 not found on the target
    assert out == {0: [Placed(1, 100, 500), Placed(2, 101, 501)], 1: [Placed(3, 50, 700), Placed(4, 51, None)]}
    assert placed(commit, {})[1] == [Placed(3, 50, None), Placed(4, 51, None)]


def test_commit_survives_its_dict() -> None:
    commit = Commit(GROUP, {0: 101, 3: 7}, {1: (0, 100), 9: (3, 6)}, 1_700_000_000_000, "")
    assert Commit.from_dict(json.loads(json.dumps(commit.to_dict()))) == commit


def _kstring(s: str) -> bytes:
    raw = s.encode("utf-8")
    return struct.pack(">h", len(raw)) + raw


def test_heartbeat_keys_are_two_kafka_protocol_strings() -> None:
    assert _heartbeat_key(_kstring("A") + _kstring("B")) == ("A", "B")
    assert _heartbeat_key(_kstring("ünïcode-src") + _kstring("tgt")) == ("ünïcode-src", "tgt")
    assert _heartbeat_key(_kstring("") + _kstring("")) == ("", "")


@pytest.mark.parametrize("key", [
    b"",
    b"\x00",
    _kstring("A"),  # one string only
    _kstring("A") + _kstring("B") + b"\x00",  # bytes left over
    _kstring("A") + b"\x00\x05B",  # a length past the end
    _kstring("A") + b"\x00\x02\xff\xfe",  # not UTF-8
])
def test_other_heartbeat_keys_are_not_the_flows(key: bytes) -> None:
    assert _heartbeat_key(key) is None


@pytest.mark.parametrize("location, offset_syncs", [("source", "mm2-offset-syncs.B.internal"),
                                                     ("target", "mm2-offset-syncs.A.internal")])
def test_topics_of_the_flow_name_the_offset_syncs_after_the_other_cluster(location: str, offset_syncs: str) -> None:
    config = CheckpointConfig(settings={"offset-syncs.topic.location": location})
    t = topics_of({"source_alias": "A", "target_alias": "B"}, config)
    assert (t.checkpoints, t.offset_syncs, t.heartbeats) == ("A.checkpoints.internal", offset_syncs, "heartbeats")


def test_topics_of_follow_the_separator_read_or_the_runs_own() -> None:
    flow = {"source_alias": "A", "target_alias": "B", "replication_separator": "-"}
    assert topics_of(flow, CheckpointConfig()).checkpoints == "A-checkpoints-internal"  # the run's separator
    read = CheckpointConfig(settings={"replication.policy.separator": "_"})
    assert topics_of(flow, read).offset_syncs == "mm2-offset-syncs_B_internal"  # what the connector says wins
    plain = CheckpointConfig(settings={"replication.policy.separator": "_",
                                       "replication.policy.internal.topic.separator.enabled": "false"})
    assert topics_of(flow, plain).checkpoints == "A.checkpoints.internal"


# --- poll: one look of the wait (the Kafka reads faked) -------------------------------------------------------------
def _state(sync: bool, committed: dict[str, int] | None = None) -> dict[str, Any]:
    return {"group": GROUP, "remote_topic": "A.topic", "checkpoints_topic": "A.checkpoints.internal",
            "committed": committed if committed is not None else {"0": 10, "1": 20}, "since_ms": 0, "sync": sync}


@pytest.fixture
def kafka(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What the fake target holds: the checkpoints (partition -> (upstream, downstream)) and the group there."""
    held: dict[str, Any] = {"checkpoints": {}, "error": "", "offsets": {}, "state": "EMPTY", "target_reads": 0}

    def read_checkpoints(target, checkpoints_topic, group, topic, since_ms, timeout_s=10):
        assert (checkpoints_topic, group, topic) == ("A.checkpoints.internal", GROUP, "A.topic")
        return {p: (_cp(p, u, d), 1000 + p) for p, (u, d) in held["checkpoints"].items()}, held["error"]

    def target_group(target, group, remote_topic, timeout_s=10):
        held["target_reads"] += 1
        return dict(held["offsets"]), held["state"], ""

    monkeypatch.setattr(failover_check, "read_checkpoints", read_checkpoints)
    monkeypatch.setattr(failover_check, "target_group", target_group)
    return held


def test_poll_is_not_done_until_every_checkpoint_is_of_the_commit(kafka: dict[str, Any]) -> None:
    kafka["checkpoints"] = {0: (10, 110)}
    assert poll(None, _state(sync=False))["done"] is False  # partition 1 not checkpointed yet
    kafka["checkpoints"] = {0: (10, 110), 1: (15, 215)}
    out = poll(None, _state(sync=False))
    assert out["done"] is False  # partition 1's checkpoint is of an older commit
    assert out["checkpoints"] == {"0": [10, 110, 1000], "1": [15, 215, 1001]} and out["checkpoints_error"] == ""
    kafka["checkpoints"] = {0: (10, 110), 1: (20, 220)}
    out = poll(None, _state(sync=False))
    assert out["done"] is True and "target_offsets" not in out and kafka["target_reads"] == 0


def test_poll_says_why_the_checkpoints_could_not_be_read(kafka: dict[str, Any]) -> None:
    kafka["error"] = "A.checkpoints.internal on target: absent"
    out = poll(None, _state(sync=False))
    assert out["done"] is False and out["checkpoints_error"] == kafka["error"]
    assert poll(None, _state(sync=False, committed={}))["done"] is False  # nothing committed: never done


def test_with_group_sync_poll_is_done_only_when_the_target_group_sits_at_the_translation(kafka) -> None:
    kafka["checkpoints"] = {0: (10, 110), 1: (20, 220)}
    kafka["offsets"] = {0: 110}  # MM2 has not synced partition 1 yet
    out = poll(None, _state(sync=True))
    assert out["done"] is False
    assert (out["target_offsets"], out["target_state"], out["target_error"]) == ({"0": 110}, "EMPTY", "")
    kafka["offsets"] = {0: 110, 1: 219}
    assert poll(None, _state(sync=True))["done"] is False  # not the translation
    kafka["offsets"] = {0: 110, 1: 220}
    out = poll(None, _state(sync=True))
    assert out["done"] is True and out["target_offsets"] == {"0": 110, "1": 220}


def test_with_group_sync_the_target_group_is_not_read_before_the_checkpoints_are_fresh(kafka) -> None:
    kafka["checkpoints"] = {0: (10, 110)}
    out = poll(None, _state(sync=True))
    assert out["done"] is False and "target_offsets" not in out and kafka["target_reads"] == 0


@pytest.mark.parametrize("state, done", [("STABLE", True), ("PreparingRebalance", True), ("EMPTY", False),
                                         ("DEAD", False), ("", False), ("UNKNOWN", False)])
def test_a_target_group_with_members_ends_the_wait_at_once(kafka: dict[str, Any], state: str, done: bool) -> None:
    # MM2 writes a group's offsets only while it is empty on the target: with members, waiting cannot help.
    kafka["checkpoints"] = {0: (10, 110), 1: (20, 220)}
    kafka["offsets"], kafka["state"] = {0: 3, 1: 4}, state
    out = poll(None, _state(sync=True))
    assert out["done"] is done and out["target_state"] == state

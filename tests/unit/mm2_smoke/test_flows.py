"""Flows as data: policies and remote names, flows read from connector configs, selection, connections, the
topology's own faults and the loop guard's arithmetic."""

from __future__ import annotations

import pytest

from mm2_smoke.errors import SettingsError
from mm2_smoke.flows import (
    Flow,
    ReplicationPolicy,
    Sighting,
    expected_places,
    from_connector_configs,
    loop_guard,
    parse_name,
    select,
    topology_findings,
    with_connections,
)

IDENTITY = ReplicationPolicy.parse("identity")
T = "test-prometheus.generated-data-01.json"


def _source(src: str, tgt: str, **extra: str) -> dict[str, str]:
    return {"connector.class": "org.apache.kafka.connect.mirror.MirrorSourceConnector", "source.cluster.alias": src,
            "target.cluster.alias": tgt, **extra}


@pytest.mark.parametrize(("spelled", "remote"), [
    ("default", "A.t"), ("default:_", "A_t"), ("identity", "t"),
])
def test_policies_name_the_remote_topic(spelled: str, remote: str) -> None:
    policy = ReplicationPolicy.parse(spelled)
    assert policy.remote_topic("A", "t") == remote and policy.spelled == spelled


@pytest.mark.parametrize("bad", ["", "default:", "identity:_", "prefix", "Default"])
def test_an_unknown_policy_is_refused_naming_the_forms(bad: str) -> None:
    with pytest.raises(SettingsError, match="default:<separator>"):
        ReplicationPolicy.parse(bad)


def test_flows_come_from_the_mirror_source_connectors_configs() -> None:
    configs = {
        "A->B.MirrorSourceConnector": _source("A", "B", topics="t.*"),
        "B->A.MirrorSourceConnector": _source("B", "A", **{
            "replication.policy.class": "org.apache.kafka.connect.mirror.IdentityReplicationPolicy"}),
        "A->B.MirrorCheckpointConnector": {"connector.class": "org.apache.kafka.connect.mirror."
                                           "MirrorCheckpointConnector", "source.cluster.alias": "A"},
        "C->D": _source("C", "D", **{"replication.policy.separator": "_"}),
        "no-alias": {"connector.class": "MirrorSourceConnector"},
    }
    flows = from_connector_configs(configs)
    assert [f.name for f in flows] == ["A->B", "B->A", "C->D"]
    assert flows[0].topics == "t.*" and flows[0].remote_topic(T) == f"A.{T}"
    assert flows[1].remote_topic(T) == T and flows[2].remote_topic(T) == f"C_{T}"
    assert Flow.from_dict(flows[2].to_dict()) == flows[2]


def test_select_every_flow_or_those_named_and_refuse_the_rest() -> None:
    found = [Flow("A", "B"), Flow("B", "A")]
    assert select(found, "auto") == found
    assert [f.name for f in select(found, "B->A, A->B")] == ["B->A", "A->B"]
    with pytest.raises(SettingsError, match=r"'A->C' is not a flow of this chain \(it carries: A->B, B->A\)"):
        select(found, ["A->C"])
    with pytest.raises(SettingsError, match="two different aliases"):
        parse_name("A->A")
    with pytest.raises(SettingsError, match="found no flow"):
        select([], "auto")


def test_each_alias_needs_a_connection() -> None:
    tied = with_connections([Flow("A", "B")], {"A": "kafka_a", "B": "kafka_b"})
    assert (tied[0].source_conn, tied[0].target_conn) == ("kafka_a", "kafka_b")
    with pytest.raises(SettingsError, match="cluster_connections: .*'B' of flow A->B"):
        with_connections([Flow("A", "B")], {"A": "kafka_a"})


def test_identity_active_active_is_a_loop_and_the_default_one_a_stopped_cycle() -> None:
    identity = [Flow("A", "B", IDENTITY), Flow("B", "A", IDENTITY)]
    kinds = {f.kind for f in topology_findings(identity, T)}
    assert kinds == {"loop"}
    loop = topology_findings(identity, T)[0]
    assert set(loop.flows) == {"A->B", "B->A"} and "IdentityReplicationPolicy" in loop.message
    assert [f.kind for f in topology_findings([Flow("A", "B"), Flow("B", "A")], T)] == ["cycle_stopped"]
    assert topology_findings([Flow("A", "B", IDENTITY)], T) == []


def test_fan_in_with_identity_writes_one_remote_topic_twice() -> None:
    fan_in = [Flow("A", "C", IDENTITY), Flow("B", "C", IDENTITY)]
    found = topology_findings(fan_in, T)
    assert [f.kind for f in found] == ["same_remote_topic"] and found[0].flows == ("A->C", "B->C")
    assert topology_findings([Flow("A", "C"), Flow("B", "C")], T) == []


def test_expected_places_follow_the_flows_hop_by_hop() -> None:
    chain = [Flow("A", "B"), Flow("B", "C")]
    assert expected_places(chain, "A", "t") == {("A", "t"): 0, ("B", "A.t"): 1, ("C", "B.A.t"): 2}
    assert expected_places([Flow("A", "B", IDENTITY), Flow("B", "A", IDENTITY)], "A", "t") == {
        ("A", "t"): 0, ("B", "t"): 1}


def test_loop_guard_sees_messages_back_on_their_origin_and_extra_paths() -> None:
    identity = [Flow("A", "B", IDENTITY), Flow("B", "A", IDENTITY)]
    healthy = [Sighting("A", "t", "A", 100, 100), Sighting("B", "t", "A", 100, 100)]
    assert loop_guard(identity, "A", "t", healthy) == []
    looped = [Sighting("A", "t", "A", 100, 200), Sighting("B", "t", "A", 100, 100)]
    assert "came back to their origin" in loop_guard(identity, "A", "t", looped)[0]
    stray = [Sighting("C", "A.t", "A", 5, 5)]
    assert "where no flow leads" in loop_guard([Flow("A", "B")], "A", "t", stray)[0]
    twice = [Sighting("B", "A.t", "A", 100, 150)]
    assert "more than one path" in loop_guard([Flow("A", "B")], "A", "t", twice)[0]
    assert loop_guard([Flow("A", "B")], "A", "t", [Sighting("B", "A.t", "B", 1, 9)]) == []  # not A's messages

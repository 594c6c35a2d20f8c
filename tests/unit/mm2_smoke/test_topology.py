"""The run's flows (:func:`mm2_smoke.topology.plan`) from Connect REST's connectors or the Params, the flows Param's
selection, each alias's connection, the topology's own faults, and each flow's settings, run tag and findings."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import pytest

from mm2_smoke.checks import Status
from mm2_smoke.errors import SettingsError
from mm2_smoke.flows import Flow, ReplicationPolicy
from mm2_smoke.measured import HttpAnswer
from mm2_smoke.metrics import DEFAULT_CONNECTOR_REGEX
from mm2_smoke.settings import SmokeSettings, from_params
from mm2_smoke.topology import (
    ORIGIN_KEY,
    Plan,
    chain_flows,
    conns,
    flow_keys,
    flow_name,
    flow_settings,
    params_flow,
    plan,
    run_tag,
    with_topology,
)

S = SmokeSettings()
T = S.source_topic  # test-prometheus.generated-data-01.json
RUN_ID = "manual__2026-12-01T00:00:00+00:00"
MIRROR = "org.apache.kafka.connect.mirror."
IDENTITY = {"replication.policy.class": MIRROR + "IdentityReplicationPolicy"}


class ExpandConnect:
    """Connect REST answering ``GET connectors?expand=info`` (the params recorded), or one answer for every call."""

    def __init__(self, answer: HttpAnswer) -> None:
        self.answer, self.asked = answer, []

    def get_json(self, path: str, params: Mapping[str, str] | None = None) -> HttpAnswer:
        self.asked.append((path, dict(params or {})))
        return self.answer


def _config(kind: str, source: str, target: str, **extra: str) -> dict[str, str]:
    return {"connector.class": MIRROR + kind, "source.cluster.alias": source, "target.cluster.alias": target,
            "name": f"{source}->{target}.{kind}", **extra}


def _expanded(*configs: dict[str, str]) -> dict[str, Any]:
    """Connect REST's ``GET /connectors?expand=info`` body of these connectors."""
    return {c.get("name") or c["connector.class"]: {"info": {"name": c.get("name"), "config": c, "tasks": [],
                                                             "type": "source"}} for c in configs}


def _source(a: str, b: str, **extra: str) -> dict[str, str]:
    return _config("MirrorSourceConnector", a, b, **extra)


def _connect(*configs: dict[str, str]) -> ExpandConnect:
    return ExpandConnect(HttpAnswer(200, _expanded(*configs)))


DOWN = ExpandConnect(HttpAnswer(None, error="Connect REST (connection kafka_connect) did not answer"))
ACTIVE_ACTIVE = (_source("A", "B"), _source("B", "A"), _config("MirrorCheckpointConnector", "A", "B"),
                 _config("MirrorCheckpointConnector", "B", "A"), _config("MirrorHeartbeatConnector", "A", "B"))
FAN_IN = (_source("A", "C"), _source("B", "C"), _config("MirrorCheckpointConnector", "A", "C"),
          {"name": "jdbc-sink", "connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector", "topics": "t"},
          {"name": "other-source", "connector.class": "com.example.FileStreamSourceConnector",
           "source.cluster.alias": "X", "target.cluster.alias": "Y"})


# --- plan: flows from Connect REST -------------------------------------------------------------------------------
def test_active_active_flows_come_from_connect_rest_with_the_conventional_connections() -> None:
    connect = _connect(*ACTIVE_ACTIVE)
    p = plan(S, connect, T)
    assert connect.asked == [("connectors", {"expand": "info"})]
    assert p.names == ["A->B", "B->A"] and p.found_in == "Connect REST"
    assert [f.connector for f in p.flows] == ["A->B.MirrorSourceConnector", "B->A.MirrorSourceConnector"]
    assert [(f.source_conn, f.target_conn) for f in p.flows] == [("kafka_A", "kafka_B"), ("kafka_B", "kafka_A")]
    assert [f.remote_topic(T) for f in p.flows] == [f"A.{T}", f"B.{T}"]
    assert p.looping == frozenset()


def test_fan_in_flows_ignore_checkpoint_and_other_connectors() -> None:
    p = plan(S, _connect(*FAN_IN), T)
    assert p.names == ["A->C", "B->C"]
    assert [f.remote_topic(T) for f in p.flows] == [f"A.{T}", f"B.{T}"]
    assert [f.target_conn for f in p.flows] == ["kafka_C", "kafka_C"]
    # A fan-in has no cycle: the only finding lists the flows checked.
    assert [(f.check, f.status, f.certain) for f in p.findings] == [("flows", Status.GO, False)]
    assert "2 flow(s) checked: A->C, B->C" in p.findings[0].message
    assert "Connect REST" in p.findings[0].message and "flows=auto" in p.findings[0].message


def test_the_filters_of_each_connector_are_kept() -> None:
    p = plan(S, _connect(_source("A", "B", topics="test-.*", **{"topics.exclude": "internal.*"})), T)
    assert (p.flows[0].topics, p.flows[0].topics_exclude) == ("test-.*", "internal.*")


def test_the_one_flow_of_todays_chain_is_planned_as_today() -> None:
    p = plan(S, _connect(_source("source", "target"), _config("MirrorCheckpointConnector", "source", "target")), T)
    assert p.names == ["source->target"] and p.flows[0].connector == "source->target.MirrorSourceConnector"
    assert (p.flows[0].source_conn, p.flows[0].target_conn) == ("kafka_source", "kafka_target")
    assert p.findings == [] and p.looping == frozenset()
    assert p.flows[0].remote_topic(T) == S.remote_topic


def test_flows_auto_checks_every_flow_and_named_flows_are_checked_in_the_order_named() -> None:
    connect = _connect(*ACTIVE_ACTIVE)
    assert plan(SmokeSettings(flows="auto"), connect, T).names == ["A->B", "B->A"]
    assert plan(SmokeSettings(flows="B->A"), connect, T).names == ["B->A"]
    assert plan(SmokeSettings(flows="B->A, A->B"), connect, T).names == ["B->A", "A->B"]
    assert plan(SmokeSettings(flows=" A -> B ,A->B"), connect, T).names == ["A->B"]


def test_one_named_flow_of_a_chain_says_which_in_a_finding() -> None:
    p = plan(SmokeSettings(flows="B->A"), _connect(*ACTIVE_ACTIVE), T)
    assert [f.check for f in p.findings] == ["flows"]
    assert "1 flow(s) checked: B->A" in p.findings[0].message and "flows=B->A" in p.findings[0].message
    # One flow of the cycle is no cycle.
    assert p.looping == frozenset()


# --- plan: Connect REST cannot say ------------------------------------------------------------------------------
@pytest.mark.parametrize("connect", [
    DOWN,
    None,
    ExpandConnect(HttpAnswer(401, {"error_code": 401, "message": "Unauthorized"})),
    ExpandConnect(HttpAnswer(200, ["A->B.MirrorSourceConnector"])),  # not expanded: a list of names
    ExpandConnect(HttpAnswer(200, {})),  # no connector at all
    ExpandConnect(HttpAnswer(200, _expanded(_config("MirrorCheckpointConnector", "A", "B")))),  # no source connector
], ids=["unreachable", "no-hook", "401", "list", "empty", "no-source-connector"])
def test_connect_rest_that_cannot_say_gives_the_params_flow(connect: Any) -> None:
    s = SmokeSettings(source_alias="east", target_alias="west", replication_separator="_")
    listed = isinstance(connect, ExpandConnect) and connect.answer.status == 200 and isinstance(connect.answer.body,
                                                                                                  dict)
    assert chain_flows(connect) == ([] if listed else None)  # [] : it answered, and showed no MirrorSourceConnector
    p = plan(s, connect, T)
    assert p.names == ["east->west"] and p.found_in.startswith("Params")
    assert ("shows no MirrorSourceConnector" if listed else "Connect REST could not list") in p.found_in
    f = p.flows[0]
    assert f.connector == "east->west.MirrorSourceConnector" == s.source_connector
    assert (f.source_conn, f.target_conn) == ("kafka_source", "kafka_target")
    assert f.remote_topic(T) == f"east_{T}" == s.remote_topic
    assert p.findings == []


def test_dedicated_mode_never_asks_connect_rest_and_takes_the_params_flow() -> None:
    connect = _connect(*ACTIVE_ACTIVE)
    p = plan(SmokeSettings(mm2_mode="dedicated"), connect, T)
    assert connect.asked == []
    assert p.names == ["source->target"] and p.found_in == "Params"


def test_named_flows_are_taken_as_named_when_connect_rest_cannot_say() -> None:
    p = plan(SmokeSettings(flows="A->B, B->A"), DOWN, T)
    assert p.names == ["A->B", "B->A"] and "Connect REST could not list" in p.found_in
    assert [f.connector for f in p.flows] == ["A->B.MirrorSourceConnector", "B->A.MirrorSourceConnector"]
    assert [(f.source_conn, f.target_conn) for f in p.flows] == [("kafka_A", "kafka_B"), ("kafka_B", "kafka_A")]
    assert [f.policy for f in p.flows] == [ReplicationPolicy(), ReplicationPolicy()]
    assert [f.check for f in p.findings] == ["topology_cycle", "flows"]
    assert "read from Params (Connect REST could not list the connectors)" in p.findings[-1].message
    # In dedicated mode as well, with the Params' policy.
    d = plan(SmokeSettings(mm2_mode="dedicated", flows="A->C", replication_policy="identity"), None, T)
    assert d.names == ["A->C"] and d.found_in == "Params" and d.flows[0].remote_topic(T) == T


# --- plan: refused like a bad Param -------------------------------------------------------------------------------
def test_an_unknown_flow_is_refused_naming_the_param_and_the_flows_the_chain_carries() -> None:
    with pytest.raises(SettingsError) as exc:
        plan(SmokeSettings(flows="A->C"), _connect(*ACTIVE_ACTIVE), T)
    message = str(exc.value)
    assert message.startswith("flows: ")
    assert "'A->C' is not a flow of this chain (it carries: A->B, B->A)" in message


def test_an_unknown_flow_among_known_ones_is_refused() -> None:
    with pytest.raises(SettingsError, match=r"^flows: 'C->A' is not a flow of this chain \(it carries: A->C, B->C\)"):
        plan(SmokeSettings(flows="A->C, C->A"), _connect(*FAN_IN), T)


def test_an_alias_with_no_connection_is_refused_naming_the_param() -> None:
    s = SmokeSettings(cluster_connections=json.dumps({"A": "kafka_a", "B": "kafka_b"}))
    with pytest.raises(SettingsError) as exc:
        plan(s, _connect(*FAN_IN), T)
    message = str(exc.value)
    assert message.startswith("cluster_connections: ")
    assert "'C'" in message and "flow A->C" in message and "'A'" not in message
    # Mapping every alias of the flows selected is enough.
    p = plan(SmokeSettings(cluster_connections=json.dumps({"A": "kafka_a", "C": "kafka_c"}), flows="A->C"),
             _connect(*FAN_IN), T)
    assert [(f.source_conn, f.target_conn) for f in p.flows] == [("kafka_a", "kafka_c")]


def test_the_mapping_ties_every_flow_to_its_clusters_connections() -> None:
    mapping = {"A": "kafka_east", "B": "kafka_west"}
    p = plan(SmokeSettings(cluster_connections=json.dumps(mapping)), _connect(*ACTIVE_ACTIVE), T)
    assert [(f.source_conn, f.target_conn) for f in p.flows] == [("kafka_east", "kafka_west"),
                                                                  ("kafka_west", "kafka_east")]


def test_two_flows_writing_one_remote_topic_are_refused_naming_the_param() -> None:
    # Fan-in under identity: A->C and B->C both write the test topic's own name on C.
    fan_in = (_source("A", "C", **IDENTITY), _source("B", "C", **IDENTITY))
    with pytest.raises(SettingsError) as exc:
        plan(S, _connect(*fan_in), T)
    assert exc.value.field == "flows"
    message = str(exc.value)
    assert message.startswith("flows: flows A->C, B->C all write ")
    assert repr(T) in message and "on C" in message
    # Selecting one of them is the fix.
    assert plan(SmokeSettings(flows="B->C"), _connect(*fan_in), T).names == ["B->C"]


def test_the_identity_param_over_a_default_fan_in_is_refused_too() -> None:
    with pytest.raises(SettingsError, match="^flows: flows A->C, B->C all write"):
        plan(SmokeSettings(replication_policy="identity"), _connect(*FAN_IN), T)


# --- plan: the topology's cycles -------------------------------------------------------------------------------
def test_identity_active_active_is_a_certain_nogo_replication_loop_naming_both_flows() -> None:
    p = plan(S, _connect(_source("A", "B", **IDENTITY), _source("B", "A", **IDENTITY)), T)
    assert p.names == ["A->B", "B->A"]
    loops = [f for f in p.findings if f.check == "replication_loop"]
    assert len(loops) == 1
    loop = loops[0]
    assert loop.status is Status.NOGO and loop.certain
    assert "replication loop" in loop.message and "A->B, B->A" in loop.message
    assert "IdentityReplicationPolicy" in loop.message
    assert loop.evidence == "the flow graph: A->B, B->A"
    assert p.looping == frozenset({"A->B", "B->A"})
    assert not any(f.check == "topology_cycle" for f in p.findings)


def test_a_cycle_with_one_identity_flow_is_a_loop_too() -> None:
    p = plan(S, _connect(_source("A", "B", **IDENTITY), _source("B", "A")), T)
    loop = next(f for f in p.findings if f.check == "replication_loop")
    assert loop.status is Status.NOGO and loop.certain and "A->B use(s) IdentityReplicationPolicy" in loop.message
    assert p.looping == frozenset({"A->B", "B->A"})


def test_default_policy_active_active_is_a_go_topology_cycle_note() -> None:
    p = plan(S, _connect(*ACTIVE_ACTIVE), T)
    assert [f.check for f in p.findings] == ["topology_cycle", "flows"]
    cycle = p.findings[0]
    assert cycle.status is Status.GO and not cycle.certain
    assert "A->B, B->A" in cycle.message and "prefixes stop" in cycle.message
    assert cycle.evidence == "the flow graph: A->B, B->A"
    assert p.looping == frozenset()


def test_the_replication_policy_param_overrides_the_connectors_policy() -> None:
    # Identity on the connectors, the Param says default: no loop, alias-prefixed names with the Param's separator.
    identity_pair = (_source("A", "B", **IDENTITY), _source("B", "A", **IDENTITY))
    p = plan(SmokeSettings(replication_policy="default", replication_separator="-"), _connect(*identity_pair), T)
    assert [f.policy for f in p.flows] == [ReplicationPolicy("default", "-")] * 2
    assert [f.remote_topic(T) for f in p.flows] == [f"A-{T}", f"B-{T}"]
    assert p.looping == frozenset() and [f.check for f in p.findings] == ["topology_cycle", "flows"]
    # Default on the connectors, the Param says identity: a loop.
    p = plan(SmokeSettings(replication_policy="identity"), _connect(*ACTIVE_ACTIVE), T)
    assert [f.policy for f in p.flows] == [ReplicationPolicy("identity", "")] * 2
    assert [f.remote_topic(T) for f in p.flows] == [T, T]
    assert p.looping == frozenset({"A->B", "B->A"})


def test_auto_keeps_each_connectors_own_policy() -> None:
    p = plan(S, _connect(_source("A", "B", **IDENTITY), _source("C", "D", **{"replication.policy.separator": "_"})),
             T)
    assert [f.remote_topic(T) for f in p.flows] == [T, f"C_{T}"]


def test_a_custom_separator_from_the_connector_config_names_the_remote_topic() -> None:
    p = plan(S, _connect(_source("A", "B", **{"replication.policy.separator": "_"})), T)
    flow = p.flows[0]
    assert flow.policy == ReplicationPolicy.parse("default:_") and flow.policy.spelled == "default:_"
    assert flow.remote_topic(T) == f"A_{T}"
    # The flow's settings carry it, with no Param change: the run reads A_<topic>.
    resolved = from_params(flow_settings(S, flow, multi=False))
    assert resolved.replication_separator == "_" and resolved.remote_topic == f"A_{T}"
    assert resolved.replication_policy == "auto"  # still read from the connector by the flow's pre-flight


# --- flow_settings, flow_keys, run_tag, conns -----------------------------------------------------------------------
def test_one_flow_is_exactly_todays_run() -> None:
    p = plan(S, _connect(_source("source", "target")), T)
    settings = flow_settings(S, p.flows[0], multi=len(p.flows) > 1)
    assert {k: v for k, v in settings.items() if k in S.to_dict()} == S.to_dict()
    assert settings["connector_regex"] == DEFAULT_CONNECTOR_REGEX
    assert settings[ORIGIN_KEY] == ""
    assert run_tag(RUN_ID, settings) == RUN_ID
    assert conns(settings) == ("kafka_source", "kafka_target")
    assert flow_name(settings) == "source->target"
    assert from_params(settings) == S


def test_one_flow_of_other_aliases_keeps_the_selector_and_the_run_tag() -> None:
    p = plan(S, _connect(_source("A", "B")), T)
    settings = flow_settings(S, p.flows[0], multi=False)
    assert settings["connector_regex"] == DEFAULT_CONNECTOR_REGEX
    assert (settings["source_alias"], settings["target_alias"]) == ("A", "B")
    assert run_tag(RUN_ID, settings) == RUN_ID
    assert conns(settings) == ("kafka_A", "kafka_B") and flow_name(settings) == "A->B"


def test_several_flows_narrow_the_default_selector_and_tag_messages_with_their_origin() -> None:
    p = plan(S, _connect(*ACTIVE_ACTIVE), T)
    multi = len(p.flows) > 1
    ab, ba = (flow_settings(S, f, multi) for f in p.flows)
    assert re.fullmatch(ab["connector_regex"], "A->B.MirrorSourceConnector")
    assert re.fullmatch(ab["connector_regex"], '"A->B.MirrorSourceConnector"')  # the quotes Strimzi's rules keep
    assert not re.fullmatch(ab["connector_regex"], "B->A.MirrorSourceConnector")
    assert re.fullmatch(ba["connector_regex"], "B->A.MirrorSourceConnector")
    assert (ab["source_alias"], ab["target_alias"], ba["source_alias"], ba["target_alias"]) == ("A", "B", "B", "A")
    assert run_tag(RUN_ID, ab) == f"{RUN_ID}@A" and run_tag(RUN_ID, ba) == f"{RUN_ID}@B"
    assert conns(ab) == ("kafka_A", "kafka_B") and conns(ba) == ("kafka_B", "kafka_A")
    assert (flow_name(ab), flow_name(ba)) == ("A->B", "B->A")
    assert from_params(ab).remote_topic == f"A.{T}" and from_params(ba).remote_topic == f"B.{T}"


def test_a_flows_selector_never_matches_a_connector_whose_name_ends_with_it() -> None:
    p = plan(S, _connect(_source("prod", "dr"), _source("preprod", "dr")), T)
    selectors = {f.name: flow_settings(S, f, True)["connector_regex"] for f in p.flows}
    assert not re.fullmatch(selectors["prod->dr"], "preprod->dr.MirrorSourceConnector")
    assert re.fullmatch(selectors["prod->dr"], "prod->dr.MirrorSourceConnector")


def test_the_narrowed_selector_matches_its_own_connectors_series() -> None:
    import re

    p = plan(S, _connect(*ACTIVE_ACTIVE), T)
    ab, ba = (flow_settings(S, f, True)["connector_regex"] for f in p.flows)
    # PromQL's =~ is anchored: fullmatch, as Prometheus reads it.
    assert re.fullmatch(ab, "A->B.MirrorSourceConnector") and not re.fullmatch(ab, "B->A.MirrorSourceConnector")
    assert re.fullmatch(ba, "B->A.MirrorSourceConnector") and not re.fullmatch(ba, "A->B.MirrorSourceConnector")
    assert not re.fullmatch(ab, "A->B.MirrorCheckpointConnector")


def test_a_selector_the_user_set_is_kept_with_several_flows() -> None:
    s = SmokeSettings(connector_regex="mm2-.*")
    assert flow_settings(s, Flow("A", "B", connector="A->B.MirrorSourceConnector"), True)["connector_regex"] == "mm2-.*"
    # A flow with no connector (dedicated mode) keeps the default selector.
    assert flow_settings(S, Flow("A", "B"), True)["connector_regex"] == DEFAULT_CONNECTOR_REGEX


def test_flow_settings_carry_the_flows_policy_when_the_param_names_one() -> None:
    flow = Flow("A", "B", ReplicationPolicy("identity", ""), "A->B.MirrorSourceConnector", source_conn="kafka_a",
                target_conn="kafka_b")
    settings = flow_settings(SmokeSettings(replication_policy="identity"), flow, False)
    assert settings["replication_policy"] == "identity" and from_params(settings).remote_topic == T
    # An identity flow has no separator: the Param's stays.
    assert settings["replication_separator"] == "."
    assert conns(settings) == ("kafka_a", "kafka_b")


def test_flow_keys_name_the_flow_its_connections_and_its_origin_with_several_flows() -> None:
    flow = Flow("A", "B", source_conn="kafka_a", target_conn="kafka_b")
    assert flow_keys(flow, False) == {"flow": "A->B", "source_conn": "kafka_a", "target_conn": "kafka_b",
                                      ORIGIN_KEY: ""}
    assert flow_keys(flow, True)[ORIGIN_KEY] == "A"
    # The Params ignore them.
    assert from_params({**S.to_dict(), **flow_keys(flow, True)}) == S


def test_conns_and_flow_name_default_to_todays() -> None:
    assert conns({}) == ("kafka_source", "kafka_target")
    assert conns({"source_conn": "", "target_conn": ""}) == ("kafka_source", "kafka_target")
    assert conns({"source_conn": "kafka_a"}) == ("kafka_a", "kafka_target")
    assert flow_name({}) == "source->target"
    assert flow_name({"source_alias": "A", "target_alias": "B"}) == "A->B"
    assert flow_name({"flow": "X->Y", "source_alias": "A", "target_alias": "B"}) == "X->Y"


def test_run_tag_is_the_run_id_without_an_origin() -> None:
    assert run_tag(RUN_ID, {}) == RUN_ID
    assert run_tag(RUN_ID, {ORIGIN_KEY: ""}) == RUN_ID
    assert run_tag(RUN_ID, {ORIGIN_KEY: "east"}) == f"{RUN_ID}@east"


def test_params_flow_follows_the_params() -> None:
    assert params_flow(S) == Flow("source", "target", ReplicationPolicy(), "source->target.MirrorSourceConnector")
    f = params_flow(SmokeSettings(replication_policy="identity", replication_separator="_"))
    assert f.policy == ReplicationPolicy("identity", "")
    assert params_flow(SmokeSettings(replication_separator="_")).policy == ReplicationPolicy("default", "_")


# --- with_topology ------------------------------------------------------------------------------------------------
def test_a_flow_gets_only_the_loop_findings_that_name_it() -> None:
    # An identity loop A<->B beside a default flow C->D.
    p = plan(S, _connect(_source("A", "B", **IDENTITY), _source("B", "A", **IDENTITY), _source("C", "D")), T)
    assert p.names == ["A->B", "B->A", "C->D"] and p.looping == frozenset({"A->B", "B->A"})
    own = [object()]
    by_flow = {f.name: with_topology(own, p, f) for f in p.flows}  # type: ignore[arg-type]
    assert [f.check for f in by_flow["A->B"][1:]] == ["replication_loop", "flows"]
    assert [f.check for f in by_flow["B->A"][1:]] == ["replication_loop", "flows"]
    assert [f.check for f in by_flow["C->D"][1:]] == ["flows"]
    assert all(found[0] is own[0] for found in by_flow.values())  # the flow's own findings first


def test_a_flow_whose_alias_is_a_prefix_of_another_flows_is_not_given_its_loop() -> None:
    loop = Flow("A", "B", ReplicationPolicy("identity", ""))
    p = plan(S, _connect(_source("A", "B", **IDENTITY), _source("B", "A", **IDENTITY), _source("A", "BB")), T)
    assert p.looping == frozenset({"A->B", "B->A"})
    other = next(f for f in p.flows if f.name == "A->BB")
    assert [f.check for f in with_topology([], p, other)] == ["flows"]
    assert [f.check for f in with_topology([], p, loop)] == ["replication_loop", "flows"]


def test_one_flow_with_no_topology_finding_keeps_its_own_findings() -> None:
    p = plan(S, _connect(_source("source", "target")), T)
    assert with_topology([], p, p.flows[0]) == []
    assert with_topology([], Plan([], "Params"), Flow("A", "B")) == []


# --- run_flows: each flow's pre-flight decided with the topology's findings -----------------------------------------
class _Outcome:
    """What :func:`mm2_smoke.preflight.run` returns, as far as :func:`run_flows` reads it (a clean pre-flight)."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.findings: list[Any] = []
        self.settings = {**settings, "metric_profile": "runbook"}

    def report(self) -> dict[str, Any]:
        return {"status": "GO", "findings": [], "seconds": 0.1, "metric_profile": "runbook"}


def test_fail_fast_stops_the_looping_flows_only(monkeypatch: pytest.MonkeyPatch) -> None:
    import mm2_smoke.preflight as preflight
    from mm2_smoke.topology import run_flows

    seen: list[tuple[str, str, str]] = []

    def fake_run(prom: Any, settings: dict[str, Any], connect: Any, source: Any, target: Any) -> _Outcome:
        seen.append((settings["flow"], source, target))
        return _Outcome(settings)

    monkeypatch.setattr(preflight, "run", fake_run)
    p = plan(S, _connect(_source("A", "B", **IDENTITY), _source("B", "A", **IDENTITY), _source("C", "D")), T)
    out = run_flows(None, S, p, None, lambda conn: f"hook:{conn}")
    assert seen == [("A->B", "hook:kafka_A", "hook:kafka_B"), ("B->A", "hook:kafka_B", "hook:kafka_A"),
                    ("C->D", "hook:kafka_C", "hook:kafka_D")]
    assert [(o.flow, o.proceed, o.report["status"]) for o in out] == [
        ("A->B", False, "NOGO"), ("B->A", False, "NOGO"), ("C->D", True, "GO")]
    loop = next(f for f in out[0].report["findings"] if f["check"] == "replication_loop")
    assert loop["status"] == "NOGO" and loop["certain"] is True
    assert [f["check"] for f in out[2].report["findings"]] == ["flows"]
    # Every flow's resolved settings carry its keys: the steps are mapped over them.
    c_d = out[2].settings
    assert (c_d["flow"], c_d["source_conn"], c_d["target_conn"], c_d[ORIGIN_KEY]) == ("C->D", "kafka_C", "kafka_D", "C")
    assert c_d["metric_profile"] == "runbook" and run_tag(RUN_ID, c_d) == f"{RUN_ID}@C"
    assert out[2].to_dict()["preflight"] is out[2].report

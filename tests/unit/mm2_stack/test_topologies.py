"""The stack's topologies (MM2_STACK_TOPOLOGY) and replication policy (MM2_STACK_REPLICATION_POLICY): the flows,
clusters, ports, connectors, mm2.properties, ACLs, connections and variant each gives, and what is refused (the real
topologies are started by hand: README, "Topologies")."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mm2_smoke.flows import from_connector_configs
from mm2_stack import connect, envfile, kafka, metrics_store, stack
from mm2_stack.config import StackConfig, StackError, stack_queries
from mm2_stack.probe import loop_finding

PASSWORDS = {"admin": "pa", "smoke": "ps", "mm2": "pm", "prometheus": "pp", "connect": "pc", "smoke-key": "pk",
             "rest-keystore": "pr"}
TOPIC = "test-prometheus.generated-data-01.json"


def config(**knobs: str) -> StackConfig:
    return StackConfig.from_env({"MM2_STACK_DIR": "/tmp/mm2-stack-unit", **knobs})


def acl_set(c: StackConfig, cluster: str) -> set[tuple[str, ...]]:
    return {tuple(a) for a in kafka.acl_plan(c)[cluster]}


# --- the default stays what it was ---------------------------------------------------------------------------
def test_the_default_is_one_way_under_the_default_policy() -> None:
    c = config()
    assert (c.topology, c.policy.spelled, c.naming.policy, c.naming.separator) == ("one-way", "default", "default", ".")
    assert [f.name for f in c.flows] == ["source->target"] and c.clusters == ("source", "target")
    assert c.parts == ("source", "target", "connect", "prometheus") and c.flow_targets == ("target",)
    assert c.variant["topology"] == "one-way" and c.variant["replication_policy"] == "default"
    assert list(connect.connector_configs(c)) == [f"source->target.{k}" for k in connect.CONNECTOR_KINDS]
    assert not any("override" in k for cfg in connect.connector_configs(c).values() for k in cfg)
    assert kafka.acl_plan(c).keys() == {"source", "target"}
    assert "AIRFLOW_CONN_KAFKA_C" not in envfile.airflow_env(c, PASSWORDS)
    assert json.loads(metrics_store.config_text(c))["scrape_configs"][0]["static_configs"][0]["labels"] == {
        "cluster": "local", "mm2_flow": "source->target"}


def test_a_one_way_stack_checks_only_its_own_ports() -> None:
    c = config()
    ports = sorted(p for part in c.parts for p in stack.part_ports(c, part))
    assert ports == [18083, 19090, 19092, 19093, 19404, 29092, 29093]
    assert stack.part_ports(config(MM2_STACK_TOPOLOGY="fan-in"), "c") == [39092, 39093]


def test_the_flows_are_the_smoke_tests_own_model_of_them() -> None:
    """What the smoke test reads back from Connect REST (flows.from_connector_configs) is what the stack built."""
    for topology in ("one-way", "active-active", "fan-in"):
        for policy in ("default", "default:_", "identity"):
            c = config(MM2_STACK_TOPOLOGY=topology, MM2_STACK_REPLICATION_POLICY=policy)
            read = from_connector_configs(connect.connector_configs(c))
            assert sorted((f.name, f.policy, f.topics) for f in read) == sorted(
                (f.name, f.policy, f.topics) for f in c.flows)
            assert {f.connector for f in read} == {f.connector for f in c.flows}


# --- replication policy -----------------------------------------------------------------------------------
def test_a_default_policy_with_its_own_separator() -> None:
    c = config(MM2_STACK_REPLICATION_POLICY="default:_")
    assert c.naming.separator == "_" and c.policy.spelled == "default:_" and c.variant["replication_policy"] == "default:_"
    assert c.naming.remote_topic(TOPIC) == f"source_{TOPIC}"
    cfg = connect.connector_configs(c)["source->target.MirrorSourceConnector"]
    assert cfg["replication.policy.class"].endswith(".DefaultReplicationPolicy")
    assert cfg["replication.policy.separator"] == "_" and cfg["topics"] == config().topics_regex
    assert ("User:mm2", "TOPIC", "source_", "PREFIXED", "WRITE") in acl_set(c, "target")
    assert ("User:smoke", "TOPIC", "source_test-prometheus", "PREFIXED", "READ") in acl_set(c, "target")
    assert 'topic="source_test-prometheus.generated-data-01.json"' in stack_queries(c).gauge_series()["latency_max_ms"]
    assert config(MM2_STACK_REPLICATION_POLICY="default:.").variant == config().variant


def test_identity_keeps_the_topic_name_and_still_selects_the_test_topics() -> None:
    c = config(MM2_STACK_REPLICATION_POLICY="identity")
    assert c.naming.policy == "identity" and c.naming.remote_topic(TOPIC) == TOPIC
    assert c.topics_regex == config().topics_regex and re.fullmatch(c.topics_regex, TOPIC)
    for cfg in connect.connector_configs(c).values():
        assert cfg["replication.policy.class"] == "org.apache.kafka.connect.mirror.IdentityReplicationPolicy"
        assert "replication.policy.separator" not in cfg
    target = acl_set(c, "target")
    # MM2 creates and writes the remote topics under their own names; its heartbeats, checkpoints still `source.`.
    assert ("User:mm2", "TOPIC", "test-prometheus", "PREFIXED", "CREATE") in target
    assert ("User:mm2", "TOPIC", "source.", "PREFIXED", "WRITE") in target
    assert ("User:smoke", "TOPIC", "test-prometheus", "PREFIXED", "READ") in target
    assert ("User:smoke", "TOPIC", "test-prometheus", "PREFIXED", "WRITE") not in target  # target is no flow's source
    props = connect.dedicated_properties(config(MM2_STACK_REPLICATION_POLICY="identity", MM2_STACK_MM2_MODE="dedicated"),
                                         PASSWORDS)
    assert props["source->target.replication.policy.class"].endswith(".IdentityReplicationPolicy")
    assert 'topic="test-prometheus.generated-data-01.json"' in stack_queries(c).gauge_series()["latency_max_ms"]


@pytest.mark.parametrize(("value", "message"), [
    ("mirror", "MM2_STACK_REPLICATION_POLICY='mirror': replication policy 'mirror' is not one MM2 has: use "
               "'default', 'default:<separator>' (e.g. 'default:_') or 'identity'"),
    ("identity:_", "MM2_STACK_REPLICATION_POLICY='identity:_': replication policy"),
    ("default:", "MM2_STACK_REPLICATION_POLICY='default:': replication policy"),
    ("default:/", "MM2_STACK_REPLICATION_POLICY='default:/': the separator is not usable in a Kafka topic name: use "
                  "1 to 249 of the characters a-z A-Z 0-9 . _ - (e.g. default:_)"),
])
def test_a_policy_mm2_does_not_have_is_refused_naming_the_knob(value: str, message: str) -> None:
    with pytest.raises(StackError, match=re.escape(message)):
        config(MM2_STACK_REPLICATION_POLICY=value)


def test_a_topology_the_stack_does_not_build_is_refused_naming_the_choices() -> None:
    with pytest.raises(StackError, match=re.escape("MM2_STACK_TOPOLOGY='mesh' is not one of one-way, active-active, "
                                                   "fan-in")):
        config(MM2_STACK_TOPOLOGY="mesh")
    with pytest.raises(StackError, match="MM2_STACK_TOPOLOGY='ring' is not one of"):
        StackConfig(root=Path("/tmp"), topology="ring")


# --- active-active ---------------------------------------------------------------------------------------
def test_active_active_runs_both_flows_on_the_one_worker() -> None:
    c = config(MM2_STACK_TOPOLOGY="active-active")
    assert [f.name for f in c.flows] == ["source->target", "target->source"] and c.clusters == ("source", "target")
    assert c.flow_targets == ("source", "target") and c.parts == ("source", "target", "connect", "prometheus")
    configs = connect.connector_configs(c)
    assert list(configs)[:3] == [f"source->target.{k}" for k in connect.CONNECTOR_KINDS]
    assert list(configs)[3:] == [f"target->source.{k}" for k in connect.CONNECTOR_KINDS]
    for kind in connect.CONNECTOR_KINDS:
        back = configs[f"target->source.{kind}"]
        assert (back["source.cluster.alias"], back["target.cluster.alias"]) == ("target", "source")
        assert back["source.cluster.bootstrap.servers"] == "127.0.0.1:29092"
        assert back["target.cluster.bootstrap.servers"] == "127.0.0.1:19092"
        # The worker (of target) would write this flow's records to target: its producer goes to source.
        assert back["producer.override.bootstrap.servers"] == "127.0.0.1:19092"
        assert "producer.override.bootstrap.servers" not in configs[f"source->target.{kind}"]
    assert connect.worker_properties(c, PASSWORDS)["connector.client.config.override.policy"] == "All"
    assert connect.worker_properties(c, PASSWORDS)["bootstrap.servers"] == "127.0.0.1:29092"
    assert json.loads(metrics_store.config_text(c))["scrape_configs"][0]["static_configs"][0]["labels"][
        "mm2_flow"] == "source->target,target->source"


def test_active_active_in_dedicated_mode_enables_both_flows_in_one_mm2_properties() -> None:
    c = config(MM2_STACK_TOPOLOGY="active-active", MM2_STACK_MM2_MODE="dedicated",
               MM2_STACK_SASL_MECHANISM="SCRAM-SHA-512", MM2_STACK_METRICS="kafka-new")
    props = connect.dedicated_properties(c, PASSWORDS)
    assert props["clusters"] == "source, target"
    assert props["source->target.enabled"] == props["target->source.enabled"] == "true"
    assert not any(k.endswith("emit.heartbeats.enabled") for k in props)
    for flow in ("source->target", "target->source"):
        assert props[f"{flow}.topics"] == c.topics_regex and props[f"{flow}.metric.names.formats"] == "new"
        assert props[f"{flow}.replication.policy.separator"] == "."
    # Each flow's herder works on its target: both commit source offsets every 5 s.
    assert props["source.offset.flush.interval.ms"] == props["target.offset.flush.interval.ms"] == "5000"
    assert 'username="mm2"' in props["source.sasl.jaas.config"] and props["target.sasl.mechanism"] == "SCRAM-SHA-512"
    assert c.flow_targets == ("source", "target") and [f.connector for f in c.flows] == ["", ""]


def test_active_active_acls_give_each_cluster_both_sides() -> None:
    c = config(MM2_STACK_TOPOLOGY="active-active")
    for cluster, other in (("source", "target"), ("target", "source")):
        acls = acl_set(c, cluster)
        assert ("User:mm2", "TOPIC", "*", "LITERAL", "READ") in acls
        assert ("User:mm2", "TOPIC", f"{other}.", "PREFIXED", "CREATE") in acls
        assert ("User:mm2", "TOPIC", "mm2-", "PREFIXED", "WRITE") in acls
        assert ("User:mm2", "TOPIC", "heartbeats", "LITERAL", "WRITE") in acls
        assert ("User:mm2", "GROUP", f"{other}-mm2", "LITERAL", "READ") in acls
        assert ("User:smoke", "TOPIC", "test-prometheus", "PREFIXED", "WRITE") in acls
        assert ("User:smoke", "TOPIC", f"{other}.test-prometheus", "PREFIXED", "READ") in acls
        plan = kafka.acl_plan(c)[cluster]
        assert len(plan) == len(set(plan)), "each binding once"


def test_active_active_under_identity_loops_and_the_stack_says_so() -> None:
    assert loop_finding(config(MM2_STACK_TOPOLOGY="active-active", MM2_STACK_REPLICATION_POLICY="identity")).startswith(
        "replication loop: flows source->target, target->source")
    for knobs in ({}, {"MM2_STACK_TOPOLOGY": "active-active"}, {"MM2_STACK_TOPOLOGY": "fan-in",
                                                                 "MM2_STACK_REPLICATION_POLICY": "identity"}):
        assert loop_finding(config(**knobs)) is None


def test_each_flow_has_its_own_latency_selector() -> None:
    c = config(MM2_STACK_TOPOLOGY="active-active")
    back = stack_queries(c, c.flows[1]).gauge_series()["latency_max_ms"]
    assert 'topic="target.test-prometheus.generated-data-01.json"' in back
    assert stack_queries(c).gauge_series() == stack_queries(config()).gauge_series()


# --- fan-in ----------------------------------------------------------------------------------------------
def test_fan_in_adds_a_third_cluster_with_its_own_port_block() -> None:
    c = config(MM2_STACK_TOPOLOGY="fan-in", MM2_STACK_PORT_OFFSET="300")
    assert [f.name for f in c.flows] == ["source->target", "c->target"] and c.clusters == ("source", "target", "c")
    assert c.parts == ("source", "target", "c", "connect", "prometheus") and c.flow_targets == ("target",)
    assert (c.ports.c_broker, c.ports.c_controller, c.bootstrap("c")) == (39392, 39393, "127.0.0.1:39392")
    props = kafka.broker_properties(c, "c", PASSWORDS)
    assert props["listeners"] == "SASL_SSL://127.0.0.1:39392,CONTROLLER://127.0.0.1:39393"
    assert props["controller.quorum.bootstrap.servers"] == "127.0.0.1:39393"
    assert props["log.dirs"] == str(c.run_dir / "c" / "data")
    assert {p for part in c.parts for p in stack.part_ports(c, part)} == set(vars(c.ports).values())
    configs = connect.connector_configs(c)
    assert len(configs) == 6 and configs["c->target.MirrorSourceConnector"]["source.cluster.bootstrap.servers"] == \
        "127.0.0.1:39392"
    assert not any("override" in k for cfg in configs.values() for k in cfg)  # every flow writes to the worker's


def test_fan_in_acls_and_mm2_properties() -> None:
    c = config(MM2_STACK_TOPOLOGY="fan-in")
    target = acl_set(c, "target")
    for alias in ("source", "c"):
        assert ("User:mm2", "TOPIC", f"{alias}.", "PREFIXED", "CREATE") in target
        assert ("User:mm2", "GROUP", f"{alias}-mm2", "LITERAL", "READ") in target
        assert ("User:smoke", "TOPIC", f"{alias}.test-prometheus", "PREFIXED", "READ") in target
    assert acl_set(c, "c") == acl_set(c, "source")  # both are a flow's source only
    props = connect.dedicated_properties(config(MM2_STACK_TOPOLOGY="fan-in", MM2_STACK_MM2_MODE="dedicated"), PASSWORDS)
    assert props["clusters"] == "source, target, c" and props["c.bootstrap.servers"] == "127.0.0.1:39092"
    enabled = {k.removesuffix(".enabled") for k, v in props.items()
               if re.fullmatch(r"[a-z]+->[a-z]+\.enabled", k) and v == "true"}
    assert enabled == {"source->target", "c->target"}
    off = {k.removesuffix(".emit.heartbeats.enabled") for k in props if k.endswith(".emit.heartbeats.enabled")}
    assert off == {"source->c", "target->source", "target->c", "c->source"}
    assert props["c->target.topics"] == c.topics_regex and "c.offset.flush.interval.ms" not in props
    assert props["c.security.protocol"] == "SASL_SSL"


def test_fan_in_hands_airflow_a_connection_per_cluster(tmp_path: Path) -> None:
    c = StackConfig.from_env({"MM2_STACK_DIR": str(tmp_path), "MM2_STACK_TOPOLOGY": "fan-in",
                              "MM2_STACK_CLIENT_AUTH": "mtls"})
    env = envfile.airflow_env(c, PASSWORDS)
    extra = json.loads(env["AIRFLOW_CONN_KAFKA_C"])["extra"]
    assert extra["bootstrap.servers"] == "127.0.0.1:39092" and extra["ssl.certificate.location"].endswith("smoke.pem")
    assert env["KAFKA_C"] == "127.0.0.1:39092" and env["KAFKA_SOURCE"] == "127.0.0.1:19092"
    assert c.cluster_connections == {"source": "kafka_source", "target": "kafka_target", "c": "kafka_c"}
    assert [(f.source_conn, f.target_conn) for f in c.flows] == [("kafka_source", "kafka_target"),
                                                                 ("kafka_c", "kafka_target")]
    envfile.write_env_file(c, PASSWORDS)
    text = c.env_file.read_text()
    assert "# MM2_STACK_TOPOLOGY=fan-in: flows source->target, c->target\n" in text
    assert '# cluster_connections: {"source": "kafka_source", "target": "kafka_target", "c": "kafka_c"}\n' in text
    one_way = StackConfig.from_env({"MM2_STACK_DIR": str(tmp_path / "one")})
    one_way.root.mkdir()
    envfile.write_env_file(one_way, PASSWORDS)
    assert "cluster_connections" not in one_way.env_file.read_text()


@pytest.mark.parametrize("knobs", [
    {"MM2_STACK_CLIENT_AUTH": "mtls"}, {"MM2_STACK_SASL_MECHANISM": "SCRAM-SHA-512"},
    {"MM2_STACK_CONNECT_AUTH": "basic", "MM2_STACK_PROMETHEUS_AUTH": "basic"}, {"MM2_STACK_METRICS": "strimzi"},
    {"MM2_STACK_MM2_MODE": "dedicated", "MM2_STACK_METRICS_STORE": "victoriametrics"},
    {"MM2_STACK_KAFKA_VERSION": "3.9.1"},
])
@pytest.mark.parametrize("topology", ["active-active", "fan-in"])
def test_every_topology_combines_with_the_other_knobs(topology: str, knobs: dict[str, str]) -> None:
    c = config(MM2_STACK_TOPOLOGY=topology, **knobs)
    for cluster in c.clusters:  # each cluster's listener, users and ACLs as in the one-way stack
        assert kafka.broker_properties(c, cluster, PASSWORDS)["authorizer.class.name"].endswith("StandardAuthorizer")
        assert kafka.client_config(c, cluster, "smoke", PASSWORDS)["bootstrap.servers"] == c.bootstrap(cluster)
        assert kafka.acl_plan(c)[cluster]
    security = connect.mm2_security(c)
    for cfg in connect.connector_configs(c).values():
        assert all(cfg[f"{side}.cluster.{k}"] == v for side in ("source", "target") for k, v in security.items())


# --- the variant -----------------------------------------------------------------------------------------
def _a_stack(root: Path, variant: dict[str, str]) -> None:
    run = root / "run"
    run.mkdir(parents=True)
    (run / "secrets.json").write_text(json.dumps(PASSWORDS))
    (run / stack.VARIANT_FILE).write_text(json.dumps(variant))


def test_up_refuses_a_stack_of_another_topology_or_policy(tmp_path: Path) -> None:
    _a_stack(tmp_path, config().variant)
    for knobs in ({"MM2_STACK_TOPOLOGY": "fan-in"}, {"MM2_STACK_REPLICATION_POLICY": "identity"}):
        c = StackConfig.from_env({"MM2_STACK_DIR": str(tmp_path), **knobs})
        with pytest.raises(StackError, match="'topology': 'one-way', 'replication_policy': 'default'.*not the"):
            stack.up(c)


def test_a_variant_recorded_before_the_topology_knobs_reads_as_one_way_default(tmp_path: Path) -> None:
    old = {k: v for k, v in config().variant.items() if k not in ("topology", "replication_policy")}
    _a_stack(tmp_path, old)
    c = StackConfig.from_env({"MM2_STACK_DIR": str(tmp_path)})
    assert stack.running_variant(c) == c.variant
    assert stack.running_variant(StackConfig.from_env({"MM2_STACK_DIR": str(tmp_path),
                                                       "MM2_STACK_TOPOLOGY": "active-active"})) != \
        config(MM2_STACK_TOPOLOGY="active-active").variant

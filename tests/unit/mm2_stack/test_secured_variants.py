"""The stack's security and deployment knobs: what each variant's brokers, clients, MM2 and Airflow connections are
given (the real variants are started by tests/integration/test_metric_variants.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mm2_stack import connect, envfile, kafka
from mm2_stack.config import StackConfig, StackError

PASSWORDS = {"admin": "pa", "smoke": "ps", "mm2": "pm", "prometheus": "pp", "connect": "pc", "smoke-key": "pk",
             "rest-keystore": "pr"}


def config(**knobs: str) -> StackConfig:
    return StackConfig.from_env({"MM2_STACK_DIR": "/tmp/mm2-stack-unit", **knobs})


def test_the_default_is_sasl_plain_with_open_http_services_and_mm2_on_connect() -> None:
    c = config()
    assert (c.client_auth, c.sasl_mechanism, c.prometheus_auth, c.connect_auth, c.mm2_mode) == (
        "sasl", "PLAIN", "none", "none", "connect")
    assert kafka.client_config(c, "source", "smoke", PASSWORDS) == {
        "bootstrap.servers": "127.0.0.1:19092", "security.protocol": "SASL_SSL", "ssl.ca.location": str(c.ca_file),
        "sasl.mechanism": "PLAIN", "sasl.username": "smoke", "sasl.password": "ps"}
    props = kafka.broker_properties(c, "source", PASSWORDS)
    assert props["sasl.enabled.mechanisms"] == "PLAIN"
    assert 'user_smoke="ps"' in props["listener.name.sasl_ssl.plain.sasl.jaas.config"]
    assert kafka.scram_users(c, PASSWORDS) == []


def test_scram_users_are_created_by_the_storage_tool_and_clients_use_the_scram_login_module() -> None:
    c = config(MM2_STACK_SASL_MECHANISM="SCRAM-SHA-512")
    props = kafka.broker_properties(c, "target", PASSWORDS)
    assert props["sasl.enabled.mechanisms"] == props["sasl.mechanism.inter.broker.protocol"] == "SCRAM-SHA-512"
    assert "ScramLoginModule" in props["listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config"]
    assert "user_" not in json.dumps(props)  # SCRAM users live in the metadata log, not in the JAAS line
    assert kafka.scram_users(c, PASSWORDS)[:2] == ["--add-scram", "SCRAM-SHA-512=[name=admin,password=pa]"]
    assert kafka.client_config(c, "source", "smoke", PASSWORDS)["sasl.mechanism"] == "SCRAM-SHA-512"
    java = kafka.java_client_props(c, "mm2", PASSWORDS)
    assert java["sasl.mechanism"] == "SCRAM-SHA-512" and "ScramLoginModule" in java["sasl.jaas.config"]


def test_mtls_requires_a_client_certificate_and_maps_its_cn_to_the_principal() -> None:
    c = config(MM2_STACK_CLIENT_AUTH="mtls")
    props = kafka.broker_properties(c, "source", PASSWORDS)
    assert props["listeners"].startswith("SSL://") and props["ssl.client.auth"] == "required"
    assert props["ssl.principal.mapping.rules"].startswith("RULE:^CN=([^,]+)")
    assert "sasl.enabled.mechanisms" not in props
    smoke = kafka.client_config(c, "source", "smoke", PASSWORDS)
    assert smoke["security.protocol"] == "SSL" and "sasl.username" not in smoke
    assert smoke["ssl.certificate.location"].endswith("smoke.pem") and smoke["ssl.key.password"] == "pk"
    assert "ssl.key.password" not in kafka.client_config(c, "source", "mm2", PASSWORDS)  # mm2's key is plain
    worker = connect.worker_properties(c, PASSWORDS)
    assert worker["producer.ssl.keystore.location"].endswith("mm2-keystore.pem")
    assert connect.mm2_security(c)["ssl.keystore.type"] == "PEM"


def test_knobs_that_cannot_combine_are_refused_naming_both() -> None:
    with pytest.raises(StackError, match="MM2_STACK_SASL_MECHANISM.*mtls"):
        config(MM2_STACK_CLIENT_AUTH="mtls", MM2_STACK_SASL_MECHANISM="SCRAM-SHA-512")
    with pytest.raises(StackError, match="MM2_STACK_CONNECT_AUTH=basic.*dedicated"):
        config(MM2_STACK_MM2_MODE="dedicated", MM2_STACK_CONNECT_AUTH="basic")
    with pytest.raises(StackError, match="MM2_STACK_CLIENT_AUTH"):
        config(MM2_STACK_CLIENT_AUTH="kerberos")


def test_basic_auth_variants_give_airflow_https_connections_with_credentials_and_the_ca() -> None:
    c = config(MM2_STACK_PROMETHEUS_AUTH="basic", MM2_STACK_CONNECT_AUTH="basic")
    assert connect.rest_url(c).startswith("https://")
    worker = connect.worker_properties(c, PASSWORDS)
    assert worker["listeners"].startswith("https://") and worker["rest.extension.classes"] == \
        connect.BASIC_AUTH_EXTENSION
    assert worker["listeners.https.ssl.keystore.type"] == "PKCS12"
    prom = envfile.http_connection(c, "prometheus", c.ports.prometheus, PASSWORDS)
    assert prom["schema"] == "https" and prom["login"] == "smoke" and prom["password"] == "pp" and prom["extra"] == {"verify": str(c.ca_file)}
    assert envfile.http_connection(config(), "connect", 18083) == {"conn_type": "http", "host": "127.0.0.1",
                                                                   "port": 18083, "schema": "http"}


def test_dedicated_mode_runs_the_same_flow_from_mm2_properties() -> None:
    c = config(MM2_STACK_MM2_MODE="dedicated", MM2_STACK_SASL_MECHANISM="SCRAM-SHA-512")
    props = connect.dedicated_properties(c, PASSWORDS)
    assert props["clusters"] == "source, target"
    assert props["source->target.enabled"] == "true" and props["target->source.enabled"] == "false"
    assert props["target->source.emit.heartbeats.enabled"] == "false"
    assert props["source->target.topics"] == c.topics_regex
    assert props["source->target.refresh.topics.interval.seconds"] == "5"
    assert props["target.offset.flush.interval.ms"] == "5000"  # a worker setting: the target cluster's prefix
    assert "offset.flush.interval.ms" not in props
    assert props["source.sasl.mechanism"] == props["target.sasl.mechanism"] == "SCRAM-SHA-512"
    assert 'username="mm2"' in props["target.sasl.jaas.config"]
    assert not any(k.endswith("connector.class") for k in props)


def test_the_rogue_certificate_is_signed_by_another_ca(tmp_path: Path) -> None:
    from mm2_stack.certs import make_rogue_client_cert

    cert, key = make_rogue_client_cert(tmp_path, "smoke")
    assert cert.read_text().startswith("-----BEGIN CERTIFICATE") and "PRIVATE KEY" in key.read_text()


def test_dedicated_mode_has_no_connect_connection_and_mtls_gives_the_bombers_their_certificate() -> None:
    from mm2_smoke import dag_layout

    c = config(MM2_STACK_MM2_MODE="dedicated", MM2_STACK_CLIENT_AUTH="mtls")
    env = envfile.airflow_env(c, PASSWORDS)
    assert "AIRFLOW_CONN_KAFKA_CONNECT" not in env
    assert env["KAFKA_CERT"].endswith("smoke.pem") and env["KAFKA_KEY_PASS"] == "pk" and env["KAFKA_PASS"] == ""
    assert dag_layout.http_conns("dedicated") == ("prometheus",)
    assert dag_layout.http_conns("connect") == dag_layout.http_conns(None) == ("prometheus", "kafka_connect")

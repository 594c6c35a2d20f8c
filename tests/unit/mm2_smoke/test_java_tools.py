"""Kafka's Java tools: librdkafka settings in the Java client's terms, private properties files, finding Java and
Kafka's jars, ConfigCommand's quota output."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from mm2_smoke.errors import InputError
from mm2_smoke.java_tools import (
    KafkaToolsUnavailable,
    find_java,
    java_client_properties,
    parse_quotas,
    tools_classpath,
    write_properties,
)

SOURCE = {"bootstrap.servers": "127.0.0.1:19092", "security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN",
          "sasl.username": "smoke", "sasl.password": 'pa"ss\\word', "ssl.ca.location": "/certs/ca.pem"}


def test_librdkafka_settings_become_java_settings_with_an_escaped_jaas() -> None:
    props = java_client_properties(SOURCE)
    assert props["bootstrap.servers"] == "127.0.0.1:19092"
    assert props["security.protocol"] == "SASL_SSL" and props["sasl.mechanism"] == "PLAIN"
    assert props["sasl.jaas.config"] == ('org.apache.kafka.common.security.plain.PlainLoginModule required '
                                         'username="smoke" password="pa\\"ss\\\\word";')
    assert props["ssl.truststore.type"] == "PEM" and props["ssl.truststore.location"] == "/certs/ca.pem"


def test_scram_uses_the_scram_login_module() -> None:
    props = java_client_properties({**SOURCE, "sasl.mechanism": "SCRAM-SHA-512"})
    assert props["sasl.jaas.config"].startswith("org.apache.kafka.common.security.scram.ScramLoginModule required")


@pytest.mark.parametrize(("config", "match"), [
    ({"security.protocol": "SASL_SSL"}, r"config\['bootstrap.servers'\] must be provided"),
    ({**SOURCE, "sasl.password": ""}, r"config\['sasl.username'\] and config\['sasl.password'\] must be provided"),
    ({**SOURCE, "sasl.mechanism": "OAUTHBEARER"}, "not supported"),
])
def test_incomplete_connections_are_named(config: dict, match: str) -> None:
    with pytest.raises(InputError, match=match) as caught:
        java_client_properties(config)
    assert caught.value.field in ("bootstrap.servers", "sasl.username", "sasl.mechanism")


def test_properties_file_is_private_and_escaped(tmp_path: Path) -> None:
    path = tmp_path / "p.properties"
    write_properties(path, {"sasl.jaas.config": 'x password="a\\b";'})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == 'sasl.jaas.config=x password="a\\\\b";\n'


def test_missing_classpath_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_TOOLS_CLASSPATH", raising=False)
    monkeypatch.delenv("KAFKA_HOME", raising=False)
    with pytest.raises(KafkaToolsUnavailable, match="set KAFKA_TOOLS_CLASSPATH"):
        tools_classpath()


def test_classpath_without_kafka_tools_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "kafka-clients-4.1.1.jar").write_bytes(b"")
    monkeypatch.setenv("KAFKA_TOOLS_CLASSPATH", str(tmp_path / "*"))
    with pytest.raises(KafkaToolsUnavailable, match=r"no kafka-tools-\*\.jar in \$KAFKA_TOOLS_CLASSPATH"):
        tools_classpath()
    (tmp_path / "kafka-tools-4.1.1.jar").write_bytes(b"")
    assert tools_classpath() == str(tmp_path / "*")


def test_kafka_home_is_the_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "libs").mkdir()
    (tmp_path / "libs" / "kafka-tools-4.1.1.jar").write_bytes(b"")
    monkeypatch.delenv("KAFKA_TOOLS_CLASSPATH", raising=False)
    monkeypatch.setenv("KAFKA_HOME", str(tmp_path))
    assert tools_classpath() == str(tmp_path / "libs" / "*")


def test_missing_java_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(KafkaToolsUnavailable, match="install Java 17"):
        find_java()


def test_config_command_quota_output_is_parsed() -> None:
    out = "Quota configs for user-principal 'mm2' are producer_byte_rate=4096.0, consumer_byte_rate=1.5E7\n"
    assert parse_quotas(out) == {"producer_byte_rate": 4096.0, "consumer_byte_rate": 1.5e7}
    assert parse_quotas("No quota configs found\n") == {}

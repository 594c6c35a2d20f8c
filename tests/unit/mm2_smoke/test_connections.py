"""Connection checks before step 1.1, and the TLS posture the report states."""

from __future__ import annotations

from mm2_smoke.connections import http_problems, kafka_problems, missing_message, tls_posture

OK = {"bootstrap.servers": "b:9093", "security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN",
      "sasl.username": "smoke", "sasl.password": "s3cret"}


def test_complete_kafka_extra_has_no_problem() -> None:
    assert kafka_problems("kafka_source", OK) == []


def test_missing_bootstrap_servers_names_the_connection_and_the_fix() -> None:
    [msg] = kafka_problems("kafka_source", {k: v for k, v in OK.items() if k != "bootstrap.servers"})
    assert "'kafka_source'" in msg and "bootstrap.servers" in msg and "e.g." in msg
    assert "s3cret" not in msg


def test_sasl_without_password_and_missing_ca_file_are_named() -> None:
    msgs = kafka_problems("kafka_target", {**OK, "sasl.password": "", "ssl.ca.location": "/nope/ca.pem"})
    assert any("sasl.password" in m for m in msgs) and any("/nope/ca.pem" in m and "does not exist" in m
                                                           for m in msgs)


def test_extra_that_is_not_json_is_named() -> None:
    [msg] = kafka_problems("kafka_source", "{not json")
    assert "not JSON" in msg and "'kafka_source'" in msg


def test_http_without_host_and_missing_connection_messages() -> None:
    assert "no host" in http_problems("prometheus", "")[0]
    msg = missing_message("kafka_connect", "type http", "{}")
    assert "AIRFLOW_CONN_KAFKA_CONNECT" in msg and "'kafka_connect' is not defined" in msg


def test_tls_verification_is_on_unless_explicitly_turned_off() -> None:
    assert tls_posture("kafka_source", OK).warnings() == []
    assert "hostname verification on" in tls_posture("kafka_source", OK).summary()
    off = tls_posture("kafka_source", {**OK, "ssl.endpoint.identification.algorithm": "none"})
    [w] = off.warnings()
    assert "hostname verification is OFF" in w
    nocert = tls_posture("kafka_source", {**OK, "enable.ssl.certificate.verification": "false"})
    assert any("certificate verification is OFF" in w for w in nocert.warnings())
    plain = tls_posture("kafka_source", {"bootstrap.servers": "b:9092"})
    assert "no TLS" in plain.warnings()[0]

"""Secured chains and MM2 without Connect REST, as the pure core sees them: a refused credential is UNKNOWN about the
smoke test's own connection (never NOGO about MM2), client certificates are checked and passed on, and in dedicated
mode the exported status and MM2's heartbeats speak where REST cannot. Answers and error texts as recorded on the
local stack's variants."""

from __future__ import annotations

from pathlib import Path

import pytest

from mm2_smoke import chain
from mm2_smoke.chain import ChainState, connector_findings, exported_status_findings, mm2_silent, topic_findings
from mm2_smoke.checks import Status
from mm2_smoke.connections import client_certificate_problems, http_problems, kafka_problems
from mm2_smoke.diagnosis import base as dg
from mm2_smoke.diagnosis.connector import ConnectorFacts, diagnose_connector
from mm2_smoke.errors import InputError
from mm2_smoke.java_tools import java_client_properties
from mm2_smoke.measured import HttpAnswer

NAME = "source->target.MirrorSourceConnector"
TOPIC = "test-prometheus.generated-data-01.json"
DEDICATED = HttpAnswer(None, error="not inspected: MM2 runs in dedicated mode (mm2_mode=dedicated), which serves no "
                                   "public Connect REST API")
REFUSAL = ("authentication failed on 127.0.0.1:19492 as user 'smoke': SASL authentication error; check the user name, "
           "the password and sasl.mechanism (in the extra of Airflow connection 'kafka_source')")


def state(status: HttpAnswer, **kw) -> ChainState:
    return ChainState(NAME, status, None, TOPIC, True, "source." + TOPIC, True, **kw)


def test_connect_rest_refusing_the_credentials_is_a_certain_unknown_naming_the_connection() -> None:
    (f,) = connector_findings(state(HttpAnswer(401, "Unauthorized")))
    assert f.status is Status.UNKNOWN and f.certain
    assert "credentials refused by connection 'kafka_connect'" in f.message and "login/password" in f.message
    d = diagnose_connector(ConnectorFacts(NAME, HttpAnswer(403, "Forbidden"), HttpAnswer(None), TOPIC))
    assert d[0].cause_id == dg.SMOKE_SETUP and "kafka_connect" in d[0].cause


def test_a_refused_own_kafka_connection_stops_the_run_with_the_setting_to_fix() -> None:
    s = state(HttpAnswer(None, error="x"), kafka_errors={"source": "KafkaException: ... (client errors: "
                                                                    "_AUTHENTICATION)"},
              kafka_refusals={"source": REFUSAL})
    (f,) = topic_findings(s)
    assert f.status is Status.UNKNOWN and f.certain and REFUSAL in f.message and "nothing was produced" in f.message
    running = {"connector": {"state": "RUNNING"}, "tasks": [{"id": 0, "state": "RUNNING"}]}
    d = diagnose_connector(ConnectorFacts(NAME, HttpAnswer(200, running), HttpAnswer(None), TOPIC,
                                                refused_clusters={"source": REFUSAL}))
    assert any(x.cause_id == dg.SMOKE_SETUP and x.evidence == REFUSAL for x in d)
    assert not any(x.cause_id == dg.CLUSTER_UNRESPONSIVE for x in d)


def test_without_connect_rest_the_connector_is_not_inspected_and_never_called_down() -> None:
    (f,) = connector_findings(state(DEDICATED))
    assert f.status is Status.UNKNOWN and not f.certain and f.message.startswith("not inspected: MM2 runs in dedicated")
    fresh = diagnose_connector(ConnectorFacts(NAME, DEDICATED, HttpAnswer(None), TOPIC, heartbeat_age_s=3.0))
    assert not any(x.cause_id == dg.WORKER_DOWN for x in fresh), fresh
    assert fresh[0].cause_id == dg.NO_CAUSE_FOUND and "not inspected" in fresh[0].evidence + fresh[0].cause


def test_stale_heartbeats_and_silent_metrics_say_mm2_is_not_running() -> None:
    assert mm2_silent(state(DEDICATED), (40.0, ""), 15) is not None
    f = mm2_silent(state(DEDICATED), (40.0, ""), 15)
    assert f.status is Status.NOGO and f.certain and "not running" in f.message and "40 s old" in f.message
    assert mm2_silent(state(DEDICATED), (10.0, ""), 15) is None  # recent: MM2 runs, its exporter is what is silent
    assert mm2_silent(state(DEDICATED), (None, "TOPIC_AUTHORIZATION_FAILED"), 15) is None  # no witness, no verdict
    d = diagnose_connector(ConnectorFacts(NAME, DEDICATED, HttpAnswer(None), TOPIC, heartbeat_age_s=44.0,
                                                heartbeat_max_age_s=15))
    assert d[0].cause_id == dg.WORKER_DOWN and d[0].cause.startswith("MirrorMaker 2 is not running")


def test_the_exported_connector_status_speaks_where_rest_cannot() -> None:
    (bad,) = exported_status_findings(["paused"], ".*MirrorSourceConnector.*")
    assert bad.status is Status.NOGO and bad.certain and "PAUSED" in bad.message
    (ok,) = exported_status_findings(["running"], ".*MirrorSourceConnector.*")
    assert ok.status is Status.GO
    assert exported_status_findings([], ".*") == []  # the exporter has no status series: nothing to say
    assert set(chain.CONNECTOR_STATES) >= {"running", "paused", "failed"}


def test_client_certificates_are_checked_before_connecting(tmp_path: Path) -> None:
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("c")
    key.write_text("k")
    ok = {"bootstrap.servers": "b:9093", "security.protocol": "SSL", "ssl.certificate.location": str(cert),
          "ssl.key.location": str(key), "ssl.key.password": "secret"}
    assert kafka_problems("kafka_source", ok) == []
    half = {k: v for k, v in ok.items() if k != "ssl.key.location"}
    assert "no ssl.key.location" in client_certificate_problems("kafka_source", half, "SSL")[0]
    gone = {**ok, "ssl.key.location": str(tmp_path / "nope.pem")}
    assert "does not exist on this worker" in kafka_problems("kafka_source", gone)[0]
    plain = {**ok, "security.protocol": "SASL_PLAINTEXT"}
    assert "security.protocol to SSL" in client_certificate_problems("kafka_source", plain, "SASL_PLAINTEXT")[0]


def test_an_https_connection_names_a_missing_ca_file(tmp_path: Path) -> None:
    assert http_problems("prometheus", "p", "https", {"verify": str(tmp_path / "ca.pem")})[0].endswith(
        "point it at the PEM file of the CA that signed the service's certificate")
    (tmp_path / "ca.pem").write_text("ca")
    assert http_problems("prometheus", "p", "https", {"verify": str(tmp_path / "ca.pem")}) == []
    assert http_problems("prometheus", "p", "https", {"verify": "false"}) == []


def test_kafkas_java_tools_get_the_client_certificate_in_line_never_on_a_command_line(tmp_path: Path) -> None:
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\nAA\n-----END CERTIFICATE-----\n")
    key.write_text("-----BEGIN ENCRYPTED PRIVATE KEY-----\nBB\n-----END ENCRYPTED PRIVATE KEY-----\n")
    props = java_client_properties({"bootstrap.servers": "b:9093", "security.protocol": "SSL",
                                    "ssl.certificate.location": str(cert), "ssl.key.location": str(key),
                                    "ssl.key.password": "kp"})
    assert props["ssl.keystore.type"] == "PEM" and props["ssl.key.password"] == "kp"
    assert props["ssl.keystore.certificate.chain"] == cert.read_text()
    assert "ENCRYPTED PRIVATE KEY" in props["ssl.keystore.key"]
    with pytest.raises(InputError, match="ssl.key.location"):
        java_client_properties({"bootstrap.servers": "b:9093", "security.protocol": "SSL",
                                "ssl.certificate.location": str(cert)})
    scram = java_client_properties({"bootstrap.servers": "b:9093", "security.protocol": "SASL_SSL",
                                    "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "u", "sasl.password": "p"})
    assert scram["sasl.jaas.config"].startswith("org.apache.kafka.common.security.scram.ScramLoginModule required")

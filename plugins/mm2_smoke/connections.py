"""What the smoke test needs of its Airflow connections, checked before anything is produced. Pure.

A run whose connection is missing or incomplete must stop before step 1.1 with a message that names the
connection and the fix (nothing produced, nothing half-done), and a run whose Kafka connection turns TLS
verification off must say so in its report.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

#: What each connection of the DAG is for, and an example of it (shown in error messages).
KAFKA_EXAMPLE = ('{"conn_type":"kafka","extra":{"bootstrap.servers":"broker1:9093","security.protocol":"SASL_SSL",'
                 '"sasl.mechanism":"PLAIN","sasl.username":"smoke","sasl.password":"...","ssl.ca.location":'
                 '"/path/ca.pem"}}')
#: The usual port of each HTTP service the DAG reads, for the example in a "not defined" message.
HTTP_PORTS = {"prometheus": 9090, "kafka_connect": 8083}


def http_example(conn_id: str) -> str:
    """An example ``http`` connection JSON for ``conn_id`` (shown in error messages)."""
    host, port = conn_id.replace("_", "-"), HTTP_PORTS.get(conn_id, 80)
    return json.dumps({"conn_type": "http", "host": host, "port": port, "schema": "http"}, separators=(",", ":"))


#: Kafka's security protocols (librdkafka's ``security.protocol``).
SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
#: The SASL mechanisms the smoke test and its tools support (user + password), with the Java client's login module.
SASL_LOGIN_MODULES = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}
SASL_MECHANISMS = tuple(SASL_LOGIN_MODULES)


def missing_message(conn_id: str, kind: str, example: str) -> str:
    """The message of an undefined connection: what it is, where to define it, an example."""
    env = "AIRFLOW_CONN_" + conn_id.upper()
    return (f"Airflow connection {conn_id!r} is not defined: create it ({kind}) in the UI (Admin > Connections) or "
            f"set {env}, e.g. {env}='{example}'")


def kafka_problems(conn_id: str, extra: Any) -> list[str]:
    """Why a ``kafka`` connection's extra (the librdkafka config) cannot work; [] when it can.

    Checks only what can be known without a broker: the brokers are named, SASL has its user and password,
    the CA file exists. Wrong passwords, unknown hosts and CA mismatches are found by connecting.
    """
    if isinstance(extra, str):
        try:
            extra = json.loads(extra) if extra.strip() else {}
        except ValueError as exc:
            return [f"Airflow connection {conn_id!r}: its extra is not JSON ({exc}): set it to the librdkafka "
                    f"config as a JSON object, e.g. {KAFKA_EXAMPLE}"]
    if not isinstance(extra, dict):
        return [f"Airflow connection {conn_id!r}: its extra must be a JSON object of librdkafka settings"]
    problems = []
    if not str(extra.get("bootstrap.servers") or "").strip():
        problems.append(f"Airflow connection {conn_id!r} has no bootstrap.servers in its extra: add the brokers "
                        f"(host:port, comma-separated), e.g. {KAFKA_EXAMPLE}")
    protocol = str(extra.get("security.protocol", "PLAINTEXT")).upper()
    mechanism = str(extra.get("sasl.mechanism", extra.get("sasl.mechanisms", "GSSAPI"))).upper()
    if protocol.startswith("SASL") and mechanism in SASL_MECHANISMS:
        for key in ("sasl.username", "sasl.password"):
            if not extra.get(key):
                problems.append(f"Airflow connection {conn_id!r} uses {protocol}/{mechanism} but has no {key} in "
                                "its extra: add it")
    ca = extra.get("ssl.ca.location")
    if ca and protocol in ("SSL", "SASL_SSL") and ca != "probe" and not os.path.exists(str(ca)):
        problems.append(f"Airflow connection {conn_id!r}: ssl.ca.location={ca!r} does not exist on this worker: "
                        "point it at the PEM file of the CA that signed the brokers' certificates")
    problems += client_certificate_problems(conn_id, extra, protocol)
    return problems


#: A client certificate (mTLS): librdkafka's keys, and what each holds.
CLIENT_CERT_KEYS = {"ssl.certificate.location": "the client certificate (PEM)",
                    "ssl.key.location": "the client certificate's private key (PEM)"}


def client_certificate_problems(conn_id: str, extra: dict[str, Any], protocol: str) -> list[str]:
    """Why a client certificate (mTLS) of a ``kafka`` connection cannot work: half of it given, a file missing, or
    given without TLS. A certificate the brokers' CA did not sign is found by connecting."""
    given = {k: str(extra[k]) for k in CLIENT_CERT_KEYS if extra.get(k)}
    if not given:
        return []
    if protocol not in ("SSL", "SASL_SSL"):
        return [f"Airflow connection {conn_id!r} has a client certificate but security.protocol={protocol}: set "
                "security.protocol to SSL (mTLS) or SASL_SSL"]
    problems = []
    for key, what in CLIENT_CERT_KEYS.items():
        if key not in given:
            problems.append(f"Airflow connection {conn_id!r} has {' and '.join(given)} but no {key} ({what}): add it "
                            "to its extra")
        elif not os.path.exists(given[key]):
            problems.append(f"Airflow connection {conn_id!r}: {key}={given[key]!r} does not exist on this worker: "
                            f"point it at {what}")
    return problems


def http_problems(conn_id: str, host: str | None, schema: str | None = None, extra: Any = None) -> list[str]:
    """Why an ``http`` connection cannot be used; [] when it can. A CA for HTTPS is the extra's ``verify`` (a PEM
    file, as the HTTP provider hands it to ``requests``)."""
    if not (host or "").strip():
        return [f"Airflow connection {conn_id!r} has no host: set the service's URL host (and port, schema)"]
    verify = extra.get("verify") if isinstance(extra, dict) else None
    if isinstance(verify, str) and verify.lower() not in ("true", "false") and not os.path.exists(verify):
        return [f"Airflow connection {conn_id!r}: extra verify={verify!r} does not exist on this worker: point it at "
                "the PEM file of the CA that signed the service's certificate"]
    return []


@dataclass(frozen=True)
class TlsPosture:
    """How a Kafka connection protects its traffic, in words for the report.

    :param conn_id: the connection.
    :param tls: TLS is used (``SSL`` or ``SASL_SSL``).
    :param hostname_verification: the broker's certificate must name the host connected to.
    :param certificate_verification: the broker's certificate must chain to the CA.
    """

    conn_id: str
    tls: bool
    hostname_verification: bool
    certificate_verification: bool

    def warnings(self) -> list[str]:
        """What the report must say, because it weakens the test's connection ([] when all is on)."""
        if not self.tls:
            return [f"{self.conn_id}: no TLS (security.protocol is not SSL/SASL_SSL): credentials and messages "
                    "cross the network in clear"]
        out = []
        if not self.certificate_verification:
            out.append(f"{self.conn_id}: TLS certificate verification is OFF (enable.ssl.certificate.verification="
                       "false): any certificate is accepted; remove the setting to turn it back on")
        if not self.hostname_verification:
            out.append(f"{self.conn_id}: TLS hostname verification is OFF (ssl.endpoint.identification.algorithm="
                       "none): a certificate for another host is accepted; remove the setting to turn it back on")
        return out

    def summary(self) -> str:
        if not self.tls:
            return f"{self.conn_id}: plaintext"
        on_off = {True: "on", False: "OFF"}
        return (f"{self.conn_id}: TLS, certificate verification {on_off[self.certificate_verification]}, "
                f"hostname verification {on_off[self.hostname_verification]}")


def _false(value: Any) -> bool:
    return str(value).strip().lower() in ("false", "0", "no", "off")


def tls_posture(conn_id: str, config: dict[str, Any]) -> TlsPosture:
    """The TLS posture of a librdkafka config. librdkafka verifies certificates and hostnames by default
    (``ssl.endpoint.identification.algorithm=https`` since 2.0): only an explicit setting turns them off."""
    tls = str(config.get("security.protocol", "PLAINTEXT")).upper() in ("SSL", "SASL_SSL")
    hostname = str(config.get("ssl.endpoint.identification.algorithm", "https")).strip().lower() != "none"
    certificate = not _false(config.get("enable.ssl.certificate.verification", "true"))
    return TlsPosture(conn_id, tls, hostname and certificate, certificate)

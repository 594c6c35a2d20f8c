"""Running Kafka's own Java tools (ConfigCommand, ...) from a librdkafka-style connection config.

The tools' classpath comes from ``KAFKA_TOOLS_CLASSPATH`` (the local stack writes it into
``.stack/airflow.env``); elsewhere point it at an Apache Kafka install's ``libs/*``. Secrets go through
a temporary 0600 properties file, never the command line (which ``ps`` shows).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CLASSPATH_ENV = "KAFKA_TOOLS_CLASSPATH"


class KafkaToolsUnavailable(RuntimeError):
    """Java or Kafka's tools are not available here."""


def java_client_properties(config: dict[str, Any]) -> dict[str, str]:
    """Java client settings equivalent to a librdkafka config (SASL PLAIN/SCRAM, SSL with a PEM CA)."""
    props: dict[str, str] = {}
    protocol = str(config.get("security.protocol", "PLAINTEXT")).upper()
    props["security.protocol"] = protocol
    if protocol.startswith("SASL"):
        mechanism = str(config.get("sasl.mechanism", config.get("sasl.mechanisms", "PLAIN"))).upper()
        props["sasl.mechanism"] = mechanism
        module = ("org.apache.kafka.common.security.plain.PlainLoginModule" if mechanism == "PLAIN"
                  else "org.apache.kafka.common.security.scram.ScramLoginModule")
        user = str(config.get("sasl.username", "")).replace('"', '\\"')
        password = str(config.get("sasl.password", "")).replace('"', '\\"')
        props["sasl.jaas.config"] = f'{module} required username="{user}" password="{password}";'
    if protocol.endswith("SSL") and config.get("ssl.ca.location"):
        props["ssl.truststore.type"] = "PEM"
        props["ssl.truststore.location"] = str(config["ssl.ca.location"])
    if str(config.get("ssl.endpoint.identification.algorithm", "https")).lower() == "none":
        props["ssl.endpoint.identification.algorithm"] = ""
    return props


@contextmanager
def properties_file(props: dict[str, str]) -> Iterator[str]:
    """A temporary 0600 properties file holding ``props``; removed on exit."""
    fd, path = tempfile.mkstemp(prefix="mm2-smoke-", suffix=".properties")
    try:
        with os.fdopen(fd, "w") as fh:
            for k, v in props.items():
                fh.write(f"{k}={v}\n")
        yield path
    finally:
        os.unlink(path)


def tools_classpath(classpath: str | None = None) -> str:
    """The classpath of Kafka's tools, or a :class:`KafkaToolsUnavailable` saying how to provide it."""
    cp = classpath or os.environ.get(CLASSPATH_ENV)
    if not cp:
        raise KafkaToolsUnavailable(f"Kafka's tools are not configured: set {CLASSPATH_ENV} to the jars of an "
                                    "Apache Kafka install (e.g. /opt/kafka/libs/*)")
    if shutil.which("java") is None:
        raise KafkaToolsUnavailable("java is not on PATH: Kafka's tools need a Java 17+ runtime")
    return cp


def run_tool(main_class: str, args: list[str], classpath: str | None = None, timeout_s: float = 60) -> str:
    """Run a Kafka tool class; its output, or a RuntimeError with the tail of it."""
    cp = tools_classpath(classpath)
    done = subprocess.run(["java", "-Xmx256m", "-cp", cp, main_class, *args], capture_output=True, text=True,
                          timeout=timeout_s)
    out = done.stdout + done.stderr
    if done.returncode != 0:
        tail = "\n".join(line for line in out.splitlines()[-5:] if "password" not in line.lower())
        raise RuntimeError(f"{main_class.rsplit('.', 1)[-1]} exited {done.returncode}: {tail}")
    return done.stdout


def describe_user_quotas(config: dict[str, Any], user: str, classpath: str | None = None) -> dict[str, float]:
    """Client quotas of ``user`` (e.g. ``{"producer_byte_rate": 4096.0}``) via Kafka's ConfigCommand."""
    with properties_file(java_client_properties(config)) as props:
        out = run_tool("kafka.admin.ConfigCommand", ["--bootstrap-server", str(config["bootstrap.servers"]),
                                                     "--command-config", props, "--describe",
                                                     "--entity-type", "users", "--entity-name", user], classpath)
    return parse_quotas(out)


def parse_quotas(output: str) -> dict[str, float]:
    """Parse ``Quota configs for user-principal 'mm2' are producer_byte_rate=4096.0, ...``."""
    quotas: dict[str, float] = {}
    for line in output.splitlines():
        if "Quota configs" in line and " are " in line:
            for key, value in re.findall(r"([a-z_]+)=([0-9.eE+-]+)", line.split(" are ", 1)[1]):
                quotas[key] = float(value)
    return quotas

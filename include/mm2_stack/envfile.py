"""The dotenv file that hands the stack's connections to Airflow and to the runbook's commands."""

from __future__ import annotations

import json
import os
import shlex

from mm2_stack import webauth
from mm2_stack.config import StackConfig, connection_id
from mm2_stack.kafka import client_config


def http_connection(config: StackConfig, service: str, port: int, passwords: dict[str, str] | None = None
                    ) -> dict[str, object]:
    """The ``http`` connection of one of the stack's HTTP services: its host, port and schema; with basic auth, the
    login/password and the stack's CA in ``extra.verify`` (the HTTP provider hands it to ``requests``)."""
    fields: dict[str, object] = {"conn_type": "http", "host": "127.0.0.1", "port": port,
                                 "schema": webauth.base_url(config, service).split(":", 1)[0]}
    creds = webauth.credentials(config, service, passwords)
    if creds:
        fields.update({"login": creds[0], "password": creds[1], "extra": {"verify": str(config.ca_file)}})
    return fields


def airflow_env(config: StackConfig, passwords: dict[str, str]) -> dict[str, str]:
    """Environment variables: Airflow connections (``AIRFLOW_CONN_*``) and the runbook's variables."""

    def conn(**fields: object) -> str:
        return json.dumps(fields, separators=(",", ":"))

    ports = config.ports
    env = {
        "AIRFLOW_CONN_KAFKA_SOURCE": conn(conn_type="kafka", extra=client_config(config, "source", "smoke", passwords)),
        "AIRFLOW_CONN_KAFKA_TARGET": conn(conn_type="kafka", extra=client_config(config, "target", "smoke", passwords)),
        "AIRFLOW_CONN_PROMETHEUS": conn(**http_connection(config, "prometheus", ports.prometheus, passwords)),
        "AIRFLOW_CONN_KAFKA_CONNECT": conn(**http_connection(config, "connect", ports.connect_rest, passwords)),
        # For Kafka's own tools (kafka-producer-perf-test, console consumer): `java -cp "$KAFKA_TOOLS_CLASSPATH" ...`
        "KAFKA_TOOLS_CLASSPATH": config.classpath,
        # The runbook's shell variables.
        "KAFKA_SOURCE": config.bootstrap("source"),
        "KAFKA_TARGET": config.bootstrap("target"),
        "KAFKA_USER": "smoke",
        "KAFKA_PASS": passwords["smoke"],
        "KAFKA_CA": str(config.ca_file),
    }
    for alias in config.clusters:  # a cluster beyond source and target (fan-in's c): kafka_<alias>, KAFKA_<ALIAS>
        if alias not in ("source", "target"):
            env[f"AIRFLOW_CONN_{connection_id(alias).upper()}"] = conn(
                conn_type="kafka", extra=client_config(config, alias, "smoke", passwords))
            env[f"KAFKA_{alias.upper()}"] = config.bootstrap(alias)
    if config.mm2_mode == "dedicated":  # no Connect REST API: runs take Param mm2_mode=dedicated, no kafka_connect
        del env["AIRFLOW_CONN_KAFKA_CONNECT"]
    if config.client_auth == "mtls":  # the bombers' client-certificate flags read these (their key's password too)
        env.update({"KAFKA_USER": "", "KAFKA_PASS": "", "KAFKA_CERT": str(config.client_cert("smoke")),
                    "KAFKA_KEY": str(config.client_key("smoke")), "KAFKA_KEY_PASS": passwords["smoke-key"]})
    return env


def write_env_file(config: StackConfig, passwords: dict[str, str]) -> None:
    lines = ["# Written by `python -m mm2_stack up`: connections of the local MM2 stack. Secret: do not commit.",
             "# Load with: set -a; . .stack/airflow.env; set +a"]
    if len(config.flows) > 1:  # which connection reaches which cluster alias of the flows
        lines += [f"# MM2_STACK_TOPOLOGY={config.topology}: flows {', '.join(f.name for f in config.flows)}",
                  f"# cluster_connections: {json.dumps(config.cluster_connections)}"]
    lines += [f"{k}={shlex.quote(v)}" for k, v in airflow_env(config, passwords).items()]
    tmp = config.env_file.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    tmp.replace(config.env_file)

"""The dotenv file that hands the stack's connections to Airflow and to the runbook's commands."""

from __future__ import annotations

import json
import os
import shlex

from mm2_stack.config import StackConfig
from mm2_stack.kafka import client_config


def airflow_env(config: StackConfig, passwords: dict[str, str]) -> dict[str, str]:
    """Environment variables: Airflow connections (``AIRFLOW_CONN_*``) and the runbook's variables."""

    def conn(**fields: object) -> str:
        return json.dumps(fields, separators=(",", ":"))

    ports = config.ports
    env = {
        "AIRFLOW_CONN_KAFKA_SOURCE": conn(conn_type="kafka", extra=client_config(config, "source", "smoke", passwords)),
        "AIRFLOW_CONN_KAFKA_TARGET": conn(conn_type="kafka", extra=client_config(config, "target", "smoke", passwords)),
        "AIRFLOW_CONN_PROMETHEUS": conn(conn_type="http", host="127.0.0.1", port=ports.prometheus, schema="http"),
        "AIRFLOW_CONN_KAFKA_CONNECT": conn(conn_type="http", host="127.0.0.1", port=ports.connect_rest, schema="http"),
        # For Kafka's own tools (kafka-producer-perf-test, console consumer): `java -cp "$KAFKA_TOOLS_CLASSPATH" ...`
        "KAFKA_TOOLS_CLASSPATH": config.classpath,
        # The runbook's shell variables.
        "KAFKA_SOURCE": config.bootstrap("source"),
        "KAFKA_TARGET": config.bootstrap("target"),
        "KAFKA_USER": "smoke",
        "KAFKA_PASS": passwords["smoke"],
        "KAFKA_CA": str(config.ca_file),
    }
    return env


def write_env_file(config: StackConfig, passwords: dict[str, str]) -> None:
    lines = ["# Written by `python -m mm2_stack up`: connections of the local MM2 stack. Secret: do not commit.",
             "# Load with: set -a; . .stack/airflow.env; set +a"]
    lines += [f"{k}={shlex.quote(v)}" for k, v in airflow_env(config, passwords).items()]
    tmp = config.env_file.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    tmp.replace(config.env_file)

"""The Kafka Connect distributed worker that runs MirrorMaker 2, and its three MM2 connectors."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from mm2_stack import proc
from mm2_stack.config import JMX_EXPORTER_JAR, PACKAGE_DIR, StackConfig, StackError
from mm2_stack.kafka import jaas_plain, java_argv, java_client_props, write_properties

BYTES = "org.apache.kafka.connect.converters.ByteArrayConverter"
CONNECTOR_KINDS = ("MirrorSourceConnector", "MirrorCheckpointConnector", "MirrorHeartbeatConnector")
EXPORTER_RULES = PACKAGE_DIR.parent / "prometheus" / "jmx-exporter-mm2.yaml"


def rest_url(config: StackConfig, path: str = "") -> str:
    return f"http://127.0.0.1:{config.ports.connect_rest}{path}"


def worker_properties(config: StackConfig, passwords: dict[str, str]) -> dict[str, str]:
    props = {
        "bootstrap.servers": config.bootstrap("target"),
        "group.id": "mm2-connect",
        "config.storage.topic": "mm2-connect-configs",
        "offset.storage.topic": "mm2-connect-offsets",
        "status.storage.topic": "mm2-connect-status",
        "config.storage.replication.factor": "1",
        "offset.storage.replication.factor": "1",
        "offset.storage.partitions": "5",
        "status.storage.replication.factor": "1",
        "key.converter": BYTES,
        "value.converter": BYTES,
        "header.converter": BYTES,
        "listeners": rest_url(config),
        "rest.advertised.host.name": "127.0.0.1",
        "rest.advertised.port": str(config.ports.connect_rest),
        # Commit source offsets every 5 s so offset-commit metrics exist soon after a start.
        "offset.flush.interval.ms": "5000",
        "scheduled.rebalance.max.delay.ms": "10000",
        "connector.client.config.override.policy": "All",
        # Connector configs reference secrets in a file instead of carrying passwords in Connect's REST.
        "config.providers": "file",
        "config.providers.file.class": "org.apache.kafka.common.config.provider.FileConfigProvider",
    }
    # The worker's own clients, its producer (MM2's writes to target), consumer and admin: as mm2.
    for prefix in ("", "producer.", "consumer.", "admin."):
        props.update(java_client_props(config, "mm2", passwords, prefix))
    return props


def connector_configs(config: StackConfig) -> dict[str, dict[str, str]]:
    """The three MM2 connectors, named as MirrorMaker names them (``source->target.<Kind>``)."""
    naming = config.naming
    secrets_ref = f"${{file:{config.run_dir / 'connect' / 'mm2-secrets.properties'}:jaas}}"
    common: dict[str, str] = {
        "source.cluster.alias": naming.source_alias,
        "target.cluster.alias": naming.target_alias,
        "replication.policy.class": "org.apache.kafka.connect.mirror.DefaultReplicationPolicy",
        "replication.policy.separator": naming.separator,
        "key.converter": BYTES,
        "value.converter": BYTES,
        "header.converter": BYTES,
        "tasks.max": "1",
        # MM2 writes its offset syncs to target, so it only ever reads on source.
        "offset-syncs.topic.location": "target",
        "offset-syncs.topic.replication.factor": "1",
    }
    for side in ("source", "target"):
        common.update({
            f"{side}.cluster.bootstrap.servers": config.bootstrap(side),
            f"{side}.cluster.security.protocol": "SASL_SSL",
            f"{side}.cluster.sasl.mechanism": "PLAIN",
            f"{side}.cluster.sasl.jaas.config": secrets_ref,
            f"{side}.cluster.ssl.truststore.type": "PEM",
            f"{side}.cluster.ssl.truststore.location": str(config.ca_file),
        })
    return {
        naming.connector_name("MirrorSourceConnector"): {
            **common,
            "connector.class": "org.apache.kafka.connect.mirror.MirrorSourceConnector",
            "topics": config.topics_regex,
            "refresh.topics.interval.seconds": str(config.refresh_topics_s),
            "replication.factor": "1",
            "sync.topic.acls.enabled": "false",
            "sync.topic.configs.enabled": "false",
        },
        naming.connector_name("MirrorCheckpointConnector"): {
            **common,
            "connector.class": "org.apache.kafka.connect.mirror.MirrorCheckpointConnector",
            "checkpoints.topic.replication.factor": "1",
            "emit.checkpoints.interval.seconds": "5",
            "refresh.groups.interval.seconds": "10",
            "sync.group.offsets.enabled": "false",
        },
        naming.connector_name("MirrorHeartbeatConnector"): {
            **common,
            "connector.class": "org.apache.kafka.connect.mirror.MirrorHeartbeatConnector",
            "heartbeats.topic.replication.factor": "1",
            "emit.heartbeats.interval.seconds": "5",
        },
    }


def start(config: StackConfig, passwords: dict[str, str]) -> int:
    d = config.run_dir / "connect"
    write_properties(d / "worker.properties", worker_properties(config, passwords))
    write_properties(d / "mm2-secrets.properties", {"jaas": jaas_plain("mm2", passwords["mm2"])})
    agent = (f"-javaagent:{config.jars_dir / JMX_EXPORTER_JAR}="
             f"127.0.0.1:{config.ports.jmx_exporter}:{EXPORTER_RULES}")
    argv = java_argv(config, config.connect_heap_mb, "org.apache.kafka.connect.cli.ConnectDistributed",
                     str(d / "worker.properties"), agent=agent)
    return proc.spawn(config, "connect", argv)


def rest(config: StackConfig, method: str, path: str, body: Any = None, timeout_s: float = 10) -> tuple[int, Any]:
    """Call the Connect REST API; returns (HTTP status, decoded JSON or text)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(rest_url(config, path), data=data, method=method,
                                 headers={"Content-Type": "application/json", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode("utf-8", "replace")


def connector_path(name: str) -> str:
    return "/connectors/" + urllib.parse.quote(name, safe="")


def rest_probe(config: StackConfig) -> str | None:
    status, body = rest(config, "GET", "/connectors", timeout_s=3)
    return None if status == 200 else f"HTTP {status}: {body}"


def create_connectors(config: StackConfig) -> None:
    for name, cfg in connector_configs(config).items():
        status, body = rest(config, "PUT", connector_path(name) + "/config", cfg, timeout_s=60)
        if status not in (200, 201):
            raise StackError("connect", f"creating connector {name} failed: HTTP {status}: {body}",
                             proc.log_tail(config, "connect"))


def connectors_probe(config: StackConfig) -> str | None:
    """None when every MM2 connector is RUNNING, its tasks too, and the source connector has a task."""
    naming = config.naming
    for kind in CONNECTOR_KINDS:
        name = naming.connector_name(kind)
        status, body = rest(config, "GET", connector_path(name) + "/status", timeout_s=5)
        if status != 200:
            return f"{name}: HTTP {status}"
        state = body["connector"]["state"]
        if state != "RUNNING":
            return f"{name} is {state}"
        tasks = body.get("tasks", [])
        for task in tasks:
            if task["state"] != "RUNNING":
                trace = (task.get("trace") or "").splitlines()[:1]
                return f"{name} task {task['id']} is {task['state']} {trace}"
        if kind == "MirrorSourceConnector" and not tasks:
            return f"{name} has no task yet (no source topic matches {config.topics_regex!r}?)"
    return None

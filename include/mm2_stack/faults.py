"""Faults injected into the running chain, and their healing: the scenarios of the runbook's diagnosis table.

``python -m mm2_stack fault <name>`` / ``heal <name>`` reproduce each by hand; the fault-matrix tests use
the same functions. Healing waits until the chain is really healthy again, including MM2's 60 s
latency window (a replayed backlog would otherwise read as replication latency).
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Callable

from mm2_stack import connect, proc, prometheus
from mm2_stack.config import StackConfig, StackError, load_passwords
from mm2_stack.kafka import client_config

QUOTA_BYTES_PER_S = 4096


def _admin(config: StackConfig, cluster: str):
    from confluent_kafka.admin import AdminClient

    return AdminClient(client_config(config, cluster, "admin", load_passwords(config)))


def _mm2_acl(config: StackConfig, operation: str):
    from confluent_kafka.admin import AclBinding, AclOperation, AclPermissionType, ResourcePatternType, ResourceType

    naming = config.naming
    return AclBinding(ResourceType.TOPIC, naming.source_alias + naming.separator, ResourcePatternType.PREFIXED,
                      "User:mm2", "*", AclOperation[operation], AclPermissionType.ALLOW)


def _acl_filter(binding):
    from confluent_kafka.admin import AclBindingFilter

    return AclBindingFilter(binding.restype, binding.name, binding.resource_pattern_type, binding.principal,
                            binding.host, binding.operation, binding.permission_type)


def _remove_acl(config: StackConfig, operation: str) -> None:
    binding = _mm2_acl(config, operation)
    admin = _admin(config, "target")  # keep the client alive until its futures are done
    for fut in admin.delete_acls([_acl_filter(binding)], request_timeout=15).values():
        fut.result()


def _add_acl(config: StackConfig, operation: str) -> None:
    admin = _admin(config, "target")
    for fut in admin.create_acls([_mm2_acl(config, operation)], request_timeout=15).values():
        fut.result()


def _source_connector(config: StackConfig) -> str:
    return config.naming.connector_name("MirrorSourceConnector")


def _remote_topic(config: StackConfig) -> str:
    return config.naming.remote_topic(config.naming.source_topic(1))


def _quota(config: StackConfig, *args: str) -> None:
    from mm2_smoke.kafka_tools import java_client_properties, properties_file, run_tool

    cfg = client_config(config, "target", "admin", load_passwords(config))
    with properties_file(java_client_properties(cfg)) as props:
        run_tool("kafka.admin.ConfigCommand", ["--bootstrap-server", cfg["bootstrap.servers"], "--command-config",
                                               props, "--alter", *args, "--entity-type", "users",
                                               "--entity-name", "mm2"], classpath=config.classpath)


# --- injection --------------------------------------------------------------------------------------
def connect_down(config: StackConfig) -> None:
    proc.stop(config, "connect")


def topic_excluded(config: StackConfig) -> None:
    name = _source_connector(config)
    cfg = dict(connect.connector_configs(config)[name])
    topic = config.naming.source_topic(1)
    cfg["topics.exclude"] = r".*[\-\.]internal, .*\.replica, __.*, " + topic.replace(".", r"\.")
    _put_config(config, name, cfg)


def target_write_acl(config: StackConfig) -> None:
    _remove_acl(config, "WRITE")


def target_quota(config: StackConfig) -> None:
    _quota(config, "--add-config", f"producer_byte_rate={QUOTA_BYTES_PER_S}")


def remote_topic_missing(config: StackConfig) -> None:
    _remove_acl(config, "CREATE")
    topic = _remote_topic(config)
    admin = _admin(config, "target")
    admin.delete_topics([topic], operation_timeout=15)[topic].result()


def prometheus_down(config: StackConfig) -> None:
    proc.stop(config, "prometheus")


# --- healing ----------------------------------------------------------------------------------------
def _put_config(config: StackConfig, name: str, cfg: dict[str, str]) -> None:
    status, body = connect.rest(config, "PUT", connect.connector_path(name) + "/config", cfg, timeout_s=60)
    if status not in (200, 201):
        raise StackError("connect", f"updating {name} failed: HTTP {status}: {body}")


def restart_failed_tasks(config: StackConfig) -> None:
    for kind in connect.CONNECTOR_KINDS:
        name = config.naming.connector_name(kind)
        connect.rest(config, "POST", connect.connector_path(name) + "/restart?includeTasks=true&onlyFailed=true")


def heal_connect_down(config: StackConfig) -> None:
    if proc.running_pid(config, "connect") is None:
        connect.start(config, load_passwords(config))
        proc.wait_until(config, "connect", lambda: connect.rest_probe(config), config.ready_timeout_s,
                        "the Connect REST API")


def heal_topic_excluded(config: StackConfig) -> None:
    name = _source_connector(config)
    _put_config(config, name, connect.connector_configs(config)[name])


def heal_target_write_acl(config: StackConfig) -> None:
    _add_acl(config, "WRITE")


def heal_target_quota(config: StackConfig) -> None:
    _quota(config, "--delete-config", "producer_byte_rate")


def heal_remote_topic_missing(config: StackConfig) -> None:
    _add_acl(config, "CREATE")
    remote = _remote_topic(config)

    def recreated() -> str | None:
        md = _admin(config, "target").list_topics(timeout=5)
        return None if remote in md.topics else f"{remote} not yet re-created by MM2"

    proc.wait_until(config, "connect", recreated, config.ready_timeout_s, "MM2 to re-create the remote topic")
    # The task's producer still holds the deleted topic's metadata: restart it on the new topic.
    name = _source_connector(config)
    connect.rest(config, "POST", connect.connector_path(name) + "/restart?includeTasks=true")


def heal_prometheus_down(config: StackConfig) -> None:
    if proc.running_pid(config, "prometheus") is None:
        prometheus.start(config)


FAULTS: dict[str, tuple[Callable[[StackConfig], None], Callable[[StackConfig], None], str]] = {
    "connect-down": (connect_down, heal_connect_down, "the Connect worker running MM2 is stopped"),
    "topic-excluded": (topic_excluded, heal_topic_excluded, "the test topic is excluded by MM2's topics.exclude"),
    "target-write-acl": (target_write_acl, heal_target_write_acl, "MM2 loses WRITE on source.* on target"),
    "target-quota": (target_quota, heal_target_quota,
                     f"MM2's principal is throttled on target (producer_byte_rate={QUOTA_BYTES_PER_S})"),
    "remote-topic-missing": (remote_topic_missing, heal_remote_topic_missing,
                             "the remote topic is deleted on target and MM2 may not CREATE it"),
    "prometheus-down": (prometheus_down, heal_prometheus_down, "Prometheus is stopped"),
}


def inject(config: StackConfig, name: str) -> None:
    try:
        FAULTS[name][0](config)
    except KeyError:
        raise StackError("fault", f"unknown fault {name!r}: use one of {', '.join(FAULTS)}") from None


def heal(config: StackConfig, name: str, settle_timeout_s: float = 150) -> float:
    """Remove a fault and wait until the chain is healthy and MM2's latency window is clear again.

    :return: seconds the healing took.
    """
    if name not in FAULTS:
        raise StackError("fault", f"unknown fault {name!r}: use one of {', '.join(FAULTS)}")
    t0 = time.monotonic()
    FAULTS[name][1](config)
    settle(config, settle_timeout_s)
    return time.monotonic() - t0


def settle(config: StackConfig, timeout_s: float = 150) -> None:
    """Wait until connectors and tasks run, the remote topic exists, metrics flow and latency is back down."""
    def connectors() -> str | None:
        restart_failed_tasks(config)
        return connect.connectors_probe(config)

    proc.wait_until(config, "connect", connectors, timeout_s, "MM2 connectors and tasks RUNNING", interval_s=2)
    remote = _remote_topic(config)

    def remote_exists() -> str | None:
        md = _admin(config, "target").list_topics(timeout=5)
        return None if remote in md.topics else f"{remote} not yet re-created by MM2"

    proc.wait_until(config, "connect", remote_exists, timeout_s, "the remote topic on target", interval_s=1)
    proc.wait_until(config, "prometheus", lambda: prometheus.target_probe(config), timeout_s,
                    "the JMX exporter scrape target up")
    proc.wait_until(config, "prometheus", lambda: prometheus.metrics_probe(config), timeout_s,
                    "MM2's metrics in Prometheus")

    # Messages held back by the fault are replayed now; a probe arriving on target (MM2 keeps order within
    # the partition) proves the backlog before it has been written.
    from mm2_stack.probe import send_probe

    send_probe(config, timeout_s=timeout_s)
    probe_done = time.time()
    metric = f'kafka_connect_mirror_source_connector_replication_latency_ms_max{{topic="{remote}"}}'

    def latency_clear() -> str | None:
        # MM2 keeps latency max/avg over a 60 s window: wait for a scrape taken after the probe (so it holds
        # the replayed backlog), then until the backlog's latencies have left the window.
        def instant(q: str) -> list:
            return prometheus.api(config, "/api/v1/query?" + urllib.parse.urlencode({"query": q}))["data"]["result"]

        stamp = instant(f"max(timestamp({metric}))")
        if not stamp or float(stamp[0]["value"][1]) < probe_done + 1:
            return "no scrape since the probe yet"
        res = instant(f"max({metric})")
        if not res:
            return None
        value = float(res[0]["value"][1])
        return None if value != value or value < 250 else f"latency max still {value:g} ms"

    proc.wait_until(config, "prometheus", latency_clear, timeout_s, "MM2's latency window to clear", interval_s=2)


def describe() -> str:
    return json.dumps({name: text for name, (_i, _h, text) in FAULTS.items()}, indent=1)

"""Faults injected into the running chain, and their healing: the scenarios of the runbook's diagnosis table.

``python -m mm2_stack fault <name>`` / ``heal <name>`` reproduce each by hand; the fault-matrix tests use
the same functions. Healing waits until the chain is really healthy again, including MM2's 60 s
latency window (a replayed backlog would otherwise read as replication latency).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from mm2_stack import connect, metrics_store, proc
from mm2_stack.config import StackConfig, StackError, load_passwords
from mm2_stack.kafka import client_config
from mm2_stack.probe import send_probe, warm_up

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
    from mm2_smoke.java_tools import java_client_properties, properties_file, run_tool

    cfg = client_config(config, "target", "admin", load_passwords(config))
    with properties_file(java_client_properties(cfg)) as props:
        run_tool(config.line.config_command, ["--bootstrap-server", cfg["bootstrap.servers"], "--command-config",
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


def _source_read_deny(config: StackConfig):
    from confluent_kafka.admin import AclBinding, AclOperation, AclPermissionType, ResourcePatternType, ResourceType

    return AclBinding(ResourceType.TOPIC, config.naming.source_topic(1), ResourcePatternType.LITERAL, "User:mm2", "*",
                      AclOperation.READ, AclPermissionType.DENY)


def source_read_denied(config: StackConfig) -> None:
    """MM2 may not READ the test topic on source (a DENY beside its ALLOW on every topic): its task stays RUNNING."""
    admin = _admin(config, "source")
    for fut in admin.create_acls([_source_read_deny(config)], request_timeout=15).values():
        fut.result()


def source_topic_deleted(config: StackConfig) -> None:
    """The test topic is deleted on source (the brokers do not auto-create topics)."""
    topic = config.naming.source_topic(1)
    admin = _admin(config, "source")
    admin.delete_topics([topic], operation_timeout=15)[topic].result()

    def gone() -> str | None:
        return f"{topic} still listed" if topic in admin.list_topics(timeout=5).topics else None

    proc.wait_until(config, "source", gone, 30, f"{topic} deleted on source", interval_s=0.5)


def mm2_source_unreachable(config: StackConfig) -> None:
    """MM2's connector points at a source bootstrap where no broker listens (a wrong address in its config)."""
    name = _source_connector(config)
    cfg = dict(connect.connector_configs(config)[name])
    cfg["source.cluster.bootstrap.servers"] = "127.0.0.1:1"
    # The connector's admin calls give up after these (Kafka's defaults: 60 s before it settles with no task).
    cfg["source.admin.default.api.timeout.ms"] = "5000"
    cfg["source.admin.request.timeout.ms"] = "4000"
    _put_config(config, name, cfg)
    _wait_connector_state(config, "RUNNING", no_tasks=True)


def target_frozen(config: StackConfig) -> None:
    """The target broker is frozen (SIGSTOP): its port accepts connections, nothing answers (a hung broker)."""
    import os
    import signal

    pid = proc.running_pid(config, "target")
    if pid is None:
        raise StackError("target", "the target broker is not running: nothing to freeze")
    os.kill(pid, signal.SIGSTOP)


def prometheus_down(config: StackConfig) -> None:
    proc.stop(config, config.metrics_store)


def connector_deleted(config: StackConfig) -> None:
    name = _source_connector(config)
    status, body = connect.rest(config, "DELETE", connect.connector_path(name), timeout_s=60)
    if status not in (200, 204):
        raise StackError("connect", f"deleting {name} failed: HTTP {status}: {body}")


def connector_paused(config: StackConfig) -> None:
    name = _source_connector(config)
    connect.rest(config, "PUT", connect.connector_path(name) + "/pause")
    _wait_connector_state(config, "PAUSED")


#: A transformation that fails on every record MM2 replicates (a byte[] value is not a Struct): with Connect's
#: default errors.tolerance=none the task turns FAILED at the first record, as a task hitting a real record error.
FAILING_SMT = {"transforms": "mm2smokefault",
               "transforms.mm2smokefault.type": "org.apache.kafka.connect.transforms.ExtractField$Value",
               "transforms.mm2smokefault.field": "no_such_field"}


def task_fails_on_next_record(config: StackConfig) -> None:
    """The source connector's tasks fail at the next replicated record (they stay RUNNING until one comes)."""
    name = _source_connector(config)
    _put_config(config, name, {**connect.connector_configs(config)[name], **FAILING_SMT})
    _wait_connector_state(config, "RUNNING", tasks_running=True)


def task_failed(config: StackConfig) -> None:
    """A task already FAILED: the failing transformation, then one record through it."""
    task_fails_on_next_record(config)
    name = _source_connector(config)

    def failed() -> str | None:
        # A record read by a task generation older than the new configuration passes: send until one fails.
        try:
            send_probe(config, timeout_s=2)
        except StackError:
            pass  # the probe did not arrive: the task failed on it (or is failing)
        code, body = connect.rest(config, "GET", connect.connector_path(name) + "/status")
        tasks = [t["state"] for t in body.get("tasks", [])] if code == 200 else []
        return None if "FAILED" in tasks else f"tasks {tasks}"

    proc.wait_until(config, "connect", failed, 90, f"a task of {name} FAILED", interval_s=0.5)


def scrape_down(config: StackConfig) -> None:
    """The store scrapes a port where no exporter listens (a wrong scrape address: the target is down for it)."""
    metrics_store.reload(config, metrics_store.config_text(config, exporter_port=1))
    # The fault is in place once the store has noticed: it marks the old target's series stale a scrape or two
    # after the reload (one or two scrape intervals), not at once.
    proc.wait_until(config, "prometheus", lambda: "MM2's series still answer" if metrics_store.contract_probe(config)
                    is None else None, 60, "the store's MM2 series stale after the reload", interval_s=1)


def _wait_connector_state(config: StackConfig, state: str, tasks_running: bool = False,
                          task_state: str | None = None, no_tasks: bool = False, name: str = "") -> None:
    """Wait until connector ``name`` (default: the default flow's MirrorSourceConnector) is in ``state``."""
    name = name or _source_connector(config)

    def reached() -> str | None:
        code, body = connect.rest(config, "GET", connect.connector_path(name) + "/status")
        if code != 200:
            return f"HTTP {code}"
        tasks = [t["state"] for t in body.get("tasks", [])]
        if body["connector"]["state"] != state:
            return f"connector {body['connector']['state']}"
        if tasks_running and (not tasks or any(t != "RUNNING" for t in tasks)):
            return f"tasks {tasks}"
        if task_state and task_state not in tasks:
            return f"tasks {tasks}"
        if no_tasks and tasks:
            return f"tasks {tasks}"
        return None

    proc.wait_until(config, "connect", reached, 90, f"{name} {state}" + (f", a task {task_state}" if task_state
                                                                         else ""), interval_s=0.5)


# --- healing ----------------------------------------------------------------------------------------
def _put_config(config: StackConfig, name: str, cfg: dict[str, str]) -> None:
    """PUT a fault's config of connector ``name`` (not recorded as the stack's own: ``up`` leaves it as it is)."""
    connect.put_connector(config, name, cfg, record=False)


def restart_failed_tasks(config: StackConfig) -> None:
    for kind in connect.CONNECTOR_KINDS:
        name = config.naming.connector_name(kind)
        connect.rest(config, "POST", connect.connector_path(name) + "/restart?includeTasks=true&onlyFailed=true")


def heal_connect_down(config: StackConfig) -> None:
    if proc.running_pid(config, "connect") is None:
        connect.start(config, load_passwords(config))
        proc.wait_until(config, "connect", lambda: connect.ready_probe(config) if config.mm2_mode == "dedicated"
                        else connect.rest_probe(config), config.ready_timeout_s, "MM2 up again")


def heal_topic_excluded(config: StackConfig) -> None:
    connect.restore_connector(config, _source_connector(config))


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


def heal_source_read_denied(config: StackConfig) -> None:
    admin = _admin(config, "source")
    for fut in admin.delete_acls([_acl_filter(_source_read_deny(config))], request_timeout=15).values():
        fut.result()


def heal_source_topic_deleted(config: StackConfig) -> None:
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import NewTopic

    topic = config.naming.source_topic(1)
    try:
        admin = _admin(config, "source")  # alive until its future is done
        admin.create_topics([NewTopic(topic, 1, 1)], request_timeout=15)[topic].result()
    except KafkaException as exc:
        if "TOPIC_ALREADY_EXISTS" not in str(exc):
            raise


def heal_mm2_source_unreachable(config: StackConfig) -> None:
    connect.restore_connector(config, _source_connector(config))


def heal_target_frozen(config: StackConfig) -> None:
    import os
    import signal

    pid = proc.running_pid(config, "target")
    if pid is not None:
        os.kill(pid, signal.SIGCONT)


def heal_prometheus_down(config: StackConfig) -> None:
    if proc.running_pid(config, config.metrics_store) is None:
        metrics_store.start(config)


def heal_connector_deleted(config: StackConfig) -> None:
    connect.create_connectors(config)


def heal_connector_paused(config: StackConfig) -> None:
    connect.rest(config, "PUT", connect.connector_path(_source_connector(config)) + "/resume")


def heal_task_failed(config: StackConfig) -> None:
    name = _source_connector(config)
    connect.restore_connector(config, name)
    connect.rest(config, "POST", connect.connector_path(name) + "/restart?includeTasks=true&onlyFailed=true")


def heal_scrape_down(config: StackConfig) -> None:
    metrics_store.reload(config, metrics_store.config_text(config))


# --- failover readiness: the default flow's checkpoints, heartbeats and its failover group on target -------
CHECKPOINT = "MirrorCheckpointConnector"
HEARTBEAT = "MirrorHeartbeatConnector"
#: MirrorMaker's default ``groups.exclude`` (DefaultGroupFilter).
MM2_GROUPS_EXCLUDE = "console-consumer-.*, connect-.*, __.*"
#: The part name (pid file, log) of ``target-group-active``'s consumer.
GROUP_MEMBER = "failover-member"


def failover_groups_exclude() -> str:
    """``groups.exclude`` of ``groups-excluded``: every failover group of the smoke test (one per DAG and flow:
    :func:`mm2_smoke.naming.failover_group`), and MM2's default excludes."""
    from mm2_smoke.naming import FAILOVER_GROUP_PREFIX

    return FAILOVER_GROUP_PREFIX.replace(".", r"\.") + r"\..*, " + MM2_GROUPS_EXCLUDE


def _failover_group(config: StackConfig) -> str:
    """The smoke test's failover group of the default flow."""
    from mm2_smoke.dag_layout import DAG_ID
    from mm2_smoke.naming import failover_group

    return failover_group(DAG_ID, config.naming.source_alias, config.naming.target_alias)


def _connector(config: StackConfig, kind: str, fault: str) -> str:
    """The default flow's connector of ``kind``; refused in dedicated mode (no Connect REST to change it with)."""
    if config.mm2_mode == "dedicated":
        raise StackError("fault", f"{fault} changes MM2's connectors over Connect REST, which MM2_STACK_MM2_MODE="
                         "dedicated does not serve")
    return config.naming.connector_name(kind)


def _pause(config: StackConfig, kind: str, fault: str) -> None:
    name = _connector(config, kind, fault)
    connect.rest(config, "PUT", connect.connector_path(name) + "/pause")
    # In place once its task stopped too: a task keeps running a few seconds after its connector shows PAUSED.
    _wait_connector_state(config, "PAUSED", name=name, task_state="PAUSED")


def _resume(config: StackConfig, kind: str, fault: str) -> None:
    name = _connector(config, kind, fault)
    connect.rest(config, "PUT", connect.connector_path(name) + "/resume")
    _wait_connector_state(config, "RUNNING", name=name)


def _task_configs(config: StackConfig, name: str) -> list[dict[str, str]]:
    status, body = connect.rest(config, "GET", connect.connector_path(name) + "/tasks")
    if status != 200:
        raise StackError("connect", f"{name}'s tasks: HTTP {status}: {body}")
    return [t.get("config", {}) for t in body]


def _checkpoint_config(config: StackConfig, fault: str, **settings: str) -> str:
    """PUT the checkpoint connector's configured config with ``settings``; wait until it runs; return its name."""
    name = _connector(config, CHECKPOINT, fault)
    _put_config(config, name, {**connect.connector_configs(config)[name], **settings})
    _wait_connector_state(config, "RUNNING", name=name)
    return name


def checkpoint_paused(config: StackConfig) -> None:
    _pause(config, CHECKPOINT, "checkpoint-paused")


def heal_checkpoint_paused(config: StackConfig) -> None:
    _resume(config, CHECKPOINT, "checkpoint-paused")


def groups_excluded(config: StackConfig) -> None:
    """The failover group filtered out of the checkpoint connector; in place once no task is assigned it (MM2
    assigns a task the groups it checkpoints: ``task.assigned.groups``)."""
    name = _checkpoint_config(config, "groups-excluded", **{"groups.exclude": failover_groups_exclude()})
    group = _failover_group(config)

    def unassigned() -> str | None:
        assigned = [t.get("task.assigned.groups", "").split(",") for t in _task_configs(config, name)]
        return f"a task of {name} still checkpoints {group}" if any(group in a for a in assigned) else None

    proc.wait_until(config, "connect", unassigned, 90, f"{group} assigned to no task of {name}", interval_s=0.5)


def heal_checkpoint_config(config: StackConfig) -> None:
    name = config.naming.connector_name(CHECKPOINT)
    connect.restore_connector(config, name)
    _wait_connector_state(config, "RUNNING", name=name)


def heartbeats_paused(config: StackConfig) -> None:
    _pause(config, HEARTBEAT, "heartbeats-paused")


def heal_heartbeats_paused(config: StackConfig) -> None:
    _resume(config, HEARTBEAT, "heartbeats-paused")


def _member_spec(config: StackConfig) -> Path:
    """What the member process reads (its client settings, with the ``smoke`` user's secret: 0600, in the run
    folder, as the secrets file)."""
    return config.run_dir / f"{GROUP_MEMBER}.json"


def _group_state(config: StackConfig, group: str) -> tuple[str, int]:
    """The state of ``group`` on target and its number of members (``DEAD``, 0: no such group)."""
    from confluent_kafka import KafkaException

    admin = _admin(config, "target")
    try:
        desc = admin.describe_consumer_groups([group], request_timeout=10)[group].result()
    except KafkaException as exc:
        if "GROUP_ID_NOT_FOUND" in str(exc):
            return "DEAD", 0
        raise
    return desc.state.name, len(desc.members)


def target_group_active(config: StackConfig) -> None:
    """A consumer in the failover group on target, subscribed to the remote test topic and polling (it commits
    nothing), in a process of its own that outlives this command (pid in the run folder): MM2 writes a group's
    offsets on the target only while the group there is EMPTY."""
    group, topic = _failover_group(config), _remote_topic(config)
    if proc.running_pid(config, GROUP_MEMBER) is None:
        spec = _member_spec(config)
        fd = os.open(spec, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump({"client": client_config(config, "target", "smoke", load_passwords(config)), "group": group,
                       "topic": topic, "root": str(config.root)}, fh)
        import mm2_smoke

        paths = [str(Path(__file__).resolve().parents[1]), str(Path(mm2_smoke.__file__).resolve().parents[1])]
        pythonpath = os.pathsep.join([*paths, *filter(None, [os.environ.get("PYTHONPATH")])])
        proc.spawn(config, GROUP_MEMBER, [sys.executable, "-m", "mm2_stack.faults", str(spec)],
                   env={"PYTHONPATH": pythonpath})

    def active() -> str | None:
        state, members = _group_state(config, group)
        return None if state == "STABLE" and members else f"{group} is {state} with {members} member(s)"

    proc.wait_until(config, GROUP_MEMBER, active, 60, f"{group} with an active member on target", interval_s=0.5)


def heal_target_group_active(config: StackConfig) -> None:
    """Stop the member (SIGTERM: it closes its consumer, which leaves the group at once) and wait until the group is
    EMPTY on target (or gone: it had no offsets)."""
    proc.stop(config, GROUP_MEMBER)
    _member_spec(config).unlink(missing_ok=True)
    group = _failover_group(config)

    def empty() -> str | None:
        state, members = _group_state(config, group)
        return None if state in ("EMPTY", "DEAD") and not members else f"{group} is {state} with {members} member(s)"

    # A member killed without leaving is only dropped after its session timeout (librdkafka's default: 45 s).
    proc.wait_until(config, "target", empty, 60, f"{group} EMPTY on target", interval_s=0.5)


def run_group_member(spec_file: Path) -> int:
    """The member of ``target-group-active`` (``python -m mm2_stack.faults <spec file>``): polls until SIGTERM, its
    spec file is gone (the run folder wiped) or the stack's target broker has been down for a minute (the stack
    stopped), then closes its consumer, leaving the group."""
    import signal

    from confluent_kafka import Consumer

    spec = json.loads(spec_file.read_text())
    stack = StackConfig(root=Path(spec["root"]))  # only its run folder: the target broker's pid file
    stop: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _frame: stop.append(signum))
    consumer = Consumer({**spec["client"], "group.id": spec["group"], "enable.auto.commit": False,
                         "auto.offset.reset": "latest"})
    consumer.subscribe([spec["topic"]])
    print(f"member of {spec['group']} on target, subscribed to {spec['topic']}", flush=True)
    last_error, target_seen = "", time.monotonic()
    try:
        while not stop and spec_file.exists() and time.monotonic() - target_seen < 60:
            msg = consumer.poll(1.0)
            if msg is not None and msg.error() and str(msg.error()) != last_error:
                last_error = str(msg.error())
                print(f"consumer error: {last_error}", flush=True)
            if proc.running_pid(stack, "target") is not None:
                target_seen = time.monotonic()
    finally:
        consumer.close()
    print(f"left {spec['group']}", flush=True)
    return 0


FAULTS: dict[str, tuple[Callable[[StackConfig], None], Callable[[StackConfig], None], str]] = {
    "connect-down": (connect_down, heal_connect_down, "the Connect worker running MM2 is stopped"),
    "topic-excluded": (topic_excluded, heal_topic_excluded, "the test topic is excluded by MM2's topics.exclude"),
    "target-write-acl": (target_write_acl, heal_target_write_acl, "MM2 loses WRITE on source.* on target"),
    "target-quota": (target_quota, heal_target_quota,
                     f"MM2's principal is throttled on target (producer_byte_rate={QUOTA_BYTES_PER_S})"),
    "remote-topic-missing": (remote_topic_missing, heal_remote_topic_missing,
                             "the remote topic is deleted on target and MM2 may not CREATE it"),
    "prometheus-down": (prometheus_down, heal_prometheus_down, "the metrics store (Prometheus) is stopped"),
    "connector-deleted": (connector_deleted, heal_connector_deleted, "the MirrorSourceConnector is deleted"),
    "connector-paused": (connector_paused, heal_connector_paused, "the MirrorSourceConnector is paused"),
    "task-failed": (task_failed, heal_task_failed, "a MirrorSourceConnector task is FAILED (a record error)"),
    "task-fails-mid-run": (task_fails_on_next_record, heal_task_failed,
                           "the MirrorSourceConnector's tasks fail at the next record (during the run)"),
    "scrape-down": (scrape_down, heal_scrape_down, "the metrics store scrapes a port where no exporter listens"),
    "mm2-source-unreachable": (mm2_source_unreachable, heal_mm2_source_unreachable,
                               "MM2's connector config points at a source bootstrap where no broker listens"),
    "target-frozen": (target_frozen, heal_target_frozen, "the target broker is frozen (SIGSTOP): a hung broker"),
    "source-read-denied": (source_read_denied, heal_source_read_denied,
                           "MM2 may not READ the test topic on source (DENY ACL)"),
    "source-topic-deleted": (source_topic_deleted, heal_source_topic_deleted,
                             "the test topic is deleted on source (no auto-create)"),
    "checkpoint-paused": (checkpoint_paused, heal_checkpoint_paused, "the MirrorCheckpointConnector is paused"),
    "groups-excluded": (groups_excluded, heal_checkpoint_config,
                        "the smoke test's failover groups are excluded by the MirrorCheckpointConnector's "
                        "groups.exclude"),
    "heartbeats-paused": (heartbeats_paused, heal_heartbeats_paused,
                          "the MirrorHeartbeatConnector is paused (heartbeats go stale)"),
    "target-group-active": (target_group_active, heal_target_group_active,
                            "a consumer is an active member of the failover group on target (MM2 cannot sync its "
                            "offsets there)"),
}


def inject(config: StackConfig, name: str) -> None:
    try:
        FAULTS[name][0](config)
    except KeyError:
        raise StackError("fault", f"unknown fault {name!r}: use one of {', '.join(FAULTS)}") from None


def heal(config: StackConfig, name: str, settle_timeout_s: float = 150, latency: bool = True) -> float:
    """Remove a fault and wait until the chain is healthy and MM2's latency window is clear again.

    :param latency: False does not wait for MM2's 60 s latency window to forget a replayed backlog (the chain is
        still proven healthy: a probe crosses it): for a sequence of faults whose runs are judged on their own
        cause, which then ends with a full :func:`settle`.
    :return: seconds the healing took.
    """
    if name not in FAULTS:
        raise StackError("fault", f"unknown fault {name!r}: use one of {', '.join(FAULTS)}")
    t0 = time.monotonic()
    FAULTS[name][1](config)
    settle(config, settle_timeout_s, latency=latency)
    return time.monotonic() - t0


def settle(config: StackConfig, timeout_s: float = 150, latency: bool = True) -> None:
    """Wait until connectors and tasks run, the remote topic exists, metrics flow and (unless ``latency`` is False)
    latency is back down."""
    def connectors() -> str | None:
        if config.mm2_mode == "dedicated":  # no REST: MM2's source task exported again
            return connect.exporter_probe(config)
        restart_failed_tasks(config)
        return connect.connectors_probe(config)

    proc.wait_until(config, "connect", connectors, timeout_s, "MM2 connectors and tasks RUNNING", interval_s=2)
    remote = _remote_topic(config)

    def remote_exists() -> str | None:
        md = _admin(config, "target").list_topics(timeout=5)
        return None if remote in md.topics else f"{remote} not yet re-created by MM2"

    proc.wait_until(config, "connect", remote_exists, timeout_s, "the remote topic on target", interval_s=1)
    proc.wait_until(config, config.metrics_store, lambda: metrics_store.target_probe(config), timeout_s,
                    "the JMX exporter scrape target up")
    proc.wait_until(config, config.metrics_store, lambda: metrics_store.contract_probe(config), timeout_s,
                    "MM2's metrics in Prometheus")

    # Messages held back by the fault are replayed now; a probe arriving on target (MM2 keeps order within
    # the partition) proves the backlog before it has been written, then the backlog's latencies leave the window.
    warm_up(config, timeout_s, wait_latency=latency)


def describe() -> str:
    return json.dumps({name: text for name, (_i, _h, text) in FAULTS.items()}, indent=1)


if __name__ == "__main__":
    sys.exit(run_group_member(Path(sys.argv[1])))

"""The single-node KRaft clusters (two, or three in a fan-in topology): configuration, storage format, start,
readiness, ACLs."""

from __future__ import annotations

import base64
import subprocess
import uuid
from pathlib import Path
from typing import NamedTuple

from mm2_stack import proc
from mm2_stack.config import USERS, StackConfig, StackError

#: The two sides of a flow, and the clusters of the default (one-way) stack (a stack's own: ``StackConfig.clusters``).
CLUSTERS = ("source", "target")
LOGIN_MODULES = {"PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
                 "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule"}


def jaas_plain(user: str, password: str) -> str:
    return jaas(user, password, "PLAIN")


def jaas(user: str, password: str, mechanism: str) -> str:
    """The Java client's ``sasl.jaas.config`` line of ``user`` for ``mechanism``."""
    return f'{LOGIN_MODULES[mechanism]} required username="{user}" password="{password}";'


def client_config(config: StackConfig, cluster: str, user: str, passwords: dict[str, str]) -> dict[str, str]:
    """librdkafka (confluent-kafka) settings for ``user`` on ``cluster``, with the stack's CA: SASL_SSL with the
    stack's mechanism, or SSL with ``user``'s client certificate (mTLS; ``smoke``'s key is encrypted)."""
    cfg = {"bootstrap.servers": config.bootstrap(cluster), "security.protocol": config.kafka_protocol,
           "ssl.ca.location": str(config.ca_file)}
    if config.client_auth == "mtls":
        cfg.update({"ssl.certificate.location": str(config.client_cert(user)),
                    "ssl.key.location": str(config.client_key(user))})
        if user == "smoke":
            cfg["ssl.key.password"] = passwords["smoke-key"]
        return cfg
    return {**cfg, "sasl.mechanism": config.sasl_mechanism, "sasl.username": user, "sasl.password": passwords[user]}


def java_client_props(config: StackConfig, user: str, passwords: dict[str, str], prefix: str = "") -> dict[str, str]:
    """Java client settings for ``user`` (SASL_SSL or mTLS, PEM trust and key stores), keys prefixed by ``prefix``."""
    props = {"security.protocol": config.kafka_protocol, "ssl.truststore.type": "PEM",
             "ssl.truststore.location": str(config.ca_file)}
    if config.client_auth == "mtls":
        props.update({"ssl.keystore.type": "PEM", "ssl.keystore.location": str(config.client_keystore(user))})
        if user == "smoke":
            props["ssl.key.password"] = passwords["smoke-key"]
    else:
        props.update({"sasl.mechanism": config.sasl_mechanism,
                      "sasl.jaas.config": jaas(user, passwords[user], config.sasl_mechanism)})
    return {prefix + k: v for k, v in props.items()}


def write_properties(path: Path, props: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{k}={v}" for k, v in props.items()]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)


#: Loggers that loop while a cluster is unreachable (hundreds of thousands of lines a minute from Connect's
#: clients), levelled to WARN: ``Metadata`` and the admin clients' ``AdminMetadataManager`` log each
#: "Rebootstrapping" at INFO, ``NetworkClient`` each disconnect.
QUIET_LOGGERS = ("org.apache.kafka.clients.Metadata", "org.apache.kafka.clients.admin.internals.AdminMetadataManager",
                 "org.apache.kafka.clients.NetworkClient",
                 "org.apache.kafka.common.config.AbstractConfig", "org.apache.kafka.common.utils.AppInfoParser")
#: Loggers whose warnings repeat at every poll during a fault ("Failure during poll"): rate-limited (Log4j2).
BURST_LOGGERS = ("org.apache.kafka.connect.mirror.MirrorSourceTask",)
LOG_PATTERN = "[%d] %p %m (%c)%n"
LOG_FILE_PROPERTY = "mm2.log.file"


def log_config(config: StackConfig) -> Path:
    """One logging config for every JVM of the stack: INFO to a size-capped rolling file (``-Dmm2.log.file``,
    :data:`~mm2_stack.proc.LOG_MAX_BYTES`, :data:`~mm2_stack.proc.LOG_BACKUPS` rolled files), the reconnect loops
    levelled to WARN. Log4j2 for Kafka 4, which also rate-limits: at most 20 INFO/WARN events a second on average
    (bursts of 1000, e.g. a start), one "Failure during poll" a second; ERROR always passes. Log4j 1.x properties
    (reload4j) for Kafka 3: levels only."""
    mb = proc.LOG_MAX_BYTES // (1024 * 1024)
    if not config.line.log4j2:
        path = config.run_dir / "log4j.properties"
        path.write_text(
            "log4j.rootLogger=INFO, file\n"
            "log4j.appender.file=org.apache.log4j.RollingFileAppender\n"
            f"log4j.appender.file.File=${{{LOG_FILE_PROPERTY}}}\n"
            f"log4j.appender.file.MaxFileSize={mb}MB\n"
            f"log4j.appender.file.MaxBackupIndex={proc.LOG_BACKUPS}\n"
            "log4j.appender.file.layout=org.apache.log4j.PatternLayout\n"
            f"log4j.appender.file.layout.ConversionPattern={LOG_PATTERN}\n"
            + "".join(f"log4j.logger.{name}=WARN\n" for name in QUIET_LOGGERS)
        )
        return path
    path = config.run_dir / "log4j2.properties"
    lines = [
        "status = warn",
        "appender.file.type = RollingFile",
        "appender.file.name = FILE",
        f"appender.file.fileName = ${{sys:{LOG_FILE_PROPERTY}}}",
        f"appender.file.filePattern = ${{sys:{LOG_FILE_PROPERTY}}}.%i",
        "appender.file.layout.type = PatternLayout",
        f"appender.file.layout.pattern = {LOG_PATTERN}",
        "appender.file.policies.type = Policies",
        "appender.file.policies.size.type = SizeBasedTriggeringPolicy",
        f"appender.file.policies.size.size = {mb}MB",
        "appender.file.strategy.type = DefaultRolloverStrategy",
        f"appender.file.strategy.max = {proc.LOG_BACKUPS}",
        "appender.file.strategy.fileIndex = min",
        "appender.file.filter.burst.type = BurstFilter",
        "appender.file.filter.burst.level = WARN",
        "appender.file.filter.burst.rate = 20",
        "appender.file.filter.burst.maxBurst = 1000",
        "rootLogger.level = INFO",
        "rootLogger.appenderRef.file.ref = FILE",
    ]
    for i, name in enumerate(QUIET_LOGGERS):
        lines += [f"logger.quiet{i}.name = {name}", f"logger.quiet{i}.level = WARN"]
    for i, name in enumerate(BURST_LOGGERS):
        lines += [f"logger.burst{i}.name = {name}", f"logger.burst{i}.filter.burst.type = BurstFilter",
                  f"logger.burst{i}.filter.burst.level = WARN", f"logger.burst{i}.filter.burst.rate = 1",
                  f"logger.burst{i}.filter.burst.maxBurst = 10"]
    path.write_text("\n".join(lines) + "\n")
    return path


def java_argv(config: StackConfig, heap_mb: int, main: str, *args: str, agent: str | None = None,
              log: Path | None = None, jvm: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The command line of one of the stack's JVMs, logging (:func:`log_config`) to ``log``."""
    logging = (f"-Dlog4j2.configurationFile={config.run_dir / 'log4j2.properties'}"
               if config.line.log4j2 else f"-Dlog4j.configuration=file:{config.run_dir / 'log4j.properties'}")
    argv = [
        "java",
        f"-Xms{min(128, heap_mb)}m",
        f"-Xmx{heap_mb}m",
        "-XX:+UseSerialGC",
        "-Djava.awt.headless=true",
        logging,
        f"-D{LOG_FILE_PROPERTY}={log}",
    ]
    if agent:
        argv.append(agent)
    argv += list(jvm)
    return [*argv, "-cp", config.classpath, main, *args]


#: With mTLS, a certificate's principal is its CN (``CN=smoke`` is ``User:smoke``), so the ACLs are the same as with
#: SASL; the broker's own certificate (``CN=localhost``) is a super user for its inter-broker listener.
PRINCIPAL_MAPPING = "RULE:^CN=([^,]+)(,.*)?$/$1/,DEFAULT"


def listener_security(config: StackConfig, passwords: dict[str, str]) -> dict[str, str]:
    """The broker listener's authentication: SASL (PLAIN users in its JAAS line, or SCRAM users in the metadata
    log: :func:`prepare`), or mTLS (a client certificate required, its CN the principal)."""
    protocol = config.kafka_protocol
    if config.client_auth == "mtls":
        return {"ssl.client.auth": "required", "ssl.principal.mapping.rules": PRINCIPAL_MAPPING,
                "super.users": "User:admin;User:ANONYMOUS;User:localhost"}
    mechanism = config.sasl_mechanism
    props = {"sasl.enabled.mechanisms": mechanism, "sasl.mechanism.inter.broker.protocol": mechanism,
             # The PLAINTEXT controller listener authenticates as User:ANONYMOUS.
             "super.users": "User:admin;User:ANONYMOUS"}
    key = f"listener.name.{protocol.lower()}.{mechanism.lower()}.sasl.jaas.config"
    if mechanism == "PLAIN":
        users = " ".join(f'user_{u}="{passwords[u]}"' for u in USERS)
        props[key] = jaas("admin", passwords["admin"], mechanism)[:-1] + f" {users};"
    else:
        props[key] = jaas("admin", passwords["admin"], mechanism)
    return props


def broker_properties(config: StackConfig, cluster: str, passwords: dict[str, str]) -> dict[str, str]:
    port = config.broker_port(cluster)
    cport = config.controller_port(cluster)
    protocol = config.kafka_protocol
    return {
        "process.roles": "broker,controller",
        "node.id": "1",
        # A single-node dynamic quorum (formatted with --standalone): the same on Kafka 3.9 and 4.x.
        "controller.quorum.bootstrap.servers": f"127.0.0.1:{cport}",
        "listeners": f"{protocol}://127.0.0.1:{port},CONTROLLER://127.0.0.1:{cport}",
        "advertised.listeners": f"{protocol}://127.0.0.1:{port}",
        "listener.security.protocol.map": f"{protocol}:{protocol},CONTROLLER:PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": protocol,
        **listener_security(config, passwords),
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(config.certs_dir / "broker-keystore.pem"),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(config.ca_file),
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found": "false",
        "log.dirs": str(config.run_dir / cluster / "data"),
        "num.partitions": "1",
        "default.replication.factor": "1",
        "auto.create.topics.enable": "false",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "3",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "3",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "log.retention.hours": "24",
    }


def new_cluster_id() -> str:
    """A KRaft cluster id as Kafka's ``Uuid.randomUuid()`` makes them: base64url of 16 random bytes, never
    starting with '-' (a command line would read it as an option)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


def prepare(config: StackConfig, cluster: str, passwords: dict[str, str]) -> subprocess.Popen:
    """Write the cluster's server.properties and start formatting its storage (returns the formatter)."""
    props_file = config.run_dir / cluster / "server.properties"
    write_properties(props_file, broker_properties(config, cluster, passwords))
    argv = java_argv(config, 128, "kafka.tools.StorageTool", "format", "--standalone", f"--cluster-id={new_cluster_id()}",
                     "-c", str(props_file), *scram_users(config, passwords), log=proc.log_file(config, cluster))
    config.logs_dir.mkdir(parents=True, exist_ok=True)
    # A one-off of a few lines: appended to the cluster's stdout file directly.
    with proc.out_file(config, cluster).open("ab") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=config.run_dir)


def scram_users(config: StackConfig, passwords: dict[str, str]) -> list[str]:
    """The storage tool's ``--add-scram`` arguments creating every user (SCRAM-SHA-512 only): KRaft's way of having
    SCRAM users before the first broker starts. These throwaway passwords are in the formatter's command line for
    the seconds it runs, before any broker exists; the smoke test's own tools never put a secret there."""
    if config.client_auth != "sasl" or config.sasl_mechanism == "PLAIN":
        return []
    return [arg for u in USERS for arg in ("--add-scram", f"{config.sasl_mechanism}=[name={u},password={passwords[u]}]")]


def finish_format(config: StackConfig, cluster: str, formatter: subprocess.Popen) -> None:
    if formatter.wait(timeout=120) != 0:
        raise StackError(cluster, "formatting the KRaft storage failed", proc.log_tail(config, cluster))


def start(config: StackConfig, cluster: str) -> int:
    props_file = config.run_dir / cluster / "server.properties"
    argv = java_argv(config, config.broker_heap_mb, "kafka.Kafka", str(props_file), log=proc.log_file(config, cluster))
    return proc.spawn(config, cluster, argv, output=proc.out_file(config, cluster))


def metadata_probe(config: StackConfig, cluster: str, passwords: dict[str, str]) -> str | None:
    """None when the broker answers a metadata request as admin (SASL_SSL or mTLS), else why not."""
    from confluent_kafka.admin import AdminClient

    # log_level 0: a broker that is still starting refuses connections; that is the answer, not noise.
    admin = AdminClient({**client_config(config, cluster, "admin", passwords), "socket.timeout.ms": 3000,
                         "log_level": 0})
    md = admin.list_topics(timeout=3)
    if not md.brokers:
        return "no broker in metadata"
    return None


class Acl(NamedTuple):
    """One ALLOW ACL binding, by the names of confluent-kafka's enums (``ResourceType``, ``ResourcePatternType``,
    ``AclOperation``)."""

    principal: str
    resource: str
    name: str
    pattern: str
    operation: str


_READ_SIDE = ("READ", "DESCRIBE", "DESCRIBE_CONFIGS")
_WRITE_SIDE = ("CREATE", "WRITE", "READ", "DESCRIBE", "DESCRIBE_CONFIGS", "ALTER_CONFIGS")


def acl_plan(config: StackConfig) -> dict[str, list[Acl]]:
    """The ACLs of ``mm2`` and ``smoke`` on each cluster of the topology: what a flow's source needs on a cluster
    some flow reads, what a flow's target needs on a cluster some flow writes (both on a cluster of an
    active-active pair). Remote topics are named by the stack's replication policy
    (:func:`mm2_smoke.naming.remote_topic_name`, through each flow's naming)."""
    return {cluster: list(dict.fromkeys(_cluster_acls(config, cluster))) for cluster in config.clusters}


def _cluster_acls(config: StackConfig, cluster: str) -> list[Acl]:
    """The ACLs of one cluster of :func:`acl_plan` (one binding may come twice, from both sides)."""
    naming = config.naming
    acls: list[Acl] = []

    def allow(principal: str, res: str, name: str, pat: str, *ops: str) -> None:
        acls.extend(Acl(f"User:{principal}", res, name, pat, op) for op in ops)

    from mm2_smoke.failover import internal_topics

    into = [config.flow_naming(f.source, f.target) for f in config.flows if f.target == cluster]
    if any(f.source == cluster for f in config.flows):
        # MM2 reads every topic its `topics` filter selects, and lists groups for checkpoints.
        allow("mm2", "TOPIC", "*", "LITERAL", *_READ_SIDE)
        allow("mm2", "GROUP", "*", "LITERAL", "DESCRIBE")
        allow("mm2", "BROKER", "kafka-cluster", "LITERAL", "DESCRIBE")
        # The smoke test produces (and may create) test topics, and may consume them back.
        allow("smoke", "TOPIC", naming.prefix, "PREFIXED", "CREATE", "WRITE", "READ", "DESCRIBE", "DESCRIBE_CONFIGS")
        allow("smoke", "GROUP", "mm2-smoke", "PREFIXED", "READ", "DESCRIBE")
        # Diagnostics read ACLs and broker configs (read-only); failover readiness: does the offset-syncs topic exist.
        allow("smoke", "BROKER", "kafka-cluster", "LITERAL", "DESCRIBE", "DESCRIBE_CONFIGS")
        allow("smoke", "TOPIC", "mm2-offset-syncs", "PREFIXED", "DESCRIBE")
    if into:
        # Per flow into this cluster: its remote topics, remote heartbeats and checkpoints topic
        # (`<source alias><separator>`), and with IdentityReplicationPolicy the remote topics' own names.
        for named in into:
            allow("mm2", "TOPIC", named.source_alias + named.separator, "PREFIXED", *_WRITE_SIDE)
            if not named.remote_prefix.startswith(named.source_alias + named.separator):
                allow("mm2", "TOPIC", named.remote_prefix, "PREFIXED", *_WRITE_SIDE)
        # MM2's and Connect's internal topics (`mm2-`), and heartbeats; Connect's worker group.
        allow("mm2", "TOPIC", "mm2-", "PREFIXED", *_WRITE_SIDE)
        allow("mm2", "TOPIC", "heartbeats", "LITERAL", *_WRITE_SIDE)
        allow("mm2", "GROUP", "mm2-", "PREFIXED", "READ", "DESCRIBE")
        # MM2's dedicated mode: the herder of flow A->B has the worker group `A-mm2` on B.
        for named in into:
            allow("mm2", "GROUP", named.source_alias + "-mm2", "LITERAL", "READ", "DESCRIBE")
        allow("mm2", "BROKER", "kafka-cluster", "LITERAL", "DESCRIBE")
        # The smoke test sees when MM2 last emitted a heartbeat (list offsets: DESCRIBE) and, for failover
        # readiness, reads the flows' heartbeats (READ), their checkpoints and whether the offset syncs exist.
        allow("smoke", "TOPIC", "heartbeats", "LITERAL", "DESCRIBE", "READ")
        for named in into:
            checkpoints = internal_topics(named.source_alias, named.target_alias, named.separator).checkpoints
            allow("smoke", "TOPIC", checkpoints, "LITERAL", "READ", "DESCRIBE")
        allow("smoke", "TOPIC", "mm2-offset-syncs", "PREFIXED", "DESCRIBE")
        # The smoke test reads the remote test topics.
        for named in into:
            allow("smoke", "TOPIC", named.remote_prefix, "PREFIXED", "READ", "DESCRIBE", "DESCRIBE_CONFIGS")
        allow("smoke", "GROUP", "mm2-smoke", "PREFIXED", "READ", "DESCRIBE")
        allow("smoke", "BROKER", "kafka-cluster", "LITERAL", "DESCRIBE", "DESCRIBE_CONFIGS")
    return acls


def setup_security_and_topics(config: StackConfig, passwords: dict[str, str]) -> None:
    """Create the ACLs of ``mm2`` and ``smoke`` on every cluster (:func:`acl_plan`) and the first test topic on each
    cluster a flow reads."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import (
        AclBinding,
        AclOperation,
        AclPermissionType,
        AdminClient,
        NewTopic,
        ResourcePatternType,
        ResourceType,
    )

    for cluster, acls in acl_plan(config).items():
        bindings = [AclBinding(ResourceType[a.resource], a.name, ResourcePatternType[a.pattern], a.principal, "*",
                               AclOperation[a.operation], AclPermissionType.ALLOW) for a in acls]
        admin = AdminClient(client_config(config, cluster, "admin", passwords))
        for binding, fut in admin.create_acls(bindings, request_timeout=15).items():
            try:
                fut.result()
            except KafkaException as exc:
                raise StackError(cluster, f"creating ACL {binding} failed: {exc}") from None
    for cluster in config.clusters:
        warm_up_producer_ids(config, cluster, passwords)
    topic = config.naming.source_topic(1)
    for cluster in dict.fromkeys(f.source for f in config.flows):
        admin = AdminClient(client_config(config, cluster, "admin", passwords))
        fut = admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)], request_timeout=15)[topic]
        try:
            fut.result()
        except KafkaException as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise StackError(cluster, f"creating the test topic {topic} failed: {exc}") from None


WARMUP_TOPIC = "mm2-stack-warmup"


def warm_up_producer_ids(config: StackConfig, cluster: str, passwords: dict[str, str]) -> None:
    """Make a fresh cluster allocate its first producer-ID block now, with one idempotent send.

    On a new KRaft cluster the first InitProducerId waits while the coordinator loads ("coordinator load in
    progress"). The record's timestamp is taken before that wait, so the smoke test's first run would see it as MM2
    replication latency (MM2's latency max gauge keeps it for 60 s).
    """
    from confluent_kafka import KafkaException, Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient(client_config(config, cluster, "admin", passwords))
    try:
        admin.create_topics([NewTopic(WARMUP_TOPIC, 1, 1)], request_timeout=15)[WARMUP_TOPIC].result()
    except KafkaException as exc:
        if "TOPIC_ALREADY_EXISTS" not in str(exc):
            raise StackError(cluster, f"creating {WARMUP_TOPIC} failed: {exc}") from None
    errors: list[str] = []
    producer = Producer({**client_config(config, cluster, "admin", passwords), "enable.idempotence": True,
                         "acks": "all", "log_level": 3})
    producer.produce(WARMUP_TOPIC, b"warm-up", on_delivery=lambda err, _m: err and errors.append(str(err)))
    if producer.flush(30) != 0 or errors:
        raise StackError(cluster, f"the warm-up idempotent send to {WARMUP_TOPIC} failed: {errors or 'timed out'}",
                         proc.log_tail(config, cluster))

"""The Kafka Connect distributed worker that runs MirrorMaker 2, and the three MM2 connectors of each flow.

:func:`worker_settings` and :func:`mm2_connectors` are the one definition of both, parameterised by what differs
between the local stack (127.0.0.1, SASL_SSL) and docker-compose (service names, PLAINTEXT;
:mod:`mm2_stack.compose` generates its files from them). The worker belongs to the ``target`` cluster; a flow
writing elsewhere (active-active's ``target->source``) has its connectors' producer pointed at its own target.
"""

from __future__ import annotations

import json
import shutil
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mm2_smoke.naming import IDENTITY_POLICY, TopicNaming
from mm2_stack import proc, webauth
from mm2_stack.config import (
    HTTP_USER,
    JMX_EXPORTER_JAR,
    PACKAGE_DIR,
    WORKER_CLUSTER,
    StackConfig,
    StackError,
)
from mm2_stack.exposition import parse, select
from mm2_stack.kafka import CLUSTERS, jaas, java_argv, java_client_props, write_properties

BYTES = "org.apache.kafka.connect.converters.ByteArrayConverter"
MIRROR_PACKAGE = "org.apache.kafka.connect.mirror."
CONNECTOR_KINDS = ("MirrorSourceConnector", "MirrorCheckpointConnector", "MirrorHeartbeatConnector")
#: MirrorMaker's replication policy classes, by the smoke test's name of the policy (naming.policy).
POLICY_CLASSES = {"default": MIRROR_PACKAGE + "DefaultReplicationPolicy",
                  IDENTITY_POLICY: MIRROR_PACKAGE + "IdentityReplicationPolicy"}
#: The runbook's exporter rules (docker-compose's worker loads them; the local stack loads the rules of its variant).
EXPORTER_RULES = PACKAGE_DIR.parent / "prometheus" / "jmx-exporter-mm2.yaml"


def rest_url(config: StackConfig, path: str = "") -> str:
    return webauth.base_url(config, "connect") + path


#: Kafka's basic-auth REST extension (the ``connect-basic-auth-extension`` jar) and its login module.
BASIC_AUTH_EXTENSION = "org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension"
BASIC_AUTH_LOGIN_MODULE = "org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule"


@dataclass(frozen=True)
class RestEndpoint:
    """Where a Connect worker serves its REST API.

    :param listener: the worker's ``listeners`` URL.
    :param host: the host name it advertises to its peers.
    :param port: the port it advertises.
    """

    listener: str
    host: str
    port: int


def worker_settings(bootstrap: str, rest: RestEndpoint, client_security: Mapping[str, str],
                    extra: Mapping[str, str]) -> dict[str, str]:
    """The MM2 Connect worker's settings, wherever it runs.

    :param bootstrap: bootstrap servers of the worker's own cluster (the target: MM2 writes there).
    :param rest: the worker's REST endpoint.
    :param client_security: security settings of the worker's clients, unprefixed; its producer (MM2's writes to
        the target), consumer and admin get them too. Empty for PLAINTEXT.
    :param extra: further worker settings (config providers).
    """
    props = {
        "bootstrap.servers": bootstrap,
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
        "listeners": rest.listener,
        "rest.advertised.host.name": rest.host,
        "rest.advertised.port": str(rest.port),
        # Commit source offsets every 5 s so offset-commit metrics exist soon after a start.
        "offset.flush.interval.ms": "5000",
        "scheduled.rebalance.max.delay.ms": "10000",
        "connector.client.config.override.policy": "All",
        **extra,
    }
    for prefix in ("", "producer.", "consumer.", "admin."):
        props.update({prefix + k: v for k, v in client_security.items()})
    return props


def worker_properties(config: StackConfig, passwords: dict[str, str]) -> dict[str, str]:
    """The local stack's worker: on 127.0.0.1, its clients as ``mm2`` (SASL_SSL or mTLS); with
    ``MM2_STACK_CONNECT_AUTH=basic`` its REST API over HTTPS (the stack's server certificate) behind Kafka's
    basic-auth extension (users in a JAAS property file: :func:`start`)."""
    extra = {
        # Connector configs reference secrets in a file instead of carrying passwords in Connect's REST.
        "config.providers": "file",
        "config.providers.file.class": "org.apache.kafka.common.config.provider.FileConfigProvider",
    }
    if config.connect_auth == "basic":
        extra.update({
            "rest.advertised.listener": "https",
            # Jetty reads PKCS#12, not PEM (certs.make_pkcs12_keystore); the file is 0600, like this one.
            "listeners.https.ssl.keystore.type": "PKCS12",
            "listeners.https.ssl.keystore.location": str(config.certs_dir / "broker.p12"),
            "listeners.https.ssl.keystore.password": passwords["rest-keystore"],
            "rest.extension.classes": BASIC_AUTH_EXTENSION,
        })
    return worker_settings(
        config.bootstrap("target"),
        RestEndpoint(rest_url(config), "127.0.0.1", config.ports.connect_rest),
        java_client_props(config, "mm2", passwords),
        extra,
    )


def mm2_security(config: StackConfig) -> dict[str, str]:
    """The MM2 clients' security settings (as ``mm2``, both clusters): SASL_SSL with a JAAS line that the worker's
    file config provider reads from the secrets file, or mTLS with ``mm2``'s key store (unencrypted key, 0600)."""
    security = {"security.protocol": config.kafka_protocol, "ssl.truststore.type": "PEM",
                "ssl.truststore.location": str(config.ca_file)}
    if config.client_auth == "mtls":
        return {**security, "ssl.keystore.type": "PEM", "ssl.keystore.location": str(config.client_keystore("mm2"))}
    return {**security, "sasl.mechanism": config.sasl_mechanism,
            "sasl.jaas.config": f"${{file:{config.run_dir / 'connect' / 'mm2-secrets.properties'}:jaas}}"}


def mm2_connectors(naming: TopicNaming, topics_regex: str, refresh_topics_s: int, bootstrap: Mapping[str, str],
                   security: Mapping[str, str], sync_group_offsets: bool = True) -> dict[str, dict[str, str]]:
    """The three MM2 connectors' configs of one flow by kind (``MirrorSourceConnector``...), wherever they run.

    The MirrorCheckpointConnector checkpoints every 5 s and learns new groups every 10 s (MM2's defaults: 60 s and
    600 s), so that a failover-readiness check sees its own group's commit translated within a run; with
    ``sync_group_offsets`` it also writes the translation to the groups on the target every 5 s (MM2 writes a
    group only while it has no active member there). The heartbeat connector emits every 5 s (MM2's default: 1 s).

    :param naming: the flow's aliases, replication policy and separator (``replication.policy.class``; the separator
        for the default policy only: IdentityReplicationPolicy names remote topics without it).
    :param topics_regex: the MirrorSourceConnector's ``topics``.
    :param refresh_topics_s: its ``refresh.topics.interval.seconds``.
    :param bootstrap: bootstrap servers by side of the flow (``source``, ``target``).
    :param security: security settings of the connectors' clients, unprefixed, for both clusters.
    :param sync_group_offsets: the checkpoint connector's ``sync.group.offsets.enabled``.
    """
    identity = naming.policy == IDENTITY_POLICY
    common: dict[str, str] = {
        "source.cluster.alias": naming.source_alias,
        "target.cluster.alias": naming.target_alias,
        "replication.policy.class": POLICY_CLASSES[IDENTITY_POLICY if identity else "default"],
        **({} if identity else {"replication.policy.separator": naming.separator}),
        "key.converter": BYTES,
        "value.converter": BYTES,
        "header.converter": BYTES,
        "tasks.max": "1",
        # MM2 writes its offset syncs to target, so it only ever reads on source.
        "offset-syncs.topic.location": "target",
        "offset-syncs.topic.replication.factor": "1",
    }
    for side in CLUSTERS:
        common[f"{side}.cluster.bootstrap.servers"] = bootstrap[side]
        common.update({f"{side}.cluster.{k}": v for k, v in security.items()})
    own = {
        "MirrorSourceConnector": {
            "topics": topics_regex,
            "refresh.topics.interval.seconds": str(refresh_topics_s),
            "replication.factor": "1",
            "sync.topic.acls.enabled": "false",
            "sync.topic.configs.enabled": "false",
        },
        "MirrorCheckpointConnector": {
            "checkpoints.topic.replication.factor": "1",
            "emit.checkpoints.enabled": "true",
            "emit.checkpoints.interval.seconds": "5",
            "refresh.groups.interval.seconds": "10",
            "sync.group.offsets.enabled": "true" if sync_group_offsets else "false",
            "sync.group.offsets.interval.seconds": "5",
        },
        "MirrorHeartbeatConnector": {
            "heartbeats.topic.replication.factor": "1",
            "emit.heartbeats.interval.seconds": "1",
        },
    }
    return {kind: {**common, "connector.class": MIRROR_PACKAGE + kind, **own[kind]} for kind in CONNECTOR_KINDS}


def connector_configs(config: StackConfig) -> dict[str, dict[str, str]]:
    """The local stack's MM2 connectors by name (``<source>-><target>.<Kind>``), three per flow of the topology,
    the default flow's first; their clients as ``mm2`` (:func:`mm2_security`).

    The worker's own producer writes what a Connect source task returns (records, checkpoints, heartbeats) to the
    worker's cluster (``target``); a flow into another cluster has it pointed there
    (``producer.override.bootstrap.servers``: the worker's ``connector.client.config.override.policy`` is All; the
    other producer settings, ``mm2`` on the same CA, hold on every cluster). Its source offsets stay in the worker's
    offsets topic.
    """
    out: dict[str, dict[str, str]] = {}
    for flow in config.flows:
        naming = config.flow_naming(flow.source, flow.target)
        by_kind = mm2_connectors(naming, config.topics_regex, config.refresh_topics_s,
                                 {"source": config.bootstrap(flow.source), "target": config.bootstrap(flow.target)},
                                 mm2_security(config), config.sync_group_offsets)
        if config.names_formats:  # Kafka 4.3 (KIP-1280): which MBeans MirrorMaker's per-topic metrics live in
            for kind in ("MirrorSourceConnector", "MirrorCheckpointConnector"):
                by_kind[kind]["metric.names.formats"] = config.names_formats
        if flow.target != WORKER_CLUSTER:
            for cfg in by_kind.values():
                cfg["producer.override.bootstrap.servers"] = config.bootstrap(flow.target)
        out.update({naming.connector_name(kind): cfg for kind, cfg in by_kind.items()})
    return out


def rules_in_use(config: StackConfig) -> Path:
    """The exporter rules file the running worker's agent reads (a copy in the run folder: the agent reloads it
    when it changes, so ``use_rules`` switches the exported names without a restart)."""
    return config.run_dir / "connect" / "jmx-exporter.yaml"


def use_rules(config: StackConfig, rules: Path) -> None:
    """Make the worker's JMX exporter export with ``rules`` (at start, or live: it reloads a changed file)."""
    target = rules_in_use(config)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    shutil.copyfile(rules, tmp)
    tmp.replace(target)


#: MirrorMaker 2's dedicated mode (``connect-mirror-maker.sh``): its main class.
DEDICATED_MAIN = "org.apache.kafka.connect.mirror.MirrorMaker"


def dedicated_properties(config: StackConfig, passwords: dict[str, str]) -> dict[str, str]:
    """``mm2.properties`` of MirrorMaker 2 in dedicated mode: the same three connectors' settings as on Connect
    (:func:`mm2_connectors`), as ``clusters`` and the topology's flows (``<source>-><target>.enabled``); every other
    pair of clusters off, its heartbeats too (else MM2 runs a herder for it, emitting heartbeats into its target).
    Its clients authenticate as ``mm2`` (the JAAS line in this 0600 file, or ``mm2``'s key store). No REST API:
    ``dedicated.mode.enable.internal.rest`` stays off."""
    clusters = config.clusters
    flows = {(f.source, f.target) for f in config.flows}
    skip = {"connector.class", "source.cluster.alias", "target.cluster.alias", "key.converter", "value.converter",
            "header.converter"}
    props: dict[str, str] = {"clusters": ", ".join(clusters)}
    props.update({f"{c}.bootstrap.servers": config.bootstrap(c) for c in clusters})
    for src in clusters:
        for tgt in clusters:
            if src != tgt:
                props[f"{src}->{tgt}.enabled"] = "true" if (src, tgt) in flows else "false"
                if (src, tgt) not in flows:
                    props[f"{src}->{tgt}.emit.heartbeats.enabled"] = "false"
    for flow in config.flows:
        by_kind = mm2_connectors(config.flow_naming(flow.source, flow.target), config.topics_regex,
                                 config.refresh_topics_s, {side: config.bootstrap(side) for side in CLUSTERS}, {},
                                 config.sync_group_offsets)
        settings: dict[str, str] = {}
        for cfg in by_kind.values():
            settings.update({k: v for k, v in cfg.items()
                             if k not in skip and not k.startswith(("source.cluster.", "target.cluster."))})
        props.update({f"{flow.source}->{flow.target}.{k}": v for k, v in settings.items()})
    # The herders' workers: the herder of flow A->B works on B (internal topics mm2-*.A.internal, group A-mm2).
    # MM2 builds a flow's worker from its target cluster's settings (`<target>.` stripped) and a few top-level ones
    # (*.storage.*, converters): commit source offsets every 5 s, as on Connect (offset-commit metrics soon after
    # records; a top-level or flow-prefixed setting is ignored).
    props.update({"config.storage.replication.factor": "1", "offset.storage.replication.factor": "1",
                  "status.storage.replication.factor": "1"})
    props.update({f"{tgt}.offset.flush.interval.ms": "5000" for tgt in config.flow_targets})
    security = mm2_security(config)
    if config.client_auth != "mtls":
        security["sasl.jaas.config"] = jaas("mm2", passwords["mm2"], config.sasl_mechanism)
    for cluster in clusters:
        props.update({f"{cluster}.{k}": v for k, v in security.items()})
    if config.names_formats:
        for flow in config.flows:
            props[f"{flow.source}->{flow.target}.metric.names.formats"] = config.names_formats
    return props


def start(config: StackConfig, passwords: dict[str, str]) -> int:
    """Start MirrorMaker 2 with the JMX exporter agent: as connectors' host, a Connect distributed worker (its
    connectors are created over REST: :func:`create_connectors`), or in dedicated mode the MirrorMaker process."""
    d = config.run_dir / "connect"
    if config.mm2_mode == "dedicated":
        write_properties(d / "mm2.properties", dedicated_properties(config, passwords))
        if not rules_in_use(config).exists():
            use_rules(config, config.rules_file)
        agent = (f"-javaagent:{config.jars_dir / JMX_EXPORTER_JAR}="
                 f"127.0.0.1:{config.ports.jmx_exporter}:{rules_in_use(config)}")
        # Herders only for the pairs into these clusters: the topology's flows.
        argv = java_argv(config, config.connect_heap_mb, DEDICATED_MAIN, str(d / "mm2.properties"), "--clusters",
                         *config.flow_targets, agent=agent, log=proc.log_file(config, "connect"))
        return proc.spawn(config, "connect", argv, output=proc.out_file(config, "connect"))
    write_properties(d / "worker.properties", worker_properties(config, passwords))
    write_properties(d / "mm2-secrets.properties", {"jaas": jaas("mm2", passwords["mm2"], config.sasl_mechanism)})
    if not rules_in_use(config).exists():  # a restart keeps the rules swapped in live (`mm2_stack metrics`)
        use_rules(config, config.rules_file)
    agent = (f"-javaagent:{config.jars_dir / JMX_EXPORTER_JAR}="
             f"127.0.0.1:{config.ports.jmx_exporter}:{rules_in_use(config)}")
    jvm = []
    if config.connect_auth == "basic":
        jvm.append(f"-Djava.security.auth.login.config={write_rest_jaas(config, passwords)}")
    argv = java_argv(config, config.connect_heap_mb, "org.apache.kafka.connect.cli.ConnectDistributed",
                     str(d / "worker.properties"), agent=agent, jvm=jvm, log=proc.log_file(config, "connect"))
    return proc.spawn(config, "connect", argv, output=proc.out_file(config, "connect"))


def write_rest_jaas(config: StackConfig, passwords: dict[str, str]) -> Path:
    """The JAAS file of the basic-auth extension (``KafkaConnect`` login context) and its user file
    (``user: password``), both 0600; returns the JAAS file."""
    d = config.run_dir / "connect"
    users = d / "rest-users.properties"
    write_properties(users, {HTTP_USER: passwords["connect"]})
    path = d / "rest-jaas.conf"
    path.write_text(f'KafkaConnect {{\n  {BASIC_AUTH_LOGIN_MODULE} required\n  file="{users}";\n}};\n')
    path.chmod(0o600)
    return path


def rest(config: StackConfig, method: str, path: str, body: Any = None, timeout_s: float = 10) -> tuple[int, Any]:
    """Call the Connect REST API (with the variant's TLS and credentials); returns (HTTP status, decoded JSON or
    text)."""
    data = None if body is None else json.dumps(body).encode()
    status, raw = webauth.request(config, "connect", method, path, data,
                                  {"Content-Type": "application/json", "Accept": "application/json"}, timeout_s)
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode("utf-8", "replace")


def connector_path(name: str) -> str:
    return "/connectors/" + urllib.parse.quote(name, safe="")


def exporter_probe(config: StackConfig) -> str | None:
    """None when MM2's JMX exporter serves the MirrorSourceConnector task's metrics (dedicated mode's readiness: it
    has no REST API to ask), else why not."""
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{config.ports.jmx_exporter}/metrics", timeout=5) as resp:
            page = resp.read().decode("utf-8", "replace")
    except OSError as exc:
        return f"the JMX exporter does not answer: {exc}"
    if "MirrorSourceConnector" not in page or "source_record_poll" not in page.replace("-", "_"):
        return "the JMX exporter does not export the MirrorSourceConnector task's metrics yet"
    return None


def exporter_values(config: StackConfig, selector: str) -> list[float]:
    """The values of the series matching ``selector`` on MM2's JMX exporter page, read live: no metrics store, no
    scrape interval, no query latency offset in between.

    :raises StackError: when the exporter does not answer.
    """
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{config.ports.jmx_exporter}/metrics", timeout=5) as resp:
            page = resp.read().decode("utf-8", "replace")
    except OSError as exc:
        raise StackError("connect", f"the JMX exporter does not answer: {exc}") from exc
    return [sample.value for sample in select(parse(page), selector)]


def ready_probe(config: StackConfig) -> str | None:
    """None when MM2 is up: its connectors and tasks RUNNING (Connect REST), or in dedicated mode its source task's
    metrics exported."""
    if config.mm2_mode == "dedicated":
        return exporter_probe(config)
    return rest_probe(config) or connectors_probe(config)


def rest_probe(config: StackConfig) -> str | None:
    status, body = rest(config, "GET", "/connectors", timeout_s=3)
    return None if status == 200 else f"HTTP {status}: {body}"


def create_connectors(config: StackConfig) -> None:
    """PUT every configured connector (:func:`connector_configs`) and record what was applied."""
    for name, cfg in connector_configs(config).items():
        put_connector(config, name, cfg, record=True)


def put_connector(config: StackConfig, name: str, cfg: Mapping[str, str], record: bool) -> None:
    """PUT one connector's config (creates it, or replaces its config: Connect restarts it and its tasks; a paused
    connector stays paused).

    :param record: ``cfg`` is the stack's own config of the connector (``up``, a heal), not a fault's: kept in
        :func:`applied_file`, which tells the two apart later (:func:`plan_config_updates`).
    :raises StackError: Connect refused it.
    """
    status, body = rest(config, "PUT", connector_path(name) + "/config", dict(cfg), timeout_s=60)
    if status not in (200, 201):
        raise StackError("connect", f"PUT of connector {name}'s config failed: HTTP {status}: {body}",
                         proc.log_tail(config, "connect"))
    if record:
        _record_applied(config, {name: dict(cfg)})


def restore_connector(config: StackConfig, name: str) -> None:
    """Give connector ``name`` back its configured config (:func:`connector_configs`): a heal."""
    put_connector(config, name, connector_configs(config)[name], record=True)


# --- an existing stack's connectors -----------------------------------------------------------------
def applied_file(config: StackConfig) -> Path:
    """The connector configs the stack last applied itself (``up``, heals), by name, in the run folder."""
    return config.run_dir / "connect" / "connectors-applied.json"


def _read_applied(config: StackConfig) -> dict[str, dict[str, str]] | None:
    try:
        return json.loads(applied_file(config).read_text())
    except (FileNotFoundError, ValueError):
        return None


def _record_applied(config: StackConfig, configs: Mapping[str, dict[str, str]]) -> None:
    path = applied_file(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    applied = {**(_read_applied(config) or {}), **configs}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(applied, indent=1, sort_keys=True))
    tmp.chmod(0o600)
    tmp.replace(path)


#: The checkpoint connector's own settings that stacks built before :func:`applied_file` existed were given
#: otherwise (None: not set): what such a stack's configs are taken to be when nothing was recorded.
UNRECORDED_CHECKPOINT_SETTINGS: dict[str, str | None] = {
    "emit.checkpoints.enabled": None, "sync.group.offsets.enabled": "false", "sync.group.offsets.interval.seconds": None}


def unrecorded_config(cfg: Mapping[str, str]) -> dict[str, str]:
    """What a stack built before the record applied for the connector configured as ``cfg`` today."""
    out = dict(cfg)
    if out.get("connector.class") == MIRROR_PACKAGE + "MirrorCheckpointConnector":
        for key, value in UNRECORDED_CHECKPOINT_SETTINGS.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = value
    return out


@dataclass(frozen=True)
class ConfigUpdate:
    """What ``up`` does with one connector of an existing stack.

    :param name: the connector.
    :param action: ``same`` (as configured), ``put`` (the stack's own config, older than the configured one: PUT the
        configured one) or ``left`` (missing, or changed since the stack applied it, e.g. by a fault: left as it is).
    :param keys: the settings that differ from the configured ones.
    """

    name: str
    action: str
    keys: tuple[str, ...] = ()

    def describe(self) -> str:
        keys = ", ".join(self.keys)
        if self.action == "put":
            return f"connector {self.name}: the stack's configured settings applied ({keys})"
        if self.action == "left":
            if not self.keys:
                return (f"connector {self.name} is missing (deleted, e.g. by `fault connector-deleted`): left as it "
                        "is (`python -m mm2_stack heal connector-deleted` re-creates it)")
            return (f"connector {self.name} differs from the stack's configured settings in {keys} and was changed "
                    "since the stack applied them (a fault?): left as it is (heal it, or `python -m mm2_stack up "
                    "--fresh`)")
        return f"connector {self.name}: as configured"


def _differing(a: Mapping[str, str], b: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(sorted(k for k in a.keys() | b.keys() if k != "name" and a.get(k) != b.get(k)))


def plan_config_updates(configured: Mapping[str, Mapping[str, str]], live: Mapping[str, Mapping[str, str] | None],
                        applied: Mapping[str, Mapping[str, str]] | None) -> list[ConfigUpdate]:
    """Which connectors of an existing stack get the configured config: those whose live config is still the one
    the stack applied itself (so only the stack's code or knobs changed since), never one changed since by someone
    else (a fault is evidence: ``up`` does not heal it), never a missing one (deleted: the same).

    :param configured: the configs of :func:`connector_configs`, by name.
    :param live: each connector's config in Connect (``GET /connectors/<name>/config``; ``name`` ignored), None
        when it does not exist.
    :param applied: the configs recorded in :func:`applied_file`; None when the stack has no record (built before
        it: its configs are taken as :func:`unrecorded_config` of the configured ones).
    """
    out = []
    for name, cfg in configured.items():
        now = live.get(name)
        if now is None:
            out.append(ConfigUpdate(name, "left"))
            continue
        keys = _differing(cfg, now)
        if not keys:
            out.append(ConfigUpdate(name, "same"))
            continue
        own = applied.get(name) if applied is not None else unrecorded_config(cfg)
        ours = own is not None and not _differing(own, now)
        out.append(ConfigUpdate(name, "put" if ours else "left", keys))
    return out


def apply_connector_configs(config: StackConfig) -> list[str]:
    """Bring a running stack's MM2 connectors to the configured configs where the stack's own config stands
    (:func:`plan_config_updates`); the configs found as configured are recorded as applied. Nothing is deleted
    or created, no state changes (a paused connector stays paused), topics and offsets are untouched.

    In dedicated mode MirrorMaker reads ``mm2.properties`` when it starts only: this says whether it runs on other
    settings than the configured ones.

    :return: one line per connector updated or left as it is (nothing for those already as configured).
    """
    if config.mm2_mode == "dedicated":
        return _dedicated_drift(config)
    configured = connector_configs(config)
    live: dict[str, dict[str, str] | None] = {}
    for name in configured:
        status, body = rest(config, "GET", connector_path(name) + "/config", timeout_s=10)
        if status == 404:
            live[name] = None
        elif status == 200 and isinstance(body, dict):
            live[name] = body
        else:
            raise StackError("connect", f"reading connector {name}'s config failed: HTTP {status}: {body}")
    lines, updated = [], []
    for update in plan_config_updates(configured, live, _read_applied(config)):
        if update.action == "put":
            put_connector(config, update.name, configured[update.name], record=True)
            updated.append(update.name)
        elif update.action == "same":
            _record_applied(config, {update.name: configured[update.name]})
            continue
        lines.append(update.describe())
    if updated:
        try:
            proc.wait_until(config, "connect", lambda: _settled(config, updated), config.ready_timeout_s,
                            "the updated connectors restarted")
        except StackError as exc:
            lines.append(f"the updated connectors did not settle: {str(exc).splitlines()[0]}")
    return lines


def _settled(config: StackConfig, names: list[str]) -> str | None:
    """None when each of ``names`` and its tasks are in one state again, RUNNING or PAUSED as the connector was
    (a PUT keeps a paused connector paused), else what is not."""
    for name in names:
        status, body = rest(config, "GET", connector_path(name) + "/status", timeout_s=5)
        if status != 200:
            return f"{name}: HTTP {status}"
        state = body["connector"]["state"]
        if state not in ("RUNNING", "PAUSED"):
            return f"{name} is {state}"
        tasks = [t["state"] for t in body.get("tasks", [])]
        if any(t != state for t in tasks):
            return f"{name} is {state}, its tasks {tasks}"
    return None


def _dedicated_drift(config: StackConfig) -> list[str]:
    from mm2_stack.config import load_passwords

    path = config.run_dir / "connect" / "mm2.properties"
    try:
        running = dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    except FileNotFoundError:
        return []
    keys = _differing(dedicated_properties(config, load_passwords(config)), running)
    if not keys:
        return []
    return [f"MirrorMaker (dedicated mode) runs on other settings than the configured ones ({', '.join(keys)}): it "
            "reads mm2.properties when it starts; stop its process (pid file run/pids/connect.pid) and `up` restarts "
            "it on the configured ones"]


def connectors_probe(config: StackConfig) -> str | None:
    """None when every MM2 connector of every flow is RUNNING, its tasks too, and each source connector has a
    task."""
    for name in connector_configs(config):
        kind = name.rsplit(".", 1)[-1]
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

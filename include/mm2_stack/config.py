"""Where the local stack lives, which ports it listens on, who its users are, and the knobs that choose its variant."""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mm2_smoke.errors import SettingsError
from mm2_smoke.flows import Flow, ReplicationPolicy
from mm2_smoke.metrics import PROFILES, Queries
from mm2_smoke.naming import IDENTITY_POLICY, TopicNameError, TopicNaming
from mm2_smoke.settings import Setting, SmokeSettings, check_value

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = Path(__file__).resolve().parent

#: The default Kafka version: the newest release whose jars Maven Central serves to this project's machines and CI
#: in full. It does not serve the MirrorMaker jars (connect-mirror, connect-mirror-client) of 4.4.0, 4.3.2, 4.2.2
#: and 4.2.1 (their brokers' jars it does), nor connect-basic-auth-extension 3.9.2.
KAFKA_VERSION = "4.3.1"
JMX_EXPORTER_JAR = "jmx_prometheus_javaagent-1.0.1.jar"

# The users of both clusters (SASL/PLAIN or SCRAM-SHA-512, or the CN of their client certificate with mTLS).
# ``admin`` is a super user; ``smoke`` is the smoke test's client; ``mm2`` is the dedicated MirrorMaker 2 principal
# (also the Connect worker's).
USERS = ("admin", "smoke", "mm2")
#: Secrets that are not a Kafka user's: Prometheus' basic-auth user (``prometheus``), Connect REST's basic-auth user
#: (``connect``), the password of the ``smoke`` user's encrypted client key (``smoke-key``, mTLS), and of the PKCS#12
#: key store of Connect's HTTPS listener (``rest-keystore``: Jetty reads no PEM key store).
OTHER_SECRETS = ("prometheus", "connect", "smoke-key", "rest-keystore")
#: The user name of Prometheus' and Connect REST's basic auth (their password: the secret of that name).
HTTP_USER = "smoke"


class StackError(RuntimeError):
    """A part of the stack could not be set up or did not become ready.

    :param part: the part that failed (``source``, ``target``, ``connect``, ``prometheus``, ``jars``...).
    :param message: what went wrong and what to do.
    :param log_tail: the last lines of the part's log, if it has one.
    """

    def __init__(self, part: str, message: str, log_tail: str = "") -> None:
        self.part = part
        self.log_tail = log_tail
        text = f"[{part}] {message}"
        if log_tail:
            text += f"\n--- last lines of the {part} log ---\n{log_tail}"
        super().__init__(text)


@dataclass(frozen=True)
class Ports:
    """TCP ports of the stack, all on 127.0.0.1. Each cluster has its own block (``<n>9092`` broker, ``<n>9093``
    controller); the third cluster's (``c``, :data:`TOPOLOGIES` fan-in) is only listened on by a fan-in stack."""

    source_broker: int = 19092
    source_controller: int = 19093
    target_broker: int = 29092
    target_controller: int = 29093
    connect_rest: int = 18083
    jmx_exporter: int = 19404
    prometheus: int = 19090
    c_broker: int = 39092
    c_controller: int = 39093


#: The cluster the Connect worker belongs to (its internal topics, its producer's default cluster): the target of
#: the default flow, in every topology.
WORKER_CLUSTER = "target"
#: The third cluster's alias (fan-in): its part, its port block (``c_broker``...) and its Airflow connection
#: (``kafka_c``) are named after it.
THIRD_CLUSTER = "c"
#: The flows of each topology (MM2_STACK_TOPOLOGY), as (source alias, target alias); the first is the default flow,
#: the one the smoke test's default Params, the faults and ``source``/``target`` name. The aliases are the cluster
#: (part) names.
TOPOLOGIES: dict[str, tuple[tuple[str, str], ...]] = {
    "one-way": (("source", "target"),),
    "active-active": (("source", "target"), ("target", "source")),
    "fan-in": (("source", "target"), (THIRD_CLUSTER, "target")),
}
#: Every cluster a stack may run, in start order.
ALL_CLUSTERS = ("source", "target", THIRD_CLUSTER)


def connection_id(alias: str) -> str:
    """The Airflow connection of the cluster ``alias`` in the stack's env file: ``kafka_<alias>``."""
    return f"kafka_{alias}"


@dataclass(frozen=True)
class KafkaLine:
    """What differs between the Kafka lines the stack runs (every patch of a line alike).

    :param log4j2: Kafka logs through Log4j2 (Kafka 4: kafka-server depends on log4j-core, and slf4j-api 1.7.36
        comes without a binding, so the stack adds log4j-slf4j-impl at that Log4j2, which it reads from that
        Kafka's pom when it fetches the jars: :func:`mm2_stack.jars.kafka_log4j2`); else reload4j (Kafka 3's
        jars bring it and its slf4j binding).
    :param metric_names_formats: MirrorMaker has ``metric.names.formats`` (KIP-1280: Kafka 4.3 and later).
    :param config_command: the main class of Kafka's ConfigCommand (in kafka-tools from 4.4 on).
    """

    log4j2: bool
    metric_names_formats: bool
    config_command: str = "kafka.admin.ConfigCommand"


#: The Kafka lines the stack runs (MM2_STACK_KAFKA_VERSION: any patch of one). The Log4j2 each version's pom
#: names (kafka-server's log4j-core) changes with the patch, not the line: 4.1.1 2.24.3; 4.1.2 and 4.2.0 2.25.3;
#: 4.2.1, 4.3.0 and 4.3.1 2.25.4; 4.2.2, 4.3.2 and 4.4.0 2.25.5.
KAFKA_LINES: dict[str, KafkaLine] = {
    "3.9": KafkaLine(log4j2=False, metric_names_formats=False),
    "4.1": KafkaLine(log4j2=True, metric_names_formats=False),
    "4.2": KafkaLine(log4j2=True, metric_names_formats=False),
    "4.3": KafkaLine(log4j2=True, metric_names_formats=True),
    "4.4": KafkaLine(log4j2=True, metric_names_formats=True, config_command="org.apache.kafka.tools.ConfigCommand"),
}
#: The Kafka versions the stack runs: any patch of a line of :data:`KAFKA_LINES`.
KAFKA_VERSION_PATTERN = "^(" + "|".join(line.replace(".", r"\.") for line in KAFKA_LINES) + r")\.[0-9]+$"
#: The lines whose MirrorMaker has ``metric.names.formats`` (what kafka-new and MM2_STACK_METRIC_NAMES_FORMATS need).
NAMES_FORMATS_LINES = tuple(line for line, facts in KAFKA_LINES.items() if facts.metric_names_formats)
_LINES_DOC = ", ".join(f"{line}.x" for line in reversed(KAFKA_LINES))
#: Our exporter rules of each metric profile (``include/prometheus/``), by MM2_STACK_METRICS value.
METRICS_RULES = {name: p.rules_file for name, p in PROFILES.items() if p.rules_file}


@dataclass(frozen=True)
class Knob:
    """One setting of the stack read from the environment: its variable, the field it sets, its default.

    :param setting: name (the variable), doc line, kind and bounds, checked by the smoke test's one validator.
    :param field: the :class:`StackConfig` field it sets.
    :param default: the value when the variable is unset or empty.
    :param parse: turns the checked value into the field's (None: the checked value as it is).
    """

    setting: Setting
    field: str
    default: Any
    parse: Callable[[Any], Any] | None = None


def _knob(env: str, field: str, default: Any, doc: str, kind: str = "string",
          parse: Callable[[Any], Any] | None = None, **bounds: Any) -> Knob:
    return Knob(Setting(env, env, doc, kind, **bounds), field, default, parse)


#: The spellings of a yes/no knob, and those that say no.
SWITCH_VALUES = ("true", "false", "1", "0", "yes", "no")
SWITCH_OFF = ("false", "0", "no")


def _switch(value: str) -> bool:
    return value not in SWITCH_OFF


KNOBS: tuple[Knob, ...] = (
    _knob("MM2_STACK_DIR", "root", str(REPO_ROOT / ".stack"), "State folder: jars, certificates, data, logs, the "
          "Airflow env file."),
    _knob("MM2_STACK_PORT_OFFSET", "port_offset", 0, "Shifts every port, for a second stack beside the first (with "
          "its own MM2_STACK_DIR).", "integer", minimum=0, maximum=20000),
    _knob("MM2_STACK_SCRAPE_INTERVAL_S", "scrape_interval_s", 5, "Metrics store scrape interval, in seconds.",
          "integer", minimum=1, maximum=300),
    _knob("MM2_STACK_REFRESH_TOPICS_S", "refresh_topics_s", 5, "MM2 refresh.topics.interval.seconds.", "integer",
          minimum=1, maximum=3600),
    _knob("MM2_STACK_SYNC_GROUP_OFFSETS", "sync_group_offsets", True, "MM2 sync.group.offsets.enabled: the "
          "MirrorCheckpointConnector writes translated offsets to the groups on the target (every 5 s): true (default), "
          "or false / 0 / no.", parse=_switch, enum=SWITCH_VALUES),
    _knob("MM2_STACK_READY_TIMEOUT_S", "ready_timeout_s", 120, "How long `up` waits for each part, in seconds.",
          "integer", minimum=1, maximum=3600),
    _knob("MM2_STACK_TOPICS", "topics_regex", "", "MM2's `topics` (default: every test topic)."),
    _knob("MM2_STACK_METRICS", "metrics", "runbook", "Which of our exporter rules the Connect worker's JMX exporter "
          "loads: runbook (the runbook's names), strimzi (the names of Strimzi's published rules), kafka-new (the "
          "metric.names.formats=new MBeans of Kafka 4.3 and later).", enum=tuple(METRICS_RULES)),
    _knob("MM2_STACK_JMX_RULES", "jmx_rules", "", "Any exporter rules file you bring (a path); overrides "
          "MM2_STACK_METRICS, and readiness then detects the profile (metric_profile=auto)."),
    _knob("MM2_STACK_KAFKA_VERSION", "kafka_version", KAFKA_VERSION, f"Kafka version of the whole chain: "
          f"{_LINES_DOC} (default {KAFKA_VERSION}).", pattern=KAFKA_VERSION_PATTERN,
          pattern_doc=f"is not a Kafka version the stack runs: use {KAFKA_VERSION} (default) or another patch of "
                      f"{_LINES_DOC}"),
    _knob("MM2_STACK_METRIC_NAMES_FORMATS", "metric_names_formats", "", "metric.names.formats of the MM2 "
          "connectors (Kafka 4.3 and later): legacy, new or legacy,new (default: new with MM2_STACK_METRICS="
          "kafka-new, else Kafka's own default).", enum=("legacy", "new", "legacy,new")),
    _knob("MM2_STACK_METRICS_STORE", "metrics_store", "prometheus", "The metrics store scraping the exporter: "
          "prometheus (Debian's) or victoriametrics (Debian's, with its default flags).",
          enum=("prometheus", "victoriametrics")),
    _knob("MM2_STACK_SASL_MECHANISM", "sasl_mechanism", "PLAIN", "The brokers' SASL mechanism (with "
          "MM2_STACK_CLIENT_AUTH=sasl): PLAIN, or SCRAM-SHA-512 (users created with Kafka's storage tool).",
          enum=("PLAIN", "SCRAM-SHA-512")),
    _knob("MM2_STACK_CLIENT_AUTH", "client_auth", "sasl", "How clients authenticate to the brokers: sasl (SASL_SSL) "
          "or mtls (SSL with a client certificate per user from the stack's CA; ACLs on the certificate's CN).",
          enum=("sasl", "mtls")),
    _knob("MM2_STACK_PROMETHEUS_AUTH", "prometheus_auth", "none", "The metrics store's HTTP API: none (plain HTTP) or "
          "basic (basic auth over HTTPS; Prometheus' --web.config.file, VictoriaMetrics' -httpAuth.* and -tls).",
          enum=("none", "basic")),
    _knob("MM2_STACK_CONNECT_AUTH", "connect_auth", "none", "Connect's REST API: none (plain HTTP) or basic (Kafka's "
          "BasicAuthSecurityRestExtension over HTTPS).", enum=("none", "basic")),
    _knob("MM2_STACK_MM2_MODE", "mm2_mode", "connect", "How MirrorMaker 2 runs: connect (its connectors on a Connect "
          "worker, with a REST API) or dedicated (connect-mirror-maker's MirrorMaker: no public REST API).",
          enum=("connect", "dedicated")),
    _knob("MM2_STACK_TOPOLOGY", "topology", "one-way", "MM2's flows: one-way (source->target), active-active "
          "(source->target and target->source) or fan-in (source->target and c->target, a third cluster c).",
          enum=tuple(TOPOLOGIES)),
    _knob("MM2_STACK_REPLICATION_POLICY", "replication_policy", "default", "MM2's replication policy on every flow: "
          "default (remote topic <source alias>.<topic>), default:<separator> (e.g. default:_) or identity (the "
          "topic's own name; active-active then loops records)."),
)


@dataclass(frozen=True)
class StackConfig:
    """Settings of the local stack; each can be overridden by the environment variable of :data:`KNOBS`.

    :param root: state folder (``MM2_STACK_DIR``, default ``<repo>/.stack``): jars, certs, data, logs.
    :param ports: the stack's ports, each shifted by ``MM2_STACK_PORT_OFFSET``.
    :param scrape_interval_s: metrics store scrape interval in seconds (``MM2_STACK_SCRAPE_INTERVAL_S``, 5).
    :param refresh_topics_s: MM2 ``refresh.topics.interval.seconds`` (``MM2_STACK_REFRESH_TOPICS_S``, 5).
    :param sync_group_offsets: MM2 ``sync.group.offsets.enabled`` (``MM2_STACK_SYNC_GROUP_OFFSETS``, true).
    :param ready_timeout_s: how long ``up`` waits for each part (``MM2_STACK_READY_TIMEOUT_S``, 120).
    :param naming: topic naming (prefix, aliases, separator) shared with the smoke test; its policy and separator
        are ``replication_policy``'s.
    :param topics_regex: MM2 ``topics`` (``MM2_STACK_TOPICS``, default: every test topic).
    :param metrics: our exporter rules (``MM2_STACK_METRICS``): ``runbook``, ``strimzi`` or ``kafka-new``.
    :param jmx_rules: a rules file of the user's (``MM2_STACK_JMX_RULES``), '' for ours.
    :param kafka_version: the chain's Kafka version (``MM2_STACK_KAFKA_VERSION``, :data:`KAFKA_VERSION`).
    :param metric_names_formats: ``metric.names.formats``, Kafka 4.3 and later (``MM2_STACK_METRIC_NAMES_FORMATS``),
        '' for the default (``new`` with the kafka-new rules).
    :param metrics_store: ``prometheus`` or ``victoriametrics`` (``MM2_STACK_METRICS_STORE``).
    :param sasl_mechanism: ``PLAIN`` or ``SCRAM-SHA-512`` (``MM2_STACK_SASL_MECHANISM``).
    :param client_auth: ``sasl`` or ``mtls`` (``MM2_STACK_CLIENT_AUTH``).
    :param prometheus_auth: ``none`` or ``basic`` (+ TLS) (``MM2_STACK_PROMETHEUS_AUTH``).
    :param connect_auth: ``none`` or ``basic`` (+ HTTPS) (``MM2_STACK_CONNECT_AUTH``).
    :param mm2_mode: ``connect`` or ``dedicated`` (``MM2_STACK_MM2_MODE``).
    :param topology: MM2's flows, a key of :data:`TOPOLOGIES` (``MM2_STACK_TOPOLOGY``).
    :param replication_policy: MM2's replication policy on every flow, as
        :meth:`~mm2_smoke.flows.ReplicationPolicy.parse` reads it (``MM2_STACK_REPLICATION_POLICY``); ``naming``
        takes its kind and separator.
    """

    root: Path
    ports: Ports = field(default_factory=Ports)
    scrape_interval_s: int = 5
    refresh_topics_s: int = 5
    sync_group_offsets: bool = True
    ready_timeout_s: int = 120
    naming: TopicNaming = field(default_factory=TopicNaming)
    topics_regex: str = ""
    metrics: str = "runbook"
    jmx_rules: str = ""
    kafka_version: str = KAFKA_VERSION
    metric_names_formats: str = ""
    metrics_store: str = "prometheus"
    sasl_mechanism: str = "PLAIN"
    client_auth: str = "sasl"
    prometheus_auth: str = "none"
    connect_auth: str = "none"
    mm2_mode: str = "connect"
    topology: str = "one-way"
    replication_policy: str = "default"
    broker_heap_mb: int = 320
    connect_heap_mb: int = 384

    def __post_init__(self) -> None:
        if self.topology not in TOPOLOGIES:
            raise StackError("config", f"MM2_STACK_TOPOLOGY={self.topology!r} is not one of {', '.join(TOPOLOGIES)}")
        object.__setattr__(self, "naming", _with_policy(self.naming, self.replication_policy))
        if not self.topics_regex:
            object.__setattr__(self, "topics_regex", self.naming.topics_regex)
        if not re.fullmatch(KAFKA_VERSION_PATTERN.strip("^$"), self.kafka_version):
            raise StackError("config", f"Kafka {self.kafka_version} is not a version the stack runs: use "
                             f"{KAFKA_VERSION} (default) or another patch of {_LINES_DOC}")
        lines = f"{NAMES_FORMATS_LINES[0]} or later"
        if self.metrics == "kafka-new" and not self.jmx_rules and not self.line.metric_names_formats:
            raise StackError("config", f"MM2_STACK_METRICS=kafka-new needs Kafka {lines} (metric.names.formats), not "
                             f"MM2_STACK_KAFKA_VERSION={self.kafka_version}: set MM2_STACK_KAFKA_VERSION={KAFKA_VERSION}")
        if self.metric_names_formats and not self.line.metric_names_formats:
            raise StackError("config", f"MM2_STACK_METRIC_NAMES_FORMATS needs Kafka {lines}, not "
                             f"MM2_STACK_KAFKA_VERSION={self.kafka_version}")
        if self.client_auth == "mtls" and self.sasl_mechanism != "PLAIN":
            raise StackError("config", "MM2_STACK_SASL_MECHANISM applies to MM2_STACK_CLIENT_AUTH=sasl; with mtls the "
                             "clients authenticate by certificate: unset one of them")
        if self.mm2_mode == "dedicated" and self.connect_auth != "none":
            raise StackError("config", "MM2_STACK_CONNECT_AUTH=basic protects a Connect REST API, which "
                             "MM2_STACK_MM2_MODE=dedicated does not serve: unset one of them")
        if self.jmx_rules and not Path(self.jmx_rules).is_file():
            raise StackError("config", f"MM2_STACK_JMX_RULES={self.jmx_rules}: no such file; give the path of a "
                             "jmx_exporter rules file (YAML)")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> StackConfig:
        """The settings of :data:`KNOBS` from the environment (unset or empty: the default).

        :raises StackError: naming the variable and what is wrong.
        """
        environ = dict(os.environ if environ is None else environ)
        values: dict[str, Any] = {}
        for knob in KNOBS:
            raw = environ.get(knob.setting.name) or ""
            try:
                value = check_value(knob.setting, raw) if raw else knob.default
            except SettingsError as exc:
                raise StackError("config", str(exc)) from None
            values[knob.field] = knob.parse(value) if knob.parse and raw else value
        offset = values.pop("port_offset")
        values["root"] = Path(values["root"]).resolve()
        ports = Ports(**{f: v + offset for f, v in Ports().__dict__.items()})
        return cls(ports=ports, **values)

    @property
    def profile(self) -> str:
        """The metric profile this stack's exporter produces (``auto`` with a rules file of the user's)."""
        return "auto" if self.jmx_rules else self.metrics

    @property
    def names_formats(self) -> str:
        """The MM2 connectors' ``metric.names.formats`` ('' to leave Kafka's default)."""
        return self.metric_names_formats or ("new" if self.metrics == "kafka-new" and not self.jmx_rules else "")

    @property
    def kafka_line(self) -> str:
        """The Kafka line: ``3.9``, ``4.1``... (a key of :data:`KAFKA_LINES`)."""
        return ".".join(self.kafka_version.split(".")[:2])

    @property
    def line(self) -> KafkaLine:
        """What this Kafka line does differently (:data:`KAFKA_LINES`)."""
        return KAFKA_LINES[self.kafka_line]

    @property
    def rules_file(self) -> Path:
        """The exporter rules the Connect worker loads (ours, or the user's)."""
        return Path(self.jmx_rules) if self.jmx_rules else PACKAGE_DIR.parent / "prometheus" / METRICS_RULES[self.metrics]

    @property
    def variant(self) -> dict[str, str]:
        """What makes this stack this variant (recorded at start: ``up`` refuses to reuse a stack of another)."""
        return {"kafka_version": self.kafka_version, "exporter_rules": self.jmx_rules or self.metrics,
                "metric_names_formats": self.names_formats or "default", "metrics_store": self.metrics_store,
                "client_auth": self.client_auth, "sasl_mechanism": self.sasl_mechanism,
                "prometheus_auth": self.prometheus_auth, "connect_auth": self.connect_auth, "mm2_mode": self.mm2_mode,
                "topology": self.topology, "replication_policy": self.policy.spelled}

    @property
    def policy(self) -> ReplicationPolicy:
        """MM2's replication policy on every flow of this stack."""
        return ReplicationPolicy(self.naming.policy, "" if self.naming.policy == IDENTITY_POLICY
                                 else self.naming.separator)

    @property
    def flows(self) -> tuple[Flow, ...]:
        """MM2's flows in this topology, the default flow (``source->target``) first, each with the stack's policy,
        ``topics`` and MirrorSourceConnector (none in dedicated mode: its connectors are MirrorMaker's own)."""
        out = []
        for source, target in TOPOLOGIES[self.topology]:
            connector = ("" if self.mm2_mode == "dedicated"
                         else self.flow_naming(source, target).connector_name("MirrorSourceConnector"))
            out.append(Flow(source, target, self.policy, connector, self.topics_regex, "",
                            connection_id(source), connection_id(target)))
        return tuple(out)

    def flow_naming(self, source: str, target: str) -> TopicNaming:
        """The topic naming of the flow ``source->target``: the stack's, with that flow's aliases."""
        return replace(self.naming, source_alias=source, target_alias=target)

    @property
    def clusters(self) -> tuple[str, ...]:
        """The Kafka clusters of this topology (their aliases, which are also their part names), in start order."""
        used = {alias for flow in TOPOLOGIES[self.topology] for alias in flow}
        return tuple(c for c in ALL_CLUSTERS if c in used)

    @property
    def flow_targets(self) -> tuple[str, ...]:
        """The clusters some flow writes to, in start order."""
        return tuple(c for c in self.clusters if any(t == c for _s, t in TOPOLOGIES[self.topology]))

    @property
    def cluster_connections(self) -> dict[str, str]:
        """Each cluster alias's Airflow connection in the env file (the ``flows``' ``cluster_connections``)."""
        return {alias: connection_id(alias) for alias in self.clusters}

    @property
    def kafka_protocol(self) -> str:
        """The clients' ``security.protocol``: ``SASL_SSL`` or ``SSL`` (mTLS)."""
        return "SSL" if self.client_auth == "mtls" else "SASL_SSL"

    @property
    def prometheus_scheme(self) -> str:
        return "https" if self.prometheus_auth == "basic" else "http"

    @property
    def connect_scheme(self) -> str:
        return "https" if self.connect_auth == "basic" else "http"

    def client_cert(self, user: str) -> Path:
        """The PEM certificate of ``user``'s client certificate (mTLS)."""
        return self.certs_dir / f"{user}.pem"

    def client_key(self, user: str) -> Path:
        """The PEM private key of ``user`` (mTLS; ``smoke``'s is encrypted with the ``smoke-key`` secret)."""
        return self.certs_dir / f"{user}-key.pem"

    def client_keystore(self, user: str) -> Path:
        """Key + certificate chain of ``user`` in one PEM file, for Java clients' ``ssl.keystore.type=PEM``."""
        return self.certs_dir / f"{user}-keystore.pem"

    @property
    def parts(self) -> tuple[str, ...]:
        """The processes of this stack, in start order."""
        return (*self.clusters, "connect", self.metrics_store)

    # --- folders -------------------------------------------------------------------------------
    @property
    def jars_dir(self) -> Path:
        """Maven jars of this Kafka version, kept across stacks (the cache that makes the second ``up`` offline)."""
        return self.root / "jars" / self.kafka_version

    @property
    def run_dir(self) -> Path:
        """Everything of one stack instance; wiped by a fresh ``up``."""
        return self.root / "run"

    @property
    def logs_dir(self) -> Path:
        return self.run_dir / "logs"

    @property
    def certs_dir(self) -> Path:
        return self.run_dir / "certs"

    @property
    def pids_dir(self) -> Path:
        return self.run_dir / "pids"

    @property
    def ca_file(self) -> Path:
        return self.certs_dir / "ca.pem"

    @property
    def env_file(self) -> Path:
        """The dotenv file with the Airflow connections of this stack."""
        return self.root / "airflow.env"

    @property
    def secrets_file(self) -> Path:
        return self.run_dir / "secrets.json"

    @property
    def classpath(self) -> str:
        return str(self.jars_dir / "*")

    def broker_port(self, cluster: str) -> int:
        """The port of ``cluster``'s broker listener (SASL_SSL or SSL)."""
        return getattr(self.ports, f"{cluster}_broker")

    def controller_port(self, cluster: str) -> int:
        """The port of ``cluster``'s KRaft controller listener."""
        return getattr(self.ports, f"{cluster}_controller")

    def bootstrap(self, cluster: str) -> str:
        return f"127.0.0.1:{self.broker_port(cluster)}"


def _with_policy(naming: TopicNaming, text: str) -> TopicNaming:
    """``naming`` under the replication policy ``text`` (MM2_STACK_REPLICATION_POLICY): its kind, and the default
    policy's separator (identity keeps ``naming``'s: MM2 still names heartbeats and internal topics with it).

    :raises StackError: a policy MM2 does not have, or a separator Kafka refuses in a topic name, naming the knob.
    """
    try:
        policy = ReplicationPolicy.parse(text)
        return replace(naming, policy=policy.kind, separator=policy.separator or naming.separator)
    except SettingsError as exc:
        raise StackError("config", f"MM2_STACK_REPLICATION_POLICY={text!r}: {exc}") from None
    except TopicNameError:
        raise StackError("config", f"MM2_STACK_REPLICATION_POLICY={text!r}: the separator is not usable in a Kafka "
                         "topic name: use 1 to 249 of the characters a-z A-Z 0-9 . _ - (e.g. default:_)") from None


def stack_queries(config: StackConfig, flow: Flow | None = None) -> Queries:
    """The smoke test's PromQL for this stack's metric profile (the runbook's with rules of the user's), for
    ``flow``'s remote topic (default: the default flow's)."""
    profile = config.profile if config.profile != "auto" else "runbook"
    flow = flow or config.flows[0]
    naming = config.flow_naming(flow.source, flow.target)
    return SmokeSettings(metric_profile=profile, source_alias=naming.source_alias, target_alias=naming.target_alias,
                         replication_separator=naming.separator, replication_policy=naming.policy).queries


def new_passwords() -> dict[str, str]:
    """Fresh random passwords, one per user and one per other secret (:data:`OTHER_SECRETS`), for a fresh stack."""
    return {name: secrets.token_urlsafe(18) for name in (*USERS, *OTHER_SECRETS)}


def save_passwords(config: StackConfig, passwords: dict[str, str]) -> None:
    config.secrets_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(config.secrets_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(passwords, fh)


def load_passwords(config: StackConfig) -> dict[str, str]:
    try:
        return json.loads(config.secrets_file.read_text())
    except FileNotFoundError:
        raise StackError("config", f"{config.secrets_file} is missing: run `make stack-up` first") from None

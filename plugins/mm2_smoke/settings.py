"""The smoke test's knobs and thresholds: one name, one doc line, one default (the runbook's), one check.

The DAG's trigger-form Params are generated from :data:`SETTINGS`, and :func:`from_params` turns the
Params of a run back into a validated :class:`SmokeSettings`.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from mm2_smoke.errors import InputError, SettingsError
from mm2_smoke.message import MAX_RECORD_SIZE_BYTES
from mm2_smoke.metrics import AUTO, DEFAULT_CONNECTOR_REGEX, PROFILES, Queries, profile
from mm2_smoke.naming import (
    DEFAULT_POLICY,
    DEFAULT_SEPARATOR,
    DEFAULT_SOURCE_ALIAS,
    DEFAULT_TARGET_ALIAS,
    DEFAULT_TOPIC_PREFIX,
    IDENTITY_POLICY,
    LEGAL_TOPIC_PATTERN,
    TopicNaming,
    check_topic_name_length,
)

__all__ = ["SETTINGS", "Setting", "SettingsError", "SmokeSettings", "check_value", "cluster_connections",
           "connection_for", "from_params", "param_specs",
           "thresholds_table"]

#: The ``flows`` Param: ``auto`` or flows ``A->B`` separated by commas.
FLOWS_PATTERN = r"^\s*(auto|[A-Za-z0-9._-]+\s*->\s*[A-Za-z0-9._-]+(\s*,\s*[A-Za-z0-9._-]+\s*->\s*[A-Za-z0-9._-]+)*)\s*$"
#: A Param that goes into topic names: Kafka's rule for them.
_TOPIC_NAME: dict[str, Any] = {"pattern": LEGAL_TOPIC_PATTERN, "pattern_doc": "is not usable in a Kafka topic name: "
                               "use 1 to 249 of the characters a-z A-Z 0-9 . _ -"}


@dataclass(frozen=True)
class Setting:
    """Documentation and bounds of one knob.

    :param name: the Param and field name (with its unit suffix).
    :param title: short title for the Airflow trigger form.
    :param doc: one line: what it does, with the unit.
    :param kind: ``integer``, ``number`` or ``string``.
    :param minimum: smallest allowed value (numbers).
    :param maximum: largest allowed value (numbers).
    :param enum: allowed values (strings).
    :param pattern: a regex a string value must match in full (also the Param's JSON schema ``pattern``).
    :param pattern_doc: what a value that does not match is told (default: the pattern and the doc).
    """

    name: str
    title: str
    doc: str
    kind: str
    minimum: float | None = None
    maximum: float | None = None
    enum: tuple[str, ...] | None = None
    pattern: str | None = None
    pattern_doc: str = ""


@dataclass(frozen=True)
class SmokeSettings:
    """Every knob of one smoke-test run; defaults are the runbook's values."""

    # Step 1.1
    num_messages: int = 100
    record_size_bytes: int = 1024
    messages_per_second: float = 10.0
    topic_prefix: str = DEFAULT_TOPIC_PREFIX
    test_topic_missing: str = "create"
    test_topic_partitions: int = 1
    test_topic_replication_factor: int = -1
    # Topic naming on the target
    source_alias: str = DEFAULT_SOURCE_ALIAS
    target_alias: str = DEFAULT_TARGET_ALIAS
    replication_separator: str = DEFAULT_SEPARATOR
    replication_policy: str = AUTO
    # Flows (topologies): which of the chain's flows a run checks, and each cluster alias's Airflow connection
    flows: str = AUTO
    cluster_connections: str = AUTO
    # Step 1.2
    ratio_min_pct: float = 99.0
    write_stall_timeout_s: int = 30
    replication_timeout_s: int = 120
    defer_after_s: float = 15.0
    # Step 1.3
    latency_avg_max_ms: float = 100.0
    latency_max_max_ms: float = 500.0
    lag_max: float = 100.0
    offset_commit_max_ms: float = 1000.0
    lag_growth_min: float = 10.0
    # Step 1.4
    count_timeout_s: int = 60
    missing_tolerance: int = 0
    duplicates_tolerance: int = 0
    # Metrics
    producer_variant: str = "bomber"
    metric_profile: str = AUTO
    metric_max_age_s: float = 120.0
    connector_regex: str = DEFAULT_CONNECTOR_REGEX
    poke_interval_s: float = 2.0
    # Pre-flight
    preflight_mode: str = "fail_fast"
    mm2_mode: str = "connect"
    heartbeat_max_age_s: float = 60.0
    # Diagnostics
    mm2_principal: str = "User:mm2"
    # Failover readiness (after step 1.4, per flow)
    failover_check: str = AUTO
    failover_reread_max: int = -1
    failover_timeout_s: int = 900
    # Deadline (the DAG's DeadlineAlert; its default is the DAG file's MM2_SMOKE_DEADLINE_MINUTES, else this)
    deadline_minutes: float = 10.0

    @property
    def naming(self) -> TopicNaming:
        return TopicNaming(prefix=self.topic_prefix, source_alias=self.source_alias, target_alias=self.target_alias,
                           separator=self.replication_separator, policy=self.replication_policy)

    @property
    def source_connector(self) -> str:
        return self.naming.connector_name("MirrorSourceConnector")

    @property
    def queries(self) -> Queries:
        """The PromQL of every runbook measurement for this run (profile, connector selector, remote topic).

        :raises InputError: while ``metric_profile`` is ``auto``: the pre-flight detects it (:meth:`with_profile`).
        """
        if self.metric_profile == AUTO:
            raise InputError("{field}=auto is not resolved yet: the pre-flight detects the profile from the live "
                             "series (mm2_smoke.preflight)", {"field": "metric_profile"})
        return self.queries_for(self.metric_profile)

    def queries_for(self, profile_name: str) -> Queries:
        """The PromQL of this run with the naming profile ``profile_name``."""
        return Queries(profile(profile_name), remote_topic=self.remote_topic, connector_regex=self.connector_regex)

    def with_profile(self, profile_name: str) -> SmokeSettings:
        """These settings with ``metric_profile`` resolved (what the pre-flight detected)."""
        return replace(self, metric_profile=profile(profile_name).name)

    @property
    def source_topic(self) -> str:
        return self.naming.source_topic(1)

    @property
    def remote_topic(self) -> str:
        return self.naming.remote_topic(self.source_topic)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


SETTINGS: tuple[Setting, ...] = (
    Setting("num_messages", "Messages", "Step 1.1: number of test messages to produce.", "integer", 1, 1_000_000),
    Setting("record_size_bytes", "Record size (bytes)", "Step 1.1: size of each message value, in bytes "
            "(at least 200: the run tag must fit).", "integer", 200, MAX_RECORD_SIZE_BYTES),
    Setting("messages_per_second", "Rate (msg/s)", "Step 1.1: production rate, in messages per second.",
            "number", 0.1, 100_000),
    Setting("topic_prefix", "Topic prefix", "Step 1.1: test topics are <prefix>.generated-data-NN.json.", "string", **_TOPIC_NAME),
    Setting("test_topic_missing", "Test topic missing on source", "Step 1.1: when the test topic does not exist on "
            "source, 'create' it (as the runbook's bomber does; MM2 picks it up within its "
            "refresh.topics.interval.seconds) or 'fail' (the pre-flight stops the run: NOGO).", "string",
            enum=("create", "fail")),
    Setting("test_topic_partitions", "Test topic partitions", "Step 1.1: partitions of the test topic when it is "
            "created.", "integer", 1, 10_000),
    Setting("test_topic_replication_factor", "Test topic replication factor", "Step 1.1: replication factor of the "
            "test topic when it is created (-1: the brokers' default.replication.factor).", "integer", -1, 32_767),
    Setting("source_alias", "Source alias", "MM2 alias of the source cluster: remote topic = <alias><sep><topic>.",
            "string", **_TOPIC_NAME),
    Setting("target_alias", "Target alias", "MM2 alias of the target cluster (connector names: "
            "<source>-><target>.MirrorSourceConnector).", "string", **_TOPIC_NAME),
    Setting("replication_separator", "Replication separator", "MM2 replication.policy.separator (with "
            "replication_policy=auto, the connector's own when Connect REST shows it).", "string", **_TOPIC_NAME),
    Setting("replication_policy", "Replication policy", "How MM2 names the remote topic: 'default' "
            "(<alias><separator><topic>), 'identity' (the topic's own name: IdentityReplicationPolicy) or 'auto' "
            "(read from the MirrorSourceConnector's config by the pre-flight; 'default' when it cannot be read).",
            "string", enum=(AUTO, DEFAULT_POLICY, IDENTITY_POLICY)),
    Setting("flows", "Flows", "The flows this run checks, comma-separated '<source alias>-><target alias>' (e.g. "
            "'A->B,B->A'), or 'auto': every MirrorSourceConnector's flow in Connect REST (the source_alias -> "
            "target_alias flow when Connect REST cannot say).", "string", pattern=FLOWS_PATTERN,
            pattern_doc="is not 'auto' nor a comma-separated list of flows: name each '<source alias>-><target "
            "alias>' (e.g. 'A->B,B->A')"),
    Setting("cluster_connections", "Cluster connections", "Each cluster alias's Airflow Kafka connection, as JSON "
            "(e.g. {\"A\": \"kafka_a\", \"B\": \"kafka_b\"}), or 'auto': source_alias -> kafka_source, "
            "target_alias -> kafka_target, any other alias X -> kafka_X.", "string"),
    Setting("ratio_min_pct", "Min write/poll ratio (%)", "Step 1.2: GO needs write/poll x 100 above this.",
            "number", 0, 100),
    Setting("write_stall_timeout_s", "Write stall timeout (s)", "Step 1.2: NOGO when write_total has not moved "
            "this many seconds after production ended.", "integer", 1, 3600),
    Setting("replication_timeout_s", "Replication timeout (s)", "Step 1.2: longest wait for the counters to reach "
            "the delivered count, in seconds.", "integer", 5, 7200),
    Setting("defer_after_s", "Worker wait before deferring (s)", "Step 1.2: how long the sensor polls in its worker "
            "(MM2 usually replicates a smoke test within seconds) before it defers to the triggerer and frees the "
            "slot; 0 defers at once (the triggerer makes the first check).", "number", 0, 3600),
    Setting("latency_avg_max_ms", "Max avg latency (ms)", "Step 1.3: GO needs avg replication latency below this.",
            "number", 0, 3_600_000),
    Setting("latency_max_max_ms", "Max max latency (ms)", "Step 1.3: GO needs max replication latency below this.",
            "number", 0, 3_600_000),
    Setting("lag_max", "Max lag (records)", "Step 1.3: GO needs active records (lag) below this, and not growing.",
            "number", 0, 1e12),
    Setting("offset_commit_max_ms", "Max offset commit time (ms)", "Step 1.3: GO needs offset commit max time "
            "below this.", "number", 0, 3_600_000),
    Setting("lag_growth_min", "Min lag growth (records)", "Step 1.3: lag is 'growing' (NOGO) when, over the run, it "
            "never went down and rose by at least this many records (a record in flight at a scrape is not a trend).",
            "number", 0, 1e12),
    Setting("count_timeout_s", "Count timeout (s)", "Step 1.4: longest wait for this run's messages on target.",
            "integer", 1, 7200),
    Setting("missing_tolerance", "Missing tolerance", "Step 1.4: messages that may be missing on target and still "
            "GO (0 = exact).", "integer", 0, 1_000_000),
    Setting("duplicates_tolerance", "Duplicates tolerance", "Step 1.4: sequence numbers of this run that may be on "
            "target more than once and still GO (0 = none; above it is NOGO, naming them).", "integer", 0, 1_000_000),
    Setting("producer_variant", "Producer (variant)", "Step 1.1: 'bomber' (variant A, tagged messages) or "
            "'perf-test' (variant B, Kafka's kafka-producer-perf-test; needs KAFKA_TOOLS_CLASSPATH).", "string",
            enum=("bomber", "perf-test")),
    Setting("metric_profile", "Metric naming profile", "Which exporter's metric names to read: 'auto' (detected "
            "before producing, from the series that exist now), 'runbook' (the runbook's PromQL, our exporter rules), "
            "'strimzi' (Strimzi's published rules) or 'kafka-new' (Kafka 4.3 metric.names.formats=new).",
            "string", enum=(AUTO, *PROFILES)),
    Setting("metric_max_age_s", "Max metric age (s)", "A series whose newest sample is older than this, in seconds, "
            "is stale: not evidence (the pre-flight's contract and every check).", "number", 1, 86_400),
    Setting("connector_regex", "Connector selector", "Regex of the MirrorSourceConnector's `connector` label.",
            "string"),
    Setting("poke_interval_s", "Poke interval (s)", "How often sensors query Prometheus, in seconds.",
            "number", 0.2, 300),
    Setting("preflight_mode", "Pre-flight", "Before producing: 'fail_fast' ends the run at once on a certain fault "
            "(metrics missing, MM2 connector absent, paused or failed, test topic filtered out, scrape down), 'warn' "
            "reports it and runs the runbook anyway, 'off' skips the chain checks.", "string",
            enum=("fail_fast", "warn", "off")),
    Setting("mm2_mode", "MM2 deployment", "'connect': MM2's connectors on a Kafka Connect cluster, whose REST API "
            "(connection kafka_connect) the pre-flight and diagnostics read; 'dedicated': connect-mirror-maker "
            "(no public REST API): connector and task state come from the exported status series, and "
            "kafka_connect is not used.", "string", enum=("connect", "dedicated")),
    Setting("heartbeat_max_age_s", "Max heartbeat age (s)", "When MM2's metrics are all silent, a newest record on "
            "the target's heartbeats topic older than this, in seconds, says MM2 is not running (it emits one every "
            "emit.heartbeats.interval.seconds; the smoke user needs DESCRIBE on that topic).", "number", 5, 86_400),
    Setting("mm2_principal", "MM2 principal", "Kafka principal of MM2 on both clusters (diagnostics check its ACLs "
            "and quotas), e.g. User:mm2.", "string"),
    Setting("failover_check", "Failover readiness", "After step 1.4, per flow: could the smoke test's consumer group "
            "switch to the target now (MM2's checkpoints, the translated offsets rehearsed, heartbeats)? 'auto' checks "
            "the flows that have a MirrorCheckpointConnector, 'on' every flow, 'off' none (the report is then exactly "
            "Phase 1's). Its READY / NOT READY / UNKNOWN never changes the Phase 1 verdict; default "
            "MM2_SMOKE_FAILOVER_CHECK, else auto.", "string", enum=(AUTO, "on", "off")),
    Setting("failover_reread_max", "Failover: max re-read", "Most of this run's messages a consumer switched to the "
            "target may read again and still be READY; -1 takes the flow's offset.lag.max (MM2 translates to an "
            "offset sync at or before the committed offset: by design it may re-read up to that many).", "integer",
            -1, 1_000_000),
    Setting("failover_timeout_s", "Failover: max wait (s)", "Upper bound of the wait for a checkpoint of this run's "
            "commit, in seconds; the wait itself is computed from the chain's emit.checkpoints.interval.seconds and "
            "sync.group.offsets.interval.seconds (plus refresh.groups.interval.seconds while MM2 has not learnt the "
            "group), with a margin.", "integer", 5, 7200),
    Setting("deadline_minutes", "Deadline (min)", "A run still not finished this many minutes after it was queued "
            "alerts (the alert_webhook connection, else the log); default MM2_SMOKE_DEADLINE_MINUTES, else 10.",
            "number", 0.1, 1440),
)

_BY_NAME = {s.name: s for s in SETTINGS}
#: The keys a flow's settings carry beyond the Params (the pre-flight adds them; ``from_params`` ignores them): the
#: flow's name and its clusters' Airflow connections.
FLOW_KEY, SOURCE_CONN_KEY, TARGET_CONN_KEY = "flow", "source_conn", "target_conn"
assert set(_BY_NAME) == {f.name for f in fields(SmokeSettings)}, "every setting is documented once"

#: Not a Param: the resolved settings' key saying the pre-flight created the test topic for this run (step 1.1
#: carries it to step 1.2, which then counts that topic's record_count from 0; ``from_params`` ignores it).
TOPIC_NEW_KEY = "test_topic_new"


def check_value(setting: Setting, value: Any) -> Any:
    """``value`` converted to the setting's kind and checked against its bounds, choices and pattern.

    :raises SettingsError: naming the setting (``exc.field``) and what is wrong.
    """
    name = {"name": setting.name}
    if setting.kind in ("integer", "number"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            try:
                value = float(value) if setting.kind == "number" else int(str(value))
            except (TypeError, ValueError):
                raise SettingsError("{name}={value!r} is not {article} {kind}: {doc}", name, value=value,
                                    article="an" if setting.kind == "integer" else "a", kind=setting.kind,
                                    doc=setting.doc) from None
        if isinstance(value, float) and not math.isfinite(value):
            raise SettingsError("{name}={value!r} must be a finite number", name, value=value)
        if setting.kind == "integer":
            if value != int(value):
                raise SettingsError("{name}={value!r} must be a whole number", name, value=value)
            value = int(value)
        else:
            value = float(value)
        if setting.minimum is not None and value < setting.minimum:
            raise SettingsError("{name}={value!r} is below the minimum {limit:g}: {doc}", name, value=value,
                                limit=setting.minimum, doc=setting.doc)
        if setting.maximum is not None and value > setting.maximum:
            raise SettingsError("{name}={value!r} is above the maximum {limit:g}: {doc}", name, value=value,
                                limit=setting.maximum, doc=setting.doc)
        return value
    if not isinstance(value, str) or not value:
        raise SettingsError("{name}={value!r} must be a non-empty string: {doc}", name, value=value, doc=setting.doc)
    if setting.enum and value not in setting.enum:
        raise SettingsError("{name}={value!r} is not one of {allowed}", name, value=value,
                            allowed=", ".join(setting.enum))
    if setting.pattern and not re.fullmatch(setting.pattern.removeprefix("^").removesuffix("$"), value):
        raise SettingsError("{name}={value!r} {problem}", name, value=value,
                            problem=setting.pattern_doc or f"does not match {setting.pattern}: {setting.doc}")
    return value


def from_params(params: dict[str, Any]) -> SmokeSettings:
    """Validate a run's Params (unknown keys are ignored) into :class:`SmokeSettings`.

    :raises SettingsError: naming the first invalid setting and what to do.
    """
    values = {name: check_value(setting, params[name]) for name, setting in _BY_NAME.items() if name in params}
    settings = SmokeSettings(**values)
    cluster_connections(settings)  # refuses JSON that is not an alias -> connection id object
    check_topic_name_length(settings.topic_prefix, settings.source_alias, settings.replication_separator,
                            settings.replication_policy)
    if settings.latency_avg_max_ms > settings.latency_max_max_ms:
        raise SettingsError("{name}={avg:g} is above latency_max_max_ms={max:g}: the average threshold must not "
                            "exceed the max threshold", {"name": "latency_avg_max_ms"},
                            avg=settings.latency_avg_max_ms, max=settings.latency_max_max_ms)
    return settings


def cluster_connections(settings: SmokeSettings) -> dict[str, str]:
    """The ``cluster_connections`` Param as alias -> Airflow connection id ({} for ``auto``: see
    :func:`connection_for`).

    :raises SettingsError: not a JSON object of non-empty strings, naming the Param and the fix.
    """
    import json

    raw = settings.cluster_connections.strip()
    if raw == AUTO:
        return {}
    try:
        mapping = json.loads(raw)
    except ValueError:
        mapping = None
    if not isinstance(mapping, dict) or not mapping or not all(
            isinstance(k, str) and k and isinstance(v, str) and v for k, v in mapping.items()):
        raise SettingsError("{name}={value!r} is not a JSON object mapping each cluster alias to an Airflow Kafka "
                            "connection id: write e.g. {{\"A\": \"kafka_a\", \"B\": \"kafka_b\"}}, or 'auto'",
                            {"name": "cluster_connections"}, value=raw)
    return mapping


def connection_for(settings: SmokeSettings, alias: str) -> str:
    """The Airflow connection of cluster ``alias``: the ``cluster_connections`` Param's mapping when it is one ('' for
    an alias it does not map: refused by the pre-flight); with ``auto``, ``kafka_source`` for ``source_alias``,
    ``kafka_target`` for ``target_alias``, ``kafka_<alias>`` for any other."""
    mapping = cluster_connections(settings)
    if mapping:
        return mapping.get(alias, "")
    if alias == settings.source_alias:
        return "kafka_source"
    if alias == settings.target_alias:
        return "kafka_target"
    return f"kafka_{alias}"


def param_schema(setting: Setting, default: Any) -> dict[str, Any]:
    """JSON schema of one setting for an Airflow ``Param``."""
    schema: dict[str, Any] = {"type": setting.kind, "title": setting.title, "description": setting.doc}
    if setting.minimum is not None:
        schema["minimum"] = setting.minimum
    if setting.maximum is not None:
        schema["maximum"] = setting.maximum
    if setting.enum:
        schema["enum"] = list(setting.enum)
    if setting.pattern:
        schema["pattern"] = setting.pattern
    return schema


def param_specs() -> dict[str, tuple[Any, dict[str, Any]]]:
    """(default, JSON schema) of every setting, for the DAG's Params."""
    defaults = SmokeSettings()
    return {s.name: (getattr(defaults, s.name), param_schema(s, getattr(defaults, s.name))) for s in SETTINGS}


#: The limits that are not a check's GO rule but bound a step (its NOGO or its wait) or the run; listed with the GO
#: rules in :func:`thresholds_table`.
LIMITS = ("write_stall_timeout_s", "replication_timeout_s", "count_timeout_s", "deadline_minutes")
_UNITS = (("_ms", "ms"), ("_s", "s"), ("_minutes", "min"), ("_pct", "%"))


def _step_of(setting: Setting) -> str:
    """The runbook step a setting's doc names (``Step 1.2: ...``), else ``run``."""
    found = re.match(r"Step (\d\.\d): ", setting.doc)
    return found.group(1) if found else "run"


def _with_unit(name: str, value: Any) -> str:
    unit = next((u for suffix, u in _UNITS if name.endswith(suffix)), "")
    shown = f"{value:g}" if isinstance(value, float) else str(value)
    return f"{shown} {unit}" if unit else shown


def thresholds_table(defaults: SmokeSettings | None = None) -> str:
    """Every GO rule that has a Param (``registry.CHECKS``' ``go_rule`` and ``setting``) and every limit of
    :data:`LIMITS`, with the Params' defaults, as a Markdown table: the DAG's doc renders it, so that the doc says
    what the trigger form's defaults are.

    :param defaults: the settings whose values are shown (default: :class:`SmokeSettings`' own; the DAG passes its
        Params' defaults where they differ, e.g. ``deadline_minutes`` from its environment).
    """
    from mm2_smoke.registry import CHECKS

    values = defaults or SmokeSettings()
    rows = [(check.step, check.title, f"GO: {check.threshold(values, delivered='the delivered count')}", check.setting)
            for check in CHECKS if check.setting is not None]
    for name in LIMITS:
        step = _step_of(_BY_NAME[name])
        doc = _BY_NAME[name].doc.removeprefix(f"Step {step}: ")
        rows.append((step, _BY_NAME[name].title, f"{_with_unit(name, getattr(values, name))}: {doc}", name))
    lines = ["| step | check or limit | rule (default) | Param |", "|---|---|---|---|"]
    for step, title, rule, name in sorted(rows, key=lambda row: row[0]):  # steps in order, the run's last
        lines.append(f"| {step} | {_cell(title)} | {_cell(rule)} | `{name}` |")
    return "\n".join(lines)


def _cell(text: str) -> str:
    """``text`` as one Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")

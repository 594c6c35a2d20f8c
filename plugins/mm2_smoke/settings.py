"""The smoke test's knobs and thresholds: one name, one doc line, one default (the runbook's), one check.

The DAG's trigger-form Params are generated from :data:`SETTINGS`, and :func:`from_params` turns the
Params of a run back into a validated :class:`SmokeSettings`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from mm2_smoke.metrics import PROFILES
from mm2_smoke.naming import TopicNaming

#: Largest record the smoke test will produce; Kafka's default ``message.max.bytes`` is 1 MiB.
MAX_RECORD_SIZE_BYTES = 1_000_000


class SettingsError(ValueError):
    """A smoke-test setting with an invalid value; the message names the setting and the fix."""


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
    """

    name: str
    title: str
    doc: str
    kind: str
    minimum: float | None = None
    maximum: float | None = None
    enum: tuple[str, ...] | None = None


@dataclass(frozen=True)
class SmokeSettings:
    """Every knob of one smoke-test run; defaults are the runbook's values."""

    # Step 1.1
    num_messages: int = 100
    record_size_bytes: int = 1024
    messages_per_second: float = 10.0
    topic_prefix: str = "test-prometheus"
    # Topic naming on the target
    source_alias: str = "source"
    target_alias: str = "target"
    replication_separator: str = "."
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
    latency_window_s: int = 15
    # Step 1.4
    count_timeout_s: int = 60
    missing_tolerance: int = 0
    # Metrics
    producer_variant: str = "bomber"
    metric_profile: str = "runbook"
    connector_regex: str = ".*MirrorSourceConnector.*"
    poke_interval_s: float = 2.0
    # Diagnostics
    mm2_principal: str = "User:mm2"

    @property
    def naming(self) -> TopicNaming:
        return TopicNaming(prefix=self.topic_prefix, source_alias=self.source_alias, target_alias=self.target_alias,
                           separator=self.replication_separator)

    @property
    def source_connector(self) -> str:
        return self.naming.connector_name("MirrorSourceConnector")

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
    Setting("topic_prefix", "Topic prefix", "Step 1.1: test topics are <prefix>.generated-data-NN.json.", "string"),
    Setting("source_alias", "Source alias", "MM2 alias of the source cluster: remote topic = <alias><sep><topic>.",
            "string"),
    Setting("target_alias", "Target alias", "MM2 alias of the target cluster (connector names: "
            "<source>-><target>.MirrorSourceConnector).", "string"),
    Setting("replication_separator", "Replication separator", "MM2 replication.policy.separator.", "string"),
    Setting("ratio_min_pct", "Min write/poll ratio (%)", "Step 1.2: GO needs write/poll x 100 above this.",
            "number", 0, 100),
    Setting("write_stall_timeout_s", "Write stall timeout (s)", "Step 1.2: NOGO when write_total has not moved "
            "this many seconds after production ended.", "integer", 1, 3600),
    Setting("replication_timeout_s", "Replication timeout (s)", "Step 1.2: longest wait for the counters to reach "
            "the delivered count, in seconds.", "integer", 5, 7200),
    Setting("defer_after_s", "Worker wait before deferring (s)", "Step 1.2: how long the sensor polls in its worker "
            "(MM2 usually replicates a smoke test within seconds) before it defers to the triggerer and frees the "
            "slot; 0 defers after the first check.", "number", 0, 3600),
    Setting("latency_avg_max_ms", "Max avg latency (ms)", "Step 1.3: GO needs avg replication latency below this.",
            "number", 0, 3_600_000),
    Setting("latency_max_max_ms", "Max max latency (ms)", "Step 1.3: GO needs max replication latency below this.",
            "number", 0, 3_600_000),
    Setting("lag_max", "Max lag (records)", "Step 1.3: GO needs active records (lag) below this, and not growing.",
            "number", 0, 1e12),
    Setting("offset_commit_max_ms", "Max offset commit time (ms)", "Step 1.3: GO needs offset commit max time "
            "below this.", "number", 0, 3_600_000),
    Setting("latency_window_s", "Latency window (s)", "Step 1.3: window over which lag must not grow, in seconds.",
            "integer", 0, 3600),
    Setting("count_timeout_s", "Count timeout (s)", "Step 1.4: longest wait for this run's messages on target.",
            "integer", 1, 7200),
    Setting("missing_tolerance", "Missing tolerance", "Step 1.4: messages that may be missing on target and still "
            "GO (0 = exact).", "integer", 0, 1_000_000),
    Setting("producer_variant", "Producer (variant)", "Step 1.1: 'bomber' (variant A, tagged messages) or "
            "'perf-test' (variant B, Kafka's kafka-producer-perf-test; needs KAFKA_TOOLS_CLASSPATH).", "string",
            enum=("bomber", "perf-test")),
    Setting("metric_profile", "Metric naming profile", "Metric names: 'runbook' (the runbook's PromQL) or 'strimzi'.",
            "string", enum=tuple(sorted(PROFILES))),
    Setting("connector_regex", "Connector selector", "Regex of the MirrorSourceConnector's `connector` label.",
            "string"),
    Setting("poke_interval_s", "Poke interval (s)", "How often sensors query Prometheus, in seconds.",
            "number", 0.2, 300),
    Setting("mm2_principal", "MM2 principal", "Kafka principal of MM2 on target (diagnostics check its ACLs "
            "and quotas), e.g. User:mm2.", "string"),
)

_BY_NAME = {s.name: s for s in SETTINGS}
assert set(_BY_NAME) == {f.name for f in fields(SmokeSettings)}, "every setting is documented once"


def _check(setting: Setting, value: Any) -> Any:
    name = setting.name
    if setting.kind in ("integer", "number"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            try:
                value = float(value) if setting.kind == "number" else int(str(value))
            except (TypeError, ValueError):
                article = "an" if setting.kind == "integer" else "a"
                raise SettingsError(f"{name}={value!r} is not {article} {setting.kind}: {setting.doc}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise SettingsError(f"{name}={value!r} must be a finite number")
        if setting.kind == "integer":
            if value != int(value):
                raise SettingsError(f"{name}={value!r} must be a whole number")
            value = int(value)
        else:
            value = float(value)
        if setting.minimum is not None and value < setting.minimum:
            raise SettingsError(f"{name}={value!r} is below the minimum {setting.minimum:g}: {setting.doc}")
        if setting.maximum is not None and value > setting.maximum:
            raise SettingsError(f"{name}={value!r} is above the maximum {setting.maximum:g}: {setting.doc}")
        return value
    if not isinstance(value, str) or not value:
        raise SettingsError(f"{name}={value!r} must be a non-empty string: {setting.doc}")
    if setting.enum and value not in setting.enum:
        raise SettingsError(f"{name}={value!r} is not one of {', '.join(setting.enum)}")
    return value


def from_params(params: dict[str, Any]) -> SmokeSettings:
    """Validate a run's Params (unknown keys are ignored) into :class:`SmokeSettings`.

    :raises SettingsError: naming the first invalid setting and what to do.
    """
    values = {name: _check(setting, params[name]) for name, setting in _BY_NAME.items() if name in params}
    settings = SmokeSettings(**values)
    try:
        settings.naming  # noqa: B018 - validates prefix, alias and separator together
    except ValueError as exc:
        # Name the Param, not TopicNaming's field.
        text = str(exc)
        for field, param in (("prefix=", "topic_prefix="), ("separator=", "replication_separator=")):
            if text.startswith(field):
                text = param + text[len(field):]
        raise SettingsError(text) from None
    if settings.latency_avg_max_ms > settings.latency_max_max_ms:
        raise SettingsError(
            f"latency_avg_max_ms={settings.latency_avg_max_ms:g} is above latency_max_max_ms="
            f"{settings.latency_max_max_ms:g}: the average threshold must not exceed the max threshold"
        )
    return settings


def param_schema(setting: Setting, default: Any) -> dict[str, Any]:
    """JSON schema of one setting for an Airflow ``Param``."""
    schema: dict[str, Any] = {"type": setting.kind, "title": setting.title, "description": setting.doc}
    if setting.minimum is not None:
        schema["minimum"] = setting.minimum
    if setting.maximum is not None:
        schema["maximum"] = setting.maximum
    if setting.enum:
        schema["enum"] = list(setting.enum)
    if setting.kind == "string" and setting.name in ("topic_prefix", "source_alias", "target_alias",
                                                     "replication_separator"):
        schema["pattern"] = "^[a-zA-Z0-9._-]{1,249}$"
    return schema


def param_specs() -> dict[str, tuple[Any, dict[str, Any]]]:
    """(default, JSON schema) of every setting, for the DAG's Params."""
    defaults = SmokeSettings()
    return {s.name: (getattr(defaults, s.name), param_schema(s, getattr(defaults, s.name))) for s in SETTINGS}

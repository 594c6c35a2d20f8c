"""The metric catalog: MM2's Prometheus metric names and every PromQL expression the project runs or ships.

Metric names are configuration. The default profile, ``runbook``, is what the runbook's PromQL uses
(and what ``include/prometheus/jmx-exporter-mm2.yaml`` exports); ``strimzi`` is what Strimzi's
exporter rules produce for the same MBeans. The DAG's checks, the Grafana dashboards
(:mod:`mm2_smoke.dashboards`) and the Prometheus alert rules (:mod:`mm2_smoke.alert_rules`) take every
expression from :class:`Queries`: none of them writes a metric name, a label selector or a PromQL shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mm2_smoke.errors import UnknownProfileError

#: The runbook's selector of MirrorSourceConnector task metrics.
DEFAULT_CONNECTOR_REGEX = ".*MirrorSourceConnector.*"

#: PromQL label match operators.
MatchOp = Literal["=", "!=", "=~", "!~"]
#: PromQL aggregation operators the catalog uses.
Aggregation = Literal["sum", "max", "count"]


# --- PromQL building blocks: the only place that writes PromQL syntax --------------------------------------
def _label_value(value: str) -> str:
    """Quote a PromQL label value (backslashes and double quotes escaped)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def number(value: float) -> str:
    """A threshold as PromQL (and people) read it: ``99`` for 99.0, ``99.5`` for 99.5, never rounded.

    :param value: the number.
    """
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def duration(seconds: int) -> str:
    """A Prometheus duration in its largest whole unit: 120 -> ``2m``, 30 -> ``30s``, 3600 -> ``1h``.

    :param seconds: the duration in seconds (positive).
    """
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True)
class Match:
    """One label matcher of a series selector.

    :param label: the label name.
    :param op: ``=``, ``!=``, ``=~`` or ``!~``.
    :param value: the label value, or the regex for ``=~`` / ``!~`` (quoted and escaped when rendered).
    """

    label: str
    op: MatchOp
    value: str

    def __str__(self) -> str:
        return f"{self.label}{self.op}{_label_value(self.value)}"


def series(metric: str, *matches: Match) -> str:
    """A series selector: ``metric{label=~"value",...}``.

    :param metric: the metric name.
    :param matches: the label matchers, in order.
    """
    return metric + ("{" + ",".join(str(m) for m in matches) + "}" if matches else "")


def aggregate(op: Aggregation, expr: str, by: str | None = None) -> str:
    """``op(expr)``, or ``op by (label) (expr)`` with ``by``.

    :param op: ``sum``, ``max`` or ``count``.
    :param expr: the expression aggregated.
    :param by: the label kept, or None for one series.
    """
    return f"{op} by ({by}) ({expr})" if by else f"{op}({expr})"


def _over(function: str, selector: str, window_s: int) -> str:
    """``function(selector[window])``: ``rate``, ``increase`` over a range."""
    return f"{function}({selector}[{duration(window_s)}])"


@dataclass(frozen=True)
class Metric:
    """One measurement as an exporter names it: the metric, and the matchers that pick its series.

    :param name: the metric name.
    :param matches: label matchers that select this measurement among the name's series (e.g. Strimzi's rules give
        ``source-record-active-count``, ``-avg`` and ``-max`` one name, told apart by ``_objectname``).
    """

    name: str
    matches: tuple[Match, ...] = ()


@dataclass(frozen=True)
class NamingProfile:
    """The complete naming contract of one exporter configuration: every measurement's metric, its labels, which
    series to aggregate and how.

    :param name: profile name (``runbook``, ``strimzi``, ``kafka-new``).
    :param doc: one line: which exporter rules produce these names.
    :param poll_total: Connect source task counter of records polled from the source (labels ``connector``, ``task``).
    :param write_total: Connect source task counter of records written to the target.
    :param active_count: Connect source task gauge of records polled but not yet acknowledged (lag).
    :param offset_commit_max_time_ms: Connect task gauge, max offset commit time in ms.
    :param mirror_prefix: prefix of the MirrorSourceConnector's per topic-partition metrics (labels ``topic``,
        ``partition``, ``target`` and, from Kafka 4.0, ``source``).
    :param mirror_by_connector: the per-topic metrics also carry ``connector`` and ``task`` (Kafka 4.3's ``new``
        MBeans): they are selected by the connector selector too.
    :param producer_throttle: broker throttle time of the worker's producers (quotas on the target), in ms.
    :param client_label: the label holding a client's id (``client_id``; Strimzi's rules: ``clientid``).
    :param connector_status: Connect state gauge, 1 for the current state in its ``status`` label (per connector in
        the runbook's rules; per task in Strimzi's).
    :param rules_file: our exporter rules that produce these names (``include/prometheus/``), None when we ship none.
    :param checkpoint_prefix: prefix of the MirrorCheckpointConnector's per group/topic-partition metrics
        (``checkpoint_latency_ms_avg``/``_max``: the checkpoint's write delay, labels ``group``, ``topic``,
        ``partition``); the failover check reports them.
    """

    name: str
    doc: str
    poll_total: Metric
    write_total: Metric
    active_count: Metric
    offset_commit_max_time_ms: Metric
    mirror_prefix: str
    mirror_by_connector: bool = False
    producer_throttle: Metric = Metric("kafka_producer_produce_throttle_time_max")
    client_label: str = "client_id"
    connector_status: Metric = Metric("kafka_connect_connector_metrics_status")
    rules_file: str | None = None
    checkpoint_prefix: str = "kafka_connect_mirror_checkpoint_connector_"

    def mirror(self, attribute: str) -> str:
        """Name of a MirrorSourceConnector metric: ``mirror("replication_latency_ms_max")``.

        :param attribute: the MBean attribute in snake case.
        """
        return self.mirror_prefix + attribute


def _task_metrics(infix: str) -> dict[str, Metric]:
    """The Connect task metrics as rules of the ``kafka_connect_<group><infix>_<attribute>`` shape name them."""
    return {"poll_total": Metric(f"kafka_connect_source_task{infix}_source_record_poll_total"),
            "write_total": Metric(f"kafka_connect_source_task{infix}_source_record_write_total"),
            "active_count": Metric(f"kafka_connect_source_task{infix}_source_record_active_count"),
            "offset_commit_max_time_ms": Metric(f"kafka_connect_connector_task{infix}_offset_commit_max_time_ms")}


#: The runbook's names: what its PromQL queries, and what ``include/prometheus/jmx-exporter-mm2.yaml`` exports
#: (Kafka 3.9 to 4.3 with the legacy MirrorMaker metric names).
RUNBOOK = NamingProfile(
    name="runbook", doc="the runbook's names (include/prometheus/jmx-exporter-mm2.yaml)",
    **_task_metrics("_metrics"), mirror_prefix="kafka_connect_mirror_source_connector_",
    rules_file="jmx-exporter-mm2.yaml",
)

#: What Strimzi's published rules (packaging/examples/metrics/kafka-mirror-maker-2-metrics.yaml, 0.49.1 and later)
#: export: no ``_metrics`` infix; ``source-record-active-count``, ``-avg`` and ``-max`` collide in one name and only
#: the ``_objectname`` label jmx_exporter adds tells them apart (the empty alternative keeps rules without the
#: collision); only the producer's throttle *average*, labelled ``clientid``; connector state per task only.
STRIMZI = NamingProfile(
    name="strimzi", doc="the names of Strimzi's published MirrorMaker 2 exporter rules",
    **{**_task_metrics(""),
       "active_count": Metric("kafka_connect_source_task_source_record_active_count",
                              (Match("_objectname", "=~", "|.*><>source-record-active-count"),))},
    mirror_prefix="kafka_connect_mirror_mirrorsourceconnector_",
    producer_throttle=Metric("kafka_producer_produce_throttle_time_avg"), client_label="clientid",
    connector_status=Metric("kafka_connect_connector_status"), rules_file="jmx-exporter-mm2-strimzi.yaml",
    checkpoint_prefix="kafka_connect_mirror_mirrorcheckpointconnector_",
)

#: Kafka 4.3's ``metric.names.formats=new`` (KIP-1280): MirrorMaker's per-topic metrics move to the MBeans
#: ``kafka.connect:type=plugins,connector=…,task=…,source,target,topic,partition``, exported as jmx_exporter's default
#: format names them (``kafka_connect_plugins_<attribute>``); the Connect task metrics keep the runbook's names.
KAFKA_NEW = NamingProfile(
    name="kafka-new", doc="Kafka 4.3 metric.names.formats=new (include/prometheus/jmx-exporter-mm2-kafka-new.yaml)",
    **_task_metrics("_metrics"), mirror_prefix="kafka_connect_plugins_", mirror_by_connector=True,
    rules_file="jmx-exporter-mm2-kafka-new.yaml", checkpoint_prefix="kafka_connect_plugins_",
)

def checkpoint_latency_query(p: NamingProfile, stat: str, group: str, remote_topic: str, window_s: int = 300) -> str:
    """MM2's checkpoint latency (``stat``: ``avg`` or ``max``, ms) for one group and remote topic, its newest value
    within ``window_s`` (the gauge exists only while MM2 checkpoints the group)."""
    name = f"{p.checkpoint_prefix}checkpoint_latency_ms_{stat}"
    return (f"max(last_over_time({name}{{group={_label_value(group)},topic={_label_value(remote_topic)}}}"
            f"[{window_s}s]))")


#: The profiles, in the order auto-detection prefers them.
PROFILES = {p.name: p for p in (RUNBOOK, STRIMZI, KAFKA_NEW)}
#: The ``metric_profile`` value that detects the profile from the live series before producing.
AUTO = "auto"


def profile(name: str) -> NamingProfile:
    """The naming profile called ``name``.

    :param name: ``runbook``, ``strimzi`` or ``kafka-new``.
    :raises UnknownProfileError: naming the profiles there are.
    """
    try:
        return PROFILES[name]
    except KeyError:
        raise UnknownProfileError("metric naming profile {value!r} is unknown: use one of {known}",
                                  {"field": "metric_profile"}, value=name,
                                  known=", ".join([*PROFILES, AUTO])) from None


@dataclass(frozen=True)
class Queries:
    """The PromQL of each runbook measurement, for one profile, connector selector and remote topic.

    Measurements named after the test topic read only ``remote_topic``; those ending in ``_by_topic`` show every
    mirrored topic (dashboards, alert rules).

    :param names: the naming profile.
    :param remote_topic: the test topic as named on the target (MirrorSourceConnector's ``topic`` label).
    :param connector_regex: selector of the MirrorSourceConnector's task metrics (runbook default).
    """

    names: NamingProfile
    remote_topic: str
    connector_regex: str = DEFAULT_CONNECTOR_REGEX

    @property
    def _connector(self) -> Match:
        return Match("connector", "=~", self.connector_regex)

    def _task(self, metric: Metric) -> str:
        """A Connect task metric of the MirrorSourceConnector."""
        return series(metric.name, self._connector, *metric.matches)

    def _mirror(self, attribute: str, *matches: Match) -> str:
        """A MirrorSourceConnector per topic-partition metric (of the connector selected, where it says which)."""
        own = (self._connector,) if self.names.mirror_by_connector else ()
        return series(self.names.mirror(attribute), *own, *matches)

    def _topic(self, attribute: str) -> str:
        """A MirrorSourceConnector metric of the test topic."""
        return self._mirror(attribute, Match("topic", "=", self.remote_topic))

    def contract(self) -> dict[str, str]:
        """The series every run relies on, by measurement name: each must answer with a fresh series before the run
        produces anything (the per-topic one of any mirrored topic: the test topic's appears with its first record)."""
        return {
            "poll_total": self._task(self.names.poll_total),
            "write_total": self._task(self.names.write_total),
            "active_count": self._task(self.names.active_count),
            "offset_commit_max_ms": self._task(self.names.offset_commit_max_time_ms),
            "record_count": self._mirror("record_count"),
        }

    def contract_later(self) -> dict[str, str]:
        """Series the run reads that may rightly be absent before it produces: MirrorMaker's latency gauges read NaN
        until a record is replicated, and a store that drops NaN samples (VictoriaMetrics) has no series then."""
        return {
            "latency_avg_ms": self._mirror("replication_latency_ms_avg"),
            "latency_max_ms": self._mirror("replication_latency_ms_max"),
        }

    def counter_series(self) -> dict[str, str]:
        """The per-series selectors of step 1.2's counters (summed below; read as ranges for reset-safe growth)."""
        return {
            "poll_total": self._task(self.names.poll_total),
            "write_total": self._task(self.names.write_total),
            "topic_record_count": self._topic("record_count"),
        }

    def gauge_series(self) -> dict[str, str]:
        """The per-series selectors of step 1.3's gauges (their newest sample tells how fresh the value is)."""
        return {
            "latency_avg_ms": self._topic("replication_latency_ms_avg"),
            "latency_max_ms": self._topic("replication_latency_ms_max"),
            "active_count": self._task(self.names.active_count),
            "offset_commit_max_ms": self._task(self.names.offset_commit_max_time_ms),
        }

    # Step 1.2 -- the runbook's two queries, verbatim for the default profile.
    @property
    def poll_total(self) -> str:
        """Records MM2's source tasks polled from the source (every mirrored topic)."""
        return aggregate("sum", self.counter_series()["poll_total"])

    @property
    def write_total(self) -> str:
        """Records MM2's source tasks wrote to the target (every mirrored topic)."""
        return aggregate("sum", self.counter_series()["write_total"])

    @property
    def topic_record_count(self) -> str:
        """Records MM2 replicated for the test topic (MirrorSourceConnector ``record-count``)."""
        return aggregate("sum", self.counter_series()["topic_record_count"])

    @property
    def topics_replicated(self) -> str:
        """How many topics MM2 replicates (those with a ``record-count``)."""
        return aggregate("count", aggregate("count", self._mirror("record_count"), by="topic"))

    def replication_ratio_pct(self, window_s: int | None = None) -> str:
        """Write/poll x 100: of the counters since the tasks started, or of their rates over ``window_s``.

        :param window_s: rate window in seconds; None compares the counters themselves.
        """
        if window_s is None:
            return f"100 * {self.write_total} / {self.poll_total}"
        return f"100 * {self.write_rate(window_s)} / {self.poll_rate(window_s)}"

    def poll_rate(self, window_s: int) -> str:
        """Records polled per second over ``window_s`` seconds.

        :param window_s: rate window in seconds.
        """
        return aggregate("sum", _over("rate", self._task(self.names.poll_total), window_s))

    def write_rate(self, window_s: int) -> str:
        """Records written per second over ``window_s`` seconds.

        :param window_s: rate window in seconds.
        """
        return aggregate("sum", _over("rate", self._task(self.names.write_total), window_s))

    # Step 1.3 -- latency baseline.
    @property
    def latency_avg_ms(self) -> str:
        """Average replication latency of the test topic, in ms."""
        return aggregate("max", self.gauge_series()["latency_avg_ms"])

    @property
    def latency_max_ms(self) -> str:
        """Max replication latency of the test topic, in ms."""
        return aggregate("max", self.gauge_series()["latency_max_ms"])

    @property
    def active_count(self) -> str:
        """Records MM2 polled and the target has not acknowledged yet (lag)."""
        return aggregate("sum", self.gauge_series()["active_count"])

    @property
    def offset_commit_max_ms(self) -> str:
        """Max offset commit time of MM2's source tasks, in ms."""
        return aggregate("max", self.gauge_series()["offset_commit_max_ms"])

    @property
    def mm2_producer_throttle_ms(self) -> str:
        """Broker throttle time of MM2's task producers (quotas on the target)."""
        throttle = self.names.producer_throttle
        return aggregate("max", series(throttle.name, Match(self.names.client_label, "=~", self.connector_regex),
                                       *throttle.matches))

    # Every mirrored topic, and per connector (dashboards, alert rules).
    @property
    def latency_avg_ms_by_topic(self) -> str:
        """Average replication latency per mirrored topic, in ms."""
        return aggregate("max", self._mirror("replication_latency_ms_avg"), by="topic")

    @property
    def latency_max_ms_by_topic(self) -> str:
        """Max replication latency per mirrored topic, in ms."""
        return aggregate("max", self._mirror("replication_latency_ms_max"), by="topic")

    @property
    def record_age_ms_by_topic(self) -> str:
        """Age of the records MM2 replicates per mirrored topic, in ms."""
        return aggregate("max", self._mirror("record_age_ms"), by="topic")

    @property
    def byte_rate_by_topic(self) -> str:
        """Bytes per second MM2 replicates per mirrored topic."""
        return aggregate("sum", self._mirror("byte_rate"), by="topic")

    @property
    def record_count_by_topic(self) -> str:
        """Records MM2 replicated per mirrored topic."""
        return aggregate("sum", self._mirror("record_count"), by="topic")

    @property
    def active_count_by_connector(self) -> str:
        """Active records (lag) per connector."""
        return aggregate("sum", self._task(self.names.active_count), by="connector")

    @property
    def offset_commit_max_ms_by_connector(self) -> str:
        """Max offset commit time per connector, in ms."""
        return aggregate("max", self._task(self.names.offset_commit_max_time_ms), by="connector")

    def connector_in_state(self, state: str) -> str:
        """1 when the selected connector's exported ``connector-metrics`` status is ``state`` now (empty otherwise)."""
        status = self.names.connector_status
        return aggregate("max", series(status.name, self._connector, Match("status", "=", state), *status.matches))

    # Alert conditions (mm2_smoke.alert_rules): the runbook's NOGO, with the settings table's thresholds.
    def replication_stalled(self, window_s: int) -> str:
        """The MirrorSourceConnector is not running, or its tasks polled records but wrote none in ``window_s``.

        :param window_s: the window in seconds over which poll grew and write did not.
        """
        status = self.names.connector_status
        not_running = aggregate("max", series(status.name, self._connector, Match("status", "!=", "running"),
                                              *status.matches))
        polled, written = (aggregate("sum", _over("increase", self._task(m), window_s))
                           for m in (self.names.poll_total, self.names.write_total))
        return f"({not_running} > 0)\nor\n({polled} > 0\n and\n {written} == 0)"

    def replication_ratio_below(self, min_pct: float, window_s: int) -> str:
        """Write/poll x 100 of the rates over ``window_s`` is below ``min_pct``.

        :param min_pct: the GO threshold in percent (settings ``ratio_min_pct``).
        :param window_s: rate window in seconds.
        """
        return f"{self.replication_ratio_pct(window_s)} < {number(min_pct)}"

    def latency_max_above(self, max_ms: float) -> str:
        """A mirrored topic's max replication latency is above ``max_ms``.

        :param max_ms: the GO threshold in ms (settings ``latency_max_max_ms``).
        """
        return f"{self.latency_max_ms_by_topic} > {number(max_ms)}"

    def lag_growing(self, lag_max: float, window_s: int, resolution_s: int) -> str:
        """Active records (lag) above ``lag_max`` and their trend over ``window_s`` upwards.

        :param lag_max: the GO threshold in records (settings ``lag_max``).
        :param window_s: the trend's window in seconds.
        :param resolution_s: the trend's subquery resolution in seconds.
        """
        trend = f"deriv({self.active_count}[{duration(window_s)}:{duration(resolution_s)}])"
        return f"{self.active_count} > {number(lag_max)}\nand\n{trend} > 0"

    def all(self) -> dict[str, str]:
        """Every query of the DAG's checks by its measurement name."""
        return {
            "poll_total": self.poll_total,
            "write_total": self.write_total,
            "topic_record_count": self.topic_record_count,
            "topics_replicated": self.topics_replicated,
            "latency_avg_ms": self.latency_avg_ms,
            "latency_max_ms": self.latency_max_ms,
            "active_count": self.active_count,
            "offset_commit_max_ms": self.offset_commit_max_ms,
        }

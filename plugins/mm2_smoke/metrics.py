"""The metric catalog: MM2's Prometheus metric names and the PromQL the smoke test runs.

Metric names are configuration. The default profile, ``runbook``, is what the runbook's PromQL uses
(and what ``include/prometheus/jmx-exporter-mm2.yaml`` exports); ``strimzi`` is what Strimzi's
exporter rules produce for the same MBeans. The DAG, the dashboards and the tests build every query
from here.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The runbook's selector of MirrorSourceConnector task metrics.
DEFAULT_CONNECTOR_REGEX = ".*MirrorSourceConnector.*"


class UnknownProfileError(ValueError):
    """A metric naming profile name that the catalog does not know."""


@dataclass(frozen=True)
class NamingProfile:
    """Names of the MM2 metrics in one exporter configuration.

    :param name: profile name (``runbook`` or ``strimzi``).
    :param poll_total: Connect source task counter of records polled from the source.
    :param write_total: Connect source task counter of records written to the target.
    :param active_count: Connect source task gauge of records polled but not yet acknowledged (lag).
    :param offset_commit_max_time_ms: Connect task gauge, max offset commit time in ms.
    :param producer_throttle_max: max broker throttle time of a producer client, in ms (label ``client_id``).
    :param mirror_prefix: prefix of the MirrorSourceConnector per topic-partition metrics.
    """

    name: str
    poll_total: str
    write_total: str
    active_count: str
    offset_commit_max_time_ms: str
    producer_throttle_max: str = "kafka_producer_produce_throttle_time_max"
    mirror_prefix: str = "kafka_connect_mirror_source_connector_"

    def mirror(self, attribute: str) -> str:
        """Name of a MirrorSourceConnector metric: ``mirror("replication_latency_ms_max")``."""
        return self.mirror_prefix + attribute


RUNBOOK = NamingProfile(
    name="runbook",
    poll_total="kafka_connect_source_task_metrics_source_record_poll_total",
    write_total="kafka_connect_source_task_metrics_source_record_write_total",
    active_count="kafka_connect_source_task_metrics_source_record_active_count",
    offset_commit_max_time_ms="kafka_connect_connector_task_metrics_offset_commit_max_time_ms",
)

STRIMZI = NamingProfile(
    name="strimzi",
    poll_total="kafka_connect_source_task_source_record_poll_total",
    write_total="kafka_connect_source_task_source_record_write_total",
    active_count="kafka_connect_source_task_source_record_active_count",
    offset_commit_max_time_ms="kafka_connect_connector_task_offset_commit_max_time_ms",
    producer_throttle_max="kafka_producer_producer_produce_throttle_time_max",
)

PROFILES = {p.name: p for p in (RUNBOOK, STRIMZI)}


def profile(name: str) -> NamingProfile:
    try:
        return PROFILES[name]
    except KeyError:
        raise UnknownProfileError(
            f"metric naming profile {name!r} is unknown: use one of {', '.join(sorted(PROFILES))}"
        ) from None


def _label_value(value: str) -> str:
    """Quote a PromQL label value (backslashes and double quotes escaped)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class Queries:
    """The PromQL of each runbook measurement, for one profile, connector selector and remote topic.

    :param names: the naming profile.
    :param remote_topic: the test topic as named on the target (MirrorSourceConnector's ``topic`` label).
    :param connector_regex: selector of the MirrorSourceConnector's task metrics (runbook default).
    """

    names: NamingProfile
    remote_topic: str
    connector_regex: str = DEFAULT_CONNECTOR_REGEX

    @property
    def _task(self) -> str:
        return "{connector=~" + _label_value(self.connector_regex) + "}"

    @property
    def _topic(self) -> str:
        return "{topic=" + _label_value(self.remote_topic) + "}"

    def counter_series(self) -> dict[str, str]:
        """The per-series selectors of step 1.2's counters (summed below; read as ranges for reset-safe growth)."""
        return {
            "poll_total": f"{self.names.poll_total}{self._task}",
            "write_total": f"{self.names.write_total}{self._task}",
            "topic_record_count": f"{self.names.mirror('record_count')}{self._topic}",
        }

    # Step 1.2 -- the runbook's two queries, verbatim for the default profile.
    @property
    def poll_total(self) -> str:
        return f"sum({self.counter_series()['poll_total']})"

    @property
    def write_total(self) -> str:
        return f"sum({self.counter_series()['write_total']})"

    @property
    def topic_record_count(self) -> str:
        """Records MM2 replicated for the test topic (MirrorSourceConnector ``record-count``)."""
        return f"sum({self.counter_series()['topic_record_count']})"

    @property
    def topics_replicated(self) -> str:
        return f"count(count by (topic) ({self.names.mirror('record_count')}))"

    # Step 1.3 -- latency baseline.
    @property
    def latency_avg_ms(self) -> str:
        return f"max({self.names.mirror('replication_latency_ms_avg')}{self._topic})"

    @property
    def latency_max_ms(self) -> str:
        return f"max({self.names.mirror('replication_latency_ms_max')}{self._topic})"

    @property
    def active_count(self) -> str:
        return f"sum({self.names.active_count}{self._task})"

    @property
    def offset_commit_max_ms(self) -> str:
        return f"max({self.names.offset_commit_max_time_ms}{self._task})"

    @property
    def mm2_producer_throttle_max_ms(self) -> str:
        """Broker throttle time of MM2's task producers (quotas on the target)."""
        return f"max({self.names.producer_throttle_max}{{client_id=~{_label_value(self.connector_regex)}}})"

    def all(self) -> dict[str, str]:
        """Every query by its measurement name."""
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

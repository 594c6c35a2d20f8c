"""Topic naming of the smoke test: the one place that knows how test topics and remote topics are named.

The runbook produces to ``<prefix>.generated-data-NN.json`` on the source cluster; MirrorMaker 2's
``DefaultReplicationPolicy`` mirrors it to ``<source alias><separator><topic>`` on the target
(``source.test-prometheus.generated-data-01.json``), its ``IdentityReplicationPolicy`` to the same name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mm2_smoke.errors import SettingsError, TopicNameError

__all__ = ["DEFAULT_SEPARATOR", "DEFAULT_SOURCE_ALIAS", "DEFAULT_TARGET_ALIAS", "DEFAULT_TOPIC_PREFIX",
           "LEGAL_TOPIC_PATTERN", "MAX_TOPIC_NAME_LENGTH", "TopicNameError", "TopicNaming", "check_topic_name_length",
           "longest_topic_name"]

DEFAULT_TOPIC_PREFIX = "test-prometheus"
DEFAULT_SOURCE_ALIAS = "source"
DEFAULT_TARGET_ALIAS = "target"
DEFAULT_SEPARATOR = "."
#: MirrorMaker's replication policies, as the smoke test names them.
DEFAULT_POLICY = "default"
IDENTITY_POLICY = "identity"


#: The smoke test's own consumer group of the failover-readiness check, one per DAG and flow: stable across runs, so
#: MM2 learns it once (``refresh.groups.interval.seconds``) and checkpoints it from then on.
FAILOVER_GROUP_PREFIX = "mm2-smoke-failover"


def failover_group(dag_id: str, source_alias: str, target_alias: str) -> str:
    """The failover check's consumer group of the flow ``source_alias -> target_alias`` (on both clusters: the
    source's committed offsets are translated to the target's group of the same name)."""
    return f"{FAILOVER_GROUP_PREFIX}.{dag_id}.{source_alias}.{target_alias}"


def remote_topic_name(policy: str, source_alias: str, separator: str, topic: str) -> str:
    """The name MM2 gives ``topic`` of cluster ``source_alias`` on the target under ``policy``: the topic's own name
    with ``identity``, ``<source alias><separator><topic>`` otherwise."""
    return topic if policy == IDENTITY_POLICY else f"{source_alias}{separator}{topic}"

#: Kafka's own rule for topic names (org.apache.kafka.common.internals.Topic): 1..249 of [a-zA-Z0-9._-].
LEGAL_TOPIC_PATTERN = "^[a-zA-Z0-9._-]{1,249}$"
_LEGAL_TOPIC = re.compile(LEGAL_TOPIC_PATTERN)
#: Kafka's longest topic name (``Topic.MAX_NAME_LENGTH``).
MAX_TOPIC_NAME_LENGTH = 249
#: The highest test topic index (:meth:`TopicNaming.source_topic`): its name is the longest.
_LAST_TOPIC_INDEX = 99


def longest_topic_name(prefix: str, source_alias: str = DEFAULT_SOURCE_ALIAS, separator: str = DEFAULT_SEPARATOR,
                       policy: str = DEFAULT_POLICY) -> str:
    """The longest topic name the smoke test uses with these Params: the remote name of the last test topic,
    ``<source alias><separator><prefix>.generated-data-99.json`` (``identity``: the source topic's own name; any
    other policy, ``auto`` included, as the default one, whose names are the longer)."""
    return remote_topic_name(policy, source_alias, separator, f"{prefix}.generated-data-{_LAST_TOPIC_INDEX:02d}.json")


def check_topic_name_length(prefix: str, source_alias: str = DEFAULT_SOURCE_ALIAS,
                            separator: str = DEFAULT_SEPARATOR, policy: str = DEFAULT_POLICY) -> None:
    """Refuse a ``topic_prefix`` whose topic names would exceed Kafka's :data:`MAX_TOPIC_NAME_LENGTH` characters:
    the topic cannot be created, or MM2 cannot create its remote topic and the run would wait for nothing. Pure;
    the Params' validation calls it with the run's ``topic_prefix``, ``source_alias``, ``replication_separator`` and
    ``replication_policy``.

    :raises SettingsError: naming ``topic_prefix`` (``field``), the name that is too long and the fix (the longest
        prefix these aliases allow, or the ``source_alias`` to shorten when no prefix fits).
    """
    name = longest_topic_name(prefix, source_alias, separator, policy)
    over = len(name) - MAX_TOPIC_NAME_LENGTH
    if over <= 0:
        return
    room = len(prefix) - over
    fix = (f"shorten {{name}} to at most {room} characters" if room >= 1 else
           "shorten source_alias or replication_separator: with them no prefix fits")
    raise SettingsError("{name}={prefix!r} ({length} characters) makes the topic name {topic} {total} characters "
                        f"long, over Kafka's {MAX_TOPIC_NAME_LENGTH}: {fix}", {"name": "topic_prefix"},
                        prefix=prefix, length=len(prefix), topic=name, total=len(name))


@dataclass(frozen=True)
class TopicNaming:
    """How the smoke test names its topics on both clusters.

    :param prefix: topic prefix of the test topics on the source (runbook: ``test-prometheus``).
    :param source_alias: MM2 alias of the source cluster; the remote topic starts with it.
    :param target_alias: MM2 alias of the target cluster (connector names, internal topics).
    :param separator: ``replication.policy.separator`` of MM2 (default ``.``).
    :param policy: MM2's replication policy: ``identity``, or the default one (any other value).
    """

    prefix: str = DEFAULT_TOPIC_PREFIX
    source_alias: str = DEFAULT_SOURCE_ALIAS
    target_alias: str = DEFAULT_TARGET_ALIAS
    separator: str = DEFAULT_SEPARATOR
    policy: str = DEFAULT_POLICY

    def __post_init__(self) -> None:
        for field, value in (
            ("prefix", self.prefix),
            ("source_alias", self.source_alias),
            ("target_alias", self.target_alias),
            ("separator", self.separator),
        ):
            if not _LEGAL_TOPIC.match(value):
                raise TopicNameError("{field}={value!r} is not usable in a Kafka topic name: use 1 to 249 of the "
                                     "characters a-z A-Z 0-9 . _ -", {"field": field}, value=value)

    def source_topic(self, index: int = 1) -> str:
        """Name of the ``index``-th test topic on the source (1-based): ``<prefix>.generated-data-01.json``."""
        if index < 1 or index > 99:
            raise TopicNameError("{field} {value} is out of range: use 1 to 99", {"field": "topic index"}, value=index)
        return f"{self.prefix}.generated-data-{index:02d}.json"

    def remote_topic(self, source_topic: str) -> str:
        """Name MM2's replication policy gives ``source_topic`` on the target."""
        return remote_topic_name(self.policy, self.source_alias, self.separator, source_topic)

    @property
    def remote_prefix(self) -> str:
        """Prefix of every remote test topic on the target (the runbook's ``source.test-prometheus``)."""
        return self.remote_topic(self.prefix)

    @property
    def topics_regex(self) -> str:
        """The MM2 ``topics`` value that mirrors every test topic and nothing else."""
        return re.escape(self.prefix) + r"\..*"

    def connector_name(self, kind: str) -> str:
        """MM2 connector name as MirrorMaker names them: ``source->target.MirrorSourceConnector``."""
        return f"{self.source_alias}->{self.target_alias}.{kind}"

"""The causes as data: the cause ids diagnoses carry, the components of the chain (and around it) a cause can be in,
the classes of failure, and :data:`CAUSES`, one row per component x class with its cause id, fix and score. A new
cause is one row here; :mod:`.base` (which re-exports every name of this module) builds diagnoses from it.

Pure data.
"""

from __future__ import annotations

from dataclasses import dataclass

# Causes (stable ids for tests and alert routing).
WORKER_DOWN = "worker_or_connector_down"
TOPICS_CONFIG = "topics_config"
SOURCE_TOPIC = "source_topic_missing_or_empty"
ACL_ON_TARGET = "acl_on_target"
ACL_ON_SOURCE = "acl_on_source"
MM2_CLUSTER_UNREACHABLE = "mm2_cluster_unreachable"  # MM2's own bootstrap address for a side does not answer
CLUSTER_UNRESPONSIVE = "cluster_unresponsive"  # a cluster does not answer Kafka requests (down, hung, unreachable)
TASK_ERROR = "task_error"
THROTTLING = "throttling_or_quotas"
SLOW_NETWORK = "slow_network"
TOPIC_NOT_CREATED = "topic_not_created"
METRICS = "metrics_unavailable"
DIAGNOSTIC_FAILED = "diagnostic_failed"
NO_CAUSE_FOUND = "no_cause_found"
SMOKE_SETUP = "smoke_test_setup"
#: Duplicates: produced twice on source (a retried produce, a second producer with the run's tag), re-delivered by
#: MM2 (task restart without exactly-once), written into the remote topic on target by someone else, or not told apart.
DUPLICATES_AT_SOURCE = "duplicates_at_source"
DUPLICATES_BY_MM2 = "duplicates_by_mm2"
DUPLICATES_ON_TARGET_WRITER = "duplicates_written_on_target"
DUPLICATES = "duplicates"
#: Causes read from a FAILED task's or connector's trace (:mod:`mm2_smoke.traces`), by the cluster MM2's client talks to.
AUTH_ON_SOURCE = "authentication_on_source"
AUTH_ON_TARGET = "authentication_on_target"
MM2_AUTHENTICATION = "mm2_authentication"  # an authentication error whose client the trace does not name
LIMIT_ON_SOURCE = "limit_on_source"
LIMIT_ON_TARGET = "limit_on_target"  # record too large, policy violation, quota: the target refuses MM2's writes
CLIENT_CONFIG_ON_SOURCE = "client_config_on_source"
CLIENT_CONFIG_ON_TARGET = "client_config_on_target"
#: Failover readiness (never a Phase 1 cause: its diagnoses stay in the report's ``failover`` block).
CHECKPOINTS_DOWN = "checkpoint_connector_down"
CHECKPOINTS_FAILED = "checkpoint_connector_failed"
CHECKPOINTS_DISABLED = "checkpoints_disabled"
GROUP_FILTERED = "group_filtered_out"
GROUP_NOT_LEARNT = "group_not_learnt_yet"
CHECKPOINT_LATE = "checkpoint_late"
OFFSET_SYNCS_MISSING = "offset_syncs_missing"
TRANSLATION_GAP = "translation_gap"
TARGET_GROUP_ACTIVE = "target_group_active"
TARGET_GROUP_AHEAD = "target_group_ahead"
HEARTBEATS_STALE = "heartbeats_stale"
NO_TASKS = "no_tasks"  # the connector runs no task although the test topic passes its filter
WORKER_HUNG = "worker_hung"
CATCHING_UP = "catching_up"

# --- causes as data: components x classes -------------------------------------------------------------------------
# Components: the parts of the chain (and around it) a cause can be in.
SOURCE_CLUSTER, TARGET_CLUSTER = "source_cluster", "target_cluster"
MM2_SOURCE_CLIENT, MM2_TARGET_CLIENT = "mm2_source_client", "mm2_target_client"
CONNECT_WORKER, CONNECTOR = "connect_worker", "connector"
METRICS_STORE, SMOKE_CONFIG, UNATTRIBUTED = "metrics_store", "smoke_config", "unattributed"
CHECKPOINT_CONNECTOR, HEARTBEAT_CONNECTOR = "checkpoint_connector", "heartbeat_connector"
OFFSET_SYNCS, TARGET_GROUP = "offset_syncs", "target_group"
#: component -> (words, whether it is part of the MM2 chain: a fault there means the chain cannot replicate).
COMPONENTS: dict[str, tuple[str, bool]] = {
    SOURCE_CLUSTER: ("the source cluster", True),
    TARGET_CLUSTER: ("the target cluster", True),
    MM2_SOURCE_CLIENT: ("MM2's clients of the source cluster (its consumer, its source admin)", True),
    MM2_TARGET_CLIENT: ("MM2's clients of the target cluster (its producer, its target admin)", True),
    CONNECT_WORKER: ("the Kafka Connect worker running MM2", True),
    CONNECTOR: ("MM2's connector or its tasks", True),
    CHECKPOINT_CONNECTOR: ("MM2's MirrorCheckpointConnector (consumer-group offsets translated to the target)", True),
    HEARTBEAT_CONNECTOR: ("MM2's MirrorHeartbeatConnector (the flow's heartbeats on the target)", True),
    OFFSET_SYNCS: ("MM2's offset syncs (the MirrorSourceConnector's offset-syncs topic)", True),
    TARGET_GROUP: ("the consumer group on the target cluster", False),
    METRICS_STORE: ("the metrics store, its scrape targets and exporter rules", False),
    SMOKE_CONFIG: ("the smoke test's own configuration (Params, Airflow connections)", False),
    UNATTRIBUTED: ("no component (nothing found to blame)", False),
}
# Classes: how a component fails.
DOWN, HUNG, UNRESPONSIVE, UNREACHABLE_ADDRESS = "down", "hung", "unresponsive", "unreachable_address"
AUTHENTICATION, AUTHORIZATION, RESOURCE_LIMIT = "authentication", "authorization", "resource_limit"
MISCONFIGURATION, FAILED, SLOW, DUPLICATED = "misconfiguration", "failed", "slow", "duplicated"
CATCHING_UP_CLASS, NOT_INSPECTED, NOTHING_WRONG = "catching_up", "not_inspected", "none"
LAGGING, IN_USE, NOT_YET, AHEAD = "lagging", "in_use", "not_yet", "ahead"
#: class -> (words, whether it is a fault: a certain diagnosis of a fault class proves something broken).
CLASSES: dict[str, tuple[str, bool]] = {
    DOWN: ("down (refuses connections, or not running)", True),
    HUNG: ("hung (accepts connections, answers nothing in time)", True),
    UNRESPONSIVE: ("does not answer (down, hung or unreachable: not told apart)", True),
    UNREACHABLE_ADDRESS: ("unreachable at the address it is configured with", True),
    AUTHENTICATION: ("authentication refused", True),
    AUTHORIZATION: ("not authorized (ACLs)", True),
    RESOURCE_LIMIT: ("refused by a size, quota or policy limit", True),
    MISCONFIGURATION: ("misconfigured", True),
    FAILED: ("failed with an error of no known class", True),
    SLOW: ("slow (answers late)", False),
    DUPLICATED: ("writes records more than once", False),
    CATCHING_UP_CLASS: ("catching up on a backlog (working, not broken)", False),
    NOT_INSPECTED: ("could not be inspected", False),
    LAGGING: ("behind (what it writes lags what it should say)", True),
    IN_USE: ("in use (active members keep MM2 from writing it)", True),
    NOT_YET: ("not there yet (MM2 learns it at its next refresh)", False),
    AHEAD: ("ahead of where it should be (offsets past the translation)", True),
    NOTHING_WRONG: ("nothing wrong found", False),
}


@dataclass(frozen=True)
class Cause:
    """One row of :data:`CAUSES`: a component failing in a class, the stable id its diagnoses carry, and the fix.

    :param fix: what to do; ``{connector}`` and ``{principal}`` are filled by :func:`diagnosis` ('the connector',
        "MM2's principal" when not given).
    :param score: the score of a diagnosis that proves it (the rule may lower it when its evidence is weaker).
    """

    component: str
    cause_class: str
    cause_id: str
    fix: str
    score: int


_RESTART = "; then restart the failed task (POST /connectors/{connector}/restart?includeTasks=true&onlyFailed=true)"
#: The causes, one row each. A new cause is one row; the first row of a cause id is that id's default component and
#: class (what a diagnosis built without them gets), the first row of a (component, class) pair is what
#: :func:`diagnosis` gives that pair.
CAUSES: tuple[Cause, ...] = (
    Cause(CONNECT_WORKER, DOWN, WORKER_DOWN, "start the Connect worker (its process, service or pod), then check its "
          "log", 95),
    Cause(CONNECT_WORKER, HUNG, WORKER_HUNG, "the worker accepts connections but does not answer: take a thread dump "
          "(jstack), read its log and GC, then restart it", 95),
    Cause(CONNECTOR, DOWN, WORKER_DOWN, "resume, restart or create the connector {connector} "
          "(PUT /connectors/{connector}/resume, POST /connectors/{connector}/restart)", 90),
    Cause(CONNECTOR, FAILED, TASK_ERROR, "read the error in the evidence and the worker log, fix it" + _RESTART, 85),
    Cause(CONNECTOR, MISCONFIGURATION, TASK_ERROR, "fix the connector's configuration the evidence points at (its "
          "converters, transforms...) with PUT /connectors/{connector}/config" + _RESTART, 88),
    Cause(CONNECTOR, MISCONFIGURATION, TOPICS_CONFIG, "check the connector's topics / topics.exclude and that the test "
          "topic exists", 88),
    Cause(CONNECTOR, NOT_INSPECTED, NO_TASKS, "read the worker log for MirrorSourceConnector's errors (its source "
          "admin client lists the source's topics): check MM2's source credentials, its ACLs (DESCRIBE on topics) and "
          "source.cluster.bootstrap.servers", 60),
    Cause(CONNECTOR, AUTHENTICATION, MM2_AUTHENTICATION, "fix the credentials of MM2's clients (the source.cluster.* "
          "and target.cluster.* security settings of {connector}); the worker log names the failing client" + _RESTART,
          88),
    Cause(CONNECTOR, DUPLICATED, DUPLICATES_BY_MM2, "enable exactly-once for MM2's source tasks, or accept "
          "at-least-once delivery after a task restart", 70),
    Cause(CONNECTOR, CATCHING_UP_CLASS, CATCHING_UP, "let MM2 replay its backlog (its record age falls back), then "
          "rerun", 60),
    Cause(MM2_SOURCE_CLIENT, AUTHENTICATION, AUTH_ON_SOURCE, "fix the credentials of MM2's source clients "
          "(source.cluster.sasl.jaas.config, its SASL mechanism or keystore in {connector}'s config) or their user on "
          "the source cluster" + _RESTART, 95),
    Cause(MM2_TARGET_CLIENT, AUTHENTICATION, AUTH_ON_TARGET, "fix the credentials of MM2's target clients "
          "(target.cluster.sasl.jaas.config, its SASL mechanism or keystore in {connector}'s config) or their user on "
          "the target cluster" + _RESTART, 95),
    Cause(MM2_SOURCE_CLIENT, AUTHORIZATION, ACL_ON_SOURCE, "grant {principal} READ and DESCRIBE on the test topic (or "
          "its prefix) on source (WRITE, CREATE and DESCRIBE on mm2-offset-syncs.*.internal when the evidence names "
          "MM2's offset-syncs producer), and remove any DENY" + _RESTART, 90),
    Cause(MM2_TARGET_CLIENT, AUTHORIZATION, ACL_ON_TARGET, "grant {principal} WRITE, CREATE and DESCRIBE on the remote "
          "topics' prefix on target, and remove any DENY" + _RESTART, 92),
    Cause(MM2_SOURCE_CLIENT, RESOURCE_LIMIT, LIMIT_ON_SOURCE, "raise the limit named in the evidence on the source "
          "side (MM2's consumer fetch sizes, the quota of {principal} on source)" + _RESTART, 88),
    Cause(MM2_TARGET_CLIENT, RESOURCE_LIMIT, LIMIT_ON_TARGET, "the target refuses what MM2 writes: raise the limit "
          "named in the evidence (MM2's target.producer.max.request.size, the remote topic's max.message.bytes, the "
          "brokers' message.max.bytes, a quota or a topic policy), or keep such records off the test topic"
          + _RESTART, 90),
    Cause(MM2_SOURCE_CLIENT, MISCONFIGURATION, CLIENT_CONFIG_ON_SOURCE, "fix what the evidence names on the source "
          "side (the topic, MM2's source.cluster.* client settings)" + _RESTART, 88),
    Cause(MM2_TARGET_CLIENT, MISCONFIGURATION, CLIENT_CONFIG_ON_TARGET, "fix what the evidence names on the target "
          "side (the remote topic, MM2's target.cluster.* client settings)" + _RESTART, 88),
    Cause(MM2_TARGET_CLIENT, MISCONFIGURATION, TOPIC_NOT_CREATED, "let MM2 create the remote topic on target "
          "(CREATE on its prefix for {principal}) or create it by hand", 93),
    Cause(MM2_SOURCE_CLIENT, UNREACHABLE_ADDRESS, MM2_CLUSTER_UNREACHABLE, "fix source.cluster.bootstrap.servers of "
          "{connector} (or the network between MM2 and the source cluster); the worker log shows MM2's connection "
          "errors", 88),
    Cause(MM2_TARGET_CLIENT, UNREACHABLE_ADDRESS, MM2_CLUSTER_UNREACHABLE, "fix target.cluster.bootstrap.servers of "
          "{connector} (or the network between MM2 and the target cluster); the worker log shows MM2's connection "
          "errors", 88),
    Cause(MM2_SOURCE_CLIENT, UNRESPONSIVE, MM2_CLUSTER_UNREACHABLE, "MM2's source clients time out: check the source "
          "brokers and the network between MM2 and them" + _RESTART, 85),
    Cause(MM2_TARGET_CLIENT, UNRESPONSIVE, MM2_CLUSTER_UNREACHABLE, "MM2's target clients time out: check the target "
          "brokers and the network between MM2 and them" + _RESTART, 85),
    Cause(SOURCE_CLUSTER, UNRESPONSIVE, CLUSTER_UNRESPONSIVE, "check the source brokers (process, log, GC, disk, "
          "network); MM2 cannot replicate until they answer", 92),
    Cause(TARGET_CLUSTER, UNRESPONSIVE, CLUSTER_UNRESPONSIVE, "check the target brokers (process, log, GC, disk, "
          "network); MM2 cannot replicate until they answer", 92),
    Cause(SOURCE_CLUSTER, HUNG, CLUSTER_UNRESPONSIVE, "the source brokers accept connections but answer nothing: read "
          "their log, GC and disk, take a thread dump, restart them", 92),
    Cause(TARGET_CLUSTER, HUNG, CLUSTER_UNRESPONSIVE, "the target brokers accept connections but answer nothing: read "
          "their log, GC and disk, take a thread dump, restart them", 92),
    Cause(SOURCE_CLUSTER, DOWN, CLUSTER_UNRESPONSIVE, "start the source brokers, then read their log", 92),
    Cause(TARGET_CLUSTER, DOWN, CLUSTER_UNRESPONSIVE, "start the target brokers, then read their log", 92),
    Cause(SOURCE_CLUSTER, MISCONFIGURATION, SOURCE_TOPIC, "create the test topic on source (or let step 1.1 create "
          "it)", 80),
    Cause(TARGET_CLUSTER, RESOURCE_LIMIT, THROTTLING, "raise or remove the quota of {principal} on target "
          "(kafka-configs --entity-type users)", 80),
    Cause(TARGET_CLUSTER, SLOW, SLOW_NETWORK, "check the network between MM2 and the brokers, and the brokers' load",
          60),
    Cause(SOURCE_CLUSTER, DUPLICATED, DUPLICATES_AT_SOURCE, "check the smoke test's producer retries and any other "
          "producer using the run's tag", 70),
    Cause(TARGET_CLUSTER, DUPLICATED, DUPLICATES_ON_TARGET_WRITER, "find who else writes into the remote topic on "
          "target", 70),
    Cause(UNATTRIBUTED, DUPLICATED, DUPLICATES, "see the duplicates' evidence", 50),
    Cause(CHECKPOINT_CONNECTOR, DOWN, CHECKPOINTS_DOWN, "create or resume the flow's MirrorCheckpointConnector "
          "(PUT /connectors/{connector}/resume): without checkpoints no consumer group can switch to the target", 95),
    Cause(CHECKPOINT_CONNECTOR, FAILED, CHECKPOINTS_FAILED, "read the error in the evidence and the worker log, fix it"
          + _RESTART, 90),
    Cause(CHECKPOINT_CONNECTOR, MISCONFIGURATION, CHECKPOINTS_DISABLED, "set emit.checkpoints.enabled=true on "
          "{connector} (PUT /connectors/{connector}/config)", 95),
    Cause(CHECKPOINT_CONNECTOR, MISCONFIGURATION, GROUP_FILTERED, "let the group through {connector}'s groups / "
          "groups.exclude (PUT /connectors/{connector}/config); MM2 learns it within refresh.groups.interval.seconds",
          95),
    Cause(CHECKPOINT_CONNECTOR, NOT_YET, GROUP_NOT_LEARNT, "wait for MM2's next group refresh "
          "(refresh.groups.interval.seconds) and rerun; a group that stays unknown is filtered or not readable (MM2 "
          "needs DESCRIBE on groups on the source)", 40),
    Cause(CHECKPOINT_CONNECTOR, LAGGING, CHECKPOINT_LATE, "read {connector}'s task log and its checkpoint-latency-ms; "
          "check emit.checkpoints.interval.seconds and MM2's READ on the offset-syncs and checkpoints topics", 60),
    Cause(OFFSET_SYNCS, MISCONFIGURATION, OFFSET_SYNCS_MISSING, "let the MirrorSourceConnector write its offset syncs "
          "(its offset-syncs topic on the cluster offset-syncs.topic.location names, CREATE/WRITE/READ for "
          "{principal} there), then rerun", 90),
    Cause(OFFSET_SYNCS, LAGGING, TRANSLATION_GAP, "MM2 translates to its newest offset sync at or before the "
          "commit: lower offset.lag.max on the MirrorSourceConnector (more syncs, less to re-read), or accept the "
          "re-read (failover_reread_max)", 80),
    Cause(TARGET_GROUP, IN_USE, TARGET_GROUP_ACTIVE, "stop the consumers of the group on the target (MM2's group "
          "offset sync writes only to an EMPTY group), or switch them knowingly", 90),
    Cause(TARGET_GROUP, AHEAD, TARGET_GROUP_AHEAD, "reset the group's offsets on the target to the translation "
          "(kafka-consumer-groups --reset-offsets on the target cluster) or delete the group there; MM2 then syncs "
          "it again (a recreated remote topic leaves old, larger offsets behind)", 92),
    Cause(HEARTBEAT_CONNECTOR, DOWN, HEARTBEATS_STALE, "resume or create the flow's MirrorHeartbeatConnector "
          "(PUT /connectors/{connector}/resume)", 90),
    Cause(HEARTBEAT_CONNECTOR, LAGGING, HEARTBEATS_STALE, "the flow's heartbeats stopped arriving on the target: "
          "check the MirrorHeartbeatConnector and MM2's producer to the target (its log)", 75),
    Cause(METRICS_STORE, DOWN, METRICS, "start Prometheus / check the prometheus connection", 96),
    Cause(METRICS_STORE, MISCONFIGURATION, METRICS, "check the JMX exporter rules and the metric_profile Param (auto "
          "detects it)", 70),
    Cause(SMOKE_CONFIG, MISCONFIGURATION, SMOKE_SETUP, "fix the input named in the evidence, then rerun the smoke "
          "test", 99),
    Cause(SMOKE_CONFIG, AUTHENTICATION, SMOKE_SETUP, "fix the credentials of the Airflow connection named in the "
          "evidence, then rerun", 97),
    Cause(UNATTRIBUTED, NOT_INSPECTED, NO_CAUSE_FOUND, "make the parts that could not be inspected reachable (see the "
          "evidence), then rerun", 3),
    Cause(UNATTRIBUTED, NOTHING_WRONG, NO_CAUSE_FOUND, "see the checks' evidence in the report", 1),
    Cause(UNATTRIBUTED, NOT_INSPECTED, DIAGNOSTIC_FAILED, "see the evidence: the diagnostic could not inspect this "
          "part", 20),
)

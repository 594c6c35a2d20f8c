"""Failover readiness, the reading side: what the per-flow check reads of the live chain, handed to
:func:`mm2_smoke.readiness.judge` and :func:`mm2_smoke.diagnosis.failover.readiness_causes`.

The check, per flow, after step 1.4:

1. :func:`read_config`: the flow's MirrorCheckpointConnector (and heartbeat connector) over Connect REST: state,
   intervals, group filters, group sync, the groups its tasks were assigned; ``offset.lag.max`` and the offset-syncs
   topic's location from the flow's MirrorSourceConnector. Nothing is required: in dedicated mode MM2's defaults
   stand (and say so).
2. :func:`commit_half`: the smoke test's own consumer group (:func:`mm2_smoke.naming.failover_group`) reads this
   run's messages on the source and commits after the first half of each partition's share: the other half is
   what a switched consumer must not lose, the first half what it may read again.
3. :func:`read_checkpoints` until MM2 checkpointed that commit (the wait: :meth:`CheckpointConfig.wait_bound_s`,
   in the worker for a few seconds, then in the triggerer).
4. :func:`rehearsal_facts`: this run's messages on the target, the switch rehearsed at each checkpoint's
   translated offset (:func:`mm2_smoke.failover.rehearse`), the group's offsets and state on the target, the age of
   the flow's newest heartbeat.

Kafka clients are imported inside the functions that use them.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from mm2_smoke.failover import Checkpoint, Placed, decode_checkpoint, has_members, internal_topics

log = logging.getLogger(__name__)

MIRROR = "org.apache.kafka.connect.mirror."
#: MM2's defaults for what the check reads of its config (MirrorCheckpointConfig, MirrorSourceConfig).
DEFAULT_GROUPS_EXCLUDE = "console-consumer-.*, connect-.*, __.*"
DEFAULTS = {"emit.checkpoints.enabled": "true", "emit.checkpoints.interval.seconds": "60",
            "sync.group.offsets.enabled": "false", "sync.group.offsets.interval.seconds": "60",
            "refresh.groups.interval.seconds": "600", "groups": ".*", "groups.exclude": DEFAULT_GROUPS_EXCLUDE,
            "offset.lag.max": "100", "offset-syncs.topic.location": "source",
            "emit.heartbeats.interval.seconds": "1", "replication.policy.separator": ".",
            "replication.policy.internal.topic.separator.enabled": "true"}
#: Added to the computed wait: a checkpoint is emitted on the connector's interval, then written and read back.
WAIT_MARGIN_S = 10.0


@dataclass(frozen=True)
class CheckpointConfig:
    """What the check knows of the flow's checkpointing, from Connect REST (MM2's defaults where it could not say).

    :param connector: the flow's MirrorCheckpointConnector ('' when Connect REST shows none for the flow).
    :param state: its state with its tasks' (the worst: FAILED, PAUSED/STOPPED, RUNNING; '' unread).
    :param trace: the first line of a FAILED connector's or task's trace.
    :param assigned_groups: the groups its tasks checkpoint (``task.assigned.groups``); None when unread.
    :param heartbeat_connector: the flow's MirrorHeartbeatConnector ('' none), ``heartbeat_state`` its state.
    :param read_from: ``Connect REST`` or why it was not (dedicated mode, an error): MM2's defaults then stand.
    """

    connector: str = ""
    state: str = ""
    trace: str = ""
    settings: dict[str, str] = field(default_factory=dict)
    assigned_groups: tuple[str, ...] | None = None
    heartbeat_connector: str = ""
    heartbeat_state: str = ""
    read_from: str = ""

    def get(self, key: str) -> str:
        return str(self.settings.get(key, DEFAULTS[key]))

    def seconds(self, key: str) -> float:
        try:
            return float(self.get(key))
        except ValueError:
            return float(DEFAULTS[key])

    @property
    def emit_enabled(self) -> bool:
        return self.get("emit.checkpoints.enabled").strip().lower() != "false"

    @property
    def sync_enabled(self) -> bool:
        return self.get("sync.group.offsets.enabled").strip().lower() == "true"

    @property
    def offset_lag_max(self) -> int:
        try:
            return int(self.get("offset.lag.max"))
        except ValueError:
            return int(DEFAULTS["offset.lag.max"])

    @property
    def rest_read(self) -> bool:
        return self.read_from == "Connect REST"

    def group_filtered(self, group: str) -> str:
        """Why MM2's ``groups`` / ``groups.exclude`` filter ``group`` out ('' when it passes)."""
        def patterns(key: str) -> list[str]:
            return [p.strip() for p in self.get(key).split(",") if p.strip()]

        def matches(pattern: str) -> bool:
            try:
                return re.fullmatch(pattern, group) is not None
            except re.error:
                return False

        excluded = [p for p in patterns("groups.exclude") if matches(p)]
        if excluded:
            return f"groups.exclude={self.get('groups.exclude')!r} matches {group} ({excluded[0]})"
        if not any(matches(p) for p in patterns("groups")):
            return f"groups={self.get('groups')!r} does not match {group}"
        return ""

    def group_known(self, group: str) -> bool | None:
        """MM2's checkpoint tasks were assigned ``group`` (None: not read)."""
        return None if self.assigned_groups is None else group in self.assigned_groups

    def hopeless(self, group: str) -> str:
        """Why no checkpoint of a new commit can come, whatever the wait ('' when one may): the connector stopped
        or failed, the group filtered out, checkpoints disabled (as Connect REST shows them)."""
        if not self.rest_read:
            return ""
        if not self.connector:
            return "Connect REST shows no MirrorCheckpointConnector for the flow"
        if self.state.split(" ")[0] in ("PAUSED", "STOPPED", "UNASSIGNED", "FAILED"):
            return f"{self.connector} is {self.state}"
        if not self.emit_enabled:
            return f"{self.connector} has emit.checkpoints.enabled=false"
        return self.group_filtered(group)

    def wait_bound_s(self, group_known: bool | None, ceiling_s: float) -> float:
        """How long a fresh checkpoint (and, with group sync, the target group's offsets) may take: an emit interval
        (plus a sync interval), plus the groups' refresh while MM2 has not learnt the group, plus a margin; at most
        ``ceiling_s``."""
        bound = self.seconds("emit.checkpoints.interval.seconds") + WAIT_MARGIN_S
        if self.sync_enabled:
            bound += self.seconds("sync.group.offsets.interval.seconds")
        if group_known is not True:
            bound += self.seconds("refresh.groups.interval.seconds")
        return min(bound, ceiling_s)

    def heartbeat_bound_s(self, fallback_s: float) -> float:
        """A newest heartbeat older than this says MM2 does not run the flow: 3 emit intervals and 10 s, or
        ``fallback_s`` (the ``heartbeat_max_age_s`` Param) when no heartbeat connector config was read."""
        if not self.heartbeat_connector:
            return fallback_s
        return max(10.0, 3 * self.seconds("emit.heartbeats.interval.seconds") + 5)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["assigned_groups"] = list(self.assigned_groups) if self.assigned_groups is not None else None
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CheckpointConfig:
        groups = d.get("assigned_groups")
        return cls(**{**d, "assigned_groups": tuple(groups) if groups is not None else None})


_WORST = ("FAILED", "UNASSIGNED", "PAUSED", "STOPPED", "RESTARTING", "RUNNING")


def _worst(states: Sequence[str]) -> str:
    known = [s for s in states if s]
    return min(known, key=lambda s: _WORST.index(s) if s in _WORST else len(_WORST)) if known else ""


def _of_flow(configs: Mapping[str, Any], kind: str, source: str, target: str) -> str:
    for name, cfg in configs.items():
        if (str(cfg.get("connector.class", "")).endswith(kind) and cfg.get("source.cluster.alias") == source
                and cfg.get("target.cluster.alias") == target):
            return name
    return ""


def read_config(connect: Any, source_alias: str, target_alias: str) -> CheckpointConfig:
    """The flow's checkpointing as Connect REST shows it (``GET /connectors?expand=info&expand=status`` and the
    checkpoint connector's ``tasks``); MM2's defaults, saying why, when it cannot."""
    answer = connect.get_json("connectors", {"expand": ["info", "status"]}) if connect is not None else None
    if answer is None or answer.status != 200 or not isinstance(answer.body, dict):
        why = getattr(answer, "error", None) or (f"HTTP {answer.status}" if answer is not None else "no Connect REST")
        return CheckpointConfig(read_from=f"MM2's defaults (Connect REST: {why})")
    configs = {n: ((e or {}).get("info") or {}).get("config") or {} for n, e in answer.body.items()
               if isinstance(e, dict)}
    statuses = {n: (e or {}).get("status") or {} for n, e in answer.body.items() if isinstance(e, dict)}

    def state(name: str) -> tuple[str, str]:
        st = statuses.get(name) or {}
        parts = [st.get("connector") or {}, *(st.get("tasks") or [])]
        worst = _worst([p.get("state", "") for p in parts])
        trace = next((str(p.get("trace") or "").splitlines()[0] for p in parts
                      if p.get("state") == "FAILED" and p.get("trace")), "")
        if not (st.get("tasks") or []) and worst == "RUNNING":
            worst = "RUNNING (no task)"
        return worst, trace

    source_connector = _of_flow(configs, "MirrorSourceConnector", source_alias, target_alias)
    checkpoint = _of_flow(configs, "MirrorCheckpointConnector", source_alias, target_alias)
    heartbeat = _of_flow(configs, "MirrorHeartbeatConnector", source_alias, target_alias)
    settings = {k: str(v) for k, v in (configs.get(source_connector) or {}).items() if k in DEFAULTS}
    settings.update({k: str(v) for k, v in (configs.get(checkpoint) or {}).items() if k in DEFAULTS})
    if heartbeat:
        settings.update({k: str(v) for k, v in configs[heartbeat].items() if k == "emit.heartbeats.interval.seconds"})
    assigned: tuple[str, ...] | None = None
    cp_state, trace = state(checkpoint) if checkpoint else ("", "")
    if checkpoint:
        tasks = connect.get_json(f"connectors/{checkpoint}/tasks")
        if tasks.status == 200 and isinstance(tasks.body, list):
            found: list[str] = []
            for t in tasks.body:
                groups = str(((t or {}).get("config") or {}).get("task.assigned.groups") or "")
                found += [g.strip() for g in groups.split(",") if g.strip()]
            assigned = tuple(found)
    return CheckpointConfig(checkpoint, cp_state, trace, settings, assigned, heartbeat,
                            state(heartbeat)[0] if heartbeat else "", "Connect REST")


def topics_of(settings: Mapping[str, Any], config: CheckpointConfig) -> Any:
    """The flow's internal topics (:func:`mm2_smoke.failover.internal_topics`) under its policy and config."""
    return internal_topics(settings["source_alias"], settings["target_alias"],
                           config.settings.get("replication.policy.separator") or settings.get(
                               "replication_separator") or ".",
                           config.get("replication.policy.internal.topic.separator.enabled").lower() != "false",
                           offset_syncs_location=config.get("offset-syncs.topic.location"))


@dataclass(frozen=True)
class Commit:
    """The group's commit on the source: ``committed`` per partition, and where this run's messages are there
    (``upstream``: seq -> (partition, offset)); ``at_ms`` when it was committed."""

    group: str
    committed: dict[int, int]
    upstream: dict[int, tuple[int, int]]
    at_ms: int
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"group": self.group, "committed": {str(p): o for p, o in self.committed.items()},
                "upstream": {str(s): list(v) for s, v in self.upstream.items()}, "at_ms": self.at_ms,
                "error": self.error}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Commit:
        return cls(d["group"], {int(p): int(o) for p, o in d["committed"].items()},
                   {int(s): (int(v[0]), int(v[1])) for s, v in d["upstream"].items()}, int(d["at_ms"]),
                   d.get("error", ""))


def _run_messages(consumer: Any, topic: str, run_tag: str, since_ms: int, timeout_s: float
                  ) -> dict[int, tuple[int, int]]:
    """seq -> (partition, offset) of this run's messages on ``topic`` (read from ``since_ms`` to the end offsets)."""
    from mm2_smoke.message import decode
    from mm2_smoke.run_reader import PartitionReader

    md = consumer.list_topics(topic, timeout=10).topics.get(topic)
    if md is None or md.error is not None:
        raise LookupError(f"topic {topic}: {md.error if md is not None else 'absent'}")
    reader = PartitionReader(consumer, [(topic, p) for p in md.partitions], since_ms, until_end=True,
                             deadline=time.monotonic() + timeout_s)
    found: dict[int, tuple[int, int]] = {}
    for batch in reader.batches():
        if batch.failures:
            raise RuntimeError(f"reading {topic}: {batch.failures[0].error()}")
        for msg in batch.messages:
            tag = decode(msg.value())
            if tag is not None and tag.run_id == run_tag:
                found.setdefault(tag.seq, (msg.partition(), msg.offset()))
    return found


def commit_half(source: Any, topic: str, group: str, run_tag: str, since_ms: int, timeout_s: float = 30) -> Commit:
    """The group reads this run's messages on ``topic`` (source) and commits, per partition, the offset of the first
    message of the second half of that partition's share (what a consumer that is half-way through would have)."""
    from confluent_kafka import TopicPartition

    from mm2_smoke.run_reader import reader_settings

    consumer = source.consumer(**reader_settings(group))
    try:
        upstream = _run_messages(consumer, topic, run_tag, since_ms, timeout_s)
        by_partition: dict[int, list[int]] = {}
        for p, off in upstream.values():
            by_partition.setdefault(p, []).append(off)
        committed = {p: sorted(offs)[len(offs) // 2] for p, offs in by_partition.items()}
        if committed:
            result = consumer.commit(offsets=[TopicPartition(topic, p, o) for p, o in committed.items()],
                                     asynchronous=False)
            failed = [tp for tp in result or [] if tp.error is not None]
            if failed:
                return Commit(group, {}, upstream, int(time.time() * 1000),
                              f"commit of {group} on source refused: {failed[0].error}")
        return Commit(group, committed, upstream, int(time.time() * 1000))
    finally:
        consumer.close()


def read_checkpoints(target: Any, checkpoints_topic: str, group: str, topic: str, since_ms: int,
                     timeout_s: float = 10) -> tuple[dict[int, tuple[Checkpoint, int]], str]:
    """The newest checkpoint per partition of ``topic`` (the remote topic: checkpoints name the topic as it is on the
    target) for ``group`` written since ``since_ms`` on the target's
    checkpoints topic (with its record time, ms), or ``({}, why not)``."""
    from mm2_smoke.failover import RecordFormatError
    from mm2_smoke.run_reader import PartitionReader, reader_settings

    consumer = target.consumer(**reader_settings("mm2-smoke-checkpoints"))
    try:
        md = consumer.list_topics(checkpoints_topic, timeout=10).topics.get(checkpoints_topic)
        if md is None or md.error is not None:
            return {}, f"{checkpoints_topic} on target: {md.error if md is not None else 'absent'}"
        reader = PartitionReader(consumer, [(checkpoints_topic, p) for p in md.partitions], since_ms,
                                 until_end=True, deadline=time.monotonic() + timeout_s)
        newest: dict[int, tuple[Checkpoint, int]] = {}
        for batch in reader.batches():
            if batch.failures:
                return newest, f"reading {checkpoints_topic}: {batch.failures[0].error()}"
            for msg in batch.messages:
                try:
                    cp = decode_checkpoint(msg.key() or b"", msg.value() or b"")
                except RecordFormatError:
                    continue
                if cp.group == group and cp.topic == topic:
                    newest[cp.partition] = (cp, msg.timestamp()[1])
        return newest, ""
    except Exception as exc:  # noqa: BLE001 - the checkpoints could not be read: said, not raised
        return {}, f"{type(exc).__name__}: {exc}"
    finally:
        consumer.close()


def fresh(found: Mapping[int, tuple[Checkpoint, int]], committed: Mapping[int, int]) -> bool:
    """Every committed partition has a checkpoint of the commit (its upstream offset is the committed one)."""
    return bool(committed) and all(p in found and found[p][0].upstream == o for p, o in committed.items())


def target_group(target: Any, group: str, remote_topic: str, timeout_s: float = 10
                 ) -> tuple[dict[int, int], str, str]:
    """The group's committed offsets on the target's remote topic, its state there (``EMPTY``, ``STABLE``...), and
    why not when they could not be read."""
    from confluent_kafka import ConsumerGroupTopicPartitions

    admin = target.admin(**{"socket.timeout.ms": int(timeout_s * 1000)})
    try:
        described = admin.describe_consumer_groups([group], request_timeout=timeout_s)[group].result()
        state = getattr(described.state, "name", str(described.state))
        listed = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)],
                                                   request_timeout=timeout_s)[group].result()
        offsets = {tp.partition: tp.offset for tp in listed.topic_partitions or []
                   if tp.topic == remote_topic and tp.offset >= 0}
        return offsets, state, ""
    except Exception as exc:  # noqa: BLE001
        return {}, "", f"{type(exc).__name__}: {exc}"


def _heartbeat_key(key: bytes) -> tuple[str, str] | None:
    """(source alias, target alias) of a heartbeat record's key (two Kafka-protocol strings), or None."""
    import struct

    try:
        out = []
        at = 0
        for _ in range(2):
            (n,) = struct.unpack_from(">h", key, at)
            out.append(key[at + 2:at + 2 + n].decode("utf-8"))
            at += 2 + n
        return (out[0], out[1]) if at == len(key) else None
    except (struct.error, UnicodeDecodeError):
        return None


def flow_heartbeat_age_s(target: Any, source_alias: str, target_alias: str, now_ms: float, tail: int = 200,
                         timeout_s: float = 10) -> tuple[float | None, str]:
    """Seconds since the newest heartbeat of the flow (key: its aliases) on the target's ``heartbeats`` topic, read
    from the last ``tail`` records of each partition; ``(None, why)`` when none."""
    from confluent_kafka import TopicPartition

    from mm2_smoke.chain import HEARTBEATS_TOPIC
    from mm2_smoke.run_reader import reader_settings

    consumer = target.consumer(**reader_settings("mm2-smoke-heartbeats"))
    try:
        md = consumer.list_topics(HEARTBEATS_TOPIC, timeout=timeout_s).topics.get(HEARTBEATS_TOPIC)
        if md is None or md.error is not None or not md.partitions:
            return None, f"{HEARTBEATS_TOPIC} on target: {md.error if md is not None and md.error else 'absent'}"
        starts, ends = [], {}
        for p in md.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(HEARTBEATS_TOPIC, p), timeout=timeout_s)
            if high > low:
                starts.append(TopicPartition(HEARTBEATS_TOPIC, p, max(low, high - tail)))
                ends[p] = high
        if not starts:
            return None, f"{HEARTBEATS_TOPIC} on target holds no record"
        consumer.assign(starts)
        newest = -1
        error = ""
        deadline = time.monotonic() + timeout_s
        while ends and time.monotonic() < deadline and not error:
            for msg in consumer.consume(500, timeout=0.5):
                if msg.error() is not None:
                    error = error or f"reading {HEARTBEATS_TOPIC} on target: {msg.error().str()}"
                    continue
                if _heartbeat_key(msg.key() or b"") == (source_alias, target_alias):
                    newest = max(newest, msg.timestamp()[1])
                if msg.offset() + 1 >= ends.get(msg.partition(), 0):
                    ends.pop(msg.partition(), None)
        if newest < 0 and error:
            return None, error
        if newest < 0:
            return None, (f"no heartbeat of {source_alias}->{target_alias} among the last {tail} records of "
                          f"{HEARTBEATS_TOPIC} on target")
        return max(0.0, (now_ms - newest) / 1000), ""
    except Exception as exc:  # noqa: BLE001
        return None, f"{type(exc).__name__}: {exc}"
    finally:
        consumer.close()


def topic_exists(hook: Any, topic: str, timeout_s: float = 10) -> tuple[bool | None, str]:
    """Whether ``topic`` exists on the hook's cluster (None with why when it could not be told)."""
    try:
        admin = hook.admin(**{"socket.timeout.ms": int(timeout_s * 1000)})
        md = admin.list_topics(topic=topic, timeout=timeout_s).topics.get(topic)
    except Exception as exc:  # noqa: BLE001
        return None, f"{type(exc).__name__}: {exc}"
    if md is None:
        return False, "absent"
    if md.error is not None:
        return (False, md.error.str()) if md.error.code() == 3 else (None, md.error.str())  # 3: unknown topic
    return True, ""


def placed(commit: Commit, downstream: Mapping[int, tuple[int, int]]) -> dict[int, list[Placed]]:
    """This run's messages per source partition, each with its offset on the source and (when found) the target."""
    out: dict[int, list[Placed]] = {}
    for seq, (p, off) in commit.upstream.items():
        down = downstream.get(seq)
        out.setdefault(p, []).append(Placed(seq, off, down[1] if down is not None else None))
    return out


def downstream_messages(target: Any, remote_topic: str, run_tag: str, since_ms: int, timeout_s: float = 30
                        ) -> dict[int, tuple[int, int]]:
    """seq -> (partition, offset) of this run's messages on the target's remote topic."""
    from mm2_smoke.run_reader import reader_settings

    consumer = target.consumer(**reader_settings("mm2-smoke-failover-rehearsal"))
    try:
        return _run_messages(consumer, remote_topic, run_tag, since_ms, timeout_s)
    finally:
        consumer.close()


def poll(target: Any, state: dict[str, Any]) -> dict[str, Any]:
    """One look: the newest checkpoints of the group and, with group sync, its offsets on the target. ``done`` when
    every committed partition has a checkpoint of the commit (and the target group sits at its translation)."""
    committed = {int(p): int(o) for p, o in state["committed"].items()}
    # A checkpoint names the topic as it is on the target (MirrorCheckpointTask renames it by the policy).
    found, why = read_checkpoints(target, state["checkpoints_topic"], state["group"], state["remote_topic"],
                                  state["since_ms"])
    out: dict[str, Any] = {"checkpoints": {str(p): [cp.upstream, cp.downstream, ts] for p, (cp, ts) in found.items()},
                           "checkpoints_error": why, "done": fresh(found, committed)}
    if out["done"] and state["sync"]:
        offsets, group_state, error = target_group(target, state["group"], state["remote_topic"])
        out.update(target_offsets={str(p): o for p, o in offsets.items()}, target_state=group_state,
                   target_error=error)
        out["done"] = all(offsets.get(p) == found[p][0].downstream for p in committed)
        if any((offsets.get(p) or -1) > found[p][0].downstream for p in committed):
            out["done"] = True  # the target group is past the translation: MM2 never moves it back
        if not out["done"] and has_members(group_state):
            out["done"] = True  # the group has members on the target: MM2 cannot sync it, waiting cannot help
    return out


def log_line(result: Mapping[str, Any]) -> str:
    """One line for the task log."""
    return (f"failover {result.get('flow')}: {result.get('verdict')} (would_lose {result.get('would_lose')}, "
            f"would_reread {result.get('would_reread')}, checkpoint age {result.get('checkpoint_age_s')} s, "
            f"heartbeat age {result.get('heartbeat_age_s')} s, synced {result.get('synced_on_target')}, MM2's "
            f"checkpoint-latency-ms {result.get('checkpoint_latency_ms')})")

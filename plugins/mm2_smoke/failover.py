"""Failover readiness, the arithmetic: MirrorMaker 2's checkpoint and offset-sync records, the translation of a
consumer group's committed offset to the target, and what a consumer switched to the target at that offset would
lose or read again.

- :func:`decode_checkpoint` / :func:`decode_offset_sync`: the records of ``<source alias>.checkpoints.internal``
  (on the target) and of ``mm2-offset-syncs.<target alias>.internal`` as MM2 writes them (Kafka's protocol types:
  a string is an int16 length and UTF-8 bytes, integers big-endian; a checkpoint's value starts with an int16
  version).
- :func:`translate`: MM2's own rule (``OffsetSyncStore.translateDownstream``): the newest offset sync at or before
  the committed upstream offset, its downstream offset, plus one when the group is past the sync (conservative: it
  never skips a record, it may re-read up to ``offset.lag.max`` of them); a group older than every sync is not
  translated.
- :func:`rehearse`: a consumer that starts on the target at the translated offset, against where this run's
  messages are on both clusters: ``would_lose`` (not yet consumed on the source, skipped on the target: must be 0)
  and ``would_reread`` (consumed on the source, read again on the target).
- :func:`internal_topics`: the names of those topics under the flow's replication policy.

Pure: no Airflow, no Kafka client.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mm2_smoke.naming import DEFAULT_SEPARATOR

#: Consumer group states with members (Kafka's ``ConsumerGroupState``): MM2's group offset sync cannot write then.
ACTIVE_GROUP_STATES = ("STABLE", "PREPARING_REBALANCE", "COMPLETING_REBALANCE", "ASSIGNING", "RECONCILING")


def has_members(state: str) -> bool:
    """A consumer group state with members, however it is spelt (``PREPARING_REBALANCE``, ``PreparingRebalance``)."""
    return state.upper().replace("_", "") in {s.replace("_", "") for s in ACTIVE_GROUP_STATES}


#: The version a checkpoint's value starts with (MM2 writes 0).
CHECKPOINT_VERSION = 0


class RecordFormatError(ValueError):
    """A record of MM2's internal topics that is not in MM2's format (another writer, a newer version)."""


class _Reader:
    def __init__(self, data: bytes, what: str) -> None:
        self.data, self.at, self.what = data, 0, what

    def take(self, fmt: str) -> int:
        size = struct.calcsize(fmt)
        if self.at + size > len(self.data):
            raise RecordFormatError(f"{self.what}: {len(self.data)} bytes end before its fields do")
        (value,) = struct.unpack_from(fmt, self.data, self.at)
        self.at += size
        return int(value)

    def string(self) -> str:
        length = self.take(">h")
        if length < 0 or self.at + length > len(self.data):
            raise RecordFormatError(f"{self.what}: a string of {length} bytes does not fit")
        text = self.data[self.at:self.at + length].decode("utf-8")
        self.at += length
        return text

    def done(self) -> None:
        if self.at != len(self.data):
            raise RecordFormatError(f"{self.what}: {len(self.data) - self.at} bytes left after its fields")


@dataclass(frozen=True)
class Checkpoint:
    """A group's offset on one partition, translated: ``upstream`` on the source, ``downstream`` on the target."""

    group: str
    topic: str
    partition: int
    upstream: int
    downstream: int
    metadata: str = ""


@dataclass(frozen=True)
class OffsetSync:
    """A point where MM2 knows both offsets of one record: ``upstream`` on the source, ``downstream`` on the target."""

    topic: str
    partition: int
    upstream: int
    downstream: int


def decode_checkpoint(key: bytes, value: bytes) -> Checkpoint:
    """A record of the checkpoints topic (key: group, topic, partition; value: version, upstream offset,
    downstream offset, metadata).

    :raises RecordFormatError: not MM2's format, or a version this reader does not know.
    """
    k = _Reader(key, "checkpoint key")
    group, topic, partition = k.string(), k.string(), k.take(">i")
    k.done()
    v = _Reader(value, "checkpoint value")
    version = v.take(">h")
    if version != CHECKPOINT_VERSION:
        raise RecordFormatError(f"checkpoint value version {version}: this reader knows {CHECKPOINT_VERSION}")
    upstream, downstream, metadata = v.take(">q"), v.take(">q"), v.string()
    v.done()
    return Checkpoint(group, topic, partition, upstream, downstream, metadata)


def decode_offset_sync(key: bytes, value: bytes) -> OffsetSync:
    """A record of the offset-syncs topic (key: topic, partition; value: upstream offset, downstream offset).

    :raises RecordFormatError: not MM2's format.
    """
    k = _Reader(key, "offset-sync key")
    topic, partition = k.string(), k.take(">i")
    k.done()
    v = _Reader(value, "offset-sync value")
    upstream, downstream = v.take(">q"), v.take(">q")
    v.done()
    return OffsetSync(topic, partition, upstream, downstream)


def translate(syncs: Iterable[OffsetSync], upstream: int) -> int | None:
    """The downstream offset MM2 translates ``upstream`` to, from one partition's offset syncs; None when no sync is
    at or before it (the group is older than what MM2 remembers: no translation)."""
    before = [s for s in syncs if s.upstream <= upstream]
    if not before:
        return None
    sync = max(before, key=lambda s: s.upstream)
    return sync.downstream + (0 if sync.upstream == upstream else 1)


@dataclass(frozen=True)
class Placed:
    """One of the run's messages: its offset on the source and, when it was found there, on the target."""

    seq: int
    upstream: int
    downstream: int | None


@dataclass(frozen=True)
class Rehearsal:
    """What a consumer switched to the target at ``translated`` would do with this run's messages of one partition.

    :param would_lose: messages the group had not consumed on the source (offset >= committed) that the target
        consumer skips (offset < translated there): lost by the switch.
    :param would_reread: messages the group had consumed on the source that the target consumer reads again.
    :param not_on_target: messages not found on the target (they can be neither lost by the switch nor re-read:
        step 1.4 reports them).
    """

    committed: int
    translated: int
    would_lose: int
    would_reread: int
    not_on_target: int


def rehearse(messages: Sequence[Placed], committed: int, translated: int) -> Rehearsal:
    """Rehearse the switch of one partition: the group committed ``committed`` on the source, MM2 translated it to
    ``translated`` on the target."""
    lose = reread = missing = 0
    for m in messages:
        if m.downstream is None:
            missing += 1
        elif m.upstream >= committed and m.downstream < translated:
            lose += 1
        elif m.upstream < committed and m.downstream >= translated:
            reread += 1
    return Rehearsal(committed, translated, lose, reread, missing)


@dataclass(frozen=True)
class InternalTopics:
    """MM2's topics a failover check reads: checkpoints (on the target), offset syncs (on the cluster
    ``offset-syncs.topic.location`` names: the source by default), the flow's heartbeats (on the target)."""

    checkpoints: str
    offset_syncs: str
    heartbeats: str


#: MirrorHeartbeatConnector's topic on the target (``ReplicationPolicy.heartbeatsTopic()``: no alias, no separator);
#: its records are keyed by the flow's source and target aliases.
HEARTBEATS_TOPIC = "heartbeats"


def internal_topics(source_alias: str, target_alias: str, separator: str = DEFAULT_SEPARATOR,
                    internal_separator: bool = True, offset_syncs_location: str = "source") -> InternalTopics:
    """The names MM2's policies give its internal topics of the flow ``source_alias -> target_alias``
    (``DefaultReplicationPolicy``; ``IdentityReplicationPolicy`` names them the same).

    :param internal_separator: ``replication.policy.internal.topic.separator.enabled`` (default true): the
        separator also joins the internal topics' names; with false they use ``.``.
    :param offset_syncs_location: ``offset-syncs.topic.location``: the offset-syncs topic is named after the *other*
        cluster (``mm2-offset-syncs.<target alias>.internal`` on the source, ``<source alias>`` on the target).
    """
    sep = separator if internal_separator else DEFAULT_SEPARATOR
    other = source_alias if offset_syncs_location == "target" else target_alias
    return InternalTopics(f"{source_alias}{sep}checkpoints{sep}internal", f"mm2-offset-syncs{sep}{other}{sep}internal",
                          HEARTBEATS_TOPIC)

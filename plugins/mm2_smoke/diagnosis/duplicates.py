"""Where a run's duplicates on target come from (step 1.4: a sequence number of the run on target more than
once): the source producer sending twice, MM2 re-delivering after a task restart without exactly-once, or another
producer writing into the remote topic on target. The copies on both sides (offsets, timestamps, producers, value
digests), MM2's task counter resets and its exactly-once setting tell them apart.

Pure: facts in (the copies read back from both topics, Connect REST answers), diagnoses out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mm2_smoke.diagnosis.base import (
    DUPLICATES,
    DUPLICATES_AT_SOURCE,
    DUPLICATES_BY_MM2,
    DUPLICATES_ON_TARGET,
    DUPLICATES_ON_TARGET_WRITER,
    Diagnosis,
    Inspection,
    conclude,
)
from mm2_smoke.measured import HttpAnswer


@dataclass(frozen=True)
class Copy:
    """One copy of a run's message as read back from a topic.

    :param partition: its partition.
    :param offset: its offset.
    :param timestamp_ms: the Kafka record timestamp (MM2 keeps the source's).
    :param producer_id: the producer named in its run tag.
    :param sent_ms: the producer's clock at send, from its run tag.
    :param digest: a hash of its value bytes (MM2 copies them unchanged).
    """

    partition: int
    offset: int
    timestamp_ms: int
    producer_id: str
    sent_ms: int
    digest: str

    def where(self) -> str:
        return f"p{self.partition}@{self.offset}"

    def same_record(self, other: Copy) -> bool:
        """Same bytes and same timestamp: what MM2 re-delivering one source record gives (a second send does not)."""
        return (self.digest, self.timestamp_ms) == (other.digest, other.timestamp_ms)


@dataclass(frozen=True)
class DuplicateFacts:
    """What tells the sources of duplicates apart.

    :param seqs: the duplicated sequence numbers step 1.4 named.
    :param target_copies: every copy on the remote topic of each of ``seqs`` (None: not read, see ``target_error``).
    :param source_copies: every copy on the source test topic of each of ``seqs`` (None: not read).
    :param counter_resets: how many times MM2's task counters reset during the run (step 1.2; None: unknown).
    :param connector_status: Connect REST status of the MirrorSourceConnector (None: not asked).
    :param exactly_once: the connector's ``exactly.once.support`` ('' when unset; None when its config was not read).
    """

    connector: str
    source_topic: str
    remote_topic: str
    seqs: list[int]
    target_copies: dict[int, list[Copy]] | None
    source_copies: dict[int, list[Copy]] | None
    counter_resets: int | None = None
    connector_status: HttpAnswer | None = None
    exactly_once: str | None = None
    target_error: str | None = None
    source_error: str | None = None


#: Where duplicates come from and what tells them apart (every duplicates diagnosis's action ends with it).
DUPLICATE_SOURCES = ("duplicates come from: (1) the source producer sending twice (a retried produce without "
                     "enable.idempotence, or a second producer writing the run's tag): the source topic holds the seq "
                     "twice too; (2) MM2 re-delivering after a task restart or rebalance without exactly-once (worker "
                     "exactly.once.source.support=enabled and connector exactly.once.support=required): source holds "
                     "it once, the target copies are byte-identical with the same timestamp, and MM2's task counters "
                     "reset; (3) another producer writing the run's records into the remote topic on target: source "
                     "holds it once and the target copies differ (timestamp, producer)")


def _copies_text(seq: int, copies: list[Copy]) -> str:
    return f"seq {seq}: " + ", ".join(f"{c.where()} ts {c.timestamp_ms} by {c.producer_id!r}" for c in copies[:4])


def _mm2_restart_evidence(f: DuplicateFacts) -> str:
    parts = []
    if f.counter_resets is not None:
        parts.append(f"MM2's task counters reset {f.counter_resets} time(s) during the run")
    else:
        parts.append("MM2's task counter resets are unknown")
    if f.exactly_once is not None:
        parts.append(f"connector exactly.once.support={f.exactly_once or 'unset (default: not required)'}")
    else:
        parts.append("the connector's exactly.once.support could not be read")
    if f.connector_status is not None and f.connector_status.status == 200 and isinstance(f.connector_status.body, dict):
        tasks = f.connector_status.body.get("tasks", [])
        parts.append("tasks " + ", ".join(f"{t.get('id')}={t.get('state')} on {t.get('worker_id')}" for t in tasks))
    elif f.connector_status is not None:
        parts.append(f"Connect REST status not read ({f.connector_status.error or f.connector_status.status})")
    return "; ".join(parts)


def diagnose_duplicates(f: DuplicateFacts, symptom: str = DUPLICATES_ON_TARGET) -> list[Diagnosis]:
    """Where the run's duplicates come from: the source producer, MM2's re-delivery, a writer on target; each with
    the copies (offsets, timestamps, producers) as evidence. Always at least one diagnosis: an undetermined one says
    what could not be read."""
    return conclude(symptom, _causes(f, symptom),
                    lambda: Inspection(not_inspected=["the copies of the duplicated sequence numbers (none given)"]))


def _causes(f: DuplicateFacts, symptom: str) -> list[Diagnosis]:
    """One diagnosis per origin the copies show ([] only when no sequence number was given)."""
    shown = ", ".join(map(str, f.seqs[:20])) + (" ..." if len(f.seqs) > 20 else "")
    if f.target_copies is None:
        return [Diagnosis(symptom, DUPLICATES, f"{len(f.seqs)} sequence number(s) of the run on the remote topic "
                          f"{f.remote_topic} more than once (seq {shown}); where they come from could not be told: the "
                          "target's copies could not be re-read", f"target not re-read: {f.target_error or 'unknown'}"
                          + (f"; source: {f.source_error}" if f.source_error else "") + "; " + _mm2_restart_evidence(f),
                          DUPLICATE_SOURCES, 40)]
    at_source, by_mm2, on_target, undetermined = [], [], [], []
    for seq in f.seqs:
        copies = f.target_copies.get(seq, [])
        on_source = None if f.source_copies is None else f.source_copies.get(seq, [])
        identical = len(copies) > 1 and all(c.same_record(copies[0]) for c in copies[1:])
        if on_source is not None and len(on_source) > 1:
            at_source.append((seq, copies, on_source))
        elif on_source is not None and len(on_source) == 1 and len(copies) > 1:
            (by_mm2 if identical else on_target).append((seq, copies, on_source))
        else:
            undetermined.append((seq, copies, on_source))
    out: list[Diagnosis] = []

    def seqs_of(group: list[Any]) -> str:
        return ", ".join(str(g[0]) for g in group[:20]) + (" ..." if len(group) > 20 else "")

    def evidence_of(group: list[Any]) -> str:
        return "; ".join(f"{_copies_text(seq, copies)} (source holds {len(src) if src is not None else '?'})"
                         for seq, copies, src in group[:3])

    if at_source:
        producers = {c.producer_id for _, _, src in at_source for c in src}
        retried = all(all(c.same_record(src[0]) or (c.producer_id, c.sent_ms) == (src[0].producer_id,
                                                                                  src[0].sent_ms) for c in src)
                      for _, _, src in at_source)
        how = ("a retried produce (same producer, same send: a resend without enable.idempotence=true)" if retried
               else f"a second send of the run's tag (producers {', '.join(sorted(producers))})")
        out.append(Diagnosis(symptom, DUPLICATES_AT_SOURCE, f"source cluster / the smoke test's producer: duplicates "
                             f"(data anomaly): seq {seqs_of(at_source)} are on the source topic {f.source_topic} more "
                             f"than once: {how}; MM2 copied what it was given",
                             "source " + "; ".join(_copies_text(seq, src) for seq, _, src in at_source[:3]),
                             "make the producer idempotent (enable.idempotence=true, acks=all) and make sure a single "
                             "producer writes a run's tag; " + DUPLICATE_SOURCES, 90))
    if on_target:
        out.append(Diagnosis(symptom, DUPLICATES_ON_TARGET_WRITER, f"remote topic on target: duplicates (data anomaly): "
                             f"seq {seqs_of(on_target)} are once on source but more than once on {f.remote_topic}, in "
                             "copies that differ (timestamp or producer): something other than MM2 wrote the run's "
                             "records into the remote topic", evidence_of(on_target),
                             f"find the producer writing into {f.remote_topic} on target (only MM2 should: restrict "
                             "WRITE on the remote topics to MM2's principal); " + DUPLICATE_SOURCES, 88))
    if by_mm2:
        out.append(Diagnosis(symptom, DUPLICATES_BY_MM2, f"MirrorSourceConnector tasks / MM2's target producer: "
                             f"duplicates (data anomaly): seq {seqs_of(by_mm2)} are once on source and several "
                             f"identical copies on {f.remote_topic}: MM2 re-delivered them (task restart or rebalance "
                             "without exactly-once, or a producer retry without idempotence)",
                             evidence_of(by_mm2) + "; " + _mm2_restart_evidence(f),
                             "enable exactly-once for MM2 (Connect workers exactly.once.source.support=enabled, "
                             f"{f.connector} exactly.once.support=required) or let consumers on target deduplicate; "
                             "find the task restarts in the worker log; " + DUPLICATE_SOURCES,
                             85 if f.counter_resets or f.exactly_once in ("", None) else 70))
    if undetermined:
        why = ("the source topic could not be re-read: " + (f.source_error or "unknown")) if f.source_copies is None \
            else "their copies were not all found again (outside the read window or retention)"
        out.append(Diagnosis(symptom, DUPLICATES, f"remote topic on target: duplicates (data anomaly): seq "
                             f"{seqs_of(undetermined)} are on {f.remote_topic} more than once; their origin is not "
                             f"told: {why}", evidence_of(undetermined) + "; " + _mm2_restart_evidence(f),
                             DUPLICATE_SOURCES, 45))
    return out

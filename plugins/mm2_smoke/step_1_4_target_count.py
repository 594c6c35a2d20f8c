"""Runbook step 1.4, "Consommation sur target": this run's messages on the target's remote topic.

Reads ``source.<topic>`` on the target from production start up to the end offsets seen at start and counts
this run's messages by their tag (:mod:`mm2_smoke.message`): received, missing and duplicates by sequence
number. Other runs' and other producers' records are ``foreign`` and never count. GO: every delivered message
is there (``missing_tolerance``, default 0) and no sequence number is there more than once (``duplicates_tolerance``,
default 0: a second check, ``duplicates_on_target``, names them). 0 messages is NOGO; a target that cannot be read
is UNKNOWN.

Kafka clients are imported inside the functions that use them: the module imports without confluent-kafka.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, cast

from mm2_smoke.checks import Check
from mm2_smoke.measured import Gap
from mm2_smoke.payloads import CountResultDict, ProduceResult, ProduceResultDict
from mm2_smoke.registry import spec
from mm2_smoke.settings import SmokeSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CountResult:
    """This run's messages as found on the target's remote topic: the step's XCom.

    :param received: distinct sequence numbers of this run found.
    :param missing: delivered sequence numbers not found.
    :param duplicates: sequence numbers found more than once.
    :param foreign: messages read that belong to other runs or producers.
    :param gap: why the target could not be read (None when it was).
    :param reason: the gap in words ('' when it was read).
    :param note: what else a reader should know (e.g. the remote topic does not exist).
    :param untagged: the records had no run tag (Kafka's perf-test): ``received`` counts every record on the
        remote topic since production started, and missing/duplicates cannot be named by sequence number.
    """

    received: int
    missing: list[int]
    duplicates: list[int]
    foreign: int = 0
    gap: Gap | None = None
    reason: str = ""
    note: str = ""
    untagged: bool = False

    def missing_count(self, delivered: int) -> int:
        return max(0, delivered - self.received) if self.untagged else len(self.missing)

    def to_dict(self) -> CountResultDict:
        d = asdict(self)
        d["gap"] = self.gap.value if self.gap is not None else None
        return cast(CountResultDict, d)

    @classmethod
    def from_dict(cls, d: CountResultDict) -> CountResult:
        gap = d.get("gap")
        return cls(d["received"], d["missing"], d["duplicates"], d.get("foreign", 0), Gap(gap) if gap else None,
                   d.get("reason", ""), d.get("note", ""), d.get("untagged", False))

    @classmethod
    def unreadable(cls, reason: str, missing: Sequence[int] = (), gap: Gap = Gap.UNREACHABLE) -> CountResult:
        """The target could not be read: nothing received, every delivered message unaccounted for."""
        return cls(0, sorted(missing), [], gap=gap, reason=reason)


def missing_and_duplicates(delivered_seqs: Iterable[int], seen: Sequence[int]) -> tuple[list[int], list[int]]:
    """Sequence numbers delivered but never seen, and those seen more than once (each listed once)."""
    counts: dict[int, int] = {}
    for s in seen:
        counts[s] = counts.get(s, 0) + 1
    missing = sorted(s for s in set(delivered_seqs) if s not in counts)
    dups = sorted(s for s, n in counts.items() if n > 1)
    return missing, dups


ON_TARGET, DUPLICATES = spec("messages_on_target"), spec("duplicates_on_target")


def check_target_count(count: CountResult, delivered: int, settings: SmokeSettings, evidence: str) -> list[Check]:
    """Step 1.4: every delivered message of this run is on the target (tolerance: ``missing_tolerance``), and, for
    tagged records, none more than once (:func:`check_duplicates`)."""
    threshold = ON_TARGET.threshold(settings, delivered=delivered)
    if delivered <= 0:
        return [ON_TARGET.unknown(threshold, evidence, "step 1.1 delivered no message, so there is nothing to count on "
                                  "target", Gap.NOT_MEASURED)]
    if count.gap is not None:
        return [ON_TARGET.unknown(threshold, evidence, count.reason, count.gap)]
    if count.received == 0:
        why = f"0 messages of this run on {settings.remote_topic}"
        return [ON_TARGET.nogo(0, threshold, evidence, f"{why}: {count.note}" if count.note else why)]
    if count.untagged:
        missing = count.missing_count(delivered)
        if missing > settings.missing_tolerance:
            return [ON_TARGET.nogo(count.received, threshold, evidence,
                                   f"{missing} fewer records than delivered (untagged records, counted by time)")]
        return [ON_TARGET.go(count.received, threshold, evidence)]
    duplicates = check_duplicates(count, settings, evidence)
    if len(count.missing) > settings.missing_tolerance:
        return [ON_TARGET.nogo(count.received, threshold, evidence,
                               f"{len(count.missing)} missing (seq {shown_seqs(count.missing)})"), duplicates]
    return [ON_TARGET.go(count.received, threshold, evidence), duplicates]


def shown_seqs(seqs: Sequence[int], first: int = 20) -> str:
    """The first ``first`` sequence numbers, comma-separated, with `...` when there are more."""
    return ", ".join(map(str, seqs[:first])) + (" ..." if len(seqs) > first else "")


def check_duplicates(count: CountResult, settings: SmokeSettings, evidence: str) -> Check:
    """Step 1.4: this run's sequence numbers found more than once on target, at most ``duplicates_tolerance``.

    Only for a count that read tagged records (the sequence numbers are what tell a copy from a message).
    """
    n = len(count.duplicates)
    threshold = DUPLICATES.threshold(settings)
    if n > settings.duplicates_tolerance:
        return DUPLICATES.nogo(n, threshold, evidence,
                               f"{n} sequence number(s) of this run on target more than once (seq "
                               f"{shown_seqs(count.duplicates)}): above duplicates_tolerance="
                               f"{settings.duplicates_tolerance}")
    return DUPLICATES.go(n, threshold, evidence)


def count_step(kafka_hook: Any, settings: SmokeSettings, run_id: str, produced: ProduceResultDict) -> CountResultDict:
    """Step 1.4's task: count this run's messages on the target's remote topic, by their run tag.

    :param kafka_hook: a :class:`~mm2_smoke.hooks.SmokeKafkaHook` of the target cluster.
    :param settings: the run's settings (remote topic, count timeout).
    :param run_id: the DAG run's id (the run tag when step 1.1's result names none).
    :param produced: step 1.1's result (:class:`~mm2_smoke.step_1_1_produce.ProduceResult` as a dict).
    """
    from mm2_smoke.run_reader import reader_settings

    result = ProduceResult.from_dict(produced)
    if result.delivered == 0:
        log.info("nothing to count: step 1.1 delivered no message")
        return CountResult.unreadable("step 1.1 delivered no message, so there is nothing to count",
                                      gap=Gap.NOT_MEASURED).to_dict()
    consumer = None
    try:
        consumer = kafka_hook.consumer(**reader_settings("mm2-smoke-count"))
        if result.tagged:
            # Records keep their source timestamps through MM2: start a minute before production.
            count = count_run(consumer, settings.remote_topic, result.run_tag or run_id, result.delivered_seqs(),
                              since_ms=result.started_ms - 60_000, timeout_s=settings.count_timeout_s)
        else:
            # Kafka's perf-test records carry no tag: count every record since production started.
            seen = count_run(consumer, settings.remote_topic, None, [], since_ms=result.started_ms,
                             timeout_s=settings.count_timeout_s)
            count = CountResult(seen.foreign, [], [], gap=seen.gap, reason=seen.reason, untagged=True,
                                note="; ".join(filter(None, [seen.note, "untagged records (perf-test), counted by "
                                                             "time since production started"])))
    except Exception as exc:  # noqa: BLE001 - the target could not be read: UNKNOWN with the reason
        count = CountResult.unreadable(f"{type(exc).__name__}: {exc}", result.delivered_seqs())
    finally:
        if consumer is not None:
            consumer.close()
    log.info("on target %s: received %d, missing %d, duplicates %d, foreign %d%s", settings.remote_topic,
             count.received, len(count.missing), len(count.duplicates), count.foreign,
             f" ({count.reason or count.note})" if count.reason or count.note else "")
    return count.to_dict()


def count_run(consumer: Any, topic: str, run_tag: str | None, delivered_seqs: list[int], since_ms: int,
              timeout_s: float) -> CountResult:
    """Read ``topic`` from ``since_ms`` up to the end offsets seen at start; count the messages tagged ``run_tag``.

    Reads with :class:`mm2_smoke.run_reader.PartitionReader` (assigned partitions, never committed) and stops as soon
    as every partition reached its end offset seen at start, or after ``timeout_s``. Messages of other runs or
    producers (every message when ``run_tag`` is None) are counted as ``foreign`` and otherwise ignored.

    :param consumer: a confluent-kafka Consumer (:func:`mm2_smoke.run_reader.reader_settings`), closed by the caller.
    :param topic: the remote topic on the target.
    :param run_tag: the run id in this run's tags; None counts every record as foreign.
    :param delivered_seqs: the sequence numbers step 1.1 delivered (the missing ones are named).
    :param since_ms: read from the first record at or after this time (ms since the epoch).
    :param timeout_s: stop reading after this many seconds.
    """
    from confluent_kafka import KafkaError, KafkaException

    from mm2_smoke.message import decode
    from mm2_smoke.run_reader import PartitionReader

    try:
        md = consumer.list_topics(topic, timeout=10)
    except KafkaException as exc:
        return CountResult.unreadable(f"cannot read metadata of {topic}: {exc.args[0]}", delivered_seqs)
    tmeta = md.topics.get(topic)
    if tmeta is None or tmeta.error is not None:
        if tmeta is not None and tmeta.error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED:
            return CountResult.unreadable(f"not authorized to read {topic} on target", delivered_seqs)
        code = tmeta.error if tmeta is not None else "absent"
        return CountResult(0, sorted(delivered_seqs), [], note=f"the remote topic {topic} does not exist on "
                           f"target ({code})")
    try:
        reader = PartitionReader(consumer, [(topic, p) for p in tmeta.partitions], since_ms, until_end=True,
                                 deadline=time.monotonic() + timeout_s)
    except KafkaException as exc:
        return CountResult.unreadable(f"cannot read offsets of {topic}: {exc.args[0]}", delivered_seqs)
    seen: list[int] = []
    foreign = 0
    for batch in reader.batches():
        for msg in batch.messages:
            tag = decode(msg.value())
            if tag is not None and tag.run_id == run_tag:
                seen.append(tag.seq)
            else:
                foreign += 1
        if batch.failures:
            return CountResult(len(set(seen)), *missing_and_duplicates(delivered_seqs, seen), foreign=foreign,
                               gap=Gap.UNREACHABLE, reason=f"reading {topic} failed: {batch.failures[0].error()}")
    missing, dups = missing_and_duplicates(delivered_seqs, seen)
    note = "" if reader.reached_end else f"stopped after {timeout_s:g} s before the end offsets"
    return CountResult(len(set(seen)), missing, dups, foreign=foreign, note=note)


def checklist_part(settings: SmokeSettings, count: CountResultDict | None, delivered: int | None
                   ) -> tuple[list[Check], list[str]]:
    """Step 1.4's check and notes from its result (an UNKNOWN check when the step did not finish)."""
    if not count or delivered is None:
        return [ON_TARGET.unknown("all delivered", "step_1_4_target_count", "step 1.4 did not finish: see its task log",
                                  Gap.NOT_MEASURED)], []
    cr = CountResult.from_dict(count)
    checks = check_target_count(cr, delivered, settings, f"consumer on {settings.remote_topic} (run tag)")
    within = cr.duplicates and len(cr.duplicates) <= settings.duplicates_tolerance
    notes = [f"{len(cr.duplicates)} duplicate(s) on target: seq {shown_seqs(cr.duplicates)} (within "
             f"duplicates_tolerance={settings.duplicates_tolerance}: GO)"] if within else []
    return checks, notes

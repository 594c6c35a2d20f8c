"""Each duplicates rule on answers recorded from the live stack
(step 1.4, a seq of the run on target more than once: the copies read back from both topics,
Connect REST)."""

from __future__ import annotations

from mm2_smoke.diagnosis.base import (
    DUPLICATES,
    DUPLICATES_AT_SOURCE,
    DUPLICATES_BY_MM2,
    DUPLICATES_ON_TARGET,
    DUPLICATES_ON_TARGET_WRITER,
    NO_CAUSE_FOUND,
)
from mm2_smoke.diagnosis.duplicates import Copy, DuplicateFacts, diagnose_duplicates
from mm2_smoke.measured import HttpAnswer
from tests.unit.mm2_smoke.diagnosis.conftest import NAME, REMOTE, RUNNING, TOPIC


def copy(offset: int, ts: int = 1_000, producer: str = "produce", digest: str = "d1", partition: int = 0) -> Copy:
    return Copy(partition, offset, ts, producer, ts - 5, digest)


def dup_facts(target, source, **kw) -> DuplicateFacts:
    seqs = sorted(target) if target is not None else [3, 7]
    return DuplicateFacts(NAME, TOPIC, REMOTE, seqs, target, source, **{"counter_resets": 0,
                             "connector_status": HttpAnswer(200, RUNNING), "exactly_once": "", **kw})


def test_duplicates_written_into_the_remote_topic_on_target_by_another_producer() -> None:
    target = {3: [copy(2), copy(101, ts=9_000, producer="intruder", digest="d2")],
              7: [copy(6, digest="d7"), copy(102, ts=9_001, producer="intruder", digest="d8")]}
    [d] = diagnose_duplicates(dup_facts(target, {3: [copy(2)], 7: [copy(6, digest="d7")]}))
    assert d.cause_id == DUPLICATES_ON_TARGET_WRITER and d.symptom == DUPLICATES_ON_TARGET
    assert d.cause.startswith("remote topic on target: duplicates (data anomaly): seq 3, 7 ")
    assert "seq 3: p0@2 ts 1000 by 'produce', p0@101 ts 9000 by 'intruder' (source holds 1)" in d.evidence
    assert "second producer" in d.action and "task restart" in d.action and "retried produce" in d.action


def test_identical_copies_once_on_source_are_mm2_redelivery_with_restart_evidence() -> None:
    target = {5: [copy(4), copy(9)]}
    [d] = diagnose_duplicates(dup_facts(target, {5: [copy(4)]}, counter_resets=1))
    assert d.cause_id == DUPLICATES_BY_MM2 and "re-delivered" in d.cause and d.score == 85
    assert "task counters reset 1 time(s)" in d.evidence and "exactly.once.support=unset" in d.evidence
    assert "0=RUNNING on 127.0.0.1:18083" in d.evidence
    assert "exactly.once.source.support=enabled" in d.action


def test_duplicates_already_on_source_blame_the_producer_not_mm2() -> None:
    target = {4: [copy(3), copy(8)]}
    [retry] = diagnose_duplicates(dup_facts(target, {4: [copy(3), copy(8)]}))
    assert retry.cause_id == DUPLICATES_AT_SOURCE and "retried produce" in retry.cause
    [second] = diagnose_duplicates(dup_facts(target, {4: [copy(3), copy(8, ts=5_000, producer="other")]}))
    assert second.cause_id == DUPLICATES_AT_SOURCE and "producers other, produce" in second.cause


def test_duplicates_whose_origin_cannot_be_told_say_what_could_not_be_read() -> None:
    [d] = diagnose_duplicates(dup_facts({3: [copy(1), copy(2)]}, None, source_error="_TRANSPORT"))
    assert d.cause_id == DUPLICATES and "source topic could not be re-read: _TRANSPORT" in d.cause
    [t] = diagnose_duplicates(dup_facts(None, None, target_error="timed out", exactly_once=None,
                                        counter_resets=None))
    assert t.cause_id == DUPLICATES and "seq 3, 7" in t.cause and "timed out" in t.evidence
    assert "exactly.once.support could not be read" in t.evidence and "counter resets are unknown" in t.evidence


def test_duplicate_run_facts_from_the_steps_results() -> None:
    from mm2_smoke.diagnosis.gather import run_facts as duplicate_run_facts

    facts = duplicate_run_facts({"run_tag": "r#try2", "started_ms": 100_000}, {"duplicates": [3, 7]},
                                {"growth": {"poll": {"resets": 0}, "write": {"resets": 2}}})
    assert facts == {"run_tag": "r#try2", "since_ms": 40_000, "duplicate_seqs": [3, 7], "counter_resets": 2,
                     "e2e_p99_ms": None}
    timed = duplicate_run_facts({"e2e": {"p99": 41.0, "count": 100}}, None, None)
    assert timed["e2e_p99_ms"] == 41.0
    assert duplicate_run_facts(None, None, None)["counter_resets"] is None


def test_duplicates_without_a_sequence_number_end_with_what_could_not_be_inspected() -> None:
    [d] = diagnose_duplicates(dup_facts({}, {}))
    assert d.cause_id == NO_CAUSE_FOUND and "not a clean bill" in d.cause and "(none given)" in d.evidence

"""Failover readiness judged from read facts: READY only from positive evidence, never READY with a message lost."""

from __future__ import annotations

import pytest

from mm2_smoke.failover import Checkpoint, OffsetSync, Placed, rehearse, translate
from mm2_smoke.readiness import NOT_READY, READY, UNKNOWN, Bounds, PartitionFacts, judge, overall

GROUP, TOPIC = "mm2-smoke-failover", "test-prometheus.generated-data-01.json"


def _partition(committed: int, syncs: list[OffsetSync], messages: list[Placed], *, checkpoint_upstream: int | None = None,
               on_target: int | None = None) -> PartitionFacts:
    """A partition as the failover task would read it: MM2's checkpoint of ``committed`` translated by the offset
    syncs (as MM2 does), and the switch rehearsed at it."""
    upstream = committed if checkpoint_upstream is None else checkpoint_upstream
    downstream = translate(syncs, upstream)
    assert downstream is not None
    checkpoint = Checkpoint(GROUP, TOPIC, 0, upstream, downstream)
    return PartitionFacts(0, committed, checkpoint, rehearse(messages, committed, downstream), on_target)


#: 20 messages at source offsets 100..119, on the target at 500..519; MM2 synced offsets at 100 and 110 only.
MESSAGES = [Placed(i, 100 + i, 500 + i) for i in range(20)]
SYNCS = [OffsetSync(TOPIC, 0, 100, 500), OffsetSync(TOPIC, 0, 110, 510)]


def _judge(partitions, bounds=None, group_known=True, heartbeat_age_s=2.0):
    return judge("A->B", partitions, bounds or Bounds(), group_known=group_known, checkpoint_age_s=1.5,
                 heartbeat_age_s=heartbeat_age_s)


def test_a_fresh_exact_checkpoint_is_ready_with_nothing_lost_or_reread() -> None:
    r = _judge([_partition(110, SYNCS, MESSAGES)])
    assert (r.verdict, r.would_lose, r.would_reread, r.translated) == (READY, 0, 0, {0: 510}), r.reasons


def test_the_conservative_translation_rereads_and_is_ready_within_offset_lag_max() -> None:
    r = _judge([_partition(120, SYNCS, MESSAGES)])  # committed past the last sync: translated to 511, not 520
    assert (r.verdict, r.would_lose, r.would_reread) == (READY, 0, 9), r.reasons
    tight = _judge([_partition(120, SYNCS, MESSAGES)], Bounds(reread_max=5))
    assert tight.verdict == NOT_READY and "re-read 9" in tight.reasons[0]


def test_a_translation_ahead_of_the_commit_loses_messages_and_is_never_ready() -> None:
    ahead = PartitionFacts(0, 105, Checkpoint(GROUP, TOPIC, 0, 105, 512), rehearse(MESSAGES, 105, 512))
    r = _judge([ahead], Bounds(reread_max=10_000), heartbeat_age_s=1.0)
    assert r.verdict == NOT_READY and r.would_lose == 7 and "lose 7" in r.reasons[0]


@pytest.mark.parametrize("case, facts, kwargs, verdict, words", [
    ("stale checkpoint", lambda: [_partition(115, SYNCS, MESSAGES, checkpoint_upstream=110)], {}, NOT_READY,
     "stale"),
    ("no checkpoint", lambda: [PartitionFacts(0, 110)], {}, NOT_READY, "no checkpoint"),
    ("group not learnt yet", lambda: [PartitionFacts(0, 110)], {"group_known": False}, UNKNOWN, "next run"),
    ("heartbeats stale", lambda: [_partition(110, SYNCS, MESSAGES)], {"heartbeat_age_s": 300.0}, NOT_READY,
     "heartbeat is 300 s old"),
    ("no heartbeat read", lambda: [_partition(110, SYNCS, MESSAGES)], {"heartbeat_age_s": None}, UNKNOWN,
     "no heartbeat"),
    ("commit unreadable", lambda: [PartitionFacts(0, None)], {}, UNKNOWN, "could not be read"),
    ("nothing read", lambda: [], {}, UNKNOWN, "no partition"),
])
def test_each_gap_or_fault_has_its_verdict_and_names_why(case, facts, kwargs, verdict, words) -> None:
    r = _judge(facts(), **kwargs)
    assert r.verdict == verdict, (case, r.reasons)
    assert any(words in reason for reason in r.reasons), (case, r.reasons)


def test_group_sync_is_judged_only_when_mm2_syncs_and_names_the_target_groups_offset() -> None:
    synced = _judge([_partition(110, SYNCS, MESSAGES, on_target=510)], Bounds(sync_group_offsets=True))
    assert synced.verdict == READY and synced.synced_on_target is True
    blocked = _judge([_partition(110, SYNCS, MESSAGES, on_target=400)], Bounds(sync_group_offsets=True))
    assert blocked.verdict == NOT_READY and blocked.synced_on_target is False and "400" in blocked.reasons[0]
    assert _judge([_partition(110, SYNCS, MESSAGES)]).synced_on_target is None  # sync off: not judged


def test_the_runs_readiness_and_the_reports_shape() -> None:
    ready, not_ready = _judge([_partition(110, SYNCS, MESSAGES)]), _judge([PartitionFacts(0, 110)])
    unknown = _judge([PartitionFacts(0, None)])
    assert overall([ready, ready]) == READY and overall([ready, not_ready]) == NOT_READY
    assert overall([ready, unknown]) == UNKNOWN and overall([]) == UNKNOWN
    d = ready.to_dict([{"cause": "x"}])
    assert set(d) >= {"flow", "verdict", "checkpoint_age_s", "translated", "would_lose", "would_reread",
                      "heartbeat_age_s", "synced_on_target", "diagnoses"}
    assert d["translated"] == {"0": 510} and d["verdict"] == "READY"

"""The one-clock end-to-end watch's arithmetic and its wait (the consumer thread itself runs in the integration
tests, against the real target cluster)."""

from __future__ import annotations

import time

from mm2_smoke.e2e import CHAIN_FAULT, Result, Watch, not_watched


def watch(capacity: int = 10) -> Watch:
    return Watch({"bootstrap.servers": "127.0.0.1:1"}, "source.t", "run-1", capacity)  # never started


def test_latency_is_ack_to_arrival_per_message_and_duplicates_count_once() -> None:
    w = watch()
    for seq in range(1, 11):
        w.acked(seq, 100.0 + seq)
        w.arrived(seq, 100.0 + seq + seq / 100)  # message n takes n*10 ms
    w.arrived(3, 500.0)  # a duplicate: its first arrival stands
    r = w.result(10, "complete")
    assert (r.count, r.p50, r.max, r.complete) == (10, 50, 100, True)
    assert r.p99 == 100 and r.last_arrival_s == 110.1
    assert r.report() == {"p50": 50, "p95": 100, "p99": 100, "max": 100, "count": 10}


def test_messages_without_both_times_do_not_count_and_out_of_range_seqs_are_ignored() -> None:
    w = watch(5)
    w.acked(1, 1.0)
    w.arrived(1, 1.2)
    w.arrived(2, 1.3)  # never acknowledged (its delivery report was lost): no latency
    w.arrived(99, 1.0)
    w.acked(0, 1.0)
    r = w.result(5, "timeout")
    assert (r.count, r.p50, r.complete, r.fault) == (1, 200, False, "")
    assert w.seen() == 2


def test_the_wait_ends_at_completeness_a_chain_fault_or_its_bound() -> None:
    w = watch(3)
    for seq in (1, 2, 3):
        w.arrived(seq, time.time())
    assert w.wait(3, time.time() + 5) == "complete"
    faulty = watch(3)
    ended = faulty.wait(3, time.time() + 5, lambda: "connector: paused", check_every_s=0.01)
    assert ended == CHAIN_FAULT + "connector: paused"
    assert faulty.result(3, ended).fault == "connector: paused"
    assert watch(3).wait(3, time.time() + 0.1, lambda: None, check_every_s=0.01) == "timeout"


def test_a_result_round_trips_and_not_watched_says_why() -> None:
    r = not_watched("variant B's records carry no tag")
    assert Result.from_dict(r.to_dict()) == r and Result.from_dict(None) is None
    assert r.ended.startswith("not watched") and r.p50 is None and not r.complete


def test_a_large_disagreement_with_mirrormakers_metric_is_flagged_a_small_one_is_not() -> None:
    from mm2_smoke.checklist import baseline, e2e_notes
    from mm2_smoke.e2e import compare
    from mm2_smoke.report import build_report

    r = Result(100, 30, 60, 80, 90, True, "complete", 1.0)
    assert compare(r, 45.0, 120.0) is None  # 1.5x: agree
    assert compare(r, 70.0, 120.0) is None  # 2.3x
    assert compare(Result(100, 5, 9, 9, 9, True, "complete"), 30.0, 40.0) is None  # 6x but only 25 ms apart
    note = compare(r, 239.0, 263.0)
    assert note and "higher" in note and "p50 30 ms" in note and "clock" in note
    assert compare(r, None, None) is None and compare(None, 239.0, 263.0) is None
    produced = {"sent": 100, "delivered": 100, "e2e": r.to_dict()}
    base = baseline({"baseline": {"latency_avg_ms": 239.0, "latency_max_ms": 263.0}}, [], produced)
    assert (base["e2e_p50_ms"], base["e2e_p99_ms"], base["e2e_max_ms"]) == (30, 80, 90)
    assert len(e2e_notes(produced, base)) == 1
    report = build_report(dag_id="d", run_id="r", started_at="", finished_at="", checks=[], produced=produced,
                          count=None, baseline=base, replication=None, settings={}, notes=[])
    assert report["e2e_latency_ms"] == {"p50": 30, "p95": 60, "p99": 80, "max": 90, "count": 100}

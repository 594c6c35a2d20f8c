"""Step 1.2: the wait's states, the checks at the ratio's edge, and counter resets (an MM2 task restart mid-run
never gives a negative growth or a false GO)."""

from __future__ import annotations

import pytest

from mm2_smoke.checks import Check, Status, overall
from mm2_smoke.e2e import CHAIN_FAULT
from mm2_smoke.e2e import Result as Arrivals
from mm2_smoke.measured import Gap, Growth, Measured
from mm2_smoke.reconcile import confirm_by_target_count
from mm2_smoke.settings import SmokeSettings
from mm2_smoke.step_1_2_replication import (
    COUNTERS,
    Outcome,
    check_replication,
    checklist_part,
    replication_progress,
    reset_aware_growth,
)
from tests.support.fake_prometheus import FakePrometheus, Points

S = SmokeSettings()
T0 = 1000.0


def pts(*values: float, start: float = T0, step: float = 1.0) -> list[tuple[float, float]]:
    return [(start + i * step, v) for i, v in enumerate(values)]


def now(poll: float | None, write: float | None, topic: float | None, gap: Gap = Gap.NO_DATA) -> dict[str, Measured]:
    """The instant reading at the end of the wait (a None value: no series, or the given gap)."""
    def m(name: str, v: float | None) -> Measured:
        return Measured.of(name, v) if v is not None else Measured.missing(name, gap, f"{gap}: {name}")
    return {"poll_total": m("poll", poll), "write_total": m("write", write), "topic_record_count": m("topic", topic),
            "topics_replicated": m("topics", 1.0 if topic is not None else None)}


def grown(poll: float | None, write: float | None, topic: float | None, resets: int = 0,
          gap: Gap = Gap.NO_DATA) -> dict[str, Growth]:
    """Each counter's growth over the run (a None value: none could be measured, with ``gap``)."""
    return {n: Growth(n, v, series=1, resets=resets) if v is not None else Growth(n, gap=gap, reason=f"{gap}: {n}")
            for n, v in zip(COUNTERS, (poll, write, topic), strict=True)}


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


# --- checks ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("write_delta", "status"), [(99.0, Status.NOGO), (99.01, Status.GO), (100.0, Status.GO)])
def test_ratio_must_be_strictly_above_99_percent(write_delta: float, status: Status) -> None:
    checks = by_name(check_replication(now(1100, 1000 + write_delta, 100), grown(100, write_delta, 100), 100, S,
                                       "met"))
    assert checks["write_poll_ratio_pct"].status is status
    assert checks["write_poll_ratio_pct"].value == pytest.approx(write_delta)


def test_all_replicated_is_go() -> None:
    assert overall(check_replication(now(110, 110, 105), grown(100, 100, 100), 100, S, "met")) is Status.GO


def test_poll_did_not_move_is_nogo_with_the_runbook_cause() -> None:
    checks = by_name(check_replication(now(10, 10, 5), grown(0, 0, 0), 100, S, "stalled"))
    assert checks["poll_total_increase"].status is Status.NOGO
    assert "MM2 does not read the test topic" in checks["poll_total_increase"].reason
    assert checks["write_poll_ratio_pct"].status is Status.NOGO


def test_write_zero_while_poll_grew_is_nogo_writes_fail() -> None:
    checks = by_name(check_replication(now(110, 10, 105), grown(100, 0, 100), 100, S, "stalled"))
    assert checks["poll_total_increase"].status is Status.GO
    assert checks["write_poll_ratio_pct"].status is Status.NOGO
    assert "writes to the target fail" in checks["write_poll_ratio_pct"].reason


def test_no_series_is_unknown_never_go() -> None:
    checks = by_name(check_replication(now(None, None, None), grown(None, None, None), 100, S, "timeout"))
    assert checks["poll_total_increase"].status is Status.UNKNOWN
    assert checks["poll_total_increase"].gap is Gap.NO_DATA
    assert overall(checks.values()) is not Status.GO


def test_an_unreadable_counter_is_unknown_with_its_reason() -> None:
    growth = {**grown(100, 100, 100), "topic_record_count": Growth("t", gap=Gap.UNREACHABLE,
                                                                    reason="Prometheus unreachable")}
    c = by_name(check_replication(now(110, 110, 100), growth, 100, S, "met"))["topic_record_count_increase"]
    assert c.status is Status.UNKNOWN and c.gap is Gap.UNREACHABLE and c.reason == "Prometheus unreachable"


def test_topic_series_born_during_the_run_counts_from_zero() -> None:
    topic = reset_aware_growth([pts(40, 100, start=T0 + 5)], T0, 1.0)
    checks = by_name(check_replication(now(110, 110, 100), {**grown(100, 100, 0), "topic_record_count": topic},
                                       100, S, "met"))
    assert checks["topic_record_count_increase"].status is Status.GO


def test_nothing_delivered_cannot_be_checked() -> None:
    checks = check_replication(now(1, 1, 1), grown(0, 0, 0), 0, S, "nothing_delivered")
    assert [c.status for c in checks] == [Status.UNKNOWN] and checks[0].gap is Gap.NOT_MEASURED


# --- the wait ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("growth", "elapsed", "state"), [
    ((100, 100, 100), 1, Outcome.MET),
    ((50, 50, 50), 5, Outcome.WAITING),
    ((0, 0, 0), 29.9, Outcome.WAITING),
    ((0, 0, 0), 30, Outcome.STALLED),
    ((100, 0, 100), 30, Outcome.STALLED),
    ((50, 50, 50), 120, Outcome.TIMEOUT),
])
def test_replication_progress(growth: tuple[float, float, float], elapsed: float, state: Outcome) -> None:
    assert replication_progress(now(1, 1, 1), grown(*growth), 100, S, elapsed) is state


def test_replication_progress_series_gone_is_no_data() -> None:
    assert replication_progress(now(None, None, None), grown(None, None, None), 100, S, 29) is Outcome.WAITING
    assert replication_progress(now(None, None, None), grown(None, None, None), 100, S, 30) is Outcome.NO_DATA


def test_replication_progress_prometheus_down_is_unavailable() -> None:
    down, none = now(None, None, None, Gap.UNREACHABLE), grown(None, None, None, gap=Gap.UNREACHABLE)
    assert replication_progress(down, none, 100, S, 10) is Outcome.WAITING
    assert replication_progress(down, none, 100, S, 30) is Outcome.UNAVAILABLE
    assert replication_progress(down, none, 0, S, 30) is Outcome.NOTHING_DELIVERED


# --- counter resets ----------------------------------------------------------------------------------------
def test_growth_without_reset_is_last_minus_first() -> None:
    g = reset_aware_growth([pts(500, 520, 600)], T0, 1.0)
    assert (g.value, g.gap, g.resets, g.at_s) == (100.0, None, 0, T0 + 2)


def test_growth_across_a_reset_counts_the_new_values_and_never_goes_negative() -> None:
    # 1000 -> 1040 (40 of ours), task restart -> 0, then 60 more: growth 100, one reset.
    g = reset_aware_growth([pts(1000, 1040, 1040, 5, 60)], T0, 1.0)
    assert g.value == 100.0 and g.resets == 1
    # A plain after-before on the same numbers would be 60 - 1000 < 0.
    assert reset_aware_growth([pts(1000, 3)], T0, 1.0).value == 3.0


def test_series_born_after_the_start_grows_from_zero_and_series_are_summed() -> None:
    g = reset_aware_growth([pts(10, 20), pts(7, 9, start=T0 + 5)], T0, 1.0)
    assert g.value == 10 + 9


def test_no_series_or_only_nan_is_no_data_never_zero() -> None:
    g = reset_aware_growth([], T0, 1.0)
    assert g.value is None and g.gap is Gap.NO_DATA and "no data" in g.reason
    nan = reset_aware_growth([[]], T0, 1.0)
    assert nan.value is None and "NaN" in nan.reason


def test_reset_with_full_count_is_go_and_says_it_counted_across_the_reset() -> None:
    growth = grown(104.0, 104.0, 100.0, resets=1)
    # The instant values went down (1040 -> 60): the growth across the reset decides.
    checks = by_name(check_replication(now(60, 60, 60), growth, 100, S, "met"))
    assert checks["poll_total_increase"].status is Status.GO
    assert "counter reset" in checks["poll_total_increase"].evidence
    assert checks["write_poll_ratio_pct"].status is Status.GO
    assert replication_progress(now(60, 60, 60), growth, 100, S, 3) is Outcome.MET


def test_reset_with_a_shortfall_is_unknown_not_nogo_and_never_go() -> None:
    checks = by_name(check_replication(now(60, 60, 60), grown(93.0, 93.0, 93.0, resets=1), 100, S, "timeout"))
    assert checks["poll_total_increase"].status is Status.UNKNOWN
    assert checks["poll_total_increase"].gap is Gap.COUNTER_RESET
    assert "counter reset" in checks["poll_total_increase"].reason
    assert checks["topic_record_count_increase"].status is Status.UNKNOWN
    assert all(c.status is not Status.GO for c in checks.values() if c.name.endswith("_increase"))


def test_shortfall_without_reset_stays_nogo() -> None:
    checks = by_name(check_replication(now(50, 50, 50), grown(50.0, 50.0, 50.0), 100, S, "timeout"))
    assert checks["poll_total_increase"].status is Status.NOGO


def test_reset_shortfall_is_confirmed_only_by_an_exact_target_count() -> None:
    checks = check_replication(now(60, 60, 60), grown(147.0, 147.0, 147.0, resets=1), 150, S, "timeout")
    go_count = Check("1.4", "messages_on_target", 150, "150", Status.GO, "consumer")
    confirmed = by_name(confirm_by_target_count([*checks, go_count]))
    assert confirmed["poll_total_increase"].status is Status.GO
    assert "confirmed by step 1.4" in confirmed["poll_total_increase"].evidence
    missing = Check("1.4", "messages_on_target", 140, "150", Status.NOGO, "consumer", "10 missing")
    kept = by_name(confirm_by_target_count([*checks, missing]))
    assert kept["poll_total_increase"].status is Status.UNKNOWN
    # A shortfall without a reset is never upgraded to GO: the metrics disagree with the target, UNKNOWN.
    plain = check_replication(now(50, 50, 50), grown(50.0, 50.0, 50.0), 150, S, "timeout")
    disagree = by_name(confirm_by_target_count([*plain, go_count]))["poll_total_increase"]
    assert disagree.status is Status.UNKNOWN and disagree.gap is Gap.METRICS_DISAGREE
    assert disagree.reason.startswith("metrics disagree with the target count") and "fewer than" in disagree.reason


def test_a_task_restart_seen_on_the_task_counters_explains_a_topic_shortfall_without_its_own_reset() -> None:
    """CI: a just-created topic's task restarted after its first record; poll and write showed the reset, the topic's
    count (restarted at 1, read 99 later) did not: a reset's shortfall (UNKNOWN, GO once 1.4 counts every message),
    not "metrics disagree"."""
    growth = grown(100.0, 100.0, 99.0, resets=1)
    growth["topic_record_count"] = Growth("topic", 99.0, series=1, resets=0)
    done = arrivals(True, "complete")
    checks = check_replication(now(100, 100, 99), growth, 100, S, Outcome.METRICS_DISAGREE, 3.0, done)
    topic = by_name(checks)["topic_record_count_increase"]
    assert topic.status is Status.UNKNOWN and topic.gap is Gap.COUNTER_RESET and "task restarted" in topic.reason
    go_count = Check("1.4", "messages_on_target", 100, "100", Status.GO, "consumer")
    assert overall(confirm_by_target_count([*checks, go_count])) is Status.GO
    # Without a restart on the task's counters, the same shortfall is the metrics disagreeing (never GO).
    quiet = check_replication(now(100, 100, 99), grown(100.0, 100.0, 99.0), 100, S, Outcome.METRICS_DISAGREE, 3.0,
                              done)
    assert by_name(confirm_by_target_count([*quiet, go_count]))["topic_record_count_increase"].gap is \
        Gap.METRICS_DISAGREE


def test_a_stall_in_the_stores_data_time_not_the_wall_clock() -> None:
    # VictoriaMetrics hides its newest 30 s: 35 s after production its data reaches 5 s past the end.
    assert replication_progress(now(1, 1, 1), grown(0, 0, 0), 100, S, 35, data_since_end_s=5) is Outcome.WAITING
    assert replication_progress(now(1, 1, 1), grown(0, 0, 0), 100, S, 61, data_since_end_s=31) is Outcome.STALLED
    # No counter sample at all: the wall clock decides (the series are gone).
    assert replication_progress(now(None, None, None), grown(None, None, None), 100, S, 30) is Outcome.NO_DATA


def test_a_stalled_test_topic_on_a_busy_task_is_stalled_not_a_timeout() -> None:
    """A real chain's task replicates other topics too: its poll and write move while the test topic's own count
    does not (MM2 may not read it). The stall rule decides at 30 s of data, not the 120 s timeout."""
    busy = grown(500, 500, 0)
    assert replication_progress(now(1, 1, 1), busy, 100, S, 20, data_since_end_s=20) is Outcome.WAITING
    assert replication_progress(now(1, 1, 1), busy, 100, S, 31, data_since_end_s=31) is Outcome.STALLED
    checks = by_name(check_replication(now(1, 1, 1), busy, 100, S, Outcome.STALLED))
    assert checks["topic_record_count_increase"].status is Status.NOGO
    assert overall(list(checks.values())) is Status.NOGO
    # Some of the run's messages seen on target: MM2 did write them, the store's count lags; no stall.
    some = arrivals(False, "timeout", count=5)
    assert replication_progress(now(1, 1, 1), busy, 100, S, 31, 31, some) is Outcome.WAITING
    # The topic's count moving at all (slowly): not a stall either, the timeout decides.
    assert replication_progress(now(1, 1, 1), grown(500, 500, 3), 100, S, 31, 31) is Outcome.WAITING


def test_a_timeout_in_data_that_never_reached_production_end_is_unknown() -> None:
    checks = by_name(check_replication(now(10, 10, 0), grown(0, 0, 0), 100, S, "timeout",
                                       data_after_production_s=-12.0))
    assert {c.status for c in checks.values() if c.name != "topics_replicated"} == {Status.UNKNOWN}
    assert checks["poll_total_increase"].gap is Gap.STALE and "12 s before production ended" in \
        checks["poll_total_increase"].reason
    reached = by_name(check_replication(now(10, 10, 0), grown(0, 0, 0), 100, S, "timeout",
                                        data_after_production_s=90.0))
    assert reached["poll_total_increase"].status is Status.NOGO


def test_the_checklist_part_reads_the_steps_result_and_notes_resets() -> None:
    result = {"outcome": "met", "seconds_after_production": 2.5,
              "after": {k: m.to_dict() for k, m in now(110, 110, 100).items()},
              "growth": {k: g.to_dict() for k, g in grown(100, 100, 100, resets=2).items()}}
    checks, notes = checklist_part(S, result, 100)
    assert overall(checks) is Status.GO
    assert notes[0].startswith("MM2's task counters reset 2 time(s)") and "2.5 s after production" in notes[1]
    [unfinished], _ = checklist_part(S, None, None)
    assert unfinished.status is Status.UNKNOWN and unfinished.gap is Gap.NOT_MEASURED


# --- early evidence from step 1.1's one-clock watch ----------------------------------------------------------
def arrivals(complete: bool, ended: str, count: int = 100) -> Arrivals:
    return Arrivals(count, 40, 80, 90, 95, complete, ended, T0 + 11 if count else None)


def test_a_chain_fault_seen_while_awaiting_is_nogo_at_once_with_its_own_row() -> None:
    fault = arrivals(False, CHAIN_FAULT + "task: task 0 of x is FAILED: boom", count=3)
    assert replication_progress(now(1, 1, 1), grown(3, 3, 3), 100, S, 0.5, 0.0, fault) is Outcome.CHAIN_FAULT
    checks = check_replication(now(1, 1, 1), grown(3, 3, 3), 100, S, Outcome.CHAIN_FAULT, 0.5, fault)
    row = by_name(checks)["connector_state"]
    assert row.status is Status.NOGO and "FAILED: boom" in row.reason and "3 of 100 arrived" in row.evidence
    assert overall(checks) is Status.NOGO
    # Counters that already prove replication win over a fault seen later (it did not stop this run).
    assert replication_progress(now(1, 1, 1), grown(100, 100, 100), 100, S, 0.5, 0.0, fault) is Outcome.MET


def test_complete_arrivals_lift_the_stall_rule_and_disagreeing_counters_are_unknown() -> None:
    done = arrivals(True, "complete")
    # Counters still at 0 past the stall bound: the target has every message, so this is not a stall.
    assert replication_progress(now(1, 1, 1), grown(0, 0, 0), 100, S, 31, 31, done) is Outcome.WAITING
    assert replication_progress(now(1, 1, 1), grown(0, 0, 0), 100, S, 31, 31, done, True) is \
        Outcome.METRICS_DISAGREE
    checks = check_replication(now(1, 1, 1), grown(0, 0, 0), 100, S, Outcome.METRICS_DISAGREE, 31, done)
    assert {c.status for c in checks} <= {Status.UNKNOWN, Status.GO}
    poll = by_name(checks)["poll_total_increase"]
    assert poll.gap is Gap.METRICS_DISAGREE and "all 100 delivered messages arrived on the target" in poll.reason
    # The store being down is not a disagreement.
    down = now(None, None, None, Gap.UNREACHABLE)
    assert replication_progress(down, grown(None, None, None), 100, S, 31, None, done, True) is Outcome.WAITING
    # The store answers but has no counter at all (its scrape of MM2 broke): no data after the stall bound, not
    # a wait to the timeout.
    gone = now(None, None, None)
    assert replication_progress(gone, grown(None, None, None), 100, S, 29, None, done) is Outcome.WAITING
    assert replication_progress(gone, grown(None, None, None), 100, S, 31, None, done) is Outcome.NO_DATA
    # Without the watch, the runbook's 30 s rule stands.
    assert replication_progress(now(1, 1, 1), grown(0, 0, 0), 100, S, 31, 31, arrivals(False, "timeout", 0)) is \
        Outcome.STALLED


def test_the_growth_reads_raw_samples_up_to_the_newest_one() -> None:
    """The growth comes from each series' raw samples (an instant query of ``selector[<window>s]`` at the store's newest
    sample time), not from a range query's grid: VictoriaMetrics aligns a range to its step and pulls an end within
    its latency offset back, and a range ending at the newest sample once read 75 of 100 while the target held all
    100. A series' value at the start is the sample before its last one at or before the start (that one's scrape may
    have read records sent after the start); samples older than that do not count."""
    from mm2_smoke.step_1_2_replication import LOOKBACK_S, counter_growth

    # 20 long before, 40 at 995 (read before the start), 41 at 999.4 (its scrape read the run's first record), 140 at
    # the newest sample
    store = FakePrometheus(samples=lambda selector, window_s, at_s: (
        (700.0, 20.0), (995.0, 40.0), (999.4, 41.0), (1005.0, 110.0), (1012.7, 140.0)))

    growth = counter_growth(store, SmokeSettings(metric_profile="runbook"), 1000.0, 1012.7)
    assert {g.value for g in growth.values()} == {100.0}
    assert {g.at_s for g in growth.values()} == {1012.7}
    for _selector, window, at in store.asked("query_samples"):
        assert at == 1012.7 and window == 13 + LOOKBACK_S


def test_a_series_born_after_the_start_grows_from_zero_and_one_with_no_sample_before_counts_its_first() -> None:
    from mm2_smoke.step_1_2_replication import since_start

    assert since_start([(990.0, 5.0), (1001.0, 30.0)], 1000.0) == ((990.0, 5.0), (1001.0, 30.0))
    assert since_start([(980.0, 4.0), (985.0, 5.0), (999.9, 6.0), (1001.0, 30.0)], 1000.0) == \
        ((985.0, 5.0), (999.9, 6.0), (1001.0, 30.0))
    assert since_start([(1001.0, 30.0), (1006.0, 80.0)], 1000.0) == ((1001.0, 30.0), (1006.0, 80.0))
    born = reset_aware_growth([since_start([(1001.0, 30.0), (1006.0, 80.0)], 1000.0)], 1000.0)
    assert born.value == 80.0


def test_counters_sampled_before_production_ended_do_not_prove_replication() -> None:
    """An overlapping run's messages moved the counters past our delivered count before our production ended (seen
    in CI: step 1.2 met at data time -2.2 s, then step 1.3 had no sample past production end): wait for data past
    the end."""
    assert replication_progress(now(1, 1, 1), grown(240, 240, 240), 120, S, 1.3, -2.2) is Outcome.WAITING
    assert replication_progress(now(1, 1, 1), grown(240, 240, 240), 120, S, 3.5, 0.4) is Outcome.MET


def test_a_topic_created_for_the_run_counts_its_record_count_from_zero() -> None:
    """CI: the test topic was deleted and the pre-flight created it again. The old incarnation's per-topic series (21
    records, same labels) was the newest sample before the start; the new task's count reached 30 at its first
    scrape, not a drop, so it read as growth from 21: 79 of 100 while the target held all 100. A topic created for
    the run counts that series from 0; the task's counters (poll, write) keep their baseline."""
    from mm2_smoke.step_1_2_replication import counter_growth

    def samples(selector: str, window_s: int, at_s: float) -> Points:
        if "record_count" in selector:  # old incarnation at 21 until 985; the new one from 1003
            return (980.0, 21.0), (985.0, 21.0), (1003.0, 30.0), (1013.0, 100.0)
        return (995.0, 500.0), (999.0, 500.0), (1003.0, 530.0), (1013.0, 600.0)

    s = SmokeSettings(metric_profile="runbook")
    old = counter_growth(FakePrometheus(samples=samples), s, 1000.0, 1013.0)
    assert old["topic_record_count"].value == 79.0  # what CI read
    new = counter_growth(FakePrometheus(samples=samples), s, 1000.0, 1013.0, topic_new=True)
    assert new["topic_record_count"].value == 100.0
    assert new["poll_total"].value == old["poll_total"].value == 100.0

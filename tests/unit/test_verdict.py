"""The verdict logic at the thresholds' edges: GO only from positive evidence."""

from __future__ import annotations

import math

import pytest

from mm2_smoke.promql import Sample
from mm2_smoke.settings import SmokeSettings
from mm2_smoke.verdict import (
    Check,
    CountResult,
    Status,
    check_latency,
    check_produce,
    check_replication,
    check_target_count,
    counter_delta,
    lag_growing,
    missing_and_duplicates,
    overall,
    replication_progress,
)

S = SmokeSettings()


def smp(value: float | None, series: int = 1, error: str | None = None, q: str = "q") -> Sample:
    return Sample(q, value=value, series=series if value is not None else 0, error=error)


def counters(poll: float | None, write: float | None, topic: float | None) -> dict[str, Sample]:
    return {"poll_total": smp(poll, q="poll"), "write_total": smp(write, q="write"),
            "topic_record_count": smp(topic, q="topic"), "topics_replicated": smp(1.0, q="topics")}


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


# --- overall -------------------------------------------------------------------------------------
def test_overall_needs_positive_evidence() -> None:
    go = Check("1", "a", 1, "", Status.GO, "")
    unk = Check("1", "b", None, "", Status.UNKNOWN, "")
    nogo = Check("1", "c", 0, "", Status.NOGO, "")
    assert overall([go]) is Status.GO
    assert overall([]) is Status.UNKNOWN
    assert overall([go, unk]) is Status.UNKNOWN
    assert overall([go, unk, nogo]) is Status.NOGO


# --- 1.1 -----------------------------------------------------------------------------------------
def test_produce_all_delivered_is_go_any_failure_is_nogo() -> None:
    assert check_produce(100, 100, 100, 0, [], "ev")[0].status is Status.GO
    c = check_produce(100, 100, 99, 1, ["seq 7: timed out"], "ev")[0]
    assert c.status is Status.NOGO and "seq 7: timed out" in c.reason and "99/100" in c.reason


# --- 1.2 -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("write_delta", "status"), [(99.0, Status.NOGO), (99.01, Status.GO), (100.0, Status.GO)])
def test_ratio_must_be_strictly_above_99_percent(write_delta: float, status: Status) -> None:
    checks = by_name(check_replication(counters(1000, 1000, None), counters(1100, 1000 + write_delta, 100),
                                       100, S, "met"))
    assert checks["write_poll_ratio_pct"].status is status
    assert checks["write_poll_ratio_pct"].value == pytest.approx(write_delta)


def test_all_replicated_is_go() -> None:
    checks = check_replication(counters(10, 10, 5), counters(110, 110, 105), 100, S, "met")
    assert overall(checks) is Status.GO


def test_poll_did_not_move_is_nogo_with_the_runbook_cause() -> None:
    checks = by_name(check_replication(counters(10, 10, 5), counters(10, 10, 5), 100, S, "stalled"))
    assert checks["poll_total_increase"].status is Status.NOGO
    assert "MM2 does not read the test topic" in checks["poll_total_increase"].reason
    assert checks["write_poll_ratio_pct"].status is Status.NOGO


def test_write_zero_while_poll_grew_is_nogo_writes_fail() -> None:
    checks = by_name(check_replication(counters(10, 10, 5), counters(110, 10, 105), 100, S, "stalled"))
    assert checks["poll_total_increase"].status is Status.GO
    assert checks["write_poll_ratio_pct"].status is Status.NOGO
    assert "writes to the target fail" in checks["write_poll_ratio_pct"].reason


def test_empty_vector_is_unknown_never_go() -> None:
    checks = by_name(check_replication(counters(None, None, None), counters(None, None, None), 100, S, "timeout"))
    assert checks["poll_total_increase"].status is Status.UNKNOWN
    assert "empty result" in checks["poll_total_increase"].reason
    assert overall(checks.values()) is not Status.GO


def test_prometheus_error_before_never_counts_as_zero() -> None:
    before = counters(10, 10, None)
    before["topic_record_count"] = Sample("topic", error="Prometheus unreachable")
    checks = by_name(check_replication(before, counters(110, 110, 100), 100, S, "met"))
    assert checks["topic_record_count_increase"].status is Status.UNKNOWN


def test_topic_series_absent_before_means_zero_records() -> None:
    checks = by_name(check_replication(counters(10, 10, None), counters(110, 110, 100), 100, S, "met"))
    assert checks["topic_record_count_increase"].status is Status.GO


def test_counter_that_went_down_is_unknown_not_negative() -> None:
    delta, why = counter_delta(smp(500), smp(120))
    assert delta is None and "went down" in why
    checks = by_name(check_replication(counters(500, 500, 300), counters(120, 120, 120), 100, S, "met"))
    assert checks["poll_total_increase"].status is Status.UNKNOWN
    assert checks["poll_total_increase"].value is None


def test_nan_counter_is_unknown() -> None:
    delta, why = counter_delta(smp(1.0), smp(math.nan))
    assert delta is None and "NaN" in why


def test_nothing_delivered_cannot_be_checked() -> None:
    checks = check_replication(counters(1, 1, 1), counters(1, 1, 1), 0, S, "nothing_delivered")
    assert [c.status for c in checks] == [Status.UNKNOWN]


@pytest.mark.parametrize(("after", "elapsed", "state"), [
    (counters(110, 110, 100), 1, "met"),
    (counters(60, 60, 50), 5, "waiting"),
    (counters(10, 10, 0), 29.9, "waiting"),
    (counters(10, 10, 0), 30, "stalled"),
    (counters(110, 10, 100), 30, "stalled"),
    (counters(60, 60, 50), 120, "timeout"),
])
def test_replication_progress(after: dict[str, Sample], elapsed: float, state: str) -> None:
    assert replication_progress(counters(10, 10, None), after, 100, S, elapsed) == state


def test_replication_progress_series_gone_is_no_data() -> None:
    gone = counters(None, None, None)
    assert replication_progress(counters(10, 10, 0), gone, 100, S, 29) == "waiting"
    assert replication_progress(counters(10, 10, 0), gone, 100, S, 30) == "no_data"


def test_replication_progress_prometheus_down_is_unavailable() -> None:
    down = {k: Sample(k, error="connection refused") for k in ("poll_total", "write_total", "topic_record_count")}
    assert replication_progress(counters(10, 10, 0), down, 100, S, 10) == "waiting"
    assert replication_progress(counters(10, 10, 0), down, 100, S, 30) == "unavailable"


# --- 1.3 -----------------------------------------------------------------------------------------
def latency(avg: float | None, mx: float | None, lag: float | None = 0, window=(0, 0, 0), commit=5.0):
    return by_name(check_latency(smp(avg), smp(mx), smp(lag), list(window), "w", smp(commit), S))


@pytest.mark.parametrize(("avg", "status"), [(99.0, Status.GO), (99.99, Status.GO), (100.0, Status.NOGO)])
def test_avg_latency_edge(avg: float, status: Status) -> None:
    assert latency(avg, 10)["replication_latency_avg_ms"].status is status


@pytest.mark.parametrize(("mx", "status"), [(499.0, Status.GO), (500.0, Status.NOGO), (1059.0, Status.NOGO)])
def test_max_latency_edge(mx: float, status: Status) -> None:
    assert latency(10, mx)["replication_latency_max_ms"].status is status


@pytest.mark.parametrize("bad", [math.nan, -math.inf, math.inf, None])
def test_nan_inf_or_absent_latency_is_unknown(bad) -> None:
    c = latency(bad, 10)["replication_latency_avg_ms"]
    assert c.status is Status.UNKNOWN and c.value is None and "no data" in c.reason


def test_lag_level_and_trend() -> None:
    assert latency(10, 10, lag=99)["active_records_lag"].status is Status.GO
    assert latency(10, 10, lag=100)["active_records_lag"].status is Status.NOGO
    assert latency(10, 10, window=(1, 5, 9))["lag_stable"].status is Status.NOGO
    assert latency(10, 10, window=(9, 5, 9))["lag_stable"].status is Status.GO
    assert latency(10, 10, window=(3,))["lag_stable"].status is Status.UNKNOWN
    assert latency(10, 10, commit=1000.0)["offset_commit_max_time_ms"].status is Status.NOGO


def test_lag_growing() -> None:
    assert lag_growing([0, 1, 2])
    assert lag_growing([5, 5, 6])
    assert not lag_growing([5, 5, 5])
    assert not lag_growing([0, 3, 1])
    assert not lag_growing([4])


# --- 1.4 -----------------------------------------------------------------------------------------
def test_missing_and_duplicates_by_sequence() -> None:
    missing, dups = missing_and_duplicates(range(1, 6), [1, 2, 2, 4, 4, 4, 9])
    assert missing == [3, 5]
    assert dups == [2, 4]


def test_target_count_exact_by_default() -> None:
    assert check_target_count(CountResult(100, [], []), 100, S, "ev")[0].status is Status.GO
    c = check_target_count(CountResult(99, [42], []), 100, S, "ev")[0]
    assert c.status is Status.NOGO and "seq 42" in c.reason
    tolerant = SmokeSettings(missing_tolerance=1)
    assert check_target_count(CountResult(99, [42], []), 100, tolerant, "ev")[0].status is Status.GO


def test_zero_on_target_is_nogo_and_unreadable_target_is_unknown() -> None:
    c = check_target_count(CountResult(0, list(range(1, 101)), [], note="the remote topic does not exist"), 100, S, "e")
    assert c[0].status is Status.NOGO and "does not exist" in c[0].reason
    u = check_target_count(CountResult(0, [], [], error="not authorized"), 100, S, "e")[0]
    assert u.status is Status.UNKNOWN and u.reason == "not authorized"


def test_untagged_perf_test_records_are_counted_by_number() -> None:
    ok = CountResult(100, [], [], untagged=True)
    assert check_target_count(ok, 100, S, "ev")[0].status is Status.GO
    short = CountResult(97, [], [], untagged=True)
    c = check_target_count(short, 100, S, "ev")[0]
    assert c.status is Status.NOGO and "3 fewer records" in c.reason
    assert short.missing_count(100) == 3

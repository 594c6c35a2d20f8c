"""Step 1.3 at the thresholds' edges: NaN, ±Inf or nothing is UNKNOWN, never GO."""

from __future__ import annotations

import math

import pytest

from mm2_smoke.checks import Check, Status
from mm2_smoke.measured import Gap, Measured
from mm2_smoke.settings import SmokeSettings
from mm2_smoke.step_1_3_latency import check_latency, checklist_part, lag_growing
from tests.support.fake_prometheus import FakePrometheus, Points

S = SmokeSettings()


def smp(value: float | None) -> Measured:
    if value is None:
        return Measured.missing("q", Gap.NO_DATA, "no data: the query returned an empty result")
    return Measured.of("q", value)


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


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
    assert c.status is Status.UNKNOWN and c.value is None and "no data" in c.reason and c.gap is Gap.NO_DATA


def test_lag_level_and_trend() -> None:
    assert latency(10, 10, lag=99)["active_records_lag"].status is Status.GO
    assert latency(10, 10, lag=100)["active_records_lag"].status is Status.NOGO
    assert latency(10, 10, window=(1, 5, 19))["lag_stable"].status is Status.NOGO
    # A record in flight at a scrape is not a trend (seen with two overlapping runs: 0 -> 1).
    assert latency(10, 10, window=(0, 1))["lag_stable"].status is Status.GO
    assert latency(10, 10, window=(1, 5, 9))["lag_stable"].status is Status.GO
    assert latency(10, 10, window=(9, 5, 9))["lag_stable"].status is Status.GO
    assert latency(10, 10, window=(3,))["lag_stable"].status is Status.UNKNOWN
    assert latency(10, 10, window=(3, math.nan))["lag_stable"].status is Status.UNKNOWN
    assert latency(10, 10, commit=1000.0)["offset_commit_max_time_ms"].status is Status.NOGO


def test_lag_growing() -> None:
    assert lag_growing([0, 10, 20], 10)
    assert not lag_growing([0, 1, 2], 10)
    assert lag_growing([0, 1, 2])
    assert lag_growing([5, 5, 6])
    assert not lag_growing([5, 5, 5])
    assert not lag_growing([0, 3, 1])
    assert not lag_growing([4])


def test_a_step_that_did_not_finish_is_unknown() -> None:
    [c] = checklist_part(None)
    assert c.status is Status.UNKNOWN and c.gap is Gap.NOT_MEASURED


def fresh_store(value: float, newest: float) -> FakePrometheus:
    """A value per query, and each selector's newest sample time."""
    return FakePrometheus(values=value, newest=newest)


def test_a_value_older_than_production_is_no_data_yet_never_evidence() -> None:
    from mm2_smoke.step_1_3_latency import fresh_gauge

    fresh = fresh_gauge(fresh_store(42.0, newest=1010.0), "max(x)", "x", since_s=1000.0)
    assert fresh.ok and fresh.value == 42.0 and fresh.at_s == 1010.0
    old = fresh_gauge(fresh_store(42.0, newest=970.0), "max(x)", "x", since_s=1000.0)
    assert not old.ok and old.gap is Gap.STALE and "30.0 s older than the end of production" in old.reason
    assert below_is_unknown(old)


def below_is_unknown(m: Measured) -> bool:
    from mm2_smoke.checks import below

    return below("1.3", "x", m, 100).status is Status.UNKNOWN


def lag_store(second_after: int | None) -> FakePrometheus:
    """Gauges answer fresh; the lag's window holds one point at first, two from the ``second_after``-th range read."""
    def window(promql: str, start_s: float, end_s: float, step_s: float) -> Points:
        two = second_after is not None and store.range_reads >= second_after
        return ((start_s, 0.0), (start_s + step_s, 0.0)) if two else ((start_s, 0.0),)

    store = FakePrometheus(values=5.0, newest=2e9, ranges=window)
    return store


def test_a_one_point_lag_window_waits_for_the_next_point_then_is_unknown_if_none_comes() -> None:
    from mm2_smoke import step_1_3_latency as step

    s = S.with_profile("runbook")
    store = lag_store(second_after=3)
    out = step.latency_step(store, s, window_start_s=1e9, step_s=0.01)
    assert store.range_reads == 3 and by_name([Check.from_dict(c) for c in out["checks"]])["lag_stable"].status is Status.GO
    never = lag_store(second_after=None)
    out = step.latency_step(never, s, window_start_s=1e9, step_s=0.01)
    lag = by_name([Check.from_dict(c) for c in out["checks"]])["lag_stable"]
    assert lag.status is Status.UNKNOWN and "1 lag sample(s)" in lag.reason
    assert 2 <= never.range_reads <= step.LAG_WINDOW_WAIT_STEPS + 2

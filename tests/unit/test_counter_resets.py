"""Counter resets: an MM2 task restart mid-run never gives a negative delta or a false GO."""

from __future__ import annotations

import json

from mm2_smoke.promql import Sample, parse_range_series
from mm2_smoke.settings import SmokeSettings
from mm2_smoke.verdict import Growth, Status, check_replication, replication_progress, reset_aware_growth

S = SmokeSettings()
T0 = 1000.0


def pts(*values: float, start: float = T0, step: float = 1.0) -> list[tuple[float, float]]:
    return [(start + i * step, v) for i, v in enumerate(values)]


def counters(poll: float, write: float, topic: float) -> dict[str, Sample]:
    return {"poll_total": Sample("poll", poll, series=1), "write_total": Sample("write", write, series=1),
            "topic_record_count": Sample("topic", topic, series=1), "topics_replicated": Sample("t", 1.0, series=1)}


def test_growth_without_reset_is_last_minus_first() -> None:
    assert reset_aware_growth([pts(500, 520, 600)], T0, 1.0) == Growth(100.0, "", 0)


def test_growth_across_a_reset_counts_the_new_values_and_never_goes_negative() -> None:
    # 1000 -> 1040 (40 of ours), task restart -> 0, then 60 more: growth 100, one reset.
    g = reset_aware_growth([pts(1000, 1040, 1040, 5, 60)], T0, 1.0)
    assert g.value == 100.0 and g.resets == 1
    # A plain after-before on the same numbers would be 60 - 1000 < 0.
    assert reset_aware_growth([pts(1000, 3)], T0, 1.0).value == 3.0


def test_series_born_after_the_start_grows_from_zero_and_series_are_summed() -> None:
    g = reset_aware_growth([pts(10, 20), pts(7, 9, start=T0 + 5)], T0, 1.0)
    assert g.value == 10 + 9


def test_no_series_is_no_data_never_zero() -> None:
    g = reset_aware_growth([], T0, 1.0)
    assert g.value is None and "no data" in g.reason


def test_reset_with_full_count_is_go_and_says_it_counted_across_the_reset() -> None:
    growth = {"poll_total": Growth(104.0, "", 1), "write_total": Growth(104.0, "", 1),
              "topic_record_count": Growth(100.0, "", 1)}
    # Instant samples went down (1040 -> 60): without growth this is UNKNOWN; with it, GO.
    checks = {c.name: c for c in check_replication(counters(1000, 1000, 500), counters(60, 60, 60), 100, S, "met",
                                                   growth)}
    assert checks["poll_total_increase"].status is Status.GO
    assert "counter reset" in checks["poll_total_increase"].evidence
    assert checks["write_poll_ratio_pct"].status is Status.GO
    assert replication_progress(counters(1000, 1000, 500), counters(60, 60, 60), 100, S, 3, growth) == "met"


def test_reset_with_a_shortfall_is_unknown_not_nogo_and_never_go() -> None:
    growth = {"poll_total": Growth(93.0, "", 1), "write_total": Growth(93.0, "", 1),
              "topic_record_count": Growth(93.0, "", 1)}
    checks = {c.name: c for c in check_replication(counters(1000, 1000, 500), counters(60, 60, 60), 100, S,
                                                   "timeout", growth)}
    assert checks["poll_total_increase"].status is Status.UNKNOWN
    assert "counter reset" in checks["poll_total_increase"].reason
    assert checks["topic_record_count_increase"].status is Status.UNKNOWN
    assert all(c.status is not Status.GO for c in checks.values() if c.name.endswith("_increase"))


def test_shortfall_without_reset_stays_nogo() -> None:
    growth = {"poll_total": Growth(50.0), "write_total": Growth(50.0), "topic_record_count": Growth(50.0)}
    checks = {c.name: c for c in check_replication(counters(0, 0, 0), counters(50, 50, 50), 100, S, "timeout",
                                                   growth)}
    assert checks["poll_total_increase"].status is Status.NOGO


def test_growth_error_is_unknown_with_the_reason() -> None:
    growth = {"poll_total": Growth(None, "Prometheus answered HTTP 500: boom"), "write_total": Growth(1.0),
              "topic_record_count": Growth(1.0)}
    checks = {c.name: c for c in check_replication(counters(0, 0, 0), counters(1, 1, 1), 100, S, "timeout", growth)}
    assert checks["poll_total_increase"].status is Status.UNKNOWN
    assert "HTTP 500" in checks["poll_total_increase"].reason


def test_parse_range_series_reads_every_series_and_drops_nan() -> None:
    body = json.dumps({"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {"task": "0"}, "values": [[1, "5"], [2, "NaN"], [3, "7"]]},
        {"metric": {"task": "1"}, "values": [[1, "1"]]}]}})
    series, err = parse_range_series("q", 200, body)
    assert err is None and series == [[(1.0, 5.0), (3.0, 7.0)], [(1.0, 1.0)]]
    assert parse_range_series("q", 500, "oops")[1].startswith("Prometheus answered HTTP 500 with a non-JSON")
    assert "string" in parse_range_series("q", 200, json.dumps(
        {"status": "success", "data": {"resultType": "string", "result": [1, "x"]}}))[1]


def test_reset_shortfall_is_confirmed_only_by_an_exact_target_count() -> None:
    from mm2_smoke.verdict import Check, confirm_by_target_count

    growth = {"poll_total": Growth(147.0, "", 1), "write_total": Growth(147.0, "", 1),
              "topic_record_count": Growth(147.0, "", 1)}
    checks = check_replication(counters(1000, 1000, 500), counters(60, 60, 60), 150, S, "timeout", growth)
    go_count = Check("1.4", "messages_on_target", 150, "150", Status.GO, "consumer")
    confirmed = {c.name: c for c in confirm_by_target_count([*checks, go_count])}
    assert confirmed["poll_total_increase"].status is Status.GO
    assert "confirmed by step 1.4" in confirmed["poll_total_increase"].evidence
    missing = Check("1.4", "messages_on_target", 140, "150", Status.NOGO, "consumer", "10 missing")
    kept = {c.name: c for c in confirm_by_target_count([*checks, missing])}
    assert kept["poll_total_increase"].status is Status.UNKNOWN
    # A shortfall without a reset is never upgraded.
    plain = check_replication(counters(0, 0, 0), counters(50, 50, 50), 150, S, "timeout",
                              {k: Growth(50.0) for k in growth})
    assert {c.name: c for c in confirm_by_target_count([*plain, go_count])}["poll_total_increase"].status \
        is Status.NOGO

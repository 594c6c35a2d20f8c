"""The bombers' bookkeeping: percentiles, loss, duplicates, latency, summaries."""

from __future__ import annotations

from collections import Counter

import pytest

from mm2_smoke.bomber.client import Interrupted, RunError
from mm2_smoke.bomber.stats import (
    ConsumeSummary,
    ProduceSummary,
    SeqTracker,
    TopicConsumeStats,
    TopicProduceStats,
    percentile,
    render_consume,
    render_produce,
    table,
)


def test_percentile_is_nearest_rank() -> None:
    values = Counter(range(1, 101))  # 1..100, once each
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile(Counter({7: 3}), 1) == 7


def test_percentile_weights_repeated_values() -> None:
    counts = Counter({10: 98, 500: 2})
    assert percentile(counts, 50) == 10
    assert percentile(counts, 98) == 10
    assert percentile(counts, 99) == 500


def test_percentile_without_data_is_none_not_zero() -> None:
    assert percentile(Counter(), 50) is None
    with pytest.raises(ValueError):
        percentile(Counter({1: 1}), 0)


def test_seq_tracker_finds_duplicates_and_inner_gaps() -> None:
    t = SeqTracker()
    for seq in (1, 2, 2, 5, 4, 4, 4):
        t.add(seq)
    assert t.distinct == 4  # 1, 2, 4, 5
    assert t.duplicates == 3
    assert (t.lowest, t.highest) == (1, 5)
    assert t.gaps() == 1  # 3 is missing


def test_seq_tracker_grows_for_large_sequence_numbers() -> None:
    t = SeqTracker()
    assert t.add(100_000)
    assert not t.add(100_000)
    assert t.add(3)
    assert t.gaps() == 100_000 - 3 + 1 - 2


def test_seq_tracker_rejects_sequence_zero() -> None:
    with pytest.raises(ValueError):
        SeqTracker().add(0)


def test_topic_stats_per_producer_streams_loss_and_duplicates() -> None:
    s = TopicConsumeStats("t")
    now = 1_000.0
    for seq in (1, 2, 4):
        s.record(now, "run", "p1", seq, 999_990)
    s.record(now, "run", "p1", 2, 999_990)  # duplicate of p1/2
    for seq in (1, 2, 3):
        s.record(now, "run", "p2", seq, 999_995)  # same numbers, another producer: not duplicates
    s.record(now, None, None, None, None)  # untagged
    assert s.messages == 8
    assert s.tagged == 7
    assert s.foreign == 1
    assert s.distinct == 6
    assert s.duplicates == 1
    assert s.loss() == 1  # p1 lacks 3
    assert s.loss(expected=10) == 4  # 10 expected, 6 distinct


def test_latency_is_receive_clock_minus_tag_timestamp_and_ignores_duplicates() -> None:
    s = TopicConsumeStats("t")
    s.record(10.0, "r", "p", 1, 9_990)  # 10 ms
    s.record(10.5, "r", "p", 2, 9_990)  # 510 ms
    s.record(99.0, "r", "p", 2, 9_990)  # duplicate: not a latency sample
    assert s.latency() == {"p50_ms": 10, "p99_ms": 510, "max_ms": 510}
    assert TopicConsumeStats("empty").latency() == {"p50_ms": None, "p99_ms": None, "max_ms": None}


def test_rate_uses_the_first_to_last_window() -> None:
    s = TopicConsumeStats("t")
    for i in range(11):
        s.record(100.0 + i * 0.1, None, None, None, None)
    assert s.rate(elapsed_s=60) == pytest.approx(11 / 1.0)
    one = TopicConsumeStats("t")
    one.record(5.0, None, None, None, None)
    assert one.rate(elapsed_s=2.0) == 0.5


def test_consume_summary_flags_loss_not_duplicates() -> None:
    s = TopicConsumeStats("t")
    for seq in (1, 2, 2):
        s.record(1.0, "r", "p", seq, 900)
    assert ConsumeSummary([s], elapsed_s=1.0, expected=2).ok
    assert not ConsumeSummary([s], elapsed_s=1.0, expected=3).ok
    assert ConsumeSummary([s], elapsed_s=1.0, expected=3).loss == 1
    assert not ConsumeSummary([s], elapsed_s=1.0, error_count=1, errors=["x"]).ok


def test_produce_summary_totals_and_ok() -> None:
    a = TopicProduceStats("a", sent=10, delivered=10, bytes_sent=10_240)
    b = TopicProduceStats("b", sent=10, delivered=9, failed=1, bytes_sent=10_240)
    summary = ProduceSummary("run", [a, b], elapsed_s=2.0, max_gap_ms=101.0, nominal_interval_ms=100.0,
                             errors=[RunError("b key run:3: Broker: timed out", code=7)], error_count=1, send_span_s=1.9)
    assert summary.total.sent == 20 and summary.total.delivered == 19 and summary.total.failed == 1
    assert not summary.ok
    assert ProduceSummary("run", [a], 1.0, None, None).ok
    assert summary.achieved_rate(threads=1) == pytest.approx(19 / 1.9)
    d = summary.to_dict()
    assert d["total"]["sent"] == 20 and d["ok"] is False
    assert d["errors"] == ["b key run:3: Broker: timed out"] and d["stopped"] == ""


def test_unacknowledged_records_are_not_ok() -> None:
    pending = TopicProduceStats("a", sent=5, delivered=4)
    assert not ProduceSummary("run", [pending], 1.0, None, None).ok


def test_render_produce_shows_each_topic_total_gap_and_result() -> None:
    a = TopicProduceStats("topic-a", sent=600, delivered=600, bytes_sent=600 * 1024)
    b = TopicProduceStats("topic-b", sent=600, delivered=600, bytes_sent=600 * 1024)
    text = render_produce(ProduceSummary("run-1", [a, b], 60.0, 104.9, 100.0))
    assert "run id: run-1" in text
    assert "topic-a" in text and "topic-b" in text and "total" in text
    assert "1,200" in text
    assert "max gap between sends: 104.9 ms (nominal interval 100.0 ms)" in text
    assert text.endswith("result: OK")


def test_render_consume_shows_missing_latency_as_dash_and_loss_result() -> None:
    s = TopicConsumeStats("source.t")
    s.record(1.0, None, None, None, None)
    text = render_consume(ConsumeSummary([s], elapsed_s=1.0, expected=5))
    assert "expected per topic: 5" in text
    row = next(line for line in text.splitlines() if line.startswith("source.t"))
    assert row.split()[-3:] == ["-", "-", "-"]
    assert text.endswith("result: LOSS")


def test_table_aligns_numbers_right() -> None:
    text = table(["name", "n"], [["a", 5], ["bbb", 1234]])
    lines = text.splitlines()
    assert lines[2].endswith("    5")
    assert lines[3].endswith("1,234")


def test_errors_and_stop_reasons_are_worded_for_the_audience_when_rendered() -> None:
    stopped = RunError("{field} reached before the end offsets ({seconds:g} s)", {"field": "duration_s"}, seconds=60)
    summary = ConsumeSummary([TopicConsumeStats("t")], elapsed_s=60.0, stopped=stopped,
                             errors=[RunError("reading {topic}: {reason}", code=1, topic="t", reason="boom")],
                             error_count=1)
    assert "stopped early: duration_s reached before the end offsets (60 s)" in render_consume(summary)
    text = render_consume(summary, {"duration_s": "--duration-minutes"})
    assert "stopped early: --duration-minutes reached before the end offsets (60 s)" in text
    assert "  - reading t: boom" in text
    d = summary.to_dict({"duration_s": "--duration-minutes"})
    assert d["stopped"] == "--duration-minutes reached before the end offsets (60 s)" and d["errors"] == ["reading t: boom"]
    produced = ProduceSummary("run", [TopicProduceStats("t")], 1.0, None, None, stopped=Interrupted("interrupted (Ctrl-C)"))
    assert "stopped early: interrupted (Ctrl-C)" in render_produce(produced)

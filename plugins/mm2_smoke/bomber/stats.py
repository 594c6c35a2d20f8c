"""The bombers' bookkeeping: what was sent and delivered, what was read, lost, duplicated, and how late.

Pure logic, no Kafka client: the runners of :mod:`mm2_smoke.bomber` feed it, the tests drive it directly. Errors
are kept typed (:class:`~mm2_smoke.errors.Mm2SmokeError`, worded neutrally) and worded for their audience when
rendered: ``names`` maps their fields to the audience's names (the CLIs' flags).

Loss and duplicates are found per *stream*: the messages of one producer (``run`` + ``pid`` of the run
tag, :mod:`mm2_smoke.message`) on one topic, numbered by ``seq`` from 1. End-to-end latency is the
consumer's clock at receipt minus the tag's ``ts`` (the producer's clock at send): when the two run on
different hosts, their clock skew adds to it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from mm2_smoke.errors import Mm2SmokeError

#: A megabyte as Kafka's perf tools count it (2^20 bytes), so that MB/s figures compare.
MB = 1024 * 1024
#: First delivery or client errors kept for the summary (the rest are only counted).
MAX_ERRORS_KEPT = 5


def percentile(counts: Counter[int], q: float) -> int | None:
    """The ``q``-th percentile (nearest rank, 0 < q <= 100) of values given as ``{value: occurrences}``.

    :return: None when there is no value (no data is not zero).
    """
    total = sum(counts.values())
    if total == 0:
        return None
    if not 0 < q <= 100:
        raise ValueError(f"percentile q={q} must be in (0, 100]")
    rank = max(1, math.ceil(q / 100 * total))
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= rank:
            return value
    return max(counts)  # unreachable: the ranks add up to total


class SeqTracker:
    """Which sequence numbers of one stream arrived, in a bitmap (1 byte per number up to the highest seen)."""

    def __init__(self) -> None:
        self._seen = bytearray()
        self.distinct = 0
        self.duplicates = 0
        self.lowest = 0
        self.highest = 0

    def add(self, seq: int) -> bool:
        """Record ``seq`` (from 1); False when it was seen before (a duplicate)."""
        if seq < 1:
            raise ValueError(f"sequence number {seq} must be 1 or more")
        if seq > len(self._seen):
            self._seen.extend(bytes(max(seq - len(self._seen), len(self._seen) // 2, 64)))
        if self._seen[seq - 1]:
            self.duplicates += 1
            return False
        self._seen[seq - 1] = 1
        self.distinct += 1
        self.highest = max(self.highest, seq)
        self.lowest = seq if self.lowest == 0 else min(self.lowest, seq)
        return True

    def gaps(self) -> int:
        """Numbers missing between the lowest and the highest seen (a loss at either end is not visible)."""
        return 0 if self.distinct == 0 else self.highest - self.lowest + 1 - self.distinct


@dataclass
class TopicConsumeStats:
    """What the consumer read from one topic.

    :param messages: every record read (tagged or not, duplicates included).
    :param tagged: records carrying a run tag that the consumer counts (of ``--run-id`` if given).
    :param foreign: records without a run tag, or of another run than ``--run-id``.
    :param first_s: consumer clock (s since the epoch) at the first record; 0 before any.
    :param last_s: consumer clock at the last record.
    """

    topic: str
    messages: int = 0
    tagged: int = 0
    foreign: int = 0
    first_s: float = 0.0
    last_s: float = 0.0
    streams: dict[tuple[str, str], SeqTracker] = field(default_factory=dict)
    latency_ms: Counter[int] = field(default_factory=Counter)

    def record(self, received_s: float, run_id: str | None, producer_id: str | None, seq: int | None,
               ts_ms: int | None) -> None:
        """Account one record; ``run_id`` None means untagged (or not of the run the consumer counts)."""
        self.messages += 1
        if self.first_s == 0.0:
            self.first_s = received_s
        self.last_s = received_s
        if run_id is None or producer_id is None or seq is None or ts_ms is None:
            self.foreign += 1
            return
        self.tagged += 1
        tracker = self.streams.setdefault((run_id, producer_id), SeqTracker())
        if tracker.add(seq):
            self.latency_ms[max(0, int(received_s * 1000) - ts_ms)] += 1

    @property
    def distinct(self) -> int:
        """Distinct tagged messages (each stream's sequence numbers counted once)."""
        return sum(t.distinct for t in self.streams.values())

    @property
    def duplicates(self) -> int:
        return sum(t.duplicates for t in self.streams.values())

    def loss(self, expected: int | None = None) -> int:
        """Tagged messages missing: ``expected`` minus distinct when given, else the gaps inside each stream."""
        if expected is not None:
            return max(0, expected - self.distinct)
        return sum(t.gaps() for t in self.streams.values())

    def rate(self, elapsed_s: float) -> float:
        """Records per second: over first→last record when there are two or more, else over ``elapsed_s``."""
        window = self.last_s - self.first_s
        if self.messages >= 2 and window > 0:
            return self.messages / window
        return self.messages / elapsed_s if elapsed_s > 0 else 0.0

    def latency(self) -> dict[str, int | None]:
        """End-to-end latency of the distinct tagged messages, in ms: p50, p99, max (None without data)."""
        return {"p50_ms": percentile(self.latency_ms, 50), "p99_ms": percentile(self.latency_ms, 99),
                "max_ms": max(self.latency_ms) if self.latency_ms else None}


@dataclass
class TopicProduceStats:
    """What the producer sent to one topic, and what the brokers acknowledged.

    :param sent: records handed to the client.
    :param delivered: records acknowledged by the brokers (per ``--acks``).
    :param failed: records whose delivery report was an error (or that never got one).
    :param bytes_sent: value bytes of the records sent.
    :param failed_seqs: run-tag sequence numbers of the records whose delivery failed.
    """

    topic: str
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    bytes_sent: int = 0
    failed_seqs: list[int] = field(default_factory=list)

    def merge(self, other: TopicProduceStats) -> None:
        self.sent += other.sent
        self.delivered += other.delivered
        self.failed += other.failed
        self.bytes_sent += other.bytes_sent
        self.failed_seqs += other.failed_seqs


@dataclass
class ProduceSummary:
    """The producer bomber's outcome: per topic, the send pacing, and the errors.

    :param elapsed_s: from the first send to the last delivery report, in seconds.
    :param max_gap_ms: longest time between two consecutive sends of one thread, in ms (None: < 2 sends).
    :param nominal_interval_ms: the interval the rate asks of each thread, in ms (None: unthrottled).
    :param errors: the first errors (delivery reports, client errors), typed.
    :param error_count: every error, including those not kept.
    :param stopped: why production ended before its planned end (None when it did not): Ctrl-C, or the fatal
        client error that stopped it.
    :param transient_errors: client errors the client recovered from (e.g. a dropped connection, retried).
    :param send_span_s: from the first send to the last (of any thread), in seconds.
    :param started_ms: wall clock of the first send, in ms since the epoch.
    :param finished_ms: wall clock when the run ended (last delivery report), in ms since the epoch.
    """

    run_id: str
    topics: list[TopicProduceStats]
    elapsed_s: float
    max_gap_ms: float | None
    nominal_interval_ms: float | None
    errors: list[Mm2SmokeError] = field(default_factory=list)
    error_count: int = 0
    stopped: Mm2SmokeError | None = None
    transient_errors: int = 0
    send_span_s: float = 0.0
    started_ms: int = 0
    finished_ms: int = 0

    @property
    def total(self) -> TopicProduceStats:
        total = TopicProduceStats("total")
        for t in self.topics:
            total.merge(t)
        return total

    def achieved_rate(self, threads: int = 1) -> float | None:
        """Sends per second over the send span: (sent - threads) / span (None before two sends per thread)."""
        sent = self.total.sent
        if self.send_span_s <= 0 or sent <= threads:
            return None
        return (sent - threads) / self.send_span_s

    @property
    def ok(self) -> bool:
        """No failed delivery, no error, and every record sent was acknowledged."""
        total = self.total
        return total.failed == 0 and self.error_count == 0 and total.delivered == total.sent

    def to_dict(self, names: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The summary as JSON-ready data, its errors worded with ``names`` (see :func:`worded`)."""
        d = asdict(replace(self, errors=[], stopped=None))
        d.update(errors=[e.worded(names) for e in self.errors], stopped=worded(self.stopped, names),
                 total=asdict(self.total), ok=self.ok)
        return d


@dataclass
class ConsumeSummary:
    """The consumer bomber's outcome.

    :param expected: tagged messages expected per topic (``--expect-messages``), or None.
    :param elapsed_s: from the start of consumption to its end, in seconds.
    :param errors: the first errors (client and read errors), typed.
    :param stopped: why consumption ended early (None when it did not): Ctrl-C, a fatal client error, the duration
        before the end offsets.
    :param finished: which stop condition was met ('' when the duration ran out).
    :param transient_errors: client errors the client recovered from.
    """

    topics: list[TopicConsumeStats]
    elapsed_s: float
    expected: int | None = None
    errors: list[Mm2SmokeError] = field(default_factory=list)
    error_count: int = 0
    stopped: Mm2SmokeError | None = None
    finished: str = ""
    transient_errors: int = 0

    @property
    def loss(self) -> int:
        return sum(t.loss(self.expected) for t in self.topics)

    @property
    def ok(self) -> bool:
        """No client error and no loss (duplicates are reported but tolerated: delivery is at-least-once)."""
        return self.error_count == 0 and self.loss == 0

    def topic_rows(self) -> list[dict[str, Any]]:
        rows = []
        for t in self.topics:
            rows.append({"topic": t.topic, "messages": t.messages, "rate": round(t.rate(self.elapsed_s), 1),
                         "tagged": t.tagged, "distinct": t.distinct, "loss": t.loss(self.expected),
                         "duplicates": t.duplicates, "foreign": t.foreign, **t.latency()})
        return rows

    def to_dict(self, names: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The summary as JSON-ready data, its errors worded with ``names`` (see :func:`worded`)."""
        return {"topics": self.topic_rows(), "elapsed_s": round(self.elapsed_s, 3), "expected": self.expected,
                "errors": [e.worded(names) for e in self.errors], "error_count": self.error_count,
                "stopped": worded(self.stopped, names),
                "finished": self.finished, "transient_errors": self.transient_errors, "loss": self.loss,
                "ok": self.ok}


# --- rendering -------------------------------------------------------------------------------------
def worded(error: Mm2SmokeError | None, names: Mapping[str, str] | None = None) -> str:
    """An error's message, its fields named as ``names`` says ('' for None).

    :param names: field -> the audience's name for it (e.g. ``{"record_size": "--record-size"}``); absent fields keep
        their neutral name.
    """
    return "" if error is None else error.worded(names)


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table, columns padded, numbers right-aligned; None shows as '-'."""

    def cell(v: Any) -> str:
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:,.2f}" if abs(v) < 10 else f"{v:,.1f}"
        if isinstance(v, int):
            return f"{v:,}"
        return str(v)

    cells = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]
    numeric = [all(isinstance(row[i], int | float) or row[i] is None for row in rows) and rows for i in range(len(header))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True))

    out = [line(header), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells]
    return "\n".join(s.rstrip() for s in out)


def render_produce(summary: ProduceSummary, names: Mapping[str, str] | None = None) -> str:
    """The producer's final summary table, with its run id, pacing and errors (worded with ``names``)."""
    rows = []
    elapsed = max(summary.elapsed_s, 1e-9)
    for t in [*summary.topics, summary.total] if len(summary.topics) > 1 else summary.topics:
        rows.append([t.topic, t.sent, t.delivered, t.failed, t.sent / elapsed, t.bytes_sent / elapsed / MB])
    lines = [f"run id: {summary.run_id}   elapsed: {summary.elapsed_s:.1f} s",
             table(["topic", "sent", "delivered", "failed", "msg/s", "MB/s"], rows)]
    if summary.max_gap_ms is not None:
        nominal = f" (nominal interval {summary.nominal_interval_ms:.1f} ms)" if summary.nominal_interval_ms else ""
        lines.append(f"max gap between sends: {summary.max_gap_ms:.1f} ms{nominal}")
    lines += _tail(summary.stopped, summary.errors, summary.error_count, summary.transient_errors, names)
    lines.append("result: OK" if summary.ok else "result: ERRORS")
    return "\n".join(lines)


def render_consume(summary: ConsumeSummary, names: Mapping[str, str] | None = None) -> str:
    """The consumer's final summary table: per topic messages, rate, loss, duplicates, latency (errors worded with
    ``names``)."""
    keys = ["topic", "messages", "rate", "distinct", "loss", "duplicates", "foreign", "p50_ms", "p99_ms", "max_ms"]
    header = ["topic", "messages", "msg/s", "tagged", "loss", "dups", "untagged/other run", "e2e p50 ms", "p99 ms",
              "max ms"]
    rows = [[r[k] for k in keys] for r in summary.topic_rows()]
    expected = f"   expected per topic: {summary.expected}" if summary.expected is not None else ""
    finished = f"   stopped: {summary.finished}" if summary.finished else ""
    lines = [f"elapsed: {summary.elapsed_s:.1f} s{expected}{finished}", table(header, rows)]
    lines += _tail(summary.stopped, summary.errors, summary.error_count, summary.transient_errors, names)
    if summary.expected is None and any(t.streams for t in summary.topics):
        expect = (names or {}).get("expect_per_topic", "expect_per_topic")
        lines.append(f"loss: gaps inside each producer's sequence (give {expect} to see a loss at the end)")
    lines.append("result: OK" if summary.ok else "result: ERRORS" if summary.error_count else "result: LOSS")
    return "\n".join(lines)


def _tail(stopped: Mm2SmokeError | None, errors: Sequence[Mm2SmokeError], error_count: int, transient: int,
          names: Mapping[str, str] | None) -> list[str]:
    lines = [f"stopped early: {worded(stopped, names)}"] if stopped else []
    if transient:
        lines.append(f"transient client errors (retried by the client): {transient}")
    if error_count:
        more = f" (first {len(errors)} shown)" if error_count > len(errors) else ""
        lines.append(f"errors: {error_count}{more}")
        lines += [f"  - {e.worded(names)}" for e in errors]
    return lines

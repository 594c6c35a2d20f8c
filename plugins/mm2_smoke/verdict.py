"""Verdict logic: measured values in, check results out. Pure: no I/O, no Airflow.

Three verdicts, never two: GO needs positive evidence; NOGO is evidence of a fault; UNKNOWN is "could
not measure". Every check records its step, name, measured value, threshold, status and the query or
probe that produced it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from mm2_smoke.promql import Sample
from mm2_smoke.settings import SmokeSettings


class Status(StrEnum):
    GO = "GO"
    NOGO = "NOGO"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True)
class Check:
    """One line of evidence.

    :param step: runbook step (``1.1`` .. ``1.4``).
    :param name: what was checked (stable identifier, e.g. ``poll_total_increase``).
    :param value: measured value (None when nothing could be measured).
    :param threshold: the GO condition, in words (``> 99 %``).
    :param status: GO, NOGO or UNKNOWN.
    :param evidence: the PromQL or probe that produced the value.
    :param reason: why it is not GO (empty for GO).
    """

    step: str
    name: str
    value: float | int | str | None
    threshold: str
    status: Status
    evidence: str
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["status"] = self.status.value
        if isinstance(self.value, float) and not math.isfinite(self.value):
            d["value"] = str(self.value)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Check:
        return cls(**{**d, "status": Status(d["status"])})


def overall(checks: Iterable[Check]) -> Status:
    """NOGO if any check is NOGO, else UNKNOWN if any is UNKNOWN (or there are none), else GO."""
    statuses = [c.status for c in checks]
    if Status.NOGO in statuses:
        return Status.NOGO
    if not statuses or Status.UNKNOWN in statuses:
        return Status.UNKNOWN
    return Status.GO


def _unknown(step: str, name: str, threshold: str, evidence: str, reason: str) -> Check:
    return Check(step, name, None, threshold, Status.UNKNOWN, evidence, reason)


# --- step 1.1 ------------------------------------------------------------------------------------
def check_produce(requested: int, sent: int, delivered: int, failed: int, first_errors: Sequence[str],
                  evidence: str, setup_error: str = "") -> list[Check]:
    """Step 1.1: every requested message delivered (acks=all) and no delivery error.

    :param setup_error: nothing could be produced because the smoke test's own connection does not work
        (credentials, host, TLS): UNKNOWN, since nothing about the chain was measured.
    """
    threshold = f"{requested} delivered, 0 errors"
    if setup_error and delivered == 0:
        return [Check("1.1", "messages_produced", 0, threshold, Status.UNKNOWN, evidence,
                      f"nothing produced: {setup_error}")]
    if failed or delivered < requested:
        why = f"{delivered}/{requested} delivered, {failed} failed"
        if first_errors:
            why += ": " + "; ".join(first_errors[:3])
        return [Check("1.1", "messages_produced", delivered, threshold, Status.NOGO, evidence, why)]
    return [Check("1.1", "messages_produced", delivered, threshold, Status.GO, evidence)]


# --- step 1.2 ------------------------------------------------------------------------------------
def counter_delta(before: Sample, after: Sample, absent_before_is_zero: bool = False) -> tuple[float | None, str]:
    """The growth of a counter between two samples, or None with the reason it cannot be trusted.

    :param absent_before_is_zero: an empty "before" answer means the series did not exist yet (a
        per-topic counter before the topic's first record); a failed query never counts as zero.
    """
    if after.error is not None:
        return None, f"after: {after.reason()}"
    if not after.ok:
        return None, f"after: {after.reason()}"
    if before.error is not None:
        return None, f"before: {before.reason()}"
    if before.empty and absent_before_is_zero:
        base = 0.0
    elif not before.ok:
        return None, f"before: {before.reason()}"
    else:
        base = float(before.value)  # type: ignore[arg-type]
    assert after.value is not None
    if after.value < base:
        return None, (f"the counter went down ({base:g} -> {after.value:g}): the MM2 task restarted and its "
                      "counters reset, so this run's growth cannot be measured")
    return after.value - base, ""


@dataclass(frozen=True)
class Growth:
    """How much a counter grew over the run, counted across resets; or why it cannot be known.

    :param value: the growth (never negative); None when it cannot be measured.
    :param reason: why there is no value ('' when there is one).
    :param resets: resets seen in the window (a restarted MM2 task starts its counters from 0).
    """

    value: float | None
    reason: str = ""
    resets: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Growth:
        return cls(**d)


def reset_aware_growth(series: Sequence[Sequence[tuple[float, float]]], start_s: float, step_s: float) -> Growth:
    """The growth since ``start_s`` of a counter summed over its series, safe against counter resets.

    Each series is ``[(t, value), ...]`` from a range query starting at ``start_s``. A series present at
    ``start_s`` grows from its value there; one that appears later did not exist at the start and grows
    from 0. A value lower than the one before is a reset (the task restarted and counts again from 0):
    the new value is all growth. Growth is never negative.
    """
    if not series:
        return Growth(None, "no data: the counter has no series in the run's window")
    if not any(series):
        return Growth(None, "no data: the counter reads NaN (no finite value in the run's window)")
    total = 0.0
    resets = 0
    for points in series:
        if not points:
            continue
        first_t, prev = points[0]
        if first_t > start_s + step_s / 2:
            total += prev  # born after the start: counted from 0
        for _t, v in points[1:]:
            if v < prev:
                resets += 1
                total += v
            else:
                total += v - prev
            prev = v
    return Growth(total, "", resets)


def _growth(name: str, before: dict[str, Sample], after: dict[str, Sample], growth: dict[str, Growth] | None,
            absent_before_is_zero: bool = False) -> tuple[float | None, str, int]:
    g = (growth or {}).get(name)
    if g is not None:
        return g.value, g.reason, g.resets
    d, why = counter_delta(before[name], after[name], absent_before_is_zero)
    return d, why, 0


RESET_SHORTFALL = ("a counter reset (MM2 task restart) during the run may have lost up to one scrape interval of "
                   "counts, so a shortfall is not evidence of loss: step 1.4 counts the messages exactly")


def confirm_by_target_count(checks: list[Check]) -> list[Check]:
    """Step 1.2 checks left UNKNOWN by a counter reset become GO when step 1.4 found every delivered message on
    the target exactly (the reset lost counts, not records): positive evidence from the target itself."""
    count = next((c for c in checks if c.name == "messages_on_target"), None)
    if count is None or count.status is not Status.GO:
        return checks
    out = []
    for c in checks:
        if c.step == "1.2" and c.status is Status.UNKNOWN and c.reason == RESET_SHORTFALL:
            c = Check(c.step, c.name, c.value, c.threshold, Status.GO,
                      f"{c.evidence}; confirmed by step 1.4: every delivered message is on the target")
        out.append(c)
    return out


def _reset_note(resets: int) -> str:
    return f" [{resets} counter reset(s) in the window: counted across them]" if resets else ""


def check_replication(before: dict[str, Sample], after: dict[str, Sample], delivered: int,
                      settings: SmokeSettings, outcome: str, growth: dict[str, Growth] | None = None) -> list[Check]:
    """Step 1.2: poll grew by the delivered count, write ≈ poll, the test topic is replicated.

    :param before: samples of ``poll_total``, ``write_total``, ``topic_record_count`` before production.
    :param after: the same (and ``topics_replicated``) when the sensor finished.
    :param delivered: messages delivered in step 1.1.
    :param outcome: how the sensor ended: ``met``, ``stalled``, ``timeout`` or ``unavailable``.
    :param growth: reset-safe growth of the counters over the run (:func:`reset_aware_growth`); when given,
        it replaces ``after - before``. A shortfall after a counter reset is UNKNOWN, not NOGO: the reset may
        have lost up to one scrape interval of counts.
    """
    if delivered <= 0:
        return [_unknown("1.2", "replication", "delivered messages replicated", after["poll_total"].query,
                         "step 1.1 delivered no message, so replication could not be checked")]
    checks: list[Check] = []
    poll_d, poll_why, poll_resets = _growth("poll_total", before, after, growth)
    write_d, write_why, write_resets = _growth("write_total", before, after, growth)
    topic_d, topic_why, topic_resets = _growth("topic_record_count", before, after, growth, absent_before_is_zero=True)
    ev_poll = after["poll_total"].query + _reset_note(poll_resets)
    ev_write = after["write_total"].query + _reset_note(write_resets)
    need = f">= +{delivered}"
    reset_why = RESET_SHORTFALL

    if poll_d is None:
        checks.append(_unknown("1.2", "poll_total_increase", need, ev_poll, poll_why))
    elif poll_d >= delivered and delivered > 0:
        checks.append(Check("1.2", "poll_total_increase", poll_d, need, Status.GO, ev_poll))
    elif poll_resets and poll_d > 0:
        checks.append(Check("1.2", "poll_total_increase", poll_d, need, Status.UNKNOWN, ev_poll, reset_why))
    else:
        why = "poll_total did not move: MM2 does not read the test topic" if poll_d == 0 else \
            f"poll_total grew by {poll_d:g}, fewer than the {delivered} delivered"
        checks.append(Check("1.2", "poll_total_increase", poll_d, need, Status.NOGO, ev_poll, why))

    if topic_d is None:
        checks.append(_unknown("1.2", "topic_record_count_increase", need, after["topic_record_count"].query,
                               topic_why))
    elif topic_d >= delivered and delivered > 0:
        checks.append(Check("1.2", "topic_record_count_increase", topic_d, need, Status.GO,
                            after["topic_record_count"].query + _reset_note(topic_resets)))
    elif topic_resets and topic_d > 0:
        checks.append(Check("1.2", "topic_record_count_increase", topic_d, need, Status.UNKNOWN,
                            after["topic_record_count"].query + _reset_note(topic_resets), reset_why))
    else:
        checks.append(Check("1.2", "topic_record_count_increase", topic_d, need, Status.NOGO,
                            after["topic_record_count"].query,
                            f"MM2 replicated {topic_d:g} records of {settings.remote_topic}, fewer than the "
                            f"{delivered} delivered"))

    ratio_threshold = f"> {settings.ratio_min_pct:g} %"
    ratio_ev = f"100 * ({ev_write} delta) / ({ev_poll} delta)"
    if poll_d is None or write_d is None:
        checks.append(_unknown("1.2", "write_poll_ratio_pct", ratio_threshold, ratio_ev, poll_why or write_why))
    elif poll_d <= 0:
        if outcome in ("stalled", "timeout"):
            checks.append(Check("1.2", "write_poll_ratio_pct", None, ratio_threshold, Status.NOGO, ratio_ev,
                                f"no record polled or written {settings.write_stall_timeout_s} s after production"))
        else:
            checks.append(_unknown("1.2", "write_poll_ratio_pct", ratio_threshold, ratio_ev,
                                   "no record polled: the ratio is undefined"))
    else:
        ratio = 100.0 * write_d / poll_d
        if ratio > settings.ratio_min_pct:
            checks.append(Check("1.2", "write_poll_ratio_pct", round(ratio, 3), ratio_threshold, Status.GO, ratio_ev))
        else:
            why = (f"write_total did not move in {settings.write_stall_timeout_s} s while poll_total grew: "
                   "writes to the target fail") if write_d == 0 else f"only {ratio:.2f} % of polled records written"
            checks.append(Check("1.2", "write_poll_ratio_pct", round(ratio, 3), ratio_threshold, Status.NOGO,
                                ratio_ev, why))

    topics = after.get("topics_replicated")
    if topics is None or not topics.ok:
        checks.append(_unknown("1.2", "topics_replicated", ">= 1, test topic among them",
                               topics.query if topics else "", topics.reason() if topics else "not measured"))
    else:
        test_topic_seen = after["topic_record_count"].ok
        status = Status.GO if topics.value >= 1 and test_topic_seen else Status.NOGO  # type: ignore[operator]
        why = "" if status is Status.GO else (
            f"the test topic {settings.remote_topic} has no MM2 metrics" if not test_topic_seen
            else "no topic replicated")
        checks.append(Check("1.2", "topics_replicated", topics.value, ">= 1, test topic among them", status,
                            topics.query, why))
    return checks


def replication_progress(before: dict[str, Sample], now: dict[str, Sample], delivered: int,
                         settings: SmokeSettings, since_production_end_s: float,
                         growth: dict[str, Growth] | None = None) -> str:
    """Where step 1.2's wait stands: ``met``, ``waiting``, ``stalled``, ``unavailable``, ``timeout``, or
    ``nothing_delivered`` (step 1.1 delivered nothing: there is nothing to wait for).

    ``met``: the topic's record count and poll_total grew by the delivered count and write/poll is above the
    ratio threshold. ``stalled``: write_total has not moved ``write_stall_timeout_s`` after production ended.
    ``unavailable``: Prometheus could not be read at all by then. ``no_data``: it answers, but without
    write_total (series gone: the MM2 task or its exporter is down). ``timeout``: ``replication_timeout_s``
    passed without ``met``.
    """
    if delivered <= 0:
        return "nothing_delivered"
    poll_d, _, _ = _growth("poll_total", before, now, growth)
    write_d, _, _ = _growth("write_total", before, now, growth)
    topic_d, _, _ = _growth("topic_record_count", before, now, growth, absent_before_is_zero=True)
    if (delivered > 0 and poll_d is not None and write_d is not None and topic_d is not None
            and topic_d >= delivered and poll_d >= delivered and 100.0 * write_d / poll_d > settings.ratio_min_pct):
        return "met"
    if since_production_end_s >= settings.write_stall_timeout_s:
        if all(s.error is not None for s in now.values()):
            return "unavailable"
        if write_d == 0:
            return "stalled"
        if write_d is None and not now["write_total"].ok:
            return "no_data"
    if since_production_end_s >= settings.replication_timeout_s:
        return "timeout"
    return "waiting"


# --- step 1.3 ------------------------------------------------------------------------------------
def _below(step: str, name: str, sample: Sample, limit: float, unit: str) -> Check:
    threshold = f"< {limit:g}{unit}"
    if not sample.ok:
        return _unknown(step, name, threshold, sample.query, sample.reason())
    value = float(sample.value)  # type: ignore[arg-type]
    if value < limit:
        return Check(step, name, value, threshold, Status.GO, sample.query)
    return Check(step, name, value, threshold, Status.NOGO, sample.query, f"{value:g}{unit} is not below {limit:g}{unit}")


def lag_growing(values: Sequence[float]) -> bool:
    """Lag grows when its samples never go down over the window and end higher than they started."""
    if len(values) < 2:
        return False
    return all(b >= a for a, b in zip(values, values[1:], strict=False)) and values[-1] > values[0]


def check_latency(avg: Sample, max_: Sample, lag: Sample, lag_window: Sequence[float], lag_window_query: str,
                  commit_max: Sample, settings: SmokeSettings) -> list[Check]:
    """Step 1.3: latency avg/max, lag level and trend, offset commit max time."""
    checks = [
        _below("1.3", "replication_latency_avg_ms", avg, settings.latency_avg_max_ms, " ms"),
        _below("1.3", "replication_latency_max_ms", max_, settings.latency_max_max_ms, " ms"),
        _below("1.3", "active_records_lag", lag, settings.lag_max, ""),
    ]
    finite = [v for v in lag_window if math.isfinite(v)]
    if len(finite) < 2:
        checks.append(_unknown("1.3", "lag_stable", "not growing over the window", lag_window_query,
                               f"{len(finite)} lag sample(s) in the window: need 2 or more"))
    elif lag_growing(finite):
        checks.append(Check("1.3", "lag_stable", f"{finite[0]:g} -> {finite[-1]:g}", "not growing over the window",
                            Status.NOGO, lag_window_query, f"lag grew over {len(finite)} samples without going down"))
    else:
        checks.append(Check("1.3", "lag_stable", f"{finite[0]:g} -> {finite[-1]:g}", "not growing over the window",
                            Status.GO, lag_window_query))
    checks.append(_below("1.3", "offset_commit_max_time_ms", commit_max, settings.offset_commit_max_ms, " ms"))
    return checks


# --- step 1.4 ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CountResult:
    """This run's messages as found on the target's remote topic.

    :param received: distinct sequence numbers of this run found.
    :param missing: delivered sequence numbers not found.
    :param duplicates: sequence numbers found more than once.
    :param foreign: messages read that belong to other runs or producers.
    :param error: why the target could not be read (None when it was).
    :param note: what else a reader should know (e.g. the remote topic does not exist).
    :param untagged: the records had no run tag (Kafka's perf-test): ``received`` counts every record on the
        remote topic since production started, and missing/duplicates cannot be named by sequence number.
    """

    received: int
    missing: list[int]
    duplicates: list[int]
    foreign: int = 0
    error: str | None = None
    note: str = ""
    untagged: bool = False

    def missing_count(self, delivered: int) -> int:
        return max(0, delivered - self.received) if self.untagged else len(self.missing)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def missing_and_duplicates(delivered_seqs: Iterable[int], seen: Sequence[int]) -> tuple[list[int], list[int]]:
    """Sequence numbers delivered but never seen, and those seen more than once (each listed once)."""
    counts: dict[int, int] = {}
    for s in seen:
        counts[s] = counts.get(s, 0) + 1
    missing = sorted(s for s in set(delivered_seqs) if s not in counts)
    dups = sorted(s for s, n in counts.items() if n > 1)
    return missing, dups


def check_target_count(count: CountResult, delivered: int, settings: SmokeSettings, evidence: str) -> list[Check]:
    """Step 1.4: every delivered message of this run is on the target (tolerance: ``missing_tolerance``)."""
    threshold = f"{delivered} of this run (missing <= {settings.missing_tolerance})"
    if delivered <= 0:
        return [_unknown("1.4", "messages_on_target", threshold, evidence,
                         "step 1.1 delivered no message, so there is nothing to count on target")]
    if count.error is not None:
        return [_unknown("1.4", "messages_on_target", threshold, evidence, count.error)]
    if count.received == 0:
        why = f"0 messages of this run on {settings.remote_topic}"
        return [Check("1.4", "messages_on_target", 0, threshold, Status.NOGO, evidence,
                      f"{why}: {count.note}" if count.note else why)]
    if count.untagged:
        missing = count.missing_count(delivered)
        if missing > settings.missing_tolerance:
            return [Check("1.4", "messages_on_target", count.received, threshold, Status.NOGO, evidence,
                          f"{missing} fewer records than delivered (untagged records, counted by time)")]
        return [Check("1.4", "messages_on_target", count.received, threshold, Status.GO, evidence)]
    if len(count.missing) > settings.missing_tolerance:
        shown = ", ".join(map(str, count.missing[:20])) + (" ..." if len(count.missing) > 20 else "")
        return [Check("1.4", "messages_on_target", count.received, threshold, Status.NOGO, evidence,
                      f"{len(count.missing)} missing (seq {shown})")]
    return [Check("1.4", "messages_on_target", count.received, threshold, Status.GO, evidence)]

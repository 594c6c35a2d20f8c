"""Runbook step 1.2, "Vérification réplication": MM2 polled and wrote the delivered messages.

The whole step lives here: the counters recorded before production, the reading of their growth (from the store's
raw samples, safe against counter resets), the state of the wait (:func:`replication_progress`, used by the sensor in its
worker and by the trigger in the triggerer alike), the checks, and the step's part of the checklist.

GO needs the test topic's MirrorSourceConnector ``record_count`` and ``poll_total`` grown by the delivered
count, and write/poll above the ratio threshold. NOGO: write_total has not moved ``write_stall_timeout_s``
after production ended (the runbook's "write_total = 0 après 30 secondes"), nor the test topic's own record_count
while the task's counters move with its other topics (a real chain's traffic), counted in the metrics store's data
time (its newest sample), not the wall clock: a store that lags (VictoriaMetrics hides its newest 30 s by default)
is slower to decide, never wrong.

Early evidence (step 1.1's one-clock watch, :mod:`mm2_smoke.e2e`) decides sooner than the 30 s rule: a certain fault
of the chain seen while the messages were awaited (connector or task absent, paused, failed) is NOGO at the first
check; every delivered message seen on the target lifts the stall rule (MM2 did write), and counters that still
do not show it once the store's data covers the last arrival are "metrics disagree" (UNKNOWN), not NOGO.

Pure but for the ``prom`` argument (a :class:`~mm2_smoke.hooks.PrometheusHook`, or anything with its
``query``/``query_samples`` methods).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from mm2_smoke.checks import Check, Status
from mm2_smoke.e2e import Result as Arrivals
from mm2_smoke.measured import Gap, Growth, Measured
from mm2_smoke.payloads import GrowthDict, MeasuredDict, ReplicationResult, WaitProduced
from mm2_smoke.promql import Prometheus
from mm2_smoke.registry import spec
from mm2_smoke.settings import SmokeSettings

log = logging.getLogger(__name__)

#: The counters whose growth step 1.2 measures.
COUNTERS = ("poll_total", "write_total", "topic_record_count")
#: What the wait reads at each check (the counters' current sums, and how many topics MM2 replicates).
INSTANT = (*COUNTERS, "topics_replicated")
#: What of step 1.1's result the wait reads (:class:`~mm2_smoke.payloads.WaitProduced`): all the trigger gets (a field
#: missing here is missing in the triggerer).
PRODUCED_FIELDS = tuple(WaitProduced.__annotations__)
#: What of the run's settings the wait reads: the queries' (naming profile, connector selector, the remote topic's
#: naming), the rules' thresholds and timeouts, and the check interval. All the trigger gets (a field missing here
#: has its default in the triggerer).
SETTINGS_FIELDS = ("metric_profile", "connector_regex", "topic_prefix", "source_alias", "target_alias",
                   "replication_separator", "replication_policy", "ratio_min_pct", "write_stall_timeout_s", "replication_timeout_s",
                   "poke_interval_s")
#: How far past the last arrival on the target the store's data must reach before counters that do not show the
#: arrivals are taken as disagreeing (MM2 counts a write when the target acknowledges it, which the watch reads).
ARRIVAL_MARGIN_S = 1.0


#: How far before production start the growth looks for each series' last sample (Prometheus' default lookback: a
#: series with no sample in the 5 minutes before the start did not exist then, and grows from 0).
LOOKBACK_S = 300


class Outcome(StrEnum):
    """Where the wait stands."""

    MET = "met"  # replication proven
    WAITING = "waiting"
    STALLED = "stalled"  # write_total or the test topic's record_count still, write_stall_timeout_s after production
    UNAVAILABLE = "unavailable"  # Prometheus could not be read at all by then
    NO_DATA = "no_data"  # Prometheus answers, but without write_total (the task or its exporter is down)
    TIMEOUT = "timeout"  # replication_timeout_s passed without MET
    CHAIN_FAULT = "chain_fault"  # the watch saw a certain fault of the connector or a task while awaiting arrivals
    METRICS_DISAGREE = "metrics_disagree"  # every message arrived on the target; counters covering it do not say so
    NOTHING_DELIVERED = "nothing_delivered"  # step 1.1 delivered nothing: nothing to wait for


# --- measuring ---------------------------------------------------------------------------------------------
def instant_queries(settings: SmokeSettings) -> dict[str, str]:
    """The PromQL the wait reads at each check, by measurement name."""
    q = settings.queries.all()
    return {name: q[name] for name in INSTANT}


def record_counters(prom: Prometheus, settings: SmokeSettings) -> dict[str, MeasuredDict]:
    """Before producing: the counters as they stand (the runbook's "+100 after sending" starts here).

    Evidence for the report; the growth itself is read from raw samples since production start
    (:func:`counter_growth`).
    """
    samples = {name: prom.query(settings.queries.all()[name]) for name in COUNTERS}
    for name, s in samples.items():
        log.info("before production: %s = %s", name, s.value if s.ok else s.reason)
    return {name: s.to_dict() for name, s in samples.items()}


def reset_aware_growth(series: Sequence[Sequence[tuple[float, float]]], start_s: float, step_s: float = 0.0,
                       source: str = "") -> Growth:
    """The growth since ``start_s`` of a counter summed over its series, safe against counter resets.

    Each series is ``[(t, value), ...]``, oldest first, starting at or before ``start_s`` when the series existed
    then (:func:`since_start` trims raw samples so). A series present at ``start_s`` grows from its value there; one
    whose first point is later (more than ``step_s / 2``) did not exist at the start and grows from 0. A value lower
    than the one before is a reset (the task restarted and counts again from 0): the new value is all growth.
    Growth is never negative.
    """
    if not series:
        return Growth(source, gap=Gap.NO_DATA, reason="no data: the counter has no series in the run's window")
    if not any(series):
        return Growth(source, gap=Gap.NO_DATA,
                      reason="no data: the counter reads NaN (no finite value in the run's window)")
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
    newest = max((p[-1][0] for p in series if p), default=None)
    return Growth(source, total, series=len(series), at_s=newest, resets=resets)


def since_start(points: Sequence[tuple[float, float]], start_s: float) -> tuple[tuple[float, float], ...]:
    """A series' raw samples from its value at ``start_s`` onwards: from the sample *before* its last one at or before
    the start, when it has two.

    A sample's timestamp is when its scrape began; the exporter reads the values after (a JMX exporter scrape of a
    Connect worker takes up to a second, several on big workers), so the last sample stamped before the start may
    hold records sent after it, and a baseline taken from it would miss them. A store scrapes a target one scrape at a time,
    so the sample before it was read before that one began: before the start. What it adds is at most one scrape
    interval of other traffic (MM2's heartbeats in poll and write), never less than this run's own records.
    """
    before = [i for i, (t, _v) in enumerate(points) if t <= start_s]
    if not before:
        return tuple(points)
    return tuple(points[before[-2] if len(before) > 1 else before[-1]:])


def counter_growth(prom: Prometheus, settings: SmokeSettings, start_s: float, now_s: float | None = None,
                   topic_new: bool = False) -> dict[str, Growth]:
    """Each counter's growth since ``start_s`` (production start) up to ``now_s``, from each series' raw samples.

    One instant query of a range selector (``selector[<window>s]`` evaluated at ``now_s``) returns the samples as the
    store holds them, with their own timestamps, in Prometheus and VictoriaMetrics alike. A range query would not: its
    points sit on a grid the store may move (VictoriaMetrics aligns start and end to the step and pulls an end within
    ``-search.latencyOffset`` of now back, so a range ending at the newest sample read 75 of 100 while the target held
    all 100). ``measure`` passes the store's newest sample time as ``now_s``, so the growth holds every sample the
    store shows.

    :param topic_new: the test topic was created for this run: its record_count series before the start belong to a
        deleted topic of the same name (MM2's old task keeps them: the old incarnation's count taken as the new one's
        baseline would hide records), so that counter grows from 0 from the run's own samples.
    """
    now_s = time.time() if now_s is None else now_s
    window = int(math.ceil(max(0.0, now_s - start_s))) + LOOKBACK_S
    out = {}
    for name, selector in settings.queries.counter_series().items():
        answer = prom.query_samples(selector, window, now_s)
        if answer.gap is not None and answer.gap is not Gap.NO_DATA:
            out[name] = Growth(selector, gap=answer.gap, reason=answer.reason)
        else:
            if topic_new and name == "topic_record_count":
                points = [tuple(pt for pt in p if pt[0] > start_s) for p in answer.points]
                out[name] = reset_aware_growth([p for p in points if p] or points, start_s, 0.0, selector)
            else:
                out[name] = reset_aware_growth([since_start(p, start_s) for p in answer.points], start_s, 0.0,
                                               selector)
    return out


def ratio_met(write: float, poll: float, settings: SmokeSettings) -> bool:
    """The runbook's GO rule for writes: ``100 · write / poll`` above the ratio threshold (poll > 0)."""
    return poll > 0 and 100.0 * write / poll > settings.ratio_min_pct


def replication_progress(now: dict[str, Measured], growth: dict[str, Growth], delivered: int,
                         settings: SmokeSettings, since_production_end_s: float,
                         data_since_end_s: float | None = None, arrivals: Arrivals | None = None,
                         arrivals_covered: bool = False) -> Outcome:
    """Where the wait stands, from one reading of the counters (see :class:`Outcome`).

    :param since_production_end_s: wall-clock seconds since production ended (the timeout's clock).
    :param data_since_end_s: how far past production end the store's data reaches (its newest counter sample minus
        production end); the stall rule's clock. None when no counter has a sample: the wall clock then.
    :param arrivals: step 1.1's one-clock watch (None when none ran).
    :param arrivals_covered: the store's data reaches :data:`ARRIVAL_MARGIN_S` past the watch's last arrival.
    """
    if delivered <= 0:
        return Outcome.NOTHING_DELIVERED
    poll, write, topic = (growth[n].value for n in COUNTERS)
    # Counters read from samples taken before production ended cannot prove this run's messages were replicated
    # (other traffic, or an overlapping run, may have moved them): MET needs the store's data past production end.
    data_past_end = data_since_end_s is None or data_since_end_s >= 0
    if (poll is not None and write is not None and topic is not None and topic >= delivered
            and poll >= delivered and ratio_met(write, poll, settings) and data_past_end):
        return Outcome.MET
    if arrivals is not None and arrivals.fault:
        return Outcome.CHAIN_FAULT
    if arrivals is not None and arrivals.complete:
        # MM2 wrote every message (the target has them): no stall to wait for, only the store to catch up.
        if arrivals_covered and not any(s.unreachable for s in now.values()):
            return Outcome.METRICS_DISAGREE
        if (since_production_end_s >= settings.write_stall_timeout_s and write is None
                and not now["write_total"].ok and not now["write_total"].unreachable):
            # the target has every message, the store has no counter at all: waiting longer measures nothing
            return Outcome.NO_DATA
        return Outcome.TIMEOUT if since_production_end_s >= settings.replication_timeout_s else Outcome.WAITING
    covered = since_production_end_s if data_since_end_s is None else data_since_end_s
    if covered >= settings.write_stall_timeout_s:
        if all(s.unreachable for s in now.values()):
            return Outcome.UNAVAILABLE
        if write == 0:
            return Outcome.STALLED
        if topic == 0 and (arrivals is None or arrivals.count == 0):
            # The task's counters move with its other topics' records (a real chain's traffic): the test topic's
            # own count not moving, and none of its messages seen on target, is the same stall for this run.
            return Outcome.STALLED
        if write is None and not now["write_total"].ok:
            return Outcome.NO_DATA
    if since_production_end_s >= settings.replication_timeout_s:
        return Outcome.TIMEOUT
    return Outcome.WAITING


def data_time(prom: Prometheus, settings: SmokeSettings) -> Measured:
    """The newest sample of the task counters (``max(timestamp(...))``): how far the store's data reaches."""
    return prom.query(f"max(timestamp({settings.queries.counter_series()['write_total']}))")


def measure(prom: Prometheus, settings: SmokeSettings, produced: WaitProduced
            ) -> tuple[Outcome, dict[str, Measured], dict[str, Growth]]:
    """One check of the wait: read the counters, decide where it stands. What the sensor and the trigger run.

    The reading's ``data_time`` entry holds the newest counter sample (its value a time, seconds since the epoch).

    :param produced: step 1.1's result (:data:`PRODUCED_FIELDS`).
    """
    now = {name: prom.query(q) for name, q in instant_queries(settings).items()}
    newest = data_time(prom, settings)
    up_to = newest.number
    start_s = produced["started_ms"] / 1000
    growth = counter_growth(prom, settings, start_s, up_to if up_to is not None and up_to > start_s else None,
                            bool(produced.get("topic_new")))
    end_s = produced["finished_ms"] / 1000
    arrivals = Arrivals.from_dict(produced.get("e2e"))
    covered = (up_to is not None and arrivals is not None and arrivals.last_arrival_s is not None
               and up_to >= arrivals.last_arrival_s + ARRIVAL_MARGIN_S)
    outcome = replication_progress(now, growth, produced["delivered"], settings, time.time() - end_s,
                                   up_to - end_s if up_to is not None else None, arrivals, covered)
    return outcome, {**now, "data_time": newest}, growth


def result(outcome: Outcome | str, now: dict[str, MeasuredDict], growth: dict[str, GrowthDict],
           before: dict[str, MeasuredDict], produced: WaitProduced, decided_at_s: float) -> ReplicationResult:
    """The step's result (its XCom): how the wait ended, the last reading, when it was decided, and how far past
    production the store's data reached then (``data_after_production_s``; None when unknown)."""
    end_s = produced["finished_ms"] / 1000
    newest = Measured.from_dict(now["data_time"]).number if "data_time" in now else None
    return {"outcome": str(outcome), "after": now, "before": before, "delivered": produced["delivered"],
            "growth": growth, "decided_at_s": decided_at_s,
            "seconds_after_production": round(decided_at_s - end_s, 3), "arrivals": produced.get("e2e"),
            "data_after_production_s": round(newest - end_s, 3) if newest is not None else None}


def wait_produced(produced: Mapping[str, Any]) -> WaitProduced:
    """What of step 1.1's result (its XCom) the wait reads (:data:`PRODUCED_FIELDS`)."""
    return {"delivered": produced["delivered"], "started_ms": produced["started_ms"],
            "finished_ms": produced["finished_ms"], "e2e": produced.get("e2e"),
            "topic_new": bool(produced.get("topic_new"))}


def wait_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """What of a settings dict (``SmokeSettings.to_dict()``) the wait reads (:data:`SETTINGS_FIELDS`)."""
    return {k: settings[k] for k in SETTINGS_FIELDS if k in settings}


_D = TypeVar("_D", covariant=True)


class _Readable(Protocol[_D]):
    def to_dict(self) -> _D: ...


def as_dicts(readings: Mapping[str, _Readable[_D]]) -> dict[str, _D]:
    """Readings as they travel (``Measured.to_dict``, ``Growth.to_dict``), by name."""
    return {k: m.to_dict() for k, m in readings.items()}


# --- checking ----------------------------------------------------------------------------------------------
RESET_SHORTFALL = ("a counter reset (MM2 task restart) during the run may have lost up to one scrape interval of "
                   "counts, so a shortfall is not evidence of loss: step 1.4 counts the messages exactly")


def _reset_note(resets: int) -> str:
    return f" [{resets} counter reset(s) in the window: counted across them]" if resets else ""


#: Why a counter that shows no reset may still have lost counts when MM2's task restarted.
RESTART_SHORTFALL = ("MM2's task restarted during the run (its task counters reset): this counter restarted from 0 "
                     "too, and a restart at a count no higher than its next reading does not show as a drop")


POLL, TOPIC, RATIO, TOPICS, STATE, NOT_RUN = (spec(n) for n in (
    "poll_total_increase", "topic_record_count_increase", "write_poll_ratio_pct", "topics_replicated",
    "connector_state", "replication"))


def _growth_check(name: str, g: Growth, delivered: int, evidence: str, nogo_reason: str,
                  task_restarts: int = 0) -> Check:
    """GO when ``g`` reached the delivered count; UNKNOWN after a reset's shortfall or without a value; else NOGO.

    :param task_restarts: resets seen on the MM2 task's own counters (poll, write): a restart resets every metric of
        the task, but a counter restarted at a low count (a per-topic count that had counted 1 record) reads as
        growth, not as a reset, so its shortfall is a reset's too (a just-created topic's task that restarts after
        its first record: poll and write show the reset, the topic's count a shortfall of one without a reset).
    """
    check = spec(name)
    need = check.threshold(delivered=delivered)
    evidence += _reset_note(g.resets)
    if g.value is None:
        return check.unknown(need, evidence, g.reason, g.gap or Gap.NO_DATA)
    if g.value >= delivered:
        return check.go(g.value, need, evidence)
    if g.resets and g.value > 0:
        return check.unknown(need, evidence, RESET_SHORTFALL, Gap.COUNTER_RESET, g.value)
    if task_restarts and g.value > 0:
        return check.unknown(need, evidence, f"{RESTART_SHORTFALL}; {RESET_SHORTFALL}", Gap.COUNTER_RESET, g.value)
    return check.nogo(g.value, need, evidence, nogo_reason)


def check_replication(after: dict[str, Measured], growth: dict[str, Growth], delivered: int,
                      settings: SmokeSettings, outcome: str, data_after_production_s: float | None = None,
                      arrivals: Arrivals | None = None) -> list[Check]:
    """Step 1.2's checks (:func:`_check_counters`), with the one-clock watch's evidence: a certain chain fault seen
    while waiting is its own NOGO row; counters that disagree with a complete arrival count are UNKNOWN."""
    checks = _check_counters(after, growth, delivered, settings, outcome, data_after_production_s)
    if outcome == Outcome.CHAIN_FAULT and arrivals is not None:
        checks.insert(0, STATE.nogo("fault", STATE.go_rule, "Connect REST, read while the messages were awaited on the "
                                    f"target ({arrivals.count} of {delivered} arrived)", arrivals.fault))
    if outcome == Outcome.METRICS_DISAGREE and arrivals is not None:
        checks = [Check(c.step, c.name, c.value, c.threshold, Status.UNKNOWN, c.evidence,
                        f"metrics disagree with the target: all {delivered} delivered messages arrived on the target "
                        f"(the one-clock watch) while {c.reason}", Gap.METRICS_DISAGREE)
                  if c.status is Status.NOGO else c for c in checks]
    return checks


def _check_counters(after: dict[str, Measured], growth: dict[str, Growth], delivered: int,
                    settings: SmokeSettings, outcome: str, data_after_production_s: float | None = None
                    ) -> list[Check]:
    """Step 1.2: poll grew by the delivered count, write ≈ poll, the test topic is replicated.

    :param after: the last reading of :data:`INSTANT` when the wait ended.
    :param growth: each counter's reset-safe growth over the run (:func:`counter_growth`).
    :param delivered: messages delivered in step 1.1.
    :param outcome: how the wait ended (:class:`Outcome`).
    :param data_after_production_s: how far past production end the store's data reached when the wait ended; a
        shortfall seen in data that does not reach production end is no data yet (UNKNOWN), not evidence.
    """
    if delivered <= 0:
        return [NOT_RUN.unknown(NOT_RUN.go_rule, after["poll_total"].source,
                                "step 1.1 delivered no message, so replication could not be checked", Gap.NOT_MEASURED)]
    poll, write, topic = (growth[n] for n in COUNTERS)
    if outcome == Outcome.TIMEOUT and data_after_production_s is not None and data_after_production_s < 0:
        why = (f"the metrics store's newest sample is {-data_after_production_s:.0f} s before production ended, "
               f"{settings.replication_timeout_s} s into the wait: it lags (or stopped scraping), so no shortfall "
               "is evidence yet")
        return [c.unknown(c.threshold(settings, delivered=delivered), after["poll_total"].source, why, Gap.STALE)
                for c in (POLL, TOPIC, RATIO)]
    restarts = max(poll.resets, write.resets)  # the task's own counters: a restart resets the topic's too
    checks = [
        _growth_check(POLL.name, poll, delivered, after["poll_total"].source,
                      "poll_total did not move: MM2 does not read the test topic" if poll.value == 0 else
                      f"poll_total grew by {poll.value or 0:g}, fewer than the {delivered} delivered", restarts),
        _growth_check(TOPIC.name, topic, delivered, after["topic_record_count"].source,
                      f"MM2 replicated {topic.value or 0:g} records of {settings.remote_topic}, fewer than the "
                      f"{delivered} delivered", restarts),
    ]
    ratio_threshold = RATIO.threshold(settings)
    ratio_ev = (f"100 * ({after['write_total'].source}{_reset_note(write.resets)} delta) / "
                f"({after['poll_total'].source}{_reset_note(poll.resets)} delta)")
    if poll.value is None or write.value is None:
        missing = poll if poll.value is None else write
        checks.append(RATIO.unknown(ratio_threshold, ratio_ev, missing.reason, missing.gap or Gap.NO_DATA))
    elif poll.value <= 0:
        if outcome in (Outcome.STALLED, Outcome.TIMEOUT):
            checks.append(RATIO.nogo(None, ratio_threshold, ratio_ev,
                                     f"no record polled or written {settings.write_stall_timeout_s} s after production"))
        else:
            checks.append(RATIO.unknown(ratio_threshold, ratio_ev, "no record polled: the ratio is undefined"))
    else:
        ratio = 100.0 * write.value / poll.value
        if ratio_met(write.value, poll.value, settings):
            checks.append(RATIO.go(round(ratio, 3), ratio_threshold, ratio_ev))
        else:
            why = (f"write_total did not move in {settings.write_stall_timeout_s} s while poll_total grew: "
                   "writes to the target fail") if write.value == 0 else f"only {ratio:.2f} % of polled records written"
            checks.append(RATIO.nogo(round(ratio, 3), ratio_threshold, ratio_ev, why))
    topics = after.get("topics_replicated")
    threshold = TOPICS.threshold(settings)
    if topics is None or topics.value is None or not topics.ok:
        checks.append(TOPICS.unknown_from(threshold, topics) if topics else
                      TOPICS.unknown(threshold, "", "not measured", Gap.NOT_MEASURED))
    else:
        test_topic_seen = after["topic_record_count"].ok
        if topics.value >= 1 and test_topic_seen:
            checks.append(TOPICS.go(topics.value, threshold, topics.source))
        else:
            checks.append(TOPICS.nogo(topics.value, threshold, topics.source,
                                      f"the test topic {settings.remote_topic} has no MM2 metrics"
                                      if not test_topic_seen else "no topic replicated"))
    return checks


def checklist_part(settings: SmokeSettings, replication: ReplicationResult | None, delivered: int | None
                   ) -> tuple[list[Check], list[str]]:
    """Step 1.2's checks and notes from its result (an UNKNOWN check when the step did not finish)."""
    if not replication or delivered is None:
        return [NOT_RUN.unknown("poll/write grow", "step_1_2_replication", "step 1.2 did not finish: see its task log",
                                Gap.NOT_MEASURED)], []
    after = {k: Measured.from_dict(v) for k, v in replication["after"].items()}
    growth = {k: Growth.from_dict(v) for k, v in (replication.get("growth") or {}).items()}
    checks = check_replication(after, growth, delivered, settings, replication["outcome"],
                               replication.get("data_after_production_s"),
                               Arrivals.from_dict(replication.get("arrivals")))
    notes = []
    resets = max((g.resets for g in growth.values()), default=0)
    if resets:
        notes.append(f"MM2's task counters reset {resets} time(s) during the run (task restart): step 1.2 "
                     "counted across the reset")
    reach = replication.get("data_after_production_s")
    notes.append(f"step 1.2 wait ended: {replication['outcome']}, "
                 f"{replication.get('seconds_after_production', 'n/a')} s after production ended"
                 + (f" (the metrics store's data then reached {reach:g} s past production end)"
                    if reach is not None else ""))
    return checks, notes

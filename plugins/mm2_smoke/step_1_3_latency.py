"""Runbook step 1.3, "Mesure latence baseline": latency avg/max, lag level and trend, offset commit max time.

GO: avg < 100 ms, max < 500 ms, lag < 100 and not growing, offset commit max < 1000 ms (the Params' defaults).
NaN, ±Inf or an empty result is UNKNOWN, never GO. The measured values are the run's baseline, recorded for
later phases.

Pure but for the ``prom`` argument (a :class:`~mm2_smoke.hooks.PrometheusHook`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import replace

from mm2_smoke.checks import Check
from mm2_smoke.measured import Gap, Measured
from mm2_smoke.payloads import LatencyBaseline, LatencyResult
from mm2_smoke.promql import Prometheus
from mm2_smoke.registry import spec
from mm2_smoke.settings import SmokeSettings


def lag_growing(values: Sequence[float], min_growth: float = 0.0) -> bool:
    """Lag grows when its samples never go down over the window and end higher than they started, by more than
    ``min_growth`` records (at least one)."""
    if len(values) < 2:
        return False
    return (all(b >= a for a, b in zip(values, values[1:], strict=False))
            and values[-1] - values[0] >= max(min_growth, 1e-9))


AVG, MAX, LAG, LAG_STABLE, COMMIT, NOT_RUN = (spec(n) for n in (
    "replication_latency_avg_ms", "replication_latency_max_ms", "active_records_lag", "lag_stable",
    "offset_commit_max_time_ms", "latency_baseline"))


def check_latency(avg: Measured, max_: Measured, lag: Measured, lag_window: Sequence[float], lag_window_query: str,
                  commit_max: Measured, settings: SmokeSettings) -> list[Check]:
    """Step 1.3: latency avg/max, lag level and trend, offset commit max time."""
    checks = [AVG.below(avg, settings.latency_avg_max_ms), MAX.below(max_, settings.latency_max_max_ms),
              LAG.below(lag, settings.lag_max)]
    threshold = LAG_STABLE.threshold(settings)
    lag_window = [v for v in lag_window if math.isfinite(v)]
    if len(lag_window) < 2:
        checks.append(LAG_STABLE.unknown(threshold, lag_window_query,
                                         f"{len(lag_window)} lag sample(s) in the window: need 2 or more"))
    else:
        trend = f"{lag_window[0]:g} -> {lag_window[-1]:g}"
        if lag_growing(lag_window, settings.lag_growth_min):
            checks.append(LAG_STABLE.nogo(trend, threshold, lag_window_query,
                                          f"lag grew by {lag_window[-1] - lag_window[0]:g} over {len(lag_window)} "
                                          "samples without going down"))
        else:
            checks.append(LAG_STABLE.go(trend, threshold, lag_window_query))
    checks.append(COMMIT.below(commit_max, settings.offset_commit_max_ms))
    return checks


def fresh_gauge(prom: Prometheus, value_query: str, selector: str, since_s: float) -> Measured:
    """A gauge's value with its newest sample time; a value whose newest sample is older than ``since_s`` (production
    end) does not describe this run: no data yet (STALE), never evidence.

    :param since_s: the time (seconds since the epoch) the value must reach past.
    """
    value = prom.query(value_query)
    if not value.ok:
        return value
    at_s = prom.query(f"max(timestamp({selector}))").number
    if at_s is None:
        return replace(value, at_s=None)
    if at_s < since_s:
        return Measured.missing(value_query, Gap.STALE, f"no data yet: its newest sample is {since_s - at_s:.1f} s "
                                "older than the end of production (the metrics store lags or stopped scraping)")
    return replace(value, at_s=at_s)


#: How many steps of the lag's trend step 1.3 waits, at most, for a second point in its window.
LAG_WINDOW_WAIT_STEPS = 5


def latency_step(prom: Prometheus, settings: SmokeSettings, window_start_s: float, step_s: float,
                 production_end_s: float | None = None) -> LatencyResult:
    """Step 1.3's task: measure, check, and record the baseline (the XCom).

    :param window_start_s: start of the lag's trend window (production start), seconds since the epoch.
    :param step_s: resolution of the lag's trend, in seconds.
    :param production_end_s: the values must have samples newer than this (default: ``window_start_s``).
    """
    q = settings.queries
    since = window_start_s if production_end_s is None else production_end_s
    series = q.gauge_series()
    avg, max_, lag, commit = (fresh_gauge(prom, query, series[name], since) for name, query in (
        ("latency_avg_ms", q.latency_avg_ms), ("latency_max_ms", q.latency_max_ms),
        ("active_count", q.active_count), ("offset_commit_max_ms", q.offset_commit_max_ms)))
    # A short run (or a lag series born with the run's first records) may leave one point in the window: the trend
    # needs two, so wait a few steps for the next one rather than answer UNKNOWN at once.
    deadline = time.time() + LAG_WINDOW_WAIT_STEPS * step_s
    while True:
        now = time.time()
        window = prom.query_range(q.active_count, window_start_s, now, step_s).one()
        lag_values = window.values  # NaN points are dropped: no data there
        finite = [v for v in lag_values if math.isfinite(v)]
        if len(finite) >= 2 or now >= deadline or window.gap not in (None, Gap.NO_DATA):
            break
        time.sleep(min(step_s, max(0.0, deadline - now)))
    window_query = f"{q.active_count} [{int(now - window_start_s)}s, step {step_s:g}s]"
    if window.gap is not None and window.gap is not Gap.NO_DATA:
        window_query += f" (error: {window.reason})"
    checks = check_latency(avg, max_, lag, lag_values, window_query, commit, settings)
    baseline: LatencyBaseline = {
        "latency_avg_ms": avg.value if avg.ok else None,
        "latency_max_ms": max_.value if max_.ok else None,
        "lag": lag.value if lag.ok else None,
        "offset_commit_max_ms": commit.value if commit.ok else None,
        "lag_window": lag_values,
    }
    return {"checks": [c.to_dict() for c in checks], "baseline": baseline}


def checklist_part(latency: LatencyResult | None) -> list[Check]:
    """Step 1.3's checks from its result (an UNKNOWN check when the step did not finish)."""
    if not latency:
        return [NOT_RUN.unknown(NOT_RUN.go_rule, "step_1_3_latency_baseline", "step 1.3 did not finish: see its task log",
                                Gap.NOT_MEASURED)]
    return [Check.from_dict(c) for c in latency["checks"]]

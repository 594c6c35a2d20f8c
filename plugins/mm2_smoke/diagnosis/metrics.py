"""Why the run's metrics could not be measured (an UNKNOWN the checks do not explain): the metrics store
unreachable or refusing the smoke test's credentials, a scrape target down, the metric contract not holding.

Pure: facts in (the metrics store's answers), diagnoses out. Series that vanish are often a consequence, not a
cause (a FAILED MM2 task takes its per-topic series with it): the contract's diagnosis is never certain, so it ranks
after any proven cause (:func:`mm2_smoke.diagnosis.base.rank`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mm2_smoke.diagnosis.base import (
    AUTHENTICATION,
    DOWN,
    METRICS,
    METRICS_STORE,
    METRICS_UNAVAILABLE,
    MISCONFIGURATION,
    SMOKE_CONFIG,
    SMOKE_SETUP,
    Diagnosis,
    Inspection,
    conclude,
)
from mm2_smoke.measured import HttpAnswer


@dataclass(frozen=True)
class MetricsFacts:
    """What the metrics store shows.

    :param prometheus: its answer to the scrape targets listing.
    :param targets: its active scrape targets.
    :param contract_ok: the smoke test's metric contract holds at diagnosis time (every series the run relies on
        answers fresh).
    :param contract_summary: what the contract found: the profile, the missing or stale series, a profile that
        would answer (only if its series really do).
    """

    prometheus: HttpAnswer
    targets: list[dict[str, Any]]
    contract_ok: bool = True
    contract_summary: str = ""


def diagnose_metrics(f: MetricsFacts, symptom: str = METRICS_UNAVAILABLE) -> list[Diagnosis]:
    """Why the metrics could not be measured: Prometheus down, scrape target down, metric names absent."""
    return conclude(symptom, _causes(f, symptom), lambda: _inspection(f))


def _causes(f: MetricsFacts, symptom: str) -> list[Diagnosis]:
    """What the facts point at ([] when nothing); a store that does not answer as Prometheus says it alone."""
    if f.prometheus.status is None:
        return [Diagnosis(symptom, METRICS, "Prometheus is unreachable", f.prometheus.error or "",
                          "start Prometheus / check the prometheus connection", 96, METRICS_STORE, DOWN)]
    if f.prometheus.status in (401, 403):
        return [Diagnosis(symptom, SMOKE_SETUP, f"credentials refused by connection 'prometheus' (the metrics store "
                          f"answered HTTP {f.prometheus.status}): nothing about MM2 was measured",
                          str(f.prometheus.body)[:200], "set the login/password (or the bearer token in its extra) of "
                          "Airflow connection 'prometheus'", 85, SMOKE_CONFIG, AUTHENTICATION)]
    if f.prometheus.status != 200 or not isinstance(f.prometheus.body, dict):
        what = f"HTTP {f.prometheus.status}" + ("" if isinstance(f.prometheus.body, dict) else ", not Prometheus' "
                                                 "JSON API")
        return [Diagnosis(symptom, METRICS, f"Prometheus answers {what}", str(f.prometheus.body)[:200],
                          "check that connection 'prometheus' points at Prometheus (host, port, schema, path "
                          "prefix), then Prometheus' log", 80, SMOKE_CONFIG, MISCONFIGURATION)]
    out: list[Diagnosis] = []
    down = [t for t in f.targets if t.get("health") != "up"]
    if down:
        desc = "; ".join(f"{t.get('scrapeUrl')}: {t.get('health')} ({t.get('lastError') or 'no error'})" for t in down)
        out.append(Diagnosis(symptom, METRICS, "a Prometheus scrape target is down (the JMX exporter runs inside "
                             "the Connect worker: a down target often means a down worker)", desc,
                             "check the Connect worker and its JMX exporter agent", 75, METRICS_STORE, DOWN))
    if not f.contract_ok:
        # Secondary: a FAILED task's per-topic series vanish with it. Never certain (score below CERTAIN_SCORE), so
        # a proven cause (the task's trace) ranks first whatever this score.
        out.append(Diagnosis(symptom, METRICS, "the MirrorMaker 2 series the run relies on do not answer fresh "
                             "(judged by their newest sample, not by the names the store lists); when an MM2 task "
                             "FAILED or stopped this is its consequence (its per-topic series vanish with it)",
                             f.contract_summary, "first fix any proven cause above (a FAILED task); otherwise check "
                             "the JMX exporter rules and the metric_profile Param (auto detects it)",
                             70 if not down else 50, METRICS_STORE, MISCONFIGURATION))
    return out


def _inspection(f: MetricsFacts) -> Inspection:
    """What the metrics diagnostic inspected (it ends here only when every part answered)."""
    return Inspection(["Prometheus answered", f"{len(f.targets)} scrape target(s), all up",
                       "the metric contract holds" + (f" ({f.contract_summary})" if f.contract_summary else "")])

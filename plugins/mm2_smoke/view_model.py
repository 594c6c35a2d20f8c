"""What the smoke-test view shows, from what Airflow stored: the run's report (the ``checklist``/``nogo`` XComs), the
DAG's history and the baseline's trends. Pure: no I/O, no Airflow (the plugin's FastAPI app reads the XComs and the
runs and hands them here; ``view_html`` renders the result).

- :func:`run_report`: the report a run's view shows (the ``nogo`` task's, with the ranked diagnoses, when there is
  one; else the ``checklist`` task's), secrets masked.
- :func:`history`: one :class:`HistoryRow` per run (verdict, time to verdict, first failed check and first cause,
  failover readiness when it was checked).
- :func:`trends`: one :class:`Trend` per baseline metric (the runs' values, the runbook's threshold of each run, from
  ``settings.py``), and per failover readiness value (:data:`FAILOVER_TRENDS`) once a run has checked it.
- :func:`redact`: values of secret-looking keys (password, secret, token, sasl.jaas.config...) masked, recursively.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from mm2_smoke.flow_report import readiness_of
from mm2_smoke.registry import trend_metrics
from mm2_smoke.settings import SmokeSettings

MASK = "***"
#: Keys whose values are secrets wherever they appear (connection extras, settings, evidence dicts).
SECRET_KEY = re.compile(r"pass(word|wd)?$|secret|token|credential|api[_.-]?key|sasl\.jaas|private[_.-]?key",
                        re.IGNORECASE)
#: ``password=...``-like fragments inside free text (a JAAS line, a librdkafka config echoed in an error).
SECRET_TEXT = re.compile(r"""((?:sasl\.)?password|secret|token)(\s*[=:]\s*|")(["']?)[^\s"',;}]+""", re.IGNORECASE)

#: The baseline metrics drawn as trends: key in the report's ``baseline``, title, unit, the setting that holds its
#: GO threshold (None: no threshold in the runbook); declared with the checks (:mod:`mm2_smoke.registry`).
TREND_METRICS: tuple[tuple[str, str, str, str | None], ...] = trend_metrics()
#: The failover readiness values drawn as trends: key in a flow's ``failover.flows[]`` entry, title, unit. Not Phase 1
#: checks (no registry entry, no GO threshold); their points are coloured by the flow's readiness verdict.
FAILOVER_TRENDS: tuple[tuple[str, str, str], ...] = (
    ("would_reread", "Failover: messages a switch would re-read", "messages"),
    ("checkpoint_age_s", "Failover: checkpoint age", "s"),
)


def redact(value: Any, secrets: tuple[str, ...] = ()) -> Any:
    """``value`` with every secret masked: values of secret-looking keys, ``password=...`` fragments in text, and
    every occurrence of the given ``secrets`` (strings of 4 characters or more).

    :param value: plain data (dicts, lists, scalars), as stored in XCom.
    :param secrets: known secret strings (e.g. the connections' passwords, where the caller knows them).
    """
    known = tuple(s for s in secrets if s and len(s) >= 4)
    if isinstance(value, dict):
        return {k: (MASK if isinstance(k, str) and SECRET_KEY.search(k) and v not in (None, "") else redact(v, known))
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v, known) for v in value]
    if isinstance(value, str):
        text = SECRET_TEXT.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}{MASK}", value)
        for s in known:
            text = text.replace(s, MASK)
        return text
    return value


def run_report(checklist: Any, nogo: Any, secrets: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """The report of one run as the view shows it: the ``nogo`` task's (it adds the ranked diagnoses) when it pushed
    one, else the ``checklist`` task's return value; None when the run has neither (not a smoke-test run, or its
    checklist has not run yet). Secrets masked (:func:`redact`).

    :param checklist: the ``checklist`` task's XCom ``return_value``.
    :param nogo: the ``nogo`` task's XCom ``report``.
    """
    for candidate in (nogo, checklist):
        if isinstance(candidate, dict) and "verdict" in candidate and "checks" in candidate:
            return redact(candidate, secrets)
    return None


def _parse(ts: Any) -> datetime | None:
    if isinstance(ts, datetime):
        return ts
    if not ts or not isinstance(ts, str):
        return None
    try:
        return datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass(frozen=True)
class RunInfo:
    """What Airflow knows of a run (its ``dag_run`` row), whatever its report says.

    :param run_id: the run's id.
    :param state: queued, running, success, failed.
    :param queued_at: ISO timestamps ('' when unknown); so are ``start_date`` and ``end_date``.
    :param run_type: manual, scheduled...
    """

    run_id: str
    state: str
    queued_at: str = ""
    start_date: str = ""
    end_date: str = ""
    run_type: str = ""


@dataclass(frozen=True)
class HistoryRow:
    """One run in the DAG's history.

    :param verdict: GO, NOGO, UNKNOWN, or '' when the run has no report (yet).
    :param time_to_verdict_s: from the run's start to its checklist's verdict (None without a report).
    :param first_failed: the first check that is not GO (``step name: status``), '' on GO.
    :param first_cause: the first ranked diagnosis' cause ('' when none).
    :param baseline: the report's baseline (``lag_window`` dropped).
    :param thresholds: the run's own thresholds of the trend metrics (its settings; the runbook's defaults otherwise).
    :param failover: the flow's failover readiness (READY, NOT READY, UNKNOWN; '' when the run has none for it).
    :param failover_values: its values drawn as trends (:data:`FAILOVER_TRENDS`; empty when none).
    """

    run: RunInfo
    verdict: str
    time_to_verdict_s: float | None
    first_failed: str
    first_cause: str
    baseline: dict[str, Any] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    flow: str = ""  # the flow of the row, when the run checked several ('': the run as a whole, one flow)
    failover: str = ""
    failover_values: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def thresholds_of(report: dict[str, Any] | None) -> dict[str, float]:
    """The GO thresholds of the trend metrics for a run: its settings' values, else ``SmokeSettings``' defaults
    (the runbook's, ``settings.py``: one source of truth)."""
    defaults = SmokeSettings()
    settings = (report or {}).get("settings") or {}
    out = {}
    for key, _title, _unit, setting in TREND_METRICS:
        if setting:
            value = settings.get(setting, getattr(defaults, setting))
            out[key] = float(value) if isinstance(value, int | float) else float(getattr(defaults, setting))
    return out


def readiness_of_flow(report: dict[str, Any] | None, flow: str = "") -> dict[str, Any] | None:
    """The flow's entry of the report's ``failover.flows[]`` (``flow`` '': the only entry), None when it has none."""
    entries = readiness_of(report or {})
    if flow:
        return next((f for f in entries if f.get("flow") == flow), None)
    return entries[0] if len(entries) == 1 else None


def history_row(run: RunInfo, report: dict[str, Any] | None, flow: str = "") -> HistoryRow:
    """The history row of ``run`` from its report (None: no report); ``flow``: the flow the row is of (its failover
    readiness is read from the report's ``failover`` for that flow)."""
    if not report:
        return HistoryRow(run, "", None, "", "", {}, thresholds_of(None), flow)
    started = _parse(report.get("started_at")) or _parse(run.start_date)
    decided = _parse(report.get("finished_at"))
    seconds = round((decided - started).total_seconds(), 1) if started and decided else None
    failed = next((f"{c['step']} {c['name']}: {c['status']}" for c in report.get("failed_checks") or []), "")
    cause = next((d.get("cause", "") for d in report.get("diagnoses") or []), "")
    base = {k: v for k, v in (report.get("baseline") or {}).items() if k != "lag_window"}
    ready = readiness_of_flow(report, flow) or {}
    return HistoryRow(run, str(report.get("verdict", "")), seconds, failed, cause, base, thresholds_of(report), flow,
                      str(ready.get("verdict") or ""), {k: ready.get(k) for k, _t, _u in FAILOVER_TRENDS} if ready
                      else {})


def history(runs: list[RunInfo], reports: dict[str, dict[str, Any] | None]) -> list[HistoryRow]:
    """The DAG's history, newest run first (the order of ``runs``): one row per run, or one per flow of a run that
    checked several (``flow``; each from the flow's block of the report).

    :param runs: the runs, newest first.
    :param reports: run id -> its report (:func:`run_report`), missing or None when it has none.
    """
    out = []
    for run in runs:
        report = reports.get(run.run_id)
        blocks = (report or {}).get("flows") or []
        if len(blocks) <= 1:
            out.append(history_row(run, report, blocks[0]["flow"] if blocks else ""))
            continue
        for block in blocks:
            # the block's own ``failover`` (its task's whole result) must not hide the report's (``failover.flows``)
            flow_report = {**{k: v for k, v in block.items() if k != "failover"}, "failover": report.get("failover"),
                           "failed_checks": [c for c in block["checks"] if c["status"] != "GO"]}
            out.append(history_row(run, {**report, **flow_report}, block["flow"]))
    return out


@dataclass(frozen=True)
class Trend:
    """One baseline metric over the runs, oldest first.

    :param points: ``(run id, value, verdict)`` of every run that measured it.
    :param thresholds: ``(run id, threshold)`` of the same runs (empty when the runbook has none).
    """

    key: str
    title: str
    unit: str
    setting: str | None
    points: list[tuple[str, float, str]]
    thresholds: list[tuple[str, float]]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if value == value and value not in (float("inf"), float("-inf")) else None


def trends(rows: list[HistoryRow]) -> list[Trend]:
    """Every trend metric over ``rows`` (given newest first, returned oldest first): the runs that measured it, with
    their own thresholds. A metric no run measured has no points (the chart says so)."""
    flows = sorted({r.flow for r in rows if r.flow})
    if len(flows) > 1:  # a trend per flow
        return [replace(t, key=f"{t.key}@{flow}", title=f"{t.title} ({flow})")
                for flow in flows for t in _trends([r for r in rows if r.flow == flow])]
    return _trends(rows)


def _trends(rows: list[HistoryRow]) -> list[Trend]:
    oldest_first = list(reversed(rows))
    out = []
    for key, title, unit, setting in TREND_METRICS:
        points, limits = [], []
        for row in oldest_first:
            value = _number(row.baseline.get(key))
            if value is None:
                continue
            points.append((row.run.run_id, value, row.verdict))
            if setting and key in row.thresholds:
                limits.append((row.run.run_id, row.thresholds[key]))
        out.append(Trend(key, title, unit, setting, points, limits))
    if any(row.failover for row in rows):  # failover readiness was checked: its trends (none while it is off)
        for key, title, unit in FAILOVER_TRENDS:
            points = [(row.run.run_id, value, row.failover) for row in oldest_first
                      if (value := _number(row.failover_values.get(key))) is not None]
            out.append(Trend(key, title, unit, None, points, []))
    return out


def deadline_minutes(conf: Any, default: float) -> float:
    """The run's deadline in minutes: its conf's ``deadline_minutes`` when it is a positive number, else
    ``default`` (the Param's default, ``MM2_SMOKE_DEADLINE_MINUTES`` or 10)."""
    value = (conf or {}).get("deadline_minutes") if isinstance(conf, dict) else None
    try:
        minutes = float(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        minutes = None
    return minutes if minutes is not None and minutes > 0 and minutes == minutes else default

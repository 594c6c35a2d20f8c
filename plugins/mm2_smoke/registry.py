"""Every check of the smoke test, declared once: its step, its row of the runbook's checklist and the words of that
row, its GO rule and the Param that holds its threshold, the symptom it raises when it fails, the baseline field it
fills and its unit. The step modules build their checks from these declarations, and the checklist, the report, the
routing to the diagnostics and the Airflow view read them; nothing else names a check.

Adding a check is one :class:`CheckSpec` in :data:`CHECKS` plus the function that measures it (a step module's
``check_*`` function, or an ``evaluate`` function the checklist calls with the run's step results).

Pure and light: the DAG file imports this module (the diagnostic tasks are built from :data:`SYMPTOMS`).
"""

from __future__ import annotations

import importlib
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from mm2_smoke.checks import Check, Status
from mm2_smoke.measured import Gap, Measured

#: The runbook steps a check belongs to (``pre``: before step 1.1).
STEPS = ("pre", "1.1", "1.2", "1.3", "1.4")


class Symptom(StrEnum):
    """What failed checks show; each has one diagnostic task in the DAG's ``diagnose`` group."""

    REPLICATION_STOPPED = "replication_stopped"  # runbook: poll_total = 0
    WRITES_FAILING = "writes_failing"  # runbook: write = 0, poll > 0
    LATENCY_HIGH = "latency_high"  # runbook: latency > 500 ms
    NOTHING_ON_TARGET = "nothing_on_target"  # runbook: 0 msg on target
    METRICS_UNAVAILABLE = "metrics_unavailable"  # UNKNOWN: could not measure
    DUPLICATES_ON_TARGET = "duplicates_on_target"  # step 1.4: a sequence number of the run on target more than once


@dataclass(frozen=True)
class SymptomSpec:
    """A symptom's diagnostic task: its name in the ``diagnose`` group and what it inspects (the task's doc)."""

    symptom: Symptom
    task: str
    doc: str


#: The symptoms in the order their diagnostics are listed (and ranked when scores tie).
SYMPTOMS: tuple[SymptomSpec, ...] = (
    SymptomSpec(Symptom.REPLICATION_STOPPED, "connector",
                "poll_total = 0: MM2 connector/task state, topics filter, source topic, MM2's ACLs on source (Connect "
                "REST, Kafka admin API)."),
    SymptomSpec(Symptom.WRITES_FAILING, "writes",
                "write = 0, poll > 0: task errors (Connect REST) and MM2's ACLs on target (admin API)."),
    SymptomSpec(Symptom.LATENCY_HIGH, "latency",
                "latency > 500 ms: MM2 producer throttling (Prometheus), client quotas (Kafka's tools), broker round "
                "trips."),
    SymptomSpec(Symptom.NOTHING_ON_TARGET, "target_topic",
                "0 messages on target: remote topic existence, auto-create, MM2's CREATE ACL, naming."),
    SymptomSpec(Symptom.METRICS_UNAVAILABLE, "metrics",
                "UNKNOWN: Prometheus reachable, scrape targets up, metric names present."),
    SymptomSpec(Symptom.DUPLICATES_ON_TARGET, "duplicates",
                "duplicates on target: every copy of the duplicated sequence numbers on target (offsets, timestamps, "
                "producer), the same seqs on source, MM2's task restarts and exactly-once setting (Kafka consumers, "
                "Connect REST)."),
)

#: When a check raises its symptoms: ``NOGO``, ``UNKNOWN`` (not GO for lack of evidence), or ``EMPTY`` (not GO and
#: nothing measured at all: its value is 0 or none).
WHEN = ("NOGO", "UNKNOWN", "EMPTY")
NOT_GO = ("NOGO", "UNKNOWN")


@dataclass(frozen=True)
class Raises:
    """The symptoms a check raises when its status is one of ``when`` (see :data:`WHEN`)."""

    when: tuple[str, ...]
    symptoms: tuple[Symptom, ...]


@dataclass(frozen=True)
class CheckSpec:
    """One check, declared once.

    :param name: stable identifier (the report's ``checks[].name``; scripts read it).
    :param step: runbook step (:data:`STEPS`).
    :param title: what it checks, in words (the view's and the docs' label).
    :param go_rule: the GO condition as the report states it; ``{name}`` fields are the run's settings or values
        the measuring step gives (``delivered``), see :meth:`threshold`.
    :param setting: the Param that holds its threshold (None: none).
    :param unit: the unit of its value ('' when it has none).
    :param row: the label of its row in the runbook's "Checklist Phase 1" (None: listed under the checks only).
    :param raises: the symptoms it raises when it fails (:class:`Raises`).
    :param baseline: the report's ``baseline`` field its value fills (None: none).
    :param trend: drawn as a trend in the Airflow view (needs ``baseline``).
    :param words: its part of the row's words, a template over the report (see :func:`row_words`), added after
        the row's own words ('' when it adds none).
    :param note_on_go: a pre-flight finding whose message the report's notes repeat when it is GO (what the
        pre-flight resolved or did for the run).
    :param evaluate: for a check that no step's ``checklist_part`` returns: ``"module:function"``, a function of the
        run's step results (:class:`StepResults`) returning its check, or None when the run gives nothing to check
        (named, not imported, so that the step module holding it can import this one).
    """

    name: str
    step: str
    title: str
    go_rule: str = ""
    setting: str | None = None
    unit: str = ""
    row: str | None = None
    raises: tuple[Raises, ...] = ()
    baseline: str | None = None
    trend: bool = False
    words: str = ""
    note_on_go: bool = False
    evaluate: str = ""

    def threshold(self, settings: Any = None, **values: Any) -> str:
        """The GO rule with the run's values: the settings' fields (``settings.to_dict()``) and ``values``."""
        known = {**(settings.to_dict() if settings is not None else {}), **values}
        return string.Formatter().vformat(self.go_rule, (), _Numbers(known))

    @property
    def suffix(self) -> str:
        """The unit as a value's suffix in a GO rule (`` ms``, `` %``; counts have none)."""
        return f" {self.unit}" if self.unit in ("ms", "%") else ""

    def go(self, value: float | int | str | None, threshold: str, evidence: str) -> Check:
        return Check(self.step, self.name, value, threshold, Status.GO, evidence)

    def nogo(self, value: float | int | str | None, threshold: str, evidence: str, reason: str) -> Check:
        return Check(self.step, self.name, value, threshold, Status.NOGO, evidence, reason)

    def unknown(self, threshold: str, evidence: str, reason: str, gap: Gap = Gap.NO_DATA,
                value: float | int | str | None = None) -> Check:
        """UNKNOWN: nothing (usable) could be measured, and why."""
        return Check(self.step, self.name, value, threshold, Status.UNKNOWN, evidence, reason, gap)

    def unknown_from(self, threshold: str, measured: Measured) -> Check:
        """The UNKNOWN check of a value that could not be measured (its gap, reason and source)."""
        return self.unknown(threshold, measured.source, measured.reason, measured.gap or Gap.NO_DATA)

    def below(self, measured: Measured, limit: float) -> Check:
        """GO when the measured value is below ``limit``; NOGO at or above; UNKNOWN without a value."""
        unit = self.suffix
        threshold = f"< {limit:g}{unit}"
        if measured.value is None or not measured.ok:
            return self.unknown_from(threshold, measured)
        value = float(measured.value)
        if value < limit:
            return self.go(value, threshold, measured.source)
        return self.nogo(value, threshold, measured.source, f"{value:g}{unit} is not below {limit:g}{unit}")

    def symptoms(self, status: str, value: Any) -> set[Symptom]:
        """The symptoms this check raises with ``status`` and ``value``."""
        hits = {status} if status in NOT_GO else set()
        if status in NOT_GO and not value:
            hits.add("EMPTY")
        return {s for r in self.raises if hits & set(r.when) for s in r.symptoms}


class _Numbers(dict):
    """Settings for a GO rule, numbers shown with ``:g`` (1000.0 -> 1000)."""

    def __getitem__(self, key: str) -> Any:
        value = super().__getitem__(key)
        return f"{value:g}" if isinstance(value, float) else value


@dataclass(frozen=True)
class StepResults:
    """What a check's ``evaluate`` function reads: the run's settings and each step's result (None: not run)."""

    settings: Any
    produced: Mapping[str, Any] | None
    replication: Mapping[str, Any] | None
    latency: Mapping[str, Any] | None
    count: Mapping[str, Any] | None


@dataclass(frozen=True)
class Row:
    """A row of the runbook's "Checklist Phase 1".

    :param label: as in the runbook (``1.2 poll_total augmente``).
    :param words: the row's measured values, a template over the report (:func:`row_words`).
    :param status: the row's status when none of its checks is in the report ('': UNKNOWN); otherwise the overall
        status of its checks.
    """

    label: str
    words: str
    status: str = ""


_STOPPED = (Symptom.REPLICATION_STOPPED,)
_METRICS = Raises(("UNKNOWN",), (Symptom.METRICS_UNAVAILABLE,))
_LATENCY = (Raises(("NOGO",), (Symptom.LATENCY_HIGH,)), _METRICS)

ROW_1_1 = "1.1 Messages produits"
ROW_1_2_POLL = "1.2 poll_total augmente"
ROW_1_2_WRITE = "1.2 write_total ≈ poll"
ROW_1_3 = "1.3 Latence baseline"
ROW_1_3_E2E = "1.3 Latence bout en bout"
ROW_1_4 = "1.4 Messages sur target"

#: The runbook's checklist, in its order.
ROWS: tuple[Row, ...] = (
    Row(ROW_1_1, "{counts.delivered}/{counts.produced} delivered, {counts.achieved_rate_msg_s} msg/s"),
    Row(ROW_1_2_POLL, "Valeur: +{check.poll_total_increase} (topic +{check.topic_record_count_increase})"),
    Row(ROW_1_2_WRITE, "Ratio: {check.write_poll_ratio_pct: %}"),
    Row(ROW_1_3, "Avg: {baseline.latency_avg_ms: ms}, max: {baseline.latency_max_ms: ms}, lag: {baseline.lag}, "
                 "commit max: {baseline.offset_commit_max_ms: ms}"),
    Row(ROW_1_3_E2E, "p50: {e2e.p50: ms}, p95: {e2e.p95: ms}, p99: {e2e.p99: ms}, max: {e2e.max: ms} ({e2e.count} "
                     "messages, ack on source -> read on target, one clock)", status="mesure"),
    Row(ROW_1_4, "Count: {counts.received} (missing {counts.missing}, duplicates {counts.duplicates})"),
)

#: Every check. A pre-flight check (step ``pre``) is named by its finding (``chain.py``, ``preflight.py``).
CHECKS: tuple[CheckSpec, ...] = (
    # --- before step 1.1: the smoke test's own input, then the chain as the pre-flight found it
    CheckSpec("settings", "pre", "Params valid", "valid Params"),
    CheckSpec("connections", "pre", "Connections defined and complete", "{conns} defined and complete"),
    CheckSpec("metric_contract", "pre", "Metric contract (every series fresh)",
              raises=(Raises(NOT_GO, (Symptom.METRICS_UNAVAILABLE,)),), note_on_go=True),
    CheckSpec("metric_contract_later", "pre", "Metric contract: series that appear with the first records"),
    CheckSpec("connector", "pre", "MirrorSourceConnector RUNNING", raises=(Raises(NOT_GO, _STOPPED),)),
    CheckSpec("task", "pre", "MirrorSourceConnector tasks RUNNING", raises=(Raises(NOT_GO, _STOPPED),)),
    CheckSpec("topics_filter", "pre", "Test topic passes the connector's topics filter",
              raises=(Raises(NOT_GO, _STOPPED),)),
    CheckSpec("source_topic", "pre", "Test topic on source", raises=(Raises(("NOGO",), _STOPPED),)),
    CheckSpec("source_topic_created", "pre", "Test topic created on source", note_on_go=True),
    CheckSpec("remote_topic", "pre", "Remote topic on target"),
    CheckSpec("source_cluster", "pre", "Source cluster answers", raises=(Raises(NOT_GO, _STOPPED),)),
    CheckSpec("target_cluster", "pre", "Target cluster answers", raises=(Raises(NOT_GO, _STOPPED),)),
    CheckSpec("mm2_process", "pre", "MirrorMaker 2 running (dedicated mode)"),
    CheckSpec("replication_policy", "pre", "Replication policy (remote topic's naming) read from the connector",
              note_on_go=True),
    CheckSpec("flows", "pre", "Flows of the topology checked (Param flows)", note_on_go=True),
    CheckSpec("replication_loop", "pre", "No replication loop (a cycle MM2's topic prefixes cannot stop)",
              "no cycle under IdentityReplicationPolicy; each message once where the topology says"),
    CheckSpec("topology_cycle", "pre", "A cycle of flows that MM2's alias prefixes stop", note_on_go=True),
    # --- step 1.1
    CheckSpec("messages_produced", "1.1", "Test messages delivered (acks=all)", "{num_messages} delivered, 0 errors",
              setting="num_messages", row=ROW_1_1),
    # --- step 1.2
    CheckSpec("replication", "1.2", "Replication checked", "delivered messages replicated",
              raises=(Raises(NOT_GO, _STOPPED), _METRICS)),
    CheckSpec("connector_state", "1.2", "Connector and tasks RUNNING while waiting", "connector and tasks RUNNING",
              raises=(Raises(("NOGO",), _STOPPED), _METRICS)),
    CheckSpec("poll_total_increase", "1.2", "poll_total grew by the delivered count", ">= +{delivered}",
              unit="records", row=ROW_1_2_POLL, raises=(Raises(NOT_GO, _STOPPED), _METRICS),
              baseline="poll_total_increase"),
    CheckSpec("topic_record_count_increase", "1.2", "The test topic's record_count grew by the delivered count",
              ">= +{delivered}", unit="records", row=ROW_1_2_POLL,
              raises=(Raises(("NOGO",), _STOPPED), _METRICS)),
    CheckSpec("write_poll_ratio_pct", "1.2", "write_total / poll_total", "> {ratio_min_pct} %",
              setting="ratio_min_pct", unit="%", row=ROW_1_2_WRITE,
              raises=(Raises(("NOGO",), (Symptom.WRITES_FAILING,)), _METRICS), baseline="write_poll_ratio_pct"),
    CheckSpec("topics_replicated", "1.2", "Topics replicated, the test topic among them",
              ">= 1, test topic among them", row=ROW_1_2_WRITE, raises=(_METRICS,)),
    # --- step 1.3
    CheckSpec("latency_baseline", "1.3", "Latency baseline measured", "measured", raises=(_METRICS,)),
    CheckSpec("replication_latency_avg_ms", "1.3", "Replication latency, avg", "< {latency_avg_max_ms} ms",
              setting="latency_avg_max_ms", unit="ms", row=ROW_1_3, raises=_LATENCY, baseline="latency_avg_ms",
              trend=True),
    CheckSpec("replication_latency_max_ms", "1.3", "Replication latency, max", "< {latency_max_max_ms} ms",
              setting="latency_max_max_ms", unit="ms", row=ROW_1_3, raises=_LATENCY, baseline="latency_max_ms",
              trend=True),
    CheckSpec("active_records_lag", "1.3", "Active records (lag)", "< {lag_max}", setting="lag_max", unit="records",
              row=ROW_1_3, raises=_LATENCY, baseline="lag", trend=True),
    CheckSpec("lag_stable", "1.3", "Lag not growing", "not growing over the window (by {lag_growth_min} or more)",
              setting="lag_growth_min", row=ROW_1_3, raises=_LATENCY),
    CheckSpec("offset_commit_max_time_ms", "1.3", "Offset commit max time", "< {offset_commit_max_ms} ms",
              setting="offset_commit_max_ms", unit="ms", row=ROW_1_3, raises=_LATENCY,
              baseline="offset_commit_max_ms", trend=True),
    # --- step 1.4
    CheckSpec("messages_on_target", "1.4", "This run's messages on target",
              "{delivered} of this run (missing <= {missing_tolerance})", setting="missing_tolerance", unit="messages",
              row=ROW_1_4, raises=(Raises(("EMPTY",), (Symptom.REPLICATION_STOPPED, Symptom.NOTHING_ON_TARGET)),)),
    CheckSpec("duplicates_on_target", "1.4", "Sequence numbers of this run on target more than once",
              "<= {duplicates_tolerance} seq(s) of this run more than once", setting="duplicates_tolerance",
              unit="seqs", row=ROW_1_4, raises=(Raises(("NOGO",), (Symptom.DUPLICATES_ON_TARGET,)),)),
)

#: One-clock end-to-end latency, measured but not checked: its baseline fields and trends (key, title, unit).
E2E_TRENDS: tuple[tuple[str, str, str], ...] = (
    ("e2e_p50_ms", "End-to-end latency p50 (one clock)", "ms"),
    ("e2e_p99_ms", "End-to-end latency p99 (one clock)", "ms"),
)

BY_NAME: dict[str, CheckSpec] = {c.name: c for c in CHECKS}


def spec(name: str) -> CheckSpec:
    """The declaration of check ``name``.

    :raises KeyError: an undeclared check (declare it in :data:`CHECKS`).
    """
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"check {name!r} is not declared: add a CheckSpec for it to mm2_smoke.registry.CHECKS") from None


def row_checks(label: str) -> tuple[str, ...]:
    """The names of the checks shown in the checklist row ``label``."""
    return tuple(c.name for c in CHECKS if c.row == label)


def trend_metrics() -> tuple[tuple[str, str, str, str | None], ...]:
    """The baseline metrics drawn as trends: (baseline field, title, unit, the setting of its threshold or None)."""
    checked = [(c.baseline, c.title, c.unit, c.setting) for c in CHECKS if c.trend and c.baseline]
    return (*((str(k), t, u, s) for k, t, u, s in checked), *((k, t, u, None) for k, t, u in E2E_TRENDS))


def baseline_fields(checks: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The baseline fields the checks fill (``CheckSpec.baseline``): each such check's value."""
    out = {}
    for c in checks:
        s = BY_NAME.get(c["name"])
        if s is not None and s.baseline:
            out[s.baseline] = c["value"]
    return out


def fmt(value: Any, unit: str = "") -> str:
    """A value as the checklist shows it: ``n/a`` for none, floats with two decimals, then the unit."""
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.2f}{unit}"
    return f"{value}{unit}"


class _RowFormatter(string.Formatter):
    """``{section.key: unit}`` over a report: the value found under ``report[section][key]`` (``check``: the check
    named ``key``'s value), shown with :func:`fmt` and ``unit``."""

    def __init__(self, sections: Mapping[str, Mapping[str, Any]]) -> None:
        self.sections = sections

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> tuple[Any, str]:
        section, _, key = field_name.partition(".")
        return (self.sections.get(section) or {}).get(key), field_name

    def format_field(self, value: Any, format_spec: str) -> str:
        return fmt(value, format_spec)


def row_words(template: str, report: Mapping[str, Any]) -> str:
    """A row's words from ``report``: ``{counts.x}``, ``{baseline.x}``, ``{e2e.x}`` (the report's
    ``e2e_latency_ms``) and ``{check.name}`` (the value of the check ``name``)."""
    sections = {"counts": report.get("counts") or {}, "baseline": report.get("baseline") or {},
                "e2e": report.get("e2e_latency_ms") or {},
                "check": {c["name"]: c["value"] for c in report.get("checks") or []}}
    return _RowFormatter(sections).format(template)


def evaluated(results: StepResults) -> list[Any]:
    """The checks of every declaration with an ``evaluate`` function, for the run's step results."""
    out = []
    for c in CHECKS:
        if c.evaluate:
            module, _, function = c.evaluate.partition(":")
            evaluate: Callable[[StepResults], Check | None] = getattr(importlib.import_module(module), function)
            check = evaluate(results)
            if check is not None:
                out.append(check)
    return out

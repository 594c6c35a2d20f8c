"""The runbook's Grafana dashboards, generated from the metric catalog and the settings table's thresholds.

``make generate`` (``python -m mm2_stack.generate``) writes ``mm2-replication.json`` and
``mm2-detailed-metrics.json`` for each metric profile: the runbook's in ``include/grafana/dashboards/``, the others in
``include/grafana/dashboards/profiles/<profile>/``. A test checks the committed files equal the generated ones, so
the dashboards, the DAG's checks and the alert rules read the same expressions and thresholds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from mm2_smoke.metrics import RUNBOOK, Queries, profile
from mm2_smoke.settings import SmokeSettings

#: Where the dashboards live, relative to the repository root (Grafana provisioning reads this folder).
OUT_DIR = Path("include/grafana/dashboards")


def out_dir(profile_name: str) -> Path:
    """Where a profile's dashboards live, relative to the repository root (the runbook's at the top)."""
    return OUT_DIR if profile_name == RUNBOOK.name else OUT_DIR / "profiles" / profile_name
DS = {"type": "prometheus", "uid": "${datasource}"}


class Nogo(Enum):
    """Which side of a panel's threshold line is NOGO."""

    ABOVE = "above"
    BELOW = "below"


@dataclass(frozen=True)
class Threshold:
    """A panel's GO/NOGO line.

    :param value: the settings table's threshold, in the panel's unit.
    :param nogo: the side of the line that is NOGO (red).
    """

    value: float
    nogo: Nogo


@dataclass(frozen=True)
class Panel:
    """One time series panel.

    :param title: the panel title (the runbook's panel names come first).
    :param expr: its PromQL, from the catalog.
    :param threshold: the GO/NOGO line, or None.
    """

    title: str
    expr: str
    threshold: Threshold | None = None


def panels(profile_name: str = "runbook") -> dict[str, tuple[Panel, ...]]:
    """Every dashboard's panels, by dashboard name, with the settings table's default thresholds.

    :param profile_name: metric naming profile (``runbook`` or ``strimzi``).
    """
    t = SmokeSettings()
    q = Queries(profile(profile_name), remote_topic=t.remote_topic, connector_regex=t.connector_regex)
    return {
        "mm2-replication": (
            Panel("Total Records Polled", q.poll_total),
            Panel("Total Records Written", q.write_total),
            Panel("Replication Ratio", q.replication_ratio_pct(), Threshold(t.ratio_min_pct, Nogo.BELOW)),
            Panel("Topics Replicated", q.topics_replicated),
            Panel("Avg Replication Latency", q.latency_avg_ms_by_topic, Threshold(t.latency_avg_max_ms, Nogo.ABOVE)),
            Panel("Max Replication Latency", q.latency_max_ms_by_topic, Threshold(t.latency_max_max_ms, Nogo.ABOVE)),
            Panel("Record Age", q.record_age_ms_by_topic),
            Panel("Byte Rate", q.byte_rate_by_topic),
            Panel("Records Replicated per Topic", q.record_count_by_topic),
        ),
        "mm2-detailed-metrics": (
            Panel("Active Records (Lag)", q.active_count_by_connector, Threshold(t.lag_max, Nogo.ABOVE)),
            Panel("Offset Commit Max Time", q.offset_commit_max_ms_by_connector,
                  Threshold(t.offset_commit_max_ms, Nogo.ABOVE)),
            Panel("Poll Rate", q.poll_rate(60)),
            Panel("Write Rate", q.write_rate(60)),
            Panel("MM2 Producer Throttle Time", q.mm2_producer_throttle_ms),
        ),
    }


def _steps(threshold: Threshold | None) -> list[dict[str, Any]]:
    """Grafana threshold steps: green, and red on the NOGO side of the line."""
    if threshold is None:
        return [{"color": "green", "value": None}]
    if threshold.nogo is Nogo.BELOW:
        return [{"color": "red", "value": None}, {"color": "green", "value": threshold.value}]
    return [{"color": "green", "value": None}, {"color": "red", "value": threshold.value}]


def _panel(pid: int, panel: Panel, x: int, y: int) -> dict[str, Any]:
    """A Grafana time series panel at grid position (x, y)."""
    line = "off" if panel.threshold is None else "line"
    return {
        "id": pid, "title": panel.title, "type": "timeseries", "datasource": DS,
        "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
        "targets": [{"refId": "A", "datasource": DS, "expr": panel.expr, "legendFormat": "__auto"}],
        "fieldConfig": {"defaults": {"thresholds": {"mode": "absolute", "steps": _steps(panel.threshold)},
                                     "custom": {"thresholdsStyle": {"mode": line}}},
                        "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
    }


def build(name: str, dashboard_panels: tuple[Panel, ...], profile_name: str) -> dict[str, Any]:
    """One dashboard: its panels two per row, and a ``datasource`` variable.

    :param name: the dashboard's uid and title.
    :param dashboard_panels: its panels, in order.
    :param profile_name: the metric naming profile (a tag says which).
    """
    out = [_panel(i + 1, panel, 12 * (i % 2), 8 * (i // 2)) for i, panel in enumerate(dashboard_panels)]
    return {
        "uid": name, "title": name, "tags": ["mm2", "kafka", "mm2-smoke", f"profile-{profile_name}"],
        "schemaVersion": 39, "version": 1, "editable": True, "refresh": "10s",
        "time": {"from": "now-30m", "to": "now"},
        "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus",
                                 "label": "Prometheus", "current": {}}]},
        "panels": out,
    }


def dashboards(profile_name: str = "runbook") -> dict[str, dict[str, Any]]:
    """Every dashboard by name.

    :param profile_name: metric naming profile (``runbook`` or ``strimzi``).
    """
    return {name: build(name, ps, profile_name) for name, ps in panels(profile_name).items()}


def render(profile_name: str = "runbook") -> dict[str, str]:
    """The dashboard files' text by file name.

    :param profile_name: metric naming profile (``runbook`` or ``strimzi``).
    """
    return {f"{name}.json": json.dumps(doc, indent=2) + "\n" for name, doc in dashboards(profile_name).items()}

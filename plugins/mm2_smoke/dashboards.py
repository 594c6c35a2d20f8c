"""The runbook's Grafana dashboards, generated from the metric catalog and the threshold defaults.

``python -m mm2_smoke.dashboards [--profile runbook|strimzi] [--out include/grafana/dashboards]`` writes
``mm2-replication.json`` and ``mm2-detailed-metrics.json``. A test checks the committed files equal the
generated ones, so the dashboards, the DAG's sensors and the alert rules read the same names.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from mm2_smoke.metrics import DEFAULT_CONNECTOR_REGEX, PROFILES, NamingProfile, profile
from mm2_smoke.settings import SmokeSettings

DS = {"type": "prometheus", "uid": "${datasource}"}


def _sel(regex: str = DEFAULT_CONNECTOR_REGEX) -> str:
    return '{connector=~"' + regex + '"}'


def panel_queries(names: NamingProfile) -> dict[str, dict[str, tuple[str, float | None]]]:
    """Per dashboard: panel title -> (PromQL, GO/NOGO threshold line or None). Titles are the runbook's."""
    t = SmokeSettings()
    task = _sel()
    return {
        "mm2-replication": {
            "Total Records Polled": (f"sum({names.poll_total}{task})", None),
            "Total Records Written": (f"sum({names.write_total}{task})", None),
            "Replication Ratio": (f"100 * sum({names.write_total}{task}) / sum({names.poll_total}{task})",
                                  t.ratio_min_pct),
            "Topics Replicated": (f"count(count by (topic) ({names.mirror('record_count')}))", None),
            "Avg Replication Latency": (f"max by (topic) ({names.mirror('replication_latency_ms_avg')})",
                                        t.latency_avg_max_ms),
            "Max Replication Latency": (f"max by (topic) ({names.mirror('replication_latency_ms_max')})",
                                        t.latency_max_max_ms),
            "Record Age": (f"max by (topic) ({names.mirror('record_age_ms')})", None),
            "Byte Rate": (f"sum by (topic) ({names.mirror('byte_rate')})", None),
            "Records Replicated per Topic": (f"sum by (topic) ({names.mirror('record_count')})", None),
        },
        "mm2-detailed-metrics": {
            "Active Records (Lag)": (f"sum by (connector) ({names.active_count}{task})", t.lag_max),
            "Offset Commit Max Time": (f"max by (connector) ({names.offset_commit_max_time_ms}{task})",
                                       t.offset_commit_max_ms),
            "Poll Rate": (f"sum(rate({names.poll_total}{task}[1m]))", None),
            "Write Rate": (f"sum(rate({names.write_total}{task}[1m]))", None),
            "MM2 Producer Throttle Time": (f'max({names.producer_throttle_max}{{client_id=~".*Mirror.*"}})', None),
        },
    }


def _panel(pid: int, title: str, expr: str, threshold: float | None, x: int, y: int) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [{"color": "green", "value": None}]
    if threshold is not None:
        # Ratio: below the threshold is bad; everything else: above it is bad.
        if "Ratio" in title:
            steps = [{"color": "red", "value": None}, {"color": "green", "value": threshold}]
        else:
            steps.append({"color": "red", "value": threshold})
    return {
        "id": pid, "title": title, "type": "timeseries", "datasource": DS,
        "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
        "targets": [{"refId": "A", "datasource": DS, "expr": expr, "legendFormat": "__auto"}],
        "fieldConfig": {"defaults": {"thresholds": {"mode": "absolute", "steps": steps},
                                     "custom": {"thresholdsStyle": {"mode": "line" if threshold is not None
                                                                    else "off"}}},
                        "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
    }


def build(name: str, panels: dict[str, tuple[str, float | None]], profile_name: str) -> dict[str, Any]:
    out = [_panel(i + 1, title, expr, thr, 12 * (i % 2), 8 * (i // 2))
           for i, (title, (expr, thr)) in enumerate(panels.items())]
    return {
        "uid": name, "title": name, "tags": ["mm2", "kafka", "mm2-smoke", f"profile-{profile_name}"],
        "schemaVersion": 39, "version": 1, "editable": True, "refresh": "10s",
        "time": {"from": "now-30m", "to": "now"},
        "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus",
                                 "label": "Prometheus", "current": {}}]},
        "panels": out,
    }


def dashboards(profile_name: str = "runbook") -> dict[str, dict[str, Any]]:
    names = profile(profile_name)
    return {name: build(name, panels, profile_name) for name, panels in panel_queries(names).items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mm2_smoke.dashboards", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="runbook", help="metric naming profile")
    parser.add_argument("--out", type=Path, default=Path("include/grafana/dashboards"), help="output folder")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, doc in dashboards(args.profile).items():
        (args.out / f"{name}.json").write_text(json.dumps(doc, indent=2) + "\n")
        print(args.out / f"{name}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A filled report as the checklist builds it, for the report's and the view's unit tests."""

from __future__ import annotations

from mm2_smoke.checks import Check, Status
from mm2_smoke.report import build_report


def sample_report(status: Status = Status.GO) -> dict:
    checks = [
        Check("1.1", "messages_produced", 100, "100 delivered, 0 errors", Status.GO, "delivery reports"),
        Check("1.2", "poll_total_increase", 100.0, ">= +100", Status.GO, "sum(poll)"),
        Check("1.2", "write_poll_ratio_pct", 100.0, "> 99 %", status, "ratio", "" if status is Status.GO else "low"),
        Check("1.3", "replication_latency_avg_ms", 15.5, "< 100 ms", Status.GO, "max(avg)"),
        Check("1.4", "messages_on_target", 100, "100", Status.GO, "consumer"),
    ]
    return build_report(dag_id="mm2_smoke_test", run_id="manual__2026-11-28T04:00:00.123+00:00",
                        started_at="s", finished_at="f", checks=checks,
                        produced={"sent": 100, "delivered": 100, "achieved_rate": 10.0},
                        count={"received": 100, "missing": [], "duplicates": [], "foreign": 0},
                        baseline={"latency_avg_ms": 15.5}, replication={"outcome": "met",
                                                                         "seconds_after_production": 3.2},
                        settings={}, notes=["n"])

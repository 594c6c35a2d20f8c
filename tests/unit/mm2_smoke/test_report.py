from __future__ import annotations

import json

from mm2_smoke.checks import Check, Status
from mm2_smoke.report import build_report, render_markdown, safe_name, write_report


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


def test_report_json_has_the_required_fields() -> None:
    r = sample_report()
    assert r["verdict"] == "GO"
    assert r["counts"]["produced"] == r["counts"]["delivered"] == r["counts"]["received"] == 100
    assert r["counts"]["missing"] == r["counts"]["duplicates"] == 0
    assert {"verdict", "checks", "counts", "baseline", "started_at", "finished_at"} <= set(r)
    assert r["failed_checks"] == []
    json.dumps(r)


def test_failed_checks_and_verdict() -> None:
    r = sample_report(Status.NOGO)
    assert r["verdict"] == "NOGO"
    assert [c["name"] for c in r["failed_checks"]] == ["write_poll_ratio_pct"]


def test_markdown_fills_the_runbook_checklist() -> None:
    md = render_markdown(sample_report())
    for row in ("1.1 Messages produits", "1.2 poll_total augmente", "1.2 write_total ≈ poll", "1.3 Latence baseline",
                "1.4 Messages sur target"):
        assert f"| {row} | GO |" in md
    assert "GO pour Phase 2" in md
    assert "Avg: 15.50 ms" in md


def test_files_are_named_by_run_id_and_written_whole(tmp_path) -> None:
    r = sample_report()
    j, m = write_report(r, tmp_path)
    assert j.name == "manual__2026-11-28T04_00_00.123_00_00.json"
    assert m.name == "manual__2026-11-28T04_00_00.123_00_00.md"
    assert json.loads(j.read_text())["run_id"] == r["run_id"]
    assert not list(tmp_path.glob("*.tmp"))
    assert safe_name("../../etc/passwd") == ".._.._etc_passwd"

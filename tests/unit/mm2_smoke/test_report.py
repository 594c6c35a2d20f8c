from __future__ import annotations

import json

from mm2_smoke.checks import Status
from mm2_smoke.report import render_markdown, safe_name, write_report
from tests.support.reports import sample_report


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


def _pair(directory, name: str, age_s: float) -> None:
    import os
    import time
    for suffix in (".json", ".md"):
        p = directory / (name + suffix)
        p.write_text("{}")
        os.utime(p, (time.time() - age_s, time.time() - age_s))


def test_retention_keeps_the_newest_runs_and_never_touches_other_files(tmp_path, monkeypatch) -> None:
    for i in range(5):
        _pair(tmp_path, f"old{i}", age_s=100 + i)  # old0 newest
    (tmp_path / "notes.json").write_text("{}")  # not a report pair: never deleted
    monkeypatch.setenv("MM2_SMOKE_REPORT_KEEP", "3")
    j, _ = write_report(sample_report(), tmp_path)
    left = sorted(p.stem for p in tmp_path.glob("*.json"))
    assert left == sorted([j.stem, "notes", "old0", "old1"])
    assert not (tmp_path / "old2.md").exists() and not (tmp_path / "old4.md").exists()


def test_retention_by_age_and_zero_means_no_limit(tmp_path) -> None:
    from mm2_smoke.report import prune_reports
    _pair(tmp_path, "fresh", age_s=60)
    _pair(tmp_path, "stale", age_s=3 * 86400)
    assert prune_reports(tmp_path, keep=0, keep_days=0) == []
    assert prune_reports(tmp_path, keep=0, keep_days=2) == ["stale"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh.json", "fresh.md"]


def test_a_bad_retention_value_names_the_variable_and_keeps_the_report(tmp_path, monkeypatch) -> None:
    import pytest
    _pair(tmp_path, "older", age_s=100)
    monkeypatch.setenv("MM2_SMOKE_REPORT_KEEP", "ten")
    with pytest.raises(ValueError, match="MM2_SMOKE_REPORT_KEEP='ten' is not a whole number"):
        write_report(sample_report(), tmp_path)
    assert len(list(tmp_path.glob("*.json"))) == 2  # the run's report written, nothing pruned
    monkeypatch.setenv("MM2_SMOKE_REPORT_KEEP", "-1")
    with pytest.raises(ValueError, match="MM2_SMOKE_REPORT_KEEP"):
        write_report(sample_report(), tmp_path)

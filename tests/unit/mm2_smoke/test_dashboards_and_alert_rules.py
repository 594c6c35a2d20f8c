"""Dashboards and alert rules come from the same catalog and thresholds as the DAG, and the committed files are fresh."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from mm2_smoke import alert_rules, dashboards
from mm2_smoke.dashboards import Nogo, panels
from mm2_smoke.metrics import PROFILES, RUNBOOK, STRIMZI, Queries, duration, number
from mm2_smoke.settings import SmokeSettings
from mm2_stack import generate

REPO = Path(__file__).resolve().parents[3]
RULES_FILE = REPO / alert_rules.OUT_DIR / alert_rules.FILE_NAME
RUNBOOK_TITLES = {
    "mm2-replication": ["Total Records Polled", "Total Records Written", "Replication Ratio", "Topics Replicated",
                        "Avg Replication Latency", "Max Replication Latency"],
    "mm2-detailed-metrics": ["Active Records (Lag)", "Offset Commit Max Time"],
}
SOURCE_CONNECTOR = SmokeSettings().source_connector


def _promtool() -> str:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: `make deps` installs Debian's prometheus (it ships promtool)"
    return promtool


def _with_settings(monkeypatch: pytest.MonkeyPatch, **changes: Any) -> SmokeSettings:
    """Make the generators read settings defaults with ``changes`` (as if settings.py said so)."""
    changed = dataclasses.replace(SmokeSettings(), **changes)
    for module in (dashboards, alert_rules):
        monkeypatch.setattr(module, "SmokeSettings", lambda: changed)
    return changed


# ------------------------------------------------------------------------------------- generated files
@pytest.mark.parametrize("profile_name", list(PROFILES))
def test_committed_dashboards_are_the_generated_ones(profile_name: str) -> None:
    rendered, folder = dashboards.render(profile_name), REPO / dashboards.out_dir(profile_name)
    assert {p.name for p in folder.glob("*.json")} == set(rendered), "Grafana loads every file"
    for name, text in rendered.items():
        assert (folder / name).read_text() == text, f"{profile_name}/{name} is stale: run `make generate`"


@pytest.mark.parametrize("profile_name", list(PROFILES))
def test_committed_alert_rules_are_the_generated_ones(profile_name: str) -> None:
    rendered, folder = alert_rules.render(profile_name), REPO / alert_rules.out_dir(profile_name)
    assert {p.name for p in folder.glob("*.yml")} == set(rendered), "Prometheus loads every file"
    for name, text in rendered.items():
        assert (folder / name).read_text() == text, f"{profile_name}/{name} is stale: run `make generate`"


def test_generate_writes_every_generated_file_and_checks_them(tmp_path: Path) -> None:
    assert generate.main(["--check"]) == 0, "a committed generated file is stale: run `make generate`"
    assert generate.main(["--root", str(tmp_path), "--check"]) == 1
    assert generate.main(["--root", str(tmp_path)]) == 0
    written = {p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()}
    assert written == set(generate.generated_files())
    assert all((tmp_path / p).read_text() == (REPO / p).read_text() for p in written)
    assert generate.main(["--root", str(tmp_path), "--check"]) == 0


# ------------------------------------------------------------------------------------------ dashboards
def test_panels_have_the_runbooks_titles_and_threshold_lines() -> None:
    docs = dashboards.dashboards("runbook")
    for name, titles in RUNBOOK_TITLES.items():
        assert [p["title"] for p in docs[name]["panels"]][: len(titles)] == titles
    by_title = {p["title"]: p for d in docs.values() for p in d["panels"]}
    steps = {title: p["fieldConfig"]["defaults"]["thresholds"]["steps"] for title, p in by_title.items()}
    s = SmokeSettings()
    # Below the ratio's line is NOGO (red up to it); above the others' lines is NOGO.
    assert steps["Replication Ratio"] == [{"color": "red", "value": None}, {"color": "green", "value": s.ratio_min_pct}]
    for title, value in (("Avg Replication Latency", s.latency_avg_max_ms), ("Max Replication Latency",
                         s.latency_max_max_ms), ("Active Records (Lag)", s.lag_max),
                         ("Offset Commit Max Time", s.offset_commit_max_ms)):
        assert steps[title] == [{"color": "green", "value": None}, {"color": "red", "value": value}], title
    lines = {t for t, p in by_title.items() if p["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] == "line"}
    assert lines == {"Replication Ratio", "Avg Replication Latency", "Max Replication Latency", "Active Records (Lag)",
                     "Offset Commit Max Time"}
    assert all(p["datasource"]["uid"] == "${datasource}" for p in by_title.values())


def test_panel_threshold_directions_are_typed() -> None:
    directions = {p.title: p.threshold.nogo for ps in panels().values() for p in ps if p.threshold}
    assert directions.pop("Replication Ratio") is Nogo.BELOW
    assert set(directions.values()) == {Nogo.ABOVE}


def test_panel_queries_are_the_catalogs() -> None:
    s = SmokeSettings()
    q = Queries(RUNBOOK, remote_topic=s.remote_topic, connector_regex=s.connector_regex)
    exprs = {p.title: p.expr for ps in panels("runbook").values() for p in ps}
    assert exprs["Total Records Polled"] == q.poll_total
    assert exprs["Total Records Written"] == q.write_total
    assert exprs["Topics Replicated"] == q.topics_replicated
    assert exprs["MM2 Producer Throttle Time"] == q.mm2_producer_throttle_ms
    strimzi = {p.title: p.expr for ps in panels("strimzi").values() for p in ps}
    assert STRIMZI.poll_total.name in strimzi["Total Records Polled"]


def test_dashboard_thresholds_follow_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    changed = _with_settings(monkeypatch, ratio_min_pct=97.5, latency_max_max_ms=750.0)
    by_title = {p.title: p for ps in panels().values() for p in ps}
    assert by_title["Replication Ratio"].threshold.value == 97.5
    assert by_title["Max Replication Latency"].threshold.value == changed.latency_max_max_ms


# ----------------------------------------------------------------------------------------- alert rules
@pytest.mark.parametrize("profile_name", list(PROFILES))
def test_alert_rules_pass_promtool(profile_name: str) -> None:
    rules_file = REPO / alert_rules.out_dir(profile_name) / alert_rules.FILE_NAME
    done = subprocess.run([_promtool(), "check", "rules", str(rules_file)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(alert_rules.rules(profile_name))} rules found" in done.stdout


def test_alert_rules_keep_their_names_durations_and_labels() -> None:
    doc = yaml.safe_load(RULES_FILE.read_text())
    (group,) = doc["groups"]
    got = {r["alert"]: (r["for"], r["labels"]["severity"], r["labels"]["runbook_step"]) for r in group["rules"]}
    assert got == {
        # The runbook's stall NOGO: write_total has not moved for write_stall_timeout_s (30 s).
        "MM2ReplicationStalled": (duration(SmokeSettings().write_stall_timeout_s), "critical", "1.2"),
        "MM2ReplicationRatioLow": ("2m", "warning", "1.2"),
        "MM2ReplicationLatencyHigh": ("1m", "warning", "1.3"),
        "MM2LagGrowing": ("5m", "warning", "1.3"),
    }


def test_alert_thresholds_follow_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    _with_settings(monkeypatch, ratio_min_pct=97.5, latency_max_max_ms=750.0, lag_max=42.0)
    by_name = {r.name: r for r in alert_rules.rules()}
    assert by_name["MM2ReplicationRatioLow"].expr.endswith(" < 97.5")
    assert "97.5 %" in by_name["MM2ReplicationRatioLow"].summary
    assert by_name["MM2ReplicationLatencyHigh"].expr.endswith(" > 750")
    assert "(GO needs < 750 ms)" in by_name["MM2ReplicationLatencyHigh"].description
    assert " > 42\nand\n" in by_name["MM2LagGrowing"].expr


def _alert(name: str, eval_time: str, labels: dict[str, str], summary: str, description: str) -> dict[str, Any]:
    rule = next(r for r in alert_rules.rules() if r.name == name)
    return {"eval_time": eval_time, "alertname": name, "exp_alerts": [{
        "exp_labels": {**labels, "severity": rule.severity, "runbook_step": rule.runbook_step},
        "exp_annotations": {"summary": summary, "description": description}}]}


def _quiet(name: str, eval_time: str) -> dict[str, Any]:
    return {"eval_time": eval_time, "alertname": name, "exp_alerts": []}


def test_alert_rules_fire_on_the_runbooks_nogo_and_not_before(tmp_path: Path) -> None:
    """promtool's rule unit tests on synthetic series, 15 s apart: each alert fires on its NOGO once its `for`
    has passed, and stays quiet on a healthy chain."""
    s = SmokeSettings()
    task = f'connector="{SOURCE_CONNECTOR}",task="0"'
    poll, write = RUNBOOK.poll_total.name, RUNBOOK.write_total.name
    latency = RUNBOOK.mirror("replication_latency_ms_max")
    slow_ms, lag = s.latency_max_max_ms + 100, s.lag_max + 100
    stalled = next(r for r in alert_rules.rules() if r.name == "MM2ReplicationStalled")
    stalled_args = ("MM2ReplicationStalled", "90s", {}, stalled.summary, stalled.description)
    low_pct = s.ratio_min_pct - 9  # written per poll of 100 records
    tests = [
        {"interval": "15s", "input_series": [  # the connector is paused
            {"series": f'{RUNBOOK.connector_status.name}{{connector="{SOURCE_CONNECTOR}",status="paused"}}',
             "values": "1x20"}],
         "alert_rule_test": [_quiet("MM2ReplicationStalled", "15s"), _alert(*stalled_args)]},
        {"interval": "15s", "input_series": [  # polls without writing
            {"series": f"{poll}{{{task}}}", "values": "0+10x20"}, {"series": f"{write}{{{task}}}", "values": "0x20"}],
         "alert_rule_test": [_alert(*stalled_args)]},
        {"interval": "15s", "input_series": [  # healthy: running, writes what it polls
            {"series": f'{RUNBOOK.connector_status.name}{{connector="{SOURCE_CONNECTOR}",status="running"}}',
             "values": "1x40"},
            {"series": f"{poll}{{{task}}}", "values": "0+100x40"}, {"series": f"{write}{{{task}}}", "values": "0+100x40"}],
         "alert_rule_test": [_quiet("MM2ReplicationStalled", "5m"), _quiet("MM2ReplicationRatioLow", "8m")]},
        {"interval": "15s", "input_series": [
            {"series": f"{poll}{{{task}}}", "values": "0+100x40"},
            {"series": f"{write}{{{task}}}", "values": f"0+{number(low_pct)}x40"}],
         "alert_rule_test": [_alert("MM2ReplicationRatioLow", "8m", {},
                                    f"MM2 writes less than {number(s.ratio_min_pct)} % of the records it polls",
                                    f"write/poll ratio {low_pct:.2f} % (GO needs > {number(s.ratio_min_pct)} %).")]},
        {"interval": "15s", "input_series": [
            {"series": f'{latency}{{topic="{s.remote_topic}",partition="0"}}', "values": f"{number(slow_ms)}x20"},
            {"series": f'{latency}{{topic="other",partition="0"}}', "values": f"{number(s.latency_max_max_ms)}x20"}],
         "alert_rule_test": [
             _quiet("MM2ReplicationLatencyHigh", "45s"),
             _alert("MM2ReplicationLatencyHigh", "2m", {"topic": s.remote_topic},
                    f"MM2 replication latency max above {number(s.latency_max_max_ms)} ms on {s.remote_topic}",
                    f"max replication latency {number(slow_ms)} ms (GO needs < {number(s.latency_max_max_ms)} ms).")]},
        {"interval": "15s", "input_series": [  # lag above the threshold: growing, then (other connector) steady
            {"series": f"{RUNBOOK.active_count.name}{{{task}}}", "values": f"{number(lag)}+10x60"}],
         "alert_rule_test": [
             _quiet("MM2LagGrowing", "4m"),
             _alert("MM2LagGrowing", "10m", {}, f"MM2 lag (active records) above {number(s.lag_max)} and growing",
                    f"{number(lag + 10 * 40)} records polled but not yet acknowledged by the target.")]},
        {"interval": "15s", "input_series": [{"series": f"{RUNBOOK.active_count.name}{{{task}}}", "values": f"{number(lag)}x60"}],
         "alert_rule_test": [_quiet("MM2LagGrowing", "10m")]},
    ]
    spec = tmp_path / "alerts.test.yml"
    spec.write_text(yaml.safe_dump({"rule_files": [str(RULES_FILE)], "evaluation_interval": "15s", "tests": tests},
                                   sort_keys=False))
    done = subprocess.run([_promtool(), "test", "rules", str(spec)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr

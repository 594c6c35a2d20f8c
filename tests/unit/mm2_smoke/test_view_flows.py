"""A run of several flows in the view, the Asset's baseline and the alert: a row and a checklist per flow, trends per
flow, each flow's baseline, each flow's verdict."""

from __future__ import annotations

import copy
import json

from mm2_smoke.checklist import baseline_event
from mm2_smoke.checks import Status
from mm2_smoke.flow_report import combine
from mm2_smoke.notifiers import alert_payload
from mm2_smoke.view_html import dag_body, run_body
from mm2_smoke.view_model import RunInfo, history, trends
from tests.support.reports import sample_report


def _two_flows(second: Status = Status.NOGO, latency: float = 40.0) -> dict:
    good, bad = sample_report(), sample_report(second)
    bad["baseline"] = {"latency_avg_ms": latency}
    return combine([], [("A->B", good), ("B->A", bad)])


def test_history_has_a_row_per_flow_and_a_one_flow_run_names_its_flow() -> None:
    runs = [RunInfo("two", "failed"), RunInfo("one", "success")]
    one = combine([], [("A->B", sample_report())])
    rows = history(runs, {"two": _two_flows(), "one": one})
    assert [(r.run.run_id, r.flow, r.verdict) for r in rows] == [("two", "A->B", "GO"), ("two", "B->A", "NOGO"),
                                                                  ("one", "A->B", "GO")]
    assert rows[1].first_failed.startswith("1.2 write_poll_ratio_pct")
    assert rows[1].baseline["latency_avg_ms"] == 40.0 and rows[0].baseline["latency_avg_ms"] == 15.5


def test_trends_are_per_flow_when_runs_checked_several_and_unchanged_otherwise() -> None:
    runs = [RunInfo("r2", "success"), RunInfo("r1", "success")]
    rows = history(runs, {"r2": _two_flows(Status.GO, 30.0), "r1": _two_flows(Status.GO, 20.0)})
    by_key = {t.key: t for t in trends(rows)}
    assert [v for _r, v, _s in by_key["latency_avg_ms@B->A"].points] == [20.0, 30.0]
    assert [v for _r, v, _s in by_key["latency_avg_ms@A->B"].points] == [15.5, 15.5]
    assert "(B->A)" in by_key["latency_avg_ms@B->A"].title
    single = history(runs[:1], {"r2": combine([], [("A->B", sample_report())])})
    assert "latency_avg_ms" in {t.key for t in trends(single)}  # one flow: today's keys


def test_the_run_page_shows_one_checklist_per_flow_and_the_history_a_flow_column() -> None:
    html = run_body(_two_flows(), prefix="/mm2-smoke", airflow_run_url="u", json_url="j")
    assert html.count('<table class="checklist" data-flow=') == 2
    assert 'data-flow="B-&gt;A"' in html and "NOGO" in html
    rows = history([RunInfo("two", "failed")], {"two": _two_flows()})
    page = dag_body("mm2_smoke_test", rows, trends(rows), prefix="/mm2-smoke", airflow_dag_url="d", json_url="j")
    assert page.count("<tr data-run-id=") == 2 and "<th>flow</th>" in page


def test_the_baseline_event_carries_each_flows_baseline() -> None:
    extra = baseline_event(_two_flows(Status.GO, 33.0))
    assert extra["flows"] == {"A->B": {"latency_avg_ms": 15.5}, "B->A": {"latency_avg_ms": 33.0}}
    assert "flows" not in baseline_event(combine([], [("A->B", sample_report())]))


def test_the_alert_names_each_flows_verdict(tmp_path, monkeypatch) -> None:
    report = copy.deepcopy(_two_flows())
    report["flows"][1]["diagnoses"] = [{"cause": "connector B->A is PAUSED"}]
    monkeypatch.setenv("MM2_SMOKE_REPORT_DIR", str(tmp_path))
    (tmp_path / "run_1.json").write_text(json.dumps(report))
    context = {"dag": type("D", (), {"dag_id": "mm2_smoke_test"})(), "run_id": "run_1",
               "dag_run": type("R", (), {"run_id": "run_1", "dag_id": "mm2_smoke_test"})()}
    payload = alert_payload(context)
    assert [(f["flow"], f["verdict"], f["first_cause"]) for f in payload["flows"]] == [
        ("A->B", "GO", None), ("B->A", "NOGO", "connector B->A is PAUSED")]
    assert "- flow B->A: NOGO (connector B->A is PAUSED)" in payload["text"]

"""The smoke-test view's pure parts: which report a run shows, secrets masked, the history rows, the trends with the
settings' thresholds, and the HTML/SVG (parsed back, never string-matched alone)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from html.parser import HTMLParser

from mm2_smoke.checks import Status
from mm2_smoke.report import with_diagnoses
from mm2_smoke.settings import SmokeSettings
from mm2_smoke.view_html import dag_body, page, run_body, trend_svg
from mm2_smoke.view_model import (
    MASK,
    RunInfo,
    deadline_minutes,
    history,
    redact,
    run_report,
    trends,
)
from tests.support.reports import sample_report

PASSWORD = "s3cr3t-Pa55word"


class _Dom(HTMLParser):
    """Elements by id and every element's attributes and text, enough to assert on the page's structure."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def attrs(self, **wanted: str) -> list[dict[str, str]]:
        return [a for _, a in self.elements if all(a.get(k.replace("_", "-")) == v for k, v in wanted.items())]


def _dom(html: str) -> _Dom:
    d = _Dom()
    d.feed(html)
    return d


def _nogo() -> dict:
    r = sample_report(Status.NOGO)
    return with_diagnoses(r, [{"symptom": "writes", "cause": "connector paused", "evidence": "state PAUSED",
                               "action": "resume the connector", "score": 0.9}], 1.5)


def test_the_nogo_tasks_report_wins_over_the_checklists_and_secrets_are_masked() -> None:
    nogo = _nogo()
    checklist = sample_report(Status.NOGO)
    assert run_report(checklist, nogo)["diagnoses"][0]["cause"] == "connector paused"
    assert run_report(checklist, None)["verdict"] == "NOGO"
    assert run_report(None, None) is None and run_report("not a report", {"x": 1}) is None
    leaky = {**checklist, "settings": {"sasl.password": PASSWORD, "num_messages": 100},
             "notes": [f"config sasl.password={PASSWORD} refused", f"echo {PASSWORD}"]}
    shown = run_report(leaky, None, secrets=(PASSWORD,))
    assert PASSWORD not in repr(shown)
    assert shown["settings"] == {"sasl.password": MASK, "num_messages": 100}
    assert redact({"token": "abc", "nested": [{"password": "x"}], "n": None}) == {
        "token": MASK, "nested": [{"password": MASK}], "n": None}
    assert redact("password: hunter22 and secret=\"xyz\"") == f"password: {MASK} and secret=\"{MASK}\""


def test_history_rows_time_to_verdict_first_failure_and_cause() -> None:
    go = {**sample_report(), "run_id": "go", "started_at": "2026-12-02T10:00:00+00:00",
          "finished_at": "2026-12-02T10:00:31.5+00:00", "baseline": {"latency_avg_ms": 12.0, "lag_window": [1, 2]}}
    nogo = {**_nogo(), "run_id": "nogo", "started_at": "2026-12-02T11:00:00+00:00",
            "finished_at": "2026-12-02T11:00:04+00:00", "settings": {"latency_avg_max_ms": 80}}
    runs = [RunInfo("nogo", "failed"), RunInfo("go", "success"), RunInfo("running", "running")]
    rows = history(runs, {"go": go, "nogo": nogo})
    assert [(r.run.run_id, r.verdict, r.time_to_verdict_s) for r in rows] == [
        ("nogo", "NOGO", 4.0), ("go", "GO", 31.5), ("running", "", None)]
    assert rows[0].first_failed == "1.2 write_poll_ratio_pct: NOGO" and rows[0].first_cause == "connector paused"
    assert rows[1].baseline == {"latency_avg_ms": 12.0}  # the lag window is not a trend
    # Thresholds: each run's own settings, else settings.py's defaults (one source of truth).
    assert rows[0].thresholds["latency_avg_ms"] == 80.0
    assert rows[1].thresholds["latency_avg_ms"] == SmokeSettings().latency_avg_max_ms
    assert rows[1].thresholds["lag"] == SmokeSettings().lag_max


def test_trends_are_oldest_first_skip_runs_without_a_value_and_carry_each_runs_threshold() -> None:
    reports = {f"r{i}": {**sample_report(), "run_id": f"r{i}", "baseline": {"latency_avg_ms": 10.0 + i,
                                                                             "latency_max_ms": float("nan")}}
               for i in range(3)}
    rows = history([RunInfo(f"r{i}", "success") for i in (2, 1, 0)], reports)  # newest first
    by_key = {t.key: t for t in trends(rows)}
    avg = by_key["latency_avg_ms"]
    assert [p[0] for p in avg.points] == ["r0", "r1", "r2"] and [p[1] for p in avg.points] == [10.0, 11.0, 12.0]
    assert [t for _, t in avg.thresholds] == [100.0] * 3
    assert by_key["latency_max_ms"].points == []  # NaN is no data, never a point
    assert by_key["e2e_p50_ms"].thresholds == []  # the runbook has no threshold for it


def test_trend_svg_draws_points_and_the_threshold_and_parses_as_svg() -> None:
    reports = {f"r{i}": {**sample_report(), "run_id": f"r{i}", "baseline": {"latency_max_ms": v}}
               for i, v in enumerate((120.0, 530.0))}
    rows = history([RunInfo("r1", "success"), RunInfo("r0", "success")], reports)
    svg = trend_svg(next(t for t in trends(rows) if t.key == "latency_max_ms"))
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    circles = root.findall(f"{ns}circle")
    assert [c.get("data-run-id") for c in circles] == ["r0", "r1"]
    assert [float(c.get("data-value")) for c in circles] == [120.0, 530.0]
    threshold = root.find(f"{ns}polyline[@class='threshold']")
    assert threshold is not None and float(threshold.get("data-threshold")) == 500
    # The point above the threshold is drawn above its line (SVG's y grows downwards).
    y_limit = float(threshold.get("points").split()[1].split(",")[1])
    assert float(circles[1].get("cy")) < y_limit < float(circles[0].get("cy"))
    empty = ET.fromstring(trend_svg(next(t for t in trends(rows) if t.key == "lag")))
    assert "no run measured it yet" in "".join(empty.itertext())


def test_run_page_shows_the_banner_first_the_checklist_rows_and_the_diagnoses() -> None:
    html = page("t", run_body(_nogo(), prefix="/mm2-smoke", airflow_run_url="http://a/dags/d/runs/r",
                              json_url="/mm2-smoke/api/dags/d/runs/r"))
    dom = _dom(html)
    first_div = next(a for tag, a in dom.elements if tag == "div")
    assert first_div["id"] == "verdict" and first_div["data-verdict"] == "NOGO"
    steps = [a["data-step"] for a in dom.attrs() if "data-step" in a]
    assert steps[0] == "1.1 Messages produits" and "1.4 Messages sur target" in steps and len(steps) == 6
    assert dom.attrs(data_rank="1") and "resume the connector" in "".join(dom.text)
    assert [a["data-check"] for a in dom.attrs() if "data-check" in a][:2] == ["messages_produced",
                                                                               "poll_total_increase"]
    assert "Most likely cause: connector paused" in "".join(dom.text)


def test_dag_page_lists_runs_with_links_and_the_charts() -> None:
    reports = {"a": {**sample_report(), "run_id": "a", "baseline": {"latency_avg_ms": 5.0}}}
    rows = history([RunInfo("b <script>", "running"), RunInfo("a", "success")], reports)
    html = dag_body("mm2_smoke_test", rows, trends(rows), prefix="/mm2-smoke", airflow_dag_url="/dags/mm2_smoke_test",
                    json_url="/j")
    dom = _dom(page("t", html))
    assert [a["data-run-id"] for tag, a in dom.elements if tag == "tr" and "data-run-id" in a] == ["b <script>", "a"]
    assert "<script>" not in html  # escaped
    assert dom.attrs(href="/mm2-smoke/dags/mm2_smoke_test/runs/a")
    assert len([a for a in dom.attrs() if a.get("class") == "trend"]) == 6


def test_deadline_minutes_from_the_runs_conf_else_the_default() -> None:
    assert deadline_minutes({"deadline_minutes": 0.25}, 10) == 0.25
    assert deadline_minutes({"deadline_minutes": "2"}, 10) == 2.0
    for conf in (None, {}, {"deadline_minutes": 0}, {"deadline_minutes": "x"}, {"deadline_minutes": True}, "str"):
        assert deadline_minutes(conf, 10) == 10

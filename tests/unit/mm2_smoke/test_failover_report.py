"""Failover readiness in the run's report (issue 25), beside the Phase 1 verdict and never changing it: the checklist
pulls each flow's result, the JSON's ``failover`` (exact keys, flow order, overall verdict), the Markdown's "Bascule /
failover" block, the view (run page, history column, trends), the GO Asset's extra and the alert. With the check off
(no result for any flow) the report is today's: no ``failover`` anywhere."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from mm2_smoke import dag_layout as layout
from mm2_smoke.checklist import STEP_TASKS, baseline_event, fill, flow_results, proven_verdicts
from mm2_smoke.checks import Status
from mm2_smoke.flow_report import combine, overall_readiness, with_flow_diagnoses
from mm2_smoke.notifiers import alert_payload
from mm2_smoke.payloads import FAILOVER_FLOW_KEYS, FailoverBaseline, FailoverBaselineFlow, FailoverFlow, FailoverResult
from mm2_smoke.readiness import NOT_READY, READY, UNKNOWN, Readiness, overall
from mm2_smoke.report import REPORT_DIR_ENV, render_markdown, with_diagnoses
from mm2_smoke.settings import SmokeSettings
from mm2_smoke.view_html import dag_body, run_body
from mm2_smoke.view_model import MASK, RunInfo, history, run_report, trends
from tests.support.reports import sample_report
from tests.support.xcoms import XcomTable

NINE = ["flow", "verdict", "checkpoint_age_s", "translated", "would_lose", "would_reread", "heartbeat_age_s",
        "synced_on_target", "diagnoses"]
RUN_ID = "manual__2026-12-01T00:00:00+00:00"
PAUSED = {"symptom": "failover_not_ready", "cause_id": "checkpoint_connector_paused",
          "cause": "the MirrorCheckpointConnector B->A is PAUSED", "evidence": "GET /connectors/cp/status: PAUSED",
          "action": "resume it: PUT /connectors/cp/resume", "score": 95, "component": "connector",
          "cause_class": "paused"}


def _result(flow: str, verdict: str = READY, *, reread: int | None = 3, age: float | None = 1.5,
            diagnoses: list[dict[str, Any]] | None = None, reasons: list[str] | None = None) -> FailoverResult:
    """A flow's failover task XCom, as the task pushes it."""
    return {"flow": flow, "verdict": verdict, "checkpoint_age_s": age, "translated": {"0": 510, "1": 77},
            "would_lose": 0, "would_reread": reread, "heartbeat_age_s": 2.5,
            "synced_on_target": True if verdict == READY else False, "diagnoses": diagnoses or [],
            "reasons": reasons or [], "group": f"mm2-smoke-failover.mm2_smoke_test.{flow}", "seconds": 4.2,
            "reread_max": 100}


def _two(second: dict[str, Any] | None, first: dict[str, Any] | None = None, phase1: Status = Status.GO) -> dict:
    return combine([], [("A->B", sample_report()), ("B->A", sample_report(phase1))],
                   [first if first is not None else _result("A->B"), second])


def _not_ready() -> FailoverResult:
    return _result("B->A", NOT_READY, reread=250, age=None, diagnoses=[PAUSED, {**PAUSED, "cause": "second cause"}],
                   reasons=["partition 0: no checkpoint for the group (committed 120)"])


# --- the JSON --------------------------------------------------------------------------------------------------------
def test_the_check_off_gives_todays_report_byte_for_byte() -> None:
    reports = [("A->B", sample_report()), ("B->A", sample_report(Status.NOGO))]
    today = json.dumps(combine([], reports))
    assert json.dumps(combine([], reports, [None, None])) == today
    assert json.dumps(combine([], reports[:1], [None])) == json.dumps(combine([], reports[:1]))
    assert "failover" not in today
    off = combine([], reports, [None, None])
    assert "Bascule" not in render_markdown(off) and "failover" not in render_markdown(off).lower()
    assert "failover" not in baseline_event(combine([], reports[:1], [None]))


def test_one_flow_ready_is_the_runs_readiness_with_exactly_the_nine_keys() -> None:
    pushed: FailoverResult = {**_result("A->B"), "waited_s": 3.1, "config_from": "Connect REST"}
    report = combine([], [("A->B", sample_report())], [pushed])
    assert list(report["failover"]) == ["verdict", "flows"]
    assert report["failover"]["verdict"] == READY
    [entry] = report["failover"]["flows"]
    assert list(entry) == NINE == list(FAILOVER_FLOW_KEYS) == list(FailoverFlow.__annotations__)
    assert entry["translated"] == {"0": 510, "1": 77} and entry["would_reread"] == 3
    assert report["verdict"] == "GO" and report["flows"][0]["verdict"] == "GO"
    assert report["flows"][0]["failover"] == pushed  # the block keeps the whole result (group, reasons...)
    assert set(pushed) == set(FailoverResult.__annotations__)
    json.dumps(report)  # plain data


def test_two_flows_one_not_ready_make_the_run_not_ready_and_leave_every_phase_1_verdict_alone() -> None:
    report = _two(_not_ready())
    assert report["failover"]["verdict"] == NOT_READY
    assert [(f["flow"], f["verdict"]) for f in report["failover"]["flows"]] == [("A->B", READY), ("B->A", NOT_READY)]
    assert all(list(f) == NINE for f in report["failover"]["flows"])
    assert report["failover"]["flows"][1]["diagnoses"][0] == PAUSED
    without = combine([], [("A->B", sample_report()), ("B->A", sample_report())])
    assert report["verdict"] == without["verdict"] == "GO"
    assert [b["verdict"] for b in report["flows"]] == [b["verdict"] for b in without["flows"]] == ["GO", "GO"]
    stripped = {k: v for k, v in report.items() if k != "failover"}
    stripped["flows"] = [{k: v for k, v in b.items() if k != "failover"} for b in report["flows"]]
    assert stripped == without  # readiness adds its keys and changes nothing else
    nogo = _two(_result("B->A"), phase1=Status.NOGO)
    assert nogo["verdict"] == "NOGO" and nogo["failover"]["verdict"] == READY


def test_a_flow_without_a_result_is_left_out_and_the_block_has_no_failover() -> None:
    report = _two(None)
    assert [f["flow"] for f in report["failover"]["flows"]] == ["A->B"]
    assert "failover" in report["flows"][0] and "failover" not in report["flows"][1]
    assert "- not checked: B->A" in render_markdown(report)
    assert _two(None, _result("A->B", UNKNOWN))["failover"]["verdict"] == UNKNOWN
    # A flow left unchecked keeps the run from READY: its consumers were never shown to switch.
    assert _two(None)["failover"]["verdict"] == UNKNOWN
    assert _two(None, _result("A->B", NOT_READY))["failover"]["verdict"] == NOT_READY


@pytest.mark.parametrize("verdicts", [[], [READY], [READY, READY], [READY, UNKNOWN], [UNKNOWN, NOT_READY, READY],
                                      [NOT_READY], [UNKNOWN]])
def test_the_runs_readiness_is_readiness_overall_on_the_verdict_words(verdicts: list[str]) -> None:
    flows = [Readiness(f"f{i}", v, None, None, None, None, None, None) for i, v in enumerate(verdicts)]
    assert overall_readiness(verdicts) == overall(flows)


def test_the_nogo_path_keeps_the_readiness_and_its_diagnoses_stay_out_of_the_runs() -> None:
    report = _two(_not_ready(), phase1=Status.NOGO)
    ranked = [{"symptom": "writes", "cause": "connector paused", "evidence": "e", "action": "a", "flow": "B->A"}]
    final = proven_verdicts(with_flow_diagnoses(with_diagnoses(report, ranked, 1.0), ranked))
    assert final["failover"] == report["failover"] and final["flows"][1]["failover"] == _not_ready()
    assert final["diagnoses"] == ranked and final["flows"][1]["diagnoses"] == ranked


# --- the checklist task -----------------------------------------------------------------------------------------------
_Ti = XcomTable


def _outcome(flow: str, proceed: bool) -> dict[str, Any]:
    source, target = flow.split("->")
    settings = {**SmokeSettings(source_alias=source, target_alias=target).to_dict(), "flow": flow,
                "metric_profile": "runbook"}
    return {"flow": flow, "settings": settings, "proceed": proceed,
            "preflight": {"status": "GO" if proceed else "NOGO", "findings": [], "seconds": 0.1,
                          "metric_profile": "runbook", "profile_detected": True, "store_lag_s": 0.0}}


def test_flow_results_pull_the_failover_result_at_the_flows_map_index_and_a_stopped_flow_has_none() -> None:
    assert layout.FAILOVER in STEP_TASKS and STEP_TASKS[:4] == (layout.PRODUCE, layout.REPLICATION, layout.LATENCY,
                                                                layout.COUNT)
    ti = _Ti({(layout.FAILOVER.id, "return_value", 0): _result("B->C"),
              (layout.FAILOVER.id, "return_value", 1): _result("C->D", NOT_READY)})
    results = flow_results(ti, [_outcome("A->B", False), _outcome("B->C", True), _outcome("C->D", True)])
    assert [pulled[layout.FAILOVER] for _o, pulled in results] == [None, _result("B->C"), _result("C->D", NOT_READY)]
    assert (layout.FAILOVER.id, "return_value", 1) in ti.pulled


def _fill(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, outcomes: list[dict[str, Any]],
          failover: dict[int, Any]) -> tuple[dict, str]:
    monkeypatch.setenv(REPORT_DIR_ENV, str(tmp_path))
    monkeypatch.setattr("mm2_smoke.checklist.utc_now_iso", lambda: "2026-12-01T00:01:00+00:00")
    xcoms: dict[tuple[str, str, int | None], Any] = {(layout.PREFLIGHT.id, layout.FLOWS_KEY, None): outcomes}
    xcoms.update({(layout.FAILOVER.id, "return_value", i): r for i, r in failover.items()})
    context = {"ti": _Ti(xcoms), "params": {}, "run_id": RUN_ID, "dag": SimpleNamespace(dag_id="mm2_smoke_test"),
               "dag_run": SimpleNamespace(start_date=None)}
    report = fill(context)
    return report, Path(report["report_files"]["json"]).read_text()


def test_fill_writes_the_readiness_beside_an_unchanged_verdict(tmp_path, monkeypatch) -> None:
    outcomes = [_outcome("A->B", False), _outcome("C->D", True), _outcome("E->F", True)]
    off, off_text = _fill(tmp_path / "off", monkeypatch, outcomes, {})
    assert "failover" not in off_text.replace('"failover_', "")  # only the Params' own names
    on, on_text = _fill(tmp_path / "on", monkeypatch, outcomes, {0: _result("C->D"), 1: _not_ready() | {"flow": "E->F"}})
    assert on["verdict"] == off["verdict"] and [b["verdict"] for b in on["flows"]] == [b["verdict"] for b in off["flows"]]
    written = json.loads(on_text)
    assert written["failover"]["verdict"] == NOT_READY
    assert [f["flow"] for f in written["failover"]["flows"]] == ["C->D", "E->F"]
    assert "## Bascule / failover" in Path(on["report_files"]["markdown"]).read_text()


# --- the Markdown -----------------------------------------------------------------------------------------------------
def test_the_markdown_block_follows_the_checklists_and_says_each_flows_readiness_and_why() -> None:
    md = render_markdown(_two(_not_ready()))
    assert md.index("## Flow B->A") < md.index("## Bascule / failover") < md.index("## Checks")
    assert "**Failover readiness: NOT READY**" in md
    assert ("| A->B | READY | 0 | 3 (at most 100) | 1.50 s | 2.50 s | yes | mm2-smoke-failover.mm2_smoke_test.A->B |"
            in md)
    assert "| B->A | NOT READY | 0 | 250 (at most 100) | n/a | 2.50 s | no |" in md
    assert ("- B->A (NOT READY): most likely cause: the MirrorCheckpointConnector B->A is PAUSED. Evidence: GET "
            "/connectors/cp/status: PAUSED. Action: resume it: PUT /connectors/cp/resume") in md
    assert "  - also: second cause" in md and "no checkpoint for the group" not in md  # reasons only without diagnoses
    unknown = _result("A->B", UNKNOWN, reasons=["MM2 has not learnt the group yet", "no heartbeat"])
    one = render_markdown(combine([], [("A->B", sample_report())], [unknown]))
    assert "- A->B (UNKNOWN): MM2 has not learnt the group yet; no heartbeat" in one
    assert "Checklist Phase 1" in one and "**Verdict: GO**" in one
    failed = {**_result("A->B", UNKNOWN, reread=None, reasons=["the failover check failed: boom"]), "group": "",
              "reread_max": None, "seconds": None}
    text = render_markdown(combine([], [("A->B", sample_report())], [failed]))
    assert "| A->B | UNKNOWN | 0 | n/a | 1.50 s | 2.50 s | no | n/a |" in text
    ready = render_markdown(combine([], [("A->B", sample_report())], [_result("A->B")]))
    assert ready.index("| 1.4 Messages sur target") < ready.index("## Bascule / failover")


# --- the view ---------------------------------------------------------------------------------------------------------
def test_the_run_page_shows_the_block_and_the_history_a_failover_column(tmp_path) -> None:
    report = _two(_not_ready())
    html = run_body(report, prefix="/mm2-smoke", airflow_run_url="u", json_url="j")
    assert '<div id="failover" data-verdict="NOT READY">' in html
    assert html.index("Flow B-&gt;A") < html.index('id="failover"') < html.index('id="counts"')
    assert 'data-flow="B-&gt;A" data-verdict="NOT READY"' in html and "st-NOT-READY" in html
    assert "resume it: PUT /connectors/cp/resume" in html and "250 (at most 100)" in html
    assert 'id="failover"' not in run_body(sample_report(), prefix="p", airflow_run_url="u", json_url="j")
    runs = [RunInfo("two", "success"), RunInfo("off", "success"), RunInfo("one", "success")]
    rows = history(runs, {"two": report, "off": combine([], [("A->B", sample_report())]),
                          "one": combine([], [("A->B", sample_report())], [_result("A->B", UNKNOWN)])})
    assert [(r.run.run_id, r.flow, r.verdict, r.failover) for r in rows] == [
        ("two", "A->B", "GO", READY), ("two", "B->A", "GO", NOT_READY), ("off", "A->B", "GO", ""),
        ("one", "A->B", "GO", UNKNOWN)]
    assert rows[1].failover_values == {"would_reread": 250, "checkpoint_age_s": None}
    page = dag_body("mm2_smoke_test", rows, trends(rows), prefix="/mm2-smoke", airflow_dag_url="d", json_url="j")
    assert "<th>failover</th>" in page
    assert '<td class="failover" data-failover="">—</td>' in page
    assert '<td class="failover" data-failover="NOT READY"><span class="st st-NOT-READY">NOT READY</span></td>' in page


def test_trends_add_would_reread_and_checkpoint_age_per_flow_once_readiness_was_checked() -> None:
    runs = [RunInfo("r3", "success"), RunInfo("r2", "success"), RunInfo("r1", "success")]
    reports = {"r3": _two(_result("B->A", reread=7, age=3.0)), "r2": _two(_not_ready()),
               "r1": combine([], [("A->B", sample_report()), ("B->A", sample_report())])}
    by_key = {t.key: t for t in trends(history(runs, reports))}
    assert by_key["would_reread@B->A"].points == [("r2", 250.0, NOT_READY), ("r3", 7.0, READY)]
    assert by_key["checkpoint_age_s@B->A"].points == [("r3", 3.0, READY)]  # r2's age: none read
    assert by_key["would_reread@A->B"].setting is None and by_key["would_reread@A->B"].thresholds == []
    assert "latency_avg_ms@A->B" in by_key
    one = {"r": combine([], [("A->B", sample_report())], [_result("A->B")])}
    keys = [t.key for t in trends(history([RunInfo("r", "success")], one))]
    assert keys[-2:] == ["would_reread", "checkpoint_age_s"]
    off = {"r": combine([], [("A->B", sample_report())])}
    assert not {"would_reread", "checkpoint_age_s"} & {t.key for t in trends(history([RunInfo("r", "success")], off))}


def test_the_view_masks_secrets_in_the_readiness_too() -> None:
    leaky = _result("A->B", NOT_READY, diagnoses=[{**PAUSED, "evidence": "sasl.jaas.config password=hunter22"}])
    shown = run_report(combine([], [("A->B", sample_report())], [leaky]), None)
    assert "hunter22" not in json.dumps(shown) and MASK in shown["failover"]["flows"][0]["diagnoses"][0]["evidence"]


# --- the Asset's extra and the alert ----------------------------------------------------------------------------------
def test_the_baseline_event_carries_the_readiness() -> None:
    extra = baseline_event(_two(_not_ready()))
    assert extra["failover"] == {"verdict": NOT_READY, "flows": [
        {"flow": "A->B", "verdict": READY, "would_reread": 3, "checkpoint_age_s": 1.5, "heartbeat_age_s": 2.5},
        {"flow": "B->A", "verdict": NOT_READY, "would_reread": 250, "checkpoint_age_s": None, "heartbeat_age_s": 2.5}]}
    assert list(extra["failover"]) == list(FailoverBaseline.__annotations__)
    assert all(list(f) == list(FailoverBaselineFlow.__annotations__) for f in extra["failover"]["flows"])
    assert extra["verdict"] == "GO" and set(extra["flows"]) == {"A->B", "B->A"}


def _alert(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, report: dict) -> dict:
    monkeypatch.setenv(REPORT_DIR_ENV, str(tmp_path))
    (tmp_path / "run_1.json").write_text(json.dumps(report))
    context = {"dag": SimpleNamespace(dag_id="mm2_smoke_test"), "run_id": "run_1",
               "dag_run": SimpleNamespace(run_id="run_1", dag_id="mm2_smoke_test")}
    return alert_payload(context)


def test_the_alert_gives_the_readiness_and_each_flows_first_cause(tmp_path, monkeypatch) -> None:
    unknown = _result("A->B", UNKNOWN, reasons=["MM2 has not learnt the group yet"])
    payload = _alert(tmp_path, monkeypatch, copy.deepcopy(_two(_not_ready(), unknown)))
    assert payload["failover"] == {"verdict": NOT_READY, "flows": [
        {"flow": "A->B", "verdict": UNKNOWN, "first_cause": "MM2 has not learnt the group yet"},
        {"flow": "B->A", "verdict": NOT_READY, "first_cause": PAUSED["cause"]}]}
    assert "- failover readiness: NOT READY" in payload["text"]
    assert f"  - B->A: NOT READY ({PAUSED['cause']})" in payload["text"]
    assert payload["verdict"] == "GO" and payload["text"].endswith(payload["url"])
    ready = _alert(tmp_path, monkeypatch, combine([], [("A->B", sample_report())], [_result("A->B")]))
    assert ready["failover"]["flows"] == [{"flow": "A->B", "verdict": READY, "first_cause": None}]
    assert "  - A->B: READY\n" in ready["text"]
    off = _alert(tmp_path, monkeypatch, combine([], [("A->B", sample_report())]))
    assert "failover" not in off and "failover" not in off["text"]

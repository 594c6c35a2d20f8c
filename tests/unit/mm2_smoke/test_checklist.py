"""The checklist: every step's part, the pre-flight's findings, and the rows of steps the pre-flight did not run."""

from __future__ import annotations

from types import SimpleNamespace

from mm2_smoke import dag_layout as layout
from mm2_smoke.checklist import baseline, collect_checks, preflight_checks, run_settings
from mm2_smoke.checks import Check, Status, overall
from mm2_smoke.settings import SmokeSettings

S = SmokeSettings()
CONTRACT_FAIL = {"status": "UNKNOWN", "seconds": 0.03, "metric_profile": "strimzi", "profile_detected": False,
                 "store_lag_s": None, "findings": [{"check": "metric_contract", "status": "UNKNOWN", "certain": True,
                                                    "message": "7 of its 7 contract series do not answer",
                                                    "evidence": "", "value": "strimzi", "threshold": "fresh"}]}


def test_steps_the_pre_flight_stopped_say_so_and_are_unknown() -> None:
    flight, notes, stopped = preflight_checks(CONTRACT_FAIL)
    assert [c.name for c in flight] == ["metric_contract"] and flight[0].status is Status.UNKNOWN
    assert stopped == "metric_contract UNKNOWN (see its row)"
    checks, _ = collect_checks(S, None, None, None, None, not_run=stopped)
    assert [c.step for c in checks] == ["1.1", "1.2", "1.3", "1.4"]
    assert all(c.status is Status.UNKNOWN and c.reason.startswith("not run: the pre-flight found") for c in checks)
    assert overall(flight + checks) is Status.UNKNOWN
    # A stopped run shows what could not be inspected as rows too (the diagnosis reads them); a run that went on
    # keeps them as notes.
    rest = {"check": "connector", "status": "UNKNOWN", "certain": False, "message": "Connect REST answered HTTP 401"}
    flight, notes, _ = preflight_checks({**CONTRACT_FAIL, "findings": [*CONTRACT_FAIL["findings"], rest]})
    assert [c.name for c in flight] == ["metric_contract", "connector"] and notes == []


def test_a_go_pre_flight_is_a_go_row_and_a_note_and_warnings_are_notes() -> None:
    go = {**CONTRACT_FAIL, "status": "WARN", "findings": [
        {**CONTRACT_FAIL["findings"][0], "status": "GO", "message": "profile 'runbook' detected", "value": "runbook"},
        {"check": "test_topic", "status": "UNKNOWN", "certain": False, "message": "may be new"}]}
    flight, notes, stopped = preflight_checks(go)
    assert [(c.name, c.status, c.value) for c in flight] == [("metric_contract", Status.GO, "runbook")]
    assert notes == ["pre-flight: profile 'runbook' detected", "pre-flight warning (test_topic): may be new"]
    assert stopped == ""
    assert preflight_checks(None) == ([], [], "")


def test_unfinished_steps_are_unknown_and_the_baseline_keeps_step_1_2s_values() -> None:
    checks, _ = collect_checks(S, None, None, None, None)
    assert {c.step for c in checks} == {"1.1", "1.2", "1.3", "1.4"} and overall(checks) is Status.UNKNOWN
    ratio = Check("1.2", "write_poll_ratio_pct", 100.0, "> 99 %", Status.GO, "q")
    assert baseline({"baseline": {"latency_avg_ms": 12.0}}, [ratio]) == {"latency_avg_ms": 12.0,
                                                                          "write_poll_ratio_pct": 100.0}


class _Ti:
    def __init__(self, xcoms: dict) -> None:
        self.xcoms = xcoms

    def xcom_pull(self, task_ids: str, key: str = "return_value"):
        return self.xcoms.get((task_ids, key))


def test_run_settings_prefers_the_pre_flights_then_the_params() -> None:
    resolved = {**S.to_dict(), "metric_profile": "strimzi"}
    ti = _Ti({(layout.PREFLIGHT.id, layout.PREFLIGHT_SETTINGS_KEY): resolved})
    assert run_settings({"ti": ti, "params": {}}).metric_profile == "strimzi"
    ti.xcoms.pop((layout.PREFLIGHT.id, layout.PREFLIGHT_SETTINGS_KEY))
    assert run_settings({"ti": ti, "params": {"metric_profile": "kafka-new"}}).metric_profile == "kafka-new"
    bad = SimpleNamespace(xcom_pull=lambda **_kw: None)
    assert run_settings({"ti": bad, "params": {"num_messages": 0}}) == SmokeSettings()
    assert run_settings({"ti": bad, "params": {"num_messages": 7}}).num_messages == 7


def test_the_nogo_report_keeps_each_symptoms_no_cause_row_and_none_is_a_clean_bill_while_a_check_is_unknown(
        tmp_path, monkeypatch) -> None:
    import json

    import pytest

    from mm2_smoke.checklist import conclude_nogo
    from mm2_smoke.diagnosis import base as dg
    from mm2_smoke.errors import SmokeTestNogo
    from mm2_smoke.report import REPORT_DIR_ENV, build_report

    monkeypatch.setenv(REPORT_DIR_ENV, str(tmp_path))
    checks = [Check("1.2", "poll_total_increase", None, "> 0", Status.UNKNOWN, "q", "no data"),
              Check("1.4", "messages_on_target", 0, "100", Status.NOGO, "consumer", "0 messages")]
    report = build_report(dag_id="d", run_id="r1", started_at="2026-12-01T00:00:00+00:00",
                          finished_at="2026-12-01T00:01:00+00:00", checks=checks, produced=None, count=None,
                          baseline={}, replication=None, settings={}, notes=[])
    report["report_files"] = {"markdown": str(tmp_path / "r1.md")}
    found = [dg.no_cause_found(s, [f"{s} part"]).to_dict() for s in (dg.REPLICATION_STOPPED, dg.WRITES_FAILING,
                                                                        dg.NOTHING_ON_TARGET, dg.METRICS_UNAVAILABLE)]
    with pytest.raises(SmokeTestNogo):
        conclude_nogo(report, found, 1_796_083_300.0)
    written = json.loads((tmp_path / "r1.json").read_text())["diagnoses"]
    assert len(written) == 4 and len({d["symptom"] for d in written}) == 4
    for d in written:
        assert "not a clean bill" in d["cause"] and "nothing wrong" not in d["cause"] and "healthy" not in d["evidence"]
        assert "UNKNOWN checks of the run: 1.2 poll_total_increase" in d["evidence"]


def test_an_unknown_run_whose_diagnosis_proves_a_chain_fault_ends_nogo_per_flow_and_overall(tmp_path,
                                                                                           monkeypatch) -> None:
    """The nogo task on an UNKNOWN run of one flow (the steps' diagnoses name their flow): a certain chain fault
    makes the verdict NOGO with a note why; without one it stays UNKNOWN."""
    import json

    import pytest

    from mm2_smoke.checklist import conclude_nogo
    from mm2_smoke.diagnosis import base as dg
    from mm2_smoke.errors import SmokeTestNogo
    from mm2_smoke.flow_report import combine
    from mm2_smoke.report import REPORT_DIR_ENV, build_report

    monkeypatch.setenv(REPORT_DIR_ENV, str(tmp_path))
    checks = [Check("pre", "metric_contract", "runbook", "fresh", Status.UNKNOWN, "q", "no series")]
    for run_id, found in (("proven", [dg.diagnosis(dg.METRICS_UNAVAILABLE, dg.TARGET_CLUSTER, dg.DOWN,
                                                   "the target brokers refuse connections", "connect refused")]),
                          ("unproven", [dg.no_cause_found(dg.METRICS_UNAVAILABLE, ["Prometheus"])])):
        one = build_report(dag_id="d", run_id=run_id, started_at="2026-12-01T00:00:00+00:00",
                           finished_at="2026-12-01T00:01:00+00:00", checks=checks, produced=None, count=None,
                           baseline={}, replication=None, settings={}, notes=[])
        report = combine([], [("source->target", one)])
        report["report_files"] = {"markdown": str(tmp_path / f"{run_id}.md")}
        with pytest.raises(SmokeTestNogo):
            conclude_nogo(report, [{**d.to_dict(), "flow": "source->target"} for d in found], 1_796_083_300.0)
        written = json.loads((tmp_path / f"{run_id}.json").read_text())
        expected = "NOGO" if run_id == "proven" else "UNKNOWN"
        assert written["verdict"] == expected and written["flows"][0]["verdict"] == expected, written["notes"]
        assert written["diagnoses"][0]["flow"] == "source->target"
        assert any(n.startswith("NOGO, not UNKNOWN") for n in written["notes"]) is (expected == "NOGO")

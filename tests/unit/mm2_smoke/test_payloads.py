"""The typed payloads say exactly the keys the tasks push and the report holds (scripts read them)."""

from __future__ import annotations

import json
import math

from mm2_smoke import payloads as p
from mm2_smoke.chain import Finding
from mm2_smoke.checks import Check, Status
from mm2_smoke.e2e import Result
from mm2_smoke.measured import Gap, Growth, Measured
from mm2_smoke.preflight import Setup, finding_dict
from mm2_smoke.step_1_2_replication import PRODUCED_FIELDS, result, wait_produced
from mm2_smoke.step_1_4_target_count import CountResult
from tests.support.reports import sample_report


def keys(typed: type) -> set[str]:
    return set(typed.__annotations__)


def test_each_dataclass_dict_has_exactly_its_typed_keys() -> None:
    e2e = Result(3, 10, 11, 12, 13, True, "complete", 5.0)
    produced = p.ProduceResult("t", 3, sent=3, delivered=3, e2e=e2e.to_dict())
    assert set(produced.to_dict()) == keys(p.ProduceResultDict)
    assert p.ProduceResult.from_dict(json.loads(json.dumps(produced.to_dict()))) == produced
    assert set(e2e.to_dict()) == keys(p.E2eDict) and set(e2e.report()) == keys(p.E2eLatency)
    assert set(Measured.of("q", 1.0).to_dict()) == keys(p.MeasuredDict)
    assert set(Growth("q", 1.0, resets=1).to_dict()) == keys(p.GrowthDict)
    assert set(Check("1.1", "x", 1, "", Status.GO, "").to_dict()) == keys(p.CheckDict)
    assert set(CountResult(1, [], [], gap=Gap.UNREACHABLE).to_dict()) == keys(p.CountResultDict)
    assert set(Setup({"num_messages": 1}, problems=["x"]).to_dict()) == keys(p.SetupDict)


def test_a_finding_in_the_preflight_report_is_its_own_dict() -> None:
    f = Finding("connector", Status.NOGO, True, "paused", "GET /status", "PAUSED", "RUNNING")
    assert finding_dict(f) == f.to_dict() and set(finding_dict(f)) == keys(p.FindingDict)


def test_step_1_2s_result_and_the_report_have_exactly_their_typed_keys() -> None:
    produced = p.ProduceResult("t", 3, sent=3, delivered=3, started_ms=1000, finished_ms=2000).to_dict()
    assert set(wait_produced(produced)) == set(PRODUCED_FIELDS) == keys(p.WaitProduced)
    now = {"data_time": Measured.of("max(timestamp(w))", 12.5).to_dict()}
    r = result("met", now, {"poll_total": Growth("q", 3.0).to_dict()}, {}, produced, 10.0)
    assert set(r) == keys(p.ReplicationResult) and r["data_after_production_s"] == 10.5
    report = sample_report()
    optional = {"report_files", "diagnoses", "diagnosis_seconds", "flows", "failover"}
    assert set(report) == keys(p.SmokeReport) - optional
    from mm2_smoke.flow_report import combine

    combined = combine([], [("source->target", report)])
    assert set(combined) == keys(p.SmokeReport) - {"report_files", "diagnoses", "diagnosis_seconds", "failover"}
    assert [set(b) for b in combined["flows"]] == [keys(p.FlowReport) - {"failover"}]
    assert set(report["counts"]) == keys(p.ReportCounts) and set(report["e2e_latency_ms"]) == keys(p.E2eLatency)


def test_a_reading_without_a_usable_value_gives_no_data_time_past_production() -> None:
    produced = p.ProduceResult("t", 3, delivered=3, finished_ms=2000).to_dict()
    for newest in (Measured.of("q", math.nan), Measured.missing("q", Gap.UNREACHABLE, "down")):
        r = result("timeout", {"data_time": newest.to_dict()}, {}, {}, produced, 10.0)
        assert r["data_after_production_s"] is None
    assert result("timeout", {}, {}, {}, produced, 10.0)["data_after_production_s"] is None

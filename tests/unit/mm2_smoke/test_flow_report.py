"""One report for every flow of a run (:mod:`mm2_smoke.flow_report`), the diagnoses ranked per flow
(:func:`mm2_smoke.checklist.rank_by_flow`) and the diagnostics each failed flow calls for
(:func:`mm2_smoke.diagnosis.routing.route_flows`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mm2_smoke.checklist import rank_by_flow
from mm2_smoke.checks import Check, Status
from mm2_smoke.diagnosis import base as dg
from mm2_smoke.diagnosis.routing import SYMPTOM_TASKS, failed_flows, route, route_flows
from mm2_smoke.flow_report import combine, flow_block, flows_of, summed_counts, with_flow_diagnoses
from mm2_smoke.measured import Gap
from mm2_smoke.report import build_report
from mm2_smoke.settings import SmokeSettings
from tests.support.reports import sample_report
from tests.support.xcoms import XcomTable

BLOCK_KEYS = {"flow", "verdict", "counts", "remote_topic", "checks", "diagnoses"}
RUN_ID = "manual__2026-12-01T00:00:00+00:00"
GROUP = "diagnose"
T = SmokeSettings().source_topic


def _settings(source: str, target: str, **extra: Any) -> dict[str, Any]:
    return {**SmokeSettings(source_alias=source, target_alias=target, **extra).to_dict(), "flow": f"{source}->{target}"}


def _checks(*, ratio: Status = Status.GO, on_target: int = 100, latency: Status = Status.GO) -> list[Check]:
    return [
        Check("1.1", "messages_produced", 100, "100 delivered, 0 errors", Status.GO, "delivery reports"),
        Check("1.2", "poll_total_increase", 100.0, ">= +100", Status.GO, "sum(poll)"),
        Check("1.2", "write_poll_ratio_pct", 100.0 if ratio is Status.GO else 50.0, "> 99 %", ratio, "ratio",
              "" if ratio is Status.GO else "low"),
        Check("1.3", "replication_latency_avg_ms", 15.5 if latency is Status.GO else 900.0, "< 100 ms", latency,
              "max(avg)", "" if latency is Status.GO else "high"),
        Check("1.4", "messages_on_target", on_target, "100", Status.GO if on_target == 100 else Status.NOGO,
              "consumer", "" if on_target == 100 else f"{on_target} messages"),
    ]


def _flow(source: str, target: str, checks: list[Check] | None = None, *, received: int | None = 100,
          notes: list[str] | None = None, **settings: Any) -> tuple[str, dict[str, Any]]:
    """A flow's own report, as the checklist builds it for each flow."""
    count = None if received is None else {"received": received, "missing": list(range(100 - received)),
                                           "duplicates": [], "foreign": 0}
    report = build_report(dag_id="mm2_smoke_test", run_id=RUN_ID, started_at="2026-12-01T00:00:00+00:00",
                          finished_at="2026-12-01T00:01:00+00:00", checks=checks if checks is not None else _checks(),
                          produced={"sent": 100, "delivered": 100, "achieved_rate": 10.0}, count=count,
                          baseline={"latency_avg_ms": 15.5}, replication={"outcome": "met",
                                                                          "seconds_after_production": 2.0},
                          settings=_settings(source, target, **settings), notes=notes if notes is not None else
                          [f"note of {source}"])
    return f"{source}->{target}", report


PRE = [Check("0", "settings", "valid", "valid Params", Status.GO, "Params")]


# --- combine: one flow ----------------------------------------------------------------------------------------------
def test_one_flow_is_todays_report_plus_a_one_element_flows() -> None:
    name, report = _flow("source", "target")
    combined = combine(PRE, [(name, report)])
    assert {k: v for k, v in combined.items() if k != "flows"} == report
    assert len(combined["flows"]) == 1
    block = combined["flows"][0]
    assert BLOCK_KEYS <= set(block)
    assert block["flow"] == "source->target" and block["verdict"] == report["verdict"] == "GO"
    assert block["counts"] == report["counts"] and block["checks"] == report["checks"]
    assert block["remote_topic"] == f"source.{T}" and block["diagnoses"] == []
    # The Params' checks are not added again: a one-flow report already holds them.
    assert combined["checks"] == report["checks"]


def test_one_flow_of_the_support_sample_report_keeps_every_top_level_field() -> None:
    report = sample_report(Status.NOGO)
    combined = combine([], [("source->target", report)])
    assert all(combined[k] == v for k, v in report.items())
    assert combined["flows"][0]["verdict"] == "NOGO" == combined["verdict"]
    assert combined["flows"][0]["remote_topic"] == f"source.{T}"  # the Params' defaults name it


def test_a_block_names_the_remote_topic_of_its_flows_policy() -> None:
    assert flow_block(*_flow("A", "B", replication_separator="_"))["remote_topic"] == f"A_{T}"
    assert flow_block(*_flow("A", "B", replication_policy="identity"))["remote_topic"] == T
    name, report = _flow("A", "B")
    report["settings"]["remote_topic"] = "given.topic"
    assert flow_block(name, report)["remote_topic"] == "given.topic"
    report["settings"] = {"num_messages": 0}  # settings that do not validate: the report is kept
    assert flow_block(name, report)["remote_topic"] == ""


def test_a_block_carries_what_its_checklist_rows_read() -> None:
    name, report = _flow("A", "B")
    block = flow_block(name, report)
    for key in ("baseline", "e2e_latency_ms", "preflight", "notes"):
        assert block[key] == report[key]


# --- combine: several flows ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("first", "second", "verdict"), [
    (Status.GO, Status.GO, "GO"),
    (Status.NOGO, Status.GO, "NOGO"),
    (Status.GO, Status.NOGO, "NOGO"),
    (Status.NOGO, Status.NOGO, "NOGO"),
    (Status.GO, Status.UNKNOWN, "UNKNOWN"),
    (Status.UNKNOWN, Status.NOGO, "NOGO"),
])
def test_the_overall_verdict_is_go_only_when_every_flow_is_go(first: Status, second: Status, verdict: str) -> None:
    def checks(status: Status) -> list[Check]:
        if status is Status.UNKNOWN:
            return [*_checks()[:-1], Check("1.4", "messages_on_target", None, "100", Status.UNKNOWN, "consumer",
                                           "timed out", Gap.NO_DATA)]
        return _checks(ratio=status)

    combined = combine(PRE, [_flow("A", "B", checks(first)), _flow("B", "A", checks(second))])
    assert combined["verdict"] == verdict
    assert [b["verdict"] for b in combined["flows"]] == [first.value, second.value]


def test_one_nogo_flow_of_two_leaves_the_other_flows_block_go() -> None:
    combined = combine(PRE, [_flow("A", "B"), _flow("B", "A", _checks(on_target=0), received=0)])
    assert combined["verdict"] == "NOGO"
    ab, ba = combined["flows"]
    assert (ab["flow"], ab["verdict"], ba["flow"], ba["verdict"]) == ("A->B", "GO", "B->A", "NOGO")
    assert all(c["status"] == "GO" for c in ab["checks"])
    assert [c["flow"] for c in combined["failed_checks"]] == ["B->A"]
    assert [c["name"] for c in combined["failed_checks"]] == ["messages_on_target"]


def test_several_flows_checks_carry_their_flow_after_the_params_checks() -> None:
    combined = combine(PRE, [_flow("A", "B"), _flow("B", "A")])
    checks = combined["checks"]
    assert checks[0] == PRE[0].to_dict() and "flow" not in checks[0]
    assert [c["flow"] for c in checks[1:]] == ["A->B"] * 5 + ["B->A"] * 5
    assert [c["name"] for c in checks[1:6]] == [c.name for c in _checks()]
    # Each block keeps its own checks, without the flow key.
    assert all("flow" not in c for b in combined["flows"] for c in b["checks"])


def test_a_params_check_that_fails_fails_the_run_though_every_flow_is_go() -> None:
    bad = [Check("0", "connections", None, "usable", Status.UNKNOWN, "Airflow", "missing", Gap.OWN_SETUP)]
    combined = combine(bad, [_flow("A", "B"), _flow("B", "A")])
    assert combined["verdict"] == "UNKNOWN" and [b["verdict"] for b in combined["flows"]] == ["GO", "GO"]
    assert [c["name"] for c in combined["failed_checks"]] == ["connections"]


def test_several_flows_counts_are_summed() -> None:
    combined = combine(PRE, [_flow("A", "B"), _flow("B", "A", _checks(on_target=97), received=97)])
    counts = combined["counts"]
    assert (counts["produced"], counts["delivered"], counts["received"]) == (200, 200, 197)
    assert (counts["missing"], counts["duplicates"], counts["foreign"]) == (3, 0, 0)
    # Sequence numbers are each flow's own (they repeat across flows): in the blocks only.
    assert counts["missing_seqs"] == [] and counts["achieved_rate_msg_s"] is None
    assert combined["flows"][1]["counts"]["missing_seqs"] == [0, 1, 2]
    assert combined["flows"][0]["counts"]["received"] == 100


def test_a_count_a_flow_does_not_know_makes_the_sum_unknown() -> None:
    combined = combine(PRE, [_flow("A", "B"), _flow("B", "A", received=None)])
    counts = combined["counts"]
    assert counts["received"] is None and counts["missing"] is None and counts["duplicates"] is None
    assert counts["produced"] == 200 and counts["delivered"] == 200
    assert summed_counts([]) == {"missing_seqs": [], "duplicate_seqs": [], "achieved_rate_msg_s": None,
                                 "produced": 0, "delivered": 0, "received": 0, "missing": 0, "duplicates": 0,
                                 "foreign": 0}


def test_several_flows_notes_are_prefixed_with_their_flow() -> None:
    combined = combine(PRE, [_flow("A", "B", notes=["one", "two"]), _flow("B", "A", notes=["three"])])
    assert combined["notes"] == ["A->B: one", "A->B: two", "B->A: three"]
    assert combined["flows"][0]["notes"] == ["one", "two"]


def test_several_flows_keep_the_first_flows_settings_and_every_blocks_remote_topic() -> None:
    combined = combine(PRE, [_flow("A", "C"), _flow("B", "C", replication_separator="_")])
    assert combined["settings"]["source_alias"] == "A"
    assert [b["remote_topic"] for b in combined["flows"]] == [f"A.{T}", f"B_{T}"]
    assert [b["flow"] for b in combined["flows"]] == ["A->C", "B->C"]
    assert all(BLOCK_KEYS <= set(b) for b in combined["flows"])


def test_flows_of_a_report_written_before_flows_is_the_report_itself() -> None:
    old = sample_report()
    assert flows_of(old) == [old]
    new = combine(PRE, [_flow("A", "B"), _flow("B", "A")])
    assert [b["flow"] for b in flows_of(new)] == ["A->B", "B->A"]


# --- with_flow_diagnoses ----------------------------------------------------------------------------------------------
def _diag(symptom: str, cause_id: str, score: int, flow: str = "", evidence: str = "seen") -> dict[str, Any]:
    d = dg.Diagnosis(symptom, cause_id, f"{cause_id} cause", evidence, f"fix {cause_id}", score).to_dict()
    return {**d, "flow": flow} if flow else d


def test_with_flow_diagnoses_gives_each_block_the_diagnoses_that_name_it() -> None:
    report = combine(PRE, [_flow("A", "B"), _flow("B", "A", _checks(on_target=0), received=0)])
    ranked = [_diag(dg.NOTHING_ON_TARGET, dg.ACL_ON_TARGET, 92, "B->A"),
              _diag(dg.REPLICATION_STOPPED, dg.TASK_ERROR, 60, "B->A"),
              _diag(dg.METRICS_UNAVAILABLE, dg.SMOKE_SETUP, 99)]  # the Params' own: no flow
    out = with_flow_diagnoses(report, ranked)
    ab, ba = out["flows"]
    assert ab["diagnoses"] == [] and ba["diagnoses"] == ranked[:2]
    assert out["verdict"] == report["verdict"] and out["checks"] == report["checks"]


def test_with_flow_diagnoses_gives_a_one_flow_run_every_diagnosis() -> None:
    report = combine(PRE, [_flow("A", "B", _checks(on_target=0), received=0)])
    ranked = [_diag(dg.NOTHING_ON_TARGET, dg.ACL_ON_TARGET, 92, "A->B"), _diag(dg.METRICS_UNAVAILABLE, dg.METRICS, 70)]
    assert with_flow_diagnoses(report, ranked)["flows"][0]["diagnoses"] == ranked


def test_with_flow_diagnoses_leaves_a_report_without_flows_alone() -> None:
    old = sample_report(Status.NOGO)
    assert with_flow_diagnoses(old, [_diag(dg.WRITES_FAILING, dg.ACL_ON_TARGET, 92)]) is old


# --- checklist.rank_by_flow ------------------------------------------------------------------------------------------
def test_diagnoses_are_ranked_within_each_failed_flow_and_go_flows_get_none() -> None:
    report = combine(PRE, [_flow("A", "B", _checks(on_target=0), received=0), _flow("B", "C"),
                           _flow("C", "A", _checks(ratio=Status.NOGO))])
    found = [_diag(dg.REPLICATION_STOPPED, dg.TASK_ERROR, 40, "C->A"),
             _diag(dg.NOTHING_ON_TARGET, dg.TOPICS_CONFIG, 50, "A->B"),
             _diag(dg.WRITES_FAILING, dg.ACL_ON_TARGET, 92, "C->A"),
             _diag(dg.NOTHING_ON_TARGET, dg.ACL_ON_TARGET, 92, "A->B"),
             _diag(dg.LATENCY_HIGH, dg.SLOW_NETWORK, 60, "B->C")]  # B->C is GO: not ranked
    ranked = rank_by_flow(report, found)
    assert [(d["flow"], d["cause_id"], d["score"]) for d in ranked] == [
        ("A->B", dg.ACL_ON_TARGET, 92), ("A->B", dg.TOPICS_CONFIG, 50),
        ("C->A", dg.ACL_ON_TARGET, 92), ("C->A", dg.TASK_ERROR, 40)]
    assert all(set(d) == {*dg.Diagnosis.__dataclass_fields__, "flow"} for d in ranked)
    # Into the report, each block then holds its own.
    blocks = with_flow_diagnoses(report, ranked)["flows"]
    assert [[d["cause_id"] for d in b["diagnoses"]] for b in blocks] == [
        [dg.ACL_ON_TARGET, dg.TOPICS_CONFIG], [], [dg.ACL_ON_TARGET, dg.TASK_ERROR]]


def test_the_params_own_problems_rank_first_without_a_flow() -> None:
    bad = [Check("0", "connections", None, "usable", Status.UNKNOWN, "Airflow", "kafka_B has no bootstrap.servers",
                 Gap.OWN_SETUP)]
    report = combine(bad, [_flow("A", "B"), _flow("B", "A", _checks(on_target=0), received=0)])
    ranked = rank_by_flow(report, [_diag(dg.NOTHING_ON_TARGET, dg.ACL_ON_TARGET, 92, "B->A")])
    assert [d["cause_id"] for d in ranked] == [dg.SMOKE_SETUP, dg.ACL_ON_TARGET]
    assert "flow" not in ranked[0] and ranked[0]["evidence"] == "kafka_B has no bootstrap.servers"
    assert ranked[1]["flow"] == "B->A"


def test_a_flows_no_cause_found_is_told_that_flows_unknown_checks() -> None:
    unknown = [*_checks()[:-1], Check("1.4", "messages_on_target", None, "100", Status.UNKNOWN, "consumer", "timeout",
                                      Gap.NO_DATA)]
    report = combine(PRE, [_flow("A", "B", _checks(ratio=Status.NOGO)), _flow("B", "A", unknown, received=None)])
    found = [dg.no_cause_found(dg.WRITES_FAILING, ["writes"]).to_dict() | {"flow": "A->B"},
             dg.no_cause_found(dg.NOTHING_ON_TARGET, ["target"]).to_dict() | {"flow": "B->A"}]
    ab, ba = rank_by_flow(report, found)
    assert (ab["flow"], ba["flow"]) == ("A->B", "B->A")
    assert "not a clean bill" not in ab["cause"]  # A->B has no UNKNOWN check
    assert "not a clean bill" in ba["cause"] and "1.4 messages_on_target" in ba["evidence"]


def test_a_one_flow_report_ranks_every_diagnosis_together_naming_its_flow() -> None:
    report = combine(PRE, [_flow("A", "B", _checks(on_target=0, ratio=Status.NOGO), received=0)])
    found = [_diag(dg.REPLICATION_STOPPED, dg.TASK_ERROR, 40),
             _diag(dg.WRITES_FAILING, dg.THROTTLING, 80, "A->B"),
             _diag(dg.NOTHING_ON_TARGET, dg.ACL_ON_TARGET, 92, "other")]  # whatever it names: the run's one flow
    ranked = rank_by_flow(report, found)
    assert [(d["cause_id"], d["flow"]) for d in ranked] == [
        (dg.ACL_ON_TARGET, "A->B"), (dg.THROTTLING, "A->B"), (dg.TASK_ERROR, "A->B")]


def test_a_report_written_before_flows_ranks_every_diagnosis_together_without_a_flow() -> None:
    report = sample_report(Status.NOGO)
    ranked = rank_by_flow(report, [_diag(dg.WRITES_FAILING, dg.THROTTLING, 80),
                                   _diag(dg.WRITES_FAILING, dg.ACL_ON_TARGET, 92)])
    assert [d["cause_id"] for d in ranked] == [dg.ACL_ON_TARGET, dg.THROTTLING]
    assert all("flow" not in d for d in ranked)


def test_the_same_cause_in_two_flows_stays_two_rows() -> None:
    report = combine(PRE, [_flow("A", "B", _checks(on_target=0), received=0),
                           _flow("B", "A", _checks(on_target=0), received=0)])
    found = [_diag(dg.NOTHING_ON_TARGET, dg.ACL_ON_TARGET, 92, "A->B"),
             _diag(dg.NOTHING_ON_TARGET, dg.ACL_ON_TARGET, 90, "B->A"),
             _diag(dg.NOTHING_ON_TARGET, dg.ACL_ON_TARGET, 50, "B->A")]  # the same cause twice in one flow: once
    ranked = rank_by_flow(report, found)
    assert [(d["flow"], d["score"]) for d in ranked] == [("A->B", 92), ("B->A", 90)]


# --- diagnosis.routing.route_flows -------------------------------------------------------------------------------------
def _tasks(*symptoms: str) -> list[str]:
    return [f"{GROUP}.{SYMPTOM_TASKS[s]}" for s in symptoms]


def test_only_failed_flows_symptoms_are_routed() -> None:
    report = combine(PRE, [_flow("A", "B", _checks(latency=Status.NOGO)), _flow("B", "A")])
    assert [b["flow"] for b in failed_flows(report)] == ["A->B"]
    assert route_flows(report, GROUP) == _tasks(dg.LATENCY_HIGH)
    both = combine(PRE, [_flow("A", "B", _checks(latency=Status.NOGO)),
                         _flow("B", "A", _checks(on_target=0), received=0)])
    assert [b["flow"] for b in failed_flows(both)] == ["A->B", "B->A"]
    # The union of each failed flow's, in the registry's order of symptoms.
    expected = {*route(both["flows"][0], GROUP), *route(both["flows"][1], GROUP)}
    routed = route_flows(both, GROUP)
    assert set(routed) == expected and len(routed) == len(expected)
    assert routed == [t for t in (f"{GROUP}.{task}" for task in SYMPTOM_TASKS.values()) if t in expected]
    assert _tasks(dg.LATENCY_HIGH)[0] in routed and _tasks(dg.NOTHING_ON_TARGET)[0] in routed


def test_a_go_flows_checks_are_not_routed_though_the_run_is_nogo() -> None:
    # B->A's latency row is GO; A->B's only failure is its ratio: latency is not diagnosed.
    report = combine(PRE, [_flow("A", "B", _checks(ratio=Status.NOGO)), _flow("B", "A")])
    assert route_flows(report, GROUP) == route(report["flows"][0], GROUP)
    assert _tasks(dg.LATENCY_HIGH)[0] not in route_flows(report, GROUP)


def test_a_failed_flow_with_no_symptom_routes_to_the_metrics_diagnostic() -> None:
    not_run = [Check(c.step, c.name, None, c.threshold, Status.UNKNOWN, "pre-flight", "not run", Gap.NOT_MEASURED)
               for c in _checks()]
    report = combine(PRE, [_flow("A", "B"), _flow("B", "A", not_run, received=None)])
    assert route_flows(report, GROUP) == _tasks(dg.METRICS_UNAVAILABLE)


def test_all_flows_go_while_the_run_is_not_routes_as_one() -> None:
    bad = [Check("0", "connections", None, "usable", Status.UNKNOWN, "Airflow", "missing", Gap.OWN_SETUP)]
    report = combine(bad, [_flow("A", "B"), _flow("B", "A")])
    assert failed_flows(report) == []
    assert route_flows(report, GROUP) == route(report, GROUP) == _tasks(dg.METRICS_UNAVAILABLE)


@pytest.mark.parametrize("checks", [
    _checks(ratio=Status.NOGO), _checks(on_target=0), _checks(latency=Status.NOGO),
    _checks(ratio=Status.NOGO, on_target=0, latency=Status.NOGO),
], ids=["ratio", "nothing-on-target", "latency", "all"])
def test_a_one_flow_report_routes_as_route_does(checks: list[Check]) -> None:
    report = combine(PRE, [_flow("A", "B", checks)])
    assert failed_flows(report) == [report]
    assert route_flows(report, GROUP) == route(report, GROUP)
    old = sample_report(Status.NOGO)  # written before flows
    assert route_flows(old, GROUP) == route(old, GROUP) == _tasks(dg.WRITES_FAILING)


# --- checklist.flow_results / fill: one block per flow ----------------------------------------------------------------
_Ti = XcomTable


def _outcome(flow: str, proceed: bool, status: str = "GO", findings: list[dict[str, Any]] | None = None
             ) -> dict[str, Any]:
    source, target = flow.split("->")
    return {"flow": flow, "settings": {**_settings(source, target), "metric_profile": "runbook"}, "proceed": proceed,
            "preflight": {"status": status, "findings": findings or [], "seconds": 0.1, "metric_profile": "runbook",
                          "profile_detected": True, "store_lag_s": 0.0}}


def test_flow_results_pull_each_producing_flows_steps_by_its_rank_among_those_that_produced() -> None:
    from mm2_smoke import dag_layout as layout
    from mm2_smoke.checklist import STEP_TASKS, flow_results

    outcomes = [_outcome("A->B", False, "NOGO"), _outcome("B->C", True), _outcome("C->D", True)]
    ti = _Ti({(layout.COUNT.id, "return_value", 0): {"received": 1}, (layout.COUNT.id, "return_value", 1): {"received": 2}})
    results = flow_results(ti, outcomes)
    assert [o["flow"] for o, _ in results] == ["A->B", "B->C", "C->D"]
    assert results[0][1] == dict.fromkeys(STEP_TASKS)
    assert results[1][1][layout.COUNT] == {"received": 1} and results[2][1][layout.COUNT] == {"received": 2}
    assert {i for _, _, i in ti.pulled} == {0, 1}
    assert len(ti.pulled) == 2 * len(STEP_TASKS)


def test_fill_gives_one_block_per_flow_and_the_overall_verdict(tmp_path, monkeypatch) -> None:
    from types import SimpleNamespace

    from mm2_smoke import dag_layout as layout
    from mm2_smoke.checklist import fill
    from mm2_smoke.report import REPORT_DIR_ENV

    monkeypatch.setenv(REPORT_DIR_ENV, str(tmp_path))
    loop = {"check": "replication_loop", "status": "NOGO", "certain": True, "message": "replication loop: flows "
            "A->B, B->A", "evidence": "the flow graph: A->B, B->A", "value": "cycle", "threshold": "no cycle"}
    outcomes = [_outcome("A->B", False, "NOGO", [loop]), _outcome("C->D", True)]
    ti = _Ti({(layout.PREFLIGHT.id, layout.FLOWS_KEY, None): outcomes})
    context = {"ti": ti, "params": {}, "run_id": RUN_ID, "dag": SimpleNamespace(dag_id="mm2_smoke_test"),
               "dag_run": SimpleNamespace(start_date=None)}
    report = fill(context)
    assert report["verdict"] == "NOGO"
    assert [(b["flow"], b["verdict"]) for b in report["flows"]] == [("A->B", "NOGO"), ("C->D", "UNKNOWN")]
    assert [b["remote_topic"] for b in report["flows"]] == [f"A.{T}", f"C.{T}"]
    assert any(c["name"] == "replication_loop" and c["flow"] == "A->B" and c["status"] == "NOGO"
               for c in report["checks"])
    written = json.loads(Path(report["report_files"]["json"]).read_text())
    assert Path(report["report_files"]["json"]).parent == tmp_path
    assert written["verdict"] == "NOGO" and [b["flow"] for b in written["flows"]] == ["A->B", "C->D"]

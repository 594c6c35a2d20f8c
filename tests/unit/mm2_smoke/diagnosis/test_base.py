"""What every diagnostic shares: MM2's ACLs, the ranking, the smoke test's own setup first, and the one "no cause
found" ending, never a clean bill while something could not be inspected or measured."""

from __future__ import annotations

from mm2_smoke.diagnosis.base import (
    ACL_ON_TARGET,
    LATENCY_HIGH,
    METRICS_UNAVAILABLE,
    NO_CAUSE_FOUND,
    NOTHING_ON_TARGET,
    REPLICATION_STOPPED,
    SMOKE_SETUP,
    TASK_ERROR,
    WORKER_DOWN,
    WRITES_FAILING,
    Acl,
    Diagnosis,
    Inspection,
    acl_allows,
    conclude,
    honest,
    no_cause_found,
    rank,
    setup_diagnoses,
)
from tests.unit.mm2_smoke.diagnosis.conftest import MM2_ACLS, REMOTE, check


def test_deny_acl_wins() -> None:
    acls = [*MM2_ACLS, Acl("User:mm2", "TOPIC", REMOTE, "LITERAL", "WRITE", "DENY")]
    assert not acl_allows(acls, "User:mm2", "TOPIC", REMOTE, "WRITE")
    assert acl_allows(MM2_ACLS, "User:mm2", "TOPIC", REMOTE, "WRITE")
    assert acl_allows([Acl("User:mm2", "TOPIC", "*", "LITERAL", "ALL", "ALLOW")], "User:mm2", "TOPIC", REMOTE,
                      "CREATE")


def test_rank_keeps_the_best_per_cause_most_likely_first() -> None:
    a = Diagnosis("s", TASK_ERROR, "c", "e", "a", 65)
    b = Diagnosis("s", TASK_ERROR, "c2", "e", "a", 75)
    c = Diagnosis("s", ACL_ON_TARGET, "c3", "e", "a", 92)
    assert [d.score for d in rank([a, b, c.to_dict()])] == [92, 75]


def test_rank_never_merges_distinct_symptoms() -> None:
    nothing = [no_cause_found(s, [f"{s} part"]) for s in (REPLICATION_STOPPED, WRITES_FAILING,
                                                          LATENCY_HIGH, NOTHING_ON_TARGET)]
    ranked = rank([*nothing, Diagnosis(WRITES_FAILING, WORKER_DOWN, "w", "e", "a", 90),
                   Diagnosis(REPLICATION_STOPPED, WORKER_DOWN, "r", "e", "a", 95)])
    assert [(d.symptom, d.cause_id) for d in ranked[:2]] == [(REPLICATION_STOPPED, WORKER_DOWN),
                                                             (WRITES_FAILING, WORKER_DOWN)]
    assert sorted(d.symptom for d in ranked if d.cause_id == NO_CAUSE_FOUND) == sorted(
        d.symptom for d in nothing)


def test_no_cause_found_is_never_a_clean_bill_while_a_check_was_unknown() -> None:
    clean = no_cause_found(WRITES_FAILING, ["Connect REST status"])
    assert "showed nothing wrong" in clean.cause and clean.score == 1
    checks = [check("poll_total_increase", "UNKNOWN"), check("write_poll_ratio_pct", "NOGO"),
              check("messages_on_target", "GO", 100, "1.4")]
    [d, other] = honest([clean, Diagnosis("s", TASK_ERROR, "c", "e", "a", 65)], checks)
    assert "not a clean bill" in d.cause and "nothing wrong" not in d.cause and "1 check(s)" in d.cause
    assert d.evidence == "inspected: Connect REST status; UNKNOWN checks of the run: 1.2 poll_total_increase"
    assert other.cause == "c" and honest([clean], [check("x", "GO")]) == [clean]
    nothing = no_cause_found(METRICS_UNAVAILABLE, [])
    assert "not a clean bill" in nothing.cause and nothing.evidence == "inspected: nothing"


def test_setup_problem_is_the_first_diagnosis_with_the_checks_reason() -> None:
    checks = [{"step": "pre", "name": "connections", "status": "GO", "reason": ""},
              {"step": "1.1", "name": "messages_produced", "status": "UNKNOWN", "gap": "own_setup",
               "reason": "nothing produced: authentication failed ... (connection 'kafka_source')"}]
    [d] = setup_diagnoses(checks)
    assert d.cause_id == SMOKE_SETUP and "kafka_source" in d.evidence
    other = {"symptom": "metrics_unavailable", "cause_id": "no_cause_found", "cause": "x", "evidence": "",
             "action": "", "score": 10}
    assert rank([d.to_dict(), other])[0].cause_id == SMOKE_SETUP
    checks[1] = {**checks[1], "status": "NOGO", "gap": None}  # a delivery failure: evidence about the source, not setup
    assert setup_diagnoses(checks) == []
    # Metrics that do not answer are not the smoke test's own input, even before producing.
    contract = {"step": "pre", "name": "metric_contract", "status": "UNKNOWN", "gap": "no_data", "reason": "x"}
    assert setup_diagnoses([contract]) == []


def test_a_diagnostic_ends_with_its_findings_or_one_no_cause_found_naming_what_it_inspected() -> None:
    found = [Diagnosis(WRITES_FAILING, TASK_ERROR, "c", "e", "a", 65)]
    asked: list[int] = []
    assert conclude(WRITES_FAILING, found, lambda: asked.append(1) or Inspection()) == found and asked == []
    [d] = conclude(WRITES_FAILING, [], lambda: Inspection(["Connect REST status"], ["ACLs on target (denied)"]))
    assert d == no_cause_found(WRITES_FAILING, ["Connect REST status"], ["ACLs on target (denied)"])
    assert "not a clean bill" in d.cause and "could NOT inspect: ACLs on target (denied)" in d.evidence

"""Step 1.1's check: every message delivered, any failure NOGO, the run's own setup UNKNOWN."""

from __future__ import annotations

from mm2_smoke.checks import Status
from mm2_smoke.measured import Gap
from mm2_smoke.settings import SmokeSettings
from mm2_smoke.step_1_1_produce import ProduceResult, attempt_tag, check_produce, checklist_part


def test_produce_all_delivered_is_go_any_failure_is_nogo() -> None:
    assert check_produce(100, 100, 100, 0, [], "ev")[0].status is Status.GO
    c = check_produce(100, 100, 99, 1, ["seq 7: timed out"], "ev")[0]
    assert c.status is Status.NOGO and "seq 7: timed out" in c.reason and "99/100" in c.reason


def test_own_setup_error_is_unknown_with_its_gap() -> None:
    c = check_produce(100, 0, 0, 0, [], "ev", "authentication failed")[0]
    assert c.status is Status.UNKNOWN and c.gap is Gap.OWN_SETUP and c.reason == "nothing produced: authentication failed"


def test_a_step_that_did_not_finish_is_unknown_and_retries_are_tagged_apart() -> None:
    c = checklist_part(SmokeSettings(), None)[0]
    assert c.status is Status.UNKNOWN and c.gap is Gap.NOT_MEASURED
    assert attempt_tag("run", 1) == "run" and attempt_tag("run", 3) == "run#try3"
    r = ProduceResult("t", 5, sent=5, delivered=4, failed=1, failed_seqs=[3])
    assert r.delivered_seqs() == [1, 2, 4, 5]
    assert ProduceResult("t", 5, sent=5, tagged=False).delivered_seqs() == []
